//! Unit tests: every call, every error path, the registry trait; invariants checked
//! after each test (`mock::test`).

use crate::{
	mock::*,
	pallet::{Banned, Event, HoldReason, ProviderList, Providers as ProviderMap},
	types::*,
	Error,
};
use frame_support::{assert_noop, assert_ok, traits::fungible::InspectHold, BoundedVec};
use sp_runtime::Perbill;

fn cap(v: &[(u32, u32)]) -> BoundedVec<Capacity, frame_support::traits::ConstU32<4>> {
	v.iter()
		.map(|&(t, u)| Capacity {
			task_type: t,
			units: u,
		})
		.collect::<Vec<_>>()
		.try_into()
		.unwrap()
}

fn held(who: u64) -> u64 {
	Balances::balance_on_hold(&HoldReason::ProviderBond.into(), &who)
}

fn reg(who: u64, bond: u64) {
	assert_ok!(Providers::register(
		RuntimeOrigin::signed(who),
		bond,
		cap(&[(0, 10)]),
		5,
		100
	));
}

fn last_event() -> RuntimeEvent {
	System::events().pop().expect("an event").event
}

#[test]
fn register_holds_the_bond() {
	test(|| {
		reg(1, 500);
		assert_eq!(held(1), 500);
		assert_eq!(Balances::free_balance(1), 9_500);
		let p = ProviderMap::<Test>::get(1).unwrap();
		assert_eq!(p.status, Status::Active);
		assert_eq!(ProviderList::<Test>::get().into_inner(), vec![1]);
		assert_eq!(
			last_event(),
			RuntimeEvent::Providers(Event::Registered { who: 1, bond: 500 })
		);
	});
}

#[test]
fn register_errors_leave_state_untouched() {
	test(|| {
		let o = || RuntimeOrigin::signed(1);
		assert_noop!(
			Providers::register(o(), 99, cap(&[(0, 1)]), 1, 1),
			Error::<Test>::BondTooLow
		);
		assert_noop!(
			Providers::register(o(), 100, cap(&[]), 1, 1),
			Error::<Test>::InvalidCapacity
		);
		assert_noop!(
			Providers::register(o(), 100, cap(&[(0, 0)]), 1, 1),
			Error::<Test>::InvalidCapacity
		);
		assert_noop!(
			Providers::register(o(), 100, cap(&[(3, 1), (3, 2)]), 1, 1),
			Error::<Test>::InvalidCapacity
		);
		assert_noop!(
			Providers::register(o(), 20_000, cap(&[(0, 1)]), 1, 1),
			Error::<Test>::InsufficientBalance
		);
		reg(1, 100);
		assert_noop!(
			Providers::register(o(), 100, cap(&[(0, 1)]), 1, 1),
			Error::<Test>::AlreadyRegistered
		);
		for a in 2..=8 {
			reg(a, 100);
		}
		assert_noop!(
			Providers::register(RuntimeOrigin::signed(9), 100, cap(&[(0, 1)]), 1, 1),
			Error::<Test>::TooManyProviders
		);
	});
}

#[test]
fn update_and_bond_extra() {
	test(|| {
		assert_noop!(
			Providers::update(RuntimeOrigin::signed(1), cap(&[(1, 2)]), 7, 3),
			Error::<Test>::NotRegistered
		);
		reg(1, 100);
		assert_ok!(Providers::update(
			RuntimeOrigin::signed(1),
			cap(&[(1, 2), (2, 4)]),
			7,
			3
		));
		let p = ProviderMap::<Test>::get(1).unwrap();
		assert_eq!((p.capacity.len(), p.unit_cost, p.power), (2, 7, 3));
		assert_noop!(
			Providers::update(RuntimeOrigin::signed(1), cap(&[]), 7, 3),
			Error::<Test>::InvalidCapacity
		);
		assert_noop!(
			Providers::bond_extra(RuntimeOrigin::signed(1), 0),
			Error::<Test>::ZeroAmount
		);
		assert_noop!(
			Providers::bond_extra(RuntimeOrigin::signed(1), 1_000_000),
			Error::<Test>::InsufficientBalance
		);
		assert_ok!(Providers::bond_extra(RuntimeOrigin::signed(1), 50));
		assert_eq!(held(1), 150);
		assert_eq!(
			last_event(),
			RuntimeEvent::Providers(Event::Bonded {
				who: 1,
				amount: 50,
				bond: 150
			})
		);
	});
}

#[test]
fn unbond_then_withdraw_after_the_period() {
	test(|| {
		reg(1, 300);
		assert_noop!(
			Providers::withdraw(RuntimeOrigin::signed(1)),
			Error::<Test>::NotUnbonding
		);
		assert_ok!(Providers::unbond(RuntimeOrigin::signed(1)));
		assert_eq!(
			last_event(),
			RuntimeEvent::Providers(Event::Unbonding { who: 1, until: 21 })
		);
		assert!(!Providers::is_eligible(&1));
		assert_noop!(
			Providers::unbond(RuntimeOrigin::signed(1)),
			Error::<Test>::NotActive
		);
		assert_noop!(
			Providers::update(RuntimeOrigin::signed(1), cap(&[(0, 1)]), 1, 1),
			Error::<Test>::NotActive
		);
		assert_noop!(
			Providers::bond_extra(RuntimeOrigin::signed(1), 5),
			Error::<Test>::NotActive
		);
		System::set_block_number(20);
		assert_noop!(
			Providers::withdraw(RuntimeOrigin::signed(1)),
			Error::<Test>::StillUnbonding
		);
		System::set_block_number(21);
		assert_ok!(Providers::withdraw(RuntimeOrigin::signed(1)));
		assert_eq!(held(1), 0);
		assert_eq!(Balances::free_balance(1), 10_000);
		assert!(ProviderMap::<Test>::get(1).is_none());
		assert!(ProviderList::<Test>::get().is_empty());
		assert_noop!(
			Providers::withdraw(RuntimeOrigin::signed(1)),
			Error::<Test>::NotRegistered
		);
		assert_noop!(
			Providers::unbond(RuntimeOrigin::signed(2)),
			Error::<Test>::NotRegistered
		);
	});
}

/// M8: a game bars its defender from the disputed model only; withdrawal waits for
/// every game.
#[test]
fn m8_challenges_bar_the_disputed_model_and_withdrawal() {
	test(|| {
		assert_ok!(Providers::register(
			RuntimeOrigin::signed(1),
			300,
			cap(&[(0, 10), (1, 4)]),
			5,
			100
		));
		reg(2, 300);
		assert_eq!(Providers::eligible(), vec![1, 2]);
		assert_ok!(Providers::begin_challenge(&1, 0));
		assert_ok!(Providers::begin_challenge(&1, 0));
		// still trades model 1; model 0 is left out of its offer
		assert!(Providers::is_eligible(&1));
		let types = |w: u64| -> Vec<u32> {
			Providers::offer(&w)
				.map(|o| o.capacity.iter().map(|c| c.task_type).collect())
				.unwrap_or_default()
		};
		assert_eq!(types(1), vec![1]);
		assert_eq!(types(2), vec![0]);
		assert_eq!(crate::pallet::Barred::<Test>::get(1, 0), 2);
		assert_ok!(Providers::unbond(RuntimeOrigin::signed(1)));
		System::set_block_number(30);
		assert_noop!(
			Providers::withdraw(RuntimeOrigin::signed(1)),
			Error::<Test>::UnderChallenge
		);
		Providers::end_challenge(&1, 0);
		assert_noop!(
			Providers::withdraw(RuntimeOrigin::signed(1)),
			Error::<Test>::UnderChallenge
		);
		Providers::end_challenge(&1, 0);
		assert!(!crate::pallet::Barred::<Test>::contains_key(1, 0));
		assert_eq!(
			last_event(),
			RuntimeEvent::Providers(Event::ChallengeClosed {
				who: 1,
				model: 0,
				open: 0
			})
		);
		assert_ok!(Providers::withdraw(RuntimeOrigin::signed(1)));
		assert!(Providers::begin_challenge(&7, 0).is_err());
		let o = Providers::offer(&2).unwrap();
		assert_eq!((o.unit_cost, o.power, o.capacity.len()), (5, 100, 1));
	});
}

#[test]
fn slash_pays_the_beneficiary_and_burns_the_rest() {
	test(|| {
		reg(1, 1_000);
		let issuance = Balances::total_issuance();
		let s = Providers::slash(&1, 400, Some(&2), Perbill::from_percent(25));
		assert_eq!(s, 400);
		assert_eq!(held(1), 600);
		assert_eq!(Providers::bond(&1), 600);
		assert_eq!(Balances::free_balance(2), 10_100);
		assert_eq!(Balances::total_issuance(), issuance - 300);
		assert_eq!(
			last_event(),
			RuntimeEvent::Providers(Event::Slashed {
				who: 1,
				amount: 400,
				beneficiary: Some(2),
				to_beneficiary: 100
			})
		);
		// more than the bond: capped
		assert_eq!(Providers::slash(&1, 10_000, None, Perbill::one()), 600);
		assert_eq!(held(1), 0);
		assert_eq!(Providers::slash(&5, 10, None, Perbill::one()), 0);
	});
}

#[test]
fn slash_to_treasury_when_configured() {
	test(|| {
		SlashTo::set(Some(TREASURY));
		reg(1, 1_000);
		let issuance = Balances::total_issuance();
		Providers::slash(&1, 500, None, Perbill::zero());
		assert_eq!(Balances::free_balance(TREASURY), 1_500);
		assert_eq!(Balances::total_issuance(), issuance);
		SlashTo::set(None);
	});
}

#[test]
fn ban_slashes_bars_and_forbids_reregistration() {
	test(|| {
		reg(1, 1_000);
		Providers::ban(&1, Some(&3), Perbill::from_percent(50));
		// BanSlash is 50 %: 500 slashed, 250 to the beneficiary
		assert_eq!(held(1), 500);
		assert_eq!(Balances::free_balance(3), 10_250);
		assert!(!Providers::is_eligible(&1));
		assert!(Banned::<Test>::contains_key(1));
		assert_eq!(
			last_event(),
			RuntimeEvent::Providers(Event::Banned { who: 1 })
		);
		assert_noop!(
			Providers::update(RuntimeOrigin::signed(1), cap(&[(0, 1)]), 1, 1),
			Error::<Test>::NotActive
		);
		// the rest is withdrawable after the unbonding period
		System::set_block_number(21);
		assert_ok!(Providers::withdraw(RuntimeOrigin::signed(1)));
		assert_eq!(Balances::free_balance(1), 9_500);
		assert_noop!(
			Providers::register(RuntimeOrigin::signed(1), 100, cap(&[(0, 1)]), 1, 1),
			Error::<Test>::BannedAccount
		);
	});
}

#[test]
fn integrity_test_passes() {
	new_test_ext().execute_with(|| {
		use frame_support::traits::Hooks;
		<Providers as Hooks<u64>>::integrity_test();
	});
}

#[test]
fn c4_eligibility_needs_min_bond_plus_exposure() {
	test(|| {
		// MinBond 100, ExposureBond 10 in the mock
		reg(1, 120);
		assert!(Providers::is_eligible(&1));
		Providers::add_exposure(&1);
		Providers::add_exposure(&1);
		assert!(Providers::is_eligible(&1), "120 covers 100 + 2 × 10");
		Providers::add_exposure(&1);
		assert!(
			!Providers::is_eligible(&1),
			"120 does not cover 100 + 3 × 10"
		);
		assert!(Providers::offer(&1).is_none());
		assert_ok!(Providers::bond_extra(RuntimeOrigin::signed(1), 10));
		assert!(Providers::is_eligible(&1));
		// a slash below the requirement bars it until it tops up
		Providers::slash(&1, 50, None, Perbill::zero());
		assert!(!Providers::is_eligible(&1));
		assert!(Providers::eligible().is_empty());
	});
}

#[test]
fn c4_a_slash_is_never_paid_to_the_slashed_account() {
	test(|| {
		reg(1, 200);
		let free = Balances::free_balance(1);
		let slashed = Providers::slash(&1, 50, Some(&1), Perbill::one());
		assert_eq!(slashed, 50);
		assert_eq!(Balances::free_balance(1), free, "nothing came back to 1");
		assert_eq!(held(1), 150);
	});
}

#[test]
fn c5_no_withdrawal_while_tasks_are_held() {
	test(|| {
		reg(1, 100);
		Providers::add_exposure(&1);
		assert_ok!(Providers::unbond(RuntimeOrigin::signed(1)));
		System::set_block_number(100);
		assert_noop!(
			Providers::withdraw(RuntimeOrigin::signed(1)),
			Error::<Test>::StillAssigned
		);
		Providers::remove_exposure(&1);
		assert_ok!(Providers::withdraw(RuntimeOrigin::signed(1)));
		assert_eq!(held(1), 0);
	});
}

#[test]
fn m5_unbonding_and_banned_providers_leave_the_list() {
	test(|| {
		// MaxProviders 8 in the mock
		for p in 1..=8 {
			reg(p, 100);
		}
		assert_noop!(
			Providers::register(RuntimeOrigin::signed(9), 100, cap(&[(0, 1)]), 1, 1),
			Error::<Test>::TooManyProviders
		);
		Providers::ban(&1, None, Perbill::zero());
		assert_ok!(Providers::unbond(RuntimeOrigin::signed(2)));
		reg(9, 100);
		reg(10, 100);
		assert_eq!(ProviderList::<Test>::get().len(), 8);
		assert!(!ProviderList::<Test>::get().contains(&1));
		assert!(!ProviderList::<Test>::get().contains(&2));
	});
}
