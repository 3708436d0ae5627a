//! A tiny RV32IM assembler for tests: encoders for the instruction formats.
#![allow(dead_code)]

pub fn r(f7: u32, rs2: u32, rs1: u32, f3: u32, rd: u32, op: u32) -> u32 {
	f7 << 25 | rs2 << 20 | rs1 << 15 | f3 << 12 | rd << 7 | op
}
pub fn i(imm: i32, rs1: u32, f3: u32, rd: u32, op: u32) -> u32 {
	((imm as u32) & 0xfff) << 20 | rs1 << 15 | f3 << 12 | rd << 7 | op
}
pub fn s(imm: i32, rs2: u32, rs1: u32, f3: u32) -> u32 {
	let imm = imm as u32;
	((imm >> 5) & 0x7f) << 25 | rs2 << 20 | rs1 << 15 | f3 << 12 | (imm & 0x1f) << 7 | 0x23
}
pub fn b(imm: i32, rs2: u32, rs1: u32, f3: u32) -> u32 {
	let imm = imm as u32;
	((imm >> 12) & 1) << 31
		| ((imm >> 5) & 0x3f) << 25
		| rs2 << 20
		| rs1 << 15
		| f3 << 12
		| ((imm >> 1) & 0xf) << 8
		| ((imm >> 11) & 1) << 7
		| 0x63
}
pub fn jal(imm: i32, rd: u32) -> u32 {
	let imm = imm as u32;
	((imm >> 20) & 1) << 31
		| ((imm >> 1) & 0x3ff) << 21
		| ((imm >> 11) & 1) << 20
		| ((imm >> 12) & 0xff) << 12
		| rd << 7
		| 0x6f
}
pub fn lui(imm20: u32, rd: u32) -> u32 {
	imm20 << 12 | rd << 7 | 0x37
}
pub fn addi(rd: u32, rs1: u32, imm: i32) -> u32 {
	i(imm, rs1, 0, rd, 0x13)
}
pub fn add(rd: u32, rs1: u32, rs2: u32) -> u32 {
	r(0, rs2, rs1, 0, rd, 0x33)
}
pub fn mul(rd: u32, rs1: u32, rs2: u32) -> u32 {
	r(1, rs2, rs1, 0, rd, 0x33)
}
pub fn lw(rd: u32, rs1: u32, imm: i32) -> u32 {
	i(imm, rs1, 2, rd, 0x03)
}
pub fn sw(rs2: u32, rs1: u32, imm: i32) -> u32 {
	s(imm, rs2, rs1, 2)
}
pub fn ecall() -> u32 {
	0x73
}

/// Assemble words into bytes.
pub fn bytes(words: &[u32]) -> Vec<u8> {
	words.iter().flat_map(|w| w.to_le_bytes()).collect()
}
