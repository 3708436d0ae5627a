//! The pallet's logic: creating jobs, submitting rounds, advancing from final results,
//! cancelling, and the invariants.

use crate::{pallet::*, types::*};
use alloc::vec::Vec;
use frame_support::{
	pallet_prelude::*,
	traits::{
		fungible::{InspectHold, MutateHold},
		tokens::Precision,
	},
	BoundedVec,
};
use pallet_opml_market::{ModelId, TaskSubmitter};
use pallet_opml_submissions::{types::ShapeMismatch, FinalResults};
use sp_core::H256;
use sp_runtime::traits::{CheckedMul, Saturating, Zero};

impl<T: Config> Pallet<T> {
	fn hold_reason() -> T::RuntimeHoldReason {
		HoldReason::JobBudget.into()
	}

	pub(crate) fn do_create_job(owner: T::AccountId, spec: JobSpecOf<T>) -> DispatchResult {
		let JobSpec {
			pools,
			aggregator,
			params,
			params_len,
			rounds,
			redundancy,
			deadline,
			valuation,
		} = spec;
		ensure!(
			!pools.is_empty()
				&& (1..=T::MaxRounds::get()).contains(&rounds)
				&& params_len >= 8
				&& params_len.is_power_of_two()
				&& !valuation.is_zero(),
			Error::<T>::BadJob
		);
		let tasks = (pools.len() as u32)
			.saturating_add(1)
			.saturating_mul(rounds);
		let budget = valuation
			.checked_mul(&tasks.into())
			.ok_or(Error::<T>::InsufficientBalance)?;
		T::Currency::hold(&Self::hold_reason(), &owner, budget)
			.map_err(|_| Error::<T>::InsufficientBalance)?;
		let id = NextJobId::<T>::get();
		NextJobId::<T>::put(id.saturating_add(1));
		// 8 i32s = one 32-byte leaf
		let params_height = (params_len / 8).trailing_zeros();
		let mut job = Job {
			owner: owner.clone(),
			pools: pools.clone(),
			aggregator,
			params_height,
			params,
			rounds,
			round: 0,
			redundancy,
			deadline,
			valuation,
			budget,
			phase: Phase::Finished,
		};
		Self::deposit_event(Event::JobCreated {
			job: id,
			owner,
			pools: pools.len() as u32,
			rounds,
			budget,
		});
		Self::start_round(id, &mut job)?;
		Jobs::<T>::insert(id, job);
		Ok(())
	}

	/// Move one task's valuation from the budget hold to the market, submitting the
	/// task.
	fn submit(job: &mut JobOf<T>, model: ModelId, input: H256) -> Result<TaskId, DispatchError> {
		T::Currency::release(
			&Self::hold_reason(),
			&job.owner,
			job.valuation,
			Precision::Exact,
		)?;
		job.budget = job.budget.saturating_sub(job.valuation);
		T::Tasks::submit(
			&job.owner,
			model,
			input,
			job.valuation,
			job.redundancy,
			job.deadline,
		)
	}

	/// Submit the current round's pool tasks.
	fn start_round(id: JobId, job: &mut JobOf<T>) -> DispatchResult {
		let mut tasks = BoundedVec::new();
		let params = job.params;
		for model in job.pools.clone() {
			let task = Self::submit(job, model, params)?;
			// one per pool: fits
			let _ = tasks.try_push(task);
		}
		job.phase = Phase::Training {
			tasks: tasks.clone(),
		};
		Self::deposit_event(Event::RoundStarted {
			job: id,
			round: job.round,
			params: job.params,
			tasks,
		});
		Ok(())
	}

	/// The output root proved in `task`'s final result: at the slot of the model's
	/// last node (not merely a slot after which all are empty, L7), of a parameter
	/// vector's length (`32 · 2^params_height` bytes, M6).
	fn final_output(
		task: TaskId,
		out: &OutputProof,
		params_height: u32,
	) -> Result<H256, DispatchError> {
		let (result, commitment) = T::Results::final_result(task).ok_or(Error::<T>::NotFinal)?;
		let bytes = 32u64
			.checked_shl(params_height)
			.ok_or(Error::<T>::BadOutputLength)?;
		let slot = out
			.shape
			.output_slot(&commitment, bytes)
			.map_err(|e| match e {
				ShapeMismatch::Shape => Error::<T>::BadOutputShape,
				ShapeMismatch::Length => Error::<T>::BadOutputLength,
			})?;
		let proof = opml_nn::commit::state_slot_proof(slot, out.siblings.iter().map(|h| h.0));
		ensure!(
			opml_nn::commit::verify_output_root(&result.0, &out.root.0, &proof),
			Error::<T>::BadOutputProof
		);
		Ok(out.root)
	}

	pub(crate) fn do_advance(
		id: JobId,
		outputs: BoundedVec<OutputProof, T::MaxPools>,
	) -> DispatchResult {
		let mut job = Jobs::<T>::get(id).ok_or(Error::<T>::UnknownJob)?;
		match job.phase.clone() {
			Phase::Finished => return Err(Error::<T>::Finished.into()),
			Phase::Training { tasks } => {
				ensure!(outputs.len() == tasks.len(), Error::<T>::WrongProofCount);
				let roots = tasks
					.iter()
					.zip(outputs.iter())
					.map(|(&t, o)| Self::final_output(t, o, job.params_height).map(|r| r.0))
					.collect::<Result<Vec<_>, _>>()?;
				let input = opml_nn::commit::stacked_root(&roots, job.params_height)
					.map_err(|_| Error::<T>::BadOutputProof)?;
				let aggregator = job.aggregator;
				let task = Self::submit(&mut job, aggregator, H256(input))?;
				job.phase = Phase::Aggregating { task };
				Self::deposit_event(Event::Aggregating {
					job: id,
					round: job.round,
					task,
					input: H256(input),
				});
			}
			Phase::Aggregating { task } => {
				let [out] = outputs.as_slice() else {
					return Err(Error::<T>::WrongProofCount.into());
				};
				job.params = Self::final_output(task, out, job.params_height)?;
				Self::deposit_event(Event::RoundFinished {
					job: id,
					round: job.round,
					params: job.params,
				});
				job.round = job.round.saturating_add(1);
				if job.round >= job.rounds {
					job.phase = Phase::Finished;
					Self::deposit_event(Event::JobFinished {
						job: id,
						params: job.params,
					});
				} else {
					Self::start_round(id, &mut job)?;
				}
			}
		}
		Jobs::<T>::insert(id, job);
		Ok(())
	}

	pub(crate) fn do_cancel_job(who: T::AccountId, id: JobId) -> DispatchResult {
		let job = Jobs::<T>::get(id).ok_or(Error::<T>::UnknownJob)?;
		ensure!(job.owner == who, Error::<T>::NotOwner);
		let released = T::Currency::release(
			&Self::hold_reason(),
			&who,
			job.budget,
			Precision::BestEffort,
		)?;
		Jobs::<T>::remove(id);
		Self::deposit_event(Event::JobCancelled { job: id, released });
		Ok(())
	}

	/// Invariants: each owner's budget hold is the sum of its jobs' budgets; a job's
	/// round is within its rounds (equal only when finished); a finished job has no
	/// budget left; a training phase has one task per pool.
	pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
		use alloc::collections::btree_map::BTreeMap;
		let mut held: BTreeMap<T::AccountId, BalanceOf<T>> = BTreeMap::new();
		for (_, job) in Jobs::<T>::iter() {
			let h = held.entry(job.owner.clone()).or_insert_with(Zero::zero);
			*h = h.saturating_add(job.budget);
			match &job.phase {
				Phase::Finished => ensure!(
					job.round == job.rounds && job.budget.is_zero(),
					"finished job with rounds or budget left"
				),
				Phase::Training { tasks } => ensure!(
					tasks.len() == job.pools.len() && job.round < job.rounds,
					"training phase without one task per pool"
				),
				Phase::Aggregating { .. } => {
					ensure!(job.round < job.rounds, "aggregating past the last round")
				}
			}
		}
		for (who, budget) in held {
			ensure!(
				T::Currency::balance_on_hold(&Self::hold_reason(), &who) == budget,
				"budget hold differs from the jobs' budgets"
			);
		}
		Ok(())
	}
}

use pallet_opml_market::TaskId;
