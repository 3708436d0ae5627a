//! Loading ELF32 little-endian RISC-V executables.
//!
//! Only what a fault-proof VM needs: the entry point and the `PT_LOAD` segments
//! (file bytes copied, the rest of `memsz` zero). Every field read from the file is
//! bounds-checked; a truncated, foreign or out-of-range file is a typed [`ElfError`].

use alloc::vec::Vec;

/// Largest total `memsz` of all loadable segments accepted (64 MiB).
pub const MAX_LOAD_BYTES: u64 = 64 << 20;

/// Why an ELF file was rejected.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ElfError {
	/// Shorter than its headers say.
	Truncated,
	/// Not an ELF file.
	BadMagic,
	/// Not ELF32.
	Not32Bit,
	/// Not little-endian.
	NotLittleEndian,
	/// Not an executable (`ET_EXEC`).
	NotExecutable,
	/// Not a RISC-V file.
	NotRiscV,
	/// Program-header entries of an unexpected size.
	BadProgramHeaderSize,
	/// A segment's file range lies outside the file.
	SegmentOutOfFile,
	/// A segment has `filesz > memsz`.
	FileSizeAboveMemSize,
	/// A segment wraps around the end of the 32-bit address space.
	SegmentOutOfRange,
	/// Loadable segments add up to more than [`MAX_LOAD_BYTES`].
	TooLarge,
	/// No loadable segment.
	NoLoadableSegment,
}

impl core::fmt::Display for ElfError {
	fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
		core::fmt::Debug::fmt(self, f)
	}
}

#[cfg(feature = "std")]
impl std::error::Error for ElfError {}

/// One loadable segment.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Segment {
	/// Virtual address.
	pub vaddr: u32,
	/// Bytes from the file.
	pub data: Vec<u8>,
	/// Size in memory (`>= data.len()`; the rest is zero).
	pub mem_size: u32,
}

/// A parsed executable.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Program {
	/// Entry point.
	pub entry: u32,
	/// Loadable segments in file order.
	pub segments: Vec<Segment>,
}

fn u16_at(b: &[u8], off: usize) -> Result<u16, ElfError> {
	let s = b.get(off..off + 2).ok_or(ElfError::Truncated)?;
	Ok(u16::from_le_bytes([s[0], s[1]]))
}

fn u32_at(b: &[u8], off: usize) -> Result<u32, ElfError> {
	let s = b.get(off..off + 4).ok_or(ElfError::Truncated)?;
	Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

const PT_LOAD: u32 = 1;
const EM_RISCV: u16 = 243;
const ET_EXEC: u16 = 2;

/// Parse an ELF32 RISC-V executable.
pub fn parse(bytes: &[u8]) -> Result<Program, ElfError> {
	if bytes.len() < 52 {
		return Err(if bytes.len() >= 4 && bytes[..4] != *b"\x7fELF" {
			ElfError::BadMagic
		} else {
			ElfError::Truncated
		});
	}
	if bytes[..4] != *b"\x7fELF" {
		return Err(ElfError::BadMagic);
	}
	if bytes[4] != 1 {
		return Err(ElfError::Not32Bit);
	}
	if bytes[5] != 1 {
		return Err(ElfError::NotLittleEndian);
	}
	if u16_at(bytes, 16)? != ET_EXEC {
		return Err(ElfError::NotExecutable);
	}
	if u16_at(bytes, 18)? != EM_RISCV {
		return Err(ElfError::NotRiscV);
	}
	let entry = u32_at(bytes, 24)?;
	let phoff = u32_at(bytes, 28)? as usize;
	let phentsize = u16_at(bytes, 42)? as usize;
	let phnum = u16_at(bytes, 44)? as usize;
	if phnum > 0 && phentsize != 32 {
		return Err(ElfError::BadProgramHeaderSize);
	}
	let mut segments = Vec::new();
	let mut total: u64 = 0;
	for i in 0..phnum {
		let ph = phoff.checked_add(i * 32).ok_or(ElfError::Truncated)?;
		if bytes.len() < ph.saturating_add(32) {
			return Err(ElfError::Truncated);
		}
		if u32_at(bytes, ph)? != PT_LOAD {
			continue;
		}
		let offset = u32_at(bytes, ph + 4)? as usize;
		let vaddr = u32_at(bytes, ph + 8)?;
		let filesz = u32_at(bytes, ph + 16)?;
		let memsz = u32_at(bytes, ph + 20)?;
		if filesz > memsz {
			return Err(ElfError::FileSizeAboveMemSize);
		}
		if vaddr as u64 + memsz as u64 > 1u64 << 32 {
			return Err(ElfError::SegmentOutOfRange);
		}
		total += memsz as u64;
		if total > MAX_LOAD_BYTES {
			return Err(ElfError::TooLarge);
		}
		let end = offset
			.checked_add(filesz as usize)
			.ok_or(ElfError::SegmentOutOfFile)?;
		let data = bytes
			.get(offset..end)
			.ok_or(ElfError::SegmentOutOfFile)?
			.to_vec();
		segments.push(Segment {
			vaddr,
			data,
			mem_size: memsz,
		});
	}
	if segments.is_empty() {
		return Err(ElfError::NoLoadableSegment);
	}
	Ok(Program { entry, segments })
}

#[cfg(feature = "std")]
impl Program {
	/// A fast-mode machine with this program loaded, at its entry point, registers zero.
	pub fn load(&self) -> crate::fast::FastVm {
		let mut mem = crate::fast::PagedMemory::new();
		for s in &self.segments {
			mem.write_bytes(s.vaddr, &s.data);
			let bss = s.mem_size - s.data.len() as u32;
			mem.zero_range(s.vaddr.wrapping_add(s.data.len() as u32), bss);
		}
		crate::fast::FastVm::new(crate::state::Cpu::new(self.entry), mem)
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn minimal(entry: u32, vaddr: u32, code: &[u8]) -> Vec<u8> {
		let mut f = vec![0u8; 52 + 32];
		f[..4].copy_from_slice(b"\x7fELF");
		f[4] = 1;
		f[5] = 1;
		f[6] = 1;
		f[16..18].copy_from_slice(&ET_EXEC.to_le_bytes());
		f[18..20].copy_from_slice(&EM_RISCV.to_le_bytes());
		f[24..28].copy_from_slice(&entry.to_le_bytes());
		f[28..32].copy_from_slice(&52u32.to_le_bytes());
		f[42..44].copy_from_slice(&32u16.to_le_bytes());
		f[44..46].copy_from_slice(&1u16.to_le_bytes());
		let ph = 52;
		f[ph..ph + 4].copy_from_slice(&PT_LOAD.to_le_bytes());
		f[ph + 4..ph + 8].copy_from_slice(&84u32.to_le_bytes());
		f[ph + 8..ph + 12].copy_from_slice(&vaddr.to_le_bytes());
		f[ph + 16..ph + 20].copy_from_slice(&(code.len() as u32).to_le_bytes());
		f[ph + 20..ph + 24].copy_from_slice(&(code.len() as u32 + 64).to_le_bytes());
		f.extend_from_slice(code);
		f
	}

	#[test]
	fn parses_a_minimal_executable() {
		let f = minimal(0x1000, 0x1000, &[0x13, 0, 0, 0]);
		let p = parse(&f).unwrap();
		assert_eq!(p.entry, 0x1000);
		assert_eq!(p.segments[0].data, vec![0x13, 0, 0, 0]);
		assert_eq!(p.segments[0].mem_size, 68);
	}

	#[test]
	fn rejects_bad_files_with_typed_errors() {
		let good = minimal(0x1000, 0x1000, &[0x13, 0, 0, 0]);
		assert_eq!(parse(&good[..10]), Err(ElfError::Truncated));
		assert_eq!(
			parse(b"MZ\x90\x00 this is not an elf file at all, no, not at all......"),
			Err(ElfError::BadMagic)
		);
		let mut f = good.clone();
		f[4] = 2;
		assert_eq!(parse(&f), Err(ElfError::Not32Bit));
		let mut f = good.clone();
		f[5] = 2;
		assert_eq!(parse(&f), Err(ElfError::NotLittleEndian));
		let mut f = good.clone();
		f[18] = 0x3e; // x86-64
		assert_eq!(parse(&f), Err(ElfError::NotRiscV));
		let mut f = good.clone();
		f[16] = 3;
		assert_eq!(parse(&f), Err(ElfError::NotExecutable));
		// Segment past the end of the file.
		assert_eq!(
			parse(&good[..good.len() - 1]),
			Err(ElfError::SegmentOutOfFile)
		);
		// Segment wrapping the address space.
		let f = minimal(0, 0xffff_fff0, &[0x13, 0, 0, 0]);
		assert_eq!(parse(&f), Err(ElfError::SegmentOutOfRange));
		// Program headers beyond the file.
		let mut f = good.clone();
		f[28..32].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
		assert_eq!(parse(&f), Err(ElfError::Truncated));
		// filesz > memsz
		let mut f = good.clone();
		f[52 + 20..52 + 24].copy_from_slice(&1u32.to_le_bytes());
		assert_eq!(parse(&f), Err(ElfError::FileSizeAboveMemSize));
		// Huge memsz.
		let mut f = good;
		f[52 + 8..52 + 12].copy_from_slice(&0u32.to_le_bytes());
		f[52 + 20..52 + 24].copy_from_slice(&0xf000_0000u32.to_le_bytes());
		assert_eq!(parse(&f), Err(ElfError::TooLarge));
	}
}
