//! # pallet-opml-market
//!
//! The OPML task market (DESIGN.md §7): a model registry, tasks paid from an escrow
//! held on the requester's balance, and every [`Config::AuctionPeriod`] blocks a
//! combinatorial double auction ([`auction`]) between the open tasks and the offers of
//! eligible providers (pallet-opml-providers). A round is cleared at most
//! [`Config::MaxTasksPerBlock`] tasks per block, so a round bigger than one block
//! continues in the next. Each won task is assigned to `redundancy` distinct
//! providers with a deadline; a provider that misses it without declining
//! ([`Pallet::decline`]) is slashed [`Config::DeadlinePenalty`], burned (never paid to
//! the requester, who chooses the deadline and the input: docs/security.md C3). If the
//! providers that delivered cannot form a strict majority of the redundancy, the task
//! goes back to auction with a higher priority (the whitepaper's re-auction); otherwise
//! the submissions pallet goes on with the results that were delivered. Assigned
//! providers hold the task as exposure until it is settled or taken back, so their
//! bond cannot leave while their result can still be disputed. Settlement ([`TaskSettlement`]) is driven by the
//! submissions pallet once a result is final.
//!
//! ## Calls
//! - [`Pallet::register_model`], [`Pallet::deregister_model`]: signed, any account.
//! - [`Pallet::submit_task`], [`Pallet::cancel_task`]: signed, the requester.
//! - [`Pallet::expire`]: signed, anyone — permissionless processing of deadlines
//!   that the bounded hook left for later.
//! - [`Pallet::decline`]: signed, an assigned provider that has not committed.
//! - [`Pallet::commit_seed`], [`Pallet::reveal_seed`]: signed, a provider — the
//!   round's seed beacon (below).
//! - [`Pallet::forget_seed`]: signed, anyone — drops the seed commitment of an
//!   account without a bond.
//! - [`Pallet::announce_store`], [`Pallet::withdraw_store`]: signed, any account — the
//!   file stores daemons fetch model files and task inputs from (below).
//!
//! ## File stores
//! Model files and large task inputs stay off chain; the chain holds their roots (a
//! model's commitment, an input's tensor root) and [`Stores`]: HTTP base URLs, one per
//! account for a deposit, that serve files by root. Providers, verifiers and
//! requesters fetch from them and check every byte against the root before use, so
//! a store can withhold but never forge (docs/distribution.md).
//!
//! ## Round seeds
//! A round's seats are drawn from a seed nobody can choose (docs/security.md H2): the
//! round takes the asks of eligible providers that committed to a secret
//! ([`Pallet::commit_seed`]), then waits until each revealed it
//! ([`Pallet::reveal_seed`]) or `SeedRevealPeriod` blocks with room passed. The seed
//! hashes the runtime's randomness at the snapshot with the XOR of the secrets. A
//! provider that does not reveal is slashed `SeedPenalty` and left out of the round:
//! withholding is the only way to steer the seed, and each withheld bit costs a
//! penalty and the withholder's seats.
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;
pub use types::*;
pub use weights::WeightInfo;

pub mod auction;
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
	use pallet_opml_providers::ProviderRegistry;
	use sp_core::H256;
	use sp_runtime::Perbill;

	/// Balance type.
	pub type BalanceOf<T> =
		<<T as Config>::Currency as Inspect<<T as frame_system::Config>::AccountId>>::Balance;
	/// A model record.
	pub type ModelOf<T> = ModelInfo<
		<T as frame_system::Config>::AccountId,
		BalanceOf<T>,
		<T as Config>::MaxMetadataLen,
	>;
	/// A task record.
	pub type TaskOf<T> = TaskInfo<
		<T as frame_system::Config>::AccountId,
		BalanceOf<T>,
		BlockNumberFor<T>,
		<T as Config>::MaxInlineInput,
		<T as Config>::MaxRedundancy,
	>;
	/// A file store record.
	pub type StoreOf<T> = StoreInfo<BalanceOf<T>, <T as Config>::MaxStoreUrlLen>;
	/// A round record.
	pub type RoundOf<T> = Round<
		<T as frame_system::Config>::AccountId,
		BalanceOf<T>,
		BlockNumberFor<T>,
		<T as Config>::MaxOpenTasks,
		<T as Config>::MaxProviders,
		<T as Config>::MaxTaskTypes,
		<T as Config>::MaxRedundancy,
	>;

	#[pallet::pallet]
	pub struct Pallet<T>(_);

	/// Why this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// A task's payment, until settlement or cancellation.
		TaskEscrow,
		/// A model registration's deposit.
		ModelDeposit,
		/// An open task's book deposit, until it is first assigned.
		BookDeposit,
		/// A file store's announcement deposit, until it is withdrawn.
		StoreDeposit,
	}

	#[pallet::config]
	pub trait Config: frame_system::Config<RuntimeEvent: From<Event<Self>>> {
		/// The currency escrows and deposits are held in.
		type Currency: Inspect<Self::AccountId>
			+ Mutate<Self::AccountId>
			+ InspectHold<Self::AccountId, Reason = Self::RuntimeHoldReason>
			+ MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;
		/// The runtime's hold reasons.
		type RuntimeHoldReason: From<HoldReason>;
		/// The provider registry.
		type Providers: ProviderRegistry<Self::AccountId, Balance = BalanceOf<Self>>;
		/// Who delivered results (the submissions pallet), told of assignments.
		type Delivery: DeliveryCheck<Self::AccountId, BlockNumberFor<Self>>;
		/// Deposit held for a model registration.
		#[pallet::constant]
		type ModelDeposit: Get<BalanceOf<Self>>;
		/// Longest model metadata.
		#[pallet::constant]
		type MaxMetadataLen: Get<u32>;
		/// Longest inline task input.
		#[pallet::constant]
		type MaxInlineInput: Get<u32>;
		/// Deposit held for a file store's announcement ([`Pallet::announce_store`]):
		/// what one entry in [`Stores`] costs, so the list daemons read stays short.
		#[pallet::constant]
		type StoreDeposit: Get<BalanceOf<Self>>;
		/// Longest store URL.
		#[pallet::constant]
		type MaxStoreUrlLen: Get<u32>;
		/// Most open tasks (the auction's task side).
		#[pallet::constant]
		type MaxOpenTasks: Get<u32>;
		/// Most providers in a round (at most the registry's `MaxProviders`).
		#[pallet::constant]
		type MaxProviders: Get<u32>;
		/// Most task types per provider (as in the registry).
		#[pallet::constant]
		type MaxTaskTypes: Get<u32>;
		/// Highest redundancy of a task.
		#[pallet::constant]
		type MaxRedundancy: Get<u32>;
		/// Blocks between auction rounds.
		#[pallet::constant]
		type AuctionPeriod: Get<BlockNumberFor<Self>>;
		/// Tasks a block clears at most (bounds the hook's work).
		#[pallet::constant]
		type MaxTasksPerBlock: Get<u32>;
		/// Deadlines processed per block at most by the hook (the rest by `expire`).
		#[pallet::constant]
		type MaxDeadlinesPerBlock: Get<u32>;
		/// Shortest and longest deadline a task may ask for, in blocks.
		#[pallet::constant]
		type MinDeadline: Get<BlockNumberFor<Self>>;
		/// Longest deadline.
		#[pallet::constant]
		type MaxDeadline: Get<BlockNumberFor<Self>>;
		/// Randomness mixed into each round's seed at its snapshot. On its own
		/// parent-hash randomness could be biased by the previous block's author; the
		/// providers' seed reveals make the seed unbiasable (docs/security.md H2).
		type Randomness: frame_support::traits::Randomness<H256, BlockNumberFor<Self>>;
		/// Blocks with room a round's providers have to reveal their seed secrets (the
		/// phase ends early once every one did). It must cover a daemon's finality lag
		/// and an inclusion, like `MinDeadline`.
		#[pallet::constant]
		type SeedRevealPeriod: Get<BlockNumberFor<Self>>;
		/// Slash of a provider in a round that does not reveal its seed secret in time
		/// (burned or sent to `SlashDestination`): the price of withholding a secret to
		/// bias a round's seed (H2).
		#[pallet::constant]
		type SeedPenalty: Get<BalanceOf<Self>>;
		/// Blocks an open task stays in the book unassigned before it expires.
		#[pallet::constant]
		type OpenTaskLifetime: Get<BlockNumberFor<Self>>;
		/// Deposit held from a requester for each task in the book: refunded when the
		/// task is assigned, burned when it leaves the book unassigned (cancelled or
		/// expired), so jamming the book costs what it blocks (H5).
		#[pallet::constant]
		type BookDeposit: Get<BalanceOf<Self>>;
		/// The VM program roots a model may run under: the guests the runtime's
		/// arbitration can re-execute and honest workers can defend (M7).
		type GuestPrograms: frame_support::traits::Contains<H256>;
		/// Longest graph descriptor a model registration carries (`SCALE(Graph)` of
		/// `opml-nn`): bounds the registration's work, linear in it.
		#[pallet::constant]
		type MaxGraphBytes: Get<u32>;
		/// Most VM steps any node of a registered model may take by its static bound
		/// (`opml_nn::cost::node_steps_bound`): the arbitration's `MaxNodeSteps`, so a
		/// dispute over any node of a registered model can be handed off (H4, M10).
		#[pallet::constant]
		type MaxNodeSteps: Get<u64>;
		/// Slash of a provider that misses a deadline (burned or sent to the providers'
		/// `SlashDestination`, never to the requester, who could otherwise harvest it;
		/// a provider that declined the task is not slashed).
		#[pallet::constant]
		type DeadlinePenalty: Get<BalanceOf<Self>>;
		/// Valuation raise of a re-auctioned task, taken from the requester's free balance if it can pay it.
		#[pallet::constant]
		type ReauctionRaise: Get<Perbill>;
		/// Told of each round's seed (the arbitration pallet draws audits from it).
		type OnSeed: OnRoundSeed;
		/// Pricing: midpoint pair prices or McAfee trade reduction.
		type Pricing: Get<auction::Mode>;
		/// Where the McAfee surplus goes: `Some(account)` or `None` (burned).
		type SurplusDestination: Get<Option<Self::AccountId>>;
		/// Weights.
		type WeightInfo: WeightInfo;
	}

	/// Registered models.
	#[pallet::storage]
	pub type Models<T: Config> = StorageMap<_, Twox64Concat, ModelId, ModelOf<T>>;

	/// Next model id.
	#[pallet::storage]
	pub type NextModelId<T> = StorageValue<_, ModelId, ValueQuery>;

	/// Tasks (open or assigned; removed when settled or cancelled).
	#[pallet::storage]
	pub type Tasks<T: Config> = StorageMap<_, Twox64Concat, TaskId, TaskOf<T>>;

	/// The next task id and the number of open tasks, in one value: submitting a task
	/// reads and writes one counter.
	#[pallet::storage]
	pub type TaskCounts<T> = StorageValue<_, TaskCounter, ValueQuery>;

	/// Open tasks waiting for a round (the auction's task side), at most
	/// `MaxOpenTasks` (counted in [`TaskCounts`]): one entry per task, so submitting,
	/// assigning and cancelling a task cost O(1) storage work whatever the size of the
	/// book.
	#[pallet::storage]
	pub type OpenTasks<T: Config> = StorageMap<_, Twox64Concat, TaskId, (), OptionQuery>;

	/// The round being cleared, if any.
	#[pallet::storage]
	pub type CurrentRound<T: Config> = StorageValue<_, RoundOf<T>>;

	/// Number of rounds started.
	#[pallet::storage]
	pub type RoundCount<T> = StorageValue<_, u32, ValueQuery>;

	/// Each provider's seed commitment: a round takes the asks of eligible providers
	/// that have one, and each of them must open it in the round's reveal phase (H2).
	/// One entry per account that bonded; [`Pallet::forget_seed`] removes the entry of
	/// an account without a bond (anyone may call it).
	#[pallet::storage]
	pub type SeedCommits<T: Config> =
		StorageMap<_, Blake2_128Concat, T::AccountId, SeedCommit, OptionQuery>;

	/// Assigned tasks by the block their deadline passes. Not capped per block, so a
	/// deadline is never dropped (H6); at most `MaxDeadlinesPerBlock` are processed per
	/// block (the rest later or through [`Pallet::expire`]).
	#[pallet::storage]
	pub type Deadlines<T: Config> =
		StorageDoubleMap<_, Twox64Concat, BlockNumberFor<T>, Twox64Concat, TaskId, (), OptionQuery>;

	/// Assigned providers that declined a task (not penalized at its deadline), until
	/// the assignment ends.
	#[pallet::storage]
	pub type Declined<T: Config> =
		StorageDoubleMap<_, Twox64Concat, TaskId, Blake2_128Concat, T::AccountId, (), OptionQuery>;

	/// File stores by the account that announced them: HTTP base URLs that serve model
	/// files and task inputs by their on-chain roots (`<url>/<hex>.opml`,
	/// `<url>/<hex>.input`; docs/distribution.md). One per account, each holding
	/// `StoreDeposit`. Daemons fetch what they need from these and check every byte
	/// against its root, so a store is trusted for availability only.
	#[pallet::storage]
	pub type Stores<T: Config> = StorageMap<_, Blake2_128Concat, T::AccountId, StoreOf<T>>;

	/// The oldest block whose deadlines are not yet fully processed (the hook and
	/// `expire` advance it; at most `4 × MaxDeadlinesPerBlock + 1` empty blocks per call).
	#[pallet::storage]
	pub type DeadlineCursor<T: Config> = StorageValue<_, BlockNumberFor<T>, ValueQuery>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A model was registered.
		ModelRegistered {
			/// Its id (its task type).
			model: ModelId,
			/// Who registered it.
			owner: T::AccountId,
			/// Model commitment.
			commitment: H256,
			/// VM program root.
			program_root: H256,
		},
		/// A model was deregistered (no new tasks).
		ModelDeregistered {
			/// Its id.
			model: ModelId,
		},
		/// A task was submitted; its valuation is held in escrow.
		TaskSubmitted {
			/// The task.
			task: TaskId,
			/// The requester.
			requester: T::AccountId,
			/// The model.
			model: ModelId,
			/// Escrowed valuation.
			valuation: BalanceOf<T>,
		},
		/// A task was cancelled before assignment; its escrow was released (its book
		/// deposit burned).
		TaskCancelled {
			/// The task.
			task: TaskId,
		},
		/// An open task was not assigned within `OpenTaskLifetime`: its escrow was
		/// released, its book deposit burned.
		TaskExpired {
			/// The task.
			task: TaskId,
			/// The book deposit burned.
			burned: BalanceOf<T>,
		},
		/// An auction round started: its bids and asks are fixed, and the providers of
		/// the asks reveal their seed secrets ([`Pallet::reveal_seed`]) until `until`.
		RoundStarted {
			/// Round number.
			round: u32,
			/// Task bids.
			tasks: u32,
			/// Provider asks.
			providers: u32,
			/// The reveal window's planned end (moved on when its blocks are full).
			until: BlockNumberFor<T>,
		},
		/// A provider committed to a seed secret for the next round it takes part in.
		SeedCommitted {
			/// The provider.
			who: T::AccountId,
			/// The provider's counter of its secrets.
			index: u32,
		},
		/// A provider of a round revealed its seed secret (and committed to its next).
		SeedRevealed {
			/// Round number.
			round: u32,
			/// The provider.
			who: T::AccountId,
		},
		/// A provider of a round did not reveal its seed secret in time: it was
		/// slashed, left out of the round, and its commitment dropped (it takes part in
		/// rounds again once it commits anew).
		SeedWithheld {
			/// Round number.
			round: u32,
			/// The provider.
			who: T::AccountId,
			/// Amount slashed (burned or sent to `SlashDestination`).
			penalty: BalanceOf<T>,
		},
		/// A round's seed is known: its tasks are cleared among the providers that
		/// revealed.
		RoundSeeded {
			/// Round number.
			round: u32,
			/// The seed of the round's seat draws.
			seed: H256,
			/// Providers that revealed (the round's asks from now on).
			providers: u32,
		},
		/// A round's seed reveal window had full blocks (H3): it now ends at `until`.
		SeedRevealExtended {
			/// Round number.
			round: u32,
			/// The window's new end.
			until: BlockNumberFor<T>,
		},
		/// A seed commitment of an account without a bond was removed.
		SeedForgotten {
			/// The account.
			who: T::AccountId,
		},
		/// A round finished clearing.
		RoundCleared {
			/// Round number.
			round: u32,
			/// Tasks assigned.
			assigned: u32,
			/// McAfee surplus (0 with midpoint prices).
			surplus: BalanceOf<T>,
		},
		/// A task was assigned to providers.
		TaskAssigned {
			/// The task.
			task: TaskId,
			/// `(provider, payment)`.
			providers: BoundedVec<(T::AccountId, BalanceOf<T>), T::MaxRedundancy>,
			/// Total the requester pays.
			price: BalanceOf<T>,
			/// Last block for results.
			due: BlockNumberFor<T>,
		},
		/// A provider missed a task's deadline and was penalized.
		DeadlineMissed {
			/// The task.
			task: TaskId,
			/// The provider.
			provider: T::AccountId,
			/// Amount slashed (burned or sent to `SlashDestination`; never to the
			/// requester).
			penalty: BalanceOf<T>,
		},
		/// An assigned provider declined a task (it is not penalized for it).
		AssignmentDeclined {
			/// The task.
			task: TaskId,
			/// The provider.
			provider: T::AccountId,
		},
		/// A task went back to auction.
		TaskReauctioned {
			/// The task.
			task: TaskId,
			/// Its new valuation.
			valuation: BalanceOf<T>,
			/// Its new priority.
			priority: u32,
		},
		/// A task was settled: providers paid, escrow remainder refunded.
		TaskSettled {
			/// The task.
			task: TaskId,
			/// Paid to providers in total.
			paid: BalanceOf<T>,
			/// Refunded to the requester.
			refunded: BalanceOf<T>,
		},
		/// An account announced (or moved) its file store.
		StoreAnnounced {
			/// The account.
			who: T::AccountId,
			/// The store's base URL.
			url: BoundedVec<u8, T::MaxStoreUrlLen>,
		},
		/// An account withdrew its file store; its deposit was released.
		StoreWithdrawn {
			/// The account.
			who: T::AccountId,
		},
		/// Blocks of a task's commit window were full (no room for a commit): the
		/// deadline check moves to `until`, and the commit and reveal windows with it
		/// (docs/security.md H3).
		DeadlineExtended {
			/// The task.
			task: TaskId,
			/// The block the deadline is now checked at (commits accepted before it).
			until: BlockNumberFor<T>,
		},
	}

	#[pallet::error]
	pub enum Error<T> {
		/// No such model.
		UnknownModel,
		/// The model's weight is zero.
		ZeroWeight,
		/// Only the model's owner may do this.
		NotModelOwner,
		/// No such task.
		UnknownTask,
		/// Only the task's requester may do this.
		NotRequester,
		/// The task is not open (already assigned) or is in the round being cleared.
		NotCancellable,
		/// Redundancy must be between 1 and `MaxRedundancy`.
		BadRedundancy,
		/// The demand is zero or below the model's weight.
		BadDemand,
		/// The deadline is outside `[MinDeadline, MaxDeadline]`.
		BadDeadline,
		/// The valuation is zero.
		ZeroValuation,
		/// The free balance cannot cover the escrow or deposit.
		InsufficientBalance,
		/// `MaxOpenTasks` tasks are open already.
		TooManyOpenTasks,
		/// The task is not assigned.
		NotAssigned,
		/// A paid provider was not assigned to the task.
		NotAssignedProvider,
		/// No deadline is waiting for processing.
		NothingToExpire,
		/// Arithmetic overflow.
		Overflow,
		/// The program root is not one of the runtime's guest programs.
		UnknownProgram,
		/// The registration's graph is not one SCALE-encoded graph of the format, or it
		/// fails the format's checks (sizes, sources, a node's shapes or parameters).
		BadGraph,
		/// The registration's graph root is not leaf 0 of the commitment under the
		/// siblings given.
		GraphNotCommitted,
		/// A node of the graph may take more than `MaxNodeSteps` VM steps: a dispute
		/// over it could not be handed off. Split it (the importer does, by rows).
		NodeTooHeavy,
		/// The task's deadline has passed.
		DeadlinePassed,
		/// The provider already committed to a result for the task.
		AlreadyDelivered,
		/// The provider already declined the task.
		AlreadyDeclined,
		/// Only a provider with a bond may commit to a seed.
		NotProvider,
		/// No round is revealing seeds, or it is another round.
		NotRevealing,
		/// The caller has no ask in the round.
		NotInRound,
		/// The caller revealed its seed secret for the round already.
		AlreadyRevealed,
		/// The secret does not open the commitment of the caller's ask.
		BadSecret,
		/// The account has no seed commitment.
		NoSeedCommit,
		/// The account still has a bond: its seed commitment stays.
		StillBonded,
		/// A store URL must be `http://` or `https://` and a host, in printable ASCII
		/// without spaces, `?` or `#`.
		BadStoreUrl,
		/// The account has announced no file store.
		NoStore,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn on_initialize(now: BlockNumberFor<T>) -> Weight {
			Self::on_block(now)
		}

		fn integrity_test() {
			assert!(T::MaxTasksPerBlock::get() > 0 && T::MaxRedundancy::get() > 0);
			assert!(T::MinDeadline::get() <= T::MaxDeadline::get());
			assert!(!T::SeedRevealPeriod::get().is_zero());
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Register a model (DESIGN.md §3). Its id is its task type.
		///
		/// - `origin`: signed; `ModelDeposit` is held from it.
		/// - `commitment`: the model commitment (graph root and weight roots).
		/// - `program_root`: root of the VM program region the model runs under: one of
		///   the runtime's guest programs (`GuestPrograms`).
		/// - `weight`: least units of work a task of this model demands per provider.
		/// - `metadata`: up to `MaxMetadataLen` bytes.
		/// - `graph`: the model's graph descriptor, `SCALE(opml_nn::Graph)`, up to
		///   `MaxGraphBytes`: checked (the format, every node's step bound within
		///   `MaxNodeSteps`) and not stored.
		/// - `graph_siblings`: the graph root's siblings in `commitment` (leaf 0,
		///   `opml_nn::commit::MODEL_DEPTH` of them), bottom first.
		///
		/// `opml_nn::registration::graph_registration` gives the last two. Fails with
		/// [`Error::BadGraph`], [`Error::GraphNotCommitted`] or [`Error::NodeTooHeavy`]
		/// if the graph is not the committed one or could not be disputed node by node.
		///
		/// Emits [`Event::ModelRegistered`].
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::register_model(metadata.len() as u32, graph.len() as u32))]
		pub fn register_model(
			origin: OriginFor<T>,
			commitment: H256,
			program_root: H256,
			weight: u32,
			metadata: BoundedVec<u8, T::MaxMetadataLen>,
			graph: BoundedVec<u8, T::MaxGraphBytes>,
			graph_siblings: BoundedVec<H256, ConstU32<{ opml_nn::commit::MODEL_DEPTH }>>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::check_graph(&commitment, &graph, &graph_siblings)?;
			Self::do_register_model(who, commitment, program_root, weight, metadata)
		}

		/// Deregister a model: no new tasks; tasks already submitted run to the end.
		/// Releases the deposit.
		///
		/// - `origin`: signed by the model's owner.
		/// - `model`: the model.
		///
		/// Emits [`Event::ModelDeregistered`].
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::deregister_model())]
		pub fn deregister_model(origin: OriginFor<T>, model: ModelId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_deregister_model(who, model)
		}

		/// Submit a task; `valuation` is held in escrow until settlement.
		///
		/// - `origin`: signed by the requester.
		/// - `model`: a registered model.
		/// - `input`: the input's tensor root, or the input bytes inline.
		/// - `demand`: units of work per provider (at least the model's weight).
		/// - `valuation`: the most paid for the task, all providers together (non-zero).
		/// - `redundancy`: distinct providers, `1..=MaxRedundancy`.
		/// - `deadline`: blocks the providers get after assignment.
		///
		/// Emits [`Event::TaskSubmitted`].
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::submit_task())]
		pub fn submit_task(
			origin: OriginFor<T>,
			model: ModelId,
			input: TaskInput<T::MaxInlineInput>,
			demand: u32,
			valuation: BalanceOf<T>,
			redundancy: u8,
			deadline: BlockNumberFor<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_submit_task(who, model, input, demand, valuation, redundancy, deadline)
		}

		/// Cancel an open task that is not in the round being cleared; releases its
		/// escrow.
		///
		/// - `origin`: signed by the requester.
		/// - `task`: the task.
		///
		/// Emits [`Event::TaskCancelled`].
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::cancel_task())]
		pub fn cancel_task(origin: OriginFor<T>, task: TaskId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_cancel_task(who, task)
		}

		/// Process up to `MaxDeadlinesPerBlock` passed deadlines the hook left over,
		/// oldest first (anyone may call; fails with `NothingToExpire` if the deadline
		/// cursor is already at the current block and nothing is due).
		///
		/// - `origin`: signed, any account.
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::expire(T::MaxDeadlinesPerBlock::get()))]
		pub fn expire(origin: OriginFor<T>) -> DispatchResult {
			ensure_signed(origin)?;
			let (tasks, blocks) = Self::process_deadlines(T::MaxDeadlinesPerBlock::get());
			ensure!(tasks + blocks > 0, Error::<T>::NothingToExpire);
			Ok(())
		}

		/// Decline an assigned task before its deadline (its input is unavailable or
		/// malformed, or it cannot be computed in time): the caller is not penalized
		/// at the deadline and not paid. If the providers left cannot form a strict
		/// majority, the task goes back to auction at once.
		///
		/// - `origin`: signed by a provider assigned to `task` that has not committed.
		/// - `task`: an assigned task whose deadline has not passed.
		///
		/// Emits [`Event::AssignmentDeclined`] (and [`Event::TaskReauctioned`] when
		/// the task goes back to auction).
		#[pallet::call_index(5)]
		#[pallet::weight(T::WeightInfo::expire(1))]
		pub fn decline(origin: OriginFor<T>, task: TaskId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_decline(who, task)
		}

		/// Commit to a seed secret: `commitment = seed_commitment(secret)`
		/// (`opml_primitives_core::seed::commitment`). The next round
		/// the caller takes part in (every round takes the asks of eligible providers
		/// with a commitment) makes it reveal `secret` in its reveal phase, or be
		/// slashed `SeedPenalty` (docs/security.md H2). Replaces an earlier commitment;
		/// a round already started keeps the one it took.
		///
		/// - `origin`: signed by a provider with a bond.
		/// - `commitment`: the commitment to a 32-byte secret nobody else knows.
		/// - `index`: the caller's own counter of its secrets (stored, not checked).
		///
		/// Emits [`Event::SeedCommitted`].
		#[pallet::call_index(6)]
		#[pallet::weight(T::WeightInfo::commit_seed())]
		pub fn commit_seed(origin: OriginFor<T>, commitment: H256, index: u32) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_commit_seed(who, commitment, index)
		}

		/// Reveal the seed secret of the caller's ask in the round revealing seeds and
		/// commit to the next one. The round's seed mixes every revealed secret, so it
		/// is unknown until the last one is in; once every provider of the round
		/// revealed, clearing starts in the next block.
		///
		/// - `origin`: signed by a provider with an unrevealed ask in the round.
		/// - `round`: the round's number (as in [`Event::RoundStarted`]).
		/// - `secret`: the secret whose commitment the ask holds.
		/// - `next`: the commitment to the caller's next secret (its counter moves on
		///   by one).
		///
		/// Emits [`Event::SeedRevealed`].
		#[pallet::call_index(7)]
		#[pallet::weight(T::WeightInfo::reveal_seed())]
		pub fn reveal_seed(
			origin: OriginFor<T>,
			round: u32,
			secret: H256,
			next: H256,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_reveal_seed(who, round, secret, next)
		}

		/// Remove the seed commitment of an account that has no bond left (it
		/// withdrew or was banned), so the map only grows with bonded accounts.
		///
		/// - `origin`: signed, any account.
		/// - `who`: an account with a seed commitment and no bond.
		///
		/// Emits [`Event::SeedForgotten`].
		#[pallet::call_index(8)]
		#[pallet::weight(T::WeightInfo::forget_seed())]
		pub fn forget_seed(origin: OriginFor<T>, who: T::AccountId) -> DispatchResult {
			ensure_signed(origin)?;
			Self::do_forget_seed(who)
		}

		/// Announce the caller's file store, or move it: an HTTP base URL serving model
		/// files and task inputs by root (`opml-worker --serve-files`;
		/// docs/distribution.md). The first announcement holds `StoreDeposit`.
		///
		/// - `origin`: signed, any account with the deposit.
		/// - `url`: `http://` or `https://`, then a host (and port, path), in printable
		///   ASCII without spaces, `?` or `#`, up to `MaxStoreUrlLen` bytes.
		///
		/// Emits [`Event::StoreAnnounced`].
		#[pallet::call_index(9)]
		#[pallet::weight(T::WeightInfo::announce_store())]
		pub fn announce_store(
			origin: OriginFor<T>,
			url: BoundedVec<u8, T::MaxStoreUrlLen>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_announce_store(who, url)
		}

		/// Withdraw the caller's file store; releases its deposit.
		///
		/// - `origin`: signed by an account with a store.
		///
		/// Emits [`Event::StoreWithdrawn`].
		#[pallet::call_index(10)]
		#[pallet::weight(T::WeightInfo::withdraw_store())]
		pub fn withdraw_store(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_withdraw_store(who)
		}
	}
}
