//! The pallet's logic: opening games, moves with chess clocks, the handoff and the
//! one-step decision (rules from `opml_dispute`), outcomes, audits, invariants.

use crate::{pallet::*, types::*, weights::WeightInfo};
use alloc::vec::Vec;
use frame_support::{
	pallet_prelude::*,
	traits::{
		fungible::{InspectHold, MutateHold},
		tokens::{Fortitude, Precision, Restriction},
	},
	BoundedVec,
};
use opml_dispute::{
	decode_handoff, graph_state_0, one_step, split, verify_handoff, DisputeError, HandoffOutcome,
	GRAPH_LAST,
};
use opml_vm::witness::WitnessError;
use pallet_opml_market::{AuditRewards, TaskId, TaskSubject};
use pallet_opml_providers::ProviderRegistry;
use pallet_opml_submissions::{DisputeOpener, GameClock, PendingResult, PendingResults};
use sp_core::H256;
use sp_runtime::{
	traits::{SaturatedConversion, Saturating, Zero},
	Perbill,
};

impl<T: Config> From<DisputeError> for Error<T> {
	fn from(e: DisputeError) -> Self {
		match e {
			DisputeError::BadSplit => Error::<T>::BadSplit,
			DisputeError::Malformed => Error::<T>::Malformed,
			DisputeError::BadGraphProof => Error::<T>::BadGraphProof,
			DisputeError::BadNodeProof => Error::<T>::BadNodeProof,
			DisputeError::NodeExists => Error::<T>::NodeExists,
			DisputeError::ChangedWithoutNode => Error::<T>::ChangedWithoutNode,
			DisputeError::InputCount => Error::<T>::InputCount,
			DisputeError::BadInputSource => Error::<T>::BadInputSource,
			DisputeError::BadInputProof => Error::<T>::BadInputProof,
			DisputeError::BadTensor => Error::<T>::BadTensor,
			DisputeError::BadOutputProof => Error::<T>::BadOutputProof,
			DisputeError::NotHalted => Error::<T>::NotHalted,
			DisputeError::NoSteps => Error::<T>::NoSteps,
			DisputeError::BadFinalOutput => Error::<T>::BadFinalOutput,
			DisputeError::Witness(WitnessError::PreStateMismatch) => Error::<T>::WitnessPreState,
			DisputeError::Witness(WitnessError::Malformed | WitnessError::TooLarge) => {
				Error::<T>::Malformed
			}
			DisputeError::Witness(_) => Error::<T>::BadWitness,
		}
	}
}

impl<T: Config> Pallet<T> {
	fn bond_reason() -> T::RuntimeHoldReason {
		HoldReason::ChallengeBond.into()
	}

	/// The initial phase of a game on `subject` defending `defended`.
	fn first_phase(input_root: H256, defended: H256) -> Phase<T::Fanout> {
		Phase::Graph {
			a: 0,
			b: GRAPH_LAST,
			ha: H256(graph_state_0(&input_root.0)),
			hb: defended,
			posted: BoundedVec::new(),
		}
	}

	/// Open a game against `defender`'s result `defended` on `task`'s pool `instance`.
	/// Checks everything before writing (it also runs from the submissions pallet's
	/// hook). Games are not capped per result: each external one holds its own bond,
	/// so no one can take every place and keep an honest challenger out (H1).
	fn open_game(
		task: TaskId,
		instance: u64,
		defender: T::AccountId,
		challenger: T::AccountId,
		bond: BalanceOf<T>,
		provider_challenger: bool,
		defended: H256,
	) -> Result<GameId, DispatchError> {
		let subject = T::Tasks::subject(task).ok_or(Error::<T>::NotPending)?;
		let id = NextGameId::<T>::get();
		let next = id.checked_add(1).ok_or(Error::<T>::UnknownGame)?;
		T::Providers::begin_challenge(&defender, subject.model)?;
		if provider_challenger {
			if let Err(e) = T::Providers::begin_challenge(&challenger, subject.model) {
				T::Providers::end_challenge(&defender, subject.model);
				return Err(e);
			}
		}
		TaskGames::<T>::insert(task, id, ());
		NextGameId::<T>::put(next);
		let budget = T::ClockBudget::get();
		Games::<T>::insert(
			id,
			Game {
				task,
				model: subject.model,
				instance,
				defended,
				defence: 0,
				k: T::Fanout::get(),
				defender: defender.clone(),
				challenger: challenger.clone(),
				bond,
				provider_challenger,
				commitment: subject.commitment,
				program_root: subject.program_root,
				phase: Self::first_phase(subject.input_root, defended),
				turn: Side::Defender,
				defender_clock: budget,
				challenger_clock: budget,
				since: T::Clock::ticks(),
				moves: 0,
			},
		);
		Self::deposit_event(Event::GameOpened {
			game: id,
			task,
			defender,
			challenger,
			bond,
		});
		Ok(id)
	}

	/// The pending result `game` disputes, if it is still the task's: `None` when the
	/// pool was replaced or is gone (the game is stale).
	fn disputed(game: &GameOf<T>) -> Option<PendingResult<T::AccountId>> {
		T::Results::pending(game.task)
			.filter(|p| p.instance == game.instance && p.result == game.defended)
	}

	/// Whether `game` no longer bears on anything (see [`Self::disputed`]).
	fn is_stale(game: &GameOf<T>) -> bool {
		Self::disputed(game).is_none()
	}

	/// Void a stale game: bonds back, bars lifted, nobody punished.
	fn void(id: GameId, game: GameOf<T>) {
		Games::<T>::remove(id);
		TaskGames::<T>::remove(game.task, id);
		T::Providers::end_challenge(&game.defender, game.model);
		if game.provider_challenger {
			T::Providers::end_challenge(&game.challenger, game.model);
		}
		if !game.bond.is_zero() {
			let _ = T::Currency::release(
				&Self::bond_reason(),
				&game.challenger,
				game.bond,
				Precision::BestEffort,
			);
		}
		Self::deposit_event(Event::GameVoided {
			game: id,
			task: game.task,
		});
	}

	/// The game `id`, or `None` after voiding it if it is stale (the move that found
	/// it so succeeds and does nothing else).
	fn live_game(id: GameId) -> Result<Option<GameOf<T>>, DispatchError> {
		let game = Games::<T>::get(id).ok_or(Error::<T>::UnknownGame)?;
		if Self::is_stale(&game) {
			Self::void(id, game);
			return Ok(None);
		}
		Ok(Some(game))
	}

	pub(crate) fn do_void_game(id: GameId) -> DispatchResult {
		let game = Games::<T>::get(id).ok_or(Error::<T>::UnknownGame)?;
		ensure!(Self::is_stale(&game), Error::<T>::NotStale);
		Self::void(id, game);
		Ok(())
	}

	pub(crate) fn do_challenge(
		who: T::AccountId,
		task: TaskId,
		bond: BalanceOf<T>,
	) -> DispatchResult {
		let pending = T::Results::pending(task).ok_or(Error::<T>::NotPending)?;
		// the auditor of an open audit may challenge after the window (the result
		// waits for its audit)
		let auditor = Self::audits_it(task, &who, &pending);
		ensure!(
			pending.challengeable || auditor,
			Error::<T>::ChallengeWindowClosed
		);
		ensure!(!pending.majority.contains(&who), Error::<T>::OwnResult);
		let strikes = Self::strikes(&pending.defender);
		ensure!(
			bond >= Self::required_bond(auditor, strikes),
			Error::<T>::BondTooLow
		);
		T::Currency::hold(&Self::bond_reason(), &who, bond)
			.map_err(|_| Error::<T>::InsufficientBalance)?;
		T::Results::dispute_opened(task)?;
		if strikes == 0 {
			DefenderStrikes::<T>::remove(&pending.defender);
		}
		let game = Self::open_game(
			task,
			pending.instance,
			pending.defender,
			who.clone(),
			bond,
			false,
			pending.result,
		)?;
		// an auditor that challenges answers its audit
		Self::audit_challenged(task, &who, game);
		Ok(())
	}

	/// The strikes of `defender` now: those recorded, less one per `StrikeDecay` blocks
	/// since.
	pub fn strikes(defender: &T::AccountId) -> u32 {
		let Some(s) = DefenderStrikes::<T>::get(defender) else {
			return 0;
		};
		opml_primitives_core::bond::strikes_now(
			s.count,
			s.at.saturated_into(),
			frame_system::Pallet::<T>::block_number().saturated_into(),
			T::StrikeDecay::get().saturated_into(),
		)
	}

	/// Whether `who` holds an open audit of `pending` (of `task`): it may challenge after
	/// the window, for the base bond.
	pub(crate) fn audits_it(
		task: TaskId,
		who: &T::AccountId,
		pending: &PendingResult<T::AccountId>,
	) -> bool {
		Audits::<T>::get()
			.iter()
			.any(|a| a.task == task && &a.auditor == who && a.instance == pending.instance)
	}

	/// The bond a challenge must hold against a defender with `strikes`:
	/// `MinChallengeBond` doubled per strike, at most `MaxBondDoublings` times (M8); the
	/// `auditor` of an open audit of the result pays `MinChallengeBond` (it was drawn,
	/// not chosen).
	pub(crate) fn required_bond(auditor: bool, strikes: u32) -> BalanceOf<T> {
		let base = T::MinChallengeBond::get();
		if auditor {
			return base;
		}
		let factor = opml_primitives_core::bond::bond_factor(strikes, T::MaxBondDoublings::get());
		base.saturating_mul(factor.into())
	}

	/// `defender` beat an external challenge: one more strike (at most
	/// `MaxBondDoublings`), counted from now.
	fn add_strike(defender: &T::AccountId) {
		let count = Self::strikes(defender)
			.saturating_add(1)
			.min(T::MaxBondDoublings::get());
		let at = frame_system::Pallet::<T>::block_number();
		DefenderStrikes::<T>::insert(defender, Strikes { count, at });
	}

	/// Start `side`'s move: it must be its turn (and the caller its account, if given)
	/// with time left on its clock, which is charged.
	fn take_move(game: &mut GameOf<T>, who: Option<&T::AccountId>, side: Side) -> DispatchResult {
		ensure!(game.turn == side, Error::<T>::NotYourMove);
		if let Some(who) = who {
			let account = match side {
				Side::Defender => &game.defender,
				Side::Challenger => &game.challenger,
			};
			ensure!(who == account, Error::<T>::NotYourMove);
		}
		// clocks run on blocks with room for a move (H3)
		let now = T::Clock::ticks();
		let elapsed = now.saturating_sub(game.since);
		let clock = match side {
			Side::Defender => &mut game.defender_clock,
			Side::Challenger => &mut game.challenger_clock,
		};
		ensure!(elapsed <= *clock, Error::<T>::ClockExpired);
		*clock = clock.saturating_sub(elapsed);
		game.since = now;
		game.moves = game.moves.saturating_add(1);
		Ok(())
	}

	pub(crate) fn do_post_states(
		who: T::AccountId,
		id: GameId,
		states: BoundedVec<H256, T::Fanout>,
	) -> DispatchResult {
		let Some(mut game) = Self::live_game(id)? else {
			return Ok(());
		};
		let (a, b) = match &game.phase {
			Phase::Graph { a, b, posted, .. } | Phase::Vm { a, b, posted, .. }
				if posted.is_empty() =>
			{
				(*a, *b)
			}
			_ => return Err(Error::<T>::WrongPhase.into()),
		};
		Self::take_move(&mut game, Some(&who), Side::Defender)?;
		let points = split(a, b, game.k).map_err(Error::<T>::from)?;
		ensure!(
			states.len() + 2 == points.len(),
			Error::<T>::WrongStateCount
		);
		match &mut game.phase {
			Phase::Graph { posted, .. } | Phase::Vm { posted, .. } => *posted = states.clone(),
			_ => return Err(Error::<T>::WrongPhase.into()),
		}
		game.turn = Side::Challenger;
		Games::<T>::insert(id, game);
		Self::deposit_event(Event::StatesPosted {
			game: id,
			a,
			b,
			states,
		});
		Ok(())
	}

	pub(crate) fn do_choose(who: T::AccountId, id: GameId, index: u32) -> DispatchResult {
		let Some(mut game) = Self::live_game(id)? else {
			return Ok(());
		};
		let (a, b, ha, hb, posted) = match &game.phase {
			Phase::Graph {
				a,
				b,
				ha,
				hb,
				posted,
			}
			| Phase::Vm {
				a,
				b,
				ha,
				hb,
				posted,
				..
			} if !posted.is_empty() => (*a, *b, *ha, *hb, posted.clone()),
			_ => return Err(Error::<T>::WrongPhase.into()),
		};
		Self::take_move(&mut game, Some(&who), Side::Challenger)?;
		let points = split(a, b, game.k).map_err(Error::<T>::from)?;
		let m = points.len().saturating_sub(1);
		let c = index as usize;
		ensure!(c < m, Error::<T>::BadChoice);
		let at = |i: usize| points.get(i).copied().ok_or(Error::<T>::BadChoice);
		let state = |i: usize| posted.get(i).copied().ok_or(Error::<T>::WrongStateCount);
		let (na, nb) = (at(c)?, at(c + 1)?);
		let nha = if c == 0 { ha } else { state(c - 1)? };
		let nhb = if c + 1 == m { hb } else { state(c)? };
		let narrowed = nb == na.saturating_add(1);
		game.phase = match (&game.phase, narrowed) {
			(Phase::Graph { .. }, true) => Phase::Handoff {
				node: nb,
				g_prev: nha,
				g_node: nhb,
			},
			(Phase::Graph { .. }, false) => Phase::Graph {
				a: na,
				b: nb,
				ha: nha,
				hb: nhb,
				posted: BoundedVec::new(),
			},
			(Phase::Vm { node, .. }, true) => Phase::OneStep {
				node: *node,
				step: na,
				pre: nha,
				post: nhb,
			},
			(Phase::Vm { node, .. }, false) => Phase::Vm {
				node: *node,
				a: na,
				b: nb,
				ha: nha,
				hb: nhb,
				posted: BoundedVec::new(),
			},
			_ => return Err(Error::<T>::WrongPhase.into()),
		};
		// the defender posts or hands off next; the last step is the challenger's
		game.turn = if matches!(game.phase, Phase::OneStep { .. }) {
			Side::Challenger
		} else {
			Side::Defender
		};
		Games::<T>::insert(id, game);
		Self::deposit_event(Event::Chosen {
			game: id,
			a: na,
			b: nb,
		});
		Ok(())
	}

	pub(crate) fn do_handoff(
		who: T::AccountId,
		id: GameId,
		data: BoundedVec<u8, ConstU32<MAX_HANDOFF_BYTES>>,
	) -> DispatchResult {
		let Some(mut game) = Self::live_game(id)? else {
			return Ok(());
		};
		let Phase::Handoff {
			node,
			g_prev,
			g_node,
		} = game.phase.clone()
		else {
			return Err(Error::<T>::WrongPhase.into());
		};
		Self::take_move(&mut game, Some(&who), Side::Defender)?;
		let h = decode_handoff(&data).map_err(Error::<T>::from)?;
		let outcome = verify_handoff(
			&game.commitment.0,
			&game.program_root.0,
			node,
			&g_prev.0,
			&g_node.0,
			&h,
		)
		.map_err(Error::<T>::from)?;
		match outcome {
			HandoffOutcome::NoNode => {
				Self::resolve(id, game, Side::Challenger, Outcome::NoNode);
			}
			HandoffOutcome::Vm {
				initial,
				final_hash,
				steps,
			} => {
				ensure!(steps <= T::MaxNodeSteps::get(), Error::<T>::TooManySteps);
				game.phase = if steps == 1 {
					game.turn = Side::Challenger;
					Phase::OneStep {
						node,
						step: 0,
						pre: H256(initial),
						post: H256(final_hash),
					}
				} else {
					game.turn = Side::Defender;
					Phase::Vm {
						node,
						a: 0,
						b: steps,
						ha: H256(initial),
						hb: H256(final_hash),
						posted: BoundedVec::new(),
					}
				};
				Games::<T>::insert(id, game);
				Self::deposit_event(Event::HandedOff {
					game: id,
					node,
					steps,
					initial: H256(initial),
				});
			}
		}
		Ok(())
	}

	pub(crate) fn do_one_step(
		id: GameId,
		witness: BoundedVec<u8, ConstU32<MAX_WITNESS_BYTES>>,
	) -> DispatchResult {
		let Some(mut game) = Self::live_game(id)? else {
			return Ok(());
		};
		let Phase::OneStep { pre, post, .. } = game.phase.clone() else {
			return Err(Error::<T>::WrongPhase.into());
		};
		Self::take_move(&mut game, None, Side::Challenger)?;
		let reached = one_step(&pre.0, &witness).map_err(Error::<T>::from)?;
		if reached == post.0 {
			Self::resolve(id, game, Side::Challenger, Outcome::StepUpheld);
		} else {
			Self::resolve(id, game, Side::Defender, Outcome::StepRefuted);
		}
		Ok(())
	}

	pub(crate) fn do_timeout(id: GameId) -> DispatchResult {
		let Some(game) = Self::live_game(id)? else {
			return Ok(());
		};
		let clock = match game.turn {
			Side::Defender => game.defender_clock,
			Side::Challenger => game.challenger_clock,
		};
		ensure!(
			T::Clock::ticks().saturating_sub(game.since) > clock,
			Error::<T>::NotExpired
		);
		let loser = game.turn;
		Self::resolve(id, game, loser, Outcome::Timeout);
		Ok(())
	}

	/// The next member of the majority after the current defender who can take over
	/// `game`'s defence (registered, not banned, not the challenger), its place, and
	/// the game's task input root; its bar is already begun when this returns.
	fn next_defender(game: &GameOf<T>) -> Option<(u32, T::AccountId, H256)> {
		let pending = Self::disputed(game)?;
		let input_root = T::Tasks::subject(game.task)?.input_root;
		let start = (game.defence as usize).saturating_add(1);
		pending
			.majority
			.into_iter()
			.enumerate()
			.skip(start)
			.find(|(_, m)| {
				*m != game.challenger
					&& !T::Providers::is_banned(m)
					&& T::Providers::begin_challenge(m, game.model).is_ok()
			})
			.map(|(i, m)| (i as u32, m, input_root))
	}

	/// End a game round: `loser` loses. A losing defender is banned (its own bond
	/// slashed, `WinnerShare` to the challenger) and the next member of the result's
	/// majority takes over the defence from the start with fresh clocks; only when no
	/// member is left is the result overturned. A losing challenger loses its bond (or,
	/// a provider, is banned) and the game counts as upheld.
	fn resolve(id: GameId, mut game: GameOf<T>, loser: Side, outcome: Outcome) {
		let share = T::WinnerShare::get();
		let reason = Self::bond_reason();
		if loser == Side::Defender {
			T::Providers::end_challenge(&game.defender, game.model);
			T::Providers::ban(&game.defender, Some(&game.challenger), share);
			if let Some((defence, next, input_root)) = Self::next_defender(&game) {
				let lost = core::mem::replace(&mut game.defender, next.clone());
				let budget = T::ClockBudget::get();
				game.defence = defence;
				game.phase = Self::first_phase(input_root, game.defended);
				game.turn = Side::Defender;
				game.defender_clock = budget;
				game.challenger_clock = budget;
				game.since = T::Clock::ticks();
				game.moves = 0;
				let task = game.task;
				Games::<T>::insert(id, game);
				Self::deposit_event(Event::DefencePassed {
					game: id,
					task,
					lost,
					defender: next,
					outcome,
				});
				return;
			}
		}
		Games::<T>::remove(id);
		TaskGames::<T>::remove(game.task, id);
		if loser == Side::Challenger {
			T::Providers::end_challenge(&game.defender, game.model);
		}
		if game.provider_challenger {
			T::Providers::end_challenge(&game.challenger, game.model);
		}
		match loser {
			Side::Defender => {
				if !game.bond.is_zero() {
					let _ = T::Currency::release(
						&reason,
						&game.challenger,
						game.bond,
						Precision::BestEffort,
					);
				}
				T::Results::dispute_closed(game.task, game.instance, false);
			}
			Side::Challenger => {
				if game.provider_challenger {
					T::Providers::ban(&game.challenger, Some(&game.defender), share);
				} else {
					// the next challenge against this defender costs twice as much (M8)
					Self::add_strike(&game.defender);
				}
				if !game.bond.is_zero() {
					let to_winner = share * game.bond;
					let _ = T::Currency::transfer_on_hold(
						&reason,
						&game.challenger,
						&game.defender,
						to_winner,
						Precision::BestEffort,
						Restriction::Free,
						Fortitude::Force,
					);
					let _ = T::Currency::burn_held(
						&reason,
						&game.challenger,
						game.bond.saturating_sub(to_winner),
						Precision::BestEffort,
						Fortitude::Force,
					);
				}
				T::Results::dispute_closed(game.task, game.instance, true);
			}
		}
		let (winner, loser_account) = match loser {
			Side::Defender => (game.challenger, game.defender),
			Side::Challenger => (game.defender, game.challenger),
		};
		Self::deposit_event(Event::GameResolved {
			game: id,
			task: game.task,
			winner,
			loser: loser_account,
			loser_side: loser,
			outcome,
		});
	}

	/// The audit probability in force: [`AuditRate`] if set, else `AuditProbability`.
	pub fn audit_probability() -> Perbill {
		AuditRate::<T>::get().unwrap_or_else(T::AuditProbability::get)
	}

	/// A round seed of the market (H2's beacon): draw audits for the results elected
	/// since the last seed (docs/security.md M2). Each is audited with the probability
	/// in force, by an eligible provider outside its majority drawn by bond; the seed
	/// was unknown when those results were committed, so nobody could tell which would
	/// be audited. No audit is drawn while `MaxAudits` are open (none is dropped).
	pub(crate) fn draw_audits(seed: H256) -> Weight {
		let candidates = AuditCandidates::<T>::take();
		let p = Self::audit_probability();
		if candidates.is_empty() || p.is_zero() {
			return T::WeightInfo::audit_miss();
		}
		let word = |h: &[u8; 32], i: usize| {
			u64::from_le_bytes([
				h[8 * i],
				h[8 * i + 1],
				h[8 * i + 2],
				h[8 * i + 3],
				h[8 * i + 4],
				h[8 * i + 5],
				h[8 * i + 6],
				h[8 * i + 7],
			])
		};
		let mut audits = Audits::<T>::get();
		let due = T::Clock::ticks().saturating_add(T::AuditPeriod::get());
		for task in candidates {
			if audits.is_full() {
				break;
			}
			let mut pre = b"opml/audit".to_vec();
			pre.extend_from_slice(seed.as_bytes());
			pre.extend_from_slice(&task.to_le_bytes());
			let h = <sp_runtime::traits::BlakeTwo256 as sp_runtime::traits::Hash>::hash(&pre).0;
			if Perbill::from_parts((word(&h, 0) % 1_000_000_000) as u32) >= p {
				continue;
			}
			let Some(pending) = T::Results::pending(task) else {
				continue;
			};
			if !pending.challengeable || audits.iter().any(|a| a.task == task) {
				continue;
			}
			// an eligible provider outside the majority, weighted by bond
			let eligible: Vec<(T::AccountId, u128)> = T::Providers::eligible()
				.into_iter()
				.filter(|a| !pending.majority.contains(a))
				.map(|a| {
					let b: u128 = sp_runtime::traits::UniqueSaturatedInto::unique_saturated_into(
						T::Providers::bond(&a),
					);
					(a, b)
				})
				.collect();
			let total: u128 = eligible
				.iter()
				.map(|(_, b)| *b)
				.fold(0, u128::saturating_add);
			if total == 0 {
				continue;
			}
			let mut x = (u128::from(word(&h, 1)) << 64 | u128::from(word(&h, 2))) % total;
			let Some(auditor) = eligible.into_iter().find_map(|(a, b)| {
				if x < b {
					Some(a)
				} else {
					x -= b;
					None
				}
			}) else {
				continue;
			};
			if T::Results::dispute_opened(task).is_err() {
				continue;
			}
			// the auditor's bond stays while it audits (it cannot withdraw)
			T::Providers::add_exposure(&auditor);
			let _ = audits.try_push(Audit {
				task,
				instance: pending.instance,
				auditor: auditor.clone(),
				due,
			});
			Self::deposit_event(Event::AuditAssigned { task, auditor, due });
		}
		Audits::<T>::put(audits);
		T::WeightInfo::audit_draw()
	}

	/// Take `who`'s open audit of `task` out of the list.
	fn take_audit(task: TaskId, who: &T::AccountId) -> Option<AuditOf<T>> {
		let mut audits = Audits::<T>::get();
		let i = audits
			.iter()
			.position(|a| a.task == task && a.auditor == *who)?;
		let a = audits.remove(i);
		Audits::<T>::put(audits);
		Some(a)
	}

	/// Whether `a` still audits `task`'s pending result (not overturned or replaced).
	fn audit_is_live(a: &AuditOf<T>) -> bool {
		T::Results::pending(a.task).is_some_and(|p| p.instance == a.instance)
	}

	/// An audit of a result overturned or replaced meanwhile ends: nobody is paid or
	/// punished (the result's dispute count went with its pool).
	fn void_audit(a: AuditOf<T>) {
		T::Providers::remove_exposure(&a.auditor);
		Self::deposit_event(Event::AuditVoided {
			task: a.task,
			auditor: a.auditor,
		});
	}

	/// An audit ends: the auditor's bond is free to go, and the result no longer
	/// waits for it.
	fn close_audit(a: &AuditOf<T>) {
		T::Providers::remove_exposure(&a.auditor);
		T::Results::dispute_closed(a.task, a.instance, true);
	}

	pub(crate) fn do_confirm_audit(who: T::AccountId, task: TaskId) -> DispatchResult {
		let a = Self::take_audit(task, &who).ok_or(Error::<T>::NotAuditor)?;
		if !Self::audit_is_live(&a) {
			Self::void_audit(a);
			return Ok(());
		}
		let reward = T::Rewards::pay_auditor(task, &who, T::AuditReward::get());
		Self::close_audit(&a);
		Self::deposit_event(Event::AuditConfirmed {
			task,
			auditor: who,
			reward,
		});
		Ok(())
	}

	/// The auditor of `task` opened game `game` against it: the game answers the
	/// audit (its count holds the result now).
	pub(crate) fn audit_challenged(task: TaskId, who: &T::AccountId, game: GameId) {
		if let Some(a) = Self::take_audit(task, who) {
			Self::close_audit(&a);
			Self::deposit_event(Event::AuditChallenged {
				task,
				auditor: who.clone(),
				game,
			});
		}
	}

	/// The hook: audits past their due tick are closed, their auditors slashed
	/// `AuditPenalty`; audits of results overturned or replaced meanwhile are voided.
	/// At most `MaxAudits` (the list's bound).
	pub(crate) fn expire_audits() -> Weight {
		let audits = Audits::<T>::get();
		if audits.is_empty() {
			return T::DbWeight::get().reads(1);
		}
		let now = T::Clock::ticks();
		// each audit's result is read once: live and not yet due, it stays
		let (mut keep, mut done) = (Vec::new(), Vec::new());
		for a in audits {
			let live = Self::audit_is_live(&a);
			if live && now < a.due {
				keep.push(a);
			} else {
				done.push((a, live));
			}
		}
		if done.is_empty() {
			return T::DbWeight::get().reads(1 + 2 * keep.len() as u64);
		}
		let n = done.len() as u64;
		Audits::<T>::put(BoundedVec::truncate_from(keep));
		for (a, live) in done {
			if !live {
				Self::void_audit(a);
				continue;
			}
			let penalty =
				T::Providers::slash(&a.auditor, T::AuditPenalty::get(), None, Perbill::zero());
			Self::close_audit(&a);
			Self::deposit_event(Event::AuditMissed {
				task: a.task,
				auditor: a.auditor,
				penalty,
			});
		}
		T::DbWeight::get().reads_writes(1 + 6 * n, 1 + 6 * n)
	}

	/// Invariants: every game is listed under its task and every listed game exists
	/// for that task; intervals are ordered and within bounds, posted states match the
	/// split; clocks never exceed the budget; the held challenge bonds equal the bonds
	/// of open games per challenger; a live game's defender is the majority member at
	/// its place and the pool counts exactly its live games and audits (L10, M2); at
	/// most one audit per task.
	pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
		let budget = T::ClockBudget::get();
		let mut bonds: Vec<(T::AccountId, BalanceOf<T>)> = Vec::new();
		let mut live: Vec<(TaskId, u32)> = Vec::new();
		for (id, g) in Games::<T>::iter() {
			ensure!(
				TaskGames::<T>::contains_key(g.task, id),
				"game not listed under its task"
			);
			ensure!(
				g.defender_clock <= budget && g.challenger_clock <= budget,
				"clock above budget"
			);
			if let Some(pending) = Self::disputed(&g) {
				ensure!(
					pending.majority.get(g.defence as usize) == Some(&g.defender),
					"defender is not the majority member at its place"
				);
				match live.iter_mut().find(|(t, _)| *t == g.task) {
					Some((_, n)) => *n += 1,
					None => live.push((g.task, 1)),
				}
			}
			match &g.phase {
				Phase::Graph { a, b, posted, .. } | Phase::Vm { a, b, posted, .. } => {
					ensure!(a + 1 < *b, "interval not splittable");
					if matches!(g.phase, Phase::Graph { .. }) {
						ensure!(*b <= GRAPH_LAST, "graph interval out of range");
					}
					let points = split(*a, *b, g.k).map_err(|_| "bad split")?;
					ensure!(
						posted.is_empty() || posted.len() + 2 == points.len(),
						"posted states do not match the split"
					);
					ensure!(
						(g.turn == Side::Defender) == posted.is_empty(),
						"wrong side to move"
					);
				}
				Phase::Handoff { node, .. } => {
					ensure!(
						*node >= 1 && *node <= GRAPH_LAST,
						"handoff node out of range"
					);
					ensure!(g.turn == Side::Defender, "the defender hands off");
				}
				Phase::OneStep { .. } => {
					ensure!(g.turn == Side::Challenger, "the challenger proves the step")
				}
			}
			if !g.bond.is_zero() {
				match bonds.iter_mut().find(|(w, _)| *w == g.challenger) {
					Some((_, b)) => *b = b.saturating_add(g.bond),
					None => bonds.push((g.challenger.clone(), g.bond)),
				}
			}
		}
		for (task, id, ()) in TaskGames::<T>::iter() {
			ensure!(
				Games::<T>::get(id).is_some_and(|g| g.task == task),
				"listed game missing"
			);
		}
		// an open audit of the pending result holds it like a game (M2)
		let audits = Audits::<T>::get();
		ensure!(
			AuditCandidates::<T>::get().len() as u32 <= T::MaxAudits::get(),
			"too many audit candidates"
		);
		for (i, a) in audits.iter().enumerate() {
			ensure!(
				!audits.iter().skip(i + 1).any(|b| b.task == a.task),
				"two audits of one task"
			);
			if !Self::audit_is_live(a) {
				continue;
			}
			match live.iter_mut().find(|(t, _)| *t == a.task) {
				Some((_, n)) => *n += 1,
				None => live.push((a.task, 1)),
			}
		}
		for (task, n) in live {
			let disputes = T::Results::pending(task).map(|p| p.disputes);
			ensure!(
				disputes == Some(n),
				"pending result's dispute count differs from its live games and audits"
			);
		}
		for (who, total) in bonds {
			ensure!(
				T::Currency::balance_on_hold(&Self::bond_reason(), &who) == total,
				"challenge bond hold differs"
			);
		}
		Ok(())
	}
}

impl<T: Config> DisputeOpener<T::AccountId> for Pallet<T> {
	fn open(
		task: TaskId,
		instance: u64,
		defender: &T::AccountId,
		defended: H256,
		challenger: &T::AccountId,
		_claimed: H256,
	) -> DispatchResult {
		Self::open_game(
			task,
			instance,
			defender.clone(),
			challenger.clone(),
			Zero::zero(),
			true,
			defended,
		)
		.map(|_| ())
	}

	fn void_games(task: TaskId, instance: u64) {
		let stale: Vec<(GameId, GameOf<T>)> = TaskGames::<T>::iter_key_prefix(task)
			.take(T::MaxGamesPerTask::get() as usize)
			.filter_map(|id| Games::<T>::get(id).map(|g| (id, g)))
			.filter(|(_, g)| g.instance == instance)
			.collect();
		for (id, g) in stale {
			Self::void(id, g);
		}
	}

	fn on_elected(task: TaskId) {
		// drawn (or not) at the next round seed; a candidate pushed out of a full list
		// is not audited (nothing is open for it yet)
		AuditCandidates::<T>::mutate(|c| {
			if c.is_full() {
				c.remove(0);
			}
			let _ = c.try_push(task);
		});
	}
}

/// The market's round seeds draw the audits.
impl<T: Config> pallet_opml_market::OnRoundSeed for Pallet<T> {
	fn on_round_seed(seed: H256) -> Weight {
		Self::draw_audits(seed)
	}
}
