//! Pallet configurations of the OPML runtime.

use frame_support::{
	derive_impl,
	dispatch::DispatchClass,
	parameter_types,
	traits::{ConstBool, ConstU128, ConstU32, ConstU64, ConstU8, VariantCountOf},
	weights::{
		constants::{ParityDbWeight, WEIGHT_REF_TIME_PER_SECOND},
		ConstantMultiplier, IdentityFee, Weight,
	},
};
use frame_system::limits::{BlockLength, BlockWeights};
use pallet_transaction_payment::{FungibleAdapter, Multiplier, TargetedFeeAdjustment};
use sp_consensus_aura::sr25519::AuthorityId as AuraId;
use sp_runtime::{
	traits::{Bounded, One},
	FixedPointNumber, Perbill, Perquintill,
};
use sp_version::RuntimeVersion;

use super::{
	AccountId, Aura, Balance, Balances, Block, BlockNumber, Hash, Nonce, OriginCaller, PalletInfo,
	Runtime, RuntimeCall, RuntimeEvent, RuntimeFreezeReason, RuntimeHoldReason, RuntimeOrigin,
	RuntimeTask, System, BLOCK_HASH_COUNT, EXISTENTIAL_DEPOSIT, SLOT_DURATION, VERSION,
};

/// Share of a block's weight and length that normal (non-operational) extrinsics may use.
const NORMAL_DISPATCH_RATIO: Perbill = Perbill::from_percent(75);

/// Maximum block length in bytes (all dispatch classes).
pub const MAX_BLOCK_LENGTH: u32 = 5 * 1024 * 1024;

parameter_types! {
	pub const BlockHashCount: BlockNumber = BLOCK_HASH_COUNT;
	pub const Version: RuntimeVersion = VERSION;

	/// One second of compute per 2-second block: the author has 2/3 of the slot
	/// to build a block, and importers must be able to keep up.
	pub RuntimeBlockWeights: BlockWeights = BlockWeights::with_sensible_defaults(
		Weight::from_parts(WEIGHT_REF_TIME_PER_SECOND, u64::MAX),
		NORMAL_DISPATCH_RATIO,
	);
	/// 5 MiB blocks: chunked reveals carry their payload in block bodies.
	pub RuntimeBlockLength: BlockLength = BlockLength::builder()
		.max_length(MAX_BLOCK_LENGTH)
		.modify_max_length_for_class(DispatchClass::Normal, |m| *m = NORMAL_DISPATCH_RATIO * *m)
		.build();
	pub const SS58Prefix: u8 = 42;
}

#[derive_impl(frame_system::config_preludes::SolochainDefaultConfig)]
impl frame_system::Config for Runtime {
	type Block = Block;
	type BlockWeights = RuntimeBlockWeights;
	type BlockLength = RuntimeBlockLength;
	type AccountId = AccountId;
	type Nonce = Nonce;
	type Hash = Hash;
	type BlockHashCount = BlockHashCount;
	/// The node stores state in ParityDB only.
	type DbWeight = ParityDbWeight;
	type Version = Version;
	type AccountData = pallet_balances::AccountData<Balance>;
	type SS58Prefix = SS58Prefix;
	type MaxConsumers = ConstU32<16>;
}

impl pallet_aura::Config for Runtime {
	type AuthorityId = AuraId;
	type DisabledValidators = ();
	type MaxAuthorities = ConstU32<32>;
	type AllowMultipleBlocksPerSlot = ConstBool<false>;
	type SlotDuration = pallet_aura::MinimumPeriodTimesTwo<Runtime>;
}

impl pallet_grandpa::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type WeightInfo = ();
	type MaxAuthorities = ConstU32<32>;
	type MaxNominators = ConstU32<0>;
	type MaxSetIdSessionEntries = ConstU64<0>;
	type KeyOwnerProof = sp_core::Void;
	type EquivocationReportSystem = ();
}

impl pallet_timestamp::Config for Runtime {
	/// Milliseconds since the unix epoch.
	type Moment = u64;
	type OnTimestampSet = Aura;
	type MinimumPeriod = ConstU64<{ SLOT_DURATION / 2 }>;
	type WeightInfo = ();
}

impl pallet_balances::Config for Runtime {
	type MaxLocks = ConstU32<50>;
	type MaxReserves = ();
	type ReserveIdentifier = [u8; 8];
	type Balance = Balance;
	type RuntimeEvent = RuntimeEvent;
	type DustRemoval = ();
	type ExistentialDeposit = ConstU128<EXISTENTIAL_DEPOSIT>;
	type AccountStore = System;
	type WeightInfo = pallet_balances::weights::SubstrateWeight<Runtime>;
	type FreezeIdentifier = RuntimeFreezeReason;
	type MaxFreezes = VariantCountOf<RuntimeFreezeReason>;
	type RuntimeHoldReason = RuntimeHoldReason;
	type RuntimeFreezeReason = RuntimeFreezeReason;
	type DoneSlashHandler = ();
}

parameter_types! {
	/// The fee multiplier aims at blocks a quarter full (of the `Normal` class)...
	pub const TargetBlockFullness: Perquintill = Perquintill::from_percent(25);
	/// ...rising about 0.075 % per full block (×3.9 after an hour of full blocks), so
	/// that stuffing blocks gets dearer the longer it lasts (docs/security.md H3).
	pub AdjustmentVariable: Multiplier = Multiplier::saturating_from_rational(1, 1_000);
	/// Fees never fall below their base.
	pub MinimumMultiplier: Multiplier = Multiplier::one();
	pub MaximumMultiplier: Multiplier = Bounded::max_value();
}

/// Fee per byte of an extrinsic: 0.1 µUNIT, so filling a block's `Normal` length
/// (3.75 MiB) costs about 0.39 UNIT whatever the call (before, 1 planck per byte:
/// 0.000004 UNIT; H3).
pub const FEE_PER_BYTE: Balance = crate::MICRO_UNIT / 10;

impl pallet_transaction_payment::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type OnChargeTransaction = FungibleAdapter<Balances, ()>;
	type OperationalFeeMultiplier = ConstU8<5>;
	type WeightToFee = IdentityFee<Balance>;
	type LengthToFee = ConstantMultiplier<Balance, ConstU128<FEE_PER_BYTE>>;
	type FeeMultiplierUpdate = TargetedFeeAdjustment<
		Self,
		TargetBlockFullness,
		AdjustmentVariable,
		MinimumMultiplier,
		MaximumMultiplier,
	>;
	type WeightInfo = pallet_transaction_payment::weights::SubstrateWeight<Runtime>;
}

impl pallet_sudo::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type RuntimeCall = RuntimeCall;
	type WeightInfo = pallet_sudo::weights::SubstrateWeight<Runtime>;
}

/// Batches: a requester submits many tasks (or a provider several calls) in one
/// extrinsic, paying the per-extrinsic overhead once.
impl pallet_utility::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type RuntimeCall = RuntimeCall;
	type PalletsOrigin = OriginCaller;
	type WeightInfo = pallet_utility::weights::SubstrateWeight<Runtime>;
}

parameter_types! {
	/// Removed with prejudice: the whole bond goes.
	pub const ProviderBanSlash: Perbill = Perbill::from_percent(100);
	/// Slashed funds that no beneficiary receives are burned (no treasury yet).
	pub const NoSlashDestination: Option<AccountId> = None;
	/// Re-auctioned tasks bid 10 % more (on top of the penalties received).
	pub const ReauctionRaise: Perbill = Perbill::from_percent(10);
	/// Midpoint pair prices (McAfee trade reduction is the alternative).
	pub const MarketPricing: pallet_opml_market::auction::Mode =
		pallet_opml_market::auction::Mode::Midpoint;
}

/// Blocks per hour at the 2 s slot.
const HOURS: BlockNumber = 1_800;

impl pallet_opml_providers::Config for Runtime {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type MinBond = ConstU128<{ 100 * crate::UNIT }>;
	/// Longer than the longest challenge window below.
	type UnbondingPeriod = ConstU32<{ 2 * HOURS }>;
	type MaxChallengeWindow = ConstU32<HOURS>;
	/// What a no-show can lose per task (the deadline penalty): a provider needs
	/// `MinBond` plus this per task it holds to be offered more (docs/security.md C4).
	type ExposureBond = ConstU128<{ crate::UNIT }>;
	type MaxTaskTypes = ConstU32<16>;
	type MaxProviders = ConstU32<64>;
	type BanSlash = ProviderBanSlash;
	type SlashDestination = NoSlashDestination;
	type WeightInfo = pallet_opml_providers::weights::SubstrateWeight<Runtime>;
}

/// The guest programs models may run under: the checked-in guest, whose steps the
/// arbitration pallet re-executes and whose runs honest workers can defend (M7). A new
/// guest comes with a runtime upgrade. Benchmarks register models with any root.
pub struct BuiltinGuest;
impl frame_support::traits::Contains<sp_core::H256> for BuiltinGuest {
	fn contains(root: &sp_core::H256) -> bool {
		root.0 == opml_nn::layout::BUILTIN_GUEST_ROOT || cfg!(feature = "runtime-benchmarks")
	}
}

impl pallet_opml_market::Config for Runtime {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Providers = crate::Providers;
	/// Providers deliver by committing in the submissions pallet.
	type Delivery = crate::Submissions;
	type ModelDeposit = ConstU128<{ 10 * crate::UNIT }>;
	type MaxMetadataLen = ConstU32<256>;
	type MaxInlineInput = ConstU32<4096>;
	/// A file store's announcement holds what a model's does: a daemon tries every
	/// announced store when the model owner's and the providers' fail, so a long list
	/// of dead stores costs its announcers (docs/distribution.md).
	type StoreDeposit = ConstU128<{ 10 * crate::UNIT }>;
	type MaxStoreUrlLen = ConstU32<256>;
	// The task book takes up to 1024 tasks and the auction clears every block, so the
	// market keeps up with the node's transaction throughput (docs/benchmarks.md,
	// "Throughput"); a full round of 1024 tasks and 64 providers weighs ~0.16 s.
	type MaxOpenTasks = ConstU32<1024>;
	type MaxProviders = ConstU32<64>;
	type MaxTaskTypes = ConstU32<16>;
	type MaxRedundancy = ConstU32<8>;
	type AuctionPeriod = ConstU32<1>;
	type MaxTasksPerBlock = ConstU32<1024>;
	type MaxDeadlinesPerBlock = ConstU32<128>;
	/// 20 s on a network chain: a provider learns of its assignment from a finalized
	/// block and its commitment must be included before the deadline, so a shorter
	/// deadline only lets a requester make honest providers miss (docs/security.md C3).
	type MinDeadline = ConstU32<10>;
	type GuestPrograms = BuiltinGuest;
	/// 256 KiB of graph descriptor: `MAX_NODES` nodes of 64 bytes on average (a
	/// LeNet-5 has 73 per node, a transformer block 57); ~21 ms of checking at most
	/// (`register_model`).
	type MaxGraphBytes = ConstU32<{ 256 * 1024 }>;
	/// The arbitration's bound: every node of a registered model can be handed off.
	type MaxNodeSteps = ConstU64<{ opml_nn::layout::MAX_NODE_STEPS }>;
	/// Mixed into each round's seed with the providers' revealed secrets
	/// (docs/security.md H2): alone, the previous block's author could bias it.
	type Randomness = ParentHashRandomness;
	/// 20 s with room for a round's providers to reveal their seed secrets, like
	/// `MinDeadline` (a daemon sees the round in a finalized block); a round whose
	/// providers all revealed goes on at once.
	type SeedRevealPeriod = ConstU32<10>;
	/// Withholding a seed secret (the only way to steer a seed) costs what missing a
	/// deadline costs, and the withholder's seats in the round.
	type SeedPenalty = ConstU128<{ crate::UNIT }>;
	/// Audits are drawn from each round seed (docs/security.md M2).
	type OnSeed = crate::Arbitration;
	/// An hour in the book unassigned, then the task expires (escrow refunded).
	type OpenTaskLifetime = ConstU32<HOURS>;
	/// Refunded at assignment, burned if the task leaves the book unassigned: jamming
	/// the 1 024-task book for an hour burns 10 UNIT (docs/security.md H5).
	type BookDeposit = ConstU128<{ crate::UNIT / 100 }>;
	type MaxDeadline = ConstU32<{ 24 * HOURS }>;
	type DeadlinePenalty = ConstU128<{ crate::UNIT }>;
	type ReauctionRaise = ReauctionRaise;
	type Pricing = MarketPricing;
	type SurplusDestination = NoSlashDestination;
	type WeightInfo = pallet_opml_market::weights::SubstrateWeight<Runtime>;
}

/// Largest chunk of a chunked reveal: 512 KiB, so a block's normal-class length
/// (75 % of 5 MiB) carries 7 full chunks.
pub const MAX_CHUNK_LEN: u32 = 512 * 1024;

impl pallet_opml_submissions::Config for Runtime {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	/// 1 µUNIT per byte: a 64 KiB output holds 0.066 UNIT until it is dropped (M9).
	type OutputDepositPerByte = ConstU128<{ crate::UNIT / 1_000_000 }>;
	type Providers = crate::Providers;
	type Market = crate::Market;
	/// Outputs are proven against the task's model commitment (M6).
	type Tasks = crate::Market;
	/// Dissent in a pool opens games automatically.
	type Disputes = crate::Arbitration;
	type MaxRedundancy = ConstU32<8>;
	/// 30 s to reveal (a chunked 4 MiB payload needs 2 blocks).
	type RevealPeriod = ConstU32<15>;
	/// 2 minutes to challenge an elected result (within the registry's
	/// `MaxChallengeWindow`, so a bond cannot leave during it).
	type ChallengePeriod = ConstU32<{ 2 * crate::MINUTES }>;
	type RevealPenalty = ConstU128<{ crate::UNIT }>;
	type MaxChunkLen = ConstU32<MAX_CHUNK_LEN>;
	/// 32 chunks of 512 KiB: 16 MiB payloads, the largest tensor (`opml_nn::MAX_TENSOR_BYTES`).
	type MaxPayloadChunks = ConstU32<32>;
	type MaxAgendaPerBlock = ConstU32<128>;
	/// Final results stay readable for a day.
	type ResultRetention = ConstU32<{ 24 * HOURS }>;
	// logits of a 64k-token vocabulary, class scores, small embeddings
	type MaxOutputLen = ConstU32<{ 64 * 1024 }>;
	/// A block counts on game clocks and windows if a reveal chunk or the largest move
	/// still fits in it (H3).
	type RoomLength = ConstU32<ROOM_LENGTH>;
	type RoomWeight = RoomWeight;
	/// Stuffing holds a window open for at most 58 minutes (about 680 UNIT of length
	/// fees at the base multiplier, more as it rises); an extended challenge window
	/// still ends within the registry's `MaxChallengeWindow`.
	type MaxWindowExtension = ConstU32<{ HOURS - 2 * crate::MINUTES }>;
	/// 5 blocks (10 s): GRANDPA usually finalizes within 2 or 3 blocks; past that the
	/// clocks stop (M3), so an honest daemon that acts on finalized blocks loses at most
	/// 5 blocks of its clock (150) or of a window (10 or more) to a stall.
	type MaxFinalityLag = ConstU32<5>;
	type WeightInfo = pallet_opml_submissions::weights::SubstrateWeight<Runtime>;
}

/// Bytes a block must leave free to count on game clocks: a 512 KiB reveal chunk or a
/// 16 KiB handoff, with room for the extrinsic's envelope.
pub const ROOM_LENGTH: u32 = MAX_CHUNK_LEN + 20 * 1024;

parameter_types! {
	/// Weight a block must leave free to count on game clocks: 25 ms, above a 512 KiB
	/// reveal chunk and every game move (checked by `runtime/tests/weights.rs`).
	pub RoomWeight: Weight = Weight::from_parts(WEIGHT_REF_TIME_PER_SECOND / 40, 0);
}

// An elected result's challenge window must end before a provider's bond can leave.
const _: () = assert!(2 * crate::MINUTES + (HOURS - 2 * crate::MINUTES) <= HOURS);

/// Parent-hash randomness: `H(parent hash, subject)`. The block author can see it
/// before building and could reorder its block to re-draw, so it is only mixed into
/// the market's round seeds, which the providers' revealed secrets make unbiasable
/// (docs/security.md H2); audits are drawn from those seeds (M2).
pub struct ParentHashRandomness;
impl frame_support::traits::Randomness<Hash, BlockNumber> for ParentHashRandomness {
	fn random(subject: &[u8]) -> (Hash, BlockNumber) {
		let parent = System::parent_hash();
		let mut data = parent.as_bytes().to_vec();
		data.extend_from_slice(subject);
		(
			<sp_runtime::traits::BlakeTwo256 as sp_runtime::traits::Hash>::hash(&data),
			System::block_number().saturating_sub(1),
		)
	}
}

parameter_types! {
	/// A challenger that loses forfeits its bond: half to the defender, half burned;
	/// a banned provider's bond: half to the winner.
	pub const ArbitrationWinnerShare: Perbill = Perbill::from_percent(50);
	/// One elected result in 20 is audited (drawn at the next round seed).
	pub const AuditProbability: Perbill = Perbill::from_percent(5);
}

impl pallet_opml_arbitration::Config for Runtime {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Providers = crate::Providers;
	type Results = crate::Submissions;
	type Tasks = crate::Market;
	/// Clocks run on blocks that had room for a move (H3).
	type Clock = crate::Submissions;
	/// Auditors are paid from the task's escrow beyond its price.
	type Rewards = crate::Market;
	/// 16-ary dissection: 2 rounds over graph states, ≤ 8 for a 10^9-step node.
	type Fanout = ConstU32<16>;
	type MinChallengeBond = ConstU128<{ 10 * crate::UNIT }>;
	/// At most 8 × 10 UNIT (80 UNIT) after three challenges the defender won.
	type MaxBondDoublings = ConstU32<3>;
	/// One strike forgotten per hour.
	type StrikeDecay = ConstU32<{ crate::HOURS }>;
	/// The worker's VM runs a node to at most 2^34 steps (H4).
	type MaxNodeSteps = ConstU64<{ opml_nn::layout::MAX_NODE_STEPS }>;
	/// 15 minutes per side: twice what one side of a game over a node at `MaxNodeSteps`
	/// costs the worker on the project's 2-core machines (trace ~185 s, 9 rounds of 15
	/// state hashes ~210 s: `runtime/tests/periods.rs`, docs/benchmarks.md, H4); a
	/// small node's game takes a block or two per move.
	type ClockBudget = ConstU32<{ 15 * crate::MINUTES }>;
	type WinnerShare = ArbitrationWinnerShare;
	/// Stale games voided at once when a result is overturned (the rest are voided
	/// when next touched); games per result are not capped (docs/security.md H1).
	type MaxGamesPerTask = ConstU32<8>;
	type AuditProbability = AuditProbability;
	type AdminOrigin = frame_system::EnsureRoot<Self::AccountId>;
	type MaxAudits = ConstU32<32>;
	/// 2 minutes with room to recompute and confirm or challenge (the result waits).
	type AuditPeriod = ConstU32<{ 2 * crate::MINUTES }>;
	/// Paid from what the requester would get back (its escrow beyond the price).
	type AuditReward = ConstU128<{ crate::UNIT / 10 }>;
	/// Ignoring an audit costs what missing a deadline costs.
	type AuditPenalty = ConstU128<{ crate::UNIT }>;
	type WeightInfo = pallet_opml_arbitration::weights::SubstrateWeight<Runtime>;
}

impl pallet_opml_training::Config for Runtime {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Tasks = crate::Market;
	type Results = crate::Submissions;
	/// Pools per job (one FedAvg input row each).
	type MaxPools = ConstU32<16>;
	/// Rounds per job.
	type MaxRounds = ConstU32<1000>;
	type WeightInfo = pallet_opml_training::weights::SubstrateWeight<Runtime>;
}
