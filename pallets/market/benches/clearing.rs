//! Native timing of the clearing function at the runtime's bounds (256 tasks × 64
//! providers, 16 task types), against the budget of 10 % of a block's weight
//! (100 ms of the runtime's 1 s ref-time). The on-chain figure comes from the
//! frame-benchmarking `clear_round` benchmark, which adds storage and runs in WASM.
//!
//!     cargo bench -p pallet-opml-market --bench clearing

use pallet_opml_market::auction::*;
use std::time::Instant;

fn rng(s: &mut u64) -> u64 {
	*s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
	let mut z = *s;
	z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
	z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
	z ^ (z >> 31)
}

fn main() {
	let mut s = 1u64;
	let tie = |s: &mut u64| {
		let mut t = [0u8; 32];
		t[..8].copy_from_slice(&rng(s).to_le_bytes());
		t
	};
	for (nt, np, label) in [(256usize, 64usize, "bounds"), (64, 16, "small")] {
		let tasks: Vec<TaskBid> = (0..nt)
			.map(|_| TaskBid {
				task_type: (rng(&mut s) % 16) as u32,
				demand: 1 + (rng(&mut s) % 10) as u32,
				valuation: 1_000 + (rng(&mut s) % 100_000) as u128,
				redundancy: 1 + (rng(&mut s) % 8) as u32,
				priority: 0,
				tie: tie(&mut s),
			})
			.collect();
		let providers: Vec<ProviderAsk> = (0..np)
			.map(|_| ProviderAsk {
				capacity: (0..16)
					.map(|t| (t, 50 + (rng(&mut s) % 200) as u32))
					.collect(),
				unit_cost: 1 + (rng(&mut s) % 200) as u128,
				power: (rng(&mut s) % 1000) as u32,
				tie: tie(&mut s),
				stake: 100 + (rng(&mut s) % 1000) as u128,
			})
			.collect();
		for mode in [Mode::Midpoint, Mode::McAfee] {
			let runs = 50;
			let start = Instant::now();
			let mut wins = 0;
			for _ in 0..runs {
				wins = std::hint::black_box(clear(&tasks, &providers, mode, [7; 32]))
					.wins
					.len();
			}
			let per = start.elapsed().as_secs_f64() / runs as f64;
			println!(
				"{label}: {nt} tasks x {np} providers, {mode:?}: {:.3} ms per round natively, {wins} tasks won ({:.2} % of the 100 ms budget)",
				per * 1e3,
				per * 1e3 / 100.0 * 100.0
			);
		}
	}
}
