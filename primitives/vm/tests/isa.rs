//! Instruction semantics against literal expectations from the RISC-V spec (RV32IM),
//! edge cases first: sign extension, shifts by register, signed/unsigned compares,
//! division by zero and overflow, sub-word loads and stores. Each case is executed in
//! fast mode and re-executed from its witness.

mod common;
use common::*;
use opml_vm::{
	fast::{FastVm, PagedMemory},
	state::Cpu,
	verify_step,
};

/// Execute `insn` at 0x1000 with x5 = a, x6 = b (and memory at 0x2000.. = `data`);
/// return x7 after one step, checking the witnessed re-execution agrees.
fn exec(insn: u32, a: u32, b: u32, data: &[u8]) -> (u32, FastVm) {
	let mut mem = PagedMemory::new();
	mem.write_bytes(0x1000, &insn.to_le_bytes());
	mem.write_bytes(0x2000, data);
	let mut cpu = Cpu::new(0x1000);
	cpu.regs[5] = a;
	cpu.regs[6] = b;
	let mut vm = FastVm::new(cpu, mem);
	let w = vm.witness();
	vm.step();
	assert_eq!(verify_step(&w).unwrap(), vm.state());
	assert!(
		!vm.cpu.exit.is_halted(),
		"{insn:#010x} faulted: {:?}",
		vm.cpu.exit
	);
	(vm.cpu.regs[7], vm)
}

fn op(f7: u32, f3: u32) -> u32 {
	r(f7, 6, 5, f3, 7, 0x33)
}

#[test]
fn register_register_ops() {
	let cases: &[(&str, u32, u32, u32, u32)] = &[
		// name, insn, a, b, expected
		("add wraps", op(0, 0), 0xffff_ffff, 1, 0),
		("sub wraps", op(0x20, 0), 0, 1, 0xffff_ffff),
		("sll uses low 5 bits", op(0, 1), 1, 33, 2),
		("slt signed", op(0, 2), 0xffff_ffff, 1, 1),
		("sltu unsigned", op(0, 3), 0xffff_ffff, 1, 0),
		("xor", op(0, 4), 0xff00_ff00, 0x0ff0_0ff0, 0xf0f0_f0f0),
		("srl logical", op(0, 5), 0x8000_0000, 31, 1),
		("sra arithmetic", op(0x20, 5), 0x8000_0000, 31, 0xffff_ffff),
		(
			"sra low 5 bits",
			op(0x20, 5),
			0x8000_0000,
			0x21,
			0xc000_0000,
		),
		("or", op(0, 6), 0xf0, 0x0f, 0xff),
		("and", op(0, 7), 0xf0, 0x3c, 0x30),
		("mul low", op(1, 0), 0x8000_0001, 3, 0x8000_0003),
		("mulh signed", op(1, 1), 0xffff_ffff, 0xffff_ffff, 0),
		(
			"mulh -2^31 * -2^31",
			op(1, 1),
			0x8000_0000,
			0x8000_0000,
			0x4000_0000,
		),
		("mulhsu", op(1, 2), 0xffff_ffff, 0xffff_ffff, 0xffff_ffff),
		("mulhu", op(1, 3), 0xffff_ffff, 0xffff_ffff, 0xffff_fffe),
		(
			"div truncates toward zero",
			op(1, 4),
			(-7i32) as u32,
			2,
			(-3i32) as u32,
		),
		("div by zero", op(1, 4), 5, 0, 0xffff_ffff),
		(
			"div overflow",
			op(1, 4),
			0x8000_0000,
			0xffff_ffff,
			0x8000_0000,
		),
		("divu", op(1, 5), 0xffff_fffe, 2, 0x7fff_ffff),
		("divu by zero", op(1, 5), 5, 0, 0xffff_ffff),
		(
			"rem sign of dividend",
			op(1, 6),
			(-7i32) as u32,
			2,
			(-1i32) as u32,
		),
		("rem by zero", op(1, 6), (-7i32) as u32, 0, (-7i32) as u32),
		("rem overflow", op(1, 6), 0x8000_0000, 0xffff_ffff, 0),
		("remu", op(1, 7), 7, 3, 1),
		("remu by zero", op(1, 7), 7, 0, 7),
	];
	for (name, insn, a, b, want) in cases {
		let (got, _) = exec(*insn, *a, *b, &[]);
		assert_eq!(got, *want, "{name}: got {got:#x}, want {want:#x}");
	}
}

#[test]
fn immediate_ops_and_upper_immediates() {
	let cases: &[(&str, u32, u32, u32)] = &[
		("addi negative", i(-1, 5, 0, 7, 0x13), 0, 0xffff_ffff),
		("slti signed", i(-1, 5, 2, 7, 0x13), 0xffff_fffe, 1),
		("sltiu sign-extended imm", i(-1, 5, 3, 7, 0x13), 5, 1),
		(
			"xori -1 is not",
			i(-1, 5, 4, 7, 0x13),
			0x0f0f_0f0f,
			0xf0f0_f0f0,
		),
		("ori", i(0x7ff, 5, 6, 7, 0x13), 0, 0x7ff),
		(
			"andi sign-extended",
			i(-16, 5, 7, 7, 0x13),
			0xffff_ffff,
			0xffff_fff0,
		),
		("slli", r(0, 31, 5, 1, 7, 0x13), 1, 0x8000_0000),
		("srli", r(0, 4, 5, 5, 7, 0x13), 0x8000_0000, 0x0800_0000),
		("srai", r(0x20, 4, 5, 5, 7, 0x13), 0x8000_0000, 0xf800_0000),
		("lui", lui(0xfffff, 7), 0, 0xffff_f000),
		("auipc", 0x0000_1397, 0, 0x1000 + 0x1000), // auipc x7, 1
	];
	for (name, insn, a, want) in cases {
		let (got, _) = exec(*insn, *a, 0, &[]);
		assert_eq!(got, *want, "{name}: got {got:#x}, want {want:#x}");
	}
}

#[test]
fn loads_sign_and_zero_extend() {
	let data = [0x80u8, 0xff, 0x7f, 0x01, 0x11, 0x22, 0x33, 0x44];
	let cases: &[(&str, u32, u32)] = &[
		("lb", i(0, 5, 0, 7, 0x03), 0xffff_ff80),
		("lbu", i(0, 5, 4, 7, 0x03), 0x80),
		("lh", i(0, 5, 1, 7, 0x03), 0xffff_ff80),
		("lhu", i(0, 5, 5, 7, 0x03), 0xff80),
		("lh upper half", i(2, 5, 1, 7, 0x03), 0x017f),
		("lw", i(4, 5, 2, 7, 0x03), 0x4433_2211),
		("lb negative offset", i(-1, 5, 4, 7, 0x03), 0x01),
	];
	for (name, insn, want) in cases {
		let base = if name.contains("negative") {
			0x2004
		} else {
			0x2000
		};
		let (got, _) = exec(*insn, base, 0, &data);
		assert_eq!(got, *want, "{name}: got {got:#x}, want {want:#x}");
	}
}

#[test]
fn stores_write_only_their_bytes() {
	let data = [0xaau8; 8];
	let (_, vm) = exec(s(1, 6, 5, 0), 0x2000, 0x1234_5678, &data); // sb x6, 1(x5)
	assert_eq!(vm.mem.read_bytes(0x2000, 4), vec![0xaa, 0x78, 0xaa, 0xaa]);
	let (_, vm) = exec(s(2, 6, 5, 1), 0x2000, 0x1234_5678, &data); // sh x6, 2(x5)
	assert_eq!(vm.mem.read_bytes(0x2000, 4), vec![0xaa, 0xaa, 0x78, 0x56]);
	let (_, vm) = exec(s(4, 6, 5, 2), 0x2000, 0x1234_5678, &data); // sw x6, 4(x5)
	assert_eq!(
		vm.mem.read_bytes(0x2000, 8),
		vec![0xaa, 0xaa, 0xaa, 0xaa, 0x78, 0x56, 0x34, 0x12]
	);
}

#[test]
fn branches_and_jumps() {
	// (insn, a, b, expected pc after)
	let cases: &[(&str, u32, u32, u32, u32)] = &[
		("beq taken", b(16, 6, 5, 0), 3, 3, 0x1010),
		("bne not taken", b(16, 6, 5, 1), 3, 3, 0x1004),
		("blt signed", b(-8, 6, 5, 4), 0xffff_ffff, 0, 0x0ff8),
		("bge signed", b(8, 6, 5, 5), 0xffff_ffff, 0, 0x1004),
		("bltu unsigned", b(8, 6, 5, 6), 0xffff_ffff, 0, 0x1004),
		("bgeu unsigned", b(8, 6, 5, 7), 0xffff_ffff, 0, 0x1008),
		("jal", jal(-0x800, 7), 0, 0, 0x0800),
		("jalr clears bit 0", i(3, 5, 0, 7, 0x67), 0x3000, 0, 0x3002),
	];
	for (name, insn, a, bb, want_pc) in cases {
		let mut mem = PagedMemory::new();
		mem.write_bytes(0x1000, &insn.to_le_bytes());
		let mut cpu = Cpu::new(0x1000);
		cpu.regs[5] = *a;
		cpu.regs[6] = *bb;
		let mut vm = FastVm::new(cpu, mem);
		let w = vm.witness();
		vm.step();
		assert_eq!(verify_step(&w).unwrap(), vm.state());
		assert_eq!(vm.cpu.pc, *want_pc, "{name}");
		if name.starts_with("jal") {
			assert_eq!(vm.cpu.regs[7], 0x1004, "{name} link");
		}
	}
	// jalr with rd == rs1 uses the old rs1.
	let (got, vm) = exec(i(0x10, 7, 0, 7, 0x67), 0, 0, &[]);
	let _ = got;
	assert_eq!(vm.cpu.pc, 0x10);
	assert_eq!(vm.cpu.regs[7], 0x1004);
}

#[test]
fn writes_to_x0_are_discarded() {
	let (_, vm) = exec(r(0, 6, 5, 0, 0, 0x33), 1, 2, &[]); // add x0, x5, x6
	assert_eq!(vm.cpu.regs[0], 0);
}
