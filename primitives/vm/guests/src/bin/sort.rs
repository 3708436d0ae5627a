//! Small mixed guest: insertion sort plus an M-extension checksum (about 6k steps).
#![no_std]
#![no_main]

#[no_mangle]
pub extern "C" fn main() -> u32 {
	opml_vm_test_guests::algos::sort_checksum()
}
