//! The generated weights against the runtime's limits: clearing an auction round at
//! the maximum bounds (256 tasks × 64 providers) within 10 % of a block, the
//! dispute-game moves and the chunked reveal. Figures are printed (`--nocapture`)
//! for docs/benchmarks.md.

use frame_support::weights::Weight;
use opml_runtime::{configs::RuntimeBlockWeights, Runtime};

fn pct(w: Weight, of: Weight) -> f64 {
	100.0 * w.ref_time() as f64 / of.ref_time() as f64
}

#[test]
fn clearing_the_largest_round_fits_in_a_tenth_of_a_block() {
	use pallet_opml_market::WeightInfo;
	let block = RuntimeBlockWeights::get().max_block;
	let w = <Runtime as pallet_opml_market::Config>::WeightInfo::clear_round(256, 64);
	println!(
		"clear_round(256, 64): {:.2} ms = {:.2} % of the block",
		w.ref_time() as f64 / 1e9,
		pct(w, block)
	);
	assert!(
		w.ref_time() * 10 <= block.ref_time(),
		"{w:?} > 10 % of {block:?}"
	);
}

#[test]
fn dispute_moves_and_chunk_reveals_are_small_fractions_of_a_block() {
	use pallet_opml_arbitration::WeightInfo as A;
	use pallet_opml_submissions::WeightInfo as S;
	type Arb = <Runtime as pallet_opml_arbitration::Config>::WeightInfo;
	type Sub = <Runtime as pallet_opml_submissions::Config>::WeightInfo;
	let block = RuntimeBlockWeights::get().max_block;
	for (name, w) in [
		("challenge", Arb::challenge()),
		("post_states(15)", Arb::post_states(15)),
		("choose", Arb::choose()),
		("handoff", Arb::handoff()),
		("one_step", Arb::one_step()),
		("timeout", Arb::timeout()),
		("reveal_chunk(512 KiB)", Sub::reveal_chunk(512 * 1024)),
		("tally(8)", Sub::tally(8)),
		("finalize(8)", Sub::finalize(8)),
	] {
		println!(
			"{name}: {:.3} ms ({:.3} % of the block), proof {} bytes",
			w.ref_time() as f64 / 1e9,
			pct(w, block),
			w.proof_size()
		);
		assert!(w.ref_time() * 20 <= block.ref_time(), "{name}: {w:?}");
	}
	// chunks per block by weight (normal class, 75 %) vs by length (7 × 512 KiB)
	let chunk = Sub::reveal_chunk(512 * 1024).ref_time();
	let by_weight = (block.ref_time() * 3 / 4) / chunk;
	println!("512 KiB chunks per block by weight: {by_weight} (by length: 7)");
	assert!(by_weight >= 7);
}
