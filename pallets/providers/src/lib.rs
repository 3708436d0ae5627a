//! # pallet-opml-providers
//!
//! Compute providers of the OPML market (DESIGN.md §7): they register with a bond held
//! on their own balance ([`HoldReason::ProviderBond`]), declare a capacity per task
//! type (model), a unit cost and a benchmarked power term, and leave through an
//! unbonding period longer than the longest challenge window.
//!
//! Other pallets use the [`ProviderRegistry`] trait: the market reads offers of
//! eligible providers; the arbitration pallet bars a provider from a model while a
//! game over a task of that model is open against it (its other models still trade:
//! docs/security.md M8), slashes losers and bans providers that lost a dispute ("removed with
//! prejudice": no new trades, bond slashed by [`Config::BanSlash`], the account can
//! never register again).
//!
//! A provider is offered tasks only while its bond covers `MinBond` plus
//! `ExposureBond` per task it holds, and cannot withdraw while it holds any (its
//! results can still be disputed): see docs/security.md (C4, C5, M5).
//!
//! ## Calls
//! - [`Pallet::register`], [`Pallet::update`], [`Pallet::bond_extra`],
//!   [`Pallet::unbond`], [`Pallet::withdraw`]: all signed by the provider.
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;
pub use types::*;
pub use weights::WeightInfo;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
mod impls;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;
pub mod types;
pub mod weights;

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use frame_support::{
		pallet_prelude::*,
		traits::fungible::{Inspect, InspectHold, Mutate, MutateHold},
	};
	use frame_system::pallet_prelude::*;
	use sp_runtime::Perbill;

	/// Balance type of the currency.
	pub type BalanceOf<T> =
		<<T as Config>::Currency as Inspect<<T as frame_system::Config>::AccountId>>::Balance;
	/// A provider record of this runtime.
	pub type ProviderOf<T> =
		ProviderInfo<BalanceOf<T>, BlockNumberFor<T>, <T as Config>::MaxTaskTypes>;

	#[pallet::pallet]
	pub struct Pallet<T>(_);

	/// Why this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// A provider's bond.
		ProviderBond,
	}

	#[pallet::config]
	pub trait Config: frame_system::Config<RuntimeEvent: From<Event<Self>>> {
		/// The currency bonds are held in.
		type Currency: Inspect<Self::AccountId>
			+ Mutate<Self::AccountId>
			+ InspectHold<Self::AccountId, Reason = Self::RuntimeHoldReason>
			+ MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;
		/// The runtime's hold reasons.
		type RuntimeHoldReason: From<HoldReason>;
		/// Smallest bond a provider may register with.
		#[pallet::constant]
		type MinBond: Get<BalanceOf<Self>>;
		/// Blocks between `unbond` and `withdraw`.
		#[pallet::constant]
		type UnbondingPeriod: Get<BlockNumberFor<Self>>;
		/// The longest challenge window of any result (the unbonding period must exceed
		/// it, so a provider cannot leave before its last result can be disputed).
		#[pallet::constant]
		type MaxChallengeWindow: Get<BlockNumberFor<Self>>;
		/// Bond a provider needs above `MinBond` for each task it holds (assigned, or
		/// its result not yet final) to be offered more: what it can lose on them.
		#[pallet::constant]
		type ExposureBond: Get<BalanceOf<Self>>;
		/// Most task types one provider may declare.
		#[pallet::constant]
		type MaxTaskTypes: Get<u32>;
		/// Most registered providers (bounds every iteration over them).
		#[pallet::constant]
		type MaxProviders: Get<u32>;
		/// Fraction of the bond slashed when a provider is banned.
		#[pallet::constant]
		type BanSlash: Get<Perbill>;
		/// Where slashed funds that do not go to a beneficiary go: `Some(account)` (a
		/// treasury) or `None` (burned).
		type SlashDestination: Get<Option<Self::AccountId>>;
		/// Weights.
		type WeightInfo: WeightInfo;
	}

	/// Registered providers.
	#[pallet::storage]
	pub type Providers<T: Config> = StorageMap<_, Blake2_128Concat, T::AccountId, ProviderOf<T>>;

	/// Active providers in registration order (what the auction iterates). Unbonding
	/// and banned providers leave it, so their slots go to new providers.
	#[pallet::storage]
	pub type ProviderList<T: Config> =
		StorageValue<_, BoundedVec<T::AccountId, T::MaxProviders>, ValueQuery>;

	/// Accounts banned for good, with the block of the ban.
	#[pallet::storage]
	pub type Banned<T: Config> = StorageMap<_, Blake2_128Concat, T::AccountId, BlockNumberFor<T>>;

	/// Games open against a provider per model (task type): while any is, its offer
	/// leaves that model's capacity out (docs/security.md M8); its other models still
	/// trade. One entry per provider and disputed model, each held up by an open game
	/// (whose challenger's or providers' bonds pay for it); the counts add up to the
	/// provider's `open_challenges`.
	#[pallet::storage]
	pub type Barred<T: Config> =
		StorageDoubleMap<_, Blake2_128Concat, T::AccountId, Twox64Concat, u32, u32, ValueQuery>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A provider registered.
		Registered {
			/// The provider.
			who: T::AccountId,
			/// Its bond.
			bond: BalanceOf<T>,
		},
		/// A provider changed its capacity, unit cost or power.
		Updated {
			/// The provider.
			who: T::AccountId,
		},
		/// A provider added to its bond.
		Bonded {
			/// The provider.
			who: T::AccountId,
			/// Amount added.
			amount: BalanceOf<T>,
			/// The bond now.
			bond: BalanceOf<T>,
		},
		/// A provider left the market; its bond is withdrawable from `until`.
		Unbonding {
			/// The provider.
			who: T::AccountId,
			/// First block of `withdraw`.
			until: BlockNumberFor<T>,
		},
		/// A provider withdrew its bond and is deregistered.
		Withdrawn {
			/// The provider.
			who: T::AccountId,
			/// Amount released.
			amount: BalanceOf<T>,
		},
		/// A game against a provider opened (the model is barred for it while its games on
		/// that model are open).
		ChallengeOpened {
			/// The provider.
			who: T::AccountId,
			/// The model of the disputed task: barred for the provider while open.
			model: u32,
			/// Games open against it now (all models).
			open: u32,
		},
		/// A game against a provider closed.
		ChallengeClosed {
			/// The provider.
			who: T::AccountId,
			/// The model of the disputed task.
			model: u32,
			/// Games open against it now (all models).
			open: u32,
		},
		/// A provider's bond was slashed.
		Slashed {
			/// The provider.
			who: T::AccountId,
			/// Total slashed.
			amount: BalanceOf<T>,
			/// Who received part of it.
			beneficiary: Option<T::AccountId>,
			/// The beneficiary's part.
			to_beneficiary: BalanceOf<T>,
		},
		/// A provider was removed with prejudice.
		Banned {
			/// The provider.
			who: T::AccountId,
		},
	}

	#[pallet::error]
	pub enum Error<T> {
		/// The account is already a provider.
		AlreadyRegistered,
		/// The account is not a provider.
		NotRegistered,
		/// The account was banned and may never register again.
		BannedAccount,
		/// The bond is below `MinBond`.
		BondTooLow,
		/// The free balance cannot cover the bond.
		InsufficientBalance,
		/// No capacity declared, a capacity of zero units, or a task type twice.
		InvalidCapacity,
		/// `MaxProviders` providers are registered already.
		TooManyProviders,
		/// The provider is not active (unbonding or banned).
		NotActive,
		/// The provider is not unbonding or banned.
		NotUnbonding,
		/// The unbonding period has not ended yet.
		StillUnbonding,
		/// A dispute game against the provider is still open.
		UnderChallenge,
		/// An amount of zero.
		ZeroAmount,
		/// The provider still holds assigned tasks or results that can be disputed.
		StillAssigned,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn integrity_test() {
			assert!(
				T::UnbondingPeriod::get() > T::MaxChallengeWindow::get(),
				"the unbonding period must be longer than the longest challenge window"
			);
			assert!(T::MaxTaskTypes::get() > 0 && T::MaxProviders::get() > 0);
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Register as a provider.
		///
		/// - `origin`: signed by the provider's account (never banned, not registered).
		/// - `bond`: held on the caller's balance; at least `MinBond`.
		/// - `capacity`: units per round for each task type (distinct types, units ≥ 1,
		///   at most `MaxTaskTypes` entries).
		/// - `unit_cost`: asking price per unit of work.
		/// - `power`: benchmarked power term (ranks the provider in the auction).
		///
		/// Emits [`Event::Registered`].
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::register())]
		pub fn register(
			origin: OriginFor<T>,
			bond: BalanceOf<T>,
			capacity: BoundedVec<Capacity, T::MaxTaskTypes>,
			unit_cost: BalanceOf<T>,
			power: u32,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_register(who, bond, capacity, unit_cost, power)
		}

		/// Replace the caller's capacity, unit cost and power term.
		///
		/// - `origin`: signed by an active provider.
		/// - `capacity`, `unit_cost`, `power`: as in [`Pallet::register`].
		///
		/// Emits [`Event::Updated`].
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::update())]
		pub fn update(
			origin: OriginFor<T>,
			capacity: BoundedVec<Capacity, T::MaxTaskTypes>,
			unit_cost: BalanceOf<T>,
			power: u32,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_update(who, capacity, unit_cost, power)
		}

		/// Add `amount` to the caller's bond.
		///
		/// - `origin`: signed by an active provider.
		/// - `amount`: held on the caller's balance; non-zero.
		///
		/// Emits [`Event::Bonded`].
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::bond_extra())]
		pub fn bond_extra(origin: OriginFor<T>, amount: BalanceOf<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_bond_extra(who, amount)
		}

		/// Leave the market: no new trades from now on; the bond becomes withdrawable
		/// after `UnbondingPeriod` blocks.
		///
		/// - `origin`: signed by an active provider.
		///
		/// Emits [`Event::Unbonding`].
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::unbond())]
		pub fn unbond(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_unbond(who)
		}

		/// Release the bond and deregister.
		///
		/// - `origin`: signed by an unbonding (or banned) provider whose unbonding period
		///   has ended, against whom no game is open and who holds no task whose result
		///   is not final yet.
		///
		/// Emits [`Event::Withdrawn`].
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::withdraw())]
		pub fn withdraw(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_withdraw(who)
		}
	}
}
