//! Unit tests: every call and error path, the pool's transitions (election, dispute,
//! overturn, no majority, penalties), chunked reveals (incl. a 4 MiB payload), the
//! agenda; invariants of all three pallets after each test.

use crate::{mock::*, pallet::*, types::*, Error, PendingResults};
use frame_support::{assert_noop, assert_ok, BoundedVec};
use opml_primitives_core::{commitment::result_commitment, merkle::bytes_root, ZERO_HASH};
use pallet_opml_market::{TaskId, TaskInput, TaskStatus};
use pallet_opml_providers::Capacity;
use sp_core::H256;
use sp_runtime::DispatchResult;

const ALICE: u64 = 1; // model owner
const BOB: u64 = 2; // requester
const EVE: u64 = 3; // not a provider

/// Task assigned at block 5: commits before 15, reveals in 15..20, tally at 20,
/// challenge window until 30.
const DUE: u64 = 15;
const TALLY: u64 = 20;
const UNTIL: u64 = 30;
const RETENTION: u64 = 20;

fn root(b: u8) -> H256 {
	H256::repeat_byte(b)
}

fn salt(who: u64) -> [u8; 32] {
	[who as u8; 32]
}

fn cm(task: TaskId, who: u64, result: H256) -> H256 {
	H256(result_commitment(task, &who, &result.0, &salt(who)))
}

fn events() -> Vec<Event<Test>> {
	System::events()
		.into_iter()
		.filter_map(|r| match r.event {
			RuntimeEvent::Submissions(e) => Some(e),
			_ => None,
		})
		.collect()
}

fn market_events() -> Vec<pallet_opml_market::Event<Test>> {
	System::events()
		.into_iter()
		.filter_map(|r| match r.event {
			RuntimeEvent::Market(e) => Some(e),
			_ => None,
		})
		.collect()
}

fn bond(who: u64) -> u64 {
	pallet_opml_providers::Providers::<Test>::get(who)
		.map(|p| p.bond)
		.unwrap_or(0)
}

thread_local! {
	/// The output shape proof of each task's model (tests build real graphs).
	static SHAPES: core::cell::RefCell<std::collections::BTreeMap<TaskId, ShapeProof>> =
		const { core::cell::RefCell::new(std::collections::BTreeMap::new()) };
}

/// A model of `lens.len()` int8 nodes, node `j` with `lens[j]` output bytes (the last
/// is the output): its commitment and output shape proof.
fn model_with_outputs(lens: &[u32]) -> (H256, ShapeProof) {
	let model = opml_nn::commit::shape_fixture(lens);
	let c = opml_nn::commit::model_commitment(&model).unwrap();
	let proof = opml_nn::commit::output_proof(&model).unwrap();
	(H256(c), ShapeProof::from_proof(&proof))
}

/// The output shape proof of `t`'s model.
fn shape(t: TaskId) -> ShapeProof {
	SHAPES
		.with(|s| s.borrow().get(&t).cloned())
		.expect("a task of assigned_task")
}

/// [`assigned_task_out`] with the two-node model of [`exec`] (a 32-byte hidden node, a
/// 10-byte output).
fn assigned_task(r: u8) -> (TaskId, Vec<u64>) {
	assigned_task_out(r, &[32, 10])
}

/// A model whose nodes output `lens` bytes, providers `10..10 + r`, and a task of
/// redundancy `r` assigned at block 5.
fn assigned_task_out(r: u8, lens: &[u32]) -> (TaskId, Vec<u64>) {
	let m = pallet_opml_market::NextModelId::<Test>::get();
	let (commitment, shape) = model_with_outputs(lens);
	let (g, sib) =
		opml_nn::registration::graph_registration(&opml_nn::commit::shape_fixture(lens)).unwrap();
	assert_ok!(Market::register_model(
		RuntimeOrigin::signed(ALICE),
		commitment,
		root(2),
		1,
		BoundedVec::truncate_from(b"m".to_vec()),
		BoundedVec::truncate_from(g),
		BoundedVec::truncate_from(sib.into_iter().map(H256).collect()),
	));
	let providers: Vec<u64> = (10..10 + r as u64).collect();
	for &p in &providers {
		assert_ok!(Providers::register(
			RuntimeOrigin::signed(p),
			1_000,
			BoundedVec::truncate_from(vec![Capacity {
				task_type: m,
				units: 100
			}]),
			1,
			10
		));
	}
	let t = pallet_opml_market::Pallet::<Test>::next_task_id();
	assert_ok!(Market::submit_task(
		RuntimeOrigin::signed(BOB),
		m,
		TaskInput::Root(root(9)),
		1,
		100 * r as u64,
		r,
		10
	));
	SHAPES.with(|s| s.borrow_mut().insert(t, shape));
	run_to(5);
	assert!(Pools::<Test>::get(t).is_some(), "assigned at block 5");
	(t, providers)
}

fn commit(who: u64, t: TaskId, result: H256) {
	assert_ok!(Submissions::commit(
		RuntimeOrigin::signed(who),
		t,
		cm(t, who, result)
	));
}

fn reveal(who: u64, t: TaskId, result: H256) {
	assert_ok!(Submissions::reveal(
		RuntimeOrigin::signed(who),
		t,
		result,
		salt(who)
	));
}

fn pending(t: TaskId) -> Option<(H256, Vec<u64>, u64, u32)> {
	match Pools::<Test>::get(t)?.phase {
		Phase::Pending {
			result,
			majority,
			until,
			disputes,
		} => {
			let mut m = majority.into_inner();
			m.sort();
			Some((result, m, until, disputes))
		}
		Phase::Collecting => None,
	}
}

#[test]
fn a_unanimous_pool_is_elected_then_final_and_paid() {
	test(|| {
		let (t, ps) = assigned_task(3);
		for &p in &ps {
			commit(p, t, root(7));
		}
		run_to(DUE);
		for &p in &ps {
			reveal(p, t, root(7));
		}
		let before: Vec<u64> = ps.iter().map(|&p| Balances::free_balance(p)).collect();
		run_to(TALLY);
		assert_eq!(pending(t), Some((root(7), ps.clone(), UNTIL, 0)));
		assert!(events().contains(&Event::ResultElected {
			task: t,
			result: root(7),
			votes: 3,
			until: UNTIL
		}));
		let first = Pools::<Test>::get(t).unwrap().entries[0].who;
		assert_eq!(
			Submissions::pending(t).map(|p| (p.result, p.defender)),
			Some((root(7), first))
		);
		run_to(UNTIL - 1);
		assert!(pending(t).is_some());
		run_to(UNTIL);
		assert!(Pools::<Test>::get(t).is_none());
		assert_eq!(Results::<Test>::get(t).map(|r| r.result), Some(root(7)));
		assert!(events().contains(&Event::ResultFinal {
			task: t,
			result: root(7)
		}));
		assert!(pallet_opml_market::Tasks::<Test>::get(t).is_none());
		for (i, &p) in ps.iter().enumerate() {
			assert!(Balances::free_balance(p) > before[i], "provider {p} paid");
		}
		// kept for ResultRetention (20) blocks, then forgotten
		run_to(UNTIL + 19);
		assert!(Results::<Test>::get(t).is_some());
		run_to(UNTIL + 20);
		assert!(Results::<Test>::get(t).is_none());
	});
}

#[test]
fn commit_errors_leave_state_unchanged() {
	test(|| {
		let (t, _) = assigned_task(3);
		let c = cm(t, 10, root(7));
		assert_noop!(
			Submissions::commit(RuntimeOrigin::signed(10), t + 1, c),
			Error::<Test>::UnknownTask
		);
		assert_noop!(
			Submissions::commit(RuntimeOrigin::signed(EVE), t, c),
			Error::<Test>::NotAssigned
		);
		commit(10, t, root(7));
		assert!(events().contains(&Event::Committed {
			task: t,
			who: 10,
			commitment: c
		}));
		assert_noop!(
			Submissions::commit(RuntimeOrigin::signed(10), t, c),
			Error::<Test>::AlreadyCommitted
		);
		commit(11, t, root(7));
		run_to(DUE);
		assert_noop!(
			Submissions::commit(RuntimeOrigin::signed(12), t, cm(t, 12, root(7))),
			Error::<Test>::CommitClosed
		);
	});
}

#[test]
fn the_model_stealing_attack_fails() {
	test(|| {
		let (t, _) = assigned_task(3);
		// A (10) commits honestly; B (11) copies A's commitment blindly
		commit(10, t, root(7));
		let a_commitment = cm(t, 10, root(7));
		assert_ok!(Submissions::commit(
			RuntimeOrigin::signed(11),
			t,
			a_commitment
		));
		run_to(DUE);
		// A reveals; B replays A's reveal: the commitment binds A's account
		reveal(10, t, root(7));
		assert_noop!(
			Submissions::reveal(RuntimeOrigin::signed(11), t, root(7), salt(10)),
			Error::<Test>::CommitmentMismatch
		);
		// C (12) waited to see A's root: committing it now is too late
		assert_noop!(
			Submissions::commit(RuntimeOrigin::signed(12), t, cm(t, 12, root(7))),
			Error::<Test>::CommitClosed
		);
		run_to(TALLY);
		// only A revealed: 1 of 3 is no majority, the task is re-run
		assert!(events().contains(&Event::NoMajority {
			task: t,
			classes: 1,
			reveals: 1
		}));
		// B committed but could not reveal: penalized; C never committed: penalized
		// by the market at the deadline
		assert!(events().contains(&Event::RevealMissed {
			task: t,
			who: 11,
			penalty: 20
		}));
		assert!(market_events().iter().any(|e| matches!(
			e,
			pallet_opml_market::Event::DeadlineMissed { provider: 12, .. }
		)));
	});
}

#[test]
fn reveal_errors_each_have_their_own_error() {
	test(|| {
		let (t, _) = assigned_task(3);
		commit(10, t, root(7));
		commit(11, t, root(7));
		assert_noop!(
			Submissions::reveal(RuntimeOrigin::signed(10), t, root(7), salt(10)),
			Error::<Test>::RevealNotOpen
		);
		run_to(DUE);
		assert_noop!(
			Submissions::reveal(RuntimeOrigin::signed(10), t, root(7), [0; 32]),
			Error::<Test>::CommitmentMismatch
		);
		assert_noop!(
			Submissions::reveal(RuntimeOrigin::signed(10), t, root(8), salt(10)),
			Error::<Test>::CommitmentMismatch
		);
		assert_noop!(
			Submissions::reveal(RuntimeOrigin::signed(12), t, root(7), salt(12)),
			Error::<Test>::NotCommitted
		);
		assert_noop!(
			Submissions::reveal(RuntimeOrigin::signed(EVE), t, root(7), salt(EVE)),
			Error::<Test>::NotAssigned
		);
		assert_noop!(
			Submissions::reveal(RuntimeOrigin::signed(10), t + 7, root(7), salt(10)),
			Error::<Test>::UnknownTask
		);
		reveal(10, t, root(7));
		assert_noop!(
			Submissions::reveal(RuntimeOrigin::signed(10), t, root(7), salt(10)),
			Error::<Test>::AlreadyRevealed
		);
		assert_noop!(
			finish(11, t, &[1], salt(11)),
			Error::<Test>::WrongRevealKind
		);
		run_to(TALLY - 1);
		reveal(11, t, root(7)); // the last block of the window
		assert!(pending(t).is_none());
		run_to(TALLY);
		assert_noop!(
			Submissions::reveal(RuntimeOrigin::signed(11), t, root(7), salt(11)),
			Error::<Test>::RevealClosed
		);
		assert_eq!(pending(t).map(|p| p.1), Some(vec![10, 11]));
	});
}

/// The result root of a one-node execution with output `payload`, and the output's
/// slot and siblings in it.
fn payload_result(
	payload: &[u8],
) -> (
	H256,
	u32,
	BoundedVec<H256, sp_core::ConstU32<{ opml_nn::commit::STATE_DEPTH }>>,
) {
	let (g, proof) = opml_nn::commit::one_node_result(ZERO_HASH, bytes_root(payload).0).unwrap();
	let siblings = proof.siblings.iter().map(|s| H256(*s)).collect::<Vec<_>>();
	(
		H256(g),
		proof.index as u32,
		BoundedVec::truncate_from(siblings),
	)
}

fn finish(who: u64, t: TaskId, payload: &[u8], salt: [u8; 32]) -> DispatchResult {
	let (h, _, siblings) = payload_result(payload);
	Submissions::finish_reveal(RuntimeOrigin::signed(who), t, salt, h, shape(t), siblings)
}

#[test]
fn chunked_reveal_errors_leave_state_unchanged() {
	test(|| {
		let (t, _) = assigned_task_out(1, &[72]);
		// chunks of 32 bytes (the mock's `MaxChunkLen`): 32 + 32 + 8
		let payload: Vec<u8> = (0..72u8).collect();
		let (h, _, _) = payload_result(&payload);
		commit(10, t, h);
		let o = || RuntimeOrigin::signed(10);
		assert_noop!(
			Submissions::reveal_chunk(o(), t, 0, payload[..16].to_vec()),
			Error::<Test>::RevealNotOpen
		);
		run_to(DUE);
		assert_noop!(
			Submissions::reveal_chunk(o(), t, 1, payload[..32].to_vec()),
			Error::<Test>::ChunkOutOfOrder
		);
		assert_noop!(
			Submissions::reveal_chunk(o(), t, 0, vec![]),
			Error::<Test>::EmptyChunk
		);
		assert_noop!(
			Submissions::reveal_chunk(o(), t, 0, payload[..33].to_vec()),
			Error::<Test>::ChunkTooLarge
		);
		assert_noop!(
			finish(10, t, &payload, salt(10)),
			Error::<Test>::WrongRevealKind
		);
		assert_ok!(Submissions::reveal_chunk(o(), t, 0, payload[..32].to_vec()));
		assert_noop!(
			Submissions::reveal_chunk(o(), t, 0, payload[..32].to_vec()),
			Error::<Test>::ChunkOutOfOrder
		);
		assert_noop!(
			Submissions::reveal(o(), t, h, salt(10)),
			Error::<Test>::WrongRevealKind
		);
		assert_ok!(Submissions::reveal_chunk(
			o(),
			t,
			1,
			payload[32..64].to_vec()
		));
		assert_ok!(Submissions::reveal_chunk(o(), t, 2, payload[64..].to_vec()));
		// the short chunk ended the payload
		assert_noop!(
			Submissions::reveal_chunk(o(), t, 3, vec![1]),
			Error::<Test>::PayloadEnded
		);
		assert_noop!(
			finish(10, t, &payload, [0; 32]),
			Error::<Test>::CommitmentMismatch
		);
		// a result whose output is other bytes: the commitment opens, the proof fails
		let other = [&payload[..71], &[0u8][..]].concat();
		let (h2, _, sib2) = payload_result(&other);
		let mut p = Pools::<Test>::get(t).unwrap();
		p.entries[0].commitment = Some(cm(t, 10, h2));
		Pools::<Test>::insert(t, p);
		assert_noop!(
			Submissions::finish_reveal(o(), t, salt(10), h2, shape(t), sib2),
			Error::<Test>::BadOutputProof
		);
		let mut p = Pools::<Test>::get(t).unwrap();
		p.entries[0].commitment = Some(cm(t, 10, h));
		Pools::<Test>::insert(t, p);
		// the right result with the shape of another model, or of a 73-byte output
		let (_, _, sib) = payload_result(&payload);
		let (_, foreign) = model_with_outputs(&[72, 72]);
		assert_noop!(
			Submissions::finish_reveal(o(), t, salt(10), h, foreign, sib.clone()),
			Error::<Test>::BadOutputShape
		);
		let mut wrong = shape(t);
		wrong.index = 2;
		assert_noop!(
			Submissions::finish_reveal(o(), t, salt(10), h, wrong, sib),
			Error::<Test>::BadOutputShape
		);
		match &Pools::<Test>::get(t).unwrap().entries[0].reveal {
			Reveal::Chunks(p) => assert_eq!((p.count, p.bytes, p.closed), (3, 72, true)),
			r => panic!("unexpected {r:?}"),
		}
		assert_eq!(PayloadChunks::<Test>::get(t, 10).len(), 3);
		assert_ok!(finish(10, t, &payload, salt(10)));
		assert!(PayloadChunks::<Test>::get(t, 10).is_empty());
		assert_noop!(
			Submissions::reveal_chunk(o(), t, 3, vec![1]),
			Error::<Test>::AlreadyRevealed
		);
		assert_noop!(
			finish(10, t, &payload, salt(10)),
			Error::<Test>::AlreadyRevealed
		);
		assert!(events().contains(&Event::Revealed {
			task: t,
			who: 10,
			result: h
		}));
	});
}

/// The first chunk sets the chunk length: shorter whole subtrees work like
/// `MaxChunkLen` chunks; a longer later chunk is refused; a first chunk that is not a
/// whole subtree is the whole payload.
#[test]
fn the_first_chunk_sets_the_chunk_length() {
	test(|| {
		ChunkLen::set(1024);
		let (t, ps) = assigned_task_out(3, &[200]);
		let payload: Vec<u8> = (0..200u32).map(|i| (i * 7) as u8).collect();
		let (h, _, _) = payload_result(&payload);
		let single: Vec<u8> = payload[..100].to_vec();
		let (h1, _, _) = payload_result(&single);
		commit(ps[0], t, h);
		commit(ps[1], t, h);
		commit(ps[2], t, h1);
		run_to(DUE);
		let o = |p: u64| RuntimeOrigin::signed(p);
		// provider 0: 64-byte chunks (4 of them; the last 8 bytes long)
		for (i, c) in payload.chunks(64).enumerate() {
			assert_ok!(Submissions::reveal_chunk(o(ps[0]), t, i as u32, c.to_vec()));
		}
		let pool = Pools::<Test>::get(t).unwrap();
		match &pool.entries.iter().find(|e| e.who == ps[0]).unwrap().reveal {
			Reveal::Chunks(p) => assert_eq!(
				(p.count, p.bytes, p.closed, p.chunk_len),
				(4, 200, true, 64)
			),
			r => panic!("unexpected {r:?}"),
		}
		assert_ok!(finish(ps[0], t, &payload, salt(ps[0])));
		// provider 1: a later chunk longer than the first is refused
		assert_ok!(Submissions::reveal_chunk(
			o(ps[1]),
			t,
			0,
			payload[..32].to_vec()
		));
		assert_noop!(
			Submissions::reveal_chunk(o(ps[1]), t, 1, payload[32..96].to_vec()),
			Error::<Test>::ChunkTooLarge
		);
		for (i, c) in payload.chunks(32).enumerate().skip(1) {
			assert_ok!(Submissions::reveal_chunk(o(ps[1]), t, i as u32, c.to_vec()));
		}
		assert_ok!(finish(ps[1], t, &payload, salt(ps[1])));
		// provider 2: 100 bytes (not a power of two) are the whole payload, but the
		// model's output has 200: its reveal cannot finish (M6)
		assert_ok!(Submissions::reveal_chunk(o(ps[2]), t, 0, single.clone()));
		assert_noop!(
			Submissions::reveal_chunk(o(ps[2]), t, 1, vec![1]),
			Error::<Test>::PayloadEnded
		);
		assert_noop!(
			finish(ps[2], t, &single, salt(ps[2])),
			Error::<Test>::BadOutputLength
		);
	});
}

#[test]
fn a_4_mib_payload_is_revealed_in_chunks_across_blocks() {
	test(|| {
		const CHUNK: usize = 64 * 1024;
		ChunkLen::set(CHUNK as u32);
		RevealPeriod::set(20);
		let (t, ps) = assigned_task_out(2, &[4 << 20]);
		let mut seed = 0x9e37_79b9u32;
		let payload: Vec<u8> = (0..4 * 1024 * 1024)
			.map(|_| {
				seed ^= seed << 13;
				seed ^= seed >> 17;
				seed ^= seed << 5;
				seed as u8
			})
			.collect();
		// what the worker computes: the result root whose output is the payload
		let (h, _, _) = payload_result(&payload);
		for &p in &ps {
			commit(p, t, h);
		}
		run_to(DUE);
		// 64 chunks each, 8 per provider per block, over 8 blocks
		for (i, c) in payload.chunks(CHUNK).enumerate() {
			for &p in &ps {
				assert_ok!(Submissions::reveal_chunk(
					RuntimeOrigin::signed(p),
					t,
					i as u32,
					c.to_vec()
				));
			}
			if i % 8 == 7 {
				run_to(System::block_number() + 1);
			}
		}
		assert_eq!(System::block_number(), DUE + 8);
		for &p in &ps {
			let pool = Pools::<Test>::get(t).unwrap();
			match &pool.entries.iter().find(|e| e.who == p).unwrap().reveal {
				Reveal::Chunks(pr) => {
					assert_eq!((pr.count, pr.bytes), (64, 4 << 20));
					// a full last chunk leaves the payload open until finish_reveal
					assert!(!pr.closed);
				}
				r => panic!("unexpected {r:?}"),
			}
			assert_ok!(finish(p, t, &payload, salt(p)));
		}
		run_to(DUE + 20);
		assert_eq!(pending(t).map(|p| (p.0, p.1)), Some((h, ps)));
	});
}

#[test]
fn a_committer_that_does_not_reveal_is_penalized_and_not_paid() {
	test(|| {
		let (t, ps) = assigned_task(3);
		for &p in &ps {
			commit(p, t, root(7));
		}
		run_to(DUE);
		reveal(10, t, root(7));
		reveal(11, t, root(7));
		let (b12, free12) = (bond(12), Balances::free_balance(12));
		run_to(TALLY);
		assert!(events().contains(&Event::RevealMissed {
			task: t,
			who: 12,
			penalty: 20
		}));
		assert_eq!(bond(12), b12 - 20);
		assert_eq!(pending(t).map(|p| p.1), Some(vec![10, 11]));
		run_to(UNTIL);
		assert!(Results::<Test>::get(t).is_some());
		assert_eq!(Balances::free_balance(12), free12);
	});
}

#[test]
fn a_provider_that_never_commits_is_penalized_and_the_pool_goes_on() {
	test(|| {
		let (t, _) = assigned_task(3);
		commit(10, t, root(7));
		commit(11, t, root(7));
		let b12 = bond(12);
		run_to(DUE);
		assert_eq!(bond(12), b12 - 30); // the market's deadline penalty
		reveal(10, t, root(7));
		reveal(11, t, root(7));
		run_to(TALLY);
		assert_eq!(pending(t).map(|p| p.1), Some(vec![10, 11]));
	});
}

#[test]
fn too_few_commits_send_the_task_back_and_drop_the_pool() {
	test(|| {
		let (t, _) = assigned_task(3);
		commit(10, t, root(7)); // 1 of 3 cannot be a majority
		run_to(DUE);
		let task = pallet_opml_market::Tasks::<Test>::get(t).unwrap();
		assert_eq!(task.priority, 1);
		// back in the book: the round of block 16 re-assigns it (at 17) with a new
		// pool, due 27
		assert_eq!(task.status, TaskStatus::Open);
		run_to(17);
		let task = pallet_opml_market::Tasks::<Test>::get(t).unwrap();
		assert!(matches!(task.status, TaskStatus::Assigned { due: 27, .. }));
		let pool = Pools::<Test>::get(t).unwrap();
		assert_eq!((pool.commit_end, pool.reveal_end), (27, 32));
		assert!(pool.entries.iter().all(|e| e.commitment.is_none()));
		// the old tally (block 20) does nothing to the new pool
		run_to(TALLY);
		assert!(matches!(
			Pools::<Test>::get(t).unwrap().phase,
			Phase::Collecting
		));
		assert!(!events()
			.iter()
			.any(|e| matches!(e, Event::NoMajority { .. })));
	});
}

#[test]
fn dissent_opens_a_game_and_the_result_waits_for_it() {
	test(|| {
		let (t, _) = assigned_task(3);
		commit(10, t, root(7));
		commit(11, t, root(7));
		commit(12, t, root(8));
		run_to(DUE);
		reveal(10, t, root(7));
		reveal(11, t, root(7));
		reveal(12, t, root(8));
		run_to(TALLY);
		let d = Submissions::pending(t).unwrap().defender;
		assert_eq!(opened(), vec![(t, d, root(7), 12, root(8))]);
		assert!(events().contains(&Event::DisputeOpened {
			task: t,
			defender: d,
			challenger: 12,
			claimed: root(8)
		}));
		assert_eq!(pending(t).map(|p| p.3), Some(1));
		// the window ends with the game open: not final
		run_to(UNTIL + 3);
		assert!(pending(t).is_some());
		// the game upholds the result: final at once
		Submissions::dispute_closed(t, inst(t), true);
		assert!(Pools::<Test>::get(t).is_none());
		assert_eq!(Results::<Test>::get(t).map(|r| r.result), Some(root(7)));
		// a late report on a closed task does nothing
		Submissions::dispute_closed(t, inst(t), false);
		assert_eq!(Results::<Test>::get(t).map(|r| r.result), Some(root(7)));
	});
}

/// The instance of `t`'s pool now (0 when it has none).
fn inst(t: TaskId) -> u64 {
	Pools::<Test>::get(t).map(|p| p.instance).unwrap_or(0)
}

#[test]
fn an_overturned_result_punishes_nobody_else_and_reauctions() {
	test(|| {
		let (t, _) = assigned_task(3);
		commit(10, t, root(7));
		commit(11, t, root(7));
		commit(12, t, root(8));
		run_to(DUE);
		reveal(10, t, root(7));
		reveal(11, t, root(7));
		reveal(12, t, root(8));
		run_to(TALLY);
		let d = Submissions::pending(t).unwrap().defender;
		let other = if d == 10 { 11 } else { 10 };
		Submissions::dispute_closed(t, inst(t), false);
		assert!(events().contains(&Event::ResultOverturned {
			task: t,
			result: root(7)
		}));
		// each defender is punished by the arbitration pallet for its own loss; the
		// pool bans nobody for another's (C2)
		assert!(!pallet_opml_providers::Banned::<Test>::contains_key(other));
		assert!(!pallet_opml_providers::Banned::<Test>::contains_key(12));
		let task = pallet_opml_market::Tasks::<Test>::get(t).unwrap();
		assert_eq!((task.status, task.priority), (TaskStatus::Open, 1));
		assert!(Pools::<Test>::get(t).is_none());
	});
}

/// The pool's members in pool order.
fn members(t: TaskId) -> Vec<u64> {
	Pools::<Test>::get(t)
		.unwrap()
		.entries
		.iter()
		.map(|e| e.who)
		.collect()
}

#[test]
fn m1_without_a_majority_the_first_largest_class_defends_against_the_others() {
	test(|| {
		let (t, _) = assigned_task(2);
		let m = members(t);
		// the second member of the pool reveals garbage: before M1 this re-ran the
		// task with no game and no penalty (a free veto)
		commit(m[0], t, root(7));
		commit(m[1], t, root(8));
		run_to(DUE);
		reveal(m[0], t, root(7));
		reveal(m[1], t, root(8));
		run_to(TALLY);
		assert!(!events()
			.iter()
			.any(|e| matches!(e, Event::NoMajority { .. })));
		// 1 of 2 is no strict majority; the first class in pool order defends and the
		// other plays a game against it
		assert!(events().contains(&Event::ResultElected {
			task: t,
			result: root(7),
			votes: 1,
			until: UNTIL
		}));
		assert_eq!(opened(), vec![(t, m[0], root(7), m[1], root(8))]);
		assert_eq!(pending(t).map(|p| p.3), Some(1));
		// the garbage loses its game (the arbitration pallet bans it): final, paid
		Submissions::dispute_closed(t, inst(t), true);
		run_to(UNTIL);
		assert_eq!(Results::<Test>::get(t).map(|r| r.result), Some(root(7)));
	});
}

#[test]
fn m1_a_plurality_without_a_game_is_not_elected() {
	test(|| {
		let (t, _) = assigned_task(2);
		let m = members(t);
		commit(m[0], t, root(7));
		commit(m[1], t, root(8));
		run_to(DUE);
		reveal(m[0], t, root(7));
		reveal(m[1], t, root(8));
		// no game can be opened (e.g. the defender is barred): nothing stands
		REFUSE.with(|r| *r.borrow_mut() = true);
		run_to(TALLY);
		assert!(events().contains(&Event::NoMajority {
			task: t,
			classes: 2,
			reveals: 2
		}));
		assert!(Pools::<Test>::get(t).is_none());
		let task = pallet_opml_market::Tasks::<Test>::get(t).unwrap();
		assert_eq!(task.status, TaskStatus::Open);
		// the next round (25) assigns it again, with a new pool
		run_to(25);
		assert!(Pools::<Test>::get(t).is_some());
		let task = pallet_opml_market::Tasks::<Test>::get(t).unwrap();
		assert!(matches!(task.status, TaskStatus::Assigned { due: 35, .. }));
		assert_eq!(task.priority, 1);
	});
}

#[test]
fn l5_every_member_of_a_dissenting_class_plays_its_own_game() {
	test(|| {
		let (t, _) = assigned_task(5);
		let m = members(t);
		// three classes: {m0, m3} root 7, {m1, m2} root 8, {m4} root 9
		for (who, r) in [(m[0], 7), (m[1], 8), (m[2], 8), (m[3], 7), (m[4], 9)] {
			commit(who, t, root(r));
		}
		run_to(DUE);
		for (who, r) in [(m[0], 7), (m[1], 8), (m[2], 8), (m[3], 7), (m[4], 9)] {
			reveal(who, t, root(r));
		}
		run_to(TALLY);
		// 2 of 5 each for 7 and 8: the first in pool order (7) defends
		assert_eq!(Submissions::pending(t).unwrap().majority, vec![m[0], m[3]]);
		assert_eq!(
			opened(),
			vec![
				(t, m[0], root(7), m[1], root(8)),
				(t, m[0], root(7), m[2], root(8)),
				(t, m[0], root(7), m[4], root(9)),
			]
		);
		assert_eq!(pending(t).map(|p| p.3), Some(3));
		// two games upheld, the third still open at the window's end: not final
		Submissions::dispute_closed(t, inst(t), true);
		Submissions::dispute_closed(t, inst(t), true);
		run_to(UNTIL + 1);
		assert!(pending(t).is_some());
		Submissions::dispute_closed(t, inst(t), true);
		assert_eq!(Results::<Test>::get(t).map(|r| r.result), Some(root(7)));
	});
}

#[test]
fn a_single_provider_gets_an_optimistic_result_with_the_same_window() {
	test(|| {
		let (t, _) = assigned_task(1);
		commit(10, t, root(7));
		run_to(DUE);
		reveal(10, t, root(7));
		run_to(TALLY);
		assert_eq!(pending(t), Some((root(7), vec![10], UNTIL, 0)));
		// a challenger opens a game through the arbitration interface
		assert_ok!(Submissions::dispute_opened(t));
		run_to(UNTIL);
		assert!(pending(t).is_some());
		Submissions::dispute_closed(t, inst(t), true);
		assert!(Results::<Test>::get(t).is_some());
		assert_noop!(Submissions::dispute_opened(t), Error::<Test>::UnknownTask);
	});
}

#[test]
fn a_game_closed_before_the_window_ends_waits_for_it() {
	test(|| {
		let (t, _) = assigned_task(1);
		commit(10, t, root(7));
		assert_noop!(Submissions::dispute_opened(t), Error::<Test>::NotPending);
		run_to(DUE);
		reveal(10, t, root(7));
		run_to(TALLY);
		assert_ok!(Submissions::dispute_opened(t));
		Submissions::dispute_closed(t, inst(t), true);
		assert_eq!(pending(t).map(|p| p.3), Some(0));
		run_to(UNTIL);
		assert!(Results::<Test>::get(t).is_some());
	});
}

#[test]
fn a_refused_game_leaves_the_majority_standing() {
	test(|| {
		REFUSE.with(|r| *r.borrow_mut() = true);
		let (t, _) = assigned_task(3);
		commit(10, t, root(7));
		commit(11, t, root(7));
		commit(12, t, root(8));
		run_to(DUE);
		reveal(10, t, root(7));
		reveal(11, t, root(7));
		reveal(12, t, root(8));
		run_to(TALLY);
		assert!(events().contains(&Event::DisputeNotOpened {
			task: t,
			challenger: 12,
			claimed: root(8)
		}));
		run_to(UNTIL);
		assert_eq!(Results::<Test>::get(t).map(|r| r.result), Some(root(7)));
	});
}

#[test]
fn the_agenda_is_bounded_per_block_and_anyone_can_process_it() {
	test(|| {
		AgendaPerBlock::set(1);
		let (t1, _) = assigned_task(1);
		// two more tasks on the same provider, assigned at 10 (due 20, tally at 25)
		let t2 = pallet_opml_market::Pallet::<Test>::next_task_id();
		assert_ok!(Market::submit_task(
			RuntimeOrigin::signed(BOB),
			0,
			TaskInput::Root(root(9)),
			1,
			100,
			1,
			10
		));
		let t3 = t2 + 1;
		assert_ok!(Market::submit_task(
			RuntimeOrigin::signed(BOB),
			0,
			TaskInput::Root(root(9)),
			1,
			100,
			1,
			10
		));
		run_to(10);
		assert!(Pools::<Test>::get(t2).is_some() && Pools::<Test>::get(t3).is_some());
		commit(10, t1, root(7));
		run_to(DUE);
		reveal(10, t1, root(7));
		for t in [t2, t3] {
			commit(10, t, root(7));
		}
		run_to(20);
		assert!(pending(t1).is_some());
		for t in [t2, t3] {
			reveal(10, t, root(7));
		}
		// t2 and t3 (assigned at 9) are both tallied at 24: the hook does one, a call
		// the other
		run_to(24);
		let elected = |t| pending(t).is_some();
		// within a block the order is the agenda's key order: one of the two is left
		assert!(elected(t2) != elected(t3));
		assert_ok!(Submissions::process_agenda(RuntimeOrigin::signed(EVE)));
		assert!(elected(t2) && elected(t3));
		assert_noop!(
			Submissions::process_agenda(RuntimeOrigin::signed(EVE)),
			Error::<Test>::NothingDue
		);
	});
}

/// A three-slot execution (input, one hidden node, the output node): its result root,
/// its output bytes and the output's proof siblings; also the hidden node's bytes and
/// its (valid, but not last) slot proof.
struct Exec {
	result: H256,
	output: Vec<u8>,
	proof: Vec<H256>,
	hidden: Vec<u8>,
	hidden_proof: Vec<H256>,
}

fn exec(seed: u8) -> Exec {
	use opml_nn::commit::{tensor_root, GraphStates};
	let input = vec![seed; 64];
	let hidden = vec![seed.wrapping_add(1); 32];
	let output = vec![seed.wrapping_add(2); 10];
	let states = GraphStates::new(vec![
		tensor_root(&input).0,
		tensor_root(&hidden).0,
		tensor_root(&output).0,
	])
	.unwrap();
	let h = |p: opml_primitives_core::merkle::SubtreeProof| {
		p.siblings.into_iter().map(H256).collect::<Vec<_>>()
	};
	Exec {
		result: H256(states.result_root()),
		proof: h(states.output_proof().unwrap()),
		hidden_proof: h(states.slot_proof(2, 1).unwrap()),
		output,
		hidden,
	}
}

/// Publish `output` of `t` with the shape of `t`'s model, its last node's output slot
/// taken from the shape (`slot` must be that index: a wrong one gives a shape for a
/// node that is not the last).
fn publish(who: u64, t: TaskId, output: Vec<u8>, slot: u32, proof: &[H256]) -> DispatchResult {
	let mut s = shape(t);
	s.index = slot;
	Submissions::publish_output(
		RuntimeOrigin::signed(who),
		t,
		output,
		s,
		BoundedVec::truncate_from(proof.to_vec()),
	)
}

#[test]
fn an_output_is_published_with_its_proof_and_kept_with_its_result() {
	test(|| {
		let e = exec(5);
		let (t, ps) = assigned_task(3);
		for &p in &ps {
			commit(p, t, e.result);
		}
		// nothing elected yet
		assert_noop!(
			publish(EVE, t, e.output.clone(), 2, &e.proof),
			Error::<Test>::NoResult
		);
		run_to(DUE);
		for &p in &ps {
			reveal(p, t, e.result);
		}
		run_to(TALLY);
		// wrong bytes, an earlier node's (provable) output, a wrong slot, a short proof,
		// empty and oversized outputs
		let mut bad = e.output.clone();
		bad[3] ^= 1;
		assert_noop!(
			publish(EVE, t, bad, 2, &e.proof),
			Error::<Test>::BadOutputProof
		);
		// an earlier node's output (L7): not at the last node's slot, nor its length
		assert_noop!(
			publish(EVE, t, e.hidden.clone(), 1, &e.hidden_proof),
			Error::<Test>::BadOutputShape
		);
		assert_noop!(
			publish(EVE, t, e.hidden.clone(), 2, &e.hidden_proof),
			Error::<Test>::BadOutputLength
		);
		assert_noop!(
			publish(EVE, t, e.output.clone(), 3, &e.proof),
			Error::<Test>::BadOutputShape
		);
		assert_noop!(
			publish(EVE, t, e.output.clone(), 2, &e.proof[1..]),
			Error::<Test>::BadOutputProof
		);
		assert_noop!(
			publish(EVE, t, vec![], 2, &e.proof),
			Error::<Test>::BadOutputLength
		);
		assert_noop!(
			publish(EVE, t, vec![0; 1025], 2, &e.proof),
			Error::<Test>::BadOutputLength
		);
		// anyone may publish the right bytes, once
		assert_ok!(publish(EVE, t, e.output.clone(), 2, &e.proof));
		assert!(events().contains(&Event::OutputPublished {
			task: t,
			who: EVE,
			result: e.result,
			len: 10
		}));
		assert_eq!(
			Outputs::<Test>::get(t).map(|o| (o.result, o.bytes.into_inner())),
			Some((e.result, e.output.clone()))
		);
		assert_noop!(
			publish(ps[0], t, e.output.clone(), 2, &e.proof),
			Error::<Test>::OutputKnown
		);
		// kept while the final result is kept, then forgotten with it
		run_to(UNTIL + 19);
		assert!(Results::<Test>::get(t).is_some() && Outputs::<Test>::get(t).is_some());
		run_to(UNTIL + 20);
		assert!(Outputs::<Test>::get(t).is_none());
		assert_noop!(
			publish(EVE, t, e.output.clone(), 2, &e.proof),
			Error::<Test>::NoResult
		);
	});
}

#[test]
fn the_output_of_an_overturned_result_is_dropped() {
	test(|| {
		let e = exec(9);
		let (t, ps) = assigned_task(1);
		commit(ps[0], t, e.result);
		run_to(DUE);
		reveal(ps[0], t, e.result);
		run_to(TALLY);
		assert_ok!(publish(ps[0], t, e.output.clone(), 2, &e.proof));
		assert_ok!(Submissions::dispute_opened(t));
		Submissions::dispute_closed(t, inst(t), false);
		assert!(Outputs::<Test>::get(t).is_none());
	});
}

#[test]
fn c1_a_game_of_an_earlier_pool_closes_nothing() {
	test(|| {
		let (t, _) = assigned_task(1);
		commit(10, t, root(7));
		run_to(DUE);
		reveal(10, t, root(7));
		run_to(TALLY);
		let first = inst(t);
		assert_ok!(Submissions::dispute_opened(t));
		// an overturn through the pool's own game re-auctions the task
		Submissions::dispute_closed(t, first, false);
		assert!(Pools::<Test>::get(t).is_none());
		// the next round assigns it again: a new pool with a new instance
		run_to(TALLY + 5);
		let second = inst(t);
		assert!(second > first, "a new pool gets a new instance");
		// a report from a game of the first pool touches nothing of the second
		let overturned = || {
			events()
				.iter()
				.filter(|e| matches!(e, Event::ResultOverturned { .. }))
				.count()
		};
		let before = overturned();
		Submissions::dispute_closed(t, first, false);
		Submissions::dispute_closed(t, first, true);
		assert_eq!(inst(t), second);
		assert_eq!(overturned(), before);
		let pool = Pools::<Test>::get(t).expect("second pool stands");
		assert!(matches!(pool.phase, Phase::Collecting));
	});
}

#[test]
fn h6_agenda_items_are_never_dropped() {
	test(|| {
		// far more items due at one block than 64 buckets of 64 (the old spill limit)
		for task in 0..5_000u64 {
			Submissions::schedule(40, 1_000 + task, Action::Forget);
		}
		assert_eq!(Agenda::<Test>::iter_prefix(40).count(), 5_000);
		// 16 per block in the hook: all of them run, none is lost
		run_to(40 + 5_000 / 16 - 1);
		assert_eq!(Agenda::<Test>::iter_prefix(40).count(), 8);
		run_to(40 + 5_000 / 16);
		assert_eq!(Agenda::<Test>::iter_prefix(40).count(), 0);
		assert!(AgendaCursor::<Test>::get() > 40);
	});
}

#[test]
fn m9_a_published_output_holds_a_deposit_until_it_is_dropped() {
	test(|| {
		use frame_support::traits::fungible::InspectHold;
		let e = exec(9);
		let (t, ps) = assigned_task(1);
		commit(ps[0], t, e.result);
		run_to(DUE);
		reveal(ps[0], t, e.result);
		run_to(TALLY);
		let held = || Balances::balance_on_hold(&HoldReason::OutputDeposit.into(), &ps[0]);
		assert_ok!(publish(ps[0], t, e.output.clone(), 2, &e.proof));
		// 1 per byte in the mock
		assert_eq!(held(), e.output.len() as u64);
		run_to(UNTIL);
		assert!(Results::<Test>::get(t).is_some() && Outputs::<Test>::get(t).is_some());
		// forgotten with its result: the deposit comes back
		run_to(UNTIL + RETENTION);
		assert!(Results::<Test>::get(t).is_none() && Outputs::<Test>::get(t).is_none());
		assert_eq!(held(), 0);
	});
}

/// M6: the review's front-run. A pending result's output has 100 bytes; its 32-byte
/// tensor root is a "tensor" with the same root, and publishing it first used to lock
/// the real bytes out (`OutputKnown`). Now the length is proven from the model: the
/// root fails, and the real bytes go in.
#[test]
fn m6_the_output_root_cannot_be_published_as_the_output() {
	test(|| {
		let (t, ps) = assigned_task_out(1, &[100]);
		let output: Vec<u8> = (0..100u8).collect();
		let (h, slot, sib) = payload_result(&output);
		commit(ps[0], t, h);
		run_to(DUE);
		reveal(ps[0], t, h);
		run_to(TALLY);
		let r = bytes_root(&output).0;
		assert_eq!(bytes_root(&r).0, r, "the root is its own tensor");
		assert_noop!(
			publish(EVE, t, r.to_vec(), slot, &sib),
			Error::<Test>::BadOutputLength
		);
		// zero padding keeps the root but not the length
		let mut padded = output.clone();
		padded.resize(128, 0);
		assert_eq!(bytes_root(&padded).0, r, "zero padding keeps the root");
		assert_noop!(
			publish(EVE, t, padded, slot, &sib),
			Error::<Test>::BadOutputLength
		);
		assert_ok!(publish(EVE, t, output.clone(), slot, &sib));
		assert_eq!(
			Outputs::<Test>::get(t).map(|o| o.bytes.into_inner()),
			Some(output)
		);
	});
}

/// M6: a chunked "reveal" of the output root (one 32-byte chunk) in place of the
/// output's bytes used to finish, so an update was never published. Now it does not.
#[test]
fn m6_a_chunked_reveal_of_the_root_instead_of_the_bytes_is_refused() {
	test(|| {
		let (t, ps) = assigned_task_out(1, &[100]);
		let output: Vec<u8> = (0..100u8).collect();
		let (h, _, sib) = payload_result(&output);
		commit(ps[0], t, h);
		run_to(DUE);
		let r = bytes_root(&output).0;
		assert_ok!(Submissions::reveal_chunk(
			RuntimeOrigin::signed(ps[0]),
			t,
			0,
			r.to_vec()
		));
		assert_noop!(
			Submissions::finish_reveal(
				RuntimeOrigin::signed(ps[0]),
				t,
				salt(ps[0]),
				h,
				shape(t),
				sib
			),
			Error::<Test>::BadOutputLength
		);
	});
}

/// L7: an all-zero output of at most 32 bytes has the root of an empty slot, so an
/// earlier node's output (at a slot after which "every slot is empty") passed as the
/// output. Now the slot is the last node's, proven from the model.
#[test]
fn l7_an_earlier_output_cannot_pass_for_an_all_zero_output() {
	use opml_nn::commit::{tensor_root, GraphStates};
	test(|| {
		let (t, ps) = assigned_task(1);
		let (input, hidden, output) = (vec![3u8; 64], vec![4u8; 32], vec![0u8; 10]);
		let states = GraphStates::new(vec![
			tensor_root(&input).0,
			tensor_root(&hidden).0,
			tensor_root(&output).0,
		])
		.unwrap();
		assert_eq!(tensor_root(&output).0, ZERO_HASH);
		let h = H256(states.result_root());
		let sib = |p: opml_primitives_core::merkle::SubtreeProof| {
			p.siblings.into_iter().map(H256).collect::<Vec<_>>()
		};
		let hidden_proof = states.slot_proof(2, 1).unwrap();
		// the hidden node's slot is followed by "empty" slots only
		assert!(hidden_proof.right_is_zero());
		commit(ps[0], t, h);
		run_to(DUE);
		reveal(ps[0], t, h);
		run_to(TALLY);
		assert_noop!(
			publish(EVE, t, hidden, 1, &sib(hidden_proof)),
			Error::<Test>::BadOutputShape
		);
		let out_proof = sib(states.output_proof().unwrap());
		assert_ok!(publish(EVE, t, output, 2, &out_proof));
	});
}

/// L4: a provider banned after its assignment can no longer commit or reveal in the
/// pool, and a majority member banned before settlement is not paid (its share goes
/// back to the requester).
#[test]
fn l4_banned_providers_cannot_hand_in_and_are_not_paid() {
	use pallet_opml_providers::ProviderRegistry;
	test(|| {
		let (t, ps) = assigned_task(3);
		<Providers as ProviderRegistry<u64>>::ban(&ps[2], None, sp_runtime::Perbill::zero());
		assert_noop!(
			Submissions::commit(RuntimeOrigin::signed(ps[2]), t, cm(t, ps[2], root(7))),
			Error::<Test>::ProviderBanned
		);
		commit(ps[0], t, root(7));
		commit(ps[1], t, root(7));
		run_to(DUE);
		reveal(ps[0], t, root(7));
		reveal(ps[1], t, root(7));
		run_to(TALLY);
		// the second member is banned (say, it lost a game elsewhere) before the end
		<Providers as ProviderRegistry<u64>>::ban(&ps[1], None, sp_runtime::Perbill::zero());
		let before: Vec<u64> = ps.iter().map(|&p| Balances::free_balance(p)).collect();
		run_to(UNTIL);
		assert_eq!(Results::<Test>::get(t).map(|r| r.result), Some(root(7)));
		assert!(
			Balances::free_balance(ps[0]) > before[0],
			"the member in good standing is paid"
		);
		assert_eq!(
			Balances::free_balance(ps[1]),
			before[1],
			"the banned member is not"
		);
	});
}
