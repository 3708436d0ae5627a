//! Weights of pallet-opml-market.
//!
//! NOT YET GENERATED: hand-set upper estimates (storage reads/writes counted from the
//! code; execution time scaled with the work) until `benchmarking.rs` is run with the
//! benchmark CLI and this file is regenerated (see the market issue's note).

#![allow(unused_parens, unused_imports, missing_docs)]

use core::marker::PhantomData;
use frame_support::{traits::Get, weights::Weight};

/// Weight functions of this pallet.
pub trait WeightInfo {
	fn register_model(m: u32) -> Weight;
	fn deregister_model() -> Weight;
	fn submit_task() -> Weight;
	fn cancel_task() -> Weight;
	fn expire(n: u32) -> Weight;
	fn clear_round(t: u32, p: u32) -> Weight;
}

/// Weights for the runtime.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	fn register_model(m: u32) -> Weight {
		Weight::from_parts(60_000_000 + 2_000 * m as u64, 4_000)
			.saturating_add(T::DbWeight::get().reads_writes(3, 3))
	}
	fn deregister_model() -> Weight {
		Weight::from_parts(50_000_000, 4_000).saturating_add(T::DbWeight::get().reads_writes(2, 2))
	}
	fn submit_task() -> Weight {
		Weight::from_parts(70_000_000, 20_000).saturating_add(T::DbWeight::get().reads_writes(5, 5))
	}
	fn cancel_task() -> Weight {
		Weight::from_parts(60_000_000, 40_000).saturating_add(T::DbWeight::get().reads_writes(4, 3))
	}
	fn expire(n: u32) -> Weight {
		Weight::from_parts(20_000_000, 4_000)
			.saturating_add(Weight::from_parts(150_000_000, 20_000).saturating_mul(n as u64))
			.saturating_add(T::DbWeight::get().reads_writes(2 + 8 * n as u64, 2 + 8 * n as u64))
	}
	fn clear_round(t: u32, p: u32) -> Weight {
		Weight::from_parts(50_000_000, 100_000)
			.saturating_add(Weight::from_parts(200_000 * p as u64, 0).saturating_mul(t as u64))
			.saturating_add(
				T::DbWeight::get().reads_writes(4 + t as u64 + 2 * p as u64, 4 + 3 * t as u64),
			)
	}
}

impl WeightInfo for () {
	fn register_model(_m: u32) -> Weight {
		Weight::from_parts(60_000_000, 4_000)
	}
	fn deregister_model() -> Weight {
		Weight::from_parts(50_000_000, 4_000)
	}
	fn submit_task() -> Weight {
		Weight::from_parts(70_000_000, 20_000)
	}
	fn cancel_task() -> Weight {
		Weight::from_parts(60_000_000, 40_000)
	}
	fn expire(n: u32) -> Weight {
		Weight::from_parts(150_000_000 * n as u64, 20_000)
	}
	fn clear_round(t: u32, p: u32) -> Weight {
		Weight::from_parts(200_000 * (t as u64) * (p as u64), 100_000)
	}
}
