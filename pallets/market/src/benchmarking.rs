//! Benchmarks (frame-benchmarking v2) of every call and of clearing a round at the
//! bounds (`clear_round(t, p)`: `t` open tasks, `p` providers, every task won).

use super::*;
use crate::pallet::{CurrentRound, Pallet as Market, Stores};
use alloc::vec;
use frame_benchmarking::v2::*;
use frame_support::{
	traits::{fungible::Mutate, Get},
	BoundedVec,
};
use frame_system::RawOrigin;
use pallet_opml_providers::{Capacity, ProviderRegistry};
use sp_core::H256;
use sp_runtime::traits::Bounded;

fn funded<T: Config>(name: &'static str, i: u32) -> T::AccountId {
	let who: T::AccountId = account(name, i, 0);
	T::Currency::set_balance(&who, BalanceOf::<T>::max_value() / 1024u32.into());
	who
}

/// The signer of a benchmarked call: whitelisted, because the transaction's fee
/// payment has already read and written its `System::Account` in the same block.
fn funded_caller<T: Config>() -> T::AccountId {
	let who: T::AccountId = whitelisted_caller();
	T::Currency::set_balance(&who, BalanceOf::<T>::max_value() / 1024u32.into());
	who
}

fn model<T: Config>() -> ModelId {
	let owner = funded::<T>("owner", 0);
	Market::<T>::register_model(
		RawOrigin::Signed(owner).into(),
		H256::repeat_byte(1),
		H256::repeat_byte(2),
		1,
		BoundedVec::truncate_from(vec![0u8; T::MaxMetadataLen::get() as usize]),
	)
	.expect("registers");
	crate::pallet::NextModelId::<T>::get() - 1
}

fn task<T: Config>(who: &T::AccountId, m: ModelId, r: u8) -> TaskId {
	Market::<T>::submit_task(
		RawOrigin::Signed(who.clone()).into(),
		m,
		TaskInput::Inline(BoundedVec::truncate_from(vec![
			7u8;
			T::MaxInlineInput::get()
				as usize
		])),
		1,
		1_000_000u32.into(),
		r,
		T::MinDeadline::get(),
	)
	.expect("submits");
	Market::<T>::next_task_id() - 1
}

fn providers<T: Config>(m: ModelId, p: u32) {
	for i in 0..p {
		let who: T::AccountId = account("provider", i, 0);
		provider::<T>(&who, m, 1 + i);
	}
}

/// The secret of the benchmarks' seed commitments.
fn secret() -> H256 {
	H256::repeat_byte(9)
}

/// Register `who` with capacity for `m` and commit it to [`secret`].
fn provider<T: Config>(who: &T::AccountId, m: ModelId, cost: u32) {
	T::Providers::register_for_benchmark(
		who,
		vec![Capacity {
			task_type: m,
			units: 1_000_000,
		}],
		cost.into(),
	)
	.expect("provider registers");
	crate::pallet::SeedCommits::<T>::insert(
		who,
		SeedCommit {
			commitment: seed_commitment(&secret()),
			index: 0,
		},
	);
}

/// Mark every ask of the round revealing seeds as revealed (what `reveal_seed` calls
/// would have done).
fn reveal_all<T: Config>() {
	CurrentRound::<T>::mutate(|r| {
		if let Some(r) = r {
			for a in r.asks.iter_mut() {
				a.revealed = true;
			}
		}
	});
}

/// Start a round, reveal every seed, seed and clear it (one block's worth).
fn run_round<T: Config>() {
	Market::<T>::step_round();
	reveal_all::<T>();
	Market::<T>::step_round();
}

/// The largest graph the `register_model` benchmark builds: `MAX_NODES` nodes of
/// [`relu_chain`] (bigger graphs have bigger nodes, less work per byte).
const REGISTRATION_BENCH_BYTES: u32 = 200_000;

/// A model whose graph is a chain of rank-4 `Relu` nodes encoding to about `bytes`
/// bytes (at most `MAX_NODES` nodes): its commitment, `SCALE(graph)` and siblings.
fn relu_chain(bytes: u32) -> (H256, vec::Vec<u8>, vec::Vec<H256>) {
	use opml_nn::types::*;
	let x = TensorDesc::i8(&[2, 2, 2, 2], 0.05);
	let node = |j: usize| Node {
		op: Op::Relu,
		inputs: vec![NodeInput {
			source: Source::Slot(j as u16),
			desc: x.clone(),
		}],
		output: x.clone(),
	};
	let per = codec::Encode::encoded_size(&node(0)).max(1);
	let n = (bytes as usize / per).clamp(1, MAX_NODES);
	let model = Model {
		graph: Graph {
			input: x.clone(),
			nodes: (0..n).map(node).collect(),
		},
		weights: vec::Vec::new(),
	};
	let commitment = opml_nn::commit::model_commitment(&model).unwrap_or_default();
	let (graph, siblings) = opml_nn::registration::graph_registration(&model).unwrap_or_default();
	(
		H256(commitment),
		graph,
		siblings.into_iter().map(H256).collect(),
	)
}

#[benchmarks]
mod benchmarks {
	use super::*;

	/// `g` bytes of graph: a chain of rank-4 `Relu` nodes, the smallest nodes (so the
	/// most per-node checking and hashing per byte), as many as fit.
	#[benchmark]
	fn register_model(
		m: Linear<0, { T::MaxMetadataLen::get() }>,
		g: Linear<64, { REGISTRATION_BENCH_BYTES }>,
	) {
		let owner = funded::<T>("owner", 0);
		let (commitment, graph, siblings) = relu_chain(g);
		#[extrinsic_call]
		_(
			RawOrigin::Signed(owner),
			commitment,
			H256::repeat_byte(2),
			1,
			BoundedVec::truncate_from(vec![0u8; m as usize]),
			BoundedVec::truncate_from(graph),
			BoundedVec::truncate_from(siblings),
		);
	}

	#[benchmark]
	fn deregister_model() {
		let m = model::<T>();
		let owner: T::AccountId = account("owner", 0, 0);
		#[extrinsic_call]
		_(RawOrigin::Signed(owner), m);
	}

	#[benchmark]
	fn submit_task() {
		let m = model::<T>();
		let who = funded_caller::<T>();
		for _ in 1..T::MaxOpenTasks::get() {
			task::<T>(&who, m, 1);
		}
		#[extrinsic_call]
		_(
			RawOrigin::Signed(who),
			m,
			TaskInput::Inline(BoundedVec::truncate_from(vec![
				7u8;
				T::MaxInlineInput::get()
					as usize
			])),
			1,
			1_000_000u32.into(),
			T::MaxRedundancy::get() as u8,
			T::MinDeadline::get(),
		);
	}

	#[benchmark]
	fn cancel_task() {
		let m = model::<T>();
		let who = funded_caller::<T>();
		let mut last = 0;
		for _ in 0..T::MaxOpenTasks::get() {
			last = task::<T>(&who, m, 1);
		}
		#[extrinsic_call]
		_(RawOrigin::Signed(who), last);
	}

	#[benchmark]
	fn expire(n: Linear<1, { T::MaxDeadlinesPerBlock::get() }>) {
		let m = model::<T>();
		providers::<T>(m, T::MaxRedundancy::get());
		let who = funded::<T>("requester", 0);
		for _ in 0..n {
			task::<T>(&who, m, T::MaxRedundancy::get() as u8);
		}
		run_round::<T>();
		let due = frame_system::Pallet::<T>::block_number() + T::MinDeadline::get();
		frame_system::Pallet::<T>::set_block_number(due);
		crate::pallet::DeadlineCursor::<T>::put(due);
		#[block]
		{
			Market::<T>::process_deadlines(n);
		}
	}

	#[benchmark]
	fn clear_round(
		t: Linear<1, { T::MaxOpenTasks::get() }>,
		p: Linear<1, { T::MaxProviders::get() }>,
	) {
		let m = model::<T>();
		providers::<T>(m, p);
		let who = funded::<T>("requester", 0);
		for _ in 0..t {
			task::<T>(&who, m, 1);
		}
		// the snapshot and the step that seeds and clears the round, which the hook
		// each charges `clear_round(t, p)`: measured together, an upper bound of both
		#[block]
		{
			run_round::<T>();
		}
		assert!(CurrentRound::<T>::get().is_none() || t > T::MaxTasksPerBlock::get());
	}

	#[benchmark]
	fn commit_seed() {
		let m = model::<T>();
		let who = funded_caller::<T>();
		provider::<T>(&who, m, 1);
		#[extrinsic_call]
		_(RawOrigin::Signed(who), H256::repeat_byte(3), 1);
	}

	#[benchmark]
	fn reveal_seed() {
		// the caller's ask is the last of a full round
		let m = model::<T>();
		providers::<T>(m, T::MaxProviders::get() - 1);
		let who = funded_caller::<T>();
		provider::<T>(&who, m, 1);
		let requester = funded::<T>("requester", 0);
		task::<T>(&requester, m, 1);
		Market::<T>::step_round();
		let round = CurrentRound::<T>::get().expect("a round revealing").index;
		#[extrinsic_call]
		_(
			RawOrigin::Signed(who.clone()),
			round,
			secret(),
			H256::repeat_byte(4),
		);
		assert_eq!(
			crate::pallet::SeedCommits::<T>::get(&who).map(|c| c.index),
			Some(1)
		);
	}

	#[benchmark]
	fn forget_seed() {
		let who: T::AccountId = account("gone", 0, 0);
		crate::pallet::SeedCommits::<T>::insert(
			&who,
			SeedCommit {
				commitment: H256::repeat_byte(3),
				index: 0,
			},
		);
		let caller = funded_caller::<T>();
		#[extrinsic_call]
		_(RawOrigin::Signed(caller), who.clone());
		assert!(!crate::pallet::SeedCommits::<T>::contains_key(&who));
	}

	#[benchmark]
	fn seed_round(p: Linear<1, { T::MaxProviders::get() }>) {
		// every provider of the round withholds its secret: each is slashed
		let m = model::<T>();
		providers::<T>(m, p);
		let who = funded::<T>("requester", 0);
		task::<T>(&who, m, 1);
		Market::<T>::step_round();
		let end = frame_system::Pallet::<T>::block_number() + T::SeedRevealPeriod::get();
		frame_system::Pallet::<T>::set_block_number(end);
		#[block]
		{
			Market::<T>::step_round();
		}
		assert!(CurrentRound::<T>::get().is_none());
	}

	#[benchmark]
	fn announce_store() {
		let who = funded::<T>("store", 0);
		let mut url = b"http://".to_vec();
		url.resize(T::MaxStoreUrlLen::get() as usize, b'a');
		let url: BoundedVec<u8, T::MaxStoreUrlLen> = BoundedVec::truncate_from(url);
		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()), url);
		assert!(Stores::<T>::contains_key(&who));
	}

	#[benchmark]
	fn withdraw_store() {
		let who = funded::<T>("store", 0);
		Market::<T>::announce_store(
			RawOrigin::Signed(who.clone()).into(),
			BoundedVec::truncate_from(b"http://store.example:8000".to_vec()),
		)
		.expect("announces");
		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()));
		assert!(!Stores::<T>::contains_key(&who));
	}

	impl_benchmark_test_suite!(Market, crate::mock::new_test_ext(), crate::mock::Test);
}
