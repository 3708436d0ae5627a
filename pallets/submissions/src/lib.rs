//! # pallet-opml-submissions
//!
//! How providers hand in results without copying each other (DESIGN.md §3, §6; the
//! commit-reveal protocol of Bouchet et al.).
//!
//! When the market assigns a task to `r` providers ([`DeliveryCheck::on_assigned`]),
//! this pallet opens the task's redundancy [`Pool`]:
//!
//! 1. **Commit window** (until the market's deadline `due`): each assigned provider
//!    posts `commitment = H(tag, task, account, result, salt)`
//!    ([`opml_primitives_core::commitment::result_commitment`], the function the worker
//!    uses). The account is inside the hash, so nobody can commit someone else's
//!    result, and no commit is accepted once reveals can start. At `due` the market
//!    penalizes providers that did not commit ([`DeliveryCheck::delivered`]).
//! 2. **Reveal window** (`RevealPeriod` blocks from `due`): [`Pallet::reveal`] for a
//!    result root alone, or [`Pallet::reveal_chunk`] … [`Pallet::finish_reveal`] to
//!    reveal it *with its output tensor* (a training round's update, Bouchet's chunked
//!    reveal): the bytes stay in the block bodies, the chain keeps each chunk's tensor
//!    root ([`PayloadChunks`]); every chunk but the last has exactly `MaxChunkLen`
//!    (`32 · 2^h`) bytes, so the chunks' roots give the payload's tensor root
//!    ([`opml_primitives_core::merkle::pieces_root`]), and `finish_reveal` proves it is
//!    the last slot of the revealed result root `G_N`. So what is voted on and disputed
//!    is the result root either way, and a chunked reveal's bytes are exactly its
//!    output.
//! 3. **Tally** (at the end of the reveal window): providers that committed but did not
//!    reveal are slashed `RevealPenalty`. Reveals are grouped by result; a class with a
//!    strict majority of the `r` assigned providers (`2 × votes > r`) is **elected** and
//!    becomes *pending* for `ChallengePeriod` blocks; every member of every dissenting
//!    class automatically gets its own game against it ([`DisputeOpener`]: the
//!    elected class's first member defends; docs/security.md L5). **Without a strict
//!    majority** the largest class (the first of equal ones, in pool order) is elected
//!    the same way provided at least one game against it opened (M1: revealing
//!    garbage is no free veto, the liar loses its game and its bond whichever side it
//!    is on). With a single class short of a majority, or nothing revealed, nobody can
//!    be trusted: the task is re-run — it goes back to auction with a higher priority
//!    (market re-auction), nobody is paid ([`Event::NoMajority`]).
//! 4. **Final**: at the end of the challenge window with no game open (or when the last
//!    open game closes upheld), the market settles: the majority is paid, the rest of
//!    the escrow refunded. The result is kept in [`Results`] for `ResultRetention`
//!    blocks. A game is bound to the pool instance it was opened against. A defender
//!    that loses is banned by the arbitration pallet and the next member of the
//!    majority takes over the defence; a result is overturned only when every member
//!    lost its own defence, and the task is re-auctioned (nobody is punished for
//!    another's loss; docs/security.md C1, C2).
//! 5. **Output**: only the result root is voted on; the output tensor's bytes (at most
//!    `MaxOutputLen`) are published with [`Pallet::publish_output`] by anyone (the
//!    providers' daemons do it) with a proof that they are the last node's output under
//!    the pending or final result root (`opml_nn::commit::verify_output`). They are
//!    kept in [`Outputs`] as long as the result (dropped when it is overturned or
//!    forgotten), so a requester reads its answer from chain state.
//!
//! A single provider (`r = 1`) gets the same optimistic path: its reveal is a strict
//! majority of one and pending for the same window.
//!
//! Timed transitions run from a per-block agenda, at most `MaxAgendaPerBlock` items per
//! block in the hook; [`Pallet::process_agenda`] lets anyone process what is left.
//!
//! ## Calls
//! - [`Pallet::commit`], [`Pallet::reveal`], [`Pallet::reveal_chunk`],
//!   [`Pallet::finish_reveal`]: signed by an assigned provider.
//! - [`Pallet::process_agenda`], [`Pallet::publish_output`]: signed, anyone.
//! - [`Pallet::note_finalized`]: an inherent (the node notes its finalized block; a
//!   block counts on game clocks and windows only while finality lags at most
//!   `MaxFinalityLag`, M3).
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

/// The inherent data identifier of the finalized block number the node puts in each
/// block (a `u64`, [`Pallet::note_finalized`]).
pub const FINALITY_INHERENT: frame_support::inherent::InherentIdentifier = *b"opmlfin0";

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use alloc::vec::Vec;
	use frame_support::pallet_prelude::*;
	use frame_system::pallet_prelude::*;
	use pallet_opml_market::{DeliveryCheck, TaskId, TaskSettlement, TaskSubject};
	use pallet_opml_providers::ProviderRegistry;
	use sp_core::H256;
	use sp_runtime::traits::{One, SaturatedConversion, Saturating, Zero};

	/// Balance type (the provider registry's).
	pub type BalanceOf<T> = <<T as Config>::Providers as ProviderRegistry<
		<T as frame_system::Config>::AccountId,
	>>::Balance;
	/// A pool record.
	pub type PoolOf<T> = Pool<
		<T as frame_system::Config>::AccountId,
		BlockNumberFor<T>,
		<T as Config>::MaxRedundancy,
	>;

	#[pallet::pallet]
	pub struct Pallet<T>(_);

	/// Why this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// The deposit for a published output's bytes, until the output is dropped.
		OutputDeposit,
	}

	#[pallet::config]
	pub trait Config: frame_system::Config<RuntimeEvent: From<Event<Self>>> {
		/// The currency output deposits are held in.
		type Currency: frame_support::traits::fungible::InspectHold<
				Self::AccountId,
				Balance = BalanceOf<Self>,
				Reason = Self::RuntimeHoldReason,
			> + frame_support::traits::fungible::MutateHold<
				Self::AccountId,
				Balance = BalanceOf<Self>,
				Reason = Self::RuntimeHoldReason,
			>;
		/// The runtime's hold reasons.
		type RuntimeHoldReason: From<HoldReason>;
		/// Deposit per byte of a published output, held from the publisher until the
		/// output is dropped (with its result, or when the result is overturned): state
		/// is not free (M9).
		#[pallet::constant]
		type OutputDepositPerByte: Get<BalanceOf<Self>>;
		/// The provider registry (penalties, bans).
		type Providers: ProviderRegistry<
			Self::AccountId,
			Balance: Parameter + MaxEncodedLen + Copy + sp_runtime::traits::AtLeast32BitUnsigned,
		>;
		/// The market (settlement and re-auction).
		type Market: TaskSettlement<Self::AccountId>;
		/// What a task is about (the market): the model commitment outputs are proven
		/// against.
		type Tasks: TaskSubject;
		/// Opens games against a majority on dissent (the arbitration pallet).
		type Disputes: DisputeOpener<Self::AccountId>;
		/// Highest redundancy (at least the market's `MaxRedundancy`).
		#[pallet::constant]
		type MaxRedundancy: Get<u32>;
		/// Blocks of the reveal window (after the commit window closes).
		#[pallet::constant]
		type RevealPeriod: Get<BlockNumberFor<Self>>;
		/// Blocks of the challenge window of an elected result (at most the provider
		/// registry's `MaxChallengeWindow`, so a bond cannot leave during it).
		#[pallet::constant]
		type ChallengePeriod: Get<BlockNumberFor<Self>>;
		/// Slash of a provider that committed but did not reveal (burned or to the
		/// registry's destination).
		#[pallet::constant]
		type RevealPenalty: Get<BalanceOf<Self>>;
		/// Largest chunk of a chunked reveal, in bytes (a revealer picks its chunk length
		/// up to this): `32 · 2^h` bytes, so that a full chunk of this length is a whole
		/// subtree of the payload's tensor root. Size it well below the block length
		/// limit.
		#[pallet::constant]
		type MaxChunkLen: Get<u32>;
		/// Most chunks of one chunked reveal (so the largest payload is
		/// `MaxChunkLen × MaxPayloadChunks` bytes).
		#[pallet::constant]
		type MaxPayloadChunks: Get<u32>;
		/// Agenda items processed per block at most by the hook (the rest by
		/// `process_agenda`).
		#[pallet::constant]
		type MaxAgendaPerBlock: Get<u32>;
		/// Blocks a final result stays in [`Results`].
		#[pallet::constant]
		type ResultRetention: Get<BlockNumberFor<Self>>;
		/// Largest output tensor kept in [`Outputs`], in bytes.
		#[pallet::constant]
		type MaxOutputLen: Get<u32>;
		/// Bytes a block's `Normal` class must have left for the block to count on game
		/// clocks and reveal windows ([`Ticks`]): at least the largest game move or
		/// reveal chunk, so that filling blocks stops the clocks instead of running an
		/// honest party out of time (docs/security.md H3).
		#[pallet::constant]
		type RoomLength: Get<u32>;
		/// Weight a block's `Normal` class must have left for the block to count (see
		/// `RoomLength`).
		#[pallet::constant]
		type RoomWeight: Get<Weight>;
		/// Most blocks a reveal or challenge window is extended by, in total, because
		/// blocks in it had no room (see `RoomLength`): a bound on how long stuffing can
		/// hold a pool.
		#[pallet::constant]
		type MaxWindowExtension: Get<BlockNumberFor<Self>>;
		/// Most blocks the best chain may be ahead of the finalized block for a block to
		/// count on [`Ticks`]: workers act on finalized blocks, so when finality stalls
		/// the clocks stop rather than running honest parties out of time
		/// (docs/security.md M3). Set it above the usual finality lag and below every
		/// window (reveal, challenge, the market's shortest deadline and seed reveal
		/// period): the blocks of a stall up to this lag still count while daemons see
		/// nothing.
		#[pallet::constant]
		type MaxFinalityLag: Get<BlockNumberFor<Self>>;
		/// Weights.
		type WeightInfo: WeightInfo;
	}

	/// Blocks so far that left room in their `Normal` class (`RoomLength`, `RoomWeight`)
	/// for a game move or a reveal chunk: the time game clocks and reveal windows run
	/// on (H3). A full block does not count.
	#[pallet::storage]
	pub type Ticks<T: Config> = StorageValue<_, BlockNumberFor<T>, ValueQuery>;

	/// [`Ticks`] at the end of each of the last `max(RevealPeriod, ChallengePeriod) +
	/// MaxWindowExtension + 1` blocks (older entries are removed as blocks end): how
	/// many blocks with room a reveal or challenge window had.
	#[pallet::storage]
	pub type TicksAt<T: Config> = StorageMap<_, Twox64Concat, BlockNumberFor<T>, BlockNumberFor<T>>;

	/// The finalized block number the current block's author noted
	/// ([`Pallet::note_finalized`], an inherent), removed at the block's end. A block
	/// without it does not count on [`Ticks`].
	#[pallet::storage]
	pub type FinalizedNote<T: Config> = StorageValue<_, BlockNumberFor<T>, OptionQuery>;

	/// Whether the last block did not count on [`Ticks`] because finality lagged more
	/// than `MaxFinalityLag` (or was not noted): [`Event::ClocksPaused`] and
	/// [`Event::ClocksResumed`] mark the changes.
	#[pallet::storage]
	pub type FinalityPaused<T: Config> = StorageValue<_, bool, ValueQuery>;

	/// Redundancy pools of assigned tasks (removed when final, re-run or overturned).
	#[pallet::storage]
	pub type Pools<T: Config> = StorageMap<_, Twox64Concat, TaskId, PoolOf<T>>;

	/// Pools opened so far: the last pool's [`Pool::instance`].
	#[pallet::storage]
	pub type PoolCount<T> = StorageValue<_, u64, ValueQuery>;

	/// Final results, kept `ResultRetention` blocks.
	#[pallet::storage]
	pub type Results<T: Config> =
		StorageMap<_, Twox64Concat, TaskId, FinalResult<BlockNumberFor<T>>>;

	/// Output tensors of pending or final results (as long as the result is kept),
	/// with the publisher's deposit.
	#[pallet::storage]
	pub type Outputs<T: Config> = StorageMap<
		_,
		Twox64Concat,
		TaskId,
		Output<<T as frame_system::Config>::AccountId, BalanceOf<T>, <T as Config>::MaxOutputLen>,
	>;

	/// The tensor roots of the chunks of a chunked reveal so far, by task and provider
	/// (removed when the reveal finishes or the pool is tallied): the chain checks the
	/// payload against the revealed result without keeping the bytes.
	#[pallet::storage]
	pub type PayloadChunks<T: Config> = StorageDoubleMap<
		_,
		Twox64Concat,
		TaskId,
		Blake2_128Concat,
		T::AccountId,
		BoundedVec<H256, T::MaxPayloadChunks>,
		ValueQuery,
	>;

	/// Timed transitions by block. Not capped per block, so an item is never dropped
	/// however many fall due together (H6): each belongs to an assigned task, whose
	/// escrow pays for it, and at most `MaxAgendaPerBlock` run per block (the rest in
	/// later blocks or through [`Pallet::process_agenda`]).
	#[pallet::storage]
	pub type Agenda<T: Config> = StorageDoubleMap<
		_,
		Twox64Concat,
		BlockNumberFor<T>,
		Twox64Concat,
		(TaskId, Action),
		(),
		OptionQuery,
	>;

	/// The oldest block whose agenda is not fully processed.
	#[pallet::storage]
	pub type AgendaCursor<T: Config> = StorageValue<_, BlockNumberFor<T>, ValueQuery>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// Blocks stopped counting on game clocks and windows: finality lags more than
		/// `MaxFinalityLag` behind (M3).
		ClocksPaused {
			/// The block.
			block: BlockNumberFor<T>,
			/// The finalized block its author noted (`None`: not noted).
			finalized: Option<BlockNumberFor<T>>,
		},
		/// Blocks count again: finality caught up.
		ClocksResumed {
			/// The block.
			block: BlockNumberFor<T>,
		},
		/// A provider committed to a result.
		Committed {
			/// The task.
			task: TaskId,
			/// The provider.
			who: T::AccountId,
			/// Its commitment.
			commitment: H256,
		},
		/// A chunk of a chunked reveal arrived (its bytes are in this block's body).
		ChunkRevealed {
			/// The task.
			task: TaskId,
			/// The provider.
			who: T::AccountId,
			/// The chunk's index.
			index: u32,
			/// Its length in bytes.
			len: u32,
		},
		/// A provider revealed its result, matching its commitment.
		Revealed {
			/// The task.
			task: TaskId,
			/// The provider.
			who: T::AccountId,
			/// The result root `G_N`.
			result: H256,
		},
		/// Blocks of the reveal window were full (no room for a reveal): the window is
		/// extended so that it has `RevealPeriod` blocks with room (H3), at most by
		/// `MaxWindowExtension` in all.
		RevealExtended {
			/// The task.
			task: TaskId,
			/// The new end of the reveal window (its tally).
			reveal_end: BlockNumberFor<T>,
		},
		/// Blocks of an elected result's challenge window were full (no room for a
		/// challenge): the window is extended so that it has `ChallengePeriod` blocks
		/// with room (H3), at most by `MaxWindowExtension` in all.
		ChallengeWindowExtended {
			/// The task.
			task: TaskId,
			/// The new end of the challenge window.
			until: BlockNumberFor<T>,
		},
		/// A provider committed but did not reveal in time.
		RevealMissed {
			/// The task.
			task: TaskId,
			/// The provider.
			who: T::AccountId,
			/// Amount slashed.
			penalty: BalanceOf<T>,
		},
		/// A result was elected (a strict majority, or the largest class against which
		/// games opened: `votes` tells which); it is pending until `until`.
		ResultElected {
			/// The task.
			task: TaskId,
			/// The result.
			result: H256,
			/// Providers who revealed it.
			votes: u32,
			/// End of the challenge window.
			until: BlockNumberFor<T>,
		},
		/// A game was opened automatically for a dissenting class.
		DisputeOpened {
			/// The task.
			task: TaskId,
			/// The majority's representative.
			defender: T::AccountId,
			/// The dissenting class's representative.
			challenger: T::AccountId,
			/// The dissenting result.
			claimed: H256,
		},
		/// A dissenting class could not get a game (no arbitration or it refused).
		DisputeNotOpened {
			/// The task.
			task: TaskId,
			/// The dissenting class's representative.
			challenger: T::AccountId,
			/// The dissenting result.
			claimed: H256,
		},
		/// No result could be elected (nothing revealed, one class short of a majority,
		/// or no game against the largest class opened): the task is re-run (back to
		/// auction), nobody paid.
		NoMajority {
			/// The task.
			task: TaskId,
			/// Distinct results revealed.
			classes: u32,
			/// Reveals.
			reveals: u32,
		},
		/// The result is final and the task settled.
		ResultFinal {
			/// The task.
			task: TaskId,
			/// The result.
			result: H256,
		},
		/// Every member of the pending result's majority lost its defence in a game: the
		/// result is overturned, the pool's other games are voided, the task
		/// re-auctioned.
		ResultOverturned {
			/// The task.
			task: TaskId,
			/// The overturned result.
			result: H256,
		},
		/// The output tensor of a result was published and proven (its bytes are in
		/// [`Outputs`]).
		OutputPublished {
			/// The task.
			task: TaskId,
			/// Who published it.
			who: T::AccountId,
			/// The result root it was proven against.
			result: H256,
			/// Its length in bytes.
			len: u32,
		},
	}

	#[pallet::error]
	pub enum Error<T> {
		/// The task has no pool (not assigned, or already final).
		UnknownTask,
		/// The caller is not one of the task's assigned providers.
		NotAssigned,
		/// The commit window has closed.
		CommitClosed,
		/// The caller has committed already.
		AlreadyCommitted,
		/// The reveal window opens when the commit window closes.
		RevealNotOpen,
		/// The reveal window has closed.
		RevealClosed,
		/// The caller did not commit.
		NotCommitted,
		/// The caller has revealed already.
		AlreadyRevealed,
		/// The revealed result and salt do not open the caller's commitment (wrong
		/// result, wrong salt, or someone else's reveal).
		CommitmentMismatch,
		/// A chunk is empty.
		EmptyChunk,
		/// A chunk is longer than `MaxChunkLen`, or than the reveal's first chunk.
		ChunkTooLarge,
		/// A chunk's index is not the next expected one.
		ChunkOutOfOrder,
		/// A short chunk already ended the payload.
		PayloadEnded,
		/// A whole reveal was attempted after chunks started, or `finish_reveal` before
		/// any chunk.
		WrongRevealKind,
		/// Nothing on the agenda is due.
		NothingDue,
		/// The task's result is not pending (not elected yet, or already final).
		NotPending,
		/// The task has no pending or final result to publish an output for.
		NoResult,
		/// The output of this result is published already.
		OutputKnown,
		/// The output is empty, longer than `MaxOutputLen`, or not as long as the model's
		/// output type says (a chunked reveal's bytes included).
		BadOutputLength,
		/// The proof does not show the bytes are the last node's output under the
		/// result root (wrong bytes, wrong slot, or not the last slot).
		BadOutputProof,
		/// A chunked reveal would exceed `MaxPayloadChunks` chunks.
		TooManyChunks,
		/// The free balance cannot cover the output deposit.
		InsufficientBalance,
		/// The shape proof does not hold against the task's model commitment (not its
		/// graph, not the last node, or a malformed node).
		BadOutputShape,
		/// The provider is banned: it cannot commit or reveal any more (L4).
		ProviderBanned,
		/// The finalized block was already noted in this block.
		FinalityAlreadyNoted,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn on_initialize(now: BlockNumberFor<T>) -> Weight {
			// and `on_finalize`'s tick: 4 reads, 5 writes
			Self::on_block(now).saturating_add(T::DbWeight::get().reads_writes(4, 5))
		}

		fn on_finalize(now: BlockNumberFor<T>) {
			Self::tick(now)
		}

		fn integrity_test() {
			assert!(T::MaxRedundancy::get() > 0 && T::MaxAgendaPerBlock::get() > 0);
			assert!(T::MaxChunkLen::get() >= 32);
			assert!(T::MaxChunkLen::get().is_power_of_two());
			assert!(T::MaxPayloadChunks::get() > 0);
			assert!(!T::RevealPeriod::get().is_zero());
			// a stall must leave a window some blocks once the clocks stop (M3)
			assert!(T::RevealPeriod::get() > T::MaxFinalityLag::get());
			assert!(T::ChallengePeriod::get() > T::MaxFinalityLag::get());
			assert!(T::MaxOutputLen::get() > 0);
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Commit to a result during the commit window.
		///
		/// - `origin`: signed by one of the task's assigned providers.
		/// - `task`: the task.
		/// - `commitment`: `result_commitment(task, account, result, salt)` from
		///   `opml_primitives_core::commitment`, where `result` is the result root `G_N`
		///   (for a chunked reveal too: its chunks are proven to be `G_N`'s output).
		///
		/// Emits [`Event::Committed`].
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::commit())]
		pub fn commit(origin: OriginFor<T>, task: TaskId, commitment: H256) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_commit(who, task, commitment)
		}

		/// Reveal a result during the reveal window.
		///
		/// - `origin`: signed by a provider that committed.
		/// - `task`: the task.
		/// - `result`: the result root (`G_N`, DESIGN.md §3).
		/// - `salt`: the salt of the commitment.
		///
		/// Emits [`Event::Revealed`].
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::reveal())]
		pub fn reveal(
			origin: OriginFor<T>,
			task: TaskId,
			result: H256,
			salt: [u8; 32],
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_reveal(who, task, result, salt)
		}

		/// Reveal the next chunk of the result's output tensor during the reveal window
		/// (the update of a training round, or any large output): its bytes are published
		/// in this block's body, the chain keeps only the chunk's tensor root. Chunks come
		/// in order from index 0, at most `MaxPayloadChunks` of them. The first chunk sets
		/// the chunk length `L` (the revealer's choice, e.g. to fit its transactions to
		/// the blocks): every later chunk has exactly `L` bytes but the last, which may be
		/// shorter. A payload of more than one chunk needs `L` to be a power of two of at
		/// least 32 (each chunk is then a whole subtree of the payload's tensor tree); a
		/// shorter chunk ends the payload.
		///
		/// - `origin`: signed by a provider that committed.
		/// - `task`: the task.
		/// - `index`: the chunk's index (the number of chunks revealed so far).
		/// - `chunk`: `1..=MaxChunkLen` bytes (at most the first chunk's length).
		///
		/// Emits [`Event::ChunkRevealed`].
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::reveal_chunk(chunk.len() as u32))]
		pub fn reveal_chunk(
			origin: OriginFor<T>,
			task: TaskId,
			index: u32,
			chunk: Vec<u8>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_reveal_chunk(who, task, index, chunk)
		}

		/// Finish a chunked reveal: reveal the result root `G_N`, which must open the
		/// commitment with `salt`, and prove that the chunks are its output tensor: the
		/// chunks' tensor root is at the last node's slot of `result`, every later slot
		/// is empty, and the chunks hold exactly as many bytes as the model's output
		/// type says (`shape`, proven against the model commitment: M6, L7). So the
		/// published bytes are exactly what the election and any dispute are about.
		///
		/// - `origin`: signed by a provider whose chunks arrived.
		/// - `task`: the task.
		/// - `salt`: the salt of the commitment.
		/// - `result`: the result root `G_N`.
		/// - `shape`: the model's last node and its proofs ([`ShapeProof`]; from
		///   `opml_nn::commit::output_proof`).
		/// - `siblings`: the output slot's Merkle proof in `G_N`
		///   (`opml_nn::commit::STATE_DEPTH` hashes, bottom first).
		///
		/// Emits [`Event::Revealed`].
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::finish_reveal())]
		pub fn finish_reveal(
			origin: OriginFor<T>,
			task: TaskId,
			salt: [u8; 32],
			result: H256,
			shape: ShapeProof,
			siblings: BoundedVec<H256, ConstU32<{ opml_nn::commit::STATE_DEPTH }>>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_finish_reveal(who, task, salt, result, shape, siblings.into_inner())
		}

		/// Process up to `MaxAgendaPerBlock` due agenda items the hook left over, oldest
		/// first. Fails with `NothingDue` if nothing was due.
		///
		/// - `origin`: signed, any account.
		#[pallet::call_index(4)]
		#[pallet::weight(Pallet::<T>::agenda_weight(T::MaxAgendaPerBlock::get()))]
		pub fn process_agenda(origin: OriginFor<T>) -> DispatchResult {
			ensure_signed(origin)?;
			let (items, blocks) = Self::process(T::MaxAgendaPerBlock::get());
			ensure!(items + blocks > 0, Error::<T>::NothingDue);
			Ok(())
		}

		/// Publish the output tensor of a task's pending or final result: `output`'s
		/// tensor root is at the last node's slot of the result root `G_N`, every later
		/// slot is empty, and its length is the model's output length (`shape`, proven
		/// against the model commitment), so no other bytes with the same root (the
		/// root itself, inner nodes, zero padding) can take its place (M6, L7). Kept in
		/// [`Outputs`] while the result is kept.
		///
		/// - `origin`: signed, any account (providers' daemons publish their result's
		///   output); `OutputDepositPerByte` × the length is held from it until the
		///   output is dropped.
		/// - `task`: the task.
		/// - `output`: the output tensor's bytes, `1..=MaxOutputLen` of them.
		/// - `shape`: the model's last node and its proofs ([`ShapeProof`]).
		/// - `siblings`: the output slot's Merkle proof in `G_N`
		///   (`opml_nn::commit::STATE_DEPTH` hashes, bottom first).
		///
		/// Emits [`Event::OutputPublished`].
		#[pallet::call_index(5)]
		#[pallet::weight(T::WeightInfo::publish_output(output.len() as u32))]
		pub fn publish_output(
			origin: OriginFor<T>,
			task: TaskId,
			output: Vec<u8>,
			shape: ShapeProof,
			siblings: BoundedVec<H256, ConstU32<{ opml_nn::commit::STATE_DEPTH }>>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_publish_output(who, task, output, shape, siblings.into_inner())
		}

		/// Note the finalized block number as the block's author sees it (an inherent:
		/// origin none, put in by the node, at most once per block). The block counts on
		/// [`Ticks`] only if it is at most `MaxFinalityLag` behind (M3). Importing nodes
		/// refuse a block noting more than `MaxFinalityLag` past their own finalized
		/// block, so an author can add at most that much; a higher number than the
		/// parent block is noted as the parent's.
		///
		/// - `finalized`: the finalized block number.
		///
		/// Fails with `FinalityAlreadyNoted` on a second note in a block.
		#[pallet::call_index(6)]
		#[pallet::weight((T::DbWeight::get().reads_writes(1, 1), DispatchClass::Mandatory))]
		pub fn note_finalized(
			origin: OriginFor<T>,
			#[pallet::compact] finalized: BlockNumberFor<T>,
		) -> DispatchResult {
			ensure_none(origin)?;
			ensure!(
				!FinalizedNote::<T>::exists(),
				Error::<T>::FinalityAlreadyNoted
			);
			let parent = frame_system::Pallet::<T>::block_number().saturating_sub(One::one());
			FinalizedNote::<T>::put(finalized.min(parent));
			Ok(())
		}
	}

	/// Why an importing node refuses a block's finality note.
	#[derive(Encode, Decode, Debug, PartialEq, Eq)]
	pub enum FinalityInherentError {
		/// It notes a block more than `MaxFinalityLag` past the importer's finalized one.
		AheadOfLocalFinality,
	}

	impl frame_support::inherent::IsFatalError for FinalityInherentError {
		fn is_fatal_error(&self) -> bool {
			true
		}
	}

	#[pallet::inherent]
	impl<T: Config> ProvideInherent for Pallet<T> {
		type Call = Call<T>;
		type Error = FinalityInherentError;
		const INHERENT_IDENTIFIER: InherentIdentifier = FINALITY_INHERENT;

		fn create_inherent(data: &InherentData) -> Option<Self::Call> {
			let finalized: u64 = data.get_data(&FINALITY_INHERENT).ok().flatten()?;
			Some(Call::note_finalized {
				finalized: finalized.saturated_into(),
			})
		}

		fn check_inherent(call: &Self::Call, data: &InherentData) -> Result<(), Self::Error> {
			let Call::note_finalized { finalized } = call else {
				return Ok(());
			};
			// an importer without a view of finality has nothing to compare with
			let Ok(Some(local)) = data.get_data::<u64>(&FINALITY_INHERENT) else {
				return Ok(());
			};
			let limit = local.saturating_add(T::MaxFinalityLag::get().saturated_into());
			if (*finalized).saturated_into::<u64>() > limit {
				return Err(FinalityInherentError::AheadOfLocalFinality);
			}
			Ok(())
		}

		fn is_inherent(call: &Self::Call) -> bool {
			matches!(call, Call::note_finalized { .. })
		}
	}

	impl<T: Config> DeliveryCheck<T::AccountId, BlockNumberFor<T>> for Pallet<T> {
		fn delivered(task: TaskId, who: &T::AccountId) -> bool {
			Pools::<T>::get(task).is_some_and(|p| {
				p.entries
					.iter()
					.any(|e| &e.who == who && e.commitment.is_some())
			})
		}

		fn on_assigned(task: TaskId, providers: &[T::AccountId], due: BlockNumberFor<T>) {
			Self::open_pool(task, providers, due)
		}

		fn extend_commit_window(
			task: TaskId,
			start: BlockNumberFor<T>,
			end: BlockNumberFor<T>,
			period: BlockNumberFor<T>,
		) -> BlockNumberFor<T> {
			Self::extend_commits(task, start, end, period)
		}

		fn window_shortfall(
			start: BlockNumberFor<T>,
			end: BlockNumberFor<T>,
			period: BlockNumberFor<T>,
		) -> BlockNumberFor<T> {
			Self::shortfall(start, end, period)
		}

		fn on_unassigned(task: TaskId) {
			Pools::<T>::remove(task);
			// chunk roots of a reveal in flight go with the pool (L3)
			let _ = PayloadChunks::<T>::clear_prefix(task, T::MaxRedundancy::get(), None);
		}
	}
}
