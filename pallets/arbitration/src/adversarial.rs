//! The adversarial simulation of issue 20 (`docs/security.md`): seeded random runs over
//! the real providers, market, submissions and arbitration pallets wired as in the
//! runtime, with the real VM and guest. Each run has honest providers, a Sybil cluster
//! (up to a third of the bonded stake) that lies, stalls and dissents, griefing
//! requesters (shortest deadlines, cancellations), stalling challengers that dispute
//! correct results and never move, one honest verifier, random tasks and re-auctions,
//! and block stuffing: bursts of up to 30 full blocks in which no honest commit, reveal,
//! seed reveal, game move or challenge gets in (the attackers' own calls, timeouts
//! included, still do), and finality stalls of up to 40 blocks in which the honest
//! daemons (which act on finalized blocks) see nothing (M3). Round seeds (H2): Sybils withhold their secret now and then.
//! Audits (M2): a fifth of the elected results are audited; honest auditors confirm or
//! challenge, Sybil auditors ignore theirs (slashed) or confirm without computing.
//! After every block it checks:
//!
//! - every pallet's `try_state`;
//! - no honest provider is banned or slashed (its bond is what it registered with);
//! - no wrong result is final (the honest verifier watches every result);
//! - issuance only falls by what the balances pallet reports burned;
//! - no task sits without progress for more than [`STALL_BOUND`] blocks with room.
//!
//! `OPML_ADVERSARIAL_RUNS` (default 500) and `OPML_ADVERSARIAL_BLOCKS` (default 200)
//! size it; `OPML_ADVERSARIAL_SEED` replays one run. A failure names its seed.

use crate::{mock::*, pallet::*, tests::*, types::*};
use frame_support::BoundedVec;
use opml_dispute::party::{NodeGame, Party};
use opml_nn::zoo::Rng;
use opml_primitives_core::commitment::result_commitment;
use pallet_opml_market::{TaskId, TaskInput, TaskStatus};
use sp_core::H256;
use std::collections::BTreeMap;

/// Blocks with room (the game clock: stuffed blocks, and blocks while finality lags,
/// do not count: H3, M3) a task may go
/// without any change of its market status, pool instance or pool phase. The longest
/// quiet stretch is a challenged pending result whose whole majority of 4 defends in
/// turn: 4 × 2 × `ClockBudget` (10) plus the window.
const STALL_BOUND: u64 = 100;

const VERIFIER: u64 = CHALLENGER;
const GRIEFER: u64 = 4;
const HONEST: [u64; 6] = [10, 11, 12, 13, 14, 15];
const STALLERS: [u64; 3] = [30, 31, 32];

fn env(name: &str, default: u64) -> u64 {
	std::env::var(name)
		.ok()
		.and_then(|v| v.parse().ok())
		.unwrap_or(default)
}

/// What a Sybil does in a run.
#[derive(Clone, Copy, Debug)]
struct Sybil {
	/// Reveals the lie (else the correct root: it hides until it holds a majority).
	lies: bool,
	/// Commits at all (else a no-show: penalized at the deadline).
	shows_up: bool,
	/// Makes its moves in games (else it lets its clock run out).
	plays: bool,
}

struct Sim<'a> {
	seed: u64,
	rng: Rng,
	honest: &'a Party<'a>,
	liar: &'a Party<'a>,
	good: H256,
	bad: H256,
	input_root: H256,
	sybils: BTreeMap<u64, Sybil>,
	/// Node games by (game, account): the defence passes, so accounts change.
	node_games: BTreeMap<(GameId, u64), (u64, NodeGame)>,
	/// Per task: the last (status, instance, phase) seen and when it changed.
	progress: BTreeMap<TaskId, (u64, u64)>,
	burned: u64,
	issuance: u64,
	/// Percent chance per block that a stuffing burst starts.
	stuff_rate: u64,
	/// Blocks of the current burst left (this block is full while > 0).
	stuffing: u64,
	/// Whether the last block was stuffed.
	stuffed_last: bool,
	/// Percent chance per block that a finality stall starts.
	stall_rate: u64,
	/// Blocks of the current finality stall left (honest daemons, which act on
	/// finalized blocks, see nothing while > 0).
	stalling: u64,
	/// Whether the last block was stalled.
	stalled_last: bool,
	stats: Stats,
}

/// What the runs did, summed (printed: the attacks must actually happen).
#[derive(Default, Debug)]
struct Stats {
	submitted: u64,
	final_results: u64,
	games_resolved: u64,
	defences_passed: u64,
	games_voided: u64,
	overturned: u64,
	no_majority: u64,
	sybils_banned: u64,
	deadlines_missed: u64,
	stuffed_blocks: u64,
	stalled_blocks: u64,
	windows_extended: u64,
	seeds_withheld: u64,
	audits: u64,
	audits_missed: u64,
	seed_windows_extended: u64,
}

impl<'a> Sim<'a> {
	fn chance(&mut self, percent: u64) -> bool {
		self.rng.next_u64() % 100 < percent
	}

	fn fail(&self, what: String) -> ! {
		panic!(
			"adversarial run failed at block {} (replay: OPML_ADVERSARIAL_SEED={}): {what}",
			System::block_number(),
			self.seed
		)
	}

	/// Whether honest calls cannot get in this block: it is stuffed, or finality
	/// stalls (the honest daemons act on finalized blocks only).
	fn blocked(&self) -> bool {
		self.stuffing > 0 || self.stalling > 0
	}

	/// Finality stalls (M3): a stall of 1..=40 blocks starts now and then (not during
	/// stuffing, nor in the block after a burst or a stall): the blocks' authors note
	/// the block before it as finalized, so clocks and windows stop once the lag passes
	/// the mock's `MaxFinalityLag` (1, below the shortest window: a 2-block deadline);
	/// the honest daemons see nothing until it ends.
	fn stall(&mut self) {
		if self.stalling == 0 {
			// the last block was not stalled (or the stall ended with it): final
			crate::mock::FINALIZED_STALLED_AT.with(|f| f.set(None));
		}
		if self.stalling == 0
			&& !self.stalled_last
			&& self.stuffing == 0
			&& !self.stuffed_last
			&& self.stall_rate > 0
			&& self.chance(self.stall_rate)
		{
			self.stalling = 1 + self.rng.next_u64() % 40;
			let finalized = System::block_number() - 1;
			crate::mock::FINALIZED_STALLED_AT.with(|f| f.set(Some(finalized)));
		}
		if self.stalling > 0 {
			self.stats.stalled_blocks += 1;
		}
	}

	/// After a block: one block of the stall is over (finality catches up in the
	/// first block after it).
	fn stall_done(&mut self) {
		self.stalled_last = self.stalling > 0;
		self.stalling = self.stalling.saturating_sub(1);
	}

	fn is_honest(who: u64) -> bool {
		HONEST.contains(&who) || who == VERIFIER
	}

	/// Block stuffing (H3): a burst of 1..=30 full blocks starts now and then (not in
	/// a finality stall, nor in the block right after one or after a burst: a run of full blocks longer than the mock's
	/// `MaxWindowExtension`, 50, is the documented residual, not simulated); the
	/// current block is filled while one lasts.
	fn stuff(&mut self) {
		if !self.blocked()
			&& !self.stuffed_last
			&& !self.stalled_last
			&& self.stuff_rate > 0
			&& self.chance(self.stuff_rate)
		{
			self.stuffing = 1 + self.rng.next_u64() % 30;
		}
		self.stuffed_last = self.stuffing > 0;
		if self.stuffing > 0 {
			crate::security_tests::stuff();
			self.stats.stuffed_blocks += 1;
		}
	}

	/// Requesters submit tasks: the griefer with the shortest deadline.
	fn submit(&mut self) {
		if !self.chance(30) {
			return;
		}
		let (who, deadline) = if self.chance(40) {
			(GRIEFER, 2)
		} else {
			(REQUESTER, 3 + self.rng.next_u64() % 8)
		};
		let r = 1 + (self.rng.next_u64() % 4) as u8;
		let _ = Market::submit_task(
			RuntimeOrigin::signed(who),
			0,
			TaskInput::Root(self.input_root),
			1,
			1_000,
			r,
			deadline,
		);
		if who == GRIEFER && self.chance(20) {
			// the griefer cancels whatever of its tasks is still open
			for (t, info) in pallet_opml_market::Tasks::<Test>::iter() {
				if info.requester == GRIEFER && info.status == TaskStatus::Open {
					let _ = Market::cancel_task(RuntimeOrigin::signed(GRIEFER), t);
				}
			}
		}
	}

	/// Providers commit as soon as they are assigned and reveal when the window opens.
	fn hand_in(&mut self) {
		let now = System::block_number();
		let pools: Vec<_> = pallet_opml_submissions::Pools::<Test>::iter().collect();
		for (t, pool) in pools {
			if !matches!(pool.phase, pallet_opml_submissions::Phase::Collecting) {
				continue;
			}
			for e in pool.entries.iter() {
				let (root, shows) = match self.sybils.get(&e.who) {
					Some(s) => (if s.lies { self.bad } else { self.good }, s.shows_up),
					None => (self.good, true),
				};
				if !shows {
					continue;
				}
				let salt = [e.who as u8; 32];
				if e.commitment.is_none() && now < pool.commit_end && !self.blocked() {
					let c = result_commitment(t, &e.who, &root.0, &salt);
					let r = Submissions::commit(RuntimeOrigin::signed(e.who), t, H256(c));
					if r.is_err() && Self::is_honest(e.who) {
						self.fail(format!("honest commit of {} on {t} failed: {r:?}", e.who));
					}
				}
				if e.commitment.is_some()
					&& !self.blocked()
					&& e.reveal == pallet_opml_submissions::Reveal::None
					&& now >= pool.commit_end
					&& now < pool.reveal_end
				{
					let r = Submissions::reveal(RuntimeOrigin::signed(e.who), t, root, salt);
					if r.is_err() && Self::is_honest(e.who) {
						self.fail(format!("honest reveal of {} on {t} failed: {r:?}", e.who));
					}
				}
			}
		}
	}

	/// The honest verifier challenges every wrong pending result once; stallers
	/// challenge correct ones now and then and never move.
	fn challenge(&mut self) {
		if self.blocked() {
			return;
		}
		let pending: Vec<(TaskId, H256)> = pallet_opml_submissions::Pools::<Test>::iter()
			.filter_map(|(t, p)| match p.phase {
				pallet_opml_submissions::Phase::Pending { result, until, .. }
					if System::block_number() < until =>
				{
					Some((t, result))
				}
				_ => None,
			})
			.collect();
		for (t, result) in pending {
			let mine = TaskGames::<Test>::iter_key_prefix(t)
				.filter_map(Games::<Test>::get)
				.any(|g| g.challenger == VERIFIER);
			if result != self.good && !mine {
				// the bond the defender's strikes call for (M8), as the worker reads it
				let bond = Arbitration::challenge_bond(t, VERIFIER).unwrap_or(BOND);
				let r = Arbitration::challenge(RuntimeOrigin::signed(VERIFIER), t, bond);
				if r.is_err() {
					self.fail(format!("the verifier's challenge on {t} failed: {r:?}"));
				}
			}
			if result == self.good && self.chance(10) {
				let s = STALLERS[(self.rng.next_u64() % 3) as usize];
				// each lost challenge makes the next against the defender dearer (M8)
				let bond = Arbitration::challenge_bond(t, s).unwrap_or(BOND);
				let _ = Arbitration::challenge(RuntimeOrigin::signed(s), t, bond);
			}
		}
	}

	/// Audits (M2): an honest auditor confirms a correct result and challenges a
	/// wrong one (unless the block is stuffed); a Sybil auditor ignores its audit half
	/// the time (and is slashed) and otherwise confirms without computing.
	fn audits(&mut self) {
		for a in Audits::<Test>::get() {
			let result = match pallet_opml_submissions::Pools::<Test>::get(a.task).map(|p| p.phase)
			{
				Some(pallet_opml_submissions::Phase::Pending { result, .. }) => result,
				_ => continue,
			};
			if Self::is_honest(a.auditor) {
				if self.blocked() {
					continue;
				}
				let r = if result == self.good {
					Arbitration::confirm_audit(RuntimeOrigin::signed(a.auditor), a.task)
				} else {
					Arbitration::challenge(RuntimeOrigin::signed(a.auditor), a.task, BOND)
				};
				if r.is_err() {
					self.fail(format!("honest auditor {} on {}: {r:?}", a.auditor, a.task));
				}
			} else if self.chance(50) {
				let _ = Arbitration::confirm_audit(RuntimeOrigin::signed(a.auditor), a.task);
			}
		}
	}

	/// The party an account plays with, if it moves at all.
	fn party_of(&self, who: u64, side: Side, g: &GameOf<Test>) -> Option<&'a Party<'a>> {
		if STALLERS.contains(&who) {
			return None;
		}
		if let Some(s) = self.sybils.get(&who) {
			if !s.plays {
				return None;
			}
			// a Sybil argues for the root it stands for in this game
			let claims_good = match side {
				Side::Defender => g.defended == self.good,
				Side::Challenger => g.defended != self.good,
			};
			return Some(if claims_good { self.honest } else { self.liar });
		}
		Some(self.honest)
	}

	/// One move in every game whose side to move plays; anyone times out the rest.
	fn play(&mut self) {
		let ids: Vec<GameId> = Games::<Test>::iter_keys().collect();
		for id in ids {
			let Some(g) = Games::<Test>::get(id) else {
				continue;
			};
			let who = match g.turn {
				Side::Defender => g.defender,
				Side::Challenger => g.challenger,
			};
			let clock = match g.turn {
				Side::Defender => g.defender_clock,
				Side::Challenger => g.challenger_clock,
			};
			if pallet_opml_submissions::Ticks::<Test>::get() - g.since > clock {
				// the stuffer's own timeouts get in
				let _ = Arbitration::timeout(RuntimeOrigin::signed(GRIEFER), id);
				continue;
			}
			let Some(party) = self.party_of(who, g.turn, &g) else {
				continue;
			};
			if self.blocked() && !self.sybils.contains_key(&who) {
				continue; // an honest (or staller's) move cannot get in
			}
			if let Err(e) = self.move_once(id, &g, who, party) {
				if Self::is_honest(who) {
					self.fail(format!("honest move of {who} in game {id} failed: {e:?}"));
				}
			}
		}
	}

	fn node_game(&mut self, id: GameId, who: u64, node: u64, party: &Party) -> &mut NodeGame {
		let fresh = self.node_games.get(&(id, who)).map(|(n, _)| *n) != Some(node);
		if fresh {
			let ng = party.node_game(node).expect("node game");
			self.node_games.insert((id, who), (node, ng));
		}
		&mut self.node_games.get_mut(&(id, who)).expect("just set").1
	}

	fn move_once(
		&mut self,
		id: GameId,
		g: &GameOf<Test>,
		who: u64,
		party: &Party,
	) -> sp_runtime::DispatchResult {
		let o = RuntimeOrigin::signed(who);
		match &g.phase {
			Phase::Graph { a, b, posted, .. } if posted.is_empty() => {
				let s = party.graph_hashes(*a, *b, K).into_iter().map(H256);
				Arbitration::post_states(o, id, BoundedVec::truncate_from(s.collect::<Vec<_>>()))
			}
			Phase::Graph { a, b, posted, .. } => {
				let p: Vec<[u8; 32]> = posted.iter().map(|h| h.0).collect();
				Arbitration::choose(o, id, party.choose_graph(*a, *b, K, &p))
			}
			Phase::Handoff { node, .. } => {
				let h = if *node <= party.nodes() {
					let ng = self.node_game(id, who, *node, party);
					party.handoff(*node, Some(ng))
				} else {
					party.handoff(*node, None)
				};
				let h = codec::Encode::encode(&h.expect("handoff"));
				Arbitration::handoff(o, id, BoundedVec::truncate_from(h))
			}
			Phase::Vm {
				node, a, b, posted, ..
			} if posted.is_empty() => {
				let s = self.node_game(id, who, *node, party).hashes(*a, *b, K);
				let s: Vec<H256> = s.into_iter().map(H256).collect();
				Arbitration::post_states(o, id, BoundedVec::truncate_from(s))
			}
			Phase::Vm {
				node, a, b, posted, ..
			} => {
				let p: Vec<[u8; 32]> = posted.iter().map(|h| h.0).collect();
				let c = self.node_game(id, who, *node, party).choose(*a, *b, K, &p);
				Arbitration::choose(o, id, c)
			}
			Phase::OneStep { node, step, .. } => {
				let w = self.node_game(id, who, *node, party).witness(*step);
				Arbitration::one_step(o, id, BoundedVec::truncate_from(w))
			}
		}
	}

	/// Round seeds (H2): honest providers commit and reveal unless the block is
	/// stuffed; a Sybil withholds its secret in about one round in six (steering the
	/// seed, or griefing the round: it pays `SeedPenalty` each time) and gets its calls
	/// in whatever the block.
	fn seeds(&mut self) {
		let stuffed = self.blocked();
		let round = pallet_opml_market::CurrentRound::<Test>::get().map(|r| r.index);
		let sim_seed = self.seed;
		let sybils = &self.sybils;
		Market::honest_seed_moves(|w| {
			if sybils.contains_key(w) {
				let h = sp_io::hashing::blake2_256(&codec::Encode::encode(&(sim_seed, round, *w)));
				!h[0].is_multiple_of(6)
			} else {
				!stuffed
			}
		});
	}

	/// The invariants after a block.
	fn check(&mut self) {
		// progress is measured in blocks with room: stuffing stops the clocks (H3)
		let now = pallet_opml_submissions::Ticks::<Test>::get();
		let r = Arbitration::do_try_state()
			.and_then(|_| Submissions::do_try_state())
			.and_then(|_| Market::do_try_state())
			.and_then(|_| Providers::do_try_state());
		if let Err(e) = r {
			self.fail(format!("try_state: {e:?}"));
		}
		for p in HONEST {
			if banned(p) {
				self.fail(format!("honest provider {p} banned"));
			}
			let bond = pallet_opml_providers::Providers::<Test>::get(p).map(|i| i.bond);
			if bond != Some(1_000) {
				self.fail(format!("honest provider {p} slashed: bond {bond:?}"));
			}
		}
		for (t, r) in pallet_opml_submissions::Results::<Test>::iter() {
			if r.result != self.good {
				self.fail(format!("wrong result final on task {t}"));
			}
		}
		use pallet_opml_submissions::Event as S;
		for e in System::events() {
			match e.event {
				RuntimeEvent::Balances(
					pallet_balances::Event::BurnedHeld { amount, .. }
					| pallet_balances::Event::Burned { amount, .. },
				) => self.burned += amount,
				RuntimeEvent::Market(pallet_opml_market::Event::TaskSubmitted { .. }) => {
					self.stats.submitted += 1
				}
				RuntimeEvent::Market(pallet_opml_market::Event::DeadlineMissed { .. }) => {
					self.stats.deadlines_missed += 1
				}
				RuntimeEvent::Market(pallet_opml_market::Event::SeedWithheld { .. }) => {
					self.stats.seeds_withheld += 1
				}
				RuntimeEvent::Arbitration(Event::AuditAssigned { .. }) => self.stats.audits += 1,
				RuntimeEvent::Arbitration(Event::AuditMissed { .. }) => {
					self.stats.audits_missed += 1
				}
				RuntimeEvent::Market(pallet_opml_market::Event::SeedRevealExtended { .. }) => {
					self.stats.seed_windows_extended += 1
				}
				RuntimeEvent::Submissions(S::ResultFinal { .. }) => self.stats.final_results += 1,
				RuntimeEvent::Submissions(S::ResultOverturned { .. }) => self.stats.overturned += 1,
				RuntimeEvent::Submissions(S::NoMajority { .. }) => self.stats.no_majority += 1,
				RuntimeEvent::Submissions(
					S::RevealExtended { .. } | S::ChallengeWindowExtended { .. },
				)
				| RuntimeEvent::Market(pallet_opml_market::Event::DeadlineExtended { .. }) => {
					self.stats.windows_extended += 1
				}
				RuntimeEvent::Arbitration(Event::GameResolved { .. }) => {
					self.stats.games_resolved += 1
				}
				RuntimeEvent::Arbitration(Event::DefencePassed { .. }) => {
					self.stats.defences_passed += 1
				}
				RuntimeEvent::Arbitration(Event::GameVoided { .. }) => self.stats.games_voided += 1,
				RuntimeEvent::Providers(pallet_opml_providers::Event::Banned { .. }) => {
					self.stats.sybils_banned += 1
				}
				_ => {}
			}
		}
		System::reset_events();
		let issuance = Balances::total_issuance();
		if issuance + self.burned != self.issuance {
			self.fail(format!(
				"issuance {issuance} + burned {} != initial {}",
				self.burned, self.issuance
			));
		}
		for (t, task) in pallet_opml_market::Tasks::<Test>::iter() {
			let pool = pallet_opml_submissions::Pools::<Test>::get(t);
			let state = codec::Encode::encode(&(
				codec::Encode::encode(&task.status),
				pool.as_ref().map(|p| p.instance),
				pool.as_ref().map(|p| codec::Encode::encode(&p.phase)),
				TaskGames::<Test>::iter_key_prefix(t).count() as u32,
			));
			let key = u64::from_le_bytes(sp_io::hashing::twox_64(&state));
			let since = match self.progress.get(&t) {
				Some((k, since)) if *k == key => *since,
				_ => now,
			};
			self.progress.insert(t, (key, since));
			if now - since > STALL_BOUND {
				self.fail(format!(
					"task {t} without progress since {since} (blocks with room; now {now}): \
					 {:?}, pool {:?}",
					task.status,
					pool.map(|p| (p.commit_end, p.reveal_end, p.phase))
				));
			}
		}
	}
}

fn one_run(seed: u64, blocks: u64, w: &World, stats: &mut Stats) {
	let honest = w.honest();
	let mut rng = Rng(seed ^ 0x5eed);
	let (liar, _) = w.random_liar(&honest, &mut rng);
	test(|| {
		let program = H256(w.guest.program_root());
		frame_support::assert_ok!(crate::tests::register_model(
			OWNER,
			&w.model.model,
			program,
			b"m"
		));
		// up to a third of the bonded stake: 0..=3 Sybils beside 6 honest providers
		let n_sybils = rng.next_u64() % 4;
		let mut sybils = BTreeMap::new();
		for i in 0..n_sybils {
			let s = Sybil {
				lies: !rng.next_u64().is_multiple_of(4),
				shows_up: !rng.next_u64().is_multiple_of(5),
				plays: rng.next_u64().is_multiple_of(2),
			};
			sybils.insert(20 + i, s);
		}
		for p in HONEST {
			register(p, 0, 1_000, 1);
		}
		for p in sybils.keys() {
			// Sybils ask nothing or little: under stake-weighted seat draws (H2) that buys
			// no seats
			register(*p, 0, 1_000, rng.next_u64() % 2);
		}
		let rng_pick = rng.next_u64();
		let mut sim = Sim {
			seed,
			rng,
			honest: &honest,
			liar: &liar,
			good: H256(honest.result_root()),
			bad: H256(liar.result_root()),
			input_root: H256(opml_nn::commit::tensor_root(&w.input.to_bytes()).0),
			sybils,
			node_games: BTreeMap::new(),
			progress: BTreeMap::new(),
			burned: 0,
			issuance: Balances::total_issuance(),
			stuff_rate: [0, 2, 5][(rng_pick % 3) as usize],
			stuffing: 0,
			stuffed_last: false,
			stall_rate: [0, 1, 3][(rng_pick / 3 % 3) as usize],
			stalling: 0,
			stalled_last: false,
			stats: Stats::default(),
		};
		crate::mock::MANUAL_SEEDS.with(|m| m.set(true));
		// audits drawn at every round seed for a fifth of the elected results
		AuditProbability::set(sp_runtime::Perbill::from_percent(20));
		for _ in 0..blocks {
			run_to(System::block_number() + 1);
			sim.stall();
			sim.stuff();
			sim.seeds();
			sim.audits();
			sim.submit();
			sim.hand_in();
			sim.challenge();
			sim.play();
			sim.check();
			sim.stuffing = sim.stuffing.saturating_sub(1);
			sim.stall_done();
		}
		crate::mock::FINALIZED_STALLED_AT.with(|f| f.set(None));
		let s = &sim.stats;
		stats.submitted += s.submitted;
		stats.final_results += s.final_results;
		stats.games_resolved += s.games_resolved;
		stats.defences_passed += s.defences_passed;
		stats.games_voided += s.games_voided;
		stats.overturned += s.overturned;
		stats.no_majority += s.no_majority;
		stats.sybils_banned += s.sybils_banned;
		stats.deadlines_missed += s.deadlines_missed;
		stats.stuffed_blocks += s.stuffed_blocks;
		stats.stalled_blocks += s.stalled_blocks;
		stats.windows_extended += s.windows_extended;
		stats.seeds_withheld += s.seeds_withheld;
		stats.audits += s.audits;
		stats.audits_missed += s.audits_missed;
		stats.seed_windows_extended += s.seed_windows_extended;
	});
}

/// Half of the runs (even or odd seeds): the two halves run on two test threads.
fn adversarial_runs(half: u64) {
	let blocks = env("OPML_ADVERSARIAL_BLOCKS", 200);
	let seeds: Vec<u64> = match std::env::var("OPML_ADVERSARIAL_SEED") {
		Ok(s) => {
			let seed: u64 = s.parse().expect("a seed");
			if seed % 2 != half {
				return;
			}
			vec![seed]
		}
		Err(_) => (0..env("OPML_ADVERSARIAL_RUNS", 500))
			.filter(|s| s % 2 == half)
			.collect(),
	};
	// a few worlds (model, input) shared by the runs
	let worlds: Vec<World> = (0..4).map(|i| World::new(2 * i)).collect();
	let started = std::time::Instant::now();
	let mut stats = Stats::default();
	for &seed in &seeds {
		one_run(seed, blocks, &worlds[(seed % 4) as usize], &mut stats);
	}
	println!(
		"{} adversarial runs of {blocks} blocks in {:.1} s: {stats:?}",
		seeds.len(),
		started.elapsed().as_secs_f64()
	);
	if seeds.len() >= 20 {
		// the runs must exercise what they check
		assert!(stats.overturned > 0 && stats.defences_passed > 0 && stats.final_results > 0);
		assert!(stats.games_resolved > 0 && stats.sybils_banned > 0);
		assert!(stats.stuffed_blocks > 0 && stats.windows_extended > 0);
		assert!(stats.stalled_blocks > 0);
		assert!(stats.seeds_withheld > 0 && stats.seed_windows_extended > 0);
		assert!(stats.audits > 0);
	}
}

#[test]
fn adversarial_runs_keep_honest_providers_whole_and_lies_unfinal_even_seeds() {
	adversarial_runs(0);
}

#[test]
fn adversarial_runs_keep_honest_providers_whole_and_lies_unfinal_odd_seeds() {
	adversarial_runs(1);
}
