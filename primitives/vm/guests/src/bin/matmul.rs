//! Compute-bound guest: repeated 32×32 int32 matrix products (the VM speed benchmark).
//!
//! The number of rounds is the initial `a0` if non-zero (a host can set it before the
//! first step), else [`ROUNDS`].
#![no_std]
#![no_main]

/// Default number of rounds; read volatilely so the work cannot be folded away.
#[no_mangle]
static ROUNDS: u32 = 40;

#[no_mangle]
pub extern "C" fn main(rounds: u32) -> u32 {
	let rounds = if rounds != 0 {
		rounds
	} else {
		unsafe { core::ptr::read_volatile(core::ptr::addr_of!(ROUNDS)) }
	};
	opml_vm_test_guests::algos::matmul_checksum(rounds)
}
