//! Benchmarks (frame-benchmarking v2) of every call (`reveal_chunk` as a function of
//! the chunk length) and of the agenda's work items: `tally(r)` and `finalize(r)` for a
//! pool of `r` providers at their worst case, and the agenda's fixed cost.

use super::*;
use crate::pallet::Pallet as Submissions;
use alloc::{vec, vec::Vec};
use frame_benchmarking::v2::*;
use frame_support::{traits::Get, BoundedVec};
use frame_system::RawOrigin;
use opml_primitives_core::{commitment::result_commitment, merkle::bytes_root, ZERO_HASH};
use pallet_opml_market::{TaskId, TaskSettlement};
use pallet_opml_providers::{Capacity, ProviderRegistry};
use sp_core::H256;

fn providers<T: Config>(r: u32) -> Vec<T::AccountId> {
	(0..r)
		.map(|i| {
			let who: T::AccountId = account("provider", i, 0);
			T::Providers::register_for_benchmark(
				&who,
				vec![Capacity {
					task_type: 0,
					units: 1_000_000,
				}],
				1u32.into(),
			)
			.expect("provider registers");
			who
		})
		.collect()
}

/// A task assigned to `r` registered providers; its pool is open.
fn pool<T: Config>(r: u32) -> (TaskId, Vec<T::AccountId>) {
	let ps = providers::<T>(r);
	let task = T::Market::assigned_for_benchmark(&ps).expect("task assigned");
	(task, ps)
}

/// Make `task`'s model a one-node graph with an int8 output of `len` bytes; its shape
/// proof.
fn one_node_model<T: Config>(task: TaskId, len: u32) -> ShapeProof {
	let model = opml_nn::commit::shape_fixture(&[len]);
	let c = opml_nn::commit::model_commitment(&model).expect("a small model");
	T::Market::set_commitment_for_benchmark(task, H256(c));
	ShapeProof::from_proof(&opml_nn::commit::output_proof(&model).expect("one node"))
}

fn commitment<T: Config>(task: TaskId, who: &T::AccountId, result: H256) -> H256 {
	H256(result_commitment(task, who, &result.0, &[7u8; 32]))
}

fn do_commit_as<T: Config>(task: TaskId, who: &T::AccountId, result: H256) {
	Submissions::<T>::commit(
		RawOrigin::Signed(who.clone()).into(),
		task,
		commitment::<T>(task, who, result),
	)
	.expect("commits");
}

fn to_reveal_window<T: Config>(task: TaskId) {
	let p = Pools::<T>::get(task).expect("pool");
	frame_system::Pallet::<T>::set_block_number(p.commit_end);
}

/// A task of `r` providers that all committed and revealed `result`, tallied: the
/// result is pending.
fn elected<T: Config>(r: u32, result: H256) -> (TaskId, Vec<T::AccountId>) {
	let (task, ps) = pool::<T>(r);
	for p in &ps {
		do_commit_as::<T>(task, p, result);
	}
	to_reveal_window::<T>(task);
	for p in &ps {
		Submissions::<T>::reveal(RawOrigin::Signed(p.clone()).into(), task, result, [7u8; 32])
			.expect("reveals");
	}
	let p = Pools::<T>::get(task).expect("pool");
	frame_system::Pallet::<T>::set_block_number(p.reveal_end);
	Submissions::<T>::tally(task, p);
	(task, ps)
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn commit() {
		let (task, ps) = pool::<T>(T::MaxRedundancy::get());
		let who = ps.last().expect("r > 0").clone();
		let c = commitment::<T>(task, &who, H256::repeat_byte(1));
		#[extrinsic_call]
		_(RawOrigin::Signed(who), task, c);
		assert!(<Submissions<T> as pallet_opml_market::DeliveryCheck<
			_,
			_,
		>>::delivered(task, &ps[ps.len() - 1]));
	}

	#[benchmark]
	fn reveal() {
		let (task, ps) = pool::<T>(T::MaxRedundancy::get());
		let who = ps.last().expect("r > 0").clone();
		do_commit_as::<T>(task, &who, H256::repeat_byte(1));
		to_reveal_window::<T>(task);
		#[extrinsic_call]
		_(
			RawOrigin::Signed(who),
			task,
			H256::repeat_byte(1),
			[7u8; 32],
		);
	}

	#[benchmark]
	fn reveal_chunk(l: Linear<1, { T::MaxChunkLen::get() }>) {
		let (task, ps) = pool::<T>(T::MaxRedundancy::get());
		let who = ps.last().expect("r > 0").clone();
		do_commit_as::<T>(task, &who, H256::repeat_byte(1));
		to_reveal_window::<T>(task);
		#[extrinsic_call]
		_(RawOrigin::Signed(who), task, 0, vec![5u8; l as usize]);
	}

	/// The largest payload (`MaxPayloadChunks` chunks) with a short last chunk: the
	/// most chunk roots to combine.
	#[benchmark]
	fn finish_reveal() {
		let (task, ps) = pool::<T>(T::MaxRedundancy::get());
		let who = ps.last().expect("r > 0").clone();
		let max = T::MaxChunkLen::get() as usize;
		let n = T::MaxPayloadChunks::get() as usize;
		let mut payload = vec![5u8; max * (n - 1) + 1];
		payload[0] = 1;
		let (g, proof) = opml_nn::commit::one_node_result(ZERO_HASH, bytes_root(&payload).0)
			.expect("a one-node state");
		let h = H256(g);
		do_commit_as::<T>(task, &who, h);
		to_reveal_window::<T>(task);
		for (i, c) in payload.chunks(max).enumerate() {
			Submissions::<T>::reveal_chunk(
				RawOrigin::Signed(who.clone()).into(),
				task,
				i as u32,
				c.to_vec(),
			)
			.expect("chunk");
		}
		let siblings: Vec<H256> = proof.siblings.iter().map(|s| H256(*s)).collect();
		let shape = one_node_model::<T>(task, payload.len() as u32);
		#[extrinsic_call]
		_(
			RawOrigin::Signed(who),
			task,
			[7u8; 32],
			h,
			shape,
			BoundedVec::truncate_from(siblings),
		);
	}

	/// A pool of `r`: a bare majority reveals, everyone else committed without
	/// revealing (each slashed).
	#[benchmark]
	fn tally(r: Linear<1, { T::MaxRedundancy::get() }>) {
		let (task, ps) = pool::<T>(r);
		let result = H256::repeat_byte(1);
		for p in &ps {
			do_commit_as::<T>(task, p, result);
		}
		to_reveal_window::<T>(task);
		for p in ps.iter().take(r as usize / 2 + 1) {
			Submissions::<T>::reveal(RawOrigin::Signed(p.clone()).into(), task, result, [7u8; 32])
				.expect("reveals");
		}
		let p = Pools::<T>::get(task).expect("pool");
		frame_system::Pallet::<T>::set_block_number(p.reveal_end);
		#[block]
		{
			Submissions::<T>::tally(task, p);
		}
		assert!(<Submissions<T> as PendingResults<_>>::pending(task).is_some());
	}

	/// Settling a pool of `r` that all revealed the elected result.
	#[benchmark]
	fn finalize(r: Linear<1, { T::MaxRedundancy::get() }>) {
		let (task, _) = elected::<T>(r, H256::repeat_byte(1));
		let p = Pools::<T>::get(task).expect("pending");
		if let Phase::Pending { until, .. } = p.phase {
			frame_system::Pallet::<T>::set_block_number(until);
		}
		#[block]
		{
			Submissions::<T>::finalize(task, p);
		}
		assert!(Results::<T>::get(task).is_some());
	}

	/// Publishing an output of `l` bytes for a pending result of the largest pool.
	#[benchmark]
	fn publish_output(l: Linear<1, { T::MaxOutputLen::get() }>) {
		let output = vec![3u8; l as usize];
		let states = opml_nn::commit::GraphStates::new(vec![
			[1u8; 32],
			opml_nn::commit::tensor_root(&output).0,
		])
		.expect("two slots");
		let result = H256(states.result_root());
		let siblings: Vec<H256> = states
			.output_proof()
			.expect("proof")
			.siblings
			.into_iter()
			.map(H256)
			.collect();
		let (task, ps) = elected::<T>(T::MaxRedundancy::get(), result);
		let siblings = frame_support::BoundedVec::truncate_from(siblings);
		let shape = one_node_model::<T>(task, l);
		#[extrinsic_call]
		_(
			RawOrigin::Signed(ps[0].clone()),
			task,
			output,
			shape,
			siblings,
		);
		assert!(Outputs::<T>::get(task).is_some());
	}

	/// The agenda's fixed cost: one empty block walked.
	#[benchmark]
	fn process_base() {
		let now = frame_system::Pallet::<T>::block_number();
		AgendaCursor::<T>::put(now);
		#[block]
		{
			Submissions::<T>::process(1);
		}
	}

	impl_benchmark_test_suite!(Submissions, crate::mock::new_test_ext(), crate::mock::Test);
}
