//! Unit tests of the market: every call and error path, rounds (one block and several),
//! assignment, deadlines and re-auction, settlement; invariants after each test.

use crate::{
	auction::Mode,
	mock::*,
	pallet::{CurrentRound, Event, HoldReason, Models, OpenTasks, SeedCommits, Stores, Tasks},
	types::*,
	Error,
};
use frame_support::{
	assert_noop, assert_ok,
	traits::{fungible::InspectHold, ConstU32},
	BoundedVec,
};
use pallet_opml_providers::Capacity;
use sp_core::H256;

const ALICE: u64 = 1; // requester
const BOB: u64 = 2; // requester

fn escrow(who: u64) -> u64 {
	Balances::balance_on_hold(&HoldReason::TaskEscrow.into(), &who)
}

type GraphBytes = BoundedVec<u8, ConstU32<{ 1 << 20 }>>;
type GraphSiblings = BoundedVec<H256, ConstU32<{ opml_nn::commit::MODEL_DEPTH }>>;

/// `model`'s commitment and registration (graph bytes, the graph root's siblings).
fn registration_of(model: &opml_nn::Model) -> (H256, GraphBytes, GraphSiblings) {
	let c = opml_nn::commit::model_commitment(model).unwrap();
	let (g, s) = opml_nn::registration::graph_registration(model).unwrap();
	(
		H256(c),
		BoundedVec::truncate_from(g),
		BoundedVec::truncate_from(s.into_iter().map(H256).collect()),
	)
}

/// The test models' registration: a real two-layer MLP.
fn registration() -> (H256, GraphBytes, GraphSiblings) {
	registration_of(&opml_nn::zoo::mlp(&[64, 32, 10], 1))
}

fn model(weight: u32) -> ModelId {
	let id = crate::pallet::NextModelId::<Test>::get();
	let (c, g, s) = registration();
	assert_ok!(Market::register_model(
		RuntimeOrigin::signed(ALICE),
		c,
		H256::repeat_byte(2),
		weight,
		BoundedVec::truncate_from(b"mnist-mlp".to_vec()),
		g,
		s,
	));
	id
}

fn provider(who: u64, ty: u32, units: u32, cost: u64) {
	let cap = BoundedVec::truncate_from(vec![Capacity {
		task_type: ty,
		units,
	}]);
	assert_ok!(Providers::register(
		RuntimeOrigin::signed(who),
		1_000,
		cap,
		cost,
		10
	));
}

fn submit(who: u64, m: ModelId, demand: u32, v: u64, r: u8) -> TaskId {
	let id = crate::Pallet::<Test>::next_task_id();
	assert_ok!(Market::submit_task(
		RuntimeOrigin::signed(who),
		m,
		TaskInput::Root(H256::repeat_byte(9)),
		demand,
		v,
		r,
		10
	));
	id
}

fn events() -> Vec<Event<Test>> {
	System::events()
		.into_iter()
		.filter_map(|r| match r.event {
			RuntimeEvent::Market(e) => Some(e),
			_ => None,
		})
		.collect()
}

fn assigned(task: TaskId) -> Vec<(u64, u64)> {
	match Tasks::<Test>::get(task).unwrap().status {
		TaskStatus::Assigned { providers, .. } => providers.into_inner(),
		_ => vec![],
	}
}

#[test]
fn register_and_deregister_models() {
	test(|| {
		let m = model(3);
		assert_eq!(Models::<Test>::get(m).unwrap().weight, 3);
		assert_eq!(
			Balances::balance_on_hold(&HoldReason::ModelDeposit.into(), &ALICE),
			10
		);
		let (c, g, sib) = registration();
		assert_noop!(
			Market::register_model(
				RuntimeOrigin::signed(ALICE),
				c,
				H256::zero(),
				0,
				Default::default(),
				g,
				sib,
			),
			Error::<Test>::ZeroWeight
		);
		assert_noop!(
			Market::deregister_model(RuntimeOrigin::signed(BOB), m),
			Error::<Test>::NotModelOwner
		);
		assert_ok!(Market::deregister_model(RuntimeOrigin::signed(ALICE), m));
		assert_noop!(
			Market::deregister_model(RuntimeOrigin::signed(ALICE), m),
			Error::<Test>::UnknownModel
		);
		assert_eq!(
			Balances::balance_on_hold(&HoldReason::ModelDeposit.into(), &ALICE),
			0
		);
	});
}

fn url(s: &str) -> BoundedVec<u8, ConstU32<64>> {
	BoundedVec::truncate_from(s.as_bytes().to_vec())
}

#[test]
fn stores_are_announced_moved_and_withdrawn_for_one_deposit() {
	test(|| {
		let held = || Balances::balance_on_hold(&HoldReason::StoreDeposit.into(), &BOB);
		assert_ok!(Market::announce_store(
			RuntimeOrigin::signed(BOB),
			url("http://10.0.0.2:8000")
		));
		assert_eq!(held(), 5);
		assert_eq!(
			Stores::<Test>::get(BOB).unwrap().url,
			url("http://10.0.0.2:8000")
		);
		// moving the store keeps the one deposit
		assert_ok!(Market::announce_store(
			RuntimeOrigin::signed(BOB),
			url("https://files.example/opml")
		));
		assert_eq!(held(), 5);
		assert_eq!(
			Stores::<Test>::get(BOB).unwrap().url,
			url("https://files.example/opml")
		);
		assert!(events().contains(&Event::StoreAnnounced {
			who: BOB,
			url: url("https://files.example/opml")
		}));
		assert_ok!(Market::withdraw_store(RuntimeOrigin::signed(BOB)));
		assert_eq!(held(), 0);
		assert!(Stores::<Test>::get(BOB).is_none());
		assert!(events().contains(&Event::StoreWithdrawn { who: BOB }));
		assert_noop!(
			Market::withdraw_store(RuntimeOrigin::signed(BOB)),
			Error::<Test>::NoStore
		);
	});
}

#[test]
fn a_store_url_must_be_http_and_a_deposit_must_be_free() {
	test(|| {
		for bad in [
			"",
			"http://",
			"ftp://host",
			"http:///path",
			"http://host/a b",
			"http://host/?x=1",
			"http://host/#top",
			"http://host/\u{7f}",
			"HTTP://host",
		] {
			assert_noop!(
				Market::announce_store(RuntimeOrigin::signed(BOB), url(bad)),
				Error::<Test>::BadStoreUrl
			);
		}
		// an account whose balance cannot cover the deposit
		assert_noop!(
			Market::announce_store(RuntimeOrigin::signed(99), url("http://host")),
			Error::<Test>::InsufficientBalance
		);
		assert!(crate::valid_store_url(b"http://127.0.0.1:9000/files/"));
		assert!(crate::valid_store_url(b"https://h"));
	});
}

#[test]
fn submit_task_holds_escrow_and_checks_parameters() {
	test(|| {
		let m = model(2);
		let o = || RuntimeOrigin::signed(BOB);
		let input = || TaskInput::Inline(BoundedVec::truncate_from(vec![1, 2, 3]));
		assert_noop!(
			Market::submit_task(o(), 7, input(), 2, 100, 1, 10),
			Error::<Test>::UnknownModel
		);
		assert_noop!(
			Market::submit_task(o(), m, input(), 1, 100, 1, 10),
			Error::<Test>::BadDemand
		);
		assert_noop!(
			Market::submit_task(o(), m, input(), 2, 100, 0, 10),
			Error::<Test>::BadRedundancy
		);
		assert_noop!(
			Market::submit_task(o(), m, input(), 2, 100, 6, 10),
			Error::<Test>::BadRedundancy
		);
		assert_noop!(
			Market::submit_task(o(), m, input(), 2, 100, 1, 1),
			Error::<Test>::BadDeadline
		);
		assert_noop!(
			Market::submit_task(o(), m, input(), 2, 100, 1, 101),
			Error::<Test>::BadDeadline
		);
		assert_noop!(
			Market::submit_task(o(), m, input(), 2, 0, 1, 10),
			Error::<Test>::ZeroValuation
		);
		assert_noop!(
			Market::submit_task(o(), m, input(), 2, 1_000_000, 1, 10),
			Error::<Test>::InsufficientBalance
		);
		assert_ok!(Market::submit_task(o(), m, input(), 2, 500, 2, 10));
		assert_eq!(escrow(BOB), 500);
		assert_eq!(OpenTasks::<Test>::iter_keys().collect::<Vec<_>>(), vec![0]);
		assert!(matches!(
			events().last(),
			Some(Event::TaskSubmitted {
				task: 0,
				valuation: 500,
				..
			})
		));
	});
}

#[test]
fn cancel_task_releases_escrow() {
	test(|| {
		let m = model(1);
		let t = submit(BOB, m, 1, 300, 1);
		assert_noop!(
			Market::cancel_task(RuntimeOrigin::signed(ALICE), t),
			Error::<Test>::NotRequester
		);
		assert_noop!(
			Market::cancel_task(RuntimeOrigin::signed(BOB), 9),
			Error::<Test>::UnknownTask
		);
		assert_ok!(Market::cancel_task(RuntimeOrigin::signed(BOB), t));
		assert_eq!(escrow(BOB), 0);
		assert_eq!(Market::open_tasks(), 0);
		assert!(Tasks::<Test>::get(t).is_none());
	});
}

#[test]
fn a_round_assigns_tasks_to_distinct_cheap_enough_providers() {
	test(|| {
		let m = model(1);
		provider(10, m, 100, 5);
		provider(11, m, 100, 8);
		provider(12, m, 100, 50); // too expensive for the task below
		let t = submit(BOB, m, 4, 400, 2); // unit price 400 / (4·2) = 50 ... cost 50 ok
		let t2 = submit(BOB, m, 4, 100, 2); // unit price 12.5: only the two cheap ones
									  // the round starts at 5; its providers reveal their seeds; it clears at 6
		run_to(6);
		let a = assigned(t);
		assert_eq!(a.len(), 2);
		let b = assigned(t2);
		let mut who: Vec<u64> = b.iter().map(|p| p.0).collect();
		who.sort();
		assert_eq!(who, vec![10, 11]);
		// midpoint payments: (v + q·d·r) / 2r
		for (p, pay) in b {
			let q = if p == 10 { 5 } else { 8 };
			assert_eq!(pay, (100 + q * 4 * 2) / 4);
		}
		assert_eq!(Market::open_tasks(), 0);
		assert!(events()
			.iter()
			.any(|e| matches!(e, Event::RoundCleared { assigned: 2, .. })));
		// cannot cancel an assigned task
		assert_noop!(
			Market::cancel_task(RuntimeOrigin::signed(BOB), t),
			Error::<Test>::NotCancellable
		);
	});
}

#[test]
fn barred_providers_and_missing_capacity_get_nothing() {
	test(|| {
		let m = model(1);
		provider(10, m, 3, 1);
		provider(11, m, 100, 1);
		use pallet_opml_providers::ProviderRegistry;
		assert_ok!(Providers::begin_challenge(&11, m));
		let t = submit(BOB, m, 5, 1_000, 1); // 10 has only 3 units, 11 is barred
		run_to(6);
		assert!(assigned(t).is_empty());
		assert_eq!(OpenTasks::<Test>::iter_keys().collect::<Vec<_>>(), vec![t]);
		Providers::end_challenge(&11, m);
		run_to(11);
		assert_eq!(assigned(t), vec![(11, (1_000 + 5) / 2)]);
	});
}

#[test]
fn a_big_round_continues_over_several_blocks() {
	test(|| {
		MaxTasksPerBlock::set(3);
		let m = model(1);
		provider(10, m, 1_000, 1);
		let tasks: Vec<TaskId> = (0..8).map(|_| submit(BOB, m, 1, 100, 1)).collect();
		run_to(5);
		assert!(CurrentRound::<Test>::get().is_some());
		// a task in the running round cannot be cancelled
		assert_noop!(
			Market::cancel_task(RuntimeOrigin::signed(BOB), tasks[0]),
			Error::<Test>::NotCancellable
		);
		// seeded at 6, then 3 tasks per block: 6, 7, 8
		run_to(7);
		assert!(CurrentRound::<Test>::get().is_some());
		run_to(8);
		assert!(CurrentRound::<Test>::get().is_none());
		assert!(tasks.iter().all(|&t| assigned(t).len() == 1));
		MaxTasksPerBlock::set(64);
	});
}

/// L4: a provider banned while a multi-block round runs (after its snapshot) is not
/// assigned the round's tasks; they wait for the next round.
#[test]
fn l4_a_provider_banned_during_a_round_is_not_assigned() {
	use pallet_opml_providers::ProviderRegistry;
	test(|| {
		MaxTasksPerBlock::set(3);
		let m = model(1);
		provider(10, m, 1_000, 1);
		let tasks: Vec<TaskId> = (0..8).map(|_| submit(BOB, m, 1, 100, 1)).collect();
		run_to(5);
		assert!(CurrentRound::<Test>::get().is_some());
		<Providers as ProviderRegistry<u64>>::ban(&10, None, sp_runtime::Perbill::zero());
		run_to(8);
		assert!(CurrentRound::<Test>::get().is_none());
		assert!(tasks.iter().all(|&t| assigned(t).is_empty()));
		assert!(tasks
			.iter()
			.all(|&t| Tasks::<Test>::get(t).unwrap().status == TaskStatus::Open));
		MaxTasksPerBlock::set(64);
	});
}

#[test]
fn a_missed_deadline_penalizes_and_reauctions_with_a_higher_valuation() {
	test(|| {
		let m = model(1);
		provider(10, m, 100, 1);
		provider(11, m, 100, 2);
		let t = submit(BOB, m, 1, 100, 2);
		run_to(6);
		assert_eq!(assigned(t).len(), 2);
		deliver(t, 10); // 11 will miss
		let bond11 = pallet_opml_providers::Providers::<Test>::get(11)
			.unwrap()
			.bond;
		run_to(16); // due = 6 + 10
		let e = events();
		assert!(e.iter().any(|e| matches!(
			e,
			Event::DeadlineMissed {
				provider: 11,
				penalty: 30,
				..
			}
		)));
		assert_eq!(
			pallet_opml_providers::Providers::<Test>::get(11)
				.unwrap()
				.bond,
			bond11 - 30
		);
		let task = Tasks::<Test>::get(t).unwrap();
		assert_eq!(task.priority, 1);
		// valuation: 100 + 10 % raise (the penalty is burned, not paid to the requester)
		assert_eq!(task.valuation, 110);
		assert_eq!(escrow(BOB), 110);
		assert!(e.iter().any(|e| matches!(
			e,
			Event::TaskReauctioned {
				valuation: 110,
				priority: 1,
				..
			}
		)));
		// back in the book: the round of block 20 assigns it again (at 21, due 31)
		assert_eq!(task.status, TaskStatus::Open);
		run_to(21);
		assert!(matches!(
			Tasks::<Test>::get(t).unwrap().status,
			TaskStatus::Assigned { due: 31, .. }
		));
		assert_eq!(assigned(t).len(), 2);
	});
}

#[test]
fn delivered_tasks_are_not_penalized_and_settle() {
	test(|| {
		use crate::TaskSettlement;
		let m = model(1);
		provider(10, m, 100, 1);
		provider(11, m, 100, 3);
		let t = submit(BOB, m, 2, 100, 2);
		run_to(6);
		deliver(t, 10);
		deliver(t, 11);
		run_to(17);
		assert!(matches!(
			Tasks::<Test>::get(t).unwrap().status,
			TaskStatus::Assigned { .. }
		));
		let a = assigned(t);
		let (b10, b11, bob) = (
			Balances::free_balance(10),
			Balances::free_balance(11),
			Balances::free_balance(BOB),
		);
		// only the majority (10) is paid; 11's share is refunded
		assert_noop!(Market::settle(t, &[12]), Error::<Test>::NotAssignedProvider);
		assert_ok!(Market::settle(t, &[10]));
		let pay10 = a.iter().find(|p| p.0 == 10).unwrap().1;
		assert_eq!(Balances::free_balance(10), b10 + pay10);
		assert_eq!(Balances::free_balance(11), b11);
		assert_eq!(Balances::free_balance(BOB), bob + 100 - pay10);
		assert_eq!(escrow(BOB), 0);
		assert!(Tasks::<Test>::get(t).is_none());
		assert_noop!(Market::settle(t, &[10]), Error::<Test>::UnknownTask);
	});
}

#[test]
fn reauction_after_a_lost_dispute() {
	test(|| {
		use crate::TaskSettlement;
		let m = model(1);
		provider(10, m, 100, 1);
		let t = submit(BOB, m, 1, 100, 1);
		assert_noop!(Market::reauction(t), Error::<Test>::NotAssigned);
		run_to(6);
		assert_ok!(Market::reauction(t));
		let task = Tasks::<Test>::get(t).unwrap();
		assert_eq!(
			(task.status, task.priority, task.valuation),
			(TaskStatus::Open, 1, 110)
		);
		// the stale deadline of the first assignment does not expire the new one
		run_to(11);
		assert_eq!(assigned(t).len(), 1);
		run_to(16);
		assert!(matches!(
			Tasks::<Test>::get(t).unwrap().status,
			TaskStatus::Assigned { .. }
		));
	});
}

#[test]
fn mcafee_mode_reduces_a_trade_and_keeps_a_surplus() {
	test(|| {
		Pricing::set(Mode::McAfee);
		let m = model(1);
		provider(10, m, 100, 1);
		provider(11, m, 100, 2);
		let ts: Vec<TaskId> = [100u64, 80, 60]
			.iter()
			.map(|&v| submit(BOB, m, 1, v, 1))
			.collect();
		run_to(6);
		let won: Vec<TaskId> = ts
			.iter()
			.copied()
			.filter(|&t| !assigned(t).is_empty())
			.collect();
		assert_eq!(won.len(), 2, "the lowest-priced trade is reduced");
		assert!(assigned(ts[2]).is_empty());
		// every winner pays the dropped task's unit price (60); the providers serving
		// the winners (drawn by the round's seed) are each paid the highest remaining
		// unit cost among them: 1 if only 10 (cost 1) serves, 2 if 11 (cost 2) does
		let served: Vec<u64> = won
			.iter()
			.flat_map(|&t| assigned(t).into_iter().map(|p| p.0))
			.collect();
		let pay = if served.contains(&11) { 2 } else { 1 };
		for &t in &won {
			match Tasks::<Test>::get(t).unwrap().status {
				TaskStatus::Assigned {
					price, providers, ..
				} => {
					assert_eq!(price, 60);
					assert_eq!(providers.len(), 1);
					assert_eq!(providers[0].1, pay);
				}
				_ => unreachable!(),
			}
		}
		assert!(events().iter().any(|e| matches!(
			e,
			Event::RoundCleared {
				assigned: 2,
				surplus,
				..
			} if *surplus == 2 * (60 - pay)
		)));
		// settlement burns the surplus share of the paid trades
		use crate::TaskSettlement;
		let issuance = Balances::total_issuance();
		let first = assigned(won[0])[0].0;
		assert_ok!(Market::settle(won[0], &[first]));
		assert_eq!(Balances::total_issuance(), issuance - (60 - pay));
		Pricing::set(Mode::Midpoint);
	});
}

#[test]
fn expire_is_permissionless_and_drains_the_backlog() {
	test(|| {
		let m = model(1);
		provider(10, m, 1_000, 1);
		let tasks: Vec<TaskId> = (0..20).map(|_| submit(BOB, m, 1, 100, 1)).collect();
		run_to(6);
		assert!(tasks.iter().all(|&t| !assigned(t).is_empty()));
		assert_noop!(
			Market::expire(RuntimeOrigin::signed(3)),
			Error::<Test>::NothingToExpire
		);
		run_to(16); // the hook processes 8 of 20
		assert_ok!(Market::expire(RuntimeOrigin::signed(3)));
		assert_ok!(Market::expire(RuntimeOrigin::signed(3)));
		assert!(tasks
			.iter()
			.all(|&t| Tasks::<Test>::get(t).unwrap().priority == 1));
	});
}

#[test]
fn the_deadline_cursor_skips_a_bounded_number_of_empty_blocks() {
	test(|| {
		use crate::pallet::{DeadlineCursor, Deadlines};
		let m = model(1);
		provider(10, m, 100, 1);
		let t = submit(BOB, m, 1, 100, 1);
		run_to(6);
		let due = match Tasks::<Test>::get(t).unwrap().status {
			TaskStatus::Assigned { due, .. } => due,
			_ => unreachable!(),
		};
		// jump far ahead without running hooks: the cursor lags behind
		System::set_block_number(200);
		assert!(Deadlines::<Test>::iter_key_prefix(due).next().is_some());
		// each call completes at most 4 × 8 + 1 blocks (the hook left the cursor at 7)
		assert_eq!(DeadlineCursor::<Test>::get(), 7);
		assert_ok!(Market::expire(RuntimeOrigin::signed(3)));
		assert_eq!(DeadlineCursor::<Test>::get(), 7 + 33);
		assert!(due < 7 + 33);
		assert_eq!(
			Tasks::<Test>::get(t).unwrap().priority,
			1,
			"the deadline was processed"
		);
		assert_ok!(Market::expire(RuntimeOrigin::signed(3)));
		assert_eq!(DeadlineCursor::<Test>::get(), 7 + 66);
		for _ in 0..10 {
			let _ = Market::expire(RuntimeOrigin::signed(3));
		}
		assert_eq!(DeadlineCursor::<Test>::get(), 201);
		assert_noop!(
			Market::expire(RuntimeOrigin::signed(3)),
			Error::<Test>::NothingToExpire
		);
	});
}

#[test]
fn a_minority_missing_its_deadline_is_penalized_without_reauction() {
	test(|| {
		let m = model(1);
		for p in 10..13 {
			provider(p, m, 100, 1);
		}
		let t = submit(BOB, m, 1, 100, 3);
		run_to(6);
		assert_eq!(assigned(t).len(), 3);
		deliver(t, 10);
		deliver(t, 11); // 12 misses; 2 of 3 is still a strict majority
		let bob = Balances::free_balance(BOB);
		run_to(16);
		assert!(events().iter().any(|e| matches!(
			e,
			Event::DeadlineMissed {
				provider: 12,
				penalty: 30,
				..
			}
		)));
		assert!(!events()
			.iter()
			.any(|e| matches!(e, Event::TaskReauctioned { .. })));
		let task = Tasks::<Test>::get(t).unwrap();
		assert!(matches!(task.status, TaskStatus::Assigned { due: 16, .. }));
		assert_eq!((task.priority, task.valuation), (0, 100));
		// the penalty is burned: the requester gains nothing from it (C3)
		assert_eq!(Balances::free_balance(BOB), bob);
	});
}

#[test]
fn a_task_subject_survives_deregistration_and_hashes_inline_inputs() {
	test(|| {
		use crate::TaskSubject;
		let m = model(1);
		let t = submit(BOB, m, 1, 100, 1);
		let bytes = vec![3u8; 100];
		let t2 = crate::Pallet::<Test>::next_task_id();
		assert_ok!(Market::submit_task(
			RuntimeOrigin::signed(BOB),
			m,
			TaskInput::Inline(BoundedVec::truncate_from(bytes.clone())),
			1,
			100,
			1,
			10
		));
		assert_ok!(Market::deregister_model(RuntimeOrigin::signed(ALICE), m));
		let s = Market::subject(t).unwrap();
		assert_eq!(
			(s.commitment, s.program_root, s.input_root),
			(registration().0, H256::repeat_byte(2), H256::repeat_byte(9))
		);
		let s2 = Market::subject(t2).unwrap();
		assert_eq!(
			s2.input_root,
			H256(opml_primitives_core::merkle::bytes_root(&bytes).0)
		);
		assert!(Market::subject(t2 + 1).is_none());
	});
}

#[test]
fn the_hook_is_charged_for_the_round_it_cleared_not_the_worst_case() {
	use crate::weights::WeightInfo;
	use frame_support::traits::Get;
	test(|| {
		// a due round with an empty book: one read
		System::set_block_number(5);
		let empty = Market::on_block(5);
		let worst = <() as WeightInfo>::clear_round(
			<Test as crate::Config>::MaxOpenTasks::get(),
			<Test as crate::Config>::MaxProviders::get(),
		);
		let db: frame_support::weights::RuntimeDbWeight =
			<Test as frame_system::Config>::DbWeight::get();
		assert_eq!(empty, db.reads(3) + <() as WeightInfo>::expire(1));
		// two tasks and one provider: the weight of clearing exactly that
		let m = model(1);
		provider(10, m, 100, 5);
		submit(BOB, m, 1, 100, 1);
		submit(BOB, m, 1, 100, 1);
		Market::honest_seed_moves(|_| true);
		// the snapshot reads exactly the book and the asks
		System::set_block_number(10);
		let w = Market::on_block(10);
		assert!(w.ref_time() >= <() as WeightInfo>::clear_round(2, 1).ref_time());
		assert!(w.ref_time() < worst.ref_time());
		// waiting for the seed reveals: one read
		System::set_block_number(11);
		assert_eq!(Market::on_block(11), empty);
		// seeding (nobody withheld) and clearing
		Market::honest_seed_moves(|_| true);
		System::set_block_number(12);
		let w = Market::on_block(12);
		assert!(
			w.ref_time()
				>= (<() as WeightInfo>::clear_round(2, 1) + <() as WeightInfo>::seed_round(0))
					.ref_time()
		);
		assert!(w.ref_time() < worst.ref_time());
		assert!(events()
			.iter()
			.any(|e| matches!(e, Event::RoundCleared { assigned: 2, .. })));
	});
}

/// M10: a model registers only with its committed graph, and only if every node can be
/// handed off in a dispute (its step bound within `MaxNodeSteps`); a refused
/// registration changes nothing.
#[test]
fn m10_a_model_registers_only_with_its_committed_graph_of_bounded_nodes() {
	test(|| {
		let reg = |c, g, s| {
			Market::register_model(
				RuntimeOrigin::signed(ALICE),
				c,
				H256::repeat_byte(2),
				1,
				Default::default(),
				g,
				s,
			)
		};
		let (c, g, sib) = registration();
		// another model's graph (itself well formed) under this commitment
		let (_, g2, sib2) = registration_of(&opml_nn::zoo::lenet5(2));
		assert_noop!(
			reg(c, g2.clone(), sib2.clone()),
			Error::<Test>::GraphNotCommitted
		);
		// the right graph with a sibling changed, or one missing
		let mut bad = sib.clone();
		bad[0] = H256::repeat_byte(3);
		assert_noop!(reg(c, g.clone(), bad), Error::<Test>::GraphNotCommitted);
		let short: GraphSiblings = BoundedVec::truncate_from(sib[1..].to_vec());
		assert_noop!(reg(c, g.clone(), short), Error::<Test>::GraphNotCommitted);
		// bytes that are not a graph, or a graph and more
		assert_noop!(
			reg(c, BoundedVec::truncate_from(vec![7u8; 40]), sib.clone()),
			Error::<Test>::BadGraph
		);
		let mut long = g.to_vec();
		long.push(0);
		assert_noop!(
			reg(c, BoundedVec::truncate_from(long), sib.clone()),
			Error::<Test>::BadGraph
		);
		// a committed graph the format refuses: a node reading a later slot
		let mut broken = opml_nn::zoo::mlp(&[64, 32, 10], 1);
		broken.graph.nodes[0].inputs[0].source = opml_nn::Source::Slot(2);
		let (bc, bg, bs) = registration_of(&broken);
		assert_noop!(reg(bc, bg, bs), Error::<Test>::BadGraph);
		// a node over the step bound: refused at exactly one step below its bound
		let heaviest = opml_nn::zoo::mlp(&[64, 32, 10], 1)
			.graph
			.nodes
			.iter()
			.map(opml_nn::cost::node_steps_bound)
			.max()
			.unwrap();
		MarketMaxNodeSteps::set(heaviest - 1);
		assert_noop!(reg(c, g.clone(), sib.clone()), Error::<Test>::NodeTooHeavy);
		MarketMaxNodeSteps::set(heaviest);
		assert_ok!(reg(c, g, sib));
		MarketMaxNodeSteps::set(1 << 34);
	});
}

#[test]
fn m7_a_model_must_run_under_a_guest_program_of_the_runtime() {
	test(|| {
		crate::mock::OnlyProgram::set(Some(H256::repeat_byte(2)));
		let (c, g, sib) = registration();
		assert_noop!(
			Market::register_model(
				RuntimeOrigin::signed(ALICE),
				c,
				H256::repeat_byte(7),
				1,
				BoundedVec::truncate_from(b"bogus guest".to_vec()),
				g,
				sib,
			),
			Error::<Test>::UnknownProgram
		);
		model(1);
		crate::mock::OnlyProgram::set(None);
	});
}

#[test]
fn h6_deadlines_are_never_dropped() {
	test(|| {
		use crate::pallet::Deadlines;
		// far more deadlines at one block than 16 buckets of MaxOpenTasks (64)
		for task in 0..2_000u64 {
			Market::schedule_deadline(20, 10_000 + task);
		}
		assert_eq!(Deadlines::<Test>::iter_prefix(20).count(), 2_000);
		// 8 per block in the hook, the rest by `expire` (anyone)
		run_to(20);
		assert_eq!(Deadlines::<Test>::iter_prefix(20).count(), 2_000 - 8);
		while Deadlines::<Test>::iter_prefix(20).next().is_some() {
			assert_ok!(Market::expire(RuntimeOrigin::signed(3)));
		}
	});
}

#[test]
fn h5_open_tasks_expire_and_jamming_the_book_burns_deposits() {
	test(|| {
		crate::mock::BookDeposit::set(5);
		crate::mock::OpenTaskLifetime::set(20);
		let book = |who: u64| Balances::balance_on_hold(&HoldReason::BookDeposit.into(), &who);
		let m = model(1);
		provider(10, m, 100, 1);
		let free = Balances::free_balance(BOB);
		// a squatter's tasks no provider can take (a demand above every capacity)
		let jam: Vec<TaskId> = (0..3).map(|_| submit(BOB, m, u32::MAX, 100, 1)).collect();
		assert_eq!(book(BOB), 15);
		// cancelling an unassigned task burns its deposit
		assert_ok!(Market::cancel_task(RuntimeOrigin::signed(BOB), jam[0]));
		// the others leave the book at the first round after their lifetime (21)
		run_to(20);
		assert!(Tasks::<Test>::get(jam[1]).is_some());
		run_to(25);
		for &t in &jam[1..] {
			assert!(Tasks::<Test>::get(t).is_none(), "task {t} still open");
		}
		assert!(events()
			.iter()
			.any(|e| matches!(e, Event::TaskExpired { burned: 5, .. })));
		assert_eq!(book(BOB), 0);
		assert_eq!(escrow(BOB), 0);
		assert_eq!(
			Balances::free_balance(BOB),
			free - 15,
			"three deposits burned"
		);
		// a task that is assigned gets its deposit back
		let t = submit(BOB, m, 1, 100, 1);
		assert_eq!(book(BOB), 5);
		run_to(31);
		assert!(matches!(
			Tasks::<Test>::get(t).unwrap().status,
			TaskStatus::Assigned { .. }
		));
		assert_eq!(book(BOB), 0);
		assert_eq!(Balances::free_balance(BOB), free - 15 - 100);
	});
}

/// The round revealing seeds, if any: `(index, seed so far, every ask revealed)`.
fn revealing() -> Option<(u32, H256, bool)> {
	CurrentRound::<Test>::get().and_then(|r| match r.phase {
		RoundPhase::Revealing { .. } => Some((r.index, r.seed, r.asks.iter().all(|a| a.revealed))),
		RoundPhase::Clearing => None,
	})
}

/// H2: a round's seats are drawn from a seed that mixes every provider's revealed
/// secret into the snapshot's randomness: nobody knows it before the last reveal, the
/// round waits for the reveals, and it clears as soon as every one is in.
#[test]
fn h2_a_round_seed_mixes_every_revealed_secret() {
	test(|| {
		let m = model(1);
		for p in 10..13 {
			provider(p, m, 100, 1);
		}
		let t = submit(BOB, m, 1, 100, 2);
		// the providers commit (block 2); at 5 the round starts and waits for them
		run_to(2);
		SEED_SILENT.with(|s| s.borrow_mut().extend([10, 11, 12]));
		run_to(5);
		let (round, randomness, _) = revealing().expect("the round reveals seeds");
		assert!(events().iter().any(|e| matches!(
			e,
			Event::RoundStarted {
				providers: 3,
				until: 8,
				..
			}
		)));
		run_to(7);
		assert!(revealing().is_some(), "no reveal: the round waits");
		assert!(assigned(t).is_empty());
		// each reveals (and commits to its next secret)
		let secret = |p: u64| derive_seed_secret(&codec::Encode::encode(&p), 0);
		let next = |p: u64| seed_commitment(&derive_seed_secret(&codec::Encode::encode(&p), 1));
		for p in 10..13 {
			assert_ok!(Market::reveal_seed(
				RuntimeOrigin::signed(p),
				round,
				secret(p),
				next(p)
			));
			assert_eq!(
				SeedCommits::<Test>::get(p),
				Some(SeedCommit {
					commitment: next(p),
					index: 1
				})
			);
		}
		assert_eq!(revealing(), Some((round, randomness, true)));
		// all in before the window's end (8): seeded and cleared at once
		run_to(8);
		let mix = (10..13).fold([0u8; 32], |mut m, p| {
			for (a, b) in m.iter_mut().zip(secret(p).0) {
				*a ^= b;
			}
			m
		});
		let seed = round_seed(&randomness, &H256(mix), round);
		assert_ne!(seed, randomness);
		assert!(events().contains(&Event::RoundSeeded {
			round,
			seed,
			providers: 3
		}));
		assert_eq!(assigned(t).len(), 2);
		// another secret of one provider gives another seed
		let other = {
			let mut m = mix;
			m[0] ^= 1;
			round_seed(&randomness, &H256(m), round)
		};
		assert_ne!(other, seed);
	});
}

/// H2: withholding a secret (to steer the seed, or offline) costs `SeedPenalty` and
/// the withholder's seats in the round; it takes part again once it commits anew.
#[test]
fn h2_withholding_a_seed_costs_the_penalty_and_the_seats() {
	test(|| {
		let m = model(1);
		for p in 10..13 {
			provider(p, m, 100, 1);
		}
		let tasks: Vec<TaskId> = (0..4).map(|_| submit(BOB, m, 1, 100, 2)).collect();
		run_to(2);
		assert!(SeedCommits::<Test>::get(12).is_some());
		SEED_SILENT.with(|s| s.borrow_mut().insert(12));
		let bond = |p: u64| {
			pallet_opml_providers::Providers::<Test>::get(p)
				.unwrap()
				.bond
		};
		run_to(5);
		assert!(revealing().is_some());
		// the window (5..8) is over at 8: 12 is slashed and left out
		run_to(7);
		assert!(revealing().is_some(), "12 is still missing");
		run_to(8);
		assert!(events().iter().any(|e| matches!(
			e,
			Event::SeedWithheld {
				who: 12,
				penalty: 20,
				..
			}
		)));
		assert_eq!(bond(12), 1_000 - 20);
		assert_eq!((bond(10), bond(11)), (1_000, 1_000));
		assert!(SeedCommits::<Test>::get(12).is_none());
		assert!(events()
			.iter()
			.any(|e| matches!(e, Event::RoundSeeded { providers: 2, .. })));
		for &t in &tasks {
			let mut who: Vec<u64> = assigned(t).iter().map(|p| p.0).collect();
			who.sort();
			assert_eq!(who, vec![10, 11], "no seat for the withholder");
		}
		// without a commitment 12 is in no round; committing again brings it back
		let t = submit(BOB, m, 1, 100, 3);
		run_to(11);
		assert!(assigned(t).is_empty(), "two providers cannot serve r = 3");
		SEED_SILENT.with(|s| s.borrow_mut().clear());
		run_to(21);
		assert_eq!(assigned(t).len(), 3);
		assert_eq!(bond(12), 1_000 - 20, "slashed once");
	});
}

/// H2: the seed calls refuse bad input and change nothing when they do.
#[test]
fn h2_seed_calls_refuse_bad_input() {
	use pallet_opml_providers::ProviderRegistry;
	test(|| {
		let m = model(1);
		provider(10, m, 100, 1);
		provider(11, m, 100, 1);
		// only a provider with a bond commits
		assert_noop!(
			Market::commit_seed(RuntimeOrigin::signed(BOB), H256::repeat_byte(1), 0),
			Error::<Test>::NotProvider
		);
		let secret = H256::repeat_byte(5);
		assert_ok!(Market::commit_seed(
			RuntimeOrigin::signed(10),
			seed_commitment(&secret),
			7
		));
		assert!(events().contains(&Event::SeedCommitted { who: 10, index: 7 }));
		// no round
		assert_noop!(
			Market::reveal_seed(RuntimeOrigin::signed(10), 1, secret, H256::zero()),
			Error::<Test>::NotRevealing
		);
		submit(BOB, m, 1, 100, 1);
		SEED_SILENT.with(|s| s.borrow_mut().extend([10, 11]));
		assert_ok!(Market::commit_seed(
			RuntimeOrigin::signed(11),
			seed_commitment(&H256::repeat_byte(6)),
			0
		));
		run_to(5);
		let (round, ..) = revealing().unwrap();
		// another round, not in the round, a wrong secret
		assert_noop!(
			Market::reveal_seed(RuntimeOrigin::signed(10), round + 1, secret, H256::zero()),
			Error::<Test>::NotRevealing
		);
		assert_noop!(
			Market::reveal_seed(RuntimeOrigin::signed(BOB), round, secret, H256::zero()),
			Error::<Test>::NotInRound
		);
		assert_noop!(
			Market::reveal_seed(
				RuntimeOrigin::signed(10),
				round,
				H256::repeat_byte(6),
				H256::zero()
			),
			Error::<Test>::BadSecret
		);
		// a commitment replaced after the snapshot does not change the round's
		assert_ok!(Market::commit_seed(
			RuntimeOrigin::signed(10),
			H256::repeat_byte(8),
			9
		));
		assert_ok!(Market::reveal_seed(
			RuntimeOrigin::signed(10),
			round,
			secret,
			H256::repeat_byte(3)
		));
		assert_eq!(
			SeedCommits::<Test>::get(10),
			Some(SeedCommit {
				commitment: H256::repeat_byte(3),
				index: 8
			})
		);
		assert_noop!(
			Market::reveal_seed(RuntimeOrigin::signed(10), round, secret, H256::zero()),
			Error::<Test>::AlreadyRevealed
		);
		// forgetting: only the commitment of an account without a bond
		assert_noop!(
			Market::forget_seed(RuntimeOrigin::signed(BOB), 10),
			Error::<Test>::StillBonded
		);
		assert_noop!(
			Market::forget_seed(RuntimeOrigin::signed(BOB), BOB),
			Error::<Test>::NoSeedCommit
		);
		<Providers as ProviderRegistry<u64>>::ban(&10, None, sp_runtime::Perbill::zero());
		assert_eq!(Providers::bond(&10), 0);
		assert_ok!(Market::forget_seed(RuntimeOrigin::signed(BOB), 10));
		assert!(SeedCommits::<Test>::get(10).is_none());
		assert!(events().contains(&Event::SeedForgotten { who: 10 }));
	});
}

/// M2: an auditor is paid out of the task's escrow beyond its price (what the
/// requester would get back), never more; the escrow holds what is left.
#[test]
fn m2_an_auditor_is_paid_from_the_escrow_beyond_the_price() {
	use crate::AuditRewards;
	test(|| {
		let m = model(1);
		provider(10, m, 100, 1);
		let t = submit(BOB, m, 1, 100, 1);
		assert_eq!(Market::pay_auditor(t, &7, 5), 0, "not assigned yet");
		run_to(6);
		let price = match Tasks::<Test>::get(t).unwrap().status {
			TaskStatus::Assigned { price, .. } => price,
			_ => unreachable!(),
		};
		assert_eq!(price, 50, "midpoint: (100 + 1) / 2");
		let free = Balances::free_balance(7);
		assert_eq!(Market::pay_auditor(t, &7, 5), 5);
		assert_eq!(Balances::free_balance(7), free + 5);
		assert_eq!(escrow(BOB), 95);
		// at most what is beyond the price
		assert_eq!(Market::pay_auditor(t, &7, 1_000), 95 - price);
		assert_eq!(escrow(BOB), price);
		assert_eq!(Market::pay_auditor(t, &7, 1), 0);
		assert_eq!(Tasks::<Test>::get(t).unwrap().valuation, price);
	});
}
