//! Benchmarks (frame-benchmarking v2) of every call, worst cases: the most task types,
//! a full provider list for `withdraw`'s list removal.

use super::*;
use crate::pallet::{Pallet as Providers, ProviderList};
use frame_benchmarking::v2::*;
use frame_support::{
	traits::{fungible::Mutate, Get},
	BoundedVec,
};
use frame_system::RawOrigin;
use sp_runtime::traits::Bounded;

fn funded<T: Config>(name: &'static str, i: u32) -> T::AccountId {
	let who: T::AccountId = account(name, i, 0);
	T::Currency::set_balance(&who, BalanceOf::<T>::max_value() / 1024u32.into());
	who
}

fn full_capacity<T: Config>() -> BoundedVec<Capacity, T::MaxTaskTypes> {
	(0..T::MaxTaskTypes::get())
		.map(|t| Capacity {
			task_type: t,
			units: 1_000,
		})
		.collect::<alloc::vec::Vec<_>>()
		.try_into()
		.expect("MaxTaskTypes entries fit")
}

fn registered<T: Config>(i: u32) -> T::AccountId {
	let who = funded::<T>("provider", i);
	Providers::<T>::register(
		RawOrigin::Signed(who.clone()).into(),
		T::MinBond::get(),
		full_capacity::<T>(),
		1_000u32.into(),
		100,
	)
	.expect("registers");
	who
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn register() {
		for i in 1..T::MaxProviders::get() {
			registered::<T>(i);
		}
		let who = funded::<T>("provider", 0);
		#[extrinsic_call]
		_(
			RawOrigin::Signed(who.clone()),
			T::MinBond::get(),
			full_capacity::<T>(),
			1_000u32.into(),
			100,
		);
		assert!(crate::pallet::Providers::<T>::contains_key(&who));
	}

	#[benchmark]
	fn update() {
		let who = registered::<T>(0);
		#[extrinsic_call]
		_(
			RawOrigin::Signed(who),
			full_capacity::<T>(),
			2_000u32.into(),
			7,
		);
	}

	#[benchmark]
	fn bond_extra() {
		let who = registered::<T>(0);
		#[extrinsic_call]
		_(RawOrigin::Signed(who), T::MinBond::get());
	}

	#[benchmark]
	fn unbond() {
		let who = registered::<T>(0);
		#[extrinsic_call]
		_(RawOrigin::Signed(who));
	}

	#[benchmark]
	fn withdraw() {
		let mut last = registered::<T>(0);
		for i in 1..T::MaxProviders::get() {
			last = registered::<T>(i);
		}
		Providers::<T>::unbond(RawOrigin::Signed(last.clone()).into()).expect("unbonds");
		frame_system::Pallet::<T>::set_block_number(
			frame_system::Pallet::<T>::block_number() + T::UnbondingPeriod::get(),
		);
		#[extrinsic_call]
		_(RawOrigin::Signed(last.clone()));
		assert!(!ProviderList::<T>::get().contains(&last));
	}

	impl_benchmark_test_suite!(Providers, crate::mock::new_test_ext(), crate::mock::Test);
}
