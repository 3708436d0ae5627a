//! The pallet's logic and its [`ProviderRegistry`] implementation.

use crate::{pallet::*, types::*};
use alloc::vec::Vec;
use frame_support::{
	pallet_prelude::*,
	traits::{
		fungible::{InspectHold, MutateHold},
		tokens::{Fortitude, Precision, Restriction},
	},
};
use frame_system::pallet_prelude::BlockNumberFor;
use sp_runtime::{
	traits::{Saturating, Zero},
	Perbill,
};

impl<T: Config> Pallet<T> {
	fn check_capacity(capacity: &[Capacity]) -> DispatchResult {
		ensure!(!capacity.is_empty(), Error::<T>::InvalidCapacity);
		for (i, c) in capacity.iter().enumerate() {
			ensure!(c.units > 0, Error::<T>::InvalidCapacity);
			ensure!(
				!capacity[..i].iter().any(|d| d.task_type == c.task_type),
				Error::<T>::InvalidCapacity
			);
		}
		Ok(())
	}

	fn hold(who: &T::AccountId, amount: BalanceOf<T>) -> DispatchResult {
		T::Currency::hold(&HoldReason::ProviderBond.into(), who, amount)
			.map_err(|_| Error::<T>::InsufficientBalance.into())
	}

	pub(crate) fn do_register(
		who: T::AccountId,
		bond: BalanceOf<T>,
		capacity: BoundedVec<Capacity, T::MaxTaskTypes>,
		unit_cost: BalanceOf<T>,
		power: u32,
	) -> DispatchResult {
		ensure!(!Banned::<T>::contains_key(&who), Error::<T>::BannedAccount);
		ensure!(
			!Providers::<T>::contains_key(&who),
			Error::<T>::AlreadyRegistered
		);
		ensure!(bond >= T::MinBond::get(), Error::<T>::BondTooLow);
		Self::check_capacity(&capacity)?;
		let mut list = ProviderList::<T>::get();
		list.try_push(who.clone())
			.map_err(|_| Error::<T>::TooManyProviders)?;
		Self::hold(&who, bond)?;
		ProviderList::<T>::put(list);
		Providers::<T>::insert(
			&who,
			ProviderInfo {
				bond,
				capacity,
				unit_cost,
				power,
				status: Status::Active,
				open_challenges: 0,
				exposure: 0,
			},
		);
		Self::deposit_event(Event::Registered { who, bond });
		Ok(())
	}

	pub(crate) fn do_update(
		who: T::AccountId,
		capacity: BoundedVec<Capacity, T::MaxTaskTypes>,
		unit_cost: BalanceOf<T>,
		power: u32,
	) -> DispatchResult {
		Self::check_capacity(&capacity)?;
		Providers::<T>::try_mutate(&who, |p| -> DispatchResult {
			let p = p.as_mut().ok_or(Error::<T>::NotRegistered)?;
			ensure!(p.status == Status::Active, Error::<T>::NotActive);
			p.capacity = capacity;
			p.unit_cost = unit_cost;
			p.power = power;
			Ok(())
		})?;
		Self::deposit_event(Event::Updated { who });
		Ok(())
	}

	pub(crate) fn do_bond_extra(who: T::AccountId, amount: BalanceOf<T>) -> DispatchResult {
		ensure!(!amount.is_zero(), Error::<T>::ZeroAmount);
		let bond = Providers::<T>::try_mutate(&who, |p| -> Result<BalanceOf<T>, DispatchError> {
			let p = p.as_mut().ok_or(Error::<T>::NotRegistered)?;
			ensure!(p.status == Status::Active, Error::<T>::NotActive);
			Self::hold(&who, amount)?;
			p.bond = p.bond.saturating_add(amount);
			Ok(p.bond)
		})?;
		Self::deposit_event(Event::Bonded { who, amount, bond });
		Ok(())
	}

	pub(crate) fn do_unbond(who: T::AccountId) -> DispatchResult {
		let until =
			frame_system::Pallet::<T>::block_number().saturating_add(T::UnbondingPeriod::get());
		Providers::<T>::try_mutate(&who, |p| -> DispatchResult {
			let p = p.as_mut().ok_or(Error::<T>::NotRegistered)?;
			ensure!(p.status == Status::Active, Error::<T>::NotActive);
			p.status = Status::Unbonding(until);
			Ok(())
		})?;
		// only active providers take a slot of the list (M5)
		Self::unlist(&who);
		Self::deposit_event(Event::Unbonding { who, until });
		Ok(())
	}

	pub(crate) fn do_withdraw(who: T::AccountId) -> DispatchResult {
		let p = Providers::<T>::get(&who).ok_or(Error::<T>::NotRegistered)?;
		let until = match p.status {
			Status::Unbonding(u) | Status::Banned(u) => u,
			Status::Active => return Err(Error::<T>::NotUnbonding.into()),
		};
		ensure!(
			frame_system::Pallet::<T>::block_number() >= until,
			Error::<T>::StillUnbonding
		);
		ensure!(p.open_challenges == 0, Error::<T>::UnderChallenge);
		ensure!(p.exposure == 0, Error::<T>::StillAssigned);
		let held = T::Currency::balance_on_hold(&HoldReason::ProviderBond.into(), &who);
		let amount = T::Currency::release(
			&HoldReason::ProviderBond.into(),
			&who,
			held,
			Precision::BestEffort,
		)?;
		Providers::<T>::remove(&who);
		Self::unlist(&who);
		Self::deposit_event(Event::Withdrawn { who, amount });
		Ok(())
	}

	/// Move up to `amount` of `who`'s held bond to `dest` (or burn it when `dest` is
	/// `None` or cannot receive it). Returns the amount moved or burned.
	fn take_held(
		who: &T::AccountId,
		amount: BalanceOf<T>,
		dest: Option<&T::AccountId>,
	) -> BalanceOf<T> {
		if amount.is_zero() {
			return Zero::zero();
		}
		let reason: T::RuntimeHoldReason = HoldReason::ProviderBond.into();
		if let Some(d) = dest {
			if let Ok(moved) = T::Currency::transfer_on_hold(
				&reason,
				who,
				d,
				amount,
				Precision::BestEffort,
				Restriction::Free,
				Fortitude::Force,
			) {
				return moved;
			}
		}
		T::Currency::burn_held(
			&reason,
			who,
			amount,
			Precision::BestEffort,
			Fortitude::Force,
		)
		.unwrap_or_else(|_| Zero::zero())
	}

	pub(crate) fn do_slash(
		who: &T::AccountId,
		amount: BalanceOf<T>,
		beneficiary: Option<&T::AccountId>,
		share: Perbill,
	) -> BalanceOf<T> {
		let Some(mut p) = Providers::<T>::get(who) else {
			return Zero::zero();
		};
		let amount = amount.min(p.bond);
		// a slash is never paid to the slashed account itself (C4)
		let beneficiary = beneficiary.filter(|b| *b != who);
		let to_b = if beneficiary.is_some() {
			share * amount
		} else {
			Zero::zero()
		};
		let dest = T::SlashDestination::get();
		let paid = Self::take_held(who, to_b, beneficiary);
		let rest = Self::take_held(who, amount.saturating_sub(paid), dest.as_ref());
		let slashed = paid.saturating_add(rest);
		p.bond = p.bond.saturating_sub(slashed);
		Providers::<T>::insert(who, p);
		Self::deposit_event(Event::Slashed {
			who: who.clone(),
			amount: slashed,
			beneficiary: beneficiary.cloned(),
			to_beneficiary: paid,
		});
		slashed
	}

	/// Take `who` off the provider list (if it is there).
	fn unlist(who: &T::AccountId) {
		ProviderList::<T>::mutate(|l| l.retain(|a| a != who));
	}

	/// The bond `p` needs to be offered new tasks: `MinBond` plus `ExposureBond` for
	/// each task it holds.
	pub fn required_bond(p: &ProviderOf<T>) -> BalanceOf<T> {
		T::MinBond::get().saturating_add(T::ExposureBond::get().saturating_mul(p.exposure.into()))
	}

	/// Whether `p` may be offered new tasks: active, bond at least
	/// [`Self::required_bond`] (a slashed provider tops up with `bond_extra`). A
	/// provider with open games still trades the models not under dispute (M8).
	fn may_trade(p: &ProviderOf<T>) -> bool {
		p.status == Status::Active && p.bond >= Self::required_bond(p)
	}

	/// Invariants: every provider's `bond` equals its held balance; the list holds
	/// exactly the active providers, each once; capacities are valid; per-model bars
	/// add up to the open challenges; banned accounts are not active; every listed
	/// provider is registered.
	pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
		let list = ProviderList::<T>::get();
		let mut count = 0u32;
		for (who, p) in Providers::<T>::iter() {
			if p.status == Status::Active {
				count += 1;
			}
			let held = T::Currency::balance_on_hold(&HoldReason::ProviderBond.into(), &who);
			ensure!(
				held == p.bond,
				"provider bond differs from its held balance"
			);
			let listed = list.iter().filter(|a| **a == who).count();
			ensure!(
				listed == usize::from(p.status == Status::Active),
				"active provider not listed once, or inactive provider listed"
			);
			ensure!(
				Self::check_capacity(&p.capacity).is_ok(),
				"invalid capacity stored"
			);
			let barred = Barred::<T>::iter_prefix_values(&who).fold(0u32, u32::saturating_add);
			ensure!(
				barred == p.open_challenges,
				"per-model bars do not add up to the open challenges"
			);
			if Banned::<T>::contains_key(&who) {
				ensure!(
					matches!(p.status, Status::Banned(_)),
					"banned account still active"
				);
			}
		}
		ensure!(count as usize == list.len(), "list and providers differ");
		Ok(())
	}
}

impl<T: Config> ProviderRegistry<T::AccountId> for Pallet<T> {
	type Balance = BalanceOf<T>;

	fn eligible() -> Vec<T::AccountId> {
		ProviderList::<T>::get()
			.into_iter()
			.filter(Self::is_eligible)
			.collect()
	}

	fn is_eligible(who: &T::AccountId) -> bool {
		Providers::<T>::get(who)
			.map(|p| Self::may_trade(&p))
			.unwrap_or(false)
	}

	fn offer(who: &T::AccountId) -> Option<Offer<BalanceOf<T>>> {
		Providers::<T>::get(who)
			.filter(Self::may_trade)
			.map(|p| Offer {
				// a model under dispute is left out (M8)
				capacity: p
					.capacity
					.into_inner()
					.into_iter()
					.filter(|c| {
						p.open_challenges == 0 || !Barred::<T>::contains_key(who, c.task_type)
					})
					.collect(),
				unit_cost: p.unit_cost,
				power: p.power,
			})
	}

	fn bond(who: &T::AccountId) -> BalanceOf<T> {
		Providers::<T>::get(who)
			.map(|p| p.bond)
			.unwrap_or_else(Zero::zero)
	}

	fn begin_challenge(who: &T::AccountId, model: u32) -> DispatchResult {
		let open = Providers::<T>::try_mutate(who, |p| -> Result<u32, DispatchError> {
			let p = p.as_mut().ok_or(Error::<T>::NotRegistered)?;
			p.open_challenges = p.open_challenges.saturating_add(1);
			Ok(p.open_challenges)
		})?;
		Barred::<T>::mutate(who, model, |n| *n = n.saturating_add(1));
		Self::deposit_event(Event::ChallengeOpened {
			who: who.clone(),
			model,
			open,
		});
		Ok(())
	}

	fn end_challenge(who: &T::AccountId, model: u32) {
		let open = Providers::<T>::mutate(who, |p| {
			p.as_mut().map(|p| {
				p.open_challenges = p.open_challenges.saturating_sub(1);
				p.open_challenges
			})
		});
		Barred::<T>::mutate_exists(who, model, |n| {
			*n = n.map(|n| n.saturating_sub(1)).filter(|n| *n > 0);
		});
		if let Some(open) = open {
			Self::deposit_event(Event::ChallengeClosed {
				who: who.clone(),
				model,
				open,
			});
		}
	}

	fn add_exposure(who: &T::AccountId) {
		Providers::<T>::mutate(who, |p| {
			if let Some(p) = p.as_mut() {
				p.exposure = p.exposure.saturating_add(1);
			}
		});
	}

	fn remove_exposure(who: &T::AccountId) {
		Providers::<T>::mutate(who, |p| {
			if let Some(p) = p.as_mut() {
				p.exposure = p.exposure.saturating_sub(1);
			}
		});
	}

	fn is_banned(who: &T::AccountId) -> bool {
		Banned::<T>::contains_key(who)
	}

	fn slash(
		who: &T::AccountId,
		amount: BalanceOf<T>,
		beneficiary: Option<&T::AccountId>,
		beneficiary_share: Perbill,
	) -> BalanceOf<T> {
		Self::do_slash(who, amount, beneficiary, beneficiary_share)
	}

	fn ban(who: &T::AccountId, beneficiary: Option<&T::AccountId>, beneficiary_share: Perbill) {
		let now: BlockNumberFor<T> = frame_system::Pallet::<T>::block_number();
		Banned::<T>::insert(who, now);
		let Some(p) = Providers::<T>::get(who) else {
			Self::deposit_event(Event::Banned { who: who.clone() });
			return;
		};
		Self::do_slash(
			who,
			T::BanSlash::get() * p.bond,
			beneficiary,
			beneficiary_share,
		);
		Providers::<T>::mutate(who, |p| {
			if let Some(p) = p.as_mut() {
				p.status = Status::Banned(now.saturating_add(T::UnbondingPeriod::get()));
			}
		});
		// a banned account never trades again: its slot of the list is freed (M5)
		Self::unlist(who);
		Self::deposit_event(Event::Banned { who: who.clone() });
	}

	#[cfg(feature = "runtime-benchmarks")]
	fn register_for_benchmark(
		who: &T::AccountId,
		capacity: Vec<Capacity>,
		unit_cost: BalanceOf<T>,
	) -> DispatchResult {
		use frame_support::traits::fungible::Mutate;
		use sp_runtime::traits::Bounded;
		T::Currency::set_balance(who, BalanceOf::<T>::max_value() / 1024u32.into());
		let capacity = BoundedVec::try_from(capacity).map_err(|_| Error::<T>::InvalidCapacity)?;
		Self::do_register(who.clone(), T::MinBond::get(), capacity, unit_cost, 100)
	}
}
