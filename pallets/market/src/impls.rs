//! The market's logic: models, tasks and escrow, rounds, deadlines, settlement.

use crate::{auction, pallet::*, types::*, WeightInfo};
use alloc::vec::Vec;
use codec::Encode;
use frame_support::{
	pallet_prelude::*,
	traits::{
		fungible::{InspectHold, MutateHold},
		tokens::{Fortitude, Precision, Restriction},
	},
};
use frame_system::pallet_prelude::BlockNumberFor;
use pallet_opml_providers::ProviderRegistry;
use sp_core::H256;
use sp_runtime::{
	traits::{One, Saturating, UniqueSaturatedInto, Zero},
	Perbill,
};

/// What a step of the round did, for the hook's weight.
#[derive(Default)]
pub(crate) struct RoundWork {
	/// Bids read (0: nothing but the round's record).
	pub tasks: u32,
	/// Asks read.
	pub providers: u32,
	/// The reveal phase ended in this step, with this many providers withholding.
	pub seeded: Option<u32>,
	/// Used by those told of the seed (`OnSeed`).
	pub told: Weight,
}

fn tie<E: Encode>(x: &E) -> [u8; 32] {
	sp_io::hashing::blake2_256(&x.encode())
}

impl<T: Config> Pallet<T> {
	fn escrow() -> T::RuntimeHoldReason {
		HoldReason::TaskEscrow.into()
	}

	/// Check a registration's graph against `commitment` (see
	/// [`opml_nn::registration::verify_graph_registration`]); returns its node count.
	pub(crate) fn check_graph(
		commitment: &H256,
		graph: &[u8],
		siblings: &[H256],
	) -> Result<u32, Error<T>> {
		use opml_nn::registration::{verify_graph_registration, RegistrationError};
		let siblings: Vec<[u8; 32]> = siblings.iter().map(|s| s.0).collect();
		match verify_graph_registration(&commitment.0, graph, &siblings, T::MaxNodeSteps::get()) {
			Ok(g) => Ok(g.nodes.len() as u32),
			Err(RegistrationError::Decode | RegistrationError::Format(_)) => {
				Err(Error::<T>::BadGraph)
			}
			Err(RegistrationError::NotCommitted) => Err(Error::<T>::GraphNotCommitted),
			Err(RegistrationError::TooHeavy { .. }) => Err(Error::<T>::NodeTooHeavy),
		}
	}

	pub(crate) fn do_register_model(
		owner: T::AccountId,
		commitment: H256,
		program_root: H256,
		weight: u32,
		metadata: BoundedVec<u8, T::MaxMetadataLen>,
	) -> DispatchResult {
		ensure!(weight > 0, Error::<T>::ZeroWeight);
		ensure!(
			<T::GuestPrograms as frame_support::traits::Contains<H256>>::contains(&program_root),
			Error::<T>::UnknownProgram
		);
		let deposit = T::ModelDeposit::get();
		let model = NextModelId::<T>::get();
		let next = model.checked_add(1).ok_or(Error::<T>::Overflow)?;
		T::Currency::hold(&HoldReason::ModelDeposit.into(), &owner, deposit)
			.map_err(|_| Error::<T>::InsufficientBalance)?;
		NextModelId::<T>::put(next);
		Models::<T>::insert(
			model,
			ModelInfo {
				owner: owner.clone(),
				commitment,
				program_root,
				weight,
				metadata,
				deposit,
			},
		);
		Self::deposit_event(Event::ModelRegistered {
			model,
			owner,
			commitment,
			program_root,
		});
		Ok(())
	}

	pub(crate) fn do_announce_store(
		who: T::AccountId,
		url: BoundedVec<u8, T::MaxStoreUrlLen>,
	) -> DispatchResult {
		ensure!(valid_store_url(&url), Error::<T>::BadStoreUrl);
		let deposit = match Stores::<T>::get(&who) {
			Some(s) => s.deposit,
			None => {
				let d = T::StoreDeposit::get();
				T::Currency::hold(&HoldReason::StoreDeposit.into(), &who, d)
					.map_err(|_| Error::<T>::InsufficientBalance)?;
				d
			}
		};
		Stores::<T>::insert(
			&who,
			StoreInfo {
				url: url.clone(),
				deposit,
			},
		);
		Self::deposit_event(Event::StoreAnnounced { who, url });
		Ok(())
	}

	pub(crate) fn do_withdraw_store(who: T::AccountId) -> DispatchResult {
		let s = Stores::<T>::take(&who).ok_or(Error::<T>::NoStore)?;
		T::Currency::release(
			&HoldReason::StoreDeposit.into(),
			&who,
			s.deposit,
			Precision::BestEffort,
		)?;
		Self::deposit_event(Event::StoreWithdrawn { who });
		Ok(())
	}

	pub(crate) fn do_deregister_model(who: T::AccountId, model: ModelId) -> DispatchResult {
		let m = Models::<T>::get(model).ok_or(Error::<T>::UnknownModel)?;
		ensure!(m.owner == who, Error::<T>::NotModelOwner);
		T::Currency::release(
			&HoldReason::ModelDeposit.into(),
			&who,
			m.deposit,
			Precision::BestEffort,
		)?;
		Models::<T>::remove(model);
		Self::deposit_event(Event::ModelDeregistered { model });
		Ok(())
	}

	#[allow(clippy::too_many_arguments)]
	pub(crate) fn do_submit_task(
		requester: T::AccountId,
		model: ModelId,
		input: TaskInput<T::MaxInlineInput>,
		demand: u32,
		valuation: BalanceOf<T>,
		redundancy: u8,
		deadline: BlockNumberFor<T>,
	) -> DispatchResult {
		let m = Models::<T>::get(model).ok_or(Error::<T>::UnknownModel)?;
		ensure!(
			redundancy >= 1 && redundancy as u32 <= T::MaxRedundancy::get(),
			Error::<T>::BadRedundancy
		);
		ensure!(demand >= m.weight, Error::<T>::BadDemand);
		ensure!(
			deadline >= T::MinDeadline::get() && deadline <= T::MaxDeadline::get(),
			Error::<T>::BadDeadline
		);
		ensure!(!valuation.is_zero(), Error::<T>::ZeroValuation);
		let counts = TaskCounts::<T>::get();
		let task = counts.next;
		let next = task.checked_add(1).ok_or(Error::<T>::Overflow)?;
		ensure!(
			counts.open < T::MaxOpenTasks::get(),
			Error::<T>::TooManyOpenTasks
		);
		T::Currency::hold(&Self::escrow(), &requester, valuation)
			.map_err(|_| Error::<T>::InsufficientBalance)?;
		let book_deposit = T::BookDeposit::get();
		T::Currency::hold(&HoldReason::BookDeposit.into(), &requester, book_deposit)
			.map_err(|_| Error::<T>::InsufficientBalance)?;
		let open_until =
			frame_system::Pallet::<T>::block_number().saturating_add(T::OpenTaskLifetime::get());
		OpenTasks::<T>::insert(task, ());
		TaskCounts::<T>::put(TaskCounter {
			next,
			open: counts.open.saturating_add(1),
		});
		Tasks::<T>::insert(
			task,
			TaskInfo {
				requester: requester.clone(),
				model,
				commitment: m.commitment,
				program_root: m.program_root,
				input,
				demand,
				valuation,
				redundancy,
				deadline,
				priority: 0,
				status: TaskStatus::Open,
				open_until,
				book_deposit,
			},
		);
		Self::deposit_event(Event::TaskSubmitted {
			task,
			requester,
			model,
			valuation,
		});
		Ok(())
	}

	fn in_current_round(task: TaskId) -> bool {
		CurrentRound::<T>::get()
			.map(|r| r.bids.iter().any(|b| b.task == task))
			.unwrap_or(false)
	}

	pub(crate) fn do_cancel_task(who: T::AccountId, task: TaskId) -> DispatchResult {
		let t = Tasks::<T>::get(task).ok_or(Error::<T>::UnknownTask)?;
		ensure!(t.requester == who, Error::<T>::NotRequester);
		ensure!(
			t.status == TaskStatus::Open && !Self::in_current_round(task),
			Error::<T>::NotCancellable
		);
		Self::burn_book_deposit(&t);
		Self::drop_task(task, &t);
		Self::deposit_event(Event::TaskCancelled { task });
		Ok(())
	}

	/// Give `t`'s book deposit back (it was assigned); `t` must then be stored.
	fn refund_book_deposit(t: &mut TaskOf<T>) {
		if t.book_deposit.is_zero() {
			return;
		}
		let _ = T::Currency::release(
			&HoldReason::BookDeposit.into(),
			&t.requester,
			t.book_deposit,
			Precision::BestEffort,
		);
		t.book_deposit = Zero::zero();
	}

	/// Burn what is left of `t`'s book deposit (it leaves the book unassigned).
	fn burn_book_deposit(t: &TaskOf<T>) -> BalanceOf<T> {
		if t.book_deposit.is_zero() {
			return Zero::zero();
		}
		T::Currency::burn_held(
			&HoldReason::BookDeposit.into(),
			&t.requester,
			t.book_deposit,
			Precision::BestEffort,
			Fortitude::Force,
		)
		.unwrap_or_else(|_| Zero::zero())
	}

	/// Release a task's escrow and forget it.
	fn drop_task(task: TaskId, t: &TaskOf<T>) {
		let _ = T::Currency::release(
			&Self::escrow(),
			&t.requester,
			t.valuation,
			Precision::BestEffort,
		);
		Tasks::<T>::remove(task);
		Self::close(task);
	}

	/// Take `task` out of the open book (if it is there).
	fn close(task: TaskId) {
		if OpenTasks::<T>::take(task).is_some() {
			TaskCounts::<T>::mutate(|c| c.open = c.open.saturating_sub(1));
		}
	}

	/// The id the next submitted task gets.
	pub fn next_task_id() -> TaskId {
		TaskCounts::<T>::get().next
	}

	/// The number of open tasks.
	pub fn open_tasks() -> u32 {
		TaskCounts::<T>::get().open
	}

	/// The hook: deadlines, then the auction round.
	pub(crate) fn on_block(now: BlockNumberFor<T>) -> Weight {
		let mut weight = T::DbWeight::get().reads(2);
		let (n, _) = Self::process_deadlines(T::MaxDeadlinesPerBlock::get());
		weight.saturating_accrue(T::WeightInfo::expire(n.max(1)));
		let period = T::AuctionPeriod::get();
		let round_due = !period.is_zero() && (now % period).is_zero();
		if CurrentRound::<T>::exists() || round_due {
			// charged for the work done (the hook's weight is returned after it ran):
			// an empty book or a round waiting for seed reveals costs one read, not a
			// worst-case round
			let work = Self::step_round();
			weight.saturating_accrue(if work.tasks == 0 {
				T::DbWeight::get().reads(1)
			} else {
				T::WeightInfo::clear_round(work.tasks, work.providers.max(1))
			});
			if let Some(withheld) = work.seeded {
				weight.saturating_accrue(T::WeightInfo::seed_round(withheld));
			}
			weight.saturating_accrue(work.told);
		}
		weight
	}

	fn bids_asks(r: &RoundOf<T>) -> (Vec<auction::TaskBid>, Vec<auction::ProviderAsk>) {
		let bal = |b: BalanceOf<T>| -> u128 { b.unique_saturated_into() };
		let bids = r
			.bids
			.iter()
			.map(|b| auction::TaskBid {
				task_type: b.task_type,
				demand: b.demand,
				valuation: bal(b.valuation),
				redundancy: b.redundancy as u32,
				priority: b.priority,
				tie: tie(&b.task),
			})
			.collect();
		let asks = r
			.asks
			.iter()
			.map(|a| auction::ProviderAsk {
				capacity: a.capacity.to_vec(),
				unit_cost: bal(a.unit_cost),
				power: a.power,
				tie: tie(&a.who),
				stake: bal(a.stake),
			})
			.collect();
		(bids, asks)
	}

	/// Start a round (snapshot and sort) if none is running, then clear up to
	/// `MaxTasksPerBlock` tasks, then finish the round if every task was considered.
	/// Returns the work's size for its weight, `(tasks, providers)` read: at most the
	/// round's bids and asks (the benchmark `clear_round(t, p)` starts and clears a
	/// whole round of `t` tasks and `p` providers in one step).
	pub(crate) fn step_round() -> RoundWork {
		let mut round = match CurrentRound::<T>::get() {
			Some(r) => r,
			None => match Self::start_round() {
				Ok(r) => {
					// the asks are fixed: their providers reveal from the next block on
					let work = RoundWork {
						tasks: r.bids.len() as u32,
						providers: r.asks.len() as u32,
						..Default::default()
					};
					CurrentRound::<T>::put(r);
					return work;
				}
				Err((tasks, providers)) => {
					return RoundWork {
						tasks,
						providers,
						..Default::default()
					}
				}
			},
		};
		let (mut seeded, mut told) = (None, Weight::zero());
		if let RoundPhase::Revealing { start, until } = round.phase {
			match Self::seed_round(&mut round, start, until) {
				None => return RoundWork::default(),
				Some(withheld) => seeded = Some(withheld),
			}
			told = T::OnSeed::on_round_seed(round.seed);
			if round.asks.is_empty() {
				// nobody revealed: no trade this round (the tasks stay in the book)
				CurrentRound::<T>::kill();
				Self::deposit_event(Event::RoundCleared {
					round: round.index,
					assigned: 0,
					surplus: Zero::zero(),
				});
				return RoundWork {
					tasks: 0,
					providers: 0,
					seeded,
					told,
				};
			}
		}
		let work = RoundWork {
			tasks: round.bids.len() as u32,
			providers: round.asks.len() as u32,
			seeded,
			told,
		};
		let (bids, asks) = Self::bids_asks(&round);
		let mut c = if seeded.is_some() {
			// just seeded: sort the bids and the asks left
			auction::Clearing::new(&bids, &asks, round.seed.0)
		} else {
			auction::Clearing {
				task_order: round.task_order.to_vec(),
				provider_order: round.provider_order.to_vec(),
				remaining: asks.iter().map(|a| a.capacity.clone()).collect(),
				cursor: round.cursor,
				wins: round.wins.iter().map(|(t, ps)| (*t, ps.to_vec())).collect(),
				seed: round.seed.0,
			}
		};
		c.advance(&bids, &asks, T::MaxTasksPerBlock::get() as usize);
		if !c.done() {
			if seeded.is_some() {
				round.task_order = BoundedVec::truncate_from(c.task_order.clone());
				round.provider_order = BoundedVec::truncate_from(c.provider_order.clone());
			}
			round.cursor = c.cursor;
			for (a, rem) in round.asks.iter_mut().zip(&c.remaining) {
				a.capacity = BoundedVec::truncate_from(rem.clone());
			}
			round.wins = BoundedVec::truncate_from(
				c.wins
					.iter()
					.map(|(t, ps)| (*t, BoundedVec::truncate_from(ps.clone())))
					.collect::<Vec<_>>(),
			);
			CurrentRound::<T>::put(round);
			return work;
		}
		CurrentRound::<T>::kill();
		let outcome = c.finish(&bids, &asks, T::Pricing::get());
		let now = frame_system::Pallet::<T>::block_number();
		let mut assigned = 0u32;
		for w in &outcome.wins {
			let Some(b) = round.bids.get(w.task) else {
				continue;
			};
			let Some(mut t) = Tasks::<T>::get(b.task) else {
				continue;
			};
			if t.status != TaskStatus::Open {
				continue;
			}
			let providers: Vec<(T::AccountId, BalanceOf<T>)> = w
				.providers
				.iter()
				.filter_map(|&(pj, pay)| {
					round
						.asks
						.get(pj)
						.map(|a| (a.who.clone(), pay.unique_saturated_into()))
				})
				.collect();
			// a provider banned since the round's snapshot (a multi-block round) is not
			// assigned: the task waits for the next round (L4)
			if providers.iter().any(|(a, _)| T::Providers::is_banned(a)) {
				continue;
			}
			let providers = BoundedVec::truncate_from(providers);
			let price: BalanceOf<T> = w.price.unique_saturated_into();
			let due = now.saturating_add(t.deadline);
			// matched: the book deposit goes back
			Self::refund_book_deposit(&mut t);
			t.status = TaskStatus::Assigned {
				due,
				providers: providers.clone(),
				price,
			};
			Tasks::<T>::insert(b.task, t);
			// every task of the round is in the book: counted down once below
			OpenTasks::<T>::remove(b.task);
			Self::schedule_deadline(due, b.task);
			let accounts: Vec<T::AccountId> = providers.iter().map(|(a, _)| a.clone()).collect();
			for a in &accounts {
				// held until the task is settled or taken back (C5)
				T::Providers::add_exposure(a);
			}
			T::Delivery::on_assigned(b.task, &accounts, due);
			assigned += 1;
			Self::deposit_event(Event::TaskAssigned {
				task: b.task,
				providers,
				price,
				due,
			});
		}
		TaskCounts::<T>::mutate(|c| c.open = c.open.saturating_sub(assigned));
		Self::deposit_event(Event::RoundCleared {
			round: round.index,
			assigned,
			surplus: outcome.surplus.unique_saturated_into(),
		});
		work
	}

	pub(crate) fn schedule_deadline(due: BlockNumberFor<T>, task: TaskId) {
		Deadlines::<T>::insert(due, task, ());
	}

	/// A new round's snapshot, or (no task or no provider) the work done reading,
	/// `(tasks, providers)`.
	fn start_round() -> Result<RoundOf<T>, (u32, u32)> {
		// bounded: at most `MaxOpenTasks` entries exist (checked on insertion)
		let open: Vec<TaskId> = OpenTasks::<T>::iter_keys()
			.take(T::MaxOpenTasks::get() as usize)
			.collect();
		if open.is_empty() {
			return Err((0, 0));
		}
		let open_count = open.len() as u32;
		let now = frame_system::Pallet::<T>::block_number();
		let mut bids = Vec::with_capacity(open.len());
		for &task in open.iter() {
			if let Some(t) = Tasks::<T>::get(task) {
				if now >= t.open_until {
					// not assigned within its lifetime: out of the book (H5)
					let burned = Self::burn_book_deposit(&t);
					Self::drop_task(task, &t);
					Self::deposit_event(Event::TaskExpired { task, burned });
					continue;
				}
				bids.push(BidRecord {
					task,
					task_type: t.model,
					demand: t.demand,
					valuation: t.valuation,
					redundancy: t.redundancy,
					priority: t.priority,
				});
			}
		}
		let mut asks = Vec::new();
		for who in T::Providers::eligible()
			.into_iter()
			.take(T::MaxProviders::get() as usize)
		{
			// only providers committed to a seed secret take part (H2)
			let Some(seed) = SeedCommits::<T>::get(&who) else {
				continue;
			};
			if let Some(o) = T::Providers::offer(&who) {
				let capacity: Vec<(u32, u32)> =
					o.capacity.iter().map(|c| (c.task_type, c.units)).collect();
				let stake = T::Providers::bond(&who);
				asks.push(AskRecord {
					who,
					capacity: BoundedVec::truncate_from(capacity),
					unit_cost: o.unit_cost,
					power: o.power,
					stake,
					seed,
					revealed: false,
				});
			}
		}
		if asks.is_empty() || bids.is_empty() {
			return Err((open_count, T::MaxProviders::get()));
		}
		let index = RoundCount::<T>::mutate(|c| {
			*c = c.saturating_add(1);
			*c
		});
		let until = now.saturating_add(T::SeedRevealPeriod::get());
		let round = Round {
			index,
			bids: BoundedVec::truncate_from(bids),
			asks: BoundedVec::truncate_from(asks),
			task_order: Default::default(),
			provider_order: Default::default(),
			cursor: 0,
			wins: Default::default(),
			seed: <T::Randomness as frame_support::traits::Randomness<_, _>>::random(b"opml/seats")
				.0,
			mix: H256::zero(),
			phase: RoundPhase::Revealing { start: now, until },
		};
		Self::deposit_event(Event::RoundStarted {
			round: index,
			tasks: round.bids.len() as u32,
			providers: round.asks.len() as u32,
			until,
		});
		Ok(round)
	}

	/// A round revealing seeds, its window `start..until`: unless every provider
	/// revealed, wait (`None`) until the window is over, extending it when it had full
	/// blocks (H3). Then slash and drop the asks of providers that withheld their
	/// secret, fix the seed, and return how many withheld.
	fn seed_round(
		round: &mut RoundOf<T>,
		start: BlockNumberFor<T>,
		until: BlockNumberFor<T>,
	) -> Option<u32> {
		let now = frame_system::Pallet::<T>::block_number();
		if !round.asks.iter().all(|a| a.revealed) {
			if now < until {
				return None;
			}
			let extra = T::Delivery::window_shortfall(start, until, T::SeedRevealPeriod::get());
			if !extra.is_zero() {
				let until = until
					.saturating_add(extra)
					.max(now.saturating_add(One::one()));
				round.phase = RoundPhase::Revealing { start, until };
				Self::deposit_event(Event::SeedRevealExtended {
					round: round.index,
					until,
				});
				CurrentRound::<T>::put(&*round);
				return None;
			}
		}
		let mut withheld = 0u32;
		let asks: Vec<_> = core::mem::take(&mut round.asks).into_iter().collect();
		let mut kept = Vec::with_capacity(asks.len());
		for a in asks {
			if a.revealed {
				kept.push(a);
				continue;
			}
			withheld = withheld.saturating_add(1);
			let penalty = T::Providers::slash(&a.who, T::SeedPenalty::get(), None, Perbill::zero());
			SeedCommits::<T>::remove(&a.who);
			Self::deposit_event(Event::SeedWithheld {
				round: round.index,
				who: a.who,
				penalty,
			});
		}
		round.asks = BoundedVec::truncate_from(kept);
		round.seed = round_seed(&round.seed, &round.mix, round.index);
		// the clearing orders are fixed by the caller, from the asks left
		round.phase = RoundPhase::Clearing;
		Self::deposit_event(Event::RoundSeeded {
			round: round.index,
			seed: round.seed,
			providers: round.asks.len() as u32,
		});
		Some(withheld)
	}

	pub(crate) fn do_commit_seed(
		who: T::AccountId,
		commitment: H256,
		index: u32,
	) -> DispatchResult {
		ensure!(!T::Providers::bond(&who).is_zero(), Error::<T>::NotProvider);
		SeedCommits::<T>::insert(&who, SeedCommit { commitment, index });
		Self::deposit_event(Event::SeedCommitted { who, index });
		Ok(())
	}

	pub(crate) fn do_reveal_seed(
		who: T::AccountId,
		round_index: u32,
		secret: H256,
		next: H256,
	) -> DispatchResult {
		let mut round = CurrentRound::<T>::get().ok_or(Error::<T>::NotRevealing)?;
		ensure!(
			round.index == round_index && matches!(round.phase, RoundPhase::Revealing { .. }),
			Error::<T>::NotRevealing
		);
		let ask = round
			.asks
			.iter_mut()
			.find(|a| a.who == who)
			.ok_or(Error::<T>::NotInRound)?;
		ensure!(!ask.revealed, Error::<T>::AlreadyRevealed);
		ensure!(
			seed_commitment(&secret) == ask.seed.commitment,
			Error::<T>::BadSecret
		);
		ask.revealed = true;
		let index = ask.seed.index.saturating_add(1);
		opml_primitives_core::seed::mix(&mut round.mix.0, &secret.0);
		CurrentRound::<T>::put(round);
		SeedCommits::<T>::insert(
			&who,
			SeedCommit {
				commitment: next,
				index,
			},
		);
		Self::deposit_event(Event::SeedRevealed {
			round: round_index,
			who,
		});
		Ok(())
	}

	pub(crate) fn do_forget_seed(who: T::AccountId) -> DispatchResult {
		ensure!(
			SeedCommits::<T>::contains_key(&who),
			Error::<T>::NoSeedCommit
		);
		ensure!(T::Providers::bond(&who).is_zero(), Error::<T>::StillBonded);
		SeedCommits::<T>::remove(&who);
		Self::deposit_event(Event::SeedForgotten { who });
		Ok(())
	}

	/// Process up to `max` tasks whose deadline passed, oldest block first, skipping at
	/// most `4 × max + 1` empty blocks; returns `(tasks processed, blocks completed)`.
	pub(crate) fn process_deadlines(max: u32) -> (u32, u32) {
		let now = frame_system::Pallet::<T>::block_number();
		let mut block = DeadlineCursor::<T>::get();
		let (mut done, mut blocks) = (0u32, 0u32);
		while block <= now && done < max && blocks <= 4 * max {
			let tasks: Vec<TaskId> = Deadlines::<T>::iter_key_prefix(block)
				.take(max.saturating_sub(done) as usize)
				.collect();
			for task in tasks {
				Deadlines::<T>::remove(block, task);
				Self::expire_task(task, block);
				done += 1;
			}
			if Deadlines::<T>::iter_key_prefix(block).next().is_some() {
				break;
			}
			block = block.saturating_add(1u32.into());
			blocks += 1;
		}
		DeadlineCursor::<T>::put(block);
		(done, blocks)
	}

	/// A task's deadline passed: penalize every assigned provider that did not deliver
	/// and did not decline (the penalty is burned or sent to `SlashDestination`, never
	/// to the requester: C3) and, if those who did cannot form a strict majority of the
	/// task's redundancy (`2 × delivered ≤ r`), send the task back to auction.
	/// Otherwise the submissions pallet carries on with the results handed in (reveal,
	/// election, settlement).
	fn expire_task(task: TaskId, block: BlockNumberFor<T>) {
		let Some(t) = Tasks::<T>::get(task) else {
			return;
		};
		let TaskStatus::Assigned { providers, due, .. } = &t.status else {
			return;
		};
		if *due > block {
			// re-assigned since this deadline was scheduled
			return;
		}
		// a commit window with full blocks is extended (H3): the check moves on
		let extra = T::Delivery::extend_commit_window(
			task,
			due.saturating_sub(t.deadline),
			block,
			t.deadline,
		);
		if !extra.is_zero() {
			let at = block.saturating_add(extra);
			Self::schedule_deadline(at, task);
			Self::deposit_event(Event::DeadlineExtended { task, until: at });
			return;
		}
		let mut delivered = 0u32;
		for (p, _) in providers.iter() {
			if T::Delivery::delivered(task, p) {
				delivered += 1;
				continue;
			}
			if Declined::<T>::contains_key(task, p) {
				continue;
			}
			let penalty = T::Providers::slash(p, T::DeadlinePenalty::get(), None, Perbill::zero());
			Self::deposit_event(Event::DeadlineMissed {
				task,
				provider: p.clone(),
				penalty,
			});
		}
		if delivered.saturating_mul(2) <= u32::from(t.redundancy) {
			Self::requeue(task);
		}
	}

	/// An assigned provider declines `task` before its deadline (its input is missing
	/// or malformed, or it cannot compute it in time): it is not penalized at the
	/// deadline and not paid. When too few providers are left for a strict majority,
	/// the task goes back to auction at once.
	pub(crate) fn do_decline(who: T::AccountId, task: TaskId) -> DispatchResult {
		let t = Tasks::<T>::get(task).ok_or(Error::<T>::UnknownTask)?;
		let TaskStatus::Assigned { providers, due, .. } = &t.status else {
			return Err(Error::<T>::NotAssigned.into());
		};
		ensure!(
			providers.iter().any(|(p, _)| *p == who),
			Error::<T>::NotAssignedProvider
		);
		let now = frame_system::Pallet::<T>::block_number();
		ensure!(now < *due, Error::<T>::DeadlinePassed);
		ensure!(
			!T::Delivery::delivered(task, &who),
			Error::<T>::AlreadyDelivered
		);
		ensure!(
			!Declined::<T>::contains_key(task, &who),
			Error::<T>::AlreadyDeclined
		);
		Declined::<T>::insert(task, &who, ());
		let declined = providers
			.iter()
			.filter(|(p, _)| Declined::<T>::contains_key(task, p))
			.count() as u32;
		let left = u32::from(t.redundancy).saturating_sub(declined);
		Self::deposit_event(Event::AssignmentDeclined {
			task,
			provider: who,
		});
		if left.saturating_mul(2) <= u32::from(t.redundancy) {
			Self::requeue(task);
		}
		Ok(())
	}

	/// Forget `task`'s declines and the providers' exposure on it (the assignment
	/// ended: settled or taken back).
	fn end_assignment(task: TaskId, providers: &[(T::AccountId, BalanceOf<T>)]) {
		for (p, _) in providers {
			T::Providers::remove_exposure(p);
		}
		let _ = Declined::<T>::clear_prefix(task, T::MaxRedundancy::get(), None);
	}

	/// Send `task` back to auction with a higher priority; its valuation grows by
	/// `ReauctionRaise`, held (if the requester can cover it).
	fn requeue(task: TaskId) {
		let Some(mut t) = Tasks::<T>::get(task) else {
			return;
		};
		let raise = T::ReauctionRaise::get() * t.valuation;
		if !raise.is_zero() && T::Currency::hold(&Self::escrow(), &t.requester, raise).is_ok() {
			t.valuation = t.valuation.saturating_add(raise);
		}
		t.priority = t.priority.saturating_add(1);
		t.open_until =
			frame_system::Pallet::<T>::block_number().saturating_add(T::OpenTaskLifetime::get());
		if let TaskStatus::Assigned { providers, .. } = &t.status {
			Self::end_assignment(task, providers);
			T::Delivery::on_unassigned(task);
		}
		t.status = TaskStatus::Open;
		if Self::open_tasks() >= T::MaxOpenTasks::get() {
			// no room to re-auction: give the requester everything back
			Self::drop_task(task, &t);
			Self::deposit_event(Event::TaskCancelled { task });
			return;
		}
		OpenTasks::<T>::insert(task, ());
		TaskCounts::<T>::mutate(|c| c.open = c.open.saturating_add(1));
		let (valuation, priority) = (t.valuation, t.priority);
		Tasks::<T>::insert(task, t);
		Self::deposit_event(Event::TaskReauctioned {
			task,
			valuation,
			priority,
		});
	}

	/// Invariants: each account's escrow hold equals the valuations of its tasks; each
	/// owner's deposit hold equals its models' deposits; open tasks are listed once and
	/// are `Open`; assigned tasks have `redundancy` distinct providers and a price
	/// within the valuation; a running round has one ask per provider, does not clear
	/// before its seed is fixed, and clears only asks whose seed was revealed.
	pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
		use alloc::collections::btree_map::BTreeMap;
		let mut escrow: BTreeMap<T::AccountId, BalanceOf<T>> = BTreeMap::new();
		let mut books: BTreeMap<T::AccountId, BalanceOf<T>> = BTreeMap::new();
		let open: Vec<TaskId> = OpenTasks::<T>::iter_keys().collect();
		ensure!(
			open.len() as u32 == Self::open_tasks() && Self::open_tasks() <= T::MaxOpenTasks::get(),
			"open-task counter wrong or over the limit"
		);
		for (id, t) in Tasks::<T>::iter() {
			let e = escrow.entry(t.requester.clone()).or_insert_with(Zero::zero);
			*e = e.saturating_add(t.valuation);
			ensure!(
				t.book_deposit.is_zero() || t.status == TaskStatus::Open,
				"book deposit held on an assigned task"
			);
			let b = books.entry(t.requester.clone()).or_insert_with(Zero::zero);
			*b = b.saturating_add(t.book_deposit);
			match &t.status {
				TaskStatus::Open => {
					ensure!(
						open.iter().filter(|x| **x == id).count() == 1,
						"open task not listed once"
					)
				}
				TaskStatus::Assigned {
					providers, price, ..
				} => {
					ensure!(!open.contains(&id), "assigned task still open");
					ensure!(
						providers.len() == t.redundancy as usize,
						"wrong provider count"
					);
					let mut ps: Vec<_> = providers.iter().map(|p| p.0.clone()).collect();
					ps.sort();
					ps.dedup();
					ensure!(ps.len() == providers.len(), "providers not distinct");
					ensure!(*price <= t.valuation, "price above valuation");
				}
			}
		}
		for (who, total) in escrow {
			ensure!(
				T::Currency::balance_on_hold(&Self::escrow(), &who) == total,
				"escrow hold differs from the valuations of the requester's tasks"
			);
		}
		for (who, total) in books {
			ensure!(
				T::Currency::balance_on_hold(&HoldReason::BookDeposit.into(), &who) == total,
				"book deposit hold differs from the requester's open tasks"
			);
		}
		ensure!(
			open.iter().all(Tasks::<T>::contains_key),
			"dangling open task"
		);
		let mut deposits: BTreeMap<T::AccountId, BalanceOf<T>> = BTreeMap::new();
		for (_, m) in Models::<T>::iter() {
			let e = deposits.entry(m.owner.clone()).or_insert_with(Zero::zero);
			*e = e.saturating_add(m.deposit);
		}
		for (who, total) in deposits {
			ensure!(
				T::Currency::balance_on_hold(&HoldReason::ModelDeposit.into(), &who) == total,
				"model deposit hold differs"
			);
		}
		for (who, st) in Stores::<T>::iter() {
			ensure!(
				valid_store_url(&st.url),
				"a store URL the chain would refuse"
			);
			ensure!(
				T::Currency::balance_on_hold(&HoldReason::StoreDeposit.into(), &who) == st.deposit,
				"store deposit hold differs"
			);
		}
		if let Some(r) = CurrentRound::<T>::get() {
			let mut who: Vec<_> = r.asks.iter().map(|a| a.who.clone()).collect();
			who.sort();
			who.dedup();
			ensure!(
				who.len() == r.asks.len(),
				"a provider asks twice in a round"
			);
			match r.phase {
				RoundPhase::Revealing { start, until } => {
					ensure!(
						r.task_order.is_empty() && r.wins.is_empty() && r.cursor == 0,
						"a round revealing seeds is clearing already"
					);
					ensure!(start <= until, "a seed window ends before it starts");
				}
				RoundPhase::Clearing => ensure!(
					r.asks.iter().all(|a| a.revealed),
					"a round clears with an ask whose seed was not revealed"
				),
			}
		}
		Ok(())
	}
}

impl<T: Config> AuditRewards<T::AccountId, BalanceOf<T>> for Pallet<T> {
	fn pay_auditor(task: TaskId, auditor: &T::AccountId, amount: BalanceOf<T>) -> BalanceOf<T> {
		let Some(mut t) = Tasks::<T>::get(task) else {
			return Zero::zero();
		};
		let TaskStatus::Assigned { price, .. } = &t.status else {
			return Zero::zero();
		};
		let pay = amount.min(t.valuation.saturating_sub(*price));
		if pay.is_zero() {
			return pay;
		}
		let paid = T::Currency::transfer_on_hold(
			&Self::escrow(),
			&t.requester,
			auditor,
			pay,
			Precision::BestEffort,
			Restriction::Free,
			Fortitude::Polite,
		)
		.unwrap_or_else(|_| Zero::zero());
		// the escrow holds the valuation: it shrinks by what was paid
		t.valuation = t.valuation.saturating_sub(paid);
		Tasks::<T>::insert(task, t);
		paid
	}
}

impl<T: Config> TaskSettlement<T::AccountId> for Pallet<T> {
	fn settle(task: TaskId, paid: &[T::AccountId]) -> DispatchResult {
		let t = Tasks::<T>::get(task).ok_or(Error::<T>::UnknownTask)?;
		let TaskStatus::Assigned {
			providers, price, ..
		} = &t.status
		else {
			return Err(Error::<T>::NotAssigned.into());
		};
		ensure!(
			paid.iter().all(|p| providers.iter().any(|(a, _)| a == p)),
			Error::<T>::NotAssignedProvider
		);
		let mut total: BalanceOf<T> = Zero::zero();
		for (who, pay) in providers.iter().filter(|(a, _)| paid.contains(a)) {
			let moved = T::Currency::transfer_on_hold(
				&Self::escrow(),
				&t.requester,
				who,
				*pay,
				Precision::BestEffort,
				Restriction::Free,
				Fortitude::Force,
			)
			.unwrap_or_else(|_| Zero::zero());
			total = total.saturating_add(moved);
		}
		// the McAfee surplus of the paid trades (price beyond the providers' payments)
		let all: BalanceOf<T> = providers
			.iter()
			.fold(Zero::zero(), |s: BalanceOf<T>, (_, p)| s.saturating_add(*p));
		let surplus = if all.is_zero() || paid.is_empty() {
			Zero::zero()
		} else {
			let share = Perbill::from_rational(total, all);
			share * price.saturating_sub(all)
		};
		if !surplus.is_zero() {
			let reason = Self::escrow();
			let moved = match T::SurplusDestination::get() {
				Some(d) => T::Currency::transfer_on_hold(
					&reason,
					&t.requester,
					&d,
					surplus,
					Precision::BestEffort,
					Restriction::Free,
					Fortitude::Force,
				),
				None => T::Currency::burn_held(
					&reason,
					&t.requester,
					surplus,
					Precision::BestEffort,
					Fortitude::Force,
				),
			};
			total = total.saturating_add(moved.unwrap_or_else(|_| Zero::zero()));
		}
		let refunded = t.valuation.saturating_sub(total);
		let _ = T::Currency::release(
			&Self::escrow(),
			&t.requester,
			refunded,
			Precision::BestEffort,
		);
		Self::end_assignment(task, providers);
		Tasks::<T>::remove(task);
		Self::deposit_event(Event::TaskSettled {
			task,
			paid: total,
			refunded,
		});
		Ok(())
	}

	fn reauction(task: TaskId) -> DispatchResult {
		let t = Tasks::<T>::get(task).ok_or(Error::<T>::UnknownTask)?;
		ensure!(
			matches!(t.status, TaskStatus::Assigned { .. }),
			Error::<T>::NotAssigned
		);
		Self::requeue(task);
		Ok(())
	}

	#[cfg(feature = "runtime-benchmarks")]
	fn assigned_for_benchmark(
		providers: &[T::AccountId],
	) -> Result<TaskId, sp_runtime::DispatchError> {
		use frame_support::traits::fungible::Mutate;
		use sp_runtime::traits::Bounded;
		let requester: T::AccountId = frame_benchmarking::account("requester", 0, 0);
		T::Currency::set_balance(&requester, BalanceOf::<T>::max_value() / 1024u32.into());
		let model = <Self as TaskSubmitter<_, _>>::model_for_benchmark()?;
		let task = Self::next_task_id();
		let r = u8::try_from(providers.len()).map_err(|_| Error::<T>::BadRedundancy)?;
		Self::do_submit_task(
			requester,
			model,
			TaskInput::Root(H256::repeat_byte(9)),
			1,
			1_000_000u32.into(),
			r,
			T::MinDeadline::get(),
		)?;
		let mut t = Tasks::<T>::get(task).ok_or(Error::<T>::UnknownTask)?;
		Self::refund_book_deposit(&mut t);
		let pay: BalanceOf<T> = (1_000_000u32 / u32::from(r.max(1))).into();
		let due = frame_system::Pallet::<T>::block_number().saturating_add(t.deadline);
		t.status = TaskStatus::Assigned {
			due,
			providers: BoundedVec::truncate_from(
				providers
					.iter()
					.map(|p| (p.clone(), pay))
					.collect::<Vec<_>>(),
			),
			price: pay.saturating_mul(r.into()),
		};
		Tasks::<T>::insert(task, t);
		Self::close(task);
		Self::schedule_deadline(due, task);
		for p in providers {
			T::Providers::add_exposure(p);
		}
		T::Delivery::on_assigned(task, providers, due);
		Ok(task)
	}

	#[cfg(feature = "runtime-benchmarks")]
	fn set_commitment_for_benchmark(task: TaskId, commitment: H256) {
		Tasks::<T>::mutate(task, |t| {
			if let Some(t) = t {
				t.commitment = commitment;
			}
		});
	}
}

impl<T: Config> TaskSubmitter<T::AccountId, BalanceOf<T>> for Pallet<T> {
	fn submit(
		requester: &T::AccountId,
		model: ModelId,
		input: H256,
		valuation: BalanceOf<T>,
		redundancy: u8,
		deadline: u32,
	) -> Result<TaskId, DispatchError> {
		let demand = Models::<T>::get(model)
			.ok_or(Error::<T>::UnknownModel)?
			.weight;
		let task = Self::next_task_id();
		Self::do_submit_task(
			requester.clone(),
			model,
			TaskInput::Root(input),
			demand,
			valuation,
			redundancy,
			deadline.into(),
		)?;
		Ok(task)
	}

	#[cfg(feature = "runtime-benchmarks")]
	fn model_for_benchmark() -> Result<ModelId, DispatchError> {
		use frame_support::traits::fungible::Mutate;
		use sp_runtime::traits::Bounded;
		let owner: T::AccountId = frame_benchmarking::account("model-owner", 0, 0);
		T::Currency::set_balance(&owner, BalanceOf::<T>::max_value() / 1024u32.into());
		let model = NextModelId::<T>::get();
		Self::do_register_model(
			owner,
			H256::repeat_byte(1),
			H256::repeat_byte(2),
			1,
			Default::default(),
		)?;
		Ok(model)
	}
}

impl<T: Config> TaskSubject for Pallet<T> {
	fn subject(task: TaskId) -> Option<Subject> {
		let t = Tasks::<T>::get(task)?;
		let input_root = match &t.input {
			TaskInput::Root(r) => *r,
			TaskInput::Inline(bytes) => H256(opml_primitives_core::merkle::bytes_root(bytes).0),
		};
		Some(Subject {
			model: t.model,
			commitment: t.commitment,
			program_root: t.program_root,
			input_root,
		})
	}
}

/// Tests and simulations of other crates: what honest provider daemons do for round
/// seeds (the worker does the same from its key).
#[cfg(feature = "std")]
impl<T: Config> Pallet<T> {
	/// Every eligible provider for which `honest` holds commits to a seed if it has no
	/// commitment, and reveals its secret for its ask in a round revealing seeds;
	/// secrets are [`derive_seed_secret`] of the SCALE-encoded account id.
	pub fn honest_seed_moves(honest: impl Fn(&T::AccountId) -> bool) {
		for who in T::Providers::eligible() {
			if honest(&who) && !SeedCommits::<T>::contains_key(&who) {
				let secret = derive_seed_secret(&who.encode(), 0);
				let _ = Self::do_commit_seed(who, seed_commitment(&secret), 0);
			}
		}
		let Some(r) = CurrentRound::<T>::get() else {
			return;
		};
		if !matches!(r.phase, RoundPhase::Revealing { .. }) {
			return;
		}
		for a in r.asks.iter() {
			if a.revealed || !honest(&a.who) {
				continue;
			}
			let key = a.who.encode();
			let secret = derive_seed_secret(&key, a.seed.index);
			let next = seed_commitment(&derive_seed_secret(&key, a.seed.index.saturating_add(1)));
			let _ = Self::do_reveal_seed(a.who.clone(), r.index, secret, next);
		}
	}
}
