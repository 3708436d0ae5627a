//! The RISC-V entry of the OPML guest: run the node in memory, exit with its code.
#![no_std]
#![no_main]

#[no_mangle]
extern "C" fn main() -> u32 {
	opml_guest::run(&mut opml_guest::rv::MemoryEnv)
}
