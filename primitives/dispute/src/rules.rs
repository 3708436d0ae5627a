//! The game's rules: dissection points, the handoff, the one-step decision.

use alloc::vec::Vec;
use codec::{Decode, DecodeAll, DecodeWithMemTracking, Encode};
use opml_nn::{
	commit::{node_leaf, GRAPH_DEPTH, MODEL_DEPTH, STATE_DEPTH},
	layout::{
		descriptor_bytes, initial_memory_root, slot_root, ENTRY, OUTPUT_SLOT_INDEX, SLOT_HEIGHT,
	},
	types::{Node, Source, TensorDesc, MAX_DESCRIPTOR_BYTES},
};
use opml_primitives_core::{
	merkle::{depth_for, root, SubtreeProof},
	Hash, ZERO_HASH,
};
use opml_vm::{
	state::{ExitStatus, VmState},
	witness::{verify_transition, StepWitness, WitnessError},
	MEM_DEPTH,
};
use scale_info::TypeInfo;

/// The graph game runs over `G_0..=G_GRAPH_LAST`: every slot of the graph state (a
/// graph has at most 255 nodes; past its last node `G_i = G_N`). The chain need not
/// know `N`: a dispute about a position past the last node ends at a handoff that
/// proves the node absent ([`Handoff::NoNode`]).
pub const GRAPH_LAST: u64 = (1 << STATE_DEPTH) - 1;

/// Largest encoded [`Handoff`] (descriptor, proofs, final state).
pub const MAX_HANDOFF_BYTES: usize = 16 * 1024;

/// Why a move or proof is rejected.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo)]
pub enum DisputeError {
	/// The interval cannot be split (`b <= a + 1`) or `k < 2`.
	BadSplit,
	/// The bytes do not decode (or are too long).
	Malformed,
	/// The graph root is not leaf 0 of the model commitment.
	BadGraphProof,
	/// The node descriptor is not leaf `i` of the graph root.
	BadNodeProof,
	/// Graph leaf `i` is not empty.
	NodeExists,
	/// No node at `i`, but the claimed `G_i` differs from `G_{i-1}`.
	ChangedWithoutNode,
	/// The number of input proofs differs from the node's inputs.
	InputCount,
	/// An input proof's kind or position does not match the node's input source (or a
	/// slot input is not before the node).
	BadInputSource,
	/// An input or weight root is not proved by its proof.
	BadInputProof,
	/// A tensor type has no valid size, or does not fit its memory slot.
	BadTensor,
	/// The output root does not take `G_{i-1}` (slot `i` empty) to `G_i`.
	BadOutputProof,
	/// The final VM state is not halted with exit code 0.
	NotHalted,
	/// The final VM state is at step 0.
	NoSteps,
	/// The final VM state's output slot does not hold the output root.
	BadFinalOutput,
	/// The step witness is malformed or does not start from the agreed state.
	Witness(WitnessError),
}

/// The `m + 1` points `a = p_0 < p_1 < … < p_m = b` of a k-ary split of `[a, b]`, with
/// `m = min(k, b - a)`: the defender posts the states at `p_1..p_{m-1}`.
pub fn split(a: u64, b: u64, k: u32) -> Result<Vec<u64>, DisputeError> {
	if k < 2 || b <= a.saturating_add(1) {
		return Err(DisputeError::BadSplit);
	}
	let len = b - a;
	let m = len.min(u64::from(k));
	Ok((0..=m)
		.map(|c| a + ((u128::from(len) * u128::from(c)) / u128::from(m)) as u64)
		.collect())
}

/// Dissection rounds needed to narrow `[0, len]` to one step with fan-out `k`.
pub fn rounds(len: u64, k: u32) -> u32 {
	let mut len = len;
	let mut r = 0;
	while len > 1 {
		len = len.div_ceil(u64::from(k.max(2)));
		r += 1;
	}
	r
}

/// `G_0`: the graph state holding only the task input's tensor root (slot 0).
pub fn graph_state_0(input_root: &Hash) -> Hash {
	root(&[*input_root], STATE_DEPTH).unwrap_or(ZERO_HASH)
}

/// The natural tree depth of a tensor of this type.
pub fn tensor_depth(desc: &TensorDesc) -> Result<u32, DisputeError> {
	let bytes = desc.bytes().ok_or(DisputeError::BadTensor)?;
	Ok(depth_for(bytes.div_ceil(32) as u64))
}

/// A node input's root and its proof: a graph-state slot (proved against the agreed
/// `G_{i-1}`) or a model weight (proved against the model commitment).
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo)]
pub enum InputProof {
	/// Slot `proof.index` of `G_{i-1}` holds `root`.
	Slot {
		/// The tensor root.
		root: Hash,
		/// Leaf proof in the graph state (depth `STATE_DEPTH`).
		proof: SubtreeProof,
	},
	/// Weight `proof.index - 1` of the model has root `root`.
	Weight {
		/// The tensor root.
		root: Hash,
		/// Leaf proof in the model commitment (depth `MODEL_DEPTH`).
		proof: SubtreeProof,
	},
}

/// What the defender posts when the graph game has narrowed to node `i`.
// A transport type, decoded once per game: the size difference does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo)]
pub enum Handoff {
	/// Node `i` exists: its data, its output and the defender's final VM state.
	Node {
		/// The graph descriptor root.
		graph_root: Hash,
		/// Leaf 0 of the model commitment.
		graph_proof: SubtreeProof,
		/// `SCALE(node)`.
		node: Vec<u8>,
		/// Leaf `i` of the graph root.
		node_proof: SubtreeProof,
		/// One per node input, in order.
		inputs: Vec<InputProof>,
		/// The claimed output tensor root.
		output_root: Hash,
		/// Path of slot `i` (empty in `G_{i-1}`, `output_root` in `G_i`).
		slot_proof: SubtreeProof,
		/// The defender's final VM state (halted, exit 0).
		final_state: VmState,
		/// The output slot's subtree in `final_state`'s memory.
		output_proof: SubtreeProof,
	},
	/// There is no node `i` (past the last node): `G_i` must equal `G_{i-1}`.
	NoNode {
		/// The graph descriptor root.
		graph_root: Hash,
		/// Leaf 0 of the model commitment.
		graph_proof: SubtreeProof,
		/// Leaf `i` of the graph root, empty.
		empty_proof: SubtreeProof,
	},
}

/// What an accepted handoff starts.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum HandoffOutcome {
	/// The VM game over steps `0..=steps`: the agreed initial state (computed from the
	/// commitments) and the defender's claimed final state.
	Vm {
		/// Hash of the initial VM state.
		initial: Hash,
		/// Hash of the claimed final state.
		final_hash: Hash,
		/// Steps of the claimed execution.
		steps: u64,
	},
	/// No node: the defender's `G_i = G_{i-1}` is right; it wins.
	NoNode,
}

fn check_leaf(
	proof: &SubtreeProof,
	depth: u32,
	index: u64,
	root: &Hash,
	leaf: &Hash,
	err: DisputeError,
) -> Result<(), DisputeError> {
	if proof.depth != depth
		|| proof.height != 0
		|| proof.index != index
		|| !proof.verify(root, leaf)
	{
		return Err(err);
	}
	Ok(())
}

/// The initial VM state of a node whose memory root is `mem_root`.
pub fn initial_state(mem_root: Hash) -> VmState {
	VmState {
		pc: ENTRY,
		regs: [0; 32],
		mem_root,
		step: 0,
		exit: ExitStatus::Running,
	}
}

/// Decode a handoff (bounded, exact).
pub fn decode_handoff(bytes: &[u8]) -> Result<Handoff, DisputeError> {
	if bytes.len() > MAX_HANDOFF_BYTES {
		return Err(DisputeError::Malformed);
	}
	Handoff::decode_all(&mut &bytes[..]).map_err(|_| DisputeError::Malformed)
}

/// Check a handoff at node `i` (`1 <= i`) between the agreed `g_prev = G_{i-1}` and the
/// defender's `g_i = G_i`, for a model with `commitment` run under `program_root`.
pub fn verify_handoff(
	commitment: &Hash,
	program_root: &Hash,
	i: u64,
	g_prev: &Hash,
	g_i: &Hash,
	handoff: &Handoff,
) -> Result<HandoffOutcome, DisputeError> {
	match handoff {
		Handoff::NoNode {
			graph_root,
			graph_proof,
			empty_proof,
		} => {
			check_leaf(
				graph_proof,
				MODEL_DEPTH,
				0,
				commitment,
				graph_root,
				DisputeError::BadGraphProof,
			)?;
			check_leaf(
				empty_proof,
				GRAPH_DEPTH,
				i,
				graph_root,
				&ZERO_HASH,
				DisputeError::NodeExists,
			)?;
			if g_i != g_prev {
				return Err(DisputeError::ChangedWithoutNode);
			}
			Ok(HandoffOutcome::NoNode)
		}
		Handoff::Node {
			graph_root,
			graph_proof,
			node,
			node_proof,
			inputs,
			output_root,
			slot_proof,
			final_state,
			output_proof,
		} => {
			check_leaf(
				graph_proof,
				MODEL_DEPTH,
				0,
				commitment,
				graph_root,
				DisputeError::BadGraphProof,
			)?;
			if node.len() > MAX_DESCRIPTOR_BYTES {
				return Err(DisputeError::Malformed);
			}
			let n = Node::decode_all(&mut &node[..]).map_err(|_| DisputeError::Malformed)?;
			check_leaf(
				node_proof,
				GRAPH_DEPTH,
				i,
				graph_root,
				&node_leaf(&n),
				DisputeError::BadNodeProof,
			)?;
			if inputs.len() != n.inputs.len() {
				return Err(DisputeError::InputCount);
			}
			let mut roots = Vec::with_capacity(inputs.len());
			for (input, proof) in n.inputs.iter().zip(inputs) {
				let depth = tensor_depth(&input.desc)?;
				match (input.source, proof) {
					(Source::Slot(s), InputProof::Slot { root, proof }) if u64::from(s) < i => {
						check_leaf(
							proof,
							STATE_DEPTH,
							u64::from(s),
							g_prev,
							root,
							DisputeError::BadInputProof,
						)?;
						roots.push((*root, depth));
					}
					(Source::Weight(w), InputProof::Weight { root, proof }) => {
						check_leaf(
							proof,
							MODEL_DEPTH,
							1 + u64::from(w),
							commitment,
							root,
							DisputeError::BadInputProof,
						)?;
						roots.push((*root, depth));
					}
					_ => return Err(DisputeError::BadInputSource),
				}
			}
			check_leaf(
				slot_proof,
				STATE_DEPTH,
				i,
				g_prev,
				&ZERO_HASH,
				DisputeError::BadOutputProof,
			)?;
			if !slot_proof.verify(g_i, output_root) {
				return Err(DisputeError::BadOutputProof);
			}
			let mem_root = initial_memory_root(*program_root, &descriptor_bytes(&n), &roots)
				.map_err(|_| DisputeError::BadTensor)?;
			if final_state.exit != ExitStatus::Exited(0) {
				return Err(DisputeError::NotHalted);
			}
			if final_state.step == 0 {
				return Err(DisputeError::NoSteps);
			}
			let out_slot = slot_root(*output_root, tensor_depth(&n.output)?)
				.map_err(|_| DisputeError::BadTensor)?;
			if output_proof.depth != MEM_DEPTH
				|| output_proof.height != SLOT_HEIGHT
				|| output_proof.index != u64::from(OUTPUT_SLOT_INDEX)
				|| !output_proof.verify(&final_state.mem_root, &out_slot)
			{
				return Err(DisputeError::BadFinalOutput);
			}
			Ok(HandoffOutcome::Vm {
				initial: initial_state(mem_root).hash(),
				final_hash: final_state.hash(),
				steps: final_state.step,
			})
		}
	}
}

/// The one-step decision: the hash of the state one step after the agreed `pre`
/// (the witness must start from it).
pub fn one_step(pre: &Hash, witness: &[u8]) -> Result<Hash, DisputeError> {
	let w = StepWitness::decode_bounded(witness).map_err(DisputeError::Witness)?;
	verify_transition(pre, &w).map_err(DisputeError::Witness)
}
