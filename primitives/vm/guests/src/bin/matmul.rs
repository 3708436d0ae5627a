//! Compute-bound guest: repeated 32×32 int32 matrix products (the VM speed benchmark).
#![no_std]
#![no_main]

/// Number of rounds; a `static` read volatilely so the work cannot be folded away.
#[no_mangle]
static ROUNDS: u32 = 40;

#[no_mangle]
pub extern "C" fn main() -> u32 {
	let rounds = unsafe { core::ptr::read_volatile(core::ptr::addr_of!(ROUNDS)) };
	opml_vm_test_guests::algos::matmul_checksum(rounds)
}
