//! Real Rust programs compiled for riscv32im-unknown-none-elf (`guests/build.sh`):
//! their VM results equal the same code compiled natively, and fast and witnessed
//! execution agree on every step.

use opml_vm::{elf, fast::Trace, verify_step, ExitStatus};
use opml_vm_test_guests::algos;

fn load(name: &str) -> opml_vm::fast::FastVm {
	let path = format!(
		"{}/tests/elf/{name}.elf",
		std::env::var("CARGO_MANIFEST_DIR")
			.expect("cargo sets CARGO_MANIFEST_DIR")
			.as_str()
	);
	let bytes = std::fs::read(&path).unwrap();
	elf::parse(&bytes).unwrap().load()
}

#[test]
fn sort_guest_matches_native_and_agrees_on_every_step() {
	let mut vm = load("sort");
	let mut steps = 0;
	while !vm.cpu.exit.is_halted() {
		let w = vm.witness();
		let post = verify_step(&w).unwrap();
		vm.step();
		assert_eq!(post, vm.state(), "disagreement at step {steps}");
		steps += 1;
		assert!(steps < 100_000, "guest does not halt");
	}
	assert_eq!(vm.cpu.exit, ExitStatus::Exited(algos::sort_checksum()));
}

#[test]
fn matmul_guest_matches_native_and_sampled_steps_agree() {
	let mut vm = load("matmul");
	let trace = Trace::record(vm.clone(), 500_000, u64::MAX);
	vm.run_until(u64::MAX);
	assert_eq!(vm.cpu.exit, ExitStatus::Exited(algos::matmul_checksum(40)));
	assert_eq!(trace.final_step, vm.cpu.step);
	// Witnesses from checkpoints across the whole run verify to the next state.
	let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
	for _ in 0..64 {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		let n = x % trace.final_step;
		let w = trace.witness_at(n);
		assert_eq!(w.pre, trace.state_at(n));
		assert_eq!(verify_step(&w).unwrap(), trace.state_at(n + 1));
	}
}
