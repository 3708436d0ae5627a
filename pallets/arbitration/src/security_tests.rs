//! Regression tests of the security review (`docs/security.md`): each test plays the
//! review's attack against the real providers, market, submissions and arbitration
//! pallets (wired as in the runtime) and asserts that it now fails. Named after the
//! finding's id.

use crate::{mock::*, pallet::*, tests::*, types::*, Error};
use codec::Encode;
use frame_support::{assert_noop, assert_ok, traits::fungible::Inspect, BoundedVec};
use opml_nn::zoo::{self, Rng};
use opml_primitives_core::commitment::result_commitment;
use pallet_opml_market::{TaskId, TaskInput, TaskStatus};
use pallet_opml_providers::{Capacity, ProviderRegistry};
use sp_core::H256;

fn model_of(t: TaskId) -> u32 {
	pallet_opml_market::Tasks::<Test>::get(t).unwrap().model
}

fn pool(t: TaskId) -> Option<pallet_opml_submissions::PoolOf<Test>> {
	pallet_opml_submissions::Pools::<Test>::get(t)
}

fn provider_bond(p: u64) -> u64 {
	pallet_opml_providers::Providers::<Test>::get(p).map_or(0, |i| i.bond)
}

fn events_where(f: impl Fn(&Event<Test>) -> bool) -> usize {
	System::events()
		.into_iter()
		.filter(|r| match &r.event {
			RuntimeEvent::Arbitration(e) => f(e),
			_ => false,
		})
		.count()
}

fn overturned(t: TaskId) -> bool {
	System::events().into_iter().any(|r| {
		matches!(
			r.event,
			RuntimeEvent::Submissions(pallet_opml_submissions::Event::ResultOverturned { task, .. })
				if task == t
		)
	})
}

/// C1: a game opened against one pool of a task outlives a re-auction; it must not act
/// on the task's next pool (ban its honest majority, or count as its dispute).
#[test]
fn c1_a_stale_game_cannot_touch_the_next_pool() {
	let w = World::new(2);
	let honest = w.honest();
	let (liar, _) = w.random_liar(&honest, &mut Rng(5));
	let (good, bad) = (H256(honest.result_root()), H256(liar.result_root()));
	test(|| {
		let t = w.task(&[10, 11, 12]);
		hand_in(t, &[(10, bad), (11, bad), (12, bad)]);
		// six challengers: more games than the overturn voids at once (4)
		let g1 = NextGameId::<Test>::get();
		for c in 30..36 {
			assert_ok!(Arbitration::challenge(RuntimeOrigin::signed(c), t, BOND));
		}
		// the liars stop defending g1: each member of the majority times out in turn
		for _ in 0..3 {
			run_to(System::block_number() + 11);
			assert_ok!(Arbitration::timeout(RuntimeOrigin::signed(REQUESTER), g1));
		}
		assert!(overturned(t) && banned(10) && banned(11) && banned(12));
		assert_eq!(events_where(|e| matches!(e, Event::GameVoided { .. })), 4);
		let stale: Vec<GameId> = (g1 + 1..g1 + 6)
			.filter(|g| Games::<Test>::contains_key(g))
			.collect();
		assert_eq!(stale.len(), 1, "one game left over for lazy voiding");
		// the task is re-run by honest providers until its new result is pending
		let m = model_of(t);
		for p in 20..23 {
			register(p, m, 1_000, 1);
		}
		// the next round starts at a multiple of 4 and is seeded and cleared a block later
		let next_round = (System::block_number() / 4 + 1) * 4 + 1;
		run_to(next_round);
		let first_instance = Games::<Test>::get(stale[0]).unwrap().instance;
		assert!(pool(t).unwrap().instance > first_instance);
		hand_in(t, &[(20, good), (21, good), (22, good)]);
		let p2 = pool(t).unwrap();
		// an honest watcher (wrongly) disputes the new result: one live game
		assert_ok!(Arbitration::challenge(RuntimeOrigin::signed(37), t, BOND));
		let live = last_game();
		// the stale game's defender is long out of clock: timing it out voids it
		let sc = Games::<Test>::get(stale[0]).unwrap().challenger;
		assert_ok!(Arbitration::timeout(
			RuntimeOrigin::signed(REQUESTER),
			stale[0]
		));
		assert!(!Games::<Test>::contains_key(stale[0]));
		assert!(resolved(stale[0]).is_none(), "voided, not resolved");
		assert_eq!(bond_held(sc), 0, "the stale challenger's bond is back");
		for p in 20..23 {
			assert!(!banned(p), "honest member {p} of the next pool banned");
			assert_eq!(provider_bond(p), 1_000);
		}
		// the next pool stands with its own game counted; nothing finalized early
		let p2_now = pool(t).unwrap();
		assert_eq!(p2_now.instance, p2.instance);
		assert!(matches!(
			p2_now.phase,
			pallet_opml_submissions::Phase::Pending { disputes: 1, .. }
		));
		assert!(Games::<Test>::contains_key(live));
		assert!(pallet_opml_submissions::Results::<Test>::get(t).is_none());
		// a live game cannot be voided
		assert_noop!(
			Arbitration::void_game(RuntimeOrigin::signed(REQUESTER), live),
			Error::<Test>::NotStale
		);
	});
}

/// C2: the first member of a correct majority stops defending; its co-revealers must
/// not be banned or burned, and one of them takes over the defence and wins.
#[test]
fn c2_a_representatives_loss_does_not_ban_its_co_revealers() {
	let w = World::new(4);
	let honest = w.honest();
	let (liar, _) = w.random_liar(&honest, &mut Rng(9));
	let good = H256(honest.result_root());
	test(|| {
		let (t, g, first) = challenged_correct_result(&w, good);
		// the representative never moves and loses on time
		run_to(System::block_number() + 11);
		assert_ok!(Arbitration::timeout(RuntimeOrigin::signed(REQUESTER), g));
		assert!(banned(first));
		let next = Games::<Test>::get(g).expect("the defence goes on").defender;
		assert!(next != first);
		assert_eq!(
			events_where(|e| matches!(e, Event::DefencePassed { lost, .. } if *lost == first)),
			1
		);
		assert!(!overturned(t));
		// the next member defends honestly and wins
		let (loser, outcome, ..) = drive(g, (next, &honest), (CHALLENGER, &liar), None);
		assert_eq!((loser, outcome), (Side::Challenger, Outcome::StepUpheld));
		let others: Vec<u64> = [10, 11, 12].into_iter().filter(|p| *p != first).collect();
		for p in others {
			assert!(!banned(p), "co-revealer {p} banned");
			assert_eq!(provider_bond(p), 1_000, "co-revealer {p} lost bond");
		}
		assert_eq!(
			pallet_opml_submissions::Results::<Test>::get(t).map(|r| r.result),
			Some(good)
		);
	});
}

/// C3: a requester with a too-short deadline makes every provider miss it; the
/// penalties must not reach the requester (they are burned), and a drained provider is
/// not offered the task again (C4).
#[test]
fn c3_deadline_penalties_are_burned_and_cannot_be_harvested() {
	test(|| {
		assert_ok!(register_model(
			OWNER,
			&zoo::mlp(&[24, 16, 8, 4], 1),
			H256::repeat_byte(2),
			b"m"
		));
		let providers: Vec<u64> = (20..28).collect();
		for &p in &providers {
			register(p, 0, 100, 1);
		}
		let requester_free = Balances::free_balance(REQUESTER);
		let issuance = Balances::total_issuance();
		let t = pallet_opml_market::Pallet::<Test>::next_task_id();
		assert_ok!(Market::submit_task(
			RuntimeOrigin::signed(REQUESTER),
			0,
			TaskInput::Root(H256::repeat_byte(9)),
			1,
			800,
			8,
			2
		));
		// three would-be expiry cycles
		run_to(40);
		for &p in &providers {
			assert_eq!(provider_bond(p), 70, "one penalty, then no longer offered");
			assert!(!<Providers as ProviderRegistry<u64>>::is_eligible(&p));
		}
		let task = pallet_opml_market::Tasks::<Test>::get(t).unwrap();
		assert_eq!(task.status, TaskStatus::Open);
		assert_eq!(task.valuation, 880, "only the re-auction raise was added");
		assert_ok!(Market::cancel_task(RuntimeOrigin::signed(REQUESTER), t));
		assert_eq!(
			Balances::free_balance(REQUESTER),
			requester_free,
			"the requester gained nothing from the penalties"
		);
		assert_eq!(Balances::total_issuance(), issuance - 8 * 30, "burned");
	});
}

/// C3: a provider whose input is unavailable declines and is not penalized; a no-show
/// beside it is.
#[test]
fn c3_a_provider_declines_a_task_it_cannot_compute_without_penalty() {
	let w = World::new(2);
	let honest = w.honest();
	let good = H256(honest.result_root());
	test(|| {
		let t = w.task(&[10, 11, 12]);
		assert_noop!(
			Market::decline(RuntimeOrigin::signed(13), t),
			pallet_opml_market::Error::<Test>::NotAssignedProvider
		);
		let c = result_commitment(t, &10, &good.0, &[10; 32]);
		assert_ok!(Submissions::commit(RuntimeOrigin::signed(10), t, H256(c)));
		assert_noop!(
			Market::decline(RuntimeOrigin::signed(10), t),
			pallet_opml_market::Error::<Test>::AlreadyDelivered
		);
		assert_ok!(Market::decline(RuntimeOrigin::signed(11), t));
		assert_noop!(
			Market::decline(RuntimeOrigin::signed(11), t),
			pallet_opml_market::Error::<Test>::AlreadyDeclined
		);
		// 1 declined of 3: a strict majority is still possible, the task stays assigned
		assert!(pool(t).is_some());
		run_to(15);
		assert_eq!(provider_bond(11), 1_000, "the decliner is not penalized");
		assert_eq!(provider_bond(12), 1_000 - 30, "the no-show is");
		// one delivery of three is no majority: back to auction (and, in the round of
		// the same block, assigned again)
		assert!(System::events().into_iter().any(|r| matches!(
			r.event,
			RuntimeEvent::Market(pallet_opml_market::Event::TaskReauctioned { task, .. })
				if task == t
		)));
	});
	test(|| {
		// a lone provider declining sends the task back to auction at once
		let t = w.task(&[10]);
		assert_ok!(Market::decline(RuntimeOrigin::signed(10), t));
		assert!(pool(t).is_none());
		assert_eq!(
			pallet_opml_market::Tasks::<Test>::get(t).map(|t| t.status),
			Some(TaskStatus::Open)
		);
		assert_noop!(
			Market::decline(RuntimeOrigin::signed(10), t),
			pallet_opml_market::Error::<Test>::NotAssigned
		);
		assert_eq!(provider_bond(10), 1_000);
	});
}

/// C4: a provider drains its own bond through its own tasks; the slash must not come
/// back to it as free balance, and it must no longer be offered tasks.
#[test]
fn c4_a_self_slashed_provider_gains_nothing_and_is_not_eligible() {
	test(|| {
		let p = 20;
		assert_ok!(register_model(
			p,
			&zoo::mlp(&[24, 16, 8, 4], 1),
			H256::repeat_byte(2),
			b"own"
		));
		register(p, 0, 100, 1);
		let total = |a: u64| Balances::total_balance(&a);
		let before = total(p);
		for _ in 0..3 {
			assert_ok!(Market::submit_task(
				RuntimeOrigin::signed(p),
				0,
				TaskInput::Root(H256::repeat_byte(9)),
				1,
				100,
				1,
				2
			));
		}
		run_to(8);
		// all three were assigned to p at 5 and expired at 7: 3 × 30 burned
		assert_eq!(provider_bond(p), 10);
		assert!(!<Providers as ProviderRegistry<u64>>::is_eligible(&p));
		assert_eq!(total(p), before - 90, "the slash is not paid back to p");
		// an honest provider of the same model gets the re-auctioned tasks
		register(21, 0, 1_000, 1);
		// the round of block 12 (the first with 21's ask), cleared at 13
		run_to(13);
		let assigned_to = |who: u64| {
			(0..3).any(|t| {
				matches!(
					pallet_opml_market::Tasks::<Test>::get(t).map(|t| t.status),
					Some(TaskStatus::Assigned { providers, .. })
						if providers.iter().any(|(a, _)| *a == who)
				)
			})
		};
		assert!(assigned_to(21) && !assigned_to(p));
	});
}

/// C5: a provider unbonds right after assignment and withdraws before its result
/// exists; withdrawing must fail while the task is held, and the result stays
/// challengeable.
#[test]
fn c5_no_withdrawal_while_a_result_can_be_disputed() {
	let w = World::new(2);
	let honest = w.honest();
	let (liar, _) = w.random_liar(&honest, &mut Rng(3));
	let bad = H256(liar.result_root());
	test(|| {
		assert_ok!(register_model(
			OWNER,
			&w.model.model,
			H256(w.guest.program_root()),
			b"m"
		));
		register(10, 0, 1_000, 1);
		let input_root = H256(opml_nn::commit::tensor_root(&w.input.to_bytes()).0);
		let t = pallet_opml_market::Pallet::<Test>::next_task_id();
		assert_ok!(Market::submit_task(
			RuntimeOrigin::signed(REQUESTER),
			0,
			TaskInput::Root(input_root),
			1,
			100,
			1,
			80
		));
		run_to(5);
		assert_ok!(Providers::unbond(RuntimeOrigin::signed(10)));
		run_to(56);
		assert_noop!(
			Providers::withdraw(RuntimeOrigin::signed(10)),
			pallet_opml_providers::Error::<Test>::StillAssigned
		);
		hand_in(t, &[(10, bad)]);
		assert_ok!(Arbitration::challenge(
			RuntimeOrigin::signed(CHALLENGER),
			t,
			BOND
		));
		let (loser, ..) = drive(last_game(), (10, &liar), (CHALLENGER, &honest), None);
		assert_eq!(loser, Side::Defender);
		assert!(banned(10) && overturned(t));
		assert_eq!(Balances::free_balance(CHALLENGER), 100_000 + 500);
	});
}

/// H1: challengers take every game slot and idle so that their timeouts, closed back
/// to back after the window, finalize a lie. Games are not capped, so the honest
/// watcher gets its game; challenges after the window are refused (M8).
#[test]
fn h1_squatters_cannot_keep_an_honest_challenger_out() {
	let w = World::new(6);
	let honest = w.honest();
	let (liar, _) = w.random_liar(&honest, &mut Rng(13));
	let bad = H256(liar.result_root());
	test(|| {
		let t = w.task(&[10]);
		hand_in(t, &[(10, bad)]);
		let first = NextGameId::<Test>::get();
		// more squatters than the old cap of 4 (MaxGamesPerTask)
		for c in 30..36 {
			assert_ok!(Arbitration::challenge(RuntimeOrigin::signed(c), t, BOND));
		}
		// the liar posts once in each squatter game: the squatters' clocks run
		for g in first..first + 6 {
			post_graph_states(g, 10, &liar);
		}
		assert_ok!(Arbitration::challenge(
			RuntimeOrigin::signed(CHALLENGER),
			t,
			BOND
		));
		let honest_game = last_game();
		// the squatters' games all end in one block, after the window
		run_to(System::block_number() + 11);
		for g in first..first + 6 {
			assert_ok!(Arbitration::timeout(RuntimeOrigin::signed(REQUESTER), g));
			assert_eq!(resolved(g).map(|r| r.2), Some(Side::Challenger));
		}
		assert!(pallet_opml_submissions::Results::<Test>::get(t).is_none());
		assert!(!overturned(t));
		assert_noop!(
			Arbitration::challenge(RuntimeOrigin::signed(36), t, BOND),
			Error::<Test>::ChallengeWindowClosed
		);
		// the honest game is still open; the liar does not answer it and loses
		assert!(Games::<Test>::contains_key(honest_game));
		assert_ok!(Arbitration::timeout(
			RuntimeOrigin::signed(REQUESTER),
			honest_game
		));
		assert_eq!(resolved(honest_game).map(|r| r.2), Some(Side::Defender));
		assert!(overturned(t) && banned(10));
		assert!(pallet_opml_submissions::Results::<Test>::get(t).is_none());
	});
}

/// M5: banned and unbonding providers leave the provider list, so its slots cannot be
/// used up for good.
#[test]
fn m5_banned_providers_free_their_list_slots() {
	test(|| {
		// MaxProviders = 16 in the mock
		for p in 1..=16 {
			register(p, 0, 100, 1);
		}
		assert_noop!(
			Providers::register(
				RuntimeOrigin::signed(17),
				100,
				BoundedVec::truncate_from(vec![Capacity {
					task_type: 0,
					units: 1
				}]),
				1,
				1
			),
			pallet_opml_providers::Error::<Test>::TooManyProviders
		);
		for p in 1..=8 {
			<Providers as ProviderRegistry<u64>>::ban(&p, None, sp_runtime::Perbill::zero());
		}
		for p in 9..=12 {
			assert_ok!(Providers::unbond(RuntimeOrigin::signed(p)));
		}
		for p in 17..=28 {
			register(p, 0, 100, 1);
		}
		assert_eq!(pallet_opml_providers::ProviderList::<Test>::get().len(), 16);
	});
}

/// M1: in a pool of two, a Sybil reveals garbage against the honest provider. Before,
/// no strict majority meant a re-run with no game and no penalty: a free veto, task
/// after task. Now the first class in pool order defends, the other plays a game
/// against it, and the liar is banned whichever side it is on; the honest provider is
/// untouched.
#[test]
fn m1_a_garbage_reveal_is_no_free_veto() {
	let w = World::new(6);
	let honest = w.honest();
	let (liar, _) = w.random_liar(&honest, &mut Rng(6));
	let (good, bad) = (H256(honest.result_root()), H256(liar.result_root()));
	for sybil_first in [false, true] {
		test(|| {
			let t = w.task(&[10, 11]);
			let order: Vec<u64> = pool(t).unwrap().entries.iter().map(|e| e.who).collect();
			// the Sybil takes the place that defends in one run, challenges in the other
			let (sybil, good_one) = if sybil_first {
				(order[0], order[1])
			} else {
				(order[1], order[0])
			};
			hand_in(t, &[(good_one, good), (sybil, bad)]);
			let g = last_game();
			let game = Games::<Test>::get(g).expect("a game between the two classes");
			assert_eq!(
				(game.defender, game.challenger),
				(order[0], order[1]),
				"the first class in pool order defends"
			);
			let (loser, ..) = if sybil_first {
				drive(g, (sybil, &liar), (good_one, &honest), None)
			} else {
				drive(g, (good_one, &honest), (sybil, &liar), None)
			};
			let want = if sybil_first {
				Side::Defender
			} else {
				Side::Challenger
			};
			assert_eq!(loser, want);
			assert!(banned(sybil), "the garbage reveal costs the Sybil its bond");
			assert!(!banned(good_one));
			assert_eq!(provider_bond(good_one), 1_000);
			if sybil_first {
				// the lie is overturned (no one left to defend it) and re-run
				assert!(overturned(t));
				assert!(pallet_opml_submissions::Results::<Test>::get(t).is_none());
			} else {
				run_to(31);
				assert_eq!(
					pallet_opml_submissions::Results::<Test>::get(t).map(|r| r.result),
					Some(good)
				);
			}
		});
	}
}

/// `t`'s result was elected by every one of `ps`, and none of them lost any bond.
fn assert_elected_by_all_unpunished(t: TaskId, ps: &[u64]) {
	let votes = ps.len() as u32;
	assert!(System::events().iter().any(|r| matches!(
		r.event,
		RuntimeEvent::Submissions(pallet_opml_submissions::Event::ResultElected { task, votes: v, .. })
			if task == t && v == votes
	)));
	for p in ps {
		assert_eq!(provider_bond(*p), 1_000, "provider {p} lost bond");
	}
}

/// Fill the current block's `Normal` class: no room for a move or a reveal (H3).
pub(crate) fn stuff() {
	use frame_support::{dispatch::DispatchClass, traits::Get};
	let w: frame_system::limits::BlockWeights = <Test as frame_system::Config>::BlockWeights::get();
	let max = w
		.get(DispatchClass::Normal)
		.max_total
		.unwrap_or(w.max_block);
	System::register_extra_weight_unchecked(max, DispatchClass::Normal);
	assert!(!pallet_opml_submissions::Pallet::<Test>::had_room());
}

/// Run `n` blocks, each of them stuffed.
fn run_stuffed(n: u64) {
	for _ in 0..n {
		run_to(System::block_number() + 1);
		stuff();
	}
}

/// The defender `who` of game `g`, in its graph phase, posts `party`'s states: now
/// the challenger is to move.
fn post_graph_states(g: GameId, who: u64, party: &opml_dispute::party::Party) {
	let Phase::Graph { a, b, .. } = Games::<Test>::get(g).unwrap().phase else {
		panic!("graph phase")
	};
	let states: Vec<H256> = party.graph_hashes(a, b, K).into_iter().map(H256).collect();
	assert_ok!(Arbitration::post_states(
		RuntimeOrigin::signed(who),
		g,
		BoundedVec::truncate_from(states)
	));
}

/// A task of 10, 11 and 12 that all hand in `good`, challenged by [`CHALLENGER`]: the
/// task, the game and its defender.
fn challenged_correct_result(w: &World, good: H256) -> (TaskId, GameId, u64) {
	let t = w.task(&[10, 11, 12]);
	hand_in(t, &[(10, good), (11, good), (12, good)]);
	assert_ok!(Arbitration::challenge(
		RuntimeOrigin::signed(CHALLENGER),
		t,
		BOND
	));
	let g = last_game();
	(t, g, Games::<Test>::get(g).unwrap().defender)
}

/// H3: a challenger stuffs every block so the honest defender's moves cannot get in.
/// Before, clocks counted raw blocks and the defender lost on time (banned, bond
/// burned). Now full blocks do not count on game clocks: the defender's clock stands
/// still while the stuffing lasts, and it moves and wins once a block has room.
#[test]
fn h3_stuffed_blocks_do_not_run_out_a_defenders_clock() {
	let w = World::new(3);
	let honest = w.honest();
	let (liar, _) = w.random_liar(&honest, &mut Rng(3));
	let good = H256(honest.result_root());
	test(|| {
		let (t, g, defender) = challenged_correct_result(&w, good);
		stuff();
		// far beyond the 10-block clock, every block full
		run_stuffed(40);
		assert_noop!(
			Arbitration::timeout(RuntimeOrigin::signed(CHALLENGER), g),
			Error::<Test>::NotExpired
		);
		// the stuffing stops: the defender moves and wins
		run_to(System::block_number() + 1);
		let (loser, ..) = drive(g, (defender, &honest), (CHALLENGER, &liar), None);
		assert_eq!(loser, Side::Challenger);
		assert!(!banned(defender));
		// the challenge window was full too: it is extended before the result is final
		assert!(System::events().iter().any(|r| matches!(
			r.event,
			RuntimeEvent::Submissions(
				pallet_opml_submissions::Event::ChallengeWindowExtended { task, .. }
			) if task == t
		)));
		assert!(pallet_opml_submissions::Results::<Test>::get(t).is_none());
		run_to(System::block_number() + 60);
		assert!(System::events().iter().any(|r| matches!(
			r.event,
			RuntimeEvent::Submissions(pallet_opml_submissions::Event::ResultFinal { task, result })
				if task == t && result == good
		)));
	});
}

/// M3: workers act on finalized blocks while clocks ran on every block, so a finality
/// stall ran an honest defender (which saw nothing) out of time. Now a block counts on
/// the clocks only while the finalized block its author notes is at most
/// `MaxFinalityLag` (1) behind: the clock stops, and runs again once finality is back.
#[test]
fn m3_a_finality_stall_pauses_the_clocks() {
	let w = World::new(3);
	let honest = w.honest();
	let (liar, _) = w.random_liar(&honest, &mut Rng(3));
	let good = H256(honest.result_root());
	test(|| {
		let (_, g, defender) = challenged_correct_result(&w, good);
		// finality stops at the parent; the defender's daemon sees no later block
		let stalled = System::block_number() - 1;
		crate::mock::FINALIZED_STALLED_AT.with(|f| f.set(Some(stalled)));
		let ticks = pallet_opml_submissions::Ticks::<Test>::get();
		run_to(stalled + 100);
		// only the blocks within the lag counted: far from the 10-tick clock
		assert_eq!(pallet_opml_submissions::Ticks::<Test>::get(), ticks + 1);
		assert_noop!(
			Arbitration::timeout(RuntimeOrigin::signed(CHALLENGER), g),
			Error::<Test>::NotExpired
		);
		assert!(System::events().iter().any(|r| matches!(
			r.event,
			RuntimeEvent::Submissions(pallet_opml_submissions::Event::ClocksPaused {
				finalized: Some(f),
				..
			}) if f == stalled
		)));
		// finality is back: the clocks run, the defender moves and wins
		crate::mock::FINALIZED_STALLED_AT.with(|f| f.set(None));
		run_to(System::block_number() + 1);
		assert!(System::events().iter().any(|r| matches!(
			r.event,
			RuntimeEvent::Submissions(pallet_opml_submissions::Event::ClocksResumed { .. })
		)));
		assert_eq!(pallet_opml_submissions::Ticks::<Test>::get(), ticks + 2);
		let (loser, ..) = drive(g, (defender, &honest), (CHALLENGER, &liar), None);
		assert_eq!(loser, Side::Challenger);
		assert!(!banned(defender));
	});
}

/// M3: a block without a finality note does not count, and a block notes at most once
/// (the call is an inherent: origin none); a note past the parent counts as the parent.
#[test]
fn m3_the_finality_note_is_an_inherent_once_per_block() {
	use frame_support::traits::Hooks;
	use pallet_opml_submissions::{FinalizedNote, Ticks};
	test(|| {
		run_to(10);
		let ticks = Ticks::<Test>::get();
		// a block whose author noted nothing
		Submissions::on_finalize(System::block_number());
		assert_eq!(Ticks::<Test>::get(), ticks);
		System::set_block_number(11);
		assert_noop!(
			Submissions::note_finalized(RuntimeOrigin::signed(CHALLENGER), 10),
			sp_runtime::DispatchError::BadOrigin
		);
		assert_ok!(Submissions::note_finalized(RuntimeOrigin::none(), 500));
		assert_eq!(FinalizedNote::<Test>::get(), Some(10));
		assert_noop!(
			Submissions::note_finalized(RuntimeOrigin::none(), 10),
			pallet_opml_submissions::Error::<Test>::FinalityAlreadyNoted
		);
		Submissions::on_finalize(11);
		assert_eq!(Ticks::<Test>::get(), ticks + 1);
		assert_eq!(FinalizedNote::<Test>::get(), None);
	});
}

/// M3: the node's finalized block becomes the note; an importing node refuses a block
/// whose note is more than `MaxFinalityLag` past its own finalized block (an author
/// cannot keep the clocks running through a stall by noting a made-up finality).
#[test]
fn m3_importers_refuse_a_note_past_their_finality() {
	use frame_support::inherent::{InherentData, ProvideInherent};
	use pallet_opml_submissions::{Call as SubCall, FinalityInherentError, FINALITY_INHERENT};
	let data = |n: u64| {
		let mut d = InherentData::new();
		d.put_data(FINALITY_INHERENT, &n).unwrap();
		d
	};
	test(|| {
		let call = Submissions::create_inherent(&data(7)).expect("an inherent");
		assert!(Submissions::is_inherent(&call));
		assert_eq!(call, SubCall::note_finalized { finalized: 7 });
		assert!(Submissions::create_inherent(&InherentData::new()).is_none());
		// an importer that finalized 6: 7 is within the lag (1), 8 is not
		assert_eq!(Submissions::check_inherent(&call, &data(6)), Ok(()));
		assert_eq!(
			Submissions::check_inherent(&SubCall::note_finalized { finalized: 8 }, &data(6)),
			Err(FinalityInherentError::AheadOfLocalFinality)
		);
		// an importer without a view of finality has nothing to check against
		assert_eq!(
			Submissions::check_inherent(&call, &InherentData::new()),
			Ok(())
		);
	});
}

/// H3: stuffing the reveal window made honest reveals miss (penalty, no majority).
/// Now a window whose blocks had no room is extended until it had `RevealPeriod`
/// blocks with room (at most `MaxWindowExtension`), so the reveals land.
#[test]
fn h3_a_stuffed_reveal_window_is_extended() {
	let w = World::new(3);
	let good = H256(w.honest().result_root());
	test(|| {
		let t = w.task(&[10, 11, 12]);
		let pool = pool(t).unwrap();
		for p in [10u64, 11, 12] {
			let c = result_commitment(t, &p, &good.0, &[p as u8; 32]);
			assert_ok!(Submissions::commit(RuntimeOrigin::signed(p), t, H256(c)));
		}
		run_to(pool.commit_end);
		stuff();
		// every block of the window is full: no reveal gets in
		run_stuffed(pool.reveal_end - pool.commit_end - 1);
		run_to(pool.reveal_end);
		let extended = self::pool(t).expect("the pool is not tallied");
		assert!(extended.reveal_end > pool.reveal_end);
		assert!(System::events().iter().any(|r| matches!(
			r.event,
			RuntimeEvent::Submissions(pallet_opml_submissions::Event::RevealExtended { task, .. })
				if task == t
		)));
		for p in [10u64, 11, 12] {
			assert_ok!(Submissions::reveal(
				RuntimeOrigin::signed(p),
				t,
				good,
				[p as u8; 32]
			));
		}
		run_to(extended.reveal_end);
		assert_elected_by_all_unpunished(t, &[10, 11, 12]);
	});
}

/// H3: stuffing the commit window made every honest provider miss its deadline (a
/// penalty each, the task re-run). Now a commit window whose blocks had no room is
/// extended (`DeadlineExtended`), the pool's windows move with it, and the commits land.
#[test]
fn h3_a_stuffed_commit_window_is_extended() {
	let w = World::new(3);
	let good = H256(w.honest().result_root());
	test(|| {
		let t = w.task(&[10, 11, 12]);
		let first = pool(t).unwrap();
		stuff();
		// every block of the commit window is full: no commit gets in
		run_stuffed(first.commit_end - System::block_number() - 1);
		run_to(first.commit_end);
		assert!(System::events().iter().any(|r| matches!(
			r.event,
			RuntimeEvent::Market(pallet_opml_market::Event::DeadlineExtended { task, .. })
				if task == t
		)));
		assert!(!System::events().iter().any(|r| matches!(
			r.event,
			RuntimeEvent::Market(pallet_opml_market::Event::DeadlineMissed { .. })
		)));
		let moved = pool(t).expect("the pool stays");
		assert!(moved.commit_end > first.commit_end);
		assert_eq!(moved.instance, first.instance);
		hand_in(t, &[(10, good), (11, good), (12, good)]);
		assert_elected_by_all_unpunished(t, &[10, 11, 12]);
	});
}

/// Fill the current block's length as a burst of reveal chunks would: less than
/// `RoomLength` left (M4).
fn fill_with_chunks() {
	use frame_support::{dispatch::DispatchClass, traits::Get};
	let l: frame_system::limits::BlockLength = <Test as frame_system::Config>::BlockLength::get();
	let normal = *l.max.get(DispatchClass::Normal);
	frame_system::BlockSize::<Test>::put(normal - 1024);
	assert!(!pallet_opml_submissions::Pallet::<Test>::had_room());
}

/// M4: a reveal window of 15 blocks cannot carry what a pool may reveal (r × 16 MiB
/// against 15 × 3.75 MiB). Blocks the reveals themselves fill leave no room, so they
/// do not count: the window lasts until it had `RevealPeriod` blocks with room, and
/// the reveals that did not fit land in the extension.
#[test]
fn m4_a_window_filled_by_reveals_lasts_until_they_fit() {
	let w = World::new(3);
	let good = H256(w.honest().result_root());
	test(|| {
		let t = w.task(&[10, 11, 12]);
		let first = pool(t).unwrap();
		for p in [10u64, 11, 12] {
			let c = result_commitment(t, &p, &good.0, &[p as u8; 32]);
			assert_ok!(Submissions::commit(RuntimeOrigin::signed(p), t, H256(c)));
		}
		run_to(first.commit_end);
		// other pools' chunks fill every block of the window but the first; one member
		// gets its reveal in, the other two do not fit
		assert_ok!(Submissions::reveal(
			RuntimeOrigin::signed(10),
			t,
			good,
			[10; 32]
		));
		for _ in first.commit_end + 1..first.reveal_end {
			run_to(System::block_number() + 1);
			fill_with_chunks();
		}
		run_to(first.reveal_end);
		let extended = pool(t).expect("not tallied: the window is extended");
		assert!(extended.reveal_end > first.reveal_end);
		for p in [11u64, 12] {
			assert_ok!(Submissions::reveal(
				RuntimeOrigin::signed(p),
				t,
				good,
				[p as u8; 32]
			));
		}
		run_to(extended.reveal_end);
		assert_elected_by_all_unpunished(t, &[10, 11, 12]);
	});
}

/// H4: a handoff may not claim more VM steps than `MaxNodeSteps`, the most any party's
/// VM runs a node to (before, a defender could claim a run past the honest
/// challenger's step cap, whose trace then stopped short). Played with a bound below
/// the real node's steps: the handoff fails, nothing changes, and the defender that
/// cannot hand off loses on time.
#[test]
fn h4_a_handoff_beyond_the_step_bound_is_refused() {
	let w = World::new(2);
	let honest = w.honest();
	let (liar, _) = w.random_liar(&honest, &mut Rng(2));
	let bad = H256(liar.result_root());
	test(|| {
		let t = w.task(&[10]);
		hand_in(t, &[(10, bad)]);
		assert_ok!(Arbitration::challenge(
			RuntimeOrigin::signed(CHALLENGER),
			t,
			BOND
		));
		let g = last_game();
		// the graph phase down to the disputed node
		loop {
			let game = Games::<Test>::get(g).unwrap();
			match game.phase {
				Phase::Graph { a, b, posted, .. } if posted.is_empty() => {
					let states = liar.graph_hashes(a, b, K).into_iter().map(H256).collect();
					assert_ok!(Arbitration::post_states(
						RuntimeOrigin::signed(10),
						g,
						BoundedVec::truncate_from(states)
					));
				}
				Phase::Graph { a, b, posted, .. } => {
					let posted: Vec<[u8; 32]> = posted.iter().map(|h| h.0).collect();
					assert_ok!(Arbitration::choose(
						RuntimeOrigin::signed(CHALLENGER),
						g,
						honest.choose_graph(a, b, K, &posted)
					));
				}
				Phase::Handoff { node, .. } => {
					let mut ng = liar.node_game(node).unwrap();
					let h = liar.handoff(node, Some(&mut ng)).unwrap().encode();
					MaxNodeSteps::set(10);
					assert_noop!(
						Arbitration::handoff(
							RuntimeOrigin::signed(10),
							g,
							BoundedVec::truncate_from(h.clone())
						),
						Error::<Test>::TooManySteps
					);
					MaxNodeSteps::set(opml_nn::layout::MAX_NODE_STEPS);
					break;
				}
				p => panic!("unexpected phase {p:?}"),
			}
		}
		// it cannot hand off: its clock runs out
		run_to(System::block_number() + 11);
		assert_ok!(Arbitration::timeout(RuntimeOrigin::signed(CHALLENGER), g));
		assert_eq!(
			resolved(g).map(|(_, l, side, o)| (l, side, o)),
			Some((10, Side::Defender, Outcome::Timeout))
		);
		assert!(banned(10));
	});
}

/// An elected result whose audit is drawn from a round seed: `(task, auditor, other
/// eligible provider)`. Provider 10 computed it; 11 and 12 can be drawn.
fn audited(w: &World, good: H256) -> (TaskId, u64, u64) {
	let t = w.task(&[10]);
	for p in [11, 12] {
		register(p, 0, 1_000, 1);
	}
	hand_in(t, &[(10, good)]);
	assert_eq!(AuditCandidates::<Test>::get().into_inner(), vec![t]);
	AuditProbability::set(sp_runtime::Perbill::one());
	// the next round seed (the market's hook) draws it
	<Arbitration as pallet_opml_market::OnRoundSeed>::on_round_seed(H256::repeat_byte(7));
	assert!(AuditCandidates::<Test>::get().is_empty());
	let audits = Audits::<Test>::get();
	assert_eq!(audits.len(), 1);
	let a = audits[0].clone();
	assert_eq!(a.task, t);
	assert!(a.auditor == 11 || a.auditor == 12, "not the majority");
	let other = if a.auditor == 11 { 12 } else { 11 };
	assert_eq!(
		pending(t).map(|p| p.disputes),
		Some(1),
		"the audit holds the result"
	);
	(t, a.auditor, other)
}

fn pending(t: TaskId) -> Option<pallet_opml_submissions::PendingResult<u64>> {
	<Submissions as pallet_opml_submissions::PendingResults<u64>>::pending(t)
}

fn final_result(t: TaskId) -> bool {
	pallet_opml_submissions::Results::<Test>::get(t).is_some()
}

/// M2: an audit is drawn from a round seed, holds finalization until the bonded
/// auditor answers, and a confirmation is paid from the task's escrow.
#[test]
fn m2_an_audit_holds_the_result_until_the_auditor_confirms_and_is_paid() {
	let w = World::new(12);
	let good = H256(w.honest().result_root());
	test(|| {
		let (t, auditor, other) = audited(&w, good);
		// the auditor's bond stays while it audits (it holds the audit as exposure)
		let exposure = |p: u64| {
			pallet_opml_providers::Providers::<Test>::get(p)
				.unwrap()
				.exposure
		};
		assert_eq!(exposure(auditor), 1);
		assert_noop!(
			Arbitration::confirm_audit(RuntimeOrigin::signed(other), t),
			Error::<Test>::NotAuditor
		);
		// the challenge window (until 30) passes: the result waits for its audit
		run_to(32);
		assert!(!final_result(t) && pending(t).is_some());
		let free = Balances::free_balance(auditor);
		assert_ok!(Arbitration::confirm_audit(
			RuntimeOrigin::signed(auditor),
			t
		));
		assert_eq!(
			Balances::free_balance(auditor),
			free + 7,
			"AuditReward paid"
		);
		assert_eq!(exposure(auditor), 0);
		assert_eq!(
			events_where(|e| matches!(e, Event::AuditConfirmed { reward: 7, .. })),
			1
		);
		assert!(Audits::<Test>::get().is_empty());
		// answered after the window: final at once, the requester paid the reward
		assert!(final_result(t));
		assert_noop!(
			Arbitration::confirm_audit(RuntimeOrigin::signed(auditor), t),
			Error::<Test>::NotAuditor
		);
	});
}

/// M2: an auditor that neither confirms nor challenges in time is slashed, and the
/// result goes on to be final.
#[test]
fn m2_an_ignored_audit_costs_the_auditor_its_penalty() {
	let w = World::new(12);
	let good = H256(w.honest().result_root());
	test(|| {
		let (t, auditor, other) = audited(&w, good);
		let due = Audits::<Test>::get()[0].due;
		let ticks = <Submissions as pallet_opml_submissions::GameClock<u64>>::ticks;
		while ticks() < due {
			run_to(System::block_number() + 1);
		}
		run_to(System::block_number() + 1);
		assert_eq!(
			events_where(|e| matches!(e, Event::AuditMissed { penalty: 25, .. })),
			1
		);
		assert_eq!(provider_bond(auditor), 1_000 - 25);
		assert_eq!(provider_bond(other), 1_000);
		assert!(Audits::<Test>::get().is_empty());
		run_to(31);
		assert!(final_result(t), "the result goes on");
		assert_eq!(provider_bond(10), 1_000);
	});
}

/// M2: the auditor of an open audit may challenge the result even after its window;
/// the game answers the audit (the result waits for the game).
#[test]
fn m2_an_auditor_challenges_after_the_window() {
	let w = World::new(12);
	let honest = w.honest();
	let (liar, _) = w.random_liar(&honest, &mut opml_nn::zoo::Rng(3));
	let bad = H256(liar.result_root());
	test(|| {
		let (t, auditor, other) = audited(&w, bad);
		run_to(31);
		assert!(pending(t).is_some_and(|p| !p.challengeable));
		// the defender beat three challenges lately (M8): others pay 8 x the bond, the
		// drawn auditor the base bond
		let defender = pending(t).unwrap().defender;
		DefenderStrikes::<Test>::insert(
			defender,
			Strikes {
				count: 3,
				at: System::block_number(),
			},
		);
		assert_eq!(Arbitration::challenge_bond(t, other), Some(400));
		assert_eq!(Arbitration::challenge_bond(t, auditor), Some(50));
		// anyone else is too late
		assert_noop!(
			Arbitration::challenge(RuntimeOrigin::signed(other), t, BOND),
			Error::<Test>::ChallengeWindowClosed
		);
		assert_ok!(Arbitration::challenge(
			RuntimeOrigin::signed(auditor),
			t,
			BOND
		));
		let game = last_game();
		assert_eq!(
			events_where(|e| matches!(e, Event::AuditChallenged { game: g, .. } if *g == game)),
			1
		);
		assert!(Audits::<Test>::get().is_empty());
		assert_eq!(
			pending(t).map(|p| p.disputes),
			Some(1),
			"the game holds it now"
		);
		assert!(!final_result(t));
	});
}

/// M8: barring a competitor by challenging its correct results cost half a bond each
/// time, whatever the repetition. Now every challenge a defender beats doubles the bond
/// of the next one against it (up to `MaxBondDoublings`, 3: 8 x `MinChallengeBond`),
/// and one doubling is forgotten every `StrikeDecay` (50) blocks.
#[test]
fn m8_the_bond_against_a_defender_doubles_with_each_challenge_it_beat() {
	let w = World::new(15);
	let honest = w.honest();
	let good = H256(honest.result_root());
	test(|| {
		let first = w.task(&[10]);
		let model = model_of(first);
		let mut first = Some(first);
		// the next task for 10, assigned
		let mut next_task = || {
			if let Some(t) = first.take() {
				return t;
			}
			let t = pallet_opml_market::Pallet::<Test>::next_task_id();
			let input_root = H256(opml_nn::commit::tensor_root(&w.input.to_bytes()).0);
			assert_ok!(Market::submit_task(
				RuntimeOrigin::signed(REQUESTER),
				model,
				TaskInput::Root(input_root),
				1,
				100,
				1,
				10
			));
			while pallet_opml_submissions::Pools::<Test>::get(t).is_none() {
				assert!(System::block_number() < 2_000, "task {t} never assigned");
				run_to(System::block_number() + 1);
			}
			t
		};
		let mut lose_one = |expected: u64| {
			let t = next_task();
			hand_in(t, &[(10, good)]);
			assert_eq!(Arbitration::challenge_bond(t, CHALLENGER), Some(expected));
			assert_noop!(
				Arbitration::challenge(RuntimeOrigin::signed(CHALLENGER), t, expected - 1),
				Error::<Test>::BondTooLow
			);
			assert_ok!(Arbitration::challenge(
				RuntimeOrigin::signed(CHALLENGER),
				t,
				expected
			));
			let g = last_game();
			post_graph_states(g, 10, &honest);
			// the griefer lets its clock run out
			run_to(System::block_number() + 11);
			assert_ok!(Arbitration::timeout(RuntimeOrigin::signed(REQUESTER), g));
			assert_eq!(resolved(g).map(|r| r.2), Some(Side::Challenger));
			assert!(!banned(10));
		};
		for expected in [50, 100, 200, 400, 400] {
			lose_one(expected);
		}
		assert_eq!(Arbitration::strikes(&10), 3);
		// one strike is forgotten after 50 blocks
		run_to(System::block_number() + 50);
		assert_eq!(Arbitration::strikes(&10), 2);
		lose_one(200);
		// all forgotten: the next challenge removes the record
		run_to(System::block_number() + 150);
		let t = next_task();
		hand_in(t, &[(10, good)]);
		assert_eq!(Arbitration::challenge_bond(t, CHALLENGER), Some(50));
		assert!(DefenderStrikes::<Test>::contains_key(10));
		assert_ok!(Arbitration::challenge(
			RuntimeOrigin::signed(CHALLENGER),
			t,
			50
		));
		assert!(!DefenderStrikes::<Test>::contains_key(10));
	});
}

/// M2: a real round's seed draws the audits of the results elected before it.
#[test]
fn m2_audits_are_drawn_at_the_next_round_seed() {
	let w = World::new(12);
	let good = H256(w.honest().result_root());
	test(|| {
		let t = w.task(&[10]);
		for p in [11, 12] {
			register(p, 0, 1_000, 1);
		}
		hand_in(t, &[(10, good)]);
		AuditProbability::set(sp_runtime::Perbill::one());
		run_to(System::block_number() + 2);
		assert!(Audits::<Test>::get().is_empty(), "no round, no draw");
		// another task: its round's seed draws the audit
		assert_ok!(Market::submit_task(
			RuntimeOrigin::signed(REQUESTER),
			0,
			TaskInput::Root(H256::repeat_byte(9)),
			1,
			100,
			1,
			10
		));
		run_to((System::block_number() / 4 + 1) * 4 + 1);
		assert!(System::events().iter().any(|r| matches!(
			r.event,
			RuntimeEvent::Market(pallet_opml_market::Event::RoundSeeded { .. })
		)));
		assert_eq!(Audits::<Test>::get().len(), 1);
		assert_eq!(Audits::<Test>::get()[0].task, t);
	});
}

/// M8: a challenge bars its defender from the disputed model only: a task of another
/// model it serves is still assigned to it while the game runs.
#[test]
fn m8_a_challenge_bars_only_the_disputed_model() {
	let w = World::new(14);
	let good = H256(w.honest().result_root());
	test(|| {
		let t = w.task(&[10]);
		let m0 = model_of(t);
		// a second model that 10 also serves
		assert_ok!(register_model(
			OWNER,
			&zoo::mlp(&[24, 16, 8, 4], 99),
			H256(w.guest.program_root()),
			b"other"
		));
		let m1 = m0 + 1;
		assert_ok!(Providers::update(
			RuntimeOrigin::signed(10),
			BoundedVec::truncate_from(vec![
				Capacity {
					task_type: m0,
					units: 100
				},
				Capacity {
					task_type: m1,
					units: 100
				},
			]),
			1,
			10
		));
		hand_in(t, &[(10, good)]);
		assert_ok!(Arbitration::challenge(
			RuntimeOrigin::signed(CHALLENGER),
			t,
			BOND
		));
		let offer = <Providers as ProviderRegistry<u64>>::offer(&10).expect("still trades");
		let types: Vec<u32> = offer.capacity.iter().map(|c| c.task_type).collect();
		assert_eq!(types, vec![m1], "only the disputed model is barred");
		let t1 = pallet_opml_market::Pallet::<Test>::next_task_id();
		assert_ok!(Market::submit_task(
			RuntimeOrigin::signed(REQUESTER),
			m1,
			TaskInput::Root(H256::repeat_byte(9)),
			1,
			100,
			1,
			10
		));
		run_to((System::block_number() / 4 + 1) * 4 + 1);
		assert!(
			Games::<Test>::iter().any(|(_, g)| g.task == t),
			"the game runs"
		);
		assert!(matches!(
			pallet_opml_market::Tasks::<Test>::get(t1).map(|t| t.status),
			Some(TaskStatus::Assigned { providers, .. }) if providers.iter().any(|(a, _)| *a == 10)
		));
	});
}
