//! The RV32IM instruction semantics, shared by fast and witnessed execution.
//!
//! Memory is reached only through [`Memory`], by aligned 32-bit words. Sub-word loads
//! extract from the word; **every** store (including `sw`) is a read of the word
//! followed by one write of it. So one step touches at most two leaves: the
//! instruction's, and one data leaf that is read and possibly written last. This is
//! what keeps a step witness to two Merkle proofs.

use crate::{
	state::{Cpu, ExitStatus, Fault},
	SYS_EXIT,
};

/// Word-granular memory as seen by one step.
pub trait Memory {
	/// Why an access could not be served (never for in-memory execution; a missing or
	/// invalid proof for witnessed execution).
	type Error;
	/// Read the aligned word at `addr` (`addr % 4 == 0`).
	fn read_word(&mut self, addr: u32) -> Result<u32, Self::Error>;
	/// Write the aligned word at `addr`; always preceded by a read of the same word.
	fn write_word(&mut self, addr: u32, value: u32) -> Result<(), Self::Error>;
}

#[inline(always)]
fn sext(value: u32, bits: u32) -> u32 {
	let shift = 32 - bits;
	(((value << shift) as i32) >> shift) as u32
}

#[inline(always)]
fn imm_i(insn: u32) -> u32 {
	((insn as i32) >> 20) as u32
}

#[inline(always)]
fn imm_s(insn: u32) -> u32 {
	((((insn as i32) >> 25) << 5) as u32) | ((insn >> 7) & 0x1f)
}

#[inline(always)]
fn imm_b(insn: u32) -> u32 {
	let v = ((insn >> 31) & 1) << 12
		| ((insn >> 7) & 1) << 11
		| ((insn >> 25) & 0x3f) << 5
		| ((insn >> 8) & 0xf) << 1;
	sext(v, 13)
}

#[inline(always)]
fn imm_j(insn: u32) -> u32 {
	let v = ((insn >> 31) & 1) << 20
		| ((insn >> 12) & 0xff) << 12
		| ((insn >> 20) & 1) << 11
		| ((insn >> 21) & 0x3ff) << 1;
	sext(v, 21)
}

#[inline(always)]
fn halt(cpu: &mut Cpu, fault: Fault) {
	cpu.exit = ExitStatus::Faulted(fault);
	cpu.step = cpu.step.wrapping_add(1);
}

/// Execute one instruction. A halted CPU is left unchanged (a halted state steps to
/// itself). Memory errors (witnessed mode only) abort the step and leave the CPU as it was.
#[inline(always)]
pub fn step<M: Memory>(cpu: &mut Cpu, mem: &mut M) -> Result<(), M::Error> {
	if cpu.exit != ExitStatus::Running {
		return Ok(());
	}
	let pc = cpu.pc;
	if pc & 3 != 0 {
		halt(cpu, Fault::MisalignedFetch { pc });
		return Ok(());
	}
	let insn = mem.read_word(pc)?;
	let rd = ((insn >> 7) & 31) as usize;
	let funct3 = (insn >> 12) & 7;
	let rs1 = ((insn >> 15) & 31) as usize;
	let rs2 = ((insn >> 20) & 31) as usize;
	let funct7 = insn >> 25;
	let x1 = if rs1 == 0 { 0 } else { cpu.regs[rs1] };
	let x2 = if rs2 == 0 { 0 } else { cpu.regs[rs2] };
	let illegal = Fault::IllegalInstruction { pc, word: insn };
	let mut next_pc = pc.wrapping_add(4);
	let mut result: Option<u32> = None;

	match insn & 0x7f {
		// LUI
		0x37 => result = Some(insn & 0xffff_f000),
		// AUIPC
		0x17 => result = Some(pc.wrapping_add(insn & 0xffff_f000)),
		// JAL
		0x6f => {
			result = Some(next_pc);
			next_pc = pc.wrapping_add(imm_j(insn));
		}
		// JALR
		0x67 => {
			if funct3 != 0 {
				halt(cpu, illegal);
				return Ok(());
			}
			result = Some(next_pc);
			next_pc = x1.wrapping_add(imm_i(insn)) & !1;
		}
		// Branches
		0x63 => {
			let taken = match funct3 {
				0 => x1 == x2,
				1 => x1 != x2,
				4 => (x1 as i32) < (x2 as i32),
				5 => (x1 as i32) >= (x2 as i32),
				6 => x1 < x2,
				7 => x1 >= x2,
				_ => {
					halt(cpu, illegal);
					return Ok(());
				}
			};
			if taken {
				next_pc = pc.wrapping_add(imm_b(insn));
			}
		}
		// Loads
		0x03 => {
			let addr = x1.wrapping_add(imm_i(insn));
			let align = match funct3 {
				0 | 4 => 0,
				1 | 5 => 1,
				2 => 3,
				_ => {
					halt(cpu, illegal);
					return Ok(());
				}
			};
			if addr & align != 0 {
				halt(cpu, Fault::MisalignedAccess { pc, addr });
				return Ok(());
			}
			let word = mem.read_word(addr & !3)?;
			let shift = (addr & 3) * 8;
			let v = word >> shift;
			result = Some(match funct3 {
				0 => sext(v & 0xff, 8),
				1 => sext(v & 0xffff, 16),
				2 => v,
				4 => v & 0xff,
				_ => v & 0xffff,
			});
		}
		// Stores
		0x23 => {
			let addr = x1.wrapping_add(imm_s(insn));
			let (align, mask) = match funct3 {
				0 => (0, 0xffu32),
				1 => (1, 0xffff),
				2 => (3, 0xffff_ffff),
				_ => {
					halt(cpu, illegal);
					return Ok(());
				}
			};
			if addr & align != 0 {
				halt(cpu, Fault::MisalignedAccess { pc, addr });
				return Ok(());
			}
			let waddr = addr & !3;
			let old = mem.read_word(waddr)?;
			let shift = (addr & 3) * 8;
			let new = (old & !(mask << shift)) | ((x2 & mask) << shift);
			mem.write_word(waddr, new)?;
		}
		// OP-IMM
		0x13 => {
			let imm = imm_i(insn);
			let shamt = (insn >> 20) & 31;
			result = Some(match funct3 {
				0 => x1.wrapping_add(imm),
				2 => ((x1 as i32) < (imm as i32)) as u32,
				3 => (x1 < imm) as u32,
				4 => x1 ^ imm,
				6 => x1 | imm,
				7 => x1 & imm,
				1 if funct7 == 0 => x1 << shamt,
				5 if funct7 == 0 => x1 >> shamt,
				5 if funct7 == 0x20 => ((x1 as i32) >> shamt) as u32,
				_ => {
					halt(cpu, illegal);
					return Ok(());
				}
			});
		}
		// OP and M extension
		0x33 => {
			let sh = x2 & 31;
			result = Some(match (funct7, funct3) {
				(0, 0) => x1.wrapping_add(x2),
				(0x20, 0) => x1.wrapping_sub(x2),
				(0, 1) => x1 << sh,
				(0, 2) => ((x1 as i32) < (x2 as i32)) as u32,
				(0, 3) => (x1 < x2) as u32,
				(0, 4) => x1 ^ x2,
				(0, 5) => x1 >> sh,
				(0x20, 5) => ((x1 as i32) >> sh) as u32,
				(0, 6) => x1 | x2,
				(0, 7) => x1 & x2,
				(1, 0) => x1.wrapping_mul(x2),
				(1, 1) => (((x1 as i32 as i64) * (x2 as i32 as i64)) >> 32) as u32,
				(1, 2) => (((x1 as i32 as i64) * (x2 as u64 as i64)) >> 32) as u32,
				(1, 3) => (((x1 as u64) * (x2 as u64)) >> 32) as u32,
				(1, 4) => {
					if x2 == 0 {
						u32::MAX
					} else {
						(x1 as i32).wrapping_div(x2 as i32) as u32
					}
				}
				(1, 5) => x1.checked_div(x2).unwrap_or(u32::MAX),
				(1, 6) => {
					if x2 == 0 {
						x1
					} else {
						(x1 as i32).wrapping_rem(x2 as i32) as u32
					}
				}
				(1, 7) => x1.checked_rem(x2).unwrap_or(x1),
				_ => {
					halt(cpu, illegal);
					return Ok(());
				}
			});
		}
		// MISC-MEM: FENCE and FENCE.I are no-ops (no caches; self-modifying code is
		// always seen, since every fetch reads memory).
		0x0f => {
			if funct3 > 1 {
				halt(cpu, illegal);
				return Ok(());
			}
		}
		// SYSTEM: ECALL and EBREAK; no CSRs.
		0x73 => match insn {
			0x0000_0073 => {
				let number = cpu.regs[17];
				if number == SYS_EXIT {
					cpu.exit = ExitStatus::Exited(cpu.regs[10]);
				} else {
					halt(cpu, Fault::UnknownSyscall { pc, number });
					return Ok(());
				}
			}
			0x0010_0073 => {
				halt(cpu, Fault::Breakpoint { pc });
				return Ok(());
			}
			_ => {
				halt(cpu, illegal);
				return Ok(());
			}
		},
		_ => {
			halt(cpu, illegal);
			return Ok(());
		}
	}

	if let Some(v) = result {
		if rd != 0 {
			cpu.regs[rd] = v;
		}
	}
	cpu.pc = next_pc;
	cpu.step = cpu.step.wrapping_add(1);
	Ok(())
}
