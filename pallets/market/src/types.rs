//! Types of pallet-opml-market.
// The `*NoBound` derives repeat the generic bounds in where-clauses.
#![allow(clippy::multiple_bound_locations)]

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::{pallet_prelude::*, BoundedVec};
use frame_support::{CloneNoBound, DebugNoBound, EqNoBound, PartialEqNoBound};
use scale_info::TypeInfo;
use sp_core::H256;
use sp_runtime::DispatchResult;

/// A registered model's id (also its task type).
pub type ModelId = u32;
/// A task's id.
pub type TaskId = u64;

/// The task counters ([`crate::pallet::TaskCounts`]).
#[derive(
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
	Default,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
	MaxEncodedLen,
)]
pub struct TaskCounter {
	/// The id the next submitted task gets.
	pub next: TaskId,
	/// Tasks in the open book ([`crate::pallet::OpenTasks`]).
	pub open: u32,
}

/// A registered model (DESIGN.md §3).
#[derive(
	CloneNoBound,
	PartialEqNoBound,
	EqNoBound,
	DebugNoBound,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
	MaxEncodedLen,
)]
#[scale_info(skip_type_params(MaxMeta))]
pub struct ModelInfo<
	AccountId: Clone + PartialEq + Eq + core::fmt::Debug,
	Balance: Clone + PartialEq + Eq + core::fmt::Debug,
	MaxMeta: Get<u32>,
> {
	/// Who registered it (and holds its deposit).
	pub owner: AccountId,
	/// Model commitment: BMT over the graph root and weight roots.
	pub commitment: H256,
	/// Root of the VM program (guest) region the model runs under.
	pub program_root: H256,
	/// Units of work one task of this model demands from one provider, at least.
	pub weight: u32,
	/// Free-form metadata (name, input format, URL of the model file).
	pub metadata: BoundedVec<u8, MaxMeta>,
	/// Deposit held from the owner.
	pub deposit: Balance,
}

/// A file store: an HTTP base URL serving model files and task inputs by root.
#[derive(
	CloneNoBound,
	PartialEqNoBound,
	EqNoBound,
	DebugNoBound,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
	MaxEncodedLen,
)]
#[scale_info(skip_type_params(MaxUrl))]
pub struct StoreInfo<Balance: Clone + PartialEq + Eq + core::fmt::Debug, MaxUrl: Get<u32>> {
	/// The base URL (`http://host:port/path`).
	pub url: BoundedVec<u8, MaxUrl>,
	/// Deposit held from the account.
	pub deposit: Balance,
}

/// Whether `url` is a store URL the chain accepts: `http://` or `https://`, then a
/// non-empty rest of printable ASCII without spaces, `?` or `#` (a daemon appends
/// `/<hex>.opml` to it, so a query or fragment would break the file's address).
pub fn valid_store_url(url: &[u8]) -> bool {
	let rest = url
		.strip_prefix(b"https://")
		.or_else(|| url.strip_prefix(b"http://"));
	match rest {
		Some(rest) => {
			!rest.is_empty()
				&& rest[0] != b'/'
				&& rest
					.iter()
					.all(|&b| (0x21..=0x7e).contains(&b) && b != b'?' && b != b'#')
		}
		None => false,
	}
}

/// A task's input: a root of data held off chain, or small inline bytes.
#[derive(
	CloneNoBound,
	PartialEqNoBound,
	EqNoBound,
	DebugNoBound,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
	MaxEncodedLen,
)]
#[scale_info(skip_type_params(MaxInline))]
pub enum TaskInput<MaxInline: Get<u32>> {
	/// Tensor root of the input (the bytes are published off chain).
	Root(H256),
	/// The input's canonical bytes.
	Inline(BoundedVec<u8, MaxInline>),
}

/// Where a task is in its life.
#[derive(
	CloneNoBound,
	PartialEqNoBound,
	EqNoBound,
	DebugNoBound,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
	MaxEncodedLen,
)]
#[scale_info(skip_type_params(MaxR))]
pub enum TaskStatus<
	AccountId: Clone + PartialEq + Eq + core::fmt::Debug,
	Balance: Clone + PartialEq + Eq + core::fmt::Debug,
	BlockNumber: Clone + PartialEq + Eq + core::fmt::Debug,
	MaxR: Get<u32>,
> {
	/// Waiting for an auction round.
	Open,
	/// Won in a round: computed by `providers` (each paid its amount on settlement)
	/// until `due`.
	Assigned {
		/// Last block for the providers' results.
		due: BlockNumber,
		/// `(provider, payment)`: distinct providers, `redundancy` of them.
		providers: BoundedVec<(AccountId, Balance), MaxR>,
		/// What the requester pays in total on settlement (≤ valuation).
		price: Balance,
	},
}

/// A task.
#[derive(
	CloneNoBound,
	PartialEqNoBound,
	EqNoBound,
	DebugNoBound,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
	MaxEncodedLen,
)]
#[scale_info(skip_type_params(MaxInline, MaxR))]
pub struct TaskInfo<
	AccountId: Clone + PartialEq + Eq + core::fmt::Debug,
	Balance: Clone + PartialEq + Eq + core::fmt::Debug,
	BlockNumber: Clone + PartialEq + Eq + core::fmt::Debug,
	MaxInline: Get<u32>,
	MaxR: Get<u32>,
> {
	/// Who submitted it (and whose escrow pays for it).
	pub requester: AccountId,
	/// The model to run.
	pub model: ModelId,
	/// The model's commitment at submission (disputes need it even if the model is
	/// deregistered meanwhile).
	pub commitment: H256,
	/// The model's program root at submission.
	pub program_root: H256,
	/// The input.
	pub input: TaskInput<MaxInline>,
	/// Units of work per provider.
	pub demand: u32,
	/// The most the requester pays (for all providers together); held in escrow.
	pub valuation: Balance,
	/// Distinct providers that compute it.
	pub redundancy: u8,
	/// Blocks the providers have after assignment.
	pub deadline: BlockNumber,
	/// Times it went back to auction (ahead of equal-density tasks).
	pub priority: u32,
	/// Status.
	pub status: TaskStatus<AccountId, Balance, BlockNumber, MaxR>,
	/// While open, the task leaves the book unassigned at this block (its escrow is
	/// refunded, its book deposit burned: H5).
	pub open_until: BlockNumber,
	/// The book deposit held until the task is first assigned (refunded then; burned
	/// if the task leaves the book unassigned, by cancellation or expiry).
	pub book_deposit: Balance,
}

/// A task's bid as snapshotted for a round.
#[derive(
	CloneNoBound,
	PartialEqNoBound,
	EqNoBound,
	DebugNoBound,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
	MaxEncodedLen,
)]
pub struct BidRecord<Balance: Clone + PartialEq + Eq + core::fmt::Debug> {
	/// The task.
	pub task: TaskId,
	/// Its model.
	pub task_type: ModelId,
	/// Units per provider.
	pub demand: u32,
	/// Valuation.
	pub valuation: Balance,
	/// Redundancy.
	pub redundancy: u8,
	/// Re-auction priority.
	pub priority: u32,
}

/// A provider's ask as snapshotted for a round.
#[derive(
	CloneNoBound,
	PartialEqNoBound,
	EqNoBound,
	DebugNoBound,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
	MaxEncodedLen,
)]
#[scale_info(skip_type_params(MaxTypes))]
pub struct AskRecord<
	AccountId: Clone + PartialEq + Eq + core::fmt::Debug,
	Balance: Clone + PartialEq + Eq + core::fmt::Debug,
	MaxTypes: Get<u32>,
> {
	/// The provider.
	pub who: AccountId,
	/// `(task type, units)` for this round (remaining units while the round clears).
	pub capacity: BoundedVec<(u32, u32), MaxTypes>,
	/// Unit cost.
	pub unit_cost: Balance,
	/// Power term.
	pub power: u32,
	/// Its bond at the snapshot: its weight in the round's seat draws.
	pub stake: Balance,
	/// The seed commitment it must open in the round's reveal phase (H2).
	pub seed: SeedCommit,
	/// Whether it opened the commitment.
	pub revealed: bool,
}

/// A provider's seed commitment ([`crate::pallet::SeedCommits`]): the hash of a
/// secret it reveals in the next round it takes part in (docs/security.md H2).
#[derive(
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
	MaxEncodedLen,
)]
pub struct SeedCommit {
	/// [`seed_commitment`] of the secret.
	pub commitment: H256,
	/// The provider's own counter of its secrets (for a daemon that derives its
	/// secrets from its key: which one this is); not interpreted on chain, except that
	/// a reveal moves it on by one.
	pub index: u32,
}

/// Where a round is.
#[derive(
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
	MaxEncodedLen,
)]
pub enum RoundPhase<BlockNumber> {
	/// The asks are fixed; their providers open their seed commitments until every
	/// one did or the window `start..until` had `SeedRevealPeriod` blocks with room.
	Revealing {
		/// First block of the window.
		start: BlockNumber,
		/// The window's end (moved on when blocks of it were full: H3).
		until: BlockNumber,
	},
	/// The seed is known; tasks are cleared, `MaxTasksPerBlock` per block.
	Clearing,
}

/// The commitment a seed reveal opens ([`opml_primitives_core::seed::commitment`]).
pub fn seed_commitment(secret: &H256) -> H256 {
	H256(opml_primitives_core::seed::commitment(&secret.0))
}

/// Secret `index` of private `key` material, as the worker (and the tests' honest
/// providers) make their seed secrets without storing them
/// ([`opml_primitives_core::seed::derive_secret`]).
pub fn derive_seed_secret(key: &[u8], index: u32) -> H256 {
	H256(opml_primitives_core::seed::derive_secret(key, index))
}

/// The seed of round `index`: the runtime's randomness at the snapshot mixed with the
/// XOR of every revealed secret ([`opml_primitives_core::seed::round_seed`]). Unknown
/// until the last secret is revealed; a revealer can only withhold, at `SeedPenalty`.
pub fn round_seed(randomness: &H256, mix: &H256, index: u32) -> H256 {
	H256(opml_primitives_core::seed::round_seed(
		&randomness.0,
		&mix.0,
		index,
	))
}

/// An auction round in progress (cleared over as many blocks as it needs).
#[derive(
	CloneNoBound,
	PartialEqNoBound,
	EqNoBound,
	DebugNoBound,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
	MaxEncodedLen,
)]
#[scale_info(skip_type_params(MaxTasks, MaxProviders, MaxTypes, MaxR))]
pub struct Round<
	AccountId: Clone + PartialEq + Eq + core::fmt::Debug,
	Balance: Clone + PartialEq + Eq + core::fmt::Debug,
	BlockNumber: Clone + PartialEq + Eq + core::fmt::Debug,
	MaxTasks: Get<u32>,
	MaxProviders: Get<u32>,
	MaxTypes: Get<u32>,
	MaxR: Get<u32>,
> {
	/// Round number.
	pub index: u32,
	/// Task bids.
	pub bids: BoundedVec<BidRecord<Balance>, MaxTasks>,
	/// Provider asks (capacity = remaining capacity).
	pub asks: BoundedVec<AskRecord<AccountId, Balance, MaxTypes>, MaxProviders>,
	/// Bid indices in density order.
	pub task_order: BoundedVec<u32, MaxTasks>,
	/// Ask indices in density order.
	pub provider_order: BoundedVec<u32, MaxProviders>,
	/// Next position in `task_order`.
	pub cursor: u32,
	/// Tentative wins: bid index and ask indices.
	pub wins: BoundedVec<(u32, BoundedVec<u32, MaxR>), MaxTasks>,
	/// While revealing: the runtime's randomness at the snapshot; then the seed of
	/// the round's seat draws ([`round_seed`] of it and [`Self::mix`]).
	pub seed: H256,
	/// XOR of the secrets revealed so far.
	pub mix: H256,
	/// Revealing seeds or clearing.
	pub phase: RoundPhase<BlockNumber>,
}

/// What the submissions pallet tells the market (implemented by this pallet).
pub trait TaskSettlement<AccountId> {
	/// The task's result is final: pay the providers in `paid` (a subset of the
	/// assigned ones: the majority), refund the rest of the escrow, close the task.
	fn settle(task: TaskId, paid: &[AccountId]) -> DispatchResult;
	/// The task's result was overturned (a provider lost a dispute): send the task back
	/// to auction with a higher priority (its escrow stays held).
	fn reauction(task: TaskId) -> DispatchResult;

	/// Benchmarks of other pallets: a task assigned to `providers` (which must be
	/// registered), as a round would assign it (the delivery check is told).
	#[cfg(feature = "runtime-benchmarks")]
	fn assigned_for_benchmark(providers: &[AccountId])
		-> Result<TaskId, sp_runtime::DispatchError>;

	/// Benchmarks of other pallets: make `commitment` the model commitment of `task`.
	#[cfg(feature = "runtime-benchmarks")]
	fn set_commitment_for_benchmark(task: TaskId, commitment: H256);
}

/// Submitting tasks on someone's behalf (implemented by this pallet): what a pallet
/// that drives work, such as a federated training job, asks the market.
pub trait TaskSubmitter<AccountId, Balance> {
	/// Submit a task for `requester` exactly as [`crate::Pallet::submit_task`] would
	/// (same checks; `valuation` held from `requester` in escrow), with the input given
	/// by its tensor root and the model's own weight as the demand.
	fn submit(
		requester: &AccountId,
		model: ModelId,
		input: H256,
		valuation: Balance,
		redundancy: u8,
		deadline: u32,
	) -> Result<TaskId, sp_runtime::DispatchError>;

	/// Benchmarks of other pallets: a registered model of weight 1.
	#[cfg(feature = "runtime-benchmarks")]
	fn model_for_benchmark() -> Result<ModelId, sp_runtime::DispatchError>;
}

/// What a dispute is about: the model and the input of a task.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Subject {
	/// The model (its task type).
	pub model: ModelId,
	/// The model commitment.
	pub commitment: H256,
	/// The VM program root the model runs under.
	pub program_root: H256,
	/// The input's tensor root (computed from the bytes for an inline input).
	pub input_root: H256,
}

/// What the arbitration pallet asks the market (implemented by it).
pub trait TaskSubject {
	/// The model and input of an assigned `task`.
	fn subject(task: TaskId) -> Option<Subject>;
}

/// What the market asks and tells the submissions pallet: who handed in (committed) a
/// result in time, and when assignments begin and end.
pub trait DeliveryCheck<AccountId, BlockNumber> {
	/// Whether `who` handed in (committed) a result for `task`.
	fn delivered(task: TaskId, who: &AccountId) -> bool;
	/// `task` was assigned to `providers`; their results must be handed in before block
	/// `due` (the market checks [`Self::delivered`] at `due`).
	fn on_assigned(_task: TaskId, _providers: &[AccountId], _due: BlockNumber) {}
	/// `task`'s assignment ended without settlement (the task went back to auction or
	/// was dropped): forget what was handed in for it.
	fn on_unassigned(_task: TaskId) {}
	/// `task`'s commit window `start..end` (planned as `period` blocks) is over: the
	/// blocks it must be extended by because some of it was full (no room for a
	/// commit: docs/security.md H3), having moved the task's windows to end `extra`
	/// blocks later; 0 when it had its `period` blocks with room.
	fn extend_commit_window(
		_task: TaskId,
		_start: BlockNumber,
		_end: BlockNumber,
		_period: BlockNumber,
	) -> BlockNumber
	where
		BlockNumber: Default,
	{
		BlockNumber::default()
	}
	/// The blocks to add to the window `start..end`, planned as `period` blocks, so
	/// that it has `period` blocks with room (H3; within the submissions pallet's
	/// `MaxWindowExtension`); 0 when it had them. For a round's seed reveal window.
	fn window_shortfall(_start: BlockNumber, _end: BlockNumber, _period: BlockNumber) -> BlockNumber
	where
		BlockNumber: Default,
	{
		BlockNumber::default()
	}
}

/// Told of each round's seed once it is known (implemented by the arbitration pallet,
/// which draws its audits from it: docs/security.md M2).
pub trait OnRoundSeed {
	/// Round seed `seed` is fixed; returns the weight used.
	fn on_round_seed(seed: H256) -> Weight;
}

impl OnRoundSeed for () {
	fn on_round_seed(_: H256) -> Weight {
		Weight::zero()
	}
}

/// Paying an auditor out of a task's escrow (implemented by this pallet).
pub trait AuditRewards<AccountId, Balance> {
	/// Pay `auditor` up to `amount` of what `task`'s escrow holds beyond the price of
	/// its assignment (the requester's refund); returns what was paid (0 for a task
	/// that is not assigned).
	fn pay_auditor(task: TaskId, auditor: &AccountId, amount: Balance) -> Balance;
}

/// No submissions pallet: nobody ever delivers (every assignment times out).
impl<AccountId, BlockNumber> DeliveryCheck<AccountId, BlockNumber> for () {
	fn delivered(_: TaskId, _: &AccountId) -> bool {
		false
	}
}
