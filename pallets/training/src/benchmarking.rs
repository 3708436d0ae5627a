//! Benchmarks (frame-benchmarking v2) of every call at its worst case for `p` pools:
//! creating a job (`p` task submissions), advancing from the pools' updates (`p` proofs
//! and the aggregation task), advancing from an aggregate (one proof and the next
//! round's `p` tasks), cancelling.

use super::*;
use crate::pallet::Pallet as Training;
use alloc::{vec, vec::Vec};
use frame_benchmarking::v2::*;
use frame_support::{
	traits::{fungible::Mutate, Get},
	BoundedVec,
};
use frame_system::RawOrigin;
use pallet_opml_market::{ModelId, TaskSubmitter};
use pallet_opml_submissions::FinalResults;
use sp_core::H256;
use sp_runtime::traits::Bounded;

fn owner<T: Config>() -> T::AccountId {
	let who: T::AccountId = whitelisted_caller();
	T::Currency::set_balance(&who, BalanceOf::<T>::max_value() / 1024u32.into());
	who
}

fn models<T: Config>(p: u32) -> (Vec<ModelId>, ModelId) {
	let pools = (0..p)
		.map(|_| T::Tasks::model_for_benchmark().expect("model"))
		.collect();
	(pools, T::Tasks::model_for_benchmark().expect("model"))
}

fn spec<T: Config>(pools: Vec<ModelId>, aggregator: ModelId, rounds: u32) -> JobSpecOf<T> {
	JobSpec {
		pools: BoundedVec::truncate_from(pools),
		aggregator,
		params: H256::repeat_byte(3),
		params_len: 1 << 16,
		rounds,
		redundancy: 1,
		deadline: 10,
		valuation: 1_000_000u32.into(),
	}
}

fn job<T: Config>(p: u32, rounds: u32) -> (T::AccountId, JobId) {
	let who = owner::<T>();
	let (pools, agg) = models::<T>(p);
	let id = NextJobId::<T>::get();
	Training::<T>::create_job(
		RawOrigin::Signed(who.clone()).into(),
		spec::<T>(pools, agg, rounds),
	)
	.expect("job");
	(who, id)
}

/// Make the phase's tasks final with one-node results (of a model whose one node
/// outputs a parameter vector) and return the proofs.
fn finalize<T: Config>(id: JobId, byte: u8) -> Vec<OutputProof> {
	let job = Jobs::<T>::get(id).expect("job");
	let tasks: Vec<_> = match job.phase {
		Phase::Training { tasks } => tasks.to_vec(),
		Phase::Aggregating { task } => vec![task],
		Phase::Finished => vec![],
	};
	let model = opml_nn::commit::shape_fixture(&[32u32 << job.params_height]);
	let commitment = H256(opml_nn::commit::model_commitment(&model).expect("fixture"));
	let shape = pallet_opml_submissions::types::ShapeProof::from_proof(
		&opml_nn::commit::output_proof(&model).expect("one node"),
	);
	tasks
		.iter()
		.enumerate()
		.map(|(i, &t)| {
			let out = [byte.wrapping_add(i as u8); 32];
			let (g, proof) = opml_nn::commit::one_node_result(job.params.0, out).expect("one node");
			T::Results::set_final_for_benchmark(t, H256(g), commitment);
			OutputProof {
				root: H256(out),
				shape: shape.clone(),
				siblings: BoundedVec::truncate_from(
					proof.siblings.into_iter().map(H256).collect::<Vec<_>>(),
				),
			}
		})
		.collect()
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn create_job(p: Linear<1, { T::MaxPools::get() }>) {
		let who = owner::<T>();
		let (pools, agg) = models::<T>(p);
		#[extrinsic_call]
		_(
			RawOrigin::Signed(who),
			spec::<T>(pools, agg, T::MaxRounds::get()),
		);
		assert!(Jobs::<T>::contains_key(0));
	}

	#[benchmark]
	fn advance_training(p: Linear<1, { T::MaxPools::get() }>) {
		let (_, id) = job::<T>(p, 2);
		let proofs = finalize::<T>(id, 0x40);
		#[extrinsic_call]
		advance(
			RawOrigin::Signed(account("anyone", 0, 0)),
			id,
			BoundedVec::truncate_from(proofs),
		);
		assert!(matches!(
			Jobs::<T>::get(id).expect("job").phase,
			Phase::Aggregating { .. }
		));
	}

	#[benchmark]
	fn advance_aggregating(p: Linear<1, { T::MaxPools::get() }>) {
		let (_, id) = job::<T>(p, 2);
		let proofs = finalize::<T>(id, 0x40);
		Training::<T>::advance(
			RawOrigin::Signed(account("anyone", 0, 0)).into(),
			id,
			BoundedVec::truncate_from(proofs),
		)
		.expect("aggregating");
		let proofs = finalize::<T>(id, 0x80);
		#[extrinsic_call]
		advance(
			RawOrigin::Signed(account("anyone", 0, 0)),
			id,
			BoundedVec::truncate_from(proofs),
		);
		assert_eq!(Jobs::<T>::get(id).expect("job").round, 1);
	}

	#[benchmark]
	fn cancel_job() {
		let (who, id) = job::<T>(T::MaxPools::get(), T::MaxRounds::get());
		#[extrinsic_call]
		_(RawOrigin::Signed(who), id);
		assert!(!Jobs::<T>::contains_key(id));
	}

	impl_benchmark_test_suite!(Training, crate::mock::new_test_ext(), crate::mock::Test);
}
