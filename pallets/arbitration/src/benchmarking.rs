//! Benchmarks (frame-benchmarking v2) of every call, with real game data: the handoff
//! and the one-step witness come from a small model run by the real guest
//! (`bench_fixture.scale`). Resolutions take their worst path: a result of a full pool
//! (`R` providers) is overturned, banning every revealer and re-auctioning the task.

use super::*;
use crate::pallet::Pallet as Arbitration;
use alloc::{vec, vec::Vec};
use codec::Decode;
use frame_benchmarking::v2::*;
use frame_support::{
	traits::{
		fungible::{Mutate, MutateHold},
		Get,
	},
	BoundedVec,
};
use frame_system::RawOrigin;
use pallet_opml_market::TaskSubject;
use pallet_opml_providers::{Capacity, ProviderRegistry};
use pallet_opml_submissions::{GameClock, PendingResults};
use sp_core::H256;
use sp_runtime::traits::{Bounded, Saturating};

/// Pool size of the worst-case resolutions (the runtime's `MaxRedundancy`).
const R: u32 = 8;

fn fixture() -> BenchFixture {
	BenchFixture::decode(&mut &include_bytes!("bench_fixture.scale")[..]).expect("fixture decodes")
}

fn funded<T: Config>(name: &'static str, i: u32) -> T::AccountId {
	let who: T::AccountId = account(name, i, 0);
	T::Currency::set_balance(&who, BalanceOf::<T>::max_value() / 1024u32.into());
	who
}

fn providers<T: Config>(r: u32) -> Vec<T::AccountId> {
	(0..r)
		.map(|i| {
			let who: T::AccountId = account("provider", i, 0);
			T::Providers::register_for_benchmark(
				&who,
				vec![Capacity {
					task_type: 0,
					units: 1_000_000,
				}],
				1u32.into(),
			)
			.expect("provider registers");
			who
		})
		.collect()
}

/// Make game `id` the last defence of its full pool (the last majority member defends,
/// so a loss overturns the result), with `MaxGamesPerTask` more games open on the pool
/// for the overturn to void: the worst case of a resolving move.
fn last_defence<T: Config>(id: GameId) {
	let mut g = Games::<T>::get(id).expect("game");
	let pending = T::Results::pending(g.task).expect("pending");
	let last = pending.majority.len().saturating_sub(1);
	T::Providers::end_challenge(&g.defender, g.model);
	g.defender = pending.majority[last].clone();
	g.defence = last as u32;
	T::Providers::begin_challenge(&g.defender, g.model).expect("provider");
	for i in 0..T::MaxGamesPerTask::get() {
		let other = NextGameId::<T>::get();
		NextGameId::<T>::put(other + 1);
		let c = funded::<T>("other", i);
		let mut o = g.clone();
		o.challenger = c.clone();
		T::Currency::hold(&HoldReason::ChallengeBond.into(), &c, o.bond).expect("bond");
		T::Results::dispute_opened(g.task).expect("pending");
		T::Providers::begin_challenge(&o.defender, o.model).expect("provider");
		TaskGames::<T>::insert(g.task, other, ());
		Games::<T>::insert(other, o);
	}
	Games::<T>::insert(id, g);
}

/// A pending result of a pool of `r`, and a game on it in `phase` with `turn` to move;
/// the challenger's bond is held.
fn game<T: Config>(r: u32, phase: Phase<T::Fanout>, turn: Side) -> (GameId, T::AccountId) {
	let ps = providers::<T>(r);
	let task = T::Results::pending_for_benchmark(&ps, H256::repeat_byte(1)).expect("pending");
	let pending = T::Results::pending(task).expect("pending");
	let defender = pending.defender;
	let challenger = funded::<T>("challenger", 0);
	let bond = T::MinChallengeBond::get();
	T::Currency::hold(&HoldReason::ChallengeBond.into(), &challenger, bond).expect("bond");
	T::Results::dispute_opened(task).expect("pending");
	let model = T::Tasks::subject(task).expect("assigned").model;
	T::Providers::begin_challenge(&defender, model).expect("provider");
	let f = fixture();
	let id = NextGameId::<T>::get();
	NextGameId::<T>::put(id + 1);
	TaskGames::<T>::insert(task, id, ());
	let budget = T::ClockBudget::get();
	Games::<T>::insert(
		id,
		Game {
			task,
			model,
			instance: pending.instance,
			defended: pending.result,
			defence: 0,
			k: T::Fanout::get(),
			defender: defender.clone(),
			challenger,
			bond,
			provider_challenger: false,
			commitment: f.commitment,
			program_root: f.program_root,
			phase,
			turn,
			defender_clock: budget,
			challenger_clock: budget,
			since: <T::Clock as pallet_opml_submissions::GameClock<_>>::ticks(),
			moves: 0,
		},
	);
	(id, defender)
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn challenge() {
		let ps = providers::<T>(1);
		let task = T::Results::pending_for_benchmark(&ps, H256::repeat_byte(1)).expect("pending");
		let c = funded::<T>("challenger", 0);
		let bond = T::MinChallengeBond::get();
		#[extrinsic_call]
		_(RawOrigin::Signed(c), task, bond);
		assert_eq!(TaskGames::<T>::iter_prefix(task).count(), 1);
	}

	#[benchmark]
	fn post_states(n: Linear<1, { T::Fanout::get() - 1 }>) {
		let phase = Phase::Graph {
			a: 0,
			b: u64::from(n) + 1,
			ha: H256::repeat_byte(2),
			hb: H256::repeat_byte(3),
			posted: BoundedVec::new(),
		};
		let (id, d) = game::<T>(1, phase, Side::Defender);
		let states = BoundedVec::truncate_from(vec![H256::repeat_byte(4); n as usize]);
		#[extrinsic_call]
		_(RawOrigin::Signed(d), id, states);
		assert_eq!(Games::<T>::get(id).expect("game").turn, Side::Challenger);
	}

	#[benchmark]
	fn choose() {
		let phase = Phase::Graph {
			a: 0,
			b: 2,
			ha: H256::repeat_byte(2),
			hb: H256::repeat_byte(3),
			posted: BoundedVec::truncate_from(vec![H256::repeat_byte(4)]),
		};
		let (id, _) = game::<T>(1, phase, Side::Challenger);
		let c = Games::<T>::get(id).expect("game").challenger;
		#[extrinsic_call]
		_(RawOrigin::Signed(c), id, 1);
		assert!(matches!(
			Games::<T>::get(id).expect("game").phase,
			Phase::Handoff { .. }
		));
	}

	/// A real handoff: node descriptor, input and weight proofs, output and final state.
	#[benchmark]
	fn handoff() {
		let f = fixture();
		let phase = Phase::Handoff {
			node: f.node,
			g_prev: f.g_prev,
			g_node: f.g_node,
		};
		let (id, d) = game::<T>(1, phase, Side::Defender);
		let data = BoundedVec::truncate_from(f.handoff);
		#[extrinsic_call]
		_(RawOrigin::Signed(d), id, data);
		assert!(matches!(
			Games::<T>::get(id).expect("game").phase,
			Phase::Vm { .. } | Phase::OneStep { .. }
		));
	}

	/// A real two-proof step that refutes the last defender of a full pool (the result
	/// is overturned, the pool's other games voided).
	#[benchmark]
	fn one_step() {
		let f = fixture();
		let mut wrong = f.post;
		wrong.0[0] ^= 1;
		let phase = Phase::OneStep {
			node: f.node,
			step: 0,
			pre: f.pre,
			post: wrong,
		};
		let (id, _) = game::<T>(R, phase, Side::Challenger);
		last_defence::<T>(id);
		let caller = funded::<T>("anyone", 0);
		let witness = BoundedVec::truncate_from(f.witness);
		#[extrinsic_call]
		_(RawOrigin::Signed(caller), id, witness);
		assert!(Games::<T>::get(id).is_none());
	}

	/// The last defender of a full pool runs out of time (the result is overturned, the
	/// pool's other games voided).
	#[benchmark]
	fn timeout() {
		let phase = Phase::Graph {
			a: 0,
			b: 2,
			ha: H256::repeat_byte(2),
			hb: H256::repeat_byte(3),
			posted: BoundedVec::new(),
		};
		let (id, _) = game::<T>(R, phase, Side::Defender);
		last_defence::<T>(id);
		// clocks run on blocks with room (H3)
		T::Clock::advance_for_benchmark(T::ClockBudget::get().saturating_add(1u32.into()));
		let caller = funded::<T>("anyone", 0);
		#[extrinsic_call]
		_(RawOrigin::Signed(caller), id);
		assert!(Games::<T>::get(id).is_none());
	}

	#[benchmark]
	fn confirm_audit() {
		// the last of a full list, on a pending result whose escrow pays the reward
		let ps = providers::<T>(1);
		let task = T::Results::pending_for_benchmark(&ps, H256::repeat_byte(1)).expect("pending");
		let instance = T::Results::pending(task).expect("pending").instance;
		let auditor = funded::<T>("auditor", 0);
		let due = T::Clock::ticks() + T::AuditPeriod::get();
		let mut audits: Vec<AuditOf<T>> = (0..T::MaxAudits::get() - 1)
			.map(|i| Audit {
				task: 5_000 + u64::from(i),
				instance: 0,
				auditor: auditor.clone(),
				due,
			})
			.collect();
		audits.push(Audit {
			task,
			instance,
			auditor: auditor.clone(),
			due,
		});
		Audits::<T>::put(BoundedVec::truncate_from(audits));
		T::Results::dispute_opened(task).expect("pending");
		T::Providers::add_exposure(&auditor);
		#[extrinsic_call]
		_(RawOrigin::Signed(auditor), task);
		assert_eq!(Audits::<T>::get().len() as u32, T::MaxAudits::get() - 1);
	}

	#[benchmark]
	fn set_audit_probability() -> Result<(), BenchmarkError> {
		use frame_support::traits::EnsureOrigin;
		use sp_runtime::Perbill;
		let origin =
			T::AdminOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;
		#[extrinsic_call]
		_(origin as T::RuntimeOrigin, Some(Perbill::one()));
		assert_eq!(AuditRate::<T>::get(), Some(Perbill::one()));
		Ok(())
	}

	/// A round seed with no candidate: nothing is drawn.
	#[benchmark]
	fn audit_miss() {
		#[block]
		{
			Arbitration::<T>::draw_audits(H256::repeat_byte(3));
		}
	}

	/// Drawing audits from a round seed: a full candidate list of pending results
	/// (each audited at probability 1), many eligible providers.
	#[benchmark]
	fn audit_draw() {
		let ps = providers::<T>(1);
		let c: Vec<u64> = (0..T::MaxAudits::get())
			.map(|_| T::Results::pending_for_benchmark(&ps, H256::repeat_byte(1)).expect("pending"))
			.collect();
		AuditCandidates::<T>::put(BoundedVec::truncate_from(c.clone()));
		AuditRate::<T>::put(sp_runtime::Perbill::one());
		for i in 1..32u32 {
			let who: T::AccountId = account("eligible", i, 0);
			let _ = T::Providers::register_for_benchmark(
				&who,
				vec![Capacity {
					task_type: 0,
					units: 1,
				}],
				1u32.into(),
			);
		}
		#[block]
		{
			Arbitration::<T>::draw_audits(H256::repeat_byte(3));
		}
		assert!(Audits::<T>::get().iter().any(|a| a.task == c[0]));
	}

	impl_benchmark_test_suite!(Arbitration, crate::mock::new_test_ext(), crate::mock::Test);
}
