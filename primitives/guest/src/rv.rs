//! The RISC-V side: entry point, stack, heap, exit, and the raw memory map as a
//! [`NodeEnv`].

use crate::NodeEnv;
use core::{
	alloc::{GlobalAlloc, Layout},
	arch::{asm, global_asm},
	cell::UnsafeCell,
};
use opml_nn::layout::{env_slot, exit, HEAP_BASE, HEAP_END, OUTPUT_BASE};
use opml_nn::types::MAX_DESCRIPTOR_BYTES;

// Entry (linked at 0x10000 = layout::ENTRY): stack pointer to layout::STACK_TOP, call
// `main`, exit with its return value.
global_asm!(
	".section .text.start",
	".globl _start",
	"_start:",
	"li sp, 0x10000000",
	"call main",
	"li a7, 93",
	"ecall",
	"1: j 1b",
);

/// Exit the VM with `code` (syscall 93).
pub fn exit(code: u32) -> ! {
	// SAFETY: the VM's exit syscall never returns.
	unsafe {
		asm!("ecall", in("a0") code, in("a7") 93, options(noreturn));
	}
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
	exit(exit::PANIC)
}

/// A bump allocator over `[HEAP_BASE, HEAP_END)`; never frees (one node per run).
struct Bump(UnsafeCell<usize>);

// SAFETY: the guest is single-threaded.
unsafe impl Sync for Bump {}

unsafe impl GlobalAlloc for Bump {
	unsafe fn alloc(&self, l: Layout) -> *mut u8 {
		let cur = &mut *self.0.get();
		let start = if *cur == 0 { HEAP_BASE as usize } else { *cur };
		let a = (start + l.align() - 1) & !(l.align() - 1);
		match a.checked_add(l.size()) {
			Some(end) if end <= HEAP_END as usize => {
				*cur = end;
				a as *mut u8
			}
			_ => core::ptr::null_mut(),
		}
	}
	unsafe fn dealloc(&self, _: *mut u8, _: Layout) {}
}

#[global_allocator]
static HEAP: Bump = Bump(UnsafeCell::new(0));

/// The memory map as seen from inside the VM.
pub struct MemoryEnv;

impl NodeEnv for MemoryEnv {
	fn descriptor(&self) -> Option<&[u8]> {
		let base = env_slot(0) as usize;
		// SAFETY: the environment region is mapped (all memory is), read-only use.
		unsafe {
			let len = (base as *const u32).read_volatile() as usize;
			if len > MAX_DESCRIPTOR_BYTES {
				return None;
			}
			Some(core::slice::from_raw_parts((base + 4) as *const u8, len))
		}
	}
	fn input(&self, k: usize, len: usize) -> &[u8] {
		// SAFETY: slot 1 + k, at most MAX_WEIGHT_BYTES = SLOT_BYTES (checked by the
		// descriptor).
		unsafe { core::slice::from_raw_parts(env_slot(1 + k as u32) as *const u8, len) }
	}
	fn output(&mut self, len: usize) -> &mut [u8] {
		// SAFETY: the output slot, disjoint from everything else.
		unsafe { core::slice::from_raw_parts_mut(OUTPUT_BASE as *mut u8, len) }
	}
}
