//! # pallet-opml-arbitration
//!
//! OPML's dispute game (DESIGN.md §6), closing the gaps of OPML's own contract (which
//! lets either side start the VM phase from any state, bisects only, and has neither
//! clocks nor bonds):
//!
//! 1. **Phase 2, graph states.** A game starts with `G_0` computed on chain from the
//!    task's input root (agreed) and the defender's result `G_N` (disputed), over the
//!    positions `0..=255` (every graph-state slot; past the last node `G_i = G_N`).
//!    Each round the defender posts the `k - 1` inner states of a k-ary split
//!    ([`Pallet::post_states`]) and the challenger picks the first sub-interval whose
//!    end it disputes ([`Pallet::choose`]).
//! 2. **Handoff** at node `i` ([`Pallet::handoff`]): the defender's output root must
//!    take `G_{i-1}` (slot `i` empty) to its `G_i`; the node descriptor is proved
//!    against the model commitment, its inputs against `G_{i-1}` or the commitment;
//!    the chain computes the node's **initial VM state** from these roots and the
//!    program root; the defender's final VM state must be halted with exit 0 and hold
//!    the output root in its output slot (proved). A node past the graph's end is
//!    proved empty and ends the game for the defender if its `G_i = G_{i-1}`.
//! 3. **Phase 1, VM steps** `0..=T`: the same dissection.
//! 4. **One step** ([`Pallet::one_step`]): a witnessed step from the agreed state runs
//!    in the runtime (`opml_vm`); the defender wins if it reaches the defender's state.
//!
//! Each side has a chess clock of `ClockBudget` blocks, spent while it is to move;
//! [`Pallet::timeout`] (anyone) ends a game whose side to move ran out. A move is
//! checked before anything changes: a malformed, oversized or mismatched move fails
//! with its own error and leaves the game as it was.
//!
//! **Outcome.** A losing defender is banned by the provider registry (its bond slashed,
//! `WinnerShare` of it to the challenger), and the next member of the result's
//! majority takes over the defence from the start with fresh clocks
//! ([`Event::DefencePassed`]): nobody is punished for another's loss. When no member
//! is left, the result is overturned (the submissions pallet reverts it and the market
//! re-auctions the task) and the challenger's bond is returned. A losing challenger
//! loses its bond (`WinnerShare` to the defender, the rest burned); a losing
//! provider-challenger of an automatic game is banned.
//!
//! **Games are bound to a pool.** A game records the pool instance and the result it
//! disputes; once the task's pool is replaced or the result overturned, the game is
//! stale: it acts on nothing, and the next move on it (or [`Pallet::void_game`]) voids
//! it. Challenges are accepted only inside the result's challenge window, and are not
//! capped in number (each holds its own bond), so nobody can take every place.
//!
//! **Random audits** (docs/security.md M2). Each round seed of the market (a
//! commit-reveal beacon nobody can steer without a penalty, revealed after the
//! results it audits were committed) draws, for every result elected since the last
//! seed, an audit with probability `AuditProbability`, and an auditor among the
//! eligible providers outside the result's majority, weighted by bond. The auditor
//! recomputes the result within `AuditPeriod` blocks with room and confirms it
//! ([`Pallet::confirm_audit`], paid up to `AuditReward` from the task's escrow beyond
//! its price) or challenges it (the audit is answered by the game); one that does
//! neither is slashed `AuditPenalty`. The result cannot become final while its audit
//! is open. Governance may set the probability on chain
//! ([`Pallet::set_audit_probability`], [`AuditRate`]).
//!
//! ## Calls
//! - [`Pallet::challenge`]: signed, anyone but the defender, with a bond.
//! - [`Pallet::post_states`], [`Pallet::handoff`]: signed by the game's defender.
//! - [`Pallet::choose`]: signed by the game's challenger.
//! - [`Pallet::one_step`], [`Pallet::timeout`], [`Pallet::void_game`]: signed, anyone.
//! - [`Pallet::confirm_audit`]: signed by the drawn auditor.
//! - [`Pallet::set_audit_probability`]: the `AdminOrigin` (root in the runtime).
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;
pub use types::*;
pub use weights::WeightInfo;

#[cfg(test)]
mod adversarial;
#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
mod impls;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod security_tests;
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
	use pallet_opml_market::{TaskId, TaskSubject};
	use pallet_opml_providers::ProviderRegistry;
	use pallet_opml_submissions::{GameClock, PendingResults};
	use sp_core::H256;
	use sp_runtime::Perbill;

	/// Balance type.
	pub type BalanceOf<T> =
		<<T as Config>::Currency as Inspect<<T as frame_system::Config>::AccountId>>::Balance;
	/// A game record.
	pub type GameOf<T> = Game<
		<T as frame_system::Config>::AccountId,
		BalanceOf<T>,
		BlockNumberFor<T>,
		<T as Config>::Fanout,
	>;
	/// An audit record.
	pub type AuditOf<T> = Audit<<T as frame_system::Config>::AccountId, BlockNumberFor<T>>;

	/// Largest encoded handoff accepted.
	pub const MAX_HANDOFF_BYTES: u32 = opml_dispute::MAX_HANDOFF_BYTES as u32;
	/// Largest encoded step witness accepted.
	pub const MAX_WITNESS_BYTES: u32 = opml_vm::witness::MAX_WITNESS_BYTES as u32;

	#[pallet::pallet]
	pub struct Pallet<T>(_);

	/// Why this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// A challenger's bond, until its game ends.
		ChallengeBond,
	}

	#[pallet::config]
	pub trait Config: frame_system::Config<RuntimeEvent: From<Event<Self>>> {
		/// The currency bonds are held in.
		type Currency: Inspect<Self::AccountId>
			+ Mutate<Self::AccountId>
			+ InspectHold<Self::AccountId, Reason = Self::RuntimeHoldReason>
			+ MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;
		/// The runtime's hold reasons.
		type RuntimeHoldReason: From<HoldReason>;
		/// The provider registry (bars, bans).
		type Providers: ProviderRegistry<Self::AccountId, Balance = BalanceOf<Self>>;
		/// Pending results (the submissions pallet).
		type Results: PendingResults<Self::AccountId>;
		/// What a task is about (the market).
		type Tasks: TaskSubject;
		/// The time clocks run on: blocks that had room for a game move (the
		/// submissions pallet's `Ticks`), so that filling blocks stops clocks instead
		/// of running an honest party out of time (docs/security.md H3).
		type Clock: GameClock<BlockNumberFor<Self>>;
		/// Pays auditors out of a task's escrow (the market).
		type Rewards: pallet_opml_market::AuditRewards<Self::AccountId, BalanceOf<Self>>;
		/// Fan-out `k` of the dissection (at least 2): `k - 1` states per move.
		#[pallet::constant]
		type Fanout: Get<u32>;
		/// Smallest bond of a challenge (against a defender without [`Strikes`]).
		#[pallet::constant]
		type MinChallengeBond: Get<BalanceOf<Self>>;
		/// Most doublings of the challenge bond by a defender's [`Strikes`] (M8: the
		/// cost of barring a competitor grows with repetition, up to
		/// `MinChallengeBond × 2^MaxBondDoublings`, which is also the most an honest
		/// challenger must hold).
		#[pallet::constant]
		type MaxBondDoublings: Get<u32>;
		/// Blocks after which one strike of a defender is forgotten.
		#[pallet::constant]
		type StrikeDecay: Get<BlockNumberFor<Self>>;
		/// Most VM steps of one node a handoff may claim: what every party's VM runs to
		/// at most (`opml_nn::layout::MAX_NODE_STEPS`, the worker's `DEFAULT_MAX_STEPS`), so no defender can
		/// claim a run longer than a challenger can check (docs/security.md H4).
		#[pallet::constant]
		type MaxNodeSteps: Get<u64>;
		/// Blocks with room (see `Clock`) each side may spend on its moves in one game.
		#[pallet::constant]
		type ClockBudget: Get<BlockNumberFor<Self>>;
		/// Share of the loser's slashed bond paid to the winner (the rest is burned).
		#[pallet::constant]
		type WinnerShare: Get<Perbill>;
		/// Most stale games voided in the call that overturns a result (the rest are
		/// voided by the next move on them, or by anyone with [`Pallet::void_game`]).
		#[pallet::constant]
		type MaxGamesPerTask: Get<u32>;
		/// Probability that a block draws an audit (unless [`AuditRate`] is set).
		#[pallet::constant]
		type AuditProbability: Get<Perbill>;
		/// Who may set [`AuditRate`] (governance; root in the runtime).
		type AdminOrigin: EnsureOrigin<Self::RuntimeOrigin>;
		/// Recently elected results kept as audit candidates, and audits kept open.
		#[pallet::constant]
		type MaxAudits: Get<u32>;
		/// Blocks with room (see `Clock`) an auditor has to confirm or challenge.
		#[pallet::constant]
		type AuditPeriod: Get<BlockNumberFor<Self>>;
		/// Most paid to an auditor that confirms (from the task's escrow beyond its
		/// price; less when less is left).
		#[pallet::constant]
		type AuditReward: Get<BalanceOf<Self>>;
		/// Slash of an auditor that neither confirms nor challenges in time (burned or
		/// sent to the providers' `SlashDestination`).
		#[pallet::constant]
		type AuditPenalty: Get<BalanceOf<Self>>;
		/// Weights.
		type WeightInfo: WeightInfo;
	}

	/// Open games.
	#[pallet::storage]
	pub type Games<T: Config> = StorageMap<_, Twox64Concat, GameId, GameOf<T>>;

	/// Next game id.
	#[pallet::storage]
	pub type NextGameId<T> = StorageValue<_, GameId, ValueQuery>;

	/// Open games by task (not capped: every external game holds its challenger's
	/// bond, an automatic one the two providers' bonds).
	#[pallet::storage]
	pub type TaskGames<T: Config> =
		StorageDoubleMap<_, Twox64Concat, TaskId, Twox64Concat, GameId, (), OptionQuery>;

	/// Challenges each provider won as defender lately ([`Pallet::challenge_bond`]). An
	/// entry is removed by the next challenge against the provider once its strikes
	/// are all forgotten; each entry cost a challenger a lost bond (half of it burned),
	/// which bounds how many there can be.
	#[pallet::storage]
	pub type DefenderStrikes<T: Config> =
		StorageMap<_, Blake2_128Concat, T::AccountId, Strikes<BlockNumberFor<T>>, OptionQuery>;

	/// Recently elected results, candidates for an audit (oldest first).
	#[pallet::storage]
	pub type AuditCandidates<T: Config> =
		StorageValue<_, BoundedVec<TaskId, T::MaxAudits>, ValueQuery>;

	/// The audit probability set by [`Pallet::set_audit_probability`]; when unset,
	/// `AuditProbability` applies.
	#[pallet::storage]
	pub type AuditRate<T> = StorageValue<_, Perbill, OptionQuery>;

	/// Open audits (oldest first). Never dropped: when `MaxAudits` are open, no new
	/// audit is drawn until one is answered or expires.
	#[pallet::storage]
	pub type Audits<T: Config> = StorageValue<_, BoundedVec<AuditOf<T>, T::MaxAudits>, ValueQuery>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A game was opened.
		GameOpened {
			/// The game.
			game: GameId,
			/// The task.
			task: TaskId,
			/// The result's provider.
			defender: T::AccountId,
			/// Who disputes it.
			challenger: T::AccountId,
			/// The challenger's bond.
			bond: BalanceOf<T>,
		},
		/// The defender posted the inner states of a split.
		StatesPosted {
			/// The game.
			game: GameId,
			/// The interval split.
			a: u64,
			/// Its end.
			b: u64,
			/// The states, at the split's inner points.
			states: BoundedVec<H256, T::Fanout>,
		},
		/// The challenger chose a sub-interval.
		Chosen {
			/// The game.
			game: GameId,
			/// The new agreed end.
			a: u64,
			/// The new disputed end.
			b: u64,
		},
		/// The handoff was accepted: the VM game of `node` starts.
		HandedOff {
			/// The game.
			game: GameId,
			/// The node.
			node: u64,
			/// Steps of the defender's execution.
			steps: u64,
			/// The initial VM state computed on chain.
			initial: H256,
		},
		/// A game ended.
		GameResolved {
			/// The game.
			game: GameId,
			/// The task.
			task: TaskId,
			/// The winner.
			winner: T::AccountId,
			/// The loser.
			loser: T::AccountId,
			/// The losing side.
			loser_side: Side,
			/// Why.
			outcome: Outcome,
		},
		/// The defender lost a round of the game (and was banned): the next member of
		/// the result's majority defends it from the start, with fresh clocks.
		DefencePassed {
			/// The game.
			game: GameId,
			/// The task.
			task: TaskId,
			/// The defender that lost.
			lost: T::AccountId,
			/// The member defending now.
			defender: T::AccountId,
			/// How the lost defence ended.
			outcome: Outcome,
		},
		/// A game became stale (its pool was replaced or its result overturned) and was
		/// voided: the challenger's bond returned, the bars lifted, nobody punished.
		GameVoided {
			/// The game.
			game: GameId,
			/// The task.
			task: TaskId,
		},
		/// A random audit was drawn: the result waits for it.
		AuditAssigned {
			/// The task.
			task: TaskId,
			/// Who recomputes it.
			auditor: T::AccountId,
			/// The tick (block with room) by which it must confirm or challenge.
			due: BlockNumberFor<T>,
		},
		/// An auditor confirmed a result and was paid.
		AuditConfirmed {
			/// The task.
			task: TaskId,
			/// The auditor.
			auditor: T::AccountId,
			/// Paid from the task's escrow.
			reward: BalanceOf<T>,
		},
		/// An auditor challenged the audited result: the game answers the audit.
		AuditChallenged {
			/// The task.
			task: TaskId,
			/// The auditor.
			auditor: T::AccountId,
			/// The game it opened.
			game: GameId,
		},
		/// An auditor neither confirmed nor challenged in time and was slashed.
		AuditMissed {
			/// The task.
			task: TaskId,
			/// The auditor.
			auditor: T::AccountId,
			/// Amount slashed (burned or sent to `SlashDestination`).
			penalty: BalanceOf<T>,
		},
		/// An audit of a result that was overturned or replaced meanwhile was dropped
		/// (nobody paid or punished).
		AuditVoided {
			/// The task.
			task: TaskId,
			/// The auditor.
			auditor: T::AccountId,
		},
		/// The audit probability was set (or reset to the `AuditProbability` default).
		AuditProbabilitySet {
			/// The probability now in force.
			probability: Perbill,
		},
	}

	#[pallet::error]
	pub enum Error<T> {
		/// The task has no pending result.
		NotPending,
		/// A member of the result's majority cannot challenge its own result.
		OwnResult,
		/// The bond is below the challenge's bond ([`Pallet::challenge_bond`]).
		BondTooLow,
		/// The free balance cannot cover the bond.
		InsufficientBalance,
		/// No such game.
		UnknownGame,
		/// The caller is not the side this move belongs to.
		NotYourMove,
		/// This move does not fit the game's phase.
		WrongPhase,
		/// The mover's clock has run out (the game can only be timed out).
		ClockExpired,
		/// The side to move still has time.
		NotExpired,
		/// The number of posted states is not the split's inner points.
		WrongStateCount,
		/// The chosen sub-interval does not exist.
		BadChoice,
		/// The handoff or witness bytes do not decode (or are too long).
		Malformed,
		/// The graph root is not proved against the model commitment.
		BadGraphProof,
		/// The node descriptor is not proved against the graph root.
		BadNodeProof,
		/// The node exists (a no-node handoff was posted).
		NodeExists,
		/// No node, but the defender's graph state changed.
		ChangedWithoutNode,
		/// The input proofs do not match the node's inputs in number.
		InputCount,
		/// An input proof's kind or slot does not match the node's input.
		BadInputSource,
		/// An input or weight root is not proved.
		BadInputProof,
		/// A tensor type has no valid size or does not fit its slot.
		BadTensor,
		/// The output root does not take `G_{i-1}` to the defender's `G_i`.
		BadOutputProof,
		/// The final VM state is not halted with exit code 0.
		NotHalted,
		/// The final VM state is at step 0.
		NoSteps,
		/// The final VM state's output slot does not hold the output root.
		BadFinalOutput,
		/// The step witness does not start from the agreed state.
		WitnessPreState,
		/// The step witness is invalid (wrong, missing or extra memory proofs).
		BadWitness,
		/// The split is invalid (internal: the interval cannot be split).
		BadSplit,
		/// No such audit for the caller.
		NotAuditor,
		/// The result's challenge window has ended.
		ChallengeWindowClosed,
		/// The game still bears on a pending result (only stale games can be voided).
		NotStale,
		/// The handed-off node runs more than `MaxNodeSteps` VM steps (H4).
		TooManySteps,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn on_initialize(_now: BlockNumberFor<T>) -> Weight {
			Self::expire_audits()
		}

		fn integrity_test() {
			assert!(T::Fanout::get() >= 2, "k must be at least 2");
			assert!(T::MaxGamesPerTask::get() > 0 && T::MaxAudits::get() > 0);
			assert!(
				T::Fanout::get() <= 256,
				"k above 256: posted states would not fit a move"
			);
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::view_functions]
	impl<T: Config> Pallet<T> {
		/// The smallest bond `who` can challenge `task`'s pending result with now
		/// (`None`: no pending result): what [`Pallet::challenge`] requires.
		pub fn challenge_bond(task: TaskId, who: T::AccountId) -> Option<BalanceOf<T>> {
			let pending = T::Results::pending(task)?;
			let auditor = Self::audits_it(task, &who, &pending);
			Some(Self::required_bond(
				auditor,
				Self::strikes(&pending.defender),
			))
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Challenge `task`'s pending result: open a game against its defender. The
		/// result cannot become final while the game is open; the defender is barred
		/// from new trades.
		///
		/// - `origin`: signed, anyone but a member of the result's majority; `bond` is
		///   held from it.
		/// - `task`: a task with a pending result inside its challenge window.
		/// - `bond`: at least [`Pallet::challenge_bond`]: `MinChallengeBond`, doubled for
		///   each challenge the defender won lately (M8; the auditor of an open audit of
		///   the result pays `MinChallengeBond`).
		///
		/// Emits [`Event::GameOpened`].
		#[pallet::call_index(0)]
		// and the defender's strikes (M8), read and perhaps removed: not yet benchmarked
		#[pallet::weight(T::WeightInfo::challenge().saturating_add(T::DbWeight::get().reads_writes(1, 1)))]
		pub fn challenge(origin: OriginFor<T>, task: TaskId, bond: BalanceOf<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_challenge(who, task, bond)
		}

		/// Post the states at the inner points of the current split (graph states in
		/// phase 2, VM state hashes in phase 1): `m - 1` hashes for
		/// `m = min(k, b - a)` sub-intervals.
		///
		/// - `origin`: signed by the game's defender, on its move.
		/// - `game`: the game.
		/// - `states`: the hashes, in order.
		///
		/// Emits [`Event::StatesPosted`].
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::post_states(states.len() as u32))]
		pub fn post_states(
			origin: OriginFor<T>,
			game: GameId,
			states: BoundedVec<H256, T::Fanout>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_post_states(who, game, states)
		}

		/// Choose the sub-interval `index` (`0..m`) of the split: the challenger agrees
		/// with its start and disputes its end.
		///
		/// - `origin`: signed by the game's challenger, on its move.
		/// - `game`: the game.
		/// - `index`: the sub-interval.
		///
		/// Emits [`Event::Chosen`].
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::choose())]
		pub fn choose(origin: OriginFor<T>, game: GameId, index: u32) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_choose(who, game, index)
		}

		/// Hand off from the graph game to the VM game of the disputed node
		/// (`opml_dispute::Handoff`, SCALE-encoded): node data and the final VM state,
		/// proved against the commitments; or a proof that the node does not exist.
		///
		/// - `origin`: signed by the game's defender, on its move.
		/// - `game`: the game.
		/// - `data`: the encoded handoff, at most `MAX_HANDOFF_BYTES`.
		///
		/// Emits [`Event::HandedOff`] (or [`Event::GameResolved`] for a node that does
		/// not exist).
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::handoff())]
		pub fn handoff(
			origin: OriginFor<T>,
			game: GameId,
			data: BoundedVec<u8, ConstU32<MAX_HANDOFF_BYTES>>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_handoff(who, game, data)
		}

		/// Decide the last step: re-execute it from the agreed state with a witness
		/// (`opml_vm::witness::StepWitness`, SCALE-encoded). The defender wins if the
		/// step reaches its state, the challenger otherwise.
		///
		/// - `origin`: signed, anyone (it is the challenger's move: its clock runs).
		/// - `game`: the game.
		/// - `witness`: the encoded witness, at most `MAX_WITNESS_BYTES`.
		///
		/// Emits [`Event::GameResolved`].
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::one_step())]
		pub fn one_step(
			origin: OriginFor<T>,
			game: GameId,
			witness: BoundedVec<u8, ConstU32<MAX_WITNESS_BYTES>>,
		) -> DispatchResult {
			ensure_signed(origin)?;
			Self::do_one_step(game, witness)
		}

		/// End a game whose side to move has run out of clock: that side loses.
		///
		/// - `origin`: signed, anyone.
		/// - `game`: the game.
		///
		/// Emits [`Event::GameResolved`].
		#[pallet::call_index(5)]
		#[pallet::weight(T::WeightInfo::timeout())]
		pub fn timeout(origin: OriginFor<T>, game: GameId) -> DispatchResult {
			ensure_signed(origin)?;
			Self::do_timeout(game)
		}

		/// Void a stale game: one whose pool was replaced (the task was re-auctioned) or
		/// whose result was overturned. Returns the challenger's bond and lifts the bars;
		/// nobody is punished. Any move on a stale game does the same.
		///
		/// - `origin`: signed, anyone.
		/// - `game`: the game.
		///
		/// Emits [`Event::GameVoided`].
		#[pallet::call_index(8)]
		#[pallet::weight(T::WeightInfo::timeout())]
		pub fn void_game(origin: OriginFor<T>, game: GameId) -> DispatchResult {
			ensure_signed(origin)?;
			Self::do_void_game(game)
		}

		/// Confirm a drawn audit: the auditor recomputed the result and agrees.
		///
		/// - `origin`: signed by the drawn auditor.
		/// - `task`: the audited task.
		///
		/// Emits [`Event::AuditConfirmed`].
		#[pallet::call_index(6)]
		#[pallet::weight(T::WeightInfo::confirm_audit())]
		pub fn confirm_audit(origin: OriginFor<T>, task: TaskId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_confirm_audit(who, task)
		}

		/// Set the probability that a block draws an audit, or with `None` return to
		/// the runtime's `AuditProbability`.
		///
		/// - `origin`: `AdminOrigin` (root in the runtime).
		/// - `probability`: the new probability, or `None`.
		///
		/// Emits [`Event::AuditProbabilitySet`].
		#[pallet::call_index(7)]
		#[pallet::weight(T::WeightInfo::set_audit_probability())]
		pub fn set_audit_probability(
			origin: OriginFor<T>,
			probability: Option<Perbill>,
		) -> DispatchResult {
			T::AdminOrigin::ensure_origin(origin)?;
			AuditRate::<T>::set(probability);
			Self::deposit_event(Event::AuditProbabilitySet {
				probability: Self::audit_probability(),
			});
			Ok(())
		}
	}
}
