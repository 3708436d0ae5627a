//! Weights of pallet-opml-submissions.
//!
//! NOT YET GENERATED: hand-set upper estimates (storage reads/writes counted from the
//! code; execution time scaled with the work) until `benchmarking.rs` is run with the
//! benchmark CLI and this file is regenerated.

#![allow(unused_parens, unused_imports, missing_docs)]

use core::marker::PhantomData;
use frame_support::{traits::Get, weights::Weight};

/// Weight functions of this pallet.
pub trait WeightInfo {
	fn commit() -> Weight;
	fn reveal() -> Weight;
	fn reveal_chunk(l: u32) -> Weight;
	fn finish_reveal() -> Weight;
	fn tally(r: u32) -> Weight;
	fn finalize(r: u32) -> Weight;
	fn process_base() -> Weight;
}

/// Weights for the runtime.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	fn commit() -> Weight {
		Weight::from_parts(30_000_000, 2_000).saturating_add(T::DbWeight::get().reads_writes(1, 1))
	}
	fn reveal() -> Weight {
		Weight::from_parts(40_000_000, 2_000).saturating_add(T::DbWeight::get().reads_writes(1, 1))
	}
	fn reveal_chunk(l: u32) -> Weight {
		// BLAKE2b in WASM: ~10 ns/byte, doubled for safety
		Weight::from_parts(40_000_000 + 20 * l as u64, 2_000)
			.saturating_add(T::DbWeight::get().reads_writes(1, 1))
	}
	fn finish_reveal() -> Weight {
		Weight::from_parts(40_000_000, 2_000).saturating_add(T::DbWeight::get().reads_writes(1, 1))
	}
	fn tally(r: u32) -> Weight {
		Weight::from_parts(30_000_000 + 60_000_000 * r as u64, 10_000)
			.saturating_add(T::DbWeight::get().reads_writes(2 + 2 * r as u64, 2 + 2 * r as u64))
	}
	fn finalize(r: u32) -> Weight {
		Weight::from_parts(60_000_000 + 40_000_000 * r as u64, 10_000)
			.saturating_add(T::DbWeight::get().reads_writes(4 + 2 * r as u64, 4 + 2 * r as u64))
	}
	fn process_base() -> Weight {
		Weight::from_parts(5_000_000, 1_000).saturating_add(T::DbWeight::get().reads_writes(2, 1))
	}
}

/// For tests.
impl WeightInfo for () {
	fn commit() -> Weight {
		Weight::zero()
	}
	fn reveal() -> Weight {
		Weight::zero()
	}
	fn reveal_chunk(_: u32) -> Weight {
		Weight::zero()
	}
	fn finish_reveal() -> Weight {
		Weight::zero()
	}
	fn tally(_: u32) -> Weight {
		Weight::zero()
	}
	fn finalize(_: u32) -> Weight {
		Weight::zero()
	}
	fn process_base() -> Weight {
		Weight::zero()
	}
}
