//! # pallet-opml-training
//!
//! Federated training jobs (docs/federated.md; the protocol of Bouchet et al. on top of
//! OPML's optimistic tasks). A job trains one model over `P` pools for `rounds` rounds:
//!
//! 1. **Round `k`**: for each pool, a market task of the pool's training model
//!    (`opml_nn::fl::training_model`: the round's SGD graph over that pool's shard,
//!    which the model commitment binds) on the round's parameters, with redundancy
//!    `r`. The submissions pallet runs the Bouchet protocol for it: the `r` members
//!    commit, then reveal the result with the update in chunks (a small update may
//!    instead be revealed by root and published with `publish_output`); the strict
//!    majority is
//!    elected, dissent goes to the dispute game, no-shows are slashed, the majority is
//!    paid at settlement.
//! 2. **Aggregation**: once every pool's result is final, anyone calls
//!    [`Pallet::advance`] with each update's root proved in its result; the chain stacks
//!    them (`opml_nn::commit::stacked_root`, no bytes needed) and submits a task of the
//!    federated-averaging model on the stack — an optimistic, disputable computation
//!    like any other.
//! 3. Once the aggregate is final, [`Pallet::advance`] with its output root proved
//!    starts round `k + 1` from it; after the last round the job is finished and its
//!    `params` are the trained model's root (its bytes published with the
//!    aggregation's result, in chunks or with `publish_output`).
//!
//! The whole budget (`valuation × (P + 1) × rounds`) is held from the owner when the job
//! is created; each task's valuation moves from that hold to the market's escrow when
//! the task is submitted, and what was not spent comes back on cancellation.
//!
//! ## Calls
//! - [`Pallet::create_job`], [`Pallet::cancel_job`]: signed, the owner.
//! - [`Pallet::advance`]: signed, anyone (the owner's daemon, any provider).
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;
pub use types::*;
pub use weights::WeightInfo;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
mod impls;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;
pub mod types;
pub mod weights;

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use frame_support::{
		pallet_prelude::*,
		traits::fungible::{Inspect, InspectHold, Mutate, MutateHold},
	};
	use frame_system::pallet_prelude::*;
	use pallet_opml_market::TaskSubmitter;
	use pallet_opml_submissions::FinalResults;
	use sp_core::H256;

	/// Balance type.
	pub type BalanceOf<T> =
		<<T as Config>::Currency as Inspect<<T as frame_system::Config>::AccountId>>::Balance;
	/// A job as stored.
	pub type JobOf<T> =
		Job<<T as frame_system::Config>::AccountId, BalanceOf<T>, <T as Config>::MaxPools>;
	/// A job's specification.
	pub type JobSpecOf<T> = JobSpec<BalanceOf<T>, <T as Config>::MaxPools>;

	#[pallet::pallet]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config: frame_system::Config<RuntimeEvent: From<Event<Self>>> {
		/// The currency the budget is held in.
		type Currency: Inspect<Self::AccountId>
			+ InspectHold<Self::AccountId, Reason = Self::RuntimeHoldReason>
			+ Mutate<Self::AccountId>
			+ MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;
		/// The runtime's hold reasons.
		type RuntimeHoldReason: From<HoldReason>;
		/// The market, which takes the job's tasks.
		type Tasks: TaskSubmitter<Self::AccountId, BalanceOf<Self>>;
		/// The submissions pallet, which tells final results.
		type Results: FinalResults;
		/// Most pools of a job.
		#[pallet::constant]
		type MaxPools: Get<u32>;
		/// Most rounds of a job.
		#[pallet::constant]
		type MaxRounds: Get<u32>;
		/// Weights.
		type WeightInfo: WeightInfo;
	}

	/// Why this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// A job's budget for the tasks it has not submitted yet.
		JobBudget,
	}

	/// The next job id.
	#[pallet::storage]
	pub type NextJobId<T> = StorageValue<_, JobId, ValueQuery>;

	/// Jobs, until their owner removes them (`cancel_job`, for finished jobs too).
	#[pallet::storage]
	pub type Jobs<T: Config> = StorageMap<_, Twox64Concat, JobId, JobOf<T>>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A job was created and its budget held.
		JobCreated {
			/// The job.
			job: JobId,
			/// Its owner.
			owner: T::AccountId,
			/// Number of pools.
			pools: u32,
			/// Number of rounds.
			rounds: u32,
			/// The budget held.
			budget: BalanceOf<T>,
		},
		/// A round's pool tasks were submitted.
		RoundStarted {
			/// The job.
			job: JobId,
			/// The round (0-based).
			round: u32,
			/// The parameters' root it starts from.
			params: H256,
			/// The tasks, in pool order.
			tasks: BoundedVec<TaskId, T::MaxPools>,
		},
		/// Every pool's update is final; the federated-averaging task was submitted.
		Aggregating {
			/// The job.
			job: JobId,
			/// The round.
			round: u32,
			/// The aggregation task.
			task: TaskId,
			/// The root of the stacked updates (its input).
			input: H256,
		},
		/// A round's aggregate is final.
		RoundFinished {
			/// The job.
			job: JobId,
			/// The round.
			round: u32,
			/// The aggregated parameters' root.
			params: H256,
		},
		/// The last round is done.
		JobFinished {
			/// The job.
			job: JobId,
			/// The trained parameters' root.
			params: H256,
		},
		/// The owner cancelled the job; tasks already submitted run their course.
		JobCancelled {
			/// The job.
			job: JobId,
			/// The budget released.
			released: BalanceOf<T>,
		},
	}

	#[pallet::error]
	pub enum Error<T> {
		/// No pools, more rounds than `MaxRounds` or none, a parameter length that is not
		/// a power of two of at least 8, or a zero valuation.
		BadJob,
		/// The owner cannot afford the budget (or it overflows).
		InsufficientBalance,
		/// No such job.
		UnknownJob,
		/// Only the owner may do this.
		NotOwner,
		/// The job is finished.
		Finished,
		/// A task of the current phase has no final result yet.
		NotFinal,
		/// The number of output proofs is not one per task of the phase.
		WrongProofCount,
		/// An output proof does not open the task's final result.
		BadOutputProof,
		/// An output proof's shape does not open the commitment of the model that
		/// computed the task's final result (L7).
		BadOutputShape,
		/// The proven output is not a parameter vector of the job's length (M6).
		BadOutputLength,
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Create a job and start its first round; the budget
		/// `valuation × (pools + 1) × rounds` is held.
		///
		/// - `origin`: signed, the owner (pays).
		/// - `spec`: the pools' models, the aggregator, the initial parameters' root and
		///   length, rounds, redundancy, deadline and valuation per task ([`JobSpec`]).
		///
		/// Emits [`Event::JobCreated`] and [`Event::RoundStarted`].
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::create_job(spec.pools.len() as u32))]
		pub fn create_job(origin: OriginFor<T>, spec: JobSpecOf<T>) -> DispatchResult {
			let owner = ensure_signed(origin)?;
			Self::do_create_job(owner, spec)
		}

		/// Move a job on once its current tasks are final: from the pools' updates to
		/// the aggregation task, or from the aggregate to the next round (or the end).
		///
		/// - `origin`: signed, anyone.
		/// - `job`: the job.
		/// - `outputs`: the output root of each task of the phase, proved in its final
		///   result (pool order while training; one while aggregating).
		///
		/// Emits [`Event::Aggregating`], or [`Event::RoundFinished`] then
		/// [`Event::RoundStarted`] or [`Event::JobFinished`].
		#[pallet::call_index(1)]
		#[pallet::weight(
			T::WeightInfo::advance_training(outputs.len() as u32)
				.max(T::WeightInfo::advance_aggregating(T::MaxPools::get()))
		)]
		pub fn advance(
			origin: OriginFor<T>,
			job: JobId,
			outputs: BoundedVec<OutputProof, T::MaxPools>,
		) -> DispatchResult {
			ensure_signed(origin)?;
			Self::do_advance(job, outputs)
		}

		/// Cancel a job: no more tasks are submitted and the rest of the budget is
		/// released; tasks already submitted run their course. A finished job is
		/// removed the same way.
		///
		/// - `origin`: signed by the owner.
		/// - `job`: the job.
		///
		/// Emits [`Event::JobCancelled`].
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::cancel_job())]
		pub fn cancel_job(origin: OriginFor<T>, job: JobId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_cancel_job(who, job)
		}
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn integrity_test() {
			assert!(T::MaxPools::get() > 0 && T::MaxRounds::get() > 0);
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	use pallet_opml_market::TaskId;
}
