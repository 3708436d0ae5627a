//! The review's H4 measurement (docs/security.md, docs/benchmarks.md): what it costs a
//! party to play the VM game of one heavy node. A one-node model (a fully connected
//! layer 4096 → N, batch 1, random int8 weights) is run by `Party::node_game` (the
//! trace the defender hands off from and both sides answer from) and then dissected
//! as a whole game would be: every round's 15 state hashes down to one step, and the
//! step's witness. Prints the node's steps, the wall times, the process's peak RSS
//! (`VmHWM`) and what they extrapolate to at `MAX_NODE_STEPS` against the clock.
//!
//!     cargo bench -p opml-dispute --bench node_game            # N = 4000 (~80 M steps)
//!     OPML_NODE_OUTPUTS=1000 cargo bench -p opml-dispute --bench node_game
//!
//! One node per process, so that the peak RSS is this game's.

use opml_dispute::party::Party;
use opml_nn::{layout::MAX_NODE_STEPS, vm::Guest, zoo, Prepared, TensorData};
use std::time::Instant;

/// Peak resident set size of this process, in MiB (`VmHWM` of /proc/self/status).
fn peak_rss_mib() -> f64 {
	std::fs::read_to_string("/proc/self/status")
		.ok()
		.and_then(|s| {
			s.lines()
				.find(|l| l.starts_with("VmHWM:"))
				.and_then(|l| l.split_whitespace().nth(1))
				.and_then(|kb| kb.parse::<f64>().ok())
		})
		.map_or(f64::NAN, |kb| kb / 1024.0)
}

fn main() {
	// cargo bench passes `--bench`; nothing else to parse
	let outputs: u32 = std::env::var("OPML_NODE_OUTPUTS")
		.ok()
		.and_then(|v| v.parse().ok())
		.unwrap_or(4000);
	let model = Prepared::new(zoo::mlp(&[4096, outputs], 1)).expect("a valid one-node model");
	let input = TensorData::I8((0..4096).map(|i| (i % 251) as i8 - 125).collect());
	let guest = Guest::builtin().expect("the checked-in guest");
	let rss_before = peak_rss_mib();
	let t = Instant::now();
	let party = Party::honest(&guest, &model, &input).expect("the VM runs the model");
	let run_s = t.elapsed().as_secs_f64();
	let t = Instant::now();
	let mut game = party.node_game(1).expect("the node's trace");
	let record_s = t.elapsed().as_secs_f64();
	let steps = game.steps();
	let rss_trace = peak_rss_mib();
	// the dissection: 15 hashes per round over [a, b] until one step is left, the
	// challenger's pick always the first sub-interval past the middle (a full depth)
	let t = Instant::now();
	let (mut a, mut b, mut rounds) = (0u64, steps, 0u32);
	while b - a > 1 {
		let hashes = game.hashes(a, b, 16);
		let points = opml_dispute::rules::split(a, b, 16).expect("a split");
		let c = (points.len() / 2).min(points.len() - 2);
		(a, b) = (points[c], points[c + 1]);
		rounds += 1;
		std::hint::black_box(hashes);
	}
	let witness = game.witness(a);
	let dissect_s = t.elapsed().as_secs_f64();
	let rss_game = peak_rss_mib();
	// a node at the bound: the trace grows with the steps; each state hash of a round
	// recomputes at most T / 128 steps from a checkpoint (MAX_CHECKPOINTS thinning)
	// and Merkleizes the touched memory (as measured here, per hash)
	let speed = steps as f64 / record_s;
	let hashes = f64::from(rounds * 15);
	let per_hash = dissect_s / hashes;
	let t = MAX_NODE_STEPS as f64;
	let rounds_max = (t.log2() / 4.0).ceil();
	let at_bound = t / speed + rounds_max * 15.0 * (t / 128.0 / speed + per_hash);
	println!(
		"one FC node 4096 -> {outputs}: {steps} VM steps ({:.1} M)",
		steps as f64 / 1e6
	);
	println!("  whole-model VM run (Party::honest): {run_s:.2} s");
	println!(
		"  node_game trace record: {record_s:.2} s ({:.0} M steps/s)",
		steps as f64 / record_s / 1e6
	);
	println!(
		"  dissection: {rounds} rounds of 15 state hashes + a {} B witness: {dissect_s:.2} s",
		witness.len()
	);
	println!(
		"  peak RSS: {rss_before:.0} MiB before, {rss_trace:.0} MiB after the trace, \
		 {rss_game:.0} MiB after the game"
	);
	println!(
		"  per state hash: {:.0} ms; at MAX_NODE_STEPS (2^34 = {:.1} G steps): trace {:.0} s \
		 + {rounds_max} rounds x 15 hashes ~ {at_bound:.0} s for one side",
		per_hash * 1e3,
		t / 1e9,
		t / speed
	);
}
