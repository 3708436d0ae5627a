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

/// H3: a block counts on game clocks only if it leaves `RoomWeight` and `RoomLength`
/// free; those must fit every game move and a full reveal chunk, or an honest party
/// could be kept out of "counting" blocks.
#[test]
fn the_room_a_counting_block_leaves_fits_every_move_and_a_chunk() {
	use pallet_opml_arbitration::WeightInfo as A;
	use pallet_opml_submissions::WeightInfo as S;
	type Arb = <Runtime as pallet_opml_arbitration::Config>::WeightInfo;
	type Sub = <Runtime as pallet_opml_submissions::Config>::WeightInfo;
	let base = RuntimeBlockWeights::get()
		.get(frame_support::dispatch::DispatchClass::Normal)
		.base_extrinsic;
	let room = opml_runtime::configs::RoomWeight::get();
	let chunk = opml_runtime::configs::MAX_CHUNK_LEN;
	for (name, w) in [
		("challenge", Arb::challenge()),
		("post_states(15)", Arb::post_states(15)),
		("choose", Arb::choose()),
		("handoff", Arb::handoff()),
		("one_step", Arb::one_step()),
		("timeout", Arb::timeout()),
		("reveal", Sub::reveal()),
		("reveal_chunk(max)", Sub::reveal_chunk(chunk)),
		("finish_reveal", Sub::finish_reveal()),
	] {
		// ref time only: blocks have no proof-size limit (a solochain, u64::MAX)
		assert!(
			(w + base).ref_time() <= room.ref_time(),
			"{name}: {w:?} + base does not fit the room {room:?}"
		);
	}
	let len = opml_runtime::configs::ROOM_LENGTH as usize;
	// the largest move or chunk plus an extrinsic's envelope (signature, extensions)
	for (name, bytes) in [
		(
			"handoff",
			pallet_opml_arbitration::MAX_HANDOFF_BYTES as usize,
		),
		(
			"one_step",
			pallet_opml_arbitration::MAX_WITNESS_BYTES as usize,
		),
		("reveal_chunk", chunk as usize),
	] {
		assert!(
			bytes + 1024 <= len,
			"{name}: {bytes} bytes do not fit {len}"
		);
	}
}

/// H3: filling a block's `Normal` length costs real money now, whatever the call (the
/// review's filler: a transfer to a 3.9 MB `MultiAddress::Raw`, which fails at lookup
/// but paid 1 planck per byte).
#[test]
fn stuffing_a_block_by_length_costs_at_least_a_third_of_a_unit() {
	use frame_support::dispatch::{DispatchClass, DispatchInfo, Pays};
	sp_io::TestExternalities::default().execute_with(|| {
		let info = DispatchInfo {
			call_weight: Weight::from_parts(100_000_000, 0),
			extension_weight: Weight::zero(),
			class: DispatchClass::Normal,
			pays_fee: Pays::Yes,
		};
		let fee = pallet_transaction_payment::Pallet::<Runtime>::compute_fee(3_900_000, &info, 0);
		println!(
			"fee of a 3.9 MB filler: {:.3} UNIT",
			fee as f64 / opml_runtime::UNIT as f64
		);
		assert!(fee >= opml_runtime::UNIT / 3, "fee {fee}");
	});
}
