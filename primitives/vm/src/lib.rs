//! # opml-vm
//!
//! The OPML fault-proof VM (DESIGN.md §5): RV32IM, little-endian, a 32-bit address
//! space held as a depth-27 binary Merkle tree of 32-byte leaves.
//!
//! - [`state`]: the VM state (pc, registers, memory root, step counter, exit status)
//!   and its hash `H(tag, SCALE(state))`.
//! - [`exec`]: **one** instruction semantics, generic over a [`exec::Memory`]; both
//!   execution modes call it.
//! - [`fast`]: fast execution over flat, paged, copy-on-write memory, Merkleized only
//!   at checkpoints (dirty pages only), checkpoints and witness generation at any step.
//! - [`witness`]: the step witness (pre-state + at most two memory proofs) and its
//!   verification, which the runtime runs on attacker-supplied bytes.
//! - [`elf`]: loading ELF32 RISC-V executables (PT_LOAD segments).
//!
//! Syscalls (`ecall`, Linux RISC-V convention): `a7 = 93` exits with code `a0`.
//! Any other syscall, `ebreak`, an illegal instruction or a misaligned access halts the
//! machine with a [`state::Fault`]; nothing panics. A halted state steps to itself.
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

pub mod elf;
pub mod exec;
#[cfg(feature = "std")]
pub mod fast;
pub mod state;
pub mod witness;

pub use state::{ExitStatus, Fault, VmState};
pub use witness::{verify_step, MemProof, StepWitness, WitnessError};

/// Depth of the memory tree: 2^27 leaves of 32 bytes = 4 GiB.
pub const MEM_DEPTH: u32 = 27;
/// Bytes per memory leaf.
pub const LEAF_BYTES: u32 = 32;
/// The `ecall` number (in `a7`) that exits with the code in `a0`.
pub const SYS_EXIT: u32 = 93;
