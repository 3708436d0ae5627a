//! Weights of pallet-opml-arbitration.
//!
//! NOT YET GENERATED: hand-set upper estimates (storage reads/writes counted from the
//! code; execution time scaled with the work: Merkle proofs of depth ≤ 27, one VM step)
//! until `benchmarking.rs` is run with the benchmark CLI and this file is regenerated.

#![allow(unused_parens, unused_imports, missing_docs)]

use core::marker::PhantomData;
use frame_support::{traits::Get, weights::Weight};

/// Weight functions of this pallet.
pub trait WeightInfo {
	fn challenge() -> Weight;
	fn post_states(n: u32) -> Weight;
	fn choose() -> Weight;
	fn handoff(l: u32) -> Weight;
	fn one_step() -> Weight;
	fn timeout() -> Weight;
	fn confirm_audit() -> Weight;
	fn audit_miss() -> Weight;
	fn audit_draw() -> Weight;
}

/// Weights for the runtime.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	fn challenge() -> Weight {
		Weight::from_parts(120_000_000, 10_000)
			.saturating_add(T::DbWeight::get().reads_writes(8, 8))
	}
	fn post_states(n: u32) -> Weight {
		Weight::from_parts(40_000_000 + 500_000 * n as u64, 4_000)
			.saturating_add(T::DbWeight::get().reads_writes(1, 1))
	}
	fn choose() -> Weight {
		Weight::from_parts(40_000_000, 4_000).saturating_add(T::DbWeight::get().reads_writes(1, 1))
	}
	fn handoff(l: u32) -> Weight {
		// up to ~40 Merkle paths of depth ≤ 27 and the memory-map roots, plus resolution
		Weight::from_parts(300_000_000 + 20_000 * l as u64, 20_000)
			.saturating_add(T::DbWeight::get().reads_writes(12, 12))
	}
	fn one_step() -> Weight {
		// two depth-27 Merkle paths, one VM step, two state hashes, plus resolution
		Weight::from_parts(250_000_000, 20_000)
			.saturating_add(T::DbWeight::get().reads_writes(12, 12))
	}
	fn timeout() -> Weight {
		Weight::from_parts(200_000_000, 20_000)
			.saturating_add(T::DbWeight::get().reads_writes(12, 12))
	}
	fn confirm_audit() -> Weight {
		Weight::from_parts(30_000_000, 4_000).saturating_add(T::DbWeight::get().reads_writes(1, 1))
	}
	fn audit_miss() -> Weight {
		Weight::from_parts(5_000_000, 1_000).saturating_add(T::DbWeight::get().reads_writes(2, 0))
	}
	fn audit_draw() -> Weight {
		Weight::from_parts(80_000_000, 10_000).saturating_add(T::DbWeight::get().reads_writes(6, 2))
	}
}

/// For tests.
impl WeightInfo for () {
	fn challenge() -> Weight {
		Weight::zero()
	}
	fn post_states(_: u32) -> Weight {
		Weight::zero()
	}
	fn choose() -> Weight {
		Weight::zero()
	}
	fn handoff(_: u32) -> Weight {
		Weight::zero()
	}
	fn one_step() -> Weight {
		Weight::zero()
	}
	fn timeout() -> Weight {
		Weight::zero()
	}
	fn confirm_audit() -> Weight {
		Weight::zero()
	}
	fn audit_miss() -> Weight {
		Weight::zero()
	}
	fn audit_draw() -> Weight {
		Weight::zero()
	}
}
