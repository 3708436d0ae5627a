//! VM figures (printed, not asserted): fast-mode speed, proof and witness sizes,
//! witness generation deep in a long run. Run: `cargo bench -p opml-vm --bench vm`.

use codec::Encode;
use opml_vm::{elf, fast::Trace};
use std::time::Instant;

fn load_matmul(rounds: u32) -> opml_vm::fast::FastVm {
	let path = format!(
		"{}/tests/elf/matmul.elf",
		std::env::var("CARGO_MANIFEST_DIR")
			.expect("cargo sets CARGO_MANIFEST_DIR")
			.as_str()
	);
	let mut vm = elf::parse(&std::fs::read(path).unwrap()).unwrap().load();
	vm.cpu.regs[10] = rounds;
	vm
}

fn main() {
	// 1. Fast mode speed (best of 3 runs of ~5M steps).
	let mut best = 0f64;
	let mut steps = 0;
	for _ in 0..3 {
		let mut vm = load_matmul(40);
		let t = Instant::now();
		vm.run_until(u64::MAX);
		let s = t.elapsed().as_secs_f64();
		steps = vm.cpu.step;
		best = best.max(vm.cpu.step as f64 / s);
	}
	println!(
		"fast mode: {:.1} M instructions/s ({} steps of matmul, best of 3)",
		best / 1e6,
		steps
	);

	// 2. Proof and witness sizes over sampled steps.
	let trace = Trace::record(load_matmul(40), 1_000_000, u64::MAX);
	let (mut max_proof, mut max_witness) = (0usize, 0usize);
	for k in 0..200u64 {
		let w = trace.witness_at(k * (trace.final_step / 200));
		for p in &w.proofs {
			max_proof = max_proof.max(p.encode().len());
		}
		max_witness = max_witness.max(w.encode().len());
	}
	println!("proof per memory access: {max_proof} bytes; largest step witness: {max_witness} bytes (200 sampled steps)");

	// 3. Witness at step 10^8 of a long run, checkpoints every 10^7 steps.
	let vm = load_matmul(800);
	let t = Instant::now();
	let trace = Trace::record(vm, 10_000_000, 200_000_000);
	let rec = t.elapsed().as_secs_f64();
	// Worst case: one step before a checkpoint, so almost a whole interval is replayed.
	for n in [100_000_000u64, 99_999_999] {
		let t = Instant::now();
		let w = trace.witness_at(n);
		let gen = t.elapsed().as_secs_f64();
		assert_eq!(w.pre.step, n);
		println!(
			"witness at step {n}: {:.3} s (checkpoint interval 1e7; recording the {}-step run took {:.1} s)",
			gen, trace.final_step, rec
		);
	}
}
