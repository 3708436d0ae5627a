//! Types of pallet-opml-providers and the trait other pallets use.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::{pallet_prelude::*, BoundedVec};
use scale_info::TypeInfo;
use sp_runtime::{DispatchResult, Perbill};

/// A task type: a registered model's id (pallet-opml-market).
pub type TaskType = u32;

/// Capacity for one task type: how many units of that type's work the provider
/// offers per auction round.
#[derive(
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
	MaxEncodedLen,
)]
pub struct Capacity {
	/// The task type (model id).
	pub task_type: TaskType,
	/// Units offered per round (at least 1).
	pub units: u32,
}

/// A provider's lifecycle state.
#[derive(
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
	MaxEncodedLen,
)]
pub enum Status<BlockNumber> {
	/// Offers capacity in auctions.
	Active,
	/// Left the market; the bond can be withdrawn from this block on (once no game
	/// against the provider is open).
	Unbonding(BlockNumber),
	/// Removed with prejudice (lost a dispute): never trades again; what is left of the
	/// bond can be withdrawn from this block on (once no game is open).
	Banned(BlockNumber),
}

/// A registered provider.
#[derive(
	Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
#[scale_info(skip_type_params(MaxTypes))]
pub struct ProviderInfo<Balance, BlockNumber, MaxTypes: Get<u32>> {
	/// Bonded stake, held on the provider's balance (`HoldReason::ProviderBond`).
	pub bond: Balance,
	/// Capacity per task type (distinct types).
	pub capacity: BoundedVec<Capacity, MaxTypes>,
	/// Asking price per unit of work (`q_j` of the auction).
	pub unit_cost: Balance,
	/// Benchmarked power term `Ψ_j` (higher is more capable; ranks the provider).
	pub power: u32,
	/// Lifecycle state.
	pub status: Status<BlockNumber>,
	/// Dispute games currently open against the provider (it cannot withdraw while > 0;
	/// each bars the disputed model: [`crate::pallet::Barred`]).
	pub open_challenges: u32,
	/// Tasks assigned to the provider that are not settled or re-auctioned yet
	/// (including results inside their challenge window): the bond cannot be withdrawn
	/// while this is non-zero, and each one needs `ExposureBond` of bond above
	/// `MinBond` to stay eligible.
	pub exposure: u32,
}

/// What a provider offers to the auction (see [`ProviderRegistry::offer`]).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Offer<Balance> {
	/// Capacity per task type.
	pub capacity: sp_runtime::Vec<Capacity>,
	/// Asking price per unit.
	pub unit_cost: Balance,
	/// Power term.
	pub power: u32,
}

/// What the market and arbitration pallets need from the provider registry.
pub trait ProviderRegistry<AccountId> {
	/// The balance type.
	type Balance;

	/// Providers that may trade now (active, bond at least `MinBond`
	/// plus `ExposureBond` per open assignment), in registration order.
	fn eligible() -> sp_runtime::Vec<AccountId>;
	/// Whether `who` may trade now.
	fn is_eligible(who: &AccountId) -> bool;
	/// `who`'s offer, if `who` may trade now.
	fn offer(who: &AccountId) -> Option<Offer<Self::Balance>>;
	/// The bond currently held for `who`.
	fn bond(who: &AccountId) -> Self::Balance;
	/// A game against `who` over a task of `model` opened: bar it from new trades of
	/// that model (only: docs/security.md M8) until every such game closes.
	fn begin_challenge(who: &AccountId, model: u32) -> DispatchResult;
	/// A game against `who` over a task of `model` closed.
	fn end_challenge(who: &AccountId, model: u32);
	/// `who` was assigned a task: its bond stays held until [`Self::remove_exposure`].
	fn add_exposure(who: &AccountId);
	/// A task assigned to `who` was settled or taken back.
	fn remove_exposure(who: &AccountId);
	/// Whether `who` was banned.
	fn is_banned(who: &AccountId) -> bool;
	/// Slash up to `amount` of `who`'s bond: `beneficiary_share` of it to
	/// `beneficiary` (if any, and never `who` itself), the rest to the configured
	/// destination (burn or treasury). Returns the amount actually slashed.
	fn slash(
		who: &AccountId,
		amount: Self::Balance,
		beneficiary: Option<&AccountId>,
		beneficiary_share: Perbill,
	) -> Self::Balance;
	/// Remove `who` with prejudice: slash the configured fraction of its bond (share to
	/// `beneficiary`), never let it trade or register again.
	fn ban(who: &AccountId, beneficiary: Option<&AccountId>, beneficiary_share: Perbill);

	/// Benchmarks of other pallets: register `who` (funding it) with `capacity`.
	#[cfg(feature = "runtime-benchmarks")]
	fn register_for_benchmark(
		who: &AccountId,
		capacity: sp_runtime::Vec<Capacity>,
		unit_cost: Self::Balance,
	) -> DispatchResult;
}
