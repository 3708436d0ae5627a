//! The pallets benchmarked by `frame-omni-bencher` / `benchmark pallet` (feature
//! `runtime-benchmarks`).

frame_benchmarking::define_benchmarks!(
	[frame_benchmarking, BaselineBench::<Runtime>]
	[frame_system, SystemBench::<Runtime>]
	[pallet_balances, Balances]
	[pallet_timestamp, Timestamp]
	[pallet_sudo, Sudo]
	[pallet_utility, Utility]
	[pallet_opml_providers, Providers]
	[pallet_opml_market, Market]
	[pallet_opml_submissions, Submissions]
	[pallet_opml_arbitration, Arbitration]
	[pallet_opml_training, Training]
);

impl frame_system_benchmarking::Config for crate::Runtime {}
impl frame_benchmarking::baseline::Config for crate::Runtime {}
