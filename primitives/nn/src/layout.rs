//! The VM memory map for executing one graph node (DESIGN.md §5), and the roots the
//! chain computes from it.
//!
//! The 4 GiB address space (a depth-27 tree of 32-byte leaves) is cut into 4
//! *regions* of 1 GiB (subtrees of height 25):
//!
//! | region | addresses | contents |
//! |---|---|---|
//! | 0 program | `0x0000_0000..0x4000_0000` | the guest ELF (entry [`ENTRY`]), heap from [`HEAP_BASE`], stack below [`STACK_TOP`]; the rest zero |
//! | 1 environment | `0x4000_0000..0x8000_0000` | 16 *slots* of 64 MiB (height 21): slot 0 the node descriptor (`u32` LE length, then `SCALE(Node)`), slot `1 + k` the node's input `k` (canonical bytes; a weight may fill its slot, `MAX_WEIGHT_BYTES`) |
//! | 2 output | `0x8000_0000..0xC000_0000` | slot 0: the output tensor's canonical bytes (zero at start; at most `MAX_TENSOR_BYTES`) |
//! | 3 | | zero |
//!
//! So the initial memory root of a node is computable from the *program root* (the
//! region-0 root right after loading the ELF, registered with the model), the
//! descriptor bytes and the input tensor roots: `O(slots × depth)` hashes. A final
//! state's output is read through one subtree proof of the output slot.

#[cfg(feature = "codec")]
pub use roots::*;

/// Height of a region (1 GiB).
pub const REGION_HEIGHT: u32 = 25;

/// The program root of the checked-in guest (`primitives/guest/elf/opml-guest.elf`):
/// region 0's root after loading it. The runtime lets models run only under this root
/// (docs/security.md M7); `tests/models.rs` checks it against the ELF.
pub const BUILTIN_GUEST_ROOT: [u8; 32] = [
	0xea, 0x3f, 0x8c, 0xd8, 0x5f, 0xca, 0xc5, 0xb6, 0xf7, 0x65, 0x3e, 0x28, 0x1a, 0x9e, 0x16, 0x8a,
	0xa4, 0xc7, 0x5c, 0xda, 0x5c, 0xff, 0xb9, 0x62, 0x4f, 0xc8, 0x39, 0xa5, 0x54, 0xfd, 0x5b, 0x81,
];
/// Height of a slot (64 MiB = 2^21 leaves).
pub const SLOT_HEIGHT: u32 = 21;
/// Bytes per slot.
pub const SLOT_BYTES: u32 = 1 << (SLOT_HEIGHT + 5);
/// Depth of the memory tree (as in the VM).
pub const MEM_DEPTH: u32 = 27;
/// Depth of the tree of regions.
pub const REGION_TREE_DEPTH: u32 = MEM_DEPTH - REGION_HEIGHT;
/// Slots per region.
pub const SLOTS_PER_REGION: u32 = 1 << (REGION_HEIGHT - SLOT_HEIGHT);

const _: () = assert!(
	SLOT_BYTES as usize == crate::types::MAX_WEIGHT_BYTES
		&& crate::types::MAX_TENSOR_BYTES <= SLOT_BYTES as usize
		&& crate::types::MAX_NODE_INPUTS < SLOTS_PER_REGION as usize
		&& STACK_TOP as u64 <= 1 << (REGION_HEIGHT + 5)
);

/// Region indices.
pub const PROGRAM_REGION: u32 = 0;
/// The node environment's region.
pub const ENV_REGION: u32 = 1;
/// The output's region.
pub const OUTPUT_REGION: u32 = 2;

/// Base address of the environment (descriptor slot).
pub const ENV_BASE: u32 = ENV_REGION << (REGION_HEIGHT + 5);
/// Base address of the output slot.
pub const OUTPUT_BASE: u32 = OUTPUT_REGION << (REGION_HEIGHT + 5);
/// The guest's entry point (every state starts here, registers zero).
pub const ENTRY: u32 = 0x0001_0000;
/// Most VM steps one node may run: what every party's VM runs a node to, and what a
/// handoff may claim on chain (docs/security.md H4).
pub const MAX_NODE_STEPS: u64 = 1 << 34;
/// Start of the guest's heap (grows up to [`HEAP_END`]).
pub const HEAP_BASE: u32 = 0x0800_0000;
/// End of the heap, start of the 16 MiB stack area.
pub const HEAP_END: u32 = 0x0F00_0000;
/// Initial stack pointer (the stack grows down).
pub const STACK_TOP: u32 = 0x1000_0000;
/// Index of the output slot among all slots of the address space (for a subtree
/// proof of height [`SLOT_HEIGHT`]).
pub const OUTPUT_SLOT_INDEX: u32 = OUTPUT_REGION * SLOTS_PER_REGION;

/// Address of environment slot `k` (0 = descriptor, `1 + i` = input `i`).
pub const fn env_slot(k: u32) -> u32 {
	ENV_BASE + k * SLOT_BYTES
}

/// Guest exit codes.
pub mod exit {
	/// The output was written.
	pub const OK: u32 = 0;
	/// The descriptor could not be decoded.
	pub const BAD_DESCRIPTOR: u32 = 1;
	/// The node or its data failed the checks.
	pub const BAD_NODE: u32 = 2;
	/// The guest panicked (a bug: never expected).
	pub const PANIC: u32 = 101;
}

/// The roots the chain computes from the memory map (needs the `codec` feature).
#[cfg(feature = "codec")]
mod roots {
	use super::*;
	use crate::types::{Node, MAX_DESCRIPTOR_BYTES, MAX_NODE_INPUTS};
	use alloc::vec::Vec;
	use codec::Encode;
	use opml_primitives_core::{
		merkle::{bytes_root, extend_root, zero_root, MerkleError},
		Hash,
	};

	/// The descriptor slot's bytes: `u32` LE length, then `SCALE(node)`.
	pub fn descriptor_bytes(node: &Node) -> Vec<u8> {
		let enc = node.encode();
		let mut out = Vec::with_capacity(4 + enc.len());
		out.extend_from_slice(&(enc.len() as u32).to_le_bytes());
		out.extend_from_slice(&enc);
		out
	}

	/// Errors computing memory roots.
	#[derive(Clone, Copy, PartialEq, Eq, Debug)]
	pub enum LayoutError {
		/// The descriptor is longer than `MAX_DESCRIPTOR_BYTES`.
		DescriptorTooLarge,
		/// More inputs than slots.
		TooManyInputs,
		/// A tensor does not fit a slot.
		TensorTooLarge,
		/// A Merkle computation failed.
		Merkle(MerkleError),
	}

	impl From<MerkleError> for LayoutError {
		fn from(e: MerkleError) -> Self {
			LayoutError::Merkle(e)
		}
	}

	/// The root of a slot holding a tensor whose root at its natural depth is `root`.
	pub fn slot_root(root: Hash, depth: u32) -> Result<Hash, LayoutError> {
		if depth > SLOT_HEIGHT {
			return Err(LayoutError::TensorTooLarge);
		}
		Ok(extend_root(root, depth, SLOT_HEIGHT)?)
	}

	/// The root of the environment region from the descriptor slot's bytes (see
	/// [`descriptor_bytes`]) and the inputs' tensor roots with their natural depths.
	pub fn env_region_root(descriptor: &[u8], inputs: &[(Hash, u32)]) -> Result<Hash, LayoutError> {
		if descriptor.len() > 4 + MAX_DESCRIPTOR_BYTES {
			return Err(LayoutError::DescriptorTooLarge);
		}
		if inputs.len() > MAX_NODE_INPUTS || inputs.len() + 1 > SLOTS_PER_REGION as usize {
			return Err(LayoutError::TooManyInputs);
		}
		let (d_root, d_depth) = bytes_root(descriptor);
		let mut slots = Vec::with_capacity(1 + inputs.len());
		slots.push(slot_root(d_root, d_depth)?);
		for (r, d) in inputs {
			slots.push(slot_root(*r, *d)?);
		}
		subtree_of(&slots, SLOT_HEIGHT, REGION_HEIGHT)
	}

	/// The root of a region whose first slot holds the tensor with root `root` at depth
	/// `depth` (the output region), rest zero.
	pub fn output_region_root(root: Hash, depth: u32) -> Result<Hash, LayoutError> {
		Ok(extend_root(
			slot_root(root, depth)?,
			SLOT_HEIGHT,
			REGION_HEIGHT,
		)?)
	}

	/// Root of a tree of height `top` whose first children (subtrees of height `child`)
	/// are `children`, the rest zero.
	fn subtree_of(children: &[Hash], child: u32, top: u32) -> Result<Hash, LayoutError> {
		// Level by level, with zero subtrees of the right height for missing children.
		let levels = top - child;
		let mut level: Vec<Hash> = children.to_vec();
		let mut z = zero_root(child);
		for _ in 0..levels {
			if level.is_empty() {
				level.push(z);
			}
			level = level
				.chunks(2)
				.map(|p| opml_primitives_core::hash_pair(&p[0], p.get(1).unwrap_or(&z)))
				.collect();
			z = opml_primitives_core::hash_pair(&z, &z);
		}
		Ok(level.first().copied().unwrap_or(z))
	}

	/// The memory root from the roots of the first regions (program, environment,
	/// output), the rest zero.
	pub fn memory_root(regions: &[Hash]) -> Result<Hash, LayoutError> {
		if regions.len() > 1 << REGION_TREE_DEPTH {
			return Err(LayoutError::TooManyInputs);
		}
		subtree_of(regions, REGION_HEIGHT, MEM_DEPTH)
	}

	/// The initial memory root of a node's VM execution: program region, environment
	/// region, zero output.
	pub fn initial_memory_root(
		program_root: Hash,
		descriptor: &[u8],
		inputs: &[(Hash, u32)],
	) -> Result<Hash, LayoutError> {
		let env = env_region_root(descriptor, inputs)?;
		memory_root(&[program_root, env])
	}
}
