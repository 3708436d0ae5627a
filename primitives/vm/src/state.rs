//! The VM state and its hash.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use opml_primitives_core::{hash::tags, hash_tagged, Hash};
use scale_info::TypeInfo;

/// Why a machine halted abnormally. Every variant names the faulting `pc`.
#[derive(
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
	MaxEncodedLen,
)]
pub enum Fault {
	/// The word at `pc` is not an RV32IM instruction (or is a CSR instruction).
	IllegalInstruction {
		/// Address of the instruction.
		pc: u32,
		/// The instruction word.
		word: u32,
	},
	/// `pc` is not 4-byte aligned (reached by a jump or branch to a misaligned target).
	MisalignedFetch {
		/// The misaligned pc.
		pc: u32,
	},
	/// A load or store whose address is not aligned to its size.
	MisalignedAccess {
		/// Address of the instruction.
		pc: u32,
		/// The misaligned data address.
		addr: u32,
	},
	/// `ecall` with an unsupported syscall number in `a7`.
	UnknownSyscall {
		/// Address of the `ecall`.
		pc: u32,
		/// The value of `a7`.
		number: u32,
	},
	/// `ebreak`.
	Breakpoint {
		/// Address of the `ebreak`.
		pc: u32,
	},
}

/// Whether the machine runs, and how it stopped.
#[derive(
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
	MaxEncodedLen,
)]
pub enum ExitStatus {
	/// Still running.
	Running,
	/// Exited by the exit syscall with this code.
	Exited(u32),
	/// Halted by a fault.
	Faulted(Fault),
}

impl ExitStatus {
	/// Whether the machine has halted (exited or faulted).
	pub fn is_halted(&self) -> bool {
		!matches!(self, ExitStatus::Running)
	}
}

/// The CPU part of the state (everything but memory).
#[derive(
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
	MaxEncodedLen,
)]
pub struct Cpu {
	/// Program counter.
	pub pc: u32,
	/// Integer registers; `regs[0]` is always 0.
	pub regs: [u32; 32],
	/// Number of steps executed (a halted machine no longer counts).
	pub step: u64,
	/// Exit status.
	pub exit: ExitStatus,
}

impl Cpu {
	/// A running CPU at `pc` with all registers zero.
	pub fn new(pc: u32) -> Self {
		Cpu {
			pc,
			regs: [0; 32],
			step: 0,
			exit: ExitStatus::Running,
		}
	}
}

/// The full VM state: CPU plus the root of the memory tree.
#[derive(
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
	MaxEncodedLen,
)]
pub struct VmState {
	/// Program counter.
	pub pc: u32,
	/// Integer registers; `regs[0]` is always 0.
	pub regs: [u32; 32],
	/// Root of the depth-27 memory tree.
	pub mem_root: Hash,
	/// Number of steps executed.
	pub step: u64,
	/// Exit status.
	pub exit: ExitStatus,
}

impl VmState {
	/// Combine a CPU and a memory root.
	pub fn from_cpu(cpu: &Cpu, mem_root: Hash) -> Self {
		VmState {
			pc: cpu.pc,
			regs: cpu.regs,
			mem_root,
			step: cpu.step,
			exit: cpu.exit,
		}
	}

	/// The CPU part.
	pub fn cpu(&self) -> Cpu {
		Cpu {
			pc: self.pc,
			regs: self.regs,
			step: self.step,
			exit: self.exit,
		}
	}

	/// The state hash `H(tag, SCALE(state))`.
	pub fn hash(&self) -> Hash {
		hash_tagged(tags::VM_STATE, &[&self.encode()])
	}
}
