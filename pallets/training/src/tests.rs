//! Unit tests: a whole two-pool, two-round job driven through the real market and
//! submissions pallets (tasks auctioned, committed, revealed, final), every error path,
//! cancellation; invariants after each test.

use crate::{mock::*, pallet::*, types::*, Error};
use frame_support::{assert_noop, assert_ok, traits::fungible::InspectHold, BoundedVec};
use opml_nn::commit::{one_node_result, stacked_root};
use opml_primitives_core::commitment::result_commitment;
use pallet_opml_market::{ModelId, TaskId, TaskInput, TaskStatus, Tasks};
use pallet_opml_providers::Capacity;
use pallet_opml_submissions::{types::ShapeProof, Results};
use sp_core::H256;

const ALICE: u64 = 1; // job owner
const BOB: u64 = 2;

fn salt(who: u64) -> [u8; 32] {
	[who as u8; 32]
}

fn held(who: u64) -> u64 {
	Balances::balance_on_hold(&HoldReason::JobBudget.into(), &who)
}

/// Three one-node models with 32 output bytes (two pools, one aggregator), a fourth
/// of two such nodes (id: the aggregator's + 1), and providers 10..14 able to run them.
fn setup() -> (ModelId, ModelId, ModelId) {
	let mut ms = Vec::new();
	for lens in [&[32][..], &[32], &[32], &[32, 32]] {
		ms.push(pallet_opml_market::NextModelId::<Test>::get());
		let (g, sib) =
			opml_nn::registration::graph_registration(&opml_nn::commit::shape_fixture(lens))
				.unwrap();
		assert_ok!(Market::register_model(
			RuntimeOrigin::signed(BOB),
			commitment(lens),
			H256::repeat_byte(9),
			1,
			BoundedVec::truncate_from(b"fl".to_vec()),
			BoundedVec::truncate_from(g),
			BoundedVec::truncate_from(sib.into_iter().map(H256).collect()),
		));
	}
	for p in 10..14u64 {
		assert_ok!(Providers::register(
			RuntimeOrigin::signed(p),
			1_000,
			BoundedVec::truncate_from(
				ms.iter()
					.map(|&m| Capacity {
						task_type: m,
						units: 100
					})
					.collect::<Vec<_>>()
			),
			1,
			10
		));
	}
	(ms[0], ms[1], ms[2])
}

fn spec(
	pools: &[ModelId],
	aggregator: ModelId,
	params: H256,
	params_len: u32,
	rounds: u32,
	valuation: u64,
) -> JobSpecOf<Test> {
	JobSpec {
		pools: BoundedVec::truncate_from(pools.to_vec()),
		aggregator,
		params,
		params_len,
		rounds,
		redundancy: 2,
		deadline: 10,
		valuation,
	}
}

fn create(pools: &[ModelId], agg: ModelId, params: H256, rounds: u32) -> JobId {
	let id = NextJobId::<Test>::get();
	assert_ok!(Training::create_job(
		RuntimeOrigin::signed(ALICE),
		spec(pools, agg, params, 8, rounds, 100)
	));
	id
}

/// The commitment of a model of `lens.len()` nodes, node `j` with `lens[j]` output bytes.
fn commitment(lens: &[u32]) -> H256 {
	H256(opml_nn::commit::model_commitment(&opml_nn::commit::shape_fixture(lens)).unwrap())
}

/// The output shape proof of that model.
fn shape(lens: &[u32]) -> ShapeProof {
	ShapeProof::from_proof(
		&opml_nn::commit::output_proof(&opml_nn::commit::shape_fixture(lens)).unwrap(),
	)
}

/// The result root of a one-node run from `input` to `output` (a parameter vector of
/// 8 `i32`: the test models' one node has 32 output bytes), and `output`'s proof.
fn result(input: H256, output: H256) -> (H256, OutputProof) {
	let (g, p) = one_node_result(input.0, output.0).unwrap();
	(
		H256(g),
		OutputProof {
			root: output,
			shape: shape(&[32]),
			siblings: BoundedVec::truncate_from(p.siblings.into_iter().map(H256).collect()),
		},
	)
}

/// Wait for the tasks' assignment, then have each task's providers agree on its
/// result and wait until all are final (the tasks run side by side, as on chain).
fn finalize(tasks: &[(TaskId, H256)]) {
	let assigned = |task: TaskId| match Tasks::<Test>::get(task).map(|t| t.status) {
		Some(TaskStatus::Assigned { providers, due, .. }) => {
			Some((providers.iter().map(|p| p.0).collect::<Vec<_>>(), due))
		}
		_ => None,
	};
	while tasks.iter().any(|&(t, _)| assigned(t).is_none()) {
		run_to(System::block_number() + 1);
	}
	let mut last_due = 0;
	for &(task, result) in tasks {
		let (providers, due) = assigned(task).unwrap();
		last_due = last_due.max(due);
		for &p in &providers {
			let c = result_commitment(task, &p, &result.0, &salt(p));
			assert_ok!(Submissions::commit(RuntimeOrigin::signed(p), task, H256(c)));
		}
	}
	run_to(last_due);
	for &(task, result) in tasks {
		for p in assigned(task).unwrap().0 {
			assert_ok!(Submissions::reveal(
				RuntimeOrigin::signed(p),
				task,
				result,
				salt(p)
			));
		}
	}
	while tasks
		.iter()
		.any(|&(t, _)| Results::<Test>::get(t).is_none())
	{
		assert!(System::block_number() < 500, "tasks never final");
		run_to(System::block_number() + 1);
	}
	for &(task, result) in tasks {
		assert_eq!(Results::<Test>::get(task).map(|r| r.result), Some(result));
	}
}

fn tasks_of(job: JobId) -> Vec<TaskId> {
	match Jobs::<Test>::get(job).unwrap().phase {
		Phase::Training { tasks } => tasks.to_vec(),
		Phase::Aggregating { task } => vec![task],
		Phase::Finished => vec![],
	}
}

fn input_of(task: TaskId) -> H256 {
	match Tasks::<Test>::get(task).unwrap().input {
		TaskInput::Root(r) => r,
		i => panic!("unexpected input {i:?}"),
	}
}

fn update(round: u32, pool: usize) -> H256 {
	H256::repeat_byte(0x40 + (round as u8) * 4 + pool as u8)
}

#[test]
fn a_two_pool_two_round_job_runs_to_the_end() {
	test(|| {
		let (m0, m1, agg) = setup();
		let p0 = H256::repeat_byte(0x11);
		let free = Balances::free_balance(ALICE);
		let job = create(&[m0, m1], agg, p0, 2);
		// (2 pools + 1 aggregation) × 2 rounds × 100, minus round 0's two tasks
		assert_eq!(Jobs::<Test>::get(job).unwrap().budget, 400);
		assert_eq!(held(ALICE), 400);
		let mut params = p0;
		for round in 0..2u32 {
			let tasks = tasks_of(job);
			assert_eq!(tasks.len(), 2);
			let mut proofs = Vec::new();
			let mut results = Vec::new();
			for (i, &t) in tasks.iter().enumerate() {
				assert_eq!(
					input_of(t),
					params,
					"round {round} starts from the aggregate"
				);
				let (g, proof) = result(params, update(round, i));
				results.push((t, g));
				proofs.push(proof);
			}
			// not final yet: nothing moves
			assert_noop!(
				Training::advance(
					RuntimeOrigin::signed(BOB),
					job,
					BoundedVec::truncate_from(proofs.clone())
				),
				Error::<Test>::NotFinal
			);
			finalize(&results);
			assert_ok!(Training::advance(
				RuntimeOrigin::signed(BOB),
				job,
				BoundedVec::truncate_from(proofs)
			));
			let agg_task = tasks_of(job)[0];
			let stacked = H256(stacked_root(&[update(round, 0).0, update(round, 1).0], 0).unwrap());
			assert_eq!(input_of(agg_task), stacked);
			assert_eq!(Tasks::<Test>::get(agg_task).unwrap().model, agg);
			let out = H256::repeat_byte(0x90 + round as u8);
			let (g, proof) = result(stacked, out);
			finalize(&[(agg_task, g)]);
			assert_ok!(Training::advance(
				RuntimeOrigin::signed(ALICE),
				job,
				BoundedVec::truncate_from(vec![proof])
			));
			params = out;
			assert!(System::events().iter().any(|e| e.event
				== RuntimeEvent::Training(Event::RoundFinished {
					job,
					round,
					params: out
				})));
		}
		let j = Jobs::<Test>::get(job).unwrap();
		assert_eq!(
			(j.phase, j.round, j.params, j.budget),
			(Phase::Finished, 2, params, 0)
		);
		assert_eq!(held(ALICE), 0);
		// six tasks of 100 each were paid from Alice's balance
		assert!(Balances::free_balance(ALICE) < free);
		assert!(System::events()
			.iter()
			.any(|e| e.event == RuntimeEvent::Training(Event::JobFinished { job, params })));
		assert_noop!(
			Training::advance(RuntimeOrigin::signed(BOB), job, BoundedVec::new()),
			Error::<Test>::Finished
		);
		// the owner removes the finished job
		assert_ok!(Training::cancel_job(RuntimeOrigin::signed(ALICE), job));
		assert!(Jobs::<Test>::get(job).is_none());
	});
}

#[test]
fn bad_jobs_and_unaffordable_budgets_are_refused() {
	test(|| {
		let (m0, m1, agg) = setup();
		let p = H256::repeat_byte(1);
		let call = |pools: Vec<ModelId>, len: u32, rounds: u32, v: u64| {
			Training::create_job(
				RuntimeOrigin::signed(ALICE),
				spec(&pools, agg, p, len, rounds, v),
			)
		};
		assert_noop!(call(vec![], 8, 1, 100), Error::<Test>::BadJob);
		assert_noop!(call(vec![m0], 12, 1, 100), Error::<Test>::BadJob);
		assert_noop!(call(vec![m0], 4, 1, 100), Error::<Test>::BadJob);
		assert_noop!(call(vec![m0], 8, 0, 100), Error::<Test>::BadJob);
		assert_noop!(call(vec![m0], 8, 9, 100), Error::<Test>::BadJob);
		assert_noop!(call(vec![m0], 8, 1, 0), Error::<Test>::BadJob);
		assert_noop!(
			call(vec![m0, m1], 8, 8, 10_000),
			Error::<Test>::InsufficientBalance
		);
		assert_noop!(
			call(vec![m0], 8, 1, u64::MAX),
			Error::<Test>::InsufficientBalance
		);
		// an unknown pool model: the market refuses the task, nothing is held
		assert_noop!(
			call(vec![m0, 77], 8, 1, 100),
			pallet_opml_market::Error::<Test>::UnknownModel
		);
		assert_eq!(held(ALICE), 0);
	});
}

#[test]
fn advance_checks_the_proofs_and_their_count() {
	test(|| {
		let (m0, m1, agg) = setup();
		let p0 = H256::repeat_byte(0x11);
		let job = create(&[m0, m1], agg, p0, 1);
		let tasks = tasks_of(job);
		let (g0, pr0) = result(p0, update(0, 0));
		let (g1, pr1) = result(p0, update(0, 1));
		finalize(&[(tasks[0], g0), (tasks[1], g1)]);
		let adv = |v: Vec<OutputProof>| {
			Training::advance(
				RuntimeOrigin::signed(BOB),
				job,
				BoundedVec::truncate_from(v),
			)
		};
		assert_noop!(adv(vec![pr0.clone()]), Error::<Test>::WrongProofCount);
		// a root that is not the result's output
		let mut wrong = pr1.clone();
		wrong.root = H256::repeat_byte(0xee);
		assert_noop!(adv(vec![pr0.clone(), wrong]), Error::<Test>::BadOutputProof);
		// proofs swapped between the pools
		assert_noop!(
			adv(vec![pr1.clone(), pr0.clone()]),
			Error::<Test>::BadOutputProof
		);
		assert_noop!(
			Training::advance(RuntimeOrigin::signed(BOB), 99, BoundedVec::new()),
			Error::<Test>::UnknownJob
		);
		assert_ok!(adv(vec![pr0, pr1]));
		assert!(matches!(
			Jobs::<Test>::get(job).unwrap().phase,
			Phase::Aggregating { .. }
		));
		assert_noop!(adv(vec![]), Error::<Test>::WrongProofCount);
	});
}

/// L7, M6: an output is proven at the slot of the model's last node, with that model's
/// shape and a parameter vector's length. An earlier node's output cannot pass for an
/// all-zero output (it could while "a slot after which all are empty" was the output).
#[test]
fn l7_advance_takes_the_output_of_the_models_last_node() {
	test(|| {
		let (m0, _, agg) = setup();
		let two = agg + 1;
		let p0 = H256::repeat_byte(0x11);
		let job = create(&[two, m0], agg, p0, 1);
		let tasks = tasks_of(job);
		// the two-node model's run: node 1 gives x, node 2 (the output) all zeros
		let x = H256::repeat_byte(0x42);
		let s = opml_nn::commit::GraphStates::new(vec![p0.0, x.0, [0; 32]]).unwrap();
		let siblings = |slot: usize| {
			BoundedVec::truncate_from(
				s.slot_proof(2, slot)
					.unwrap()
					.siblings
					.into_iter()
					.map(H256)
					.collect(),
			)
		};
		let (g1, pr1) = result(p0, update(0, 1));
		finalize(&[(tasks[0], H256(s.result_root())), (tasks[1], g1)]);
		let adv = |v: Vec<OutputProof>| {
			Training::advance(
				RuntimeOrigin::signed(BOB),
				job,
				BoundedVec::truncate_from(v),
			)
		};
		// node 1's output with the true shape: not at the output's slot
		let earlier = OutputProof {
			root: x,
			shape: shape(&[32, 32]),
			siblings: siblings(1),
		};
		assert_noop!(
			adv(vec![earlier, pr1.clone()]),
			Error::<Test>::BadOutputProof
		);
		// ... nor with the shape of a one-node model (not this task's model)
		let other = OutputProof {
			root: x,
			shape: shape(&[32]),
			siblings: siblings(1),
		};
		assert_noop!(adv(vec![other, pr1.clone()]), Error::<Test>::BadOutputShape);
		// the true output: all zeros at slot 2
		let zero = OutputProof {
			root: H256::zero(),
			shape: shape(&[32, 32]),
			siblings: siblings(2),
		};
		assert_ok!(adv(vec![zero, pr1]));
		let agg_task = tasks_of(job)[0];
		let stacked = H256(stacked_root(&[[0; 32], update(0, 1).0], 0).unwrap());
		assert_eq!(input_of(agg_task), stacked);
	});
}

/// M6: an output of another length than the job's parameter vector is refused.
#[test]
fn advance_refuses_an_output_of_another_length() {
	test(|| {
		let (m0, m1, agg) = setup();
		let p0 = H256::repeat_byte(0x11);
		let job = NextJobId::<Test>::get();
		assert_ok!(Training::create_job(
			RuntimeOrigin::signed(ALICE),
			spec(&[m0, m1], agg, p0, 16, 1, 100)
		));
		let tasks = tasks_of(job);
		let (g0, pr0) = result(p0, update(0, 0));
		let (g1, pr1) = result(p0, update(0, 1));
		finalize(&[(tasks[0], g0), (tasks[1], g1)]);
		// the models' outputs are 32 bytes; the job's vectors 16 x 4
		assert_noop!(
			Training::advance(
				RuntimeOrigin::signed(BOB),
				job,
				BoundedVec::truncate_from(vec![pr0, pr1])
			),
			Error::<Test>::BadOutputLength
		);
	});
}

#[test]
fn cancelling_releases_what_was_not_spent() {
	test(|| {
		let (m0, _, agg) = setup();
		let job = create(&[m0], agg, H256::repeat_byte(3), 3);
		// 1 pool + 1 aggregation, 3 rounds, 100 each; round 0's task submitted
		assert_eq!(held(ALICE), 500);
		assert_noop!(
			Training::cancel_job(RuntimeOrigin::signed(BOB), job),
			Error::<Test>::NotOwner
		);
		let free = Balances::free_balance(ALICE);
		assert_ok!(Training::cancel_job(RuntimeOrigin::signed(ALICE), job));
		assert_eq!(held(ALICE), 0);
		assert_eq!(Balances::free_balance(ALICE), free + 500);
		assert!(Jobs::<Test>::get(job).is_none());
		// the submitted task runs its course in the market
		let t = pallet_opml_market::Pallet::<Test>::next_task_id() - 1;
		assert!(Tasks::<Test>::get(t).is_some());
	});
}
