//! Weights of pallet-opml-providers.
//!
//! NOT YET GENERATED: these are hand-set upper estimates (storage reads/writes counted
//! from the code, 50 µs of execution each) until `benchmarking.rs` is run with the
//! benchmark CLI and this file is regenerated (see the market issue's note).

#![allow(unused_parens, unused_imports, missing_docs)]

use core::marker::PhantomData;
use frame_support::{traits::Get, weights::Weight};

/// Weight functions of this pallet.
pub trait WeightInfo {
	fn register() -> Weight;
	fn update() -> Weight;
	fn bond_extra() -> Weight;
	fn unbond() -> Weight;
	fn withdraw() -> Weight;
}

/// Weights for the runtime (database weights of `T`).
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	fn register() -> Weight {
		Weight::from_parts(50_000_000, 4_000).saturating_add(T::DbWeight::get().reads_writes(4, 4))
	}
	fn update() -> Weight {
		Weight::from_parts(50_000_000, 2_000).saturating_add(T::DbWeight::get().reads_writes(1, 1))
	}
	fn bond_extra() -> Weight {
		Weight::from_parts(50_000_000, 2_000).saturating_add(T::DbWeight::get().reads_writes(3, 3))
	}
	fn unbond() -> Weight {
		Weight::from_parts(50_000_000, 2_000).saturating_add(T::DbWeight::get().reads_writes(1, 1))
	}
	fn withdraw() -> Weight {
		Weight::from_parts(50_000_000, 40_000).saturating_add(T::DbWeight::get().reads_writes(4, 4))
	}
}

impl WeightInfo for () {
	fn register() -> Weight {
		Weight::from_parts(50_000_000, 4_000)
	}
	fn update() -> Weight {
		Weight::from_parts(50_000_000, 2_000)
	}
	fn bond_extra() -> Weight {
		Weight::from_parts(50_000_000, 2_000)
	}
	fn unbond() -> Weight {
		Weight::from_parts(50_000_000, 2_000)
	}
	fn withdraw() -> Weight {
		Weight::from_parts(50_000_000, 40_000)
	}
}
