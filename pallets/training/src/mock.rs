//! A mock runtime: System, Balances, Providers, Market, Submissions, Training (no
//! arbitration: disputes are refused, pools in the tests agree).

use crate as pallet_opml_training;
use codec::Encode;
use frame_support::{
	derive_impl, parameter_types,
	traits::{ConstU32, ConstU64, Hooks},
};
use pallet_opml_market::auction::Mode;
use sp_runtime::{BuildStorage, Perbill};

type Block = frame_system::mocking::MockBlock<Test>;

frame_support::construct_runtime!(
	pub enum Test {
		System: frame_system = 0,
		Balances: pallet_balances = 1,
		Providers: pallet_opml_providers = 2,
		Market: pallet_opml_market = 3,
		Submissions: pallet_opml_submissions = 4,
		Training: pallet_opml_training = 5,
	}
);

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
	type AccountData = pallet_balances::AccountData<u64>;
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
	type AccountStore = System;
	type RuntimeHoldReason = RuntimeHoldReason;
}

parameter_types! {
	pub const BanSlash: Perbill = Perbill::from_percent(100);
	pub const Pricing: Mode = Mode::Midpoint;
	pub const NoDestination: Option<u64> = None;
	pub const Raise: Perbill = Perbill::from_percent(10);
	pub static ChunkLen: u32 = 32;
	pub static AgendaPerBlock: u32 = 16;
	pub static RevealPeriod: u64 = 5;
}

impl pallet_opml_providers::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type MinBond = ConstU64<100>;
	type UnbondingPeriod = ConstU64<50>;
	type MaxChallengeWindow = ConstU64<20>;
	type ExposureBond = frame_support::traits::ConstU64<0>;
	type MaxTaskTypes = ConstU32<4>;
	type MaxProviders = ConstU32<16>;
	type BanSlash = BanSlash;
	type SlashDestination = NoDestination;
	type WeightInfo = ();
}

impl pallet_opml_market::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Providers = Providers;
	type Delivery = Submissions;
	type ModelDeposit = ConstU64<10>;
	type MaxMetadataLen = ConstU32<64>;
	type StoreDeposit = ConstU64<5>;
	type MaxStoreUrlLen = ConstU32<64>;
	type MaxInlineInput = ConstU32<256>;
	type MaxOpenTasks = ConstU32<64>;
	type MaxProviders = ConstU32<16>;
	type MaxTaskTypes = ConstU32<4>;
	type MaxRedundancy = ConstU32<8>;
	type AuctionPeriod = ConstU64<4>; // a round starts at 4, 8, …; seeded and cleared a block later
	type MaxTasksPerBlock = ConstU32<64>;
	type MaxDeadlinesPerBlock = ConstU32<8>;
	type MinDeadline = ConstU64<2>;
	type MaxDeadline = ConstU64<100>;
	type Randomness = BlockRandomness;
	type OpenTaskLifetime = ConstU64<1_000>;
	type BookDeposit = ConstU64<0>;
	type GuestPrograms = frame_support::traits::Everything;
	type MaxGraphBytes = ConstU32<{ 1 << 20 }>;
	type MaxNodeSteps = ConstU64<{ opml_nn::layout::MAX_NODE_STEPS }>;
	type DeadlinePenalty = ConstU64<30>;
	type SeedRevealPeriod = ConstU64<3>;
	type SeedPenalty = ConstU64<20>;
	type OnSeed = ();
	type ReauctionRaise = Raise;
	type Pricing = Pricing;
	type SurplusDestination = NoDestination;
	type WeightInfo = ();
}

impl pallet_opml_training::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Tasks = Market;
	type Results = Submissions;
	type MaxPools = ConstU32<4>;
	type MaxRounds = ConstU32<8>;
	type WeightInfo = ();
}

impl pallet_opml_submissions::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type OutputDepositPerByte = ConstU64<1>;
	type Providers = Providers;
	type Market = Market;
	type Tasks = Market;
	type Disputes = ();
	type MaxRedundancy = ConstU32<8>;
	type RevealPeriod = RevealPeriod;
	type ChallengePeriod = ConstU64<10>;
	type RevealPenalty = ConstU64<20>;
	type MaxChunkLen = ChunkLen;
	type MaxPayloadChunks = ConstU32<64>;
	type MaxAgendaPerBlock = AgendaPerBlock;
	type ResultRetention = ConstU64<20>;
	type MaxOutputLen = ConstU32<1024>;
	type RoomLength = ConstU32<{ 64 * 1024 }>;
	type RoomWeight = RoomWeight;
	type MaxWindowExtension = ConstU64<50>;
	type MaxFinalityLag = ConstU64<1>;
	type WeightInfo = ();
}

/// Accounts 1..=20 start with 100_000.
pub fn new_test_ext() -> sp_io::TestExternalities {
	let mut t = frame_system::GenesisConfig::<Test>::default()
		.build_storage()
		.unwrap();
	pallet_balances::GenesisConfig::<Test> {
		balances: (1..=20).map(|a| (a, 100_000)).collect(),
		..Default::default()
	}
	.assimilate_storage(&mut t)
	.unwrap();
	let mut ext = sp_io::TestExternalities::new(t);
	ext.execute_with(|| System::set_block_number(1));
	ChunkLen::set(32);
	AgendaPerBlock::set(16);
	RevealPeriod::set(5);
	ext
}

/// Run `f`, then check the four pallets' invariants.
pub fn test(f: impl FnOnce()) {
	new_test_ext().execute_with(|| {
		f();
		Training::do_try_state().expect("training invariants");
		Submissions::do_try_state().expect("submissions invariants");
		Market::do_try_state().expect("market invariants");
		Providers::do_try_state().expect("provider invariants");
	});
}

thread_local! {
	/// The finalized block the authors note while a test stalls finality (M3);
	/// `None`: finality keeps up (the parent block is final).
	pub static FINALIZED_STALLED_AT: core::cell::Cell<Option<u64>> =
		const { core::cell::Cell::new(None) };
}

/// Advance to block `n`, running the hooks in runtime order.
pub fn run_to(n: u64) {
	while System::block_number() < n {
		// the author notes the finalized block (the parent, unless a test stalls
		// finality); the block ends: counted on the game clock if it had room and
		// finality kept up; the next starts empty
		let finalized = FINALIZED_STALLED_AT
			.with(|f| f.get())
			.unwrap_or(System::block_number().saturating_sub(1));
		let _ = Submissions::note_finalized(RuntimeOrigin::none(), finalized);
		Submissions::on_finalize(System::block_number());
		frame_system::BlockWeight::<Test>::kill();
		frame_system::BlockSize::<Test>::kill();
		let b = System::block_number() + 1;
		// providers' seed moves for the market's rounds, as honest daemons make them
		Market::honest_seed_moves(|_| true);
		System::set_block_number(b);
		Market::on_initialize(b);
		Market::honest_seed_moves(|_| true);
		Submissions::on_initialize(b);
	}
}

/// Randomness from the block number (tests: reproducible seat draws).
pub struct BlockRandomness;
impl frame_support::traits::Randomness<sp_core::H256, u64> for BlockRandomness {
	fn random(subject: &[u8]) -> (sp_core::H256, u64) {
		let n = System::block_number();
		let h = sp_io::hashing::blake2_256(&(subject, n).encode());
		(sp_core::H256(h), n)
	}
}

frame_support::parameter_types! {
	/// Room a block must leave for game moves and reveals (H3).
	pub RoomWeight: frame_support::weights::Weight = frame_support::weights::Weight::from_parts(1_000_000_000, 0);
}
