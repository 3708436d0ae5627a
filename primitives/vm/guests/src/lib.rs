//! OPML VM test guests: the algorithms (plain functions, also compiled natively by
//! the VM's tests to get the expected results) and, on RISC-V, the entry point, stack
//! and exit syscall.
#![no_std]

pub mod algos;

#[cfg(target_arch = "riscv32")]
use core::arch::global_asm;

// Entry: set the stack pointer (top of a 64 KiB stack below 0x0800_0000), call `main`,
// exit with its return value.
#[cfg(target_arch = "riscv32")]
global_asm!(
	".section .text.start",
	".globl _start",
	"_start:",
	"li sp, 0x08000000",
	"call main",
	"li a7, 93",
	"ecall",
	"1: j 1b",
);

/// Exit the VM with `code` (syscall 93).
#[cfg(target_arch = "riscv32")]
pub fn exit(code: u32) -> ! {
	unsafe {
		core::arch::asm!("ecall", in("a0") code, in("a7") 93, options(noreturn));
	}
}

#[cfg(target_arch = "riscv32")]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
	exit(101)
}
