//! Step witnesses and their verification (what the runtime runs).
//!
//! A [`StepWitness`] is the pre-state plus one [`MemProof`] per memory access of the
//! step, in the order the step makes them: the instruction fetch, then (for a load or
//! store) the data word. A store writes the leaf it last read, with that read's
//! siblings, so it needs no extra proof. [`verify_step`] re-executes the step with
//! [`crate::exec::step`] against the proofs and returns the post-state.

use crate::{
	exec::{self, Memory},
	state::VmState,
	LEAF_BYTES, MEM_DEPTH,
};
use codec::{Decode, DecodeAll, DecodeWithMemTracking, Encode};
use opml_primitives_core::{merkle::fold_path, Hash};
use scale_info::TypeInfo;

/// At most this many memory proofs in one witness (fetch + one data word).
pub const MAX_PROOFS: usize = 2;

/// Upper bound of an encoded witness, in bytes (for bounding call arguments on chain).
pub const MAX_WITNESS_BYTES: usize = 4096;

/// A Merkle proof of one 32-byte memory leaf: 4 + 32 + 27 × 32 = 900 bytes encoded.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo)]
pub struct MemProof {
	/// Leaf index (`address / 32`), below `2^27`.
	pub leaf_index: u32,
	/// The leaf's 32 bytes.
	pub leaf: [u8; 32],
	/// Sibling hashes from the leaf level upwards.
	pub siblings: [Hash; MEM_DEPTH as usize],
}

impl MemProof {
	/// The memory root this proof implies for `leaf`.
	pub fn root_with(&self, leaf: &[u8; 32]) -> Hash {
		fold_path(leaf, self.leaf_index as u64, &self.siblings)
	}
}

/// Everything needed to re-execute one step from a state hash.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo)]
pub struct StepWitness {
	/// The state before the step.
	pub pre: VmState,
	/// Memory proofs in access order.
	pub proofs: alloc::vec::Vec<MemProof>,
}

/// Why a witness was rejected.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo)]
pub enum WitnessError {
	/// The bytes are not a SCALE-encoded witness (or have trailing bytes).
	Malformed,
	/// The encoded witness is larger than [`MAX_WITNESS_BYTES`].
	TooLarge,
	/// More proofs than [`MAX_PROOFS`].
	TooManyProofs,
	/// The step needs a proof the witness does not have.
	MissingProof,
	/// The witness has proofs the step did not use.
	UnusedProofs,
	/// A proof is for another leaf than the step accesses.
	WrongLeaf,
	/// A proof's leaf index is outside memory.
	LeafOutOfRange,
	/// A proof does not lead to the state's memory root.
	InvalidProof,
	/// A store to a leaf that was not the last one read (cannot happen with
	/// [`crate::exec::step`]; kept as a typed error rather than a panic).
	WriteWithoutRead,
	/// The pre-state hash is not the one expected.
	PreStateMismatch,
}

impl core::fmt::Display for WitnessError {
	fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
		core::fmt::Debug::fmt(self, f)
	}
}

#[cfg(feature = "std")]
impl std::error::Error for WitnessError {}

impl StepWitness {
	/// Decode attacker-supplied bytes: bounded size, no trailing bytes, bounded proofs.
	pub fn decode_bounded(bytes: &[u8]) -> Result<Self, WitnessError> {
		if bytes.len() > MAX_WITNESS_BYTES {
			return Err(WitnessError::TooLarge);
		}
		let w = StepWitness::decode_all(&mut &bytes[..]).map_err(|_| WitnessError::Malformed)?;
		if w.proofs.len() > MAX_PROOFS {
			return Err(WitnessError::TooManyProofs);
		}
		Ok(w)
	}
}

/// Memory backed by the witness's proofs; tracks the root as the step writes.
struct WitnessMemory<'a> {
	root: Hash,
	proofs: &'a [MemProof],
	next: usize,
	last_read: Option<usize>,
}

impl<'a> WitnessMemory<'a> {
	fn take(&mut self, addr: u32) -> Result<&'a MemProof, WitnessError> {
		let i = self.next;
		let proof = self.proofs.get(i).ok_or(WitnessError::MissingProof)?;
		if proof.leaf_index >= (1u32 << MEM_DEPTH) {
			return Err(WitnessError::LeafOutOfRange);
		}
		if proof.leaf_index != addr / LEAF_BYTES {
			return Err(WitnessError::WrongLeaf);
		}
		if proof.root_with(&proof.leaf) != self.root {
			return Err(WitnessError::InvalidProof);
		}
		self.next += 1;
		self.last_read = Some(i);
		Ok(proof)
	}
}

impl Memory for WitnessMemory<'_> {
	type Error = WitnessError;

	fn read_word(&mut self, addr: u32) -> Result<u32, WitnessError> {
		let proof = self.take(addr)?;
		let off = (addr % LEAF_BYTES) as usize;
		let mut w = [0u8; 4];
		w.copy_from_slice(&proof.leaf[off..off + 4]);
		Ok(u32::from_le_bytes(w))
	}

	fn write_word(&mut self, addr: u32, value: u32) -> Result<(), WitnessError> {
		let proof = self
			.last_read
			.and_then(|i| self.proofs.get(i))
			.filter(|p| p.leaf_index == addr / LEAF_BYTES)
			.ok_or(WitnessError::WriteWithoutRead)?;
		let off = (addr % LEAF_BYTES) as usize;
		let mut leaf = proof.leaf;
		leaf[off..off + 4].copy_from_slice(&value.to_le_bytes());
		self.root = proof.root_with(&leaf);
		Ok(())
	}
}

/// Re-execute the witnessed step; return the post-state.
pub fn verify_step(witness: &StepWitness) -> Result<VmState, WitnessError> {
	if witness.proofs.len() > MAX_PROOFS {
		return Err(WitnessError::TooManyProofs);
	}
	let mut cpu = witness.pre.cpu();
	let mut mem = WitnessMemory {
		root: witness.pre.mem_root,
		proofs: &witness.proofs,
		next: 0,
		last_read: None,
	};
	exec::step(&mut cpu, &mut mem)?;
	if mem.next != witness.proofs.len() {
		return Err(WitnessError::UnusedProofs);
	}
	Ok(VmState::from_cpu(&cpu, mem.root))
}

/// Check a witness against the agreed pre-state hash and return the post-state hash:
/// the on-chain one-step decision compares it with the parties' claims.
pub fn verify_transition(pre_hash: &Hash, witness: &StepWitness) -> Result<Hash, WitnessError> {
	if &witness.pre.hash() != pre_hash {
		return Err(WitnessError::PreStateMismatch);
	}
	verify_step(witness).map(|s| s.hash())
}
