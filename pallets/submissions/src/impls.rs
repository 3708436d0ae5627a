//! The pallet's logic: commit, reveal (whole or chunked), tally, finalization, the
//! agenda, the arbitration interface and the invariants.

use crate::{pallet::*, types::*, weights::WeightInfo};
use alloc::vec::Vec;
use frame_support::dispatch::DispatchClass;
use frame_support::{pallet_prelude::*, BoundedVec};
use frame_system::pallet_prelude::BlockNumberFor;
use opml_primitives_core::{
	commitment::result_commitment,
	merkle::{bytes_root, depth_for, pieces_root},
	Hash,
};
use pallet_opml_market::{TaskId, TaskSettlement, TaskSubject};
use pallet_opml_providers::ProviderRegistry;
use sp_core::H256;
use sp_runtime::{
	traits::{One, Saturating, Zero},
	Perbill,
};

impl<T: Config> Pallet<T> {
	fn now() -> BlockNumberFor<T> {
		frame_system::Pallet::<T>::block_number()
	}

	/// Open the pool of a newly assigned task and schedule its tally.
	pub(crate) fn open_pool(task: TaskId, providers: &[T::AccountId], due: BlockNumberFor<T>) {
		let entries: Vec<Entry<T::AccountId>> = providers
			.iter()
			.take(T::MaxRedundancy::get() as usize)
			.map(|p| Entry {
				who: p.clone(),
				commitment: None,
				reveal: Reveal::None,
			})
			.collect();
		let reveal_end = due.saturating_add(T::RevealPeriod::get());
		let instance = PoolCount::<T>::mutate(|n| {
			*n = n.saturating_add(1);
			*n
		});
		Pools::<T>::insert(
			task,
			Pool {
				instance,
				entries: BoundedVec::truncate_from(entries),
				commit_end: due,
				reveal_end,
				phase: Phase::Collecting,
			},
		);
		Self::schedule(reveal_end, task, Action::Tally);
	}

	/// Put `(task, action)` on the agenda at `at` (never dropped: H6).
	pub(crate) fn schedule(at: BlockNumberFor<T>, task: TaskId, action: Action) {
		Agenda::<T>::insert(at, (task, action), ());
	}

	pub(crate) fn do_commit(who: T::AccountId, task: TaskId, commitment: H256) -> DispatchResult {
		let mut pool = Pools::<T>::get(task).ok_or(Error::<T>::UnknownTask)?;
		let now = Self::now();
		let entry = pool
			.entries
			.iter_mut()
			.find(|e| e.who == who)
			.ok_or(Error::<T>::NotAssigned)?;
		ensure!(now < pool.commit_end, Error::<T>::CommitClosed);
		ensure!(entry.commitment.is_none(), Error::<T>::AlreadyCommitted);
		// checked at use, not only at assignment (L4)
		ensure!(!T::Providers::is_banned(&who), Error::<T>::ProviderBanned);
		entry.commitment = Some(commitment);
		Pools::<T>::insert(task, pool);
		Self::deposit_event(Event::Committed {
			task,
			who,
			commitment,
		});
		Ok(())
	}

	/// The caller's entry, checked to be in its reveal window with a commitment.
	fn revealing<'a>(
		pool: &'a mut PoolOf<T>,
		who: &T::AccountId,
	) -> Result<&'a mut Entry<T::AccountId>, DispatchError> {
		let now = Self::now();
		let (commit_end, reveal_end) = (pool.commit_end, pool.reveal_end);
		let collecting = matches!(pool.phase, Phase::Collecting);
		let entry = pool
			.entries
			.iter_mut()
			.find(|e| &e.who == who)
			.ok_or(Error::<T>::NotAssigned)?;
		ensure!(now >= commit_end, Error::<T>::RevealNotOpen);
		ensure!(now < reveal_end && collecting, Error::<T>::RevealClosed);
		ensure!(entry.commitment.is_some(), Error::<T>::NotCommitted);
		ensure!(!T::Providers::is_banned(who), Error::<T>::ProviderBanned);
		Ok(entry)
	}

	/// Whether `result` and `salt` open `who`'s commitment on `task`.
	fn opens(
		task: TaskId,
		who: &T::AccountId,
		commitment: Option<H256>,
		result: H256,
		salt: &[u8; 32],
	) -> bool {
		commitment == Some(H256(result_commitment(task, who, &result.0, salt)))
	}

	pub(crate) fn do_reveal(
		who: T::AccountId,
		task: TaskId,
		result: H256,
		salt: [u8; 32],
	) -> DispatchResult {
		let mut pool = Pools::<T>::get(task).ok_or(Error::<T>::UnknownTask)?;
		let entry = Self::revealing(&mut pool, &who)?;
		match entry.reveal {
			Reveal::None => {}
			Reveal::Chunks(_) => return Err(Error::<T>::WrongRevealKind.into()),
			Reveal::Done(_) => return Err(Error::<T>::AlreadyRevealed.into()),
		}
		ensure!(
			Self::opens(task, &who, entry.commitment, result, &salt),
			Error::<T>::CommitmentMismatch
		);
		entry.reveal = Reveal::Done(result);
		Pools::<T>::insert(task, pool);
		Self::deposit_event(Event::Revealed { task, who, result });
		Ok(())
	}

	pub(crate) fn do_reveal_chunk(
		who: T::AccountId,
		task: TaskId,
		index: u32,
		chunk: Vec<u8>,
	) -> DispatchResult {
		ensure!(!chunk.is_empty(), Error::<T>::EmptyChunk);
		let max = T::MaxChunkLen::get();
		let len = u32::try_from(chunk.len()).map_err(|_| Error::<T>::ChunkTooLarge)?;
		ensure!(len <= max, Error::<T>::ChunkTooLarge);
		let mut pool = Pools::<T>::get(task).ok_or(Error::<T>::UnknownTask)?;
		let entry = Self::revealing(&mut pool, &who)?;
		let prev = match &entry.reveal {
			Reveal::None => {
				ensure!(index == 0, Error::<T>::ChunkOutOfOrder);
				None
			}
			Reveal::Chunks(p) => {
				ensure!(!p.closed, Error::<T>::PayloadEnded);
				ensure!(index == p.count, Error::<T>::ChunkOutOfOrder);
				ensure!(len <= p.chunk_len, Error::<T>::ChunkTooLarge);
				Some(p.clone())
			}
			Reveal::Done(_) => return Err(Error::<T>::AlreadyRevealed.into()),
		};
		let progress = match prev {
			// the first chunk sets the chunk length; one that is not a whole Merkle
			// subtree (a power of two of at least 32 bytes) is the whole payload
			None => ChunkProgress {
				count: 1,
				bytes: u64::from(len),
				closed: len < 32 || !len.is_power_of_two(),
				chunk_len: len,
			},
			Some(p) => ChunkProgress {
				count: p.count.saturating_add(1),
				bytes: p.bytes.saturating_add(u64::from(len)),
				closed: len < p.chunk_len,
				chunk_len: p.chunk_len,
			},
		};
		let mut roots = PayloadChunks::<T>::get(task, &who);
		roots
			.try_push(H256(bytes_root(&chunk).0))
			.map_err(|_| Error::<T>::TooManyChunks)?;
		PayloadChunks::<T>::insert(task, &who, roots);
		entry.reveal = Reveal::Chunks(progress);
		Pools::<T>::insert(task, pool);
		Self::deposit_event(Event::ChunkRevealed {
			task,
			who,
			index,
			len,
		});
		Ok(())
	}

	/// The tensor root of `who`'s chunked payload for `task` so far (every chunk but
	/// the last is a whole subtree of height `log2(chunk_len / 32)`).
	fn payload_root(
		task: TaskId,
		who: &T::AccountId,
		p: &ChunkProgress,
	) -> Result<Hash, DispatchError> {
		let chunk_len = u64::from(p.chunk_len);
		let height = depth_for(chunk_len.div_ceil(32));
		let roots = PayloadChunks::<T>::get(task, who);
		let full = u64::from(p.count.saturating_sub(1));
		let last_len = p.bytes.saturating_sub(full.saturating_mul(chunk_len));
		let last_depth = depth_for(last_len.div_ceil(32));
		let n = roots.len();
		let pieces: Vec<(Hash, u32)> = roots
			.iter()
			.enumerate()
			.map(|(i, r)| (r.0, if i + 1 == n { last_depth } else { height }))
			.collect();
		pieces_root(&pieces, height)
			.map(|(root, _)| root)
			.map_err(|_| Error::<T>::BadOutputProof.into())
	}

	/// The output slot `shape` proves for the model `commitment`, if its output has
	/// `len` bytes (M6, L7: a tensor root alone binds neither the length nor the slot).
	fn output_slot(commitment: &H256, shape: &ShapeProof, len: u64) -> Result<u32, DispatchError> {
		shape.output_slot(commitment, len).map_err(|e| {
			match e {
				ShapeMismatch::Shape => Error::<T>::BadOutputShape,
				ShapeMismatch::Length => Error::<T>::BadOutputLength,
			}
			.into()
		})
	}

	pub(crate) fn do_finish_reveal(
		who: T::AccountId,
		task: TaskId,
		salt: [u8; 32],
		result: H256,
		shape: ShapeProof,
		siblings: Vec<H256>,
	) -> DispatchResult {
		let mut pool = Pools::<T>::get(task).ok_or(Error::<T>::UnknownTask)?;
		let entry = Self::revealing(&mut pool, &who)?;
		let progress = match &entry.reveal {
			Reveal::Chunks(p) => p.clone(),
			Reveal::None => return Err(Error::<T>::WrongRevealKind.into()),
			Reveal::Done(_) => return Err(Error::<T>::AlreadyRevealed.into()),
		};
		ensure!(
			Self::opens(task, &who, entry.commitment, result, &salt),
			Error::<T>::CommitmentMismatch
		);
		let commitment = T::Tasks::subject(task)
			.ok_or(Error::<T>::UnknownTask)?
			.commitment;
		let slot = Self::output_slot(&commitment, &shape, progress.bytes)?;
		let output_root = Self::payload_root(task, &who, &progress)?;
		let proof = opml_nn::commit::state_slot_proof(slot, siblings.into_iter().map(|h| h.0));
		ensure!(
			opml_nn::commit::verify_output_root(&result.0, &output_root, &proof),
			Error::<T>::BadOutputProof
		);
		PayloadChunks::<T>::remove(task, &who);
		entry.reveal = Reveal::Done(result);
		Pools::<T>::insert(task, pool);
		Self::deposit_event(Event::Revealed { task, who, result });
		Ok(())
	}

	/// The weight of processing `n` agenda items (each at worst a tally or a
	/// finalization of a full pool) plus walking the agenda.
	pub(crate) fn agenda_weight(n: u32) -> Weight {
		let r = T::MaxRedundancy::get();
		let item = T::WeightInfo::tally(r).max(T::WeightInfo::finalize(r));
		T::WeightInfo::process_base()
			.saturating_add(item.saturating_mul(u64::from(n)))
			.saturating_add(T::DbWeight::get().reads_writes(
				u64::from(4u32.saturating_mul(n).saturating_add(1)),
				u64::from(n).saturating_add(1),
			))
	}

	/// Whether the block so far leaves `RoomLength` bytes and `RoomWeight` in its
	/// `Normal` class (the length counted is the whole block's, a safe side).
	pub fn had_room() -> bool {
		let len = *T::BlockLength::get().max.get(DispatchClass::Normal);
		let used_len = frame_system::Pallet::<T>::block_size();
		let weights = T::BlockWeights::get();
		let max_weight = weights
			.get(DispatchClass::Normal)
			.max_total
			.unwrap_or(weights.max_block);
		let used = *frame_system::Pallet::<T>::block_weight().get(DispatchClass::Normal);
		used_len.saturating_add(T::RoomLength::get()) <= len
			&& used
				.saturating_add(T::RoomWeight::get())
				.all_lte(max_weight)
	}

	/// Whether block `now` is at most `MaxFinalityLag` ahead of the finalized block its
	/// author noted (none noted: it is not). Emits the pause and resume events.
	fn finality_kept_up(now: BlockNumberFor<T>) -> bool {
		let noted = FinalizedNote::<T>::take();
		let kept_up = noted.is_some_and(|f| now.saturating_sub(f) <= T::MaxFinalityLag::get());
		let paused = FinalityPaused::<T>::get();
		if paused == kept_up {
			FinalityPaused::<T>::put(!kept_up);
			Self::deposit_event(if kept_up {
				Event::ClocksResumed { block: now }
			} else {
				Event::ClocksPaused {
					block: now,
					finalized: noted,
				}
			});
		}
		kept_up
	}

	/// End of block `now`: count it on [`Ticks`] if it had room and finality kept up;
	/// remember the count for reveal windows; forget the count of a block no window can
	/// reach.
	pub(crate) fn tick(now: BlockNumberFor<T>) {
		let mut ticks = Ticks::<T>::get();
		// both checks run (the note is taken every block)
		let kept_up = Self::finality_kept_up(now);
		if Self::had_room() && kept_up {
			ticks = ticks.saturating_add(One::one());
			Ticks::<T>::put(ticks);
		}
		TicksAt::<T>::insert(now, ticks);
		let keep = Self::tick_history();
		if now > keep {
			TicksAt::<T>::remove(now.saturating_sub(keep));
		}
	}

	/// Blocks of [`TicksAt`] kept.
	fn tick_history() -> BlockNumberFor<T> {
		T::RevealPeriod::get()
			.max(T::ChallengePeriod::get())
			.saturating_add(T::MaxWindowExtension::get())
			.saturating_add(One::one())
	}

	/// Blocks to add to the window `start..end` (first planned as `period` blocks) so
	/// that it has `period` blocks with room, within `MaxWindowExtension` of its
	/// planned end; 0 when it had them (or its start is out of the kept history).
	pub(crate) fn shortfall(
		start: BlockNumberFor<T>,
		end: BlockNumberFor<T>,
		period: BlockNumberFor<T>,
	) -> BlockNumberFor<T> {
		let one: BlockNumberFor<T> = One::one();
		let (Some(from), Some(to)) = (
			TicksAt::<T>::get(start.saturating_sub(one)),
			TicksAt::<T>::get(end.saturating_sub(one)),
		) else {
			return Zero::zero();
		};
		let had = to.saturating_sub(from);
		let extended = end.saturating_sub(start.saturating_add(period));
		let left = T::MaxWindowExtension::get().saturating_sub(extended);
		period.saturating_sub(had).min(left)
	}

	/// The market's commit deadline for `task` at `end` (its window `start..end`,
	/// planned as `period` blocks) came with full blocks in the window: move the pool's
	/// commit and reveal windows on so that the commit window has `period` blocks with
	/// room (within `MaxWindowExtension`; H3). Returns the blocks added.
	pub(crate) fn extend_commits(
		task: TaskId,
		start: BlockNumberFor<T>,
		end: BlockNumberFor<T>,
		period: BlockNumberFor<T>,
	) -> BlockNumberFor<T> {
		let Some(mut pool) = Pools::<T>::get(task) else {
			return Zero::zero();
		};
		if !matches!(pool.phase, Phase::Collecting) || pool.commit_end > end {
			return Zero::zero();
		}
		let extra = Self::shortfall(start, end, period);
		if extra.is_zero() {
			return extra;
		}
		let commit_end = Self::extended_end(end, extra);
		pool.commit_end = commit_end;
		pool.reveal_end = commit_end.saturating_add(T::RevealPeriod::get());
		let tally = pool.reveal_end;
		Pools::<T>::insert(task, pool);
		Self::schedule(tally, task, Action::Tally);
		commit_end.saturating_sub(end)
	}

	/// The end of a window extended by `extra`: never before the next block.
	fn extended_end(end: BlockNumberFor<T>, extra: BlockNumberFor<T>) -> BlockNumberFor<T> {
		end.saturating_add(extra)
			.max(Self::now().saturating_add(One::one()))
	}

	/// A pool whose reveal window is over: tallied, unless the window had full blocks
	/// (H3), then extended.
	fn tally_or_extend(task: TaskId, mut pool: PoolOf<T>) {
		let extra = Self::shortfall(pool.commit_end, pool.reveal_end, T::RevealPeriod::get());
		if extra.is_zero() {
			return Self::tally(task, pool);
		}
		let end = Self::extended_end(pool.reveal_end, extra);
		pool.reveal_end = end;
		Pools::<T>::insert(task, pool);
		Self::schedule(end, task, Action::Tally);
		Self::deposit_event(Event::RevealExtended {
			task,
			reveal_end: end,
		});
	}

	/// A pending result whose window is over and which has no open game: final, unless
	/// its challenge window had full blocks (H3), then extended.
	pub(crate) fn finalize_or_extend(task: TaskId, mut pool: PoolOf<T>) {
		let start = pool.reveal_end;
		let Phase::Pending { until, .. } = &mut pool.phase else {
			return;
		};
		let extra = Self::shortfall(start, *until, T::ChallengePeriod::get());
		if extra.is_zero() {
			return Self::finalize(task, pool);
		}
		let end = Self::extended_end(*until, extra);
		*until = end;
		Pools::<T>::insert(task, pool);
		Self::schedule(end, task, Action::Finalize);
		Self::deposit_event(Event::ChallengeWindowExtended { task, until: end });
	}

	pub(crate) fn on_block(now: BlockNumberFor<T>) -> Weight {
		if AgendaCursor::<T>::get().is_zero() {
			// first block with this pallet: nothing before now can be scheduled
			AgendaCursor::<T>::put(now);
		}
		let max = T::MaxAgendaPerBlock::get();
		let (items, _) = Self::process(max);
		Self::agenda_weight(items).saturating_add(T::DbWeight::get().reads_writes(2, 1))
	}

	/// Process up to `max` due agenda items, oldest block first, skipping at most
	/// `4 × max + 1` empty blocks; returns `(items processed, blocks completed)`.
	pub(crate) fn process(max: u32) -> (u32, u32) {
		let now = Self::now();
		let mut block = AgendaCursor::<T>::get();
		let (mut done, mut blocks) = (0u32, 0u32);
		while block <= now && done < max && blocks <= 4 * max {
			let items: Vec<(TaskId, Action)> = Agenda::<T>::iter_key_prefix(block)
				.take(max.saturating_sub(done) as usize)
				.collect();
			for (task, action) in items {
				Agenda::<T>::remove(block, (task, action));
				Self::run(task, action, block);
				done += 1;
			}
			if Agenda::<T>::iter_key_prefix(block).next().is_some() {
				break;
			}
			block = block.saturating_add(1u32.into());
			blocks += 1;
		}
		AgendaCursor::<T>::put(block);
		(done, blocks)
	}

	/// Run one agenda item scheduled at `block` (stale items do nothing).
	fn run(task: TaskId, action: Action, block: BlockNumberFor<T>) {
		match action {
			Action::Tally => {
				if let Some(pool) = Pools::<T>::get(task) {
					if matches!(pool.phase, Phase::Collecting) && block >= pool.reveal_end {
						Self::tally_or_extend(task, pool);
					}
				}
			}
			Action::Finalize => {
				if let Some(pool) = Pools::<T>::get(task) {
					if let Phase::Pending {
						until, disputes, ..
					} = &pool.phase
					{
						if block >= *until && *disputes == 0 {
							Self::finalize_or_extend(task, pool);
						}
					}
				}
			}
			Action::Forget => {
				if let Some(r) = Results::<T>::get(task) {
					if r.at.saturating_add(T::ResultRetention::get()) <= block {
						Results::<T>::remove(task);
						Self::drop_output(task);
					}
				}
			}
		}
	}

	/// Publish a proven output tensor of the pending or final result.
	pub(crate) fn do_publish_output(
		who: T::AccountId,
		task: TaskId,
		output: Vec<u8>,
		shape: ShapeProof,
		siblings: Vec<H256>,
	) -> DispatchResult {
		let (result, commitment) = match Pools::<T>::get(task).map(|p| p.phase) {
			Some(Phase::Pending { result, .. }) => (
				result,
				T::Tasks::subject(task)
					.ok_or(Error::<T>::NoResult)?
					.commitment,
			),
			_ => {
				let r = Results::<T>::get(task).ok_or(Error::<T>::NoResult)?;
				(r.result, r.commitment)
			}
		};
		ensure!(
			Outputs::<T>::get(task).is_none_or(|o| o.result != result),
			Error::<T>::OutputKnown
		);
		let len = output.len() as u32;
		let deposit = T::OutputDepositPerByte::get().saturating_mul(len.into());
		let bytes: BoundedVec<u8, T::MaxOutputLen> =
			output.try_into().map_err(|_| Error::<T>::BadOutputLength)?;
		ensure!(!bytes.is_empty(), Error::<T>::BadOutputLength);
		let slot = Self::output_slot(&commitment, &shape, u64::from(len))?;
		let proof = opml_nn::commit::state_slot_proof(slot, siblings.into_iter().map(|h| h.0));
		ensure!(
			opml_nn::commit::verify_output(&result.0, &bytes, &proof),
			Error::<T>::BadOutputProof
		);
		<T::Currency as frame_support::traits::fungible::MutateHold<_>>::hold(
			&HoldReason::OutputDeposit.into(),
			&who,
			deposit,
		)
		.map_err(|_| Error::<T>::InsufficientBalance)?;
		// an output of an earlier result of this task is replaced: its deposit goes back
		Self::drop_output(task);
		Outputs::<T>::insert(
			task,
			Output {
				result,
				bytes,
				depositor: who.clone(),
				deposit,
			},
		);
		Self::deposit_event(Event::OutputPublished {
			task,
			who,
			result,
			len,
		});
		Ok(())
	}

	/// Drop `task`'s published output, returning its deposit.
	fn drop_output(task: TaskId) {
		if let Some(o) = Outputs::<T>::take(task) {
			let _ = <T::Currency as frame_support::traits::fungible::MutateHold<_>>::release(
				&HoldReason::OutputDeposit.into(),
				&o.depositor,
				o.deposit,
				frame_support::traits::tokens::Precision::BestEffort,
			);
		}
	}

	/// No result can be elected: drop the pool and give the task back to the market
	/// (it is assigned, since this pool exists), which re-runs it.
	fn no_majority(task: TaskId, classes: u32, reveals: u32) {
		Pools::<T>::remove(task);
		Self::deposit_event(Event::NoMajority {
			task,
			classes,
			reveals,
		});
		let _ = T::Market::reauction(task);
	}

	/// Close the reveal window: penalize missing reveals and elect a result: a strict
	/// majority, or else the largest class (the first of equal ones in pool order)
	/// provided at least one other class plays a game against it (M1: a dissenter's
	/// veto is no longer free). Every member of every dissenting class gets its own
	/// game (L5). With a single class short of a majority, or nothing revealed, the
	/// task is re-run.
	pub(crate) fn tally(task: TaskId, mut pool: PoolOf<T>) {
		let r = pool.entries.len() as u32;
		// chunked reveals that never finished: at most one entry per member
		let _ = PayloadChunks::<T>::clear_prefix(task, r, None);
		// classes of equal results, in order of first appearance
		let mut classes: Vec<(H256, Vec<T::AccountId>)> = Vec::new();
		let mut reveals = 0u32;
		for e in pool.entries.iter() {
			match e.reveal {
				Reveal::Done(result) => {
					reveals += 1;
					match classes.iter_mut().find(|(c, _)| *c == result) {
						Some((_, members)) => members.push(e.who.clone()),
						None => classes.push((result, alloc::vec![e.who.clone()])),
					}
				}
				_ if e.commitment.is_some() => {
					let penalty =
						T::Providers::slash(&e.who, T::RevealPenalty::get(), None, Perbill::zero());
					Self::deposit_event(Event::RevealMissed {
						task,
						who: e.who.clone(),
						penalty,
					});
				}
				_ => {}
			}
		}
		// the largest class (the first of equal ones, in pool order)
		let best = classes
			.iter()
			.enumerate()
			.fold(None::<(usize, usize)>, |best, (i, (_, m))| match best {
				Some((_, n)) if n >= m.len() => best,
				_ => Some((i, m.len())),
			});
		let Some((bi, votes)) = best else {
			return Self::no_majority(task, 0, reveals);
		};
		let votes = votes as u32;
		let strict = votes.saturating_mul(2) > r;
		if !strict && classes.len() < 2 {
			// one class without a majority: nobody to play it against
			return Self::no_majority(task, classes.len() as u32, reveals);
		}
		let n_classes = classes.len() as u32;
		let (result, majority) = classes.remove(bi);
		let defender = majority.first().cloned();
		let mut disputes = 0u32;
		if let Some(defender) = &defender {
			// every member of every dissenting class plays its own game against the
			// elected class (L5): each defends the root it revealed, and a wrong one
			// is banned for its own loss
			for (claimed, members) in classes.iter() {
				for challenger in members.iter() {
					if T::Disputes::open(
						task,
						pool.instance,
						defender,
						result,
						challenger,
						*claimed,
					)
					.is_ok()
					{
						disputes += 1;
						Self::deposit_event(Event::DisputeOpened {
							task,
							defender: defender.clone(),
							challenger: challenger.clone(),
							claimed: *claimed,
						});
					} else {
						Self::deposit_event(Event::DisputeNotOpened {
							task,
							challenger: challenger.clone(),
							claimed: *claimed,
						});
					}
				}
			}
		}
		if !strict && disputes == 0 {
			// a plurality stands only through games against the other classes (M1)
			return Self::no_majority(task, n_classes, reveals);
		}
		let until = Self::now().saturating_add(T::ChallengePeriod::get());
		pool.phase = Phase::Pending {
			result,
			majority: BoundedVec::truncate_from(majority),
			until,
			disputes,
		};
		Pools::<T>::insert(task, pool);
		Self::schedule(until, task, Action::Finalize);
		T::Disputes::on_elected(task);
		Self::deposit_event(Event::ResultElected {
			task,
			result,
			votes,
			until,
		});
	}

	/// The result is final: settle (pay the majority), keep the result for a while.
	pub(crate) fn finalize(task: TaskId, pool: PoolOf<T>) {
		let Phase::Pending {
			result, majority, ..
		} = pool.phase
		else {
			return;
		};
		Pools::<T>::remove(task);
		// a member banned since it revealed (e.g. it lost its own defence) is not paid
		// (L4); its share goes back to the requester
		let majority: Vec<T::AccountId> = majority
			.into_iter()
			.filter(|m| !T::Providers::is_banned(m))
			.collect();
		// kept with the result: the task record goes at settlement
		let commitment = T::Tasks::subject(task)
			.map(|s| s.commitment)
			.unwrap_or_default();
		if let Err(e) = T::Market::settle(task, &majority) {
			log::warn!(target: "runtime::opml-submissions", "settling task {task} failed: {e:?}");
		}
		let now = Self::now();
		Results::<T>::insert(
			task,
			FinalResult {
				result,
				at: now,
				commitment,
			},
		);
		Self::schedule(
			now.saturating_add(T::ResultRetention::get()),
			task,
			Action::Forget,
		);
		Self::deposit_event(Event::ResultFinal { task, result });
	}

	/// Invariants: pools have at most `MaxRedundancy` distinct providers, windows in
	/// order, reveals only after commitments, chunk progress consistent with
	/// `MaxChunkLen`; a pending result is a strict majority revealed by its members;
	/// every collecting pool has its tally and every pending pool without open games
	/// its finalization on the agenda at or after the cursor; kept results are not
	/// from the future.
	pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
		let cursor = AgendaCursor::<T>::get();
		let due: alloc::collections::btree_set::BTreeSet<(TaskId, u8)> = Agenda::<T>::iter_keys()
			.filter(|(b, _)| *b >= cursor)
			.map(|(_, (task, action))| (task, action as u8))
			.collect();
		let scheduled = |task: TaskId, action: Action| due.contains(&(task, action as u8));
		// chunk roots only for a chunked reveal in flight in a collecting pool, one per
		// chunk received (docs/security.md L10)
		for (task, who, roots) in PayloadChunks::<T>::iter() {
			let pool = Pools::<T>::get(task).ok_or("chunk roots without a pool")?;
			ensure!(
				matches!(pool.phase, Phase::Collecting),
				"chunk roots of a tallied pool"
			);
			let entry = pool
				.entries
				.iter()
				.find(|e| e.who == who)
				.ok_or("chunk roots of a provider outside the pool")?;
			match &entry.reveal {
				Reveal::Chunks(p) => ensure!(
					p.count as usize == roots.len(),
					"chunk roots and chunks received differ"
				),
				_ => return Err("chunk roots without a chunked reveal in flight".into()),
			}
		}
		for (task, pool) in Pools::<T>::iter() {
			let n = pool.entries.len();
			ensure!(n > 0, "empty pool");
			for (i, e) in pool.entries.iter().enumerate() {
				ensure!(
					pool.entries.iter().skip(i + 1).all(|f| f.who != e.who),
					"provider twice in a pool"
				);
				match &e.reveal {
					Reveal::None => {}
					Reveal::Chunks(p) => {
						ensure!(e.commitment.is_some(), "chunks without commitment");
						ensure!(p.count > 0, "chunk progress without chunks");
						ensure!(
							p.chunk_len > 0 && p.chunk_len <= T::MaxChunkLen::get(),
							"chunk length out of range"
						);
						ensure!(
							p.count == 1 || (p.chunk_len >= 32 && p.chunk_len.is_power_of_two()),
							"several chunks of a length that is not a whole subtree"
						);
						ensure!(
							p.bytes <= u64::from(p.count) * u64::from(p.chunk_len),
							"more bytes than chunks allow"
						);
					}
					Reveal::Done(_) => ensure!(e.commitment.is_some(), "reveal without commitment"),
				}
			}
			ensure!(pool.commit_end < pool.reveal_end, "windows out of order");
			match &pool.phase {
				Phase::Collecting => ensure!(scheduled(task, Action::Tally), "tally not scheduled"),
				Phase::Pending {
					result,
					majority,
					disputes,
					..
				} => {
					let votes = |r: &H256| {
						pool.entries
							.iter()
							.filter(|e| e.reveal == Reveal::Done(*r))
							.count()
					};
					ensure!(
						pool.entries.iter().all(|e| match e.reveal {
							Reveal::Done(other) => votes(&other) <= majority.len(),
							_ => true,
						}),
						"pending result is not the largest class"
					);
					ensure!(
						2 * majority.len() > n
							|| pool.entries.iter().any(|e| matches!(
								e.reveal,
								Reveal::Done(other) if other != *result
							)),
						"pending result without majority and without dissent"
					);
					for m in majority.iter() {
						ensure!(
							pool.entries
								.iter()
								.any(|e| &e.who == m && e.reveal == Reveal::Done(*result)),
							"majority member did not reveal the result"
						);
					}
					if *disputes == 0 {
						ensure!(
							scheduled(task, Action::Finalize),
							"finalization not scheduled"
						);
					}
				}
			}
		}
		let now = Self::now();
		for (task, r) in Results::<T>::iter() {
			ensure!(r.at <= now, "result from the future");
			ensure!(scheduled(task, Action::Forget), "result never forgotten");
		}
		let mut deposits: alloc::collections::btree_map::BTreeMap<T::AccountId, BalanceOf<T>> =
			Default::default();
		for (task, o) in Outputs::<T>::iter() {
			let kept = match Pools::<T>::get(task).map(|p| p.phase) {
				Some(Phase::Pending { result, .. }) => Some(result),
				_ => Results::<T>::get(task).map(|r| r.result),
			};
			ensure!(kept == Some(o.result), "output of no kept result");
			ensure!(!o.bytes.is_empty(), "empty output");
			let e = deposits
				.entry(o.depositor.clone())
				.or_insert_with(Zero::zero);
			*e = e.saturating_add(o.deposit);
		}
		for (who, total) in deposits {
			ensure!(
				<T::Currency as frame_support::traits::fungible::InspectHold<_>>::balance_on_hold(
					&HoldReason::OutputDeposit.into(),
					&who
				) == total,
				"output deposit hold differs from the outputs published"
			);
		}
		Ok(())
	}
}

impl<T: Config> GameClock<BlockNumberFor<T>> for Pallet<T> {
	fn ticks() -> BlockNumberFor<T> {
		Ticks::<T>::get()
	}

	#[cfg(feature = "runtime-benchmarks")]
	fn advance_for_benchmark(n: BlockNumberFor<T>) {
		Ticks::<T>::mutate(|t| *t = t.saturating_add(n));
	}
}

impl<T: Config> FinalResults for Pallet<T> {
	fn final_result(task: TaskId) -> Option<(H256, H256)> {
		Results::<T>::get(task).map(|r| (r.result, r.commitment))
	}

	#[cfg(feature = "runtime-benchmarks")]
	fn set_final_for_benchmark(task: TaskId, result: H256, commitment: H256) {
		Results::<T>::insert(
			task,
			FinalResult {
				result,
				at: frame_system::Pallet::<T>::block_number(),
				commitment,
			},
		);
	}
}

impl<T: Config> PendingResults<T::AccountId> for Pallet<T> {
	fn pending(task: TaskId) -> Option<PendingResult<T::AccountId>> {
		let pool = Pools::<T>::get(task)?;
		match pool.phase {
			Phase::Pending {
				result,
				majority,
				until,
				disputes,
			} => Some(PendingResult {
				instance: pool.instance,
				result,
				challengeable: Self::now() < until,
				disputes,
				defender: majority.first()?.clone(),
				majority: majority.into_inner(),
			}),
			Phase::Collecting => None,
		}
	}

	fn dispute_opened(task: TaskId) -> DispatchResult {
		Pools::<T>::try_mutate(task, |p| {
			let pool = p.as_mut().ok_or(Error::<T>::UnknownTask)?;
			match &mut pool.phase {
				Phase::Pending { disputes, .. } => {
					*disputes = disputes.saturating_add(1);
					Ok(())
				}
				Phase::Collecting => Err(Error::<T>::NotPending.into()),
			}
		})
	}

	fn dispute_closed(task: TaskId, instance: u64, upheld: bool) {
		let Some(mut pool) = Pools::<T>::get(task) else {
			return;
		};
		if pool.instance != instance {
			// a game of an earlier pool of this task: it acts on nothing (C1)
			return;
		}
		let Phase::Pending {
			result,
			until,
			disputes,
			..
		} = &mut pool.phase
		else {
			return;
		};
		if upheld {
			*disputes = disputes.saturating_sub(1);
			if *disputes == 0 && Self::now() >= *until {
				Self::finalize_or_extend(task, pool);
			} else {
				Pools::<T>::insert(task, pool);
			}
			return;
		}
		// every member of the majority lost its own defence (each was punished for
		// it by the arbitration pallet); nobody is punished for another's loss (C2)
		let result = *result;
		Pools::<T>::remove(task);
		Self::drop_output(task);
		Self::deposit_event(Event::ResultOverturned { task, result });
		T::Disputes::void_games(task, instance);
		let _ = T::Market::reauction(task);
	}

	#[cfg(feature = "runtime-benchmarks")]
	fn pending_for_benchmark(
		providers: &[T::AccountId],
		result: H256,
	) -> Result<TaskId, DispatchError> {
		let task = T::Market::assigned_for_benchmark(providers)?;
		let mut pool = Pools::<T>::get(task).ok_or(Error::<T>::UnknownTask)?;
		for e in pool.entries.iter_mut() {
			e.commitment = Some(H256::zero());
			e.reveal = Reveal::Done(result);
		}
		Self::tally(task, pool);
		ensure!(Self::pending(task).is_some(), Error::<T>::NotPending);
		Ok(task)
	}
}
