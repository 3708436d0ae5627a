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
