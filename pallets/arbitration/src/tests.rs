//! Adversarial games with the real VM, the real guest and small real models, played
//! through the pallet (with the real providers, market and submissions pallets):
//! honest parties win at 200 random fault positions in each role, against liars at
//! the handoff and parties that stop moving; every malformed move fails with its own
//! error and changes nothing; audits; invariants after each test.

use crate::{mock::*, pallet::*, types::*, Error};
use codec::Encode;
use frame_support::{assert_noop, assert_ok, traits::fungible::InspectHold, BoundedVec};
use opml_dispute::{
	party::{NodeGame, Party},
	Handoff,
};
use opml_nn::{
	commit::{model_commitment, tensor_root},
	vm::Guest,
	zoo::{self, Rng},
	Prepared, TensorData,
};
use pallet_opml_market::{TaskId, TaskInput, TaskStatus};
use pallet_opml_providers::Capacity;
use sp_core::H256;

pub(crate) const K: u32 = 16;
pub(crate) const REQUESTER: u64 = 1;
pub(crate) const OWNER: u64 = 2;
pub(crate) const CHALLENGER: u64 = 3;
pub(crate) const BOND: u64 = 60;

pub(crate) struct World {
	pub(crate) guest: Guest,
	pub(crate) model: Prepared,
	pub(crate) commitment: H256,
	pub(crate) input: TensorData,
}

/// Register `model` as `owner` under `program`: its commitment, graph and the graph
/// root's siblings, as a model owner's client sends them.
pub(crate) fn register_model(
	owner: u64,
	model: &opml_nn::Model,
	program: H256,
	metadata: &[u8],
) -> frame_support::dispatch::DispatchResult {
	let c = model_commitment(model).map_err(|_| "commitment")?;
	let (g, s) = opml_nn::registration::graph_registration(model).map_err(|_| "graph")?;
	Market::register_model(
		RuntimeOrigin::signed(owner),
		H256(c),
		program,
		1,
		BoundedVec::truncate_from(metadata.to_vec()),
		BoundedVec::truncate_from(g),
		BoundedVec::truncate_from(s.into_iter().map(H256).collect()),
	)
}

impl World {
	pub(crate) fn new(seed: u64) -> Self {
		let m = if seed.is_multiple_of(2) {
			zoo::mlp(&[24, 16, 8, 4], seed)
		} else {
			zoo::transformer_block(4, 8, 2, 16, seed)
		};
		let commitment = H256(model_commitment(&m).unwrap());
		let model = Prepared::new(m).unwrap();
		let n = model.model.graph.input.elements().unwrap();
		World {
			guest: Guest::builtin().unwrap(),
			model,
			commitment,
			input: TensorData::I8(Rng(seed).i8s(n)),
		}
	}

	pub(crate) fn honest(&self) -> Party<'_> {
		Party::honest(&self.guest, &self.model, &self.input).unwrap()
	}

	/// A liar: node `j`'s output changed (and, if `step` is given, its VM trajectory of
	/// node `j` a lie from that step on).
	pub(crate) fn liar(
		&self,
		honest: &Party,
		j: usize,
		step: Option<u64>,
		rng: &mut Rng,
	) -> Party<'_> {
		let mut out = honest.outputs().to_vec();
		let o = &mut out[j - 1];
		let at = (rng.next_u64() % o.len() as u64) as usize;
		o.perturb(at, (1 + rng.next_u64() % 255) as i32);
		let p = Party::with_outputs(&self.guest, &self.model, &self.input, out).unwrap();
		match step {
			Some(s) => p.lying_from_step(s),
			None => p,
		}
	}

	/// A liar at a random node, half of the time lying about the VM trajectory from a
	/// random step.
	pub(crate) fn random_liar(&self, honest: &Party, rng: &mut Rng) -> (Party<'_>, usize) {
		let j = 1 + (rng.next_u64() % honest.nodes()) as usize;
		let step = if rng.next_u64().is_multiple_of(2) {
			let steps = honest.node_game(j as u64).unwrap().steps();
			Some(1 + rng.next_u64() % steps)
		} else {
			None
		};
		(self.liar(honest, j, step, rng), j)
	}

	/// Register the model and `providers`, submit a task of redundancy
	/// `providers.len()`; it is assigned at block 5 (commits before 15, reveals in
	/// 15..20, tally at 20, challenge window until 30).
	pub(crate) fn task(&self, providers: &[u64]) -> TaskId {
		let m = pallet_opml_market::NextModelId::<Test>::get();
		assert_ok!(register_model(
			OWNER,
			&self.model.model,
			H256(self.guest.program_root()),
			b"m"
		));
		for &p in providers {
			register(p, m, 1_000, 1);
		}
		let t = pallet_opml_market::Pallet::<Test>::next_task_id();
		let input_root = H256(tensor_root(&self.input.to_bytes()).0);
		assert_ok!(Market::submit_task(
			RuntimeOrigin::signed(REQUESTER),
			m,
			TaskInput::Root(input_root),
			1,
			100 * providers.len() as u64,
			providers.len() as u8,
			10
		));
		run_to(5);
		assert!(pallet_opml_submissions::Pools::<Test>::get(t).is_some());
		t
	}
}

/// Register `p` as a provider of `model` with `bond`, 100 units and unit cost `cost`.
pub(crate) fn register(p: u64, model: u32, bond: u64, cost: u64) {
	assert_ok!(Providers::register(
		RuntimeOrigin::signed(p),
		bond,
		BoundedVec::truncate_from(vec![Capacity {
			task_type: model,
			units: 100
		}]),
		cost,
		10
	));
}

/// Each provider commits to its result now, reveals it when the pool's reveal window
/// opens, and the pool is tallied at the window's end (for [`World::task`]: reveals at
/// 15, tally at 20).
pub(crate) fn hand_in(t: TaskId, results: &[(u64, H256)]) {
	use opml_primitives_core::commitment::result_commitment;
	let pool = pallet_opml_submissions::Pools::<Test>::get(t).expect("an assigned pool");
	for (p, r) in results {
		let c = result_commitment(t, p, &r.0, &[*p as u8; 32]);
		assert_ok!(Submissions::commit(RuntimeOrigin::signed(*p), t, H256(c)));
	}
	run_to(pool.commit_end);
	for (p, r) in results {
		assert_ok!(Submissions::reveal(
			RuntimeOrigin::signed(*p),
			t,
			*r,
			[*p as u8; 32]
		));
	}
	run_to(pool.reveal_end);
}

pub(crate) fn resolved(id: GameId) -> Option<(u64, u64, Side, Outcome)> {
	System::events().into_iter().find_map(|r| match r.event {
		RuntimeEvent::Arbitration(Event::GameResolved {
			game,
			winner,
			loser,
			loser_side,
			outcome,
			..
		}) if game == id => Some((winner, loser, loser_side, outcome)),
		_ => None,
	})
}

pub(crate) fn last_game() -> GameId {
	NextGameId::<Test>::get() - 1
}

/// Play game `id` to the end through the pallet: each side follows its party's view.
/// A side listed in `stop` stops moving once it has made that many moves; then its
/// clock runs out and anyone times it out. Returns the losing side and the number of
/// moves and bytes of arguments the game put on chain.
pub(crate) fn drive(
	id: GameId,
	def: (u64, &Party),
	chal: (u64, &Party),
	stop: Option<(Side, u32)>,
) -> (Side, Outcome, u32, usize) {
	let (_, dp) = def;
	let (c, cp) = chal;
	let mut dgame: Option<NodeGame> = None;
	let mut cgame: Option<NodeGame> = None;
	let (mut moves, mut bytes) = ([0u32; 2], 0usize);
	while let Some(g) = Games::<Test>::get(id) {
		// the defence passes to the next member of the majority when one loses
		let d = g.defender;
		let side = g.turn as usize;
		if stop.is_some_and(|(s, n)| s == g.turn && moves[side] >= n) {
			assert_noop!(
				Arbitration::timeout(RuntimeOrigin::signed(REQUESTER), id),
				Error::<Test>::NotExpired
			);
			run_to(System::block_number() + 11);
			assert_ok!(Arbitration::timeout(RuntimeOrigin::signed(REQUESTER), id));
			break;
		}
		moves[side] += 1;
		match g.phase {
			Phase::Graph { a, b, posted, .. } if posted.is_empty() => {
				let states: Vec<H256> = dp.graph_hashes(a, b, K).into_iter().map(H256).collect();
				bytes += 32 * states.len();
				assert_ok!(Arbitration::post_states(
					RuntimeOrigin::signed(d),
					id,
					BoundedVec::truncate_from(states)
				));
			}
			Phase::Graph { a, b, posted, .. } => {
				let posted: Vec<[u8; 32]> = posted.iter().map(|h| h.0).collect();
				bytes += 4;
				assert_ok!(Arbitration::choose(
					RuntimeOrigin::signed(c),
					id,
					cp.choose_graph(a, b, K, &posted)
				));
			}
			Phase::Handoff { node, .. } => {
				dgame = (node <= dp.nodes()).then(|| dp.node_game(node).unwrap());
				let h = dp.handoff(node, dgame.as_mut()).unwrap().encode();
				bytes += h.len();
				assert_ok!(Arbitration::handoff(
					RuntimeOrigin::signed(d),
					id,
					BoundedVec::truncate_from(h)
				));
			}
			Phase::Vm { a, b, posted, .. } if posted.is_empty() => {
				let states: Vec<H256> = dgame
					.as_mut()
					.unwrap()
					.hashes(a, b, K)
					.into_iter()
					.map(H256)
					.collect();
				bytes += 32 * states.len();
				assert_ok!(Arbitration::post_states(
					RuntimeOrigin::signed(d),
					id,
					BoundedVec::truncate_from(states)
				));
			}
			Phase::Vm {
				node, a, b, posted, ..
			} => {
				let cg = cgame.get_or_insert_with(|| cp.node_game(node).unwrap());
				let posted: Vec<[u8; 32]> = posted.iter().map(|h| h.0).collect();
				bytes += 4;
				assert_ok!(Arbitration::choose(
					RuntimeOrigin::signed(c),
					id,
					cg.choose(a, b, K, &posted)
				));
			}
			Phase::OneStep { node, step, .. } => {
				let cg = cgame.get_or_insert_with(|| cp.node_game(node).unwrap());
				let w = cg.witness(step);
				bytes += w.len();
				assert_ok!(Arbitration::one_step(
					RuntimeOrigin::signed(c),
					id,
					BoundedVec::truncate_from(w)
				));
			}
		}
	}
	let (_, _, loser, outcome) = resolved(id).expect("game resolved");
	(loser, outcome, moves[0] + moves[1], bytes)
}

pub(crate) fn banned(who: u64) -> bool {
	pallet_opml_providers::Banned::<Test>::contains_key(who)
}

pub(crate) fn bond_held(who: u64) -> u64 {
	Balances::balance_on_hold(&HoldReason::ChallengeBond.into(), &who)
}

#[test]
fn an_honest_challenger_beats_a_lying_defender_at_200_fault_positions() {
	for seed in 0..10u64 {
		let w = World::new(seed);
		let honest = w.honest();
		let mut rng = Rng(seed ^ 0xdef);
		for _ in 0..20 {
			let (liar, j) = w.random_liar(&honest, &mut rng);
			test(|| {
				let t = w.task(&[10]);
				hand_in(t, &[(10, H256(liar.result_root()))]);
				assert_ok!(Arbitration::challenge(
					RuntimeOrigin::signed(CHALLENGER),
					t,
					BOND
				));
				let (loser, outcome, _, _) =
					drive(last_game(), (10, &liar), (CHALLENGER, &honest), None);
				assert_eq!(
					(loser, outcome),
					(Side::Defender, Outcome::StepRefuted),
					"seed {seed}, node {j}"
				);
				assert!(banned(10));
				// bond back, plus half of the liar's provider bond
				assert_eq!(bond_held(CHALLENGER), 0);
				assert_eq!(Balances::free_balance(CHALLENGER), 100_000 + 500);
				// the result is overturned: the task goes back to auction
				let task = pallet_opml_market::Tasks::<Test>::get(t).unwrap();
				assert_eq!(task.status, TaskStatus::Open);
				assert!(pallet_opml_submissions::Pools::<Test>::get(t).is_none());
			});
		}
	}
}

#[test]
fn an_honest_defender_beats_a_lying_challenger_at_200_fault_positions() {
	for seed in 0..10u64 {
		let w = World::new(seed);
		let honest = w.honest();
		let mut rng = Rng(seed ^ 0xc4a1);
		for _ in 0..20 {
			let (liar, j) = w.random_liar(&honest, &mut rng);
			test(|| {
				let t = w.task(&[10]);
				hand_in(t, &[(10, H256(honest.result_root()))]);
				let free10 = Balances::free_balance(10);
				assert_ok!(Arbitration::challenge(
					RuntimeOrigin::signed(CHALLENGER),
					t,
					BOND
				));
				let (loser, outcome, _, _) =
					drive(last_game(), (10, &honest), (CHALLENGER, &liar), None);
				assert_eq!(
					(loser, outcome),
					(Side::Challenger, Outcome::StepUpheld),
					"seed {seed}, node {j}"
				);
				assert!(!banned(10));
				// the bond is lost: half to the defender, half burned
				assert_eq!(bond_held(CHALLENGER), 0);
				assert_eq!(Balances::free_balance(CHALLENGER), 100_000 - BOND);
				assert_eq!(Balances::free_balance(10), free10 + BOND / 2);
				// the result stands and becomes final with the window
				run_to(30);
				assert_eq!(
					pallet_opml_submissions::Results::<Test>::get(t).map(|r| r.result),
					Some(H256(honest.result_root()))
				);
			});
		}
	}
}

#[test]
fn dissent_in_a_pool_is_settled_by_an_automatic_game() {
	let w = World::new(2);
	let honest = w.honest();
	let mut rng = Rng(7);
	let (liar, _) = w.random_liar(&honest, &mut rng);
	let (good, bad) = (H256(honest.result_root()), H256(liar.result_root()));
	// two honest providers and a liar: the liar challenges automatically and loses
	test(|| {
		let t = w.task(&[10, 11, 12]);
		hand_in(t, &[(10, good), (11, good), (12, bad)]);
		let g = Games::<Test>::get(last_game()).unwrap();
		assert!(g.provider_challenger && g.bond == 0 && g.challenger == 12);
		let d = g.defender;
		let (loser, ..) = drive(last_game(), (d, &honest), (12, &liar), None);
		assert_eq!(loser, Side::Challenger);
		assert!(banned(12) && !banned(10) && !banned(11));
		run_to(30);
		assert_eq!(
			pallet_opml_submissions::Results::<Test>::get(t).map(|r| r.result),
			Some(good)
		);
	});
	// two liars agreeing and an honest provider: the honest one overturns them both
	test(|| {
		let t = w.task(&[10, 11, 12]);
		hand_in(t, &[(10, bad), (11, bad), (12, good)]);
		let d = Games::<Test>::get(last_game()).unwrap().defender;
		let (loser, ..) = drive(last_game(), (d, &liar), (12, &honest), None);
		assert_eq!(loser, Side::Defender);
		assert!(banned(10) && banned(11) && !banned(12));
		assert_eq!(
			pallet_opml_market::Tasks::<Test>::get(t).map(|t| t.status),
			Some(TaskStatus::Open)
		);
	});
}

#[test]
fn a_party_that_stops_moving_loses_on_time() {
	let w = World::new(4);
	let honest = w.honest();
	let mut rng = Rng(11);
	for (stopper, after) in [
		(Side::Defender, 0),
		(Side::Defender, 1),
		(Side::Defender, 3),
		(Side::Challenger, 0),
		(Side::Challenger, 2),
		(Side::Challenger, 4),
	] {
		let (liar, _) = w.random_liar(&honest, &mut rng);
		test(|| {
			let t = w.task(&[10]);
			let (def, chal) = if stopper == Side::Defender {
				(&liar, &honest)
			} else {
				(&honest, &liar)
			};
			hand_in(t, &[(10, H256(def.result_root()))]);
			assert_ok!(Arbitration::challenge(
				RuntimeOrigin::signed(CHALLENGER),
				t,
				BOND
			));
			let (loser, outcome, ..) = drive(
				last_game(),
				(10, def),
				(CHALLENGER, chal),
				Some((stopper, after)),
			);
			assert_eq!((loser, outcome), (stopper, Outcome::Timeout));
		});
	}
}

/// A game at its handoff with a lying defender; returns the game, the defender's
/// party and its honest handoff (tests tamper with it).
fn at_handoff<'a>(w: &'a World, liar: &'a Party<'a>, honest: &Party) -> (GameId, Handoff) {
	let t = w.task(&[10]);
	hand_in(t, &[(10, H256(liar.result_root()))]);
	assert_ok!(Arbitration::challenge(
		RuntimeOrigin::signed(CHALLENGER),
		t,
		BOND
	));
	let id = last_game();
	loop {
		let g = Games::<Test>::get(id).unwrap();
		match g.phase {
			Phase::Graph { a, b, posted, .. } if posted.is_empty() => {
				let s: Vec<H256> = liar.graph_hashes(a, b, K).into_iter().map(H256).collect();
				assert_ok!(Arbitration::post_states(
					RuntimeOrigin::signed(10),
					id,
					BoundedVec::truncate_from(s)
				));
			}
			Phase::Graph { a, b, posted, .. } => {
				let p: Vec<[u8; 32]> = posted.iter().map(|h| h.0).collect();
				assert_ok!(Arbitration::choose(
					RuntimeOrigin::signed(CHALLENGER),
					id,
					honest.choose_graph(a, b, K, &p)
				));
			}
			Phase::Handoff { node, .. } => {
				let mut game = liar.node_game(node).unwrap();
				return (id, liar.handoff(node, Some(&mut game)).unwrap());
			}
			_ => unreachable!(),
		}
	}
}

#[test]
fn lies_at_the_handoff_are_rejected_and_the_liar_loses_on_time() {
	let w = World::new(6);
	let honest = w.honest();
	let liar = w.liar(&honest, 2, None, &mut Rng(3));
	type Tamper = fn(&mut Handoff);
	let cases: [(Tamper, Error<Test>); 5] = [
		// a wrong input root: the initial VM state would be wrong
		(
			|h| {
				if let Handoff::Node { inputs, .. } = h {
					let (opml_dispute::InputProof::Slot { root, .. }
					| opml_dispute::InputProof::Weight { root, .. }) = &mut inputs[0];
					root[0] ^= 1;
				}
			},
			Error::<Test>::BadInputProof,
		),
		// a final state whose output region does not hold the output root
		(
			|h| {
				if let Handoff::Node { final_state, .. } = h {
					final_state.mem_root[0] ^= 1;
				}
			},
			Error::<Test>::BadFinalOutput,
		),
		// a final state that is not halted
		(
			|h| {
				if let Handoff::Node { final_state, .. } = h {
					final_state.exit = opml_vm::state::ExitStatus::Running;
				}
			},
			Error::<Test>::NotHalted,
		),
		// another node's descriptor
		(
			|h| {
				if let Handoff::Node { node_proof, .. } = h {
					node_proof.index += 1;
				}
			},
			Error::<Test>::BadNodeProof,
		),
		// an output that is not the defender's G_i
		(
			|h| {
				if let Handoff::Node { output_root, .. } = h {
					output_root[0] ^= 1;
				}
			},
			Error::<Test>::BadOutputProof,
		),
	];
	for (tamper, err) in cases {
		test(|| {
			let (id, mut h) = at_handoff(&w, &liar, &honest);
			tamper(&mut h);
			assert_noop!(
				Arbitration::handoff(
					RuntimeOrigin::signed(10),
					id,
					BoundedVec::truncate_from(h.encode())
				),
				err
			);
			assert_noop!(
				Arbitration::handoff(
					RuntimeOrigin::signed(10),
					id,
					BoundedVec::truncate_from(vec![1, 2, 3])
				),
				Error::<Test>::Malformed
			);
			run_to(System::block_number() + 11);
			assert_ok!(Arbitration::timeout(RuntimeOrigin::signed(CHALLENGER), id));
			assert_eq!(
				resolved(id).map(|r| (r.2, r.3)),
				Some((Side::Defender, Outcome::Timeout))
			);
			assert!(banned(10));
		});
	}
}

#[test]
fn malformed_and_mismatched_moves_fail_and_change_nothing() {
	let w = World::new(8);
	let honest = w.honest();
	test(|| {
		let t = w.task(&[10]);
		// challenges before anything is pending
		assert_noop!(
			Arbitration::challenge(RuntimeOrigin::signed(CHALLENGER), t, BOND),
			Error::<Test>::NotPending
		);
		hand_in(t, &[(10, H256(honest.result_root()))]);
		assert_noop!(
			Arbitration::challenge(RuntimeOrigin::signed(10), t, BOND),
			Error::<Test>::OwnResult
		);
		assert_noop!(
			Arbitration::challenge(RuntimeOrigin::signed(CHALLENGER), t, 49),
			Error::<Test>::BondTooLow
		);
		assert_noop!(
			Arbitration::challenge(RuntimeOrigin::signed(CHALLENGER), t, 1_000_000),
			Error::<Test>::InsufficientBalance
		);
		for c in 30..34 {
			assert_ok!(Arbitration::challenge(RuntimeOrigin::signed(c), t, BOND));
		}
		let id = last_game();
		let c = 33;
		let states = |n: usize| BoundedVec::truncate_from(vec![H256::repeat_byte(1); n]);
		let o = RuntimeOrigin::signed;
		assert_noop!(
			Arbitration::post_states(o(10), id + 1, states(15)),
			Error::<Test>::UnknownGame
		);
		assert_noop!(
			Arbitration::post_states(o(c), id, states(15)),
			Error::<Test>::NotYourMove
		);
		assert_noop!(Arbitration::choose(o(c), id, 0), Error::<Test>::WrongPhase);
		assert_noop!(
			Arbitration::post_states(o(10), id, states(14)),
			Error::<Test>::WrongStateCount
		);
		assert_noop!(
			Arbitration::handoff(o(10), id, BoundedVec::new()),
			Error::<Test>::WrongPhase
		);
		assert_noop!(
			Arbitration::one_step(o(c), id, BoundedVec::new()),
			Error::<Test>::WrongPhase
		);
		assert_noop!(Arbitration::timeout(o(c), id), Error::<Test>::NotExpired);
		assert_ok!(Arbitration::post_states(o(10), id, states(15)));
		assert_noop!(
			Arbitration::choose(o(10), id, 0),
			Error::<Test>::NotYourMove
		);
		assert_noop!(Arbitration::choose(o(c), id, 16), Error::<Test>::BadChoice);
		// the challenger's clock runs out: it can no longer move, only be timed out
		run_to(System::block_number() + 11);
		assert_noop!(
			Arbitration::choose(o(c), id, 0),
			Error::<Test>::ClockExpired
		);
		assert_ok!(Arbitration::timeout(o(REQUESTER), id));
		assert_eq!(resolved(id).map(|r| r.2), Some(Side::Challenger));
	});
	// one-step errors: a malformed witness, a witness from another state
	test(|| {
		let liar = w.liar(&honest, 1, Some(1), &mut Rng(5));
		let t = w.task(&[10]);
		hand_in(t, &[(10, H256(liar.result_root()))]);
		assert_ok!(Arbitration::challenge(
			RuntimeOrigin::signed(CHALLENGER),
			t,
			BOND
		));
		let id = last_game();
		// play until the one step
		let mut dgame = None;
		let mut cgame: Option<NodeGame> = None;
		loop {
			let g = Games::<Test>::get(id).unwrap();
			match g.phase {
				Phase::Graph { a, b, posted, .. } if posted.is_empty() => {
					let s: Vec<H256> = liar.graph_hashes(a, b, K).into_iter().map(H256).collect();
					assert_ok!(Arbitration::post_states(
						RuntimeOrigin::signed(10),
						id,
						BoundedVec::truncate_from(s)
					));
				}
				Phase::Graph { a, b, posted, .. } => {
					let p: Vec<[u8; 32]> = posted.iter().map(|h| h.0).collect();
					assert_ok!(Arbitration::choose(
						RuntimeOrigin::signed(CHALLENGER),
						id,
						honest.choose_graph(a, b, K, &p)
					));
				}
				Phase::Handoff { node, .. } => {
					dgame = Some(liar.node_game(node).unwrap());
					let h = liar.handoff(node, dgame.as_mut()).unwrap().encode();
					assert_ok!(Arbitration::handoff(
						RuntimeOrigin::signed(10),
						id,
						BoundedVec::truncate_from(h)
					));
				}
				Phase::Vm { a, b, posted, .. } if posted.is_empty() => {
					let s: Vec<H256> = dgame
						.as_mut()
						.unwrap()
						.hashes(a, b, K)
						.into_iter()
						.map(H256)
						.collect();
					assert_ok!(Arbitration::post_states(
						RuntimeOrigin::signed(10),
						id,
						BoundedVec::truncate_from(s)
					));
				}
				Phase::Vm {
					node, a, b, posted, ..
				} => {
					let cg = cgame.get_or_insert_with(|| honest.node_game(node).unwrap());
					let p: Vec<[u8; 32]> = posted.iter().map(|h| h.0).collect();
					assert_ok!(Arbitration::choose(
						RuntimeOrigin::signed(CHALLENGER),
						id,
						cg.choose(a, b, K, &p)
					));
				}
				Phase::OneStep { step, .. } => {
					let cg = cgame.as_ref().unwrap();
					assert_noop!(
						Arbitration::one_step(
							RuntimeOrigin::signed(CHALLENGER),
							id,
							BoundedVec::truncate_from(vec![0u8; 10])
						),
						Error::<Test>::Malformed
					);
					// a valid witness of another step
					assert_noop!(
						Arbitration::one_step(
							RuntimeOrigin::signed(CHALLENGER),
							id,
							BoundedVec::truncate_from(cg.witness(step + 1))
						),
						Error::<Test>::WitnessPreState
					);
					// anyone may post the right one
					assert_ok!(Arbitration::one_step(
						RuntimeOrigin::signed(REQUESTER),
						id,
						BoundedVec::truncate_from(cg.witness(step))
					));
					break;
				}
			}
		}
		assert_eq!(
			resolved(id).map(|r| (r.2, r.3)),
			Some((Side::Defender, Outcome::StepRefuted))
		);
	});
}

#[test]
fn governance_sets_the_audit_probability_and_resets_it() {
	use sp_runtime::Perbill;
	test(|| {
		assert_eq!(Arbitration::audit_probability(), Perbill::zero());
		assert_noop!(
			Arbitration::set_audit_probability(
				RuntimeOrigin::signed(REQUESTER),
				Some(Perbill::one())
			),
			sp_runtime::DispatchError::BadOrigin
		);
		assert_ok!(Arbitration::set_audit_probability(
			RuntimeOrigin::root(),
			Some(Perbill::from_percent(25))
		));
		assert_eq!(Arbitration::audit_probability(), Perbill::from_percent(25));
		assert!(System::events().iter().any(|r| r.event
			== RuntimeEvent::Arbitration(Event::AuditProbabilitySet {
				probability: Perbill::from_percent(25)
			})));
		// `None` returns to the runtime's constant
		AuditProbability::set(Perbill::from_percent(3));
		assert_ok!(Arbitration::set_audit_probability(
			RuntimeOrigin::root(),
			None
		));
		assert_eq!(AuditRate::<Test>::get(), None);
		assert_eq!(Arbitration::audit_probability(), Perbill::from_percent(3));
	});
}

/// With the probability set to 100 % by governance, the next block with a candidate
/// draws an audit (the constant is zero).
#[test]
fn a_governed_probability_draws_audits() {
	let w = World::new(10);
	let honest = w.honest();
	test(|| {
		let t = w.task(&[10]);
		assert_ok!(Providers::register(
			RuntimeOrigin::signed(11),
			1_000,
			BoundedVec::truncate_from(vec![Capacity {
				task_type: 0,
				units: 100
			}]),
			1,
			10
		));
		hand_in(t, &[(10, H256(honest.result_root()))]);
		assert_ok!(Arbitration::set_audit_probability(
			RuntimeOrigin::root(),
			Some(sp_runtime::Perbill::one())
		));
		// the next round seed draws it
		<Arbitration as pallet_opml_market::OnRoundSeed>::on_round_seed(H256::repeat_byte(1));
		let audits = Audits::<Test>::get();
		assert_eq!(audits.len(), 1);
		assert_eq!((audits[0].task, audits[0].auditor), (t, 11));
	});
}

/// Rounds and bytes of a dispute over an MNIST-size model (LeNet-5 on 28×28): printed
/// (`--nocapture`); the rounds are bounded here, the figures go to
/// docs/benchmarks.md.
#[test]
fn a_dispute_over_an_mnist_size_model_takes_few_rounds() {
	let m = zoo::lenet5(1);
	let w = World {
		commitment: H256(model_commitment(&m).unwrap()),
		model: Prepared::new(m).unwrap(),
		guest: Guest::builtin().unwrap(),
		input: TensorData::I8(Rng(1).i8s(28 * 28)),
	};
	let honest = w.honest();
	let mut rng = Rng(99);
	// the node with the most VM steps, then two random ones
	let steps: Vec<u64> = (1..=honest.nodes())
		.map(|j| honest.node_game(j).unwrap().steps())
		.collect();
	let heaviest = 1 + (0..steps.len()).max_by_key(|&j| steps[j]).unwrap();
	let nodes = [
		heaviest,
		1 + (rng.next_u64() % honest.nodes()) as usize,
		1 + (rng.next_u64() % honest.nodes()) as usize,
	];
	for j in nodes {
		let liar = w.liar(&honest, j, None, &mut rng);
		test(|| {
			let t = w.task(&[10]);
			hand_in(t, &[(10, H256(liar.result_root()))]);
			assert_ok!(Arbitration::challenge(
				RuntimeOrigin::signed(CHALLENGER),
				t,
				BOND
			));
			let id = last_game();
			let (loser, _, moves, bytes) = drive(id, (10, &liar), (CHALLENGER, &honest), None);
			assert_eq!(loser, Side::Defender);
			// a round = a defender's post and a challenger's choice
			let rounds = moves.div_ceil(2);
			println!(
				"lenet5 dispute at node {j} ({} VM steps): {moves} moves, {rounds} rounds, {bytes} bytes of arguments",
				steps[j - 1]
			);
			assert!(rounds <= 12, "{rounds} rounds");
		});
	}
}

/// The benchmarks' fixture (`src/bench_fixture.scale`) is a real handoff and step of
/// the current guest; regenerate with `OPML_REGENERATE=1` after a guest or format
/// change.
#[test]
fn the_benchmark_fixture_is_current() {
	use codec::Decode;
	let w = World::new(1);
	let p = w.honest();
	// the node with the most inputs
	let nodes = &w.model.model.graph.nodes;
	let i = 1
		+ (0..nodes.len())
			.max_by_key(|&j| (nodes[j].inputs.len(), j))
			.unwrap() as u64;
	let mut game = p.node_game(i).unwrap();
	let handoff = p.handoff(i, Some(&mut game)).unwrap().encode();
	let step = (0..game.steps())
		.find(|&s| {
			let wit = opml_vm::witness::StepWitness::decode(&mut &game.witness(s)[..]).unwrap();
			wit.proofs.len() == 2
		})
		.expect("a load or store");
	let fixture = BenchFixture {
		commitment: w.commitment,
		program_root: H256(w.guest.program_root()),
		node: i,
		g_prev: H256(p.graph_hash(i - 1)),
		g_node: H256(p.graph_hash(i)),
		handoff,
		pre: H256(game.state_hash(step)),
		post: H256(game.state_hash(step + 1)),
		witness: game.witness(step),
	};
	let path = format!(
		"{}/src/bench_fixture.scale",
		std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR")
	);
	if std::env::var_os("OPML_REGENERATE").is_some() {
		std::fs::write(&path, fixture.encode()).unwrap();
	}
	let stored = std::fs::read(&path).expect("fixture present (OPML_REGENERATE=1 writes it)");
	assert_eq!(
		BenchFixture::decode(&mut &stored[..]).unwrap(),
		fixture,
		"stale fixture: rerun with OPML_REGENERATE=1"
	);
	assert!(opml_dispute::one_step(&fixture.pre.0, &fixture.witness) == Ok(fixture.post.0));
}
