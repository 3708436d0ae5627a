//! The runtime's periods against each other: a finality stall (M3) counts on the clocks
//! for at most `MaxFinalityLag` blocks while the daemons, which act on finalized
//! blocks, see nothing, so every window a daemon must act in is longer.

use frame_support::traits::Get;
use opml_runtime::Runtime;

#[test]
fn every_window_outlasts_the_finality_lag() {
	let lag: u32 = <Runtime as pallet_opml_submissions::Config>::MaxFinalityLag::get();
	let windows: [(&str, u32); 6] = [
		(
			"market MinDeadline",
			<Runtime as pallet_opml_market::Config>::MinDeadline::get(),
		),
		(
			"market SeedRevealPeriod",
			<Runtime as pallet_opml_market::Config>::SeedRevealPeriod::get(),
		),
		(
			"submissions RevealPeriod",
			<Runtime as pallet_opml_submissions::Config>::RevealPeriod::get(),
		),
		(
			"submissions ChallengePeriod",
			<Runtime as pallet_opml_submissions::Config>::ChallengePeriod::get(),
		),
		(
			"arbitration ClockBudget",
			<Runtime as pallet_opml_arbitration::Config>::ClockBudget::get(),
		),
		(
			"arbitration AuditPeriod",
			<Runtime as pallet_opml_arbitration::Config>::AuditPeriod::get(),
		),
	];
	for (name, blocks) in windows {
		println!("{name}: {blocks} blocks (MaxFinalityLag {lag})");
		assert!(
			blocks >= 2 * lag,
			"{name} ({blocks}) is not twice MaxFinalityLag ({lag})"
		);
	}
}

/// H4: an honest side can play a whole game over a node at `MaxNodeSteps` within its
/// clock, with twice the time to spare. The cost model is the one measured by
/// `cargo bench -p opml-dispute --bench node_game` on the project's 2-core machines
/// (docs/benchmarks.md, 2026-12-01): the node's trace at 93 M VM steps/s, then per
/// round of the VM dissection 15 state hashes, each recomputing at most `T / 128` steps
/// from a checkpoint and Merkleizing the node's memory (107 ms for a node that touched
/// 16 MiB, the largest tensor).
#[test]
fn the_clock_covers_a_game_over_a_node_at_the_step_bound() {
	const TRACE_STEPS_PER_S: f64 = 93e6;
	const MERKLE_S_PER_HASH: f64 = 0.107;
	let steps: u64 = <Runtime as pallet_opml_arbitration::Config>::MaxNodeSteps::get();
	let steps = steps as f64;
	let fanout: u32 = <Runtime as pallet_opml_arbitration::Config>::Fanout::get();
	let fanout = f64::from(fanout);
	let rounds = (steps.ln() / fanout.ln()).ceil();
	let one_side = steps / TRACE_STEPS_PER_S
		+ rounds * (fanout - 1.0) * (steps / 128.0 / TRACE_STEPS_PER_S + MERKLE_S_PER_HASH);
	let clock: u32 = <Runtime as pallet_opml_arbitration::Config>::ClockBudget::get();
	let clock_s = f64::from(clock) * opml_runtime::MILLI_SECS_PER_BLOCK as f64 / 1e3;
	println!(
		"a game over a node at {steps:.3e} steps: {one_side:.0} s per side; clock {clock_s:.0} s"
	);
	assert!(
		clock_s >= 2.0 * one_side,
		"clock {clock_s} s < 2 x {one_side:.0} s"
	);
}
