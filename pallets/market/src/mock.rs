//! A mock runtime: System, Balances, Providers, Market; a settable delivery check.

use crate as pallet_opml_market;
use crate::{auction::Mode, types::*};
use codec::Encode;
use frame_support::{
	derive_impl, parameter_types,
	traits::{ConstU32, ConstU64},
};
use sp_runtime::{BuildStorage, Perbill};
use std::{cell::RefCell, collections::BTreeSet};

type Block = frame_system::mocking::MockBlock<Test>;

frame_support::construct_runtime!(
	pub enum Test {
		System: frame_system = 0,
		Balances: pallet_balances = 1,
		Providers: pallet_opml_providers = 2,
		Market: pallet_opml_market = 3,
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
	/// The one guest program root models may use (`None`: any).
	pub static OnlyProgram: Option<sp_core::H256> = None;
	/// The registration's node step bound (tests lower it).
	pub static MarketMaxNodeSteps: u64 = 1 << 34;
	pub static OpenTaskLifetime: u64 = 1_000;
	pub static BookDeposit: u64 = 0;
}

/// The mock's guest programs: [`OnlyProgram`] if set, else any root.
pub struct AllowedProgram;
impl frame_support::traits::Contains<sp_core::H256> for AllowedProgram {
	fn contains(root: &sp_core::H256) -> bool {
		OnlyProgram::get().is_none_or(|r| r == *root)
	}
}

parameter_types! {
	pub const BanSlash: Perbill = Perbill::from_percent(100);
	pub static Pricing: Mode = Mode::Midpoint;
	pub static MaxTasksPerBlock: u32 = 64;
	pub const NoDestination: Option<u64> = None;
	pub const Raise: Perbill = Perbill::from_percent(10);
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

thread_local! {
	/// (task, provider) pairs that delivered.
	pub static DELIVERED: RefCell<BTreeSet<(TaskId, u64)>> = const { RefCell::new(BTreeSet::new()) };
}

/// The submissions pallet's stand-in: who delivered is set by the tests.
pub struct MockDelivery;
impl DeliveryCheck<u64, u64> for MockDelivery {
	fn delivered(task: TaskId, who: &u64) -> bool {
		DELIVERED.with(|d| d.borrow().contains(&(task, *who)))
	}
}

pub fn deliver(task: TaskId, who: u64) {
	DELIVERED.with(|d| d.borrow_mut().insert((task, who)));
}

impl pallet_opml_market::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Providers = Providers;
	type Delivery = MockDelivery;
	type ModelDeposit = ConstU64<10>;
	type MaxMetadataLen = ConstU32<64>;
	type StoreDeposit = ConstU64<5>;
	type MaxStoreUrlLen = ConstU32<64>;
	type MaxInlineInput = ConstU32<256>;
	type MaxOpenTasks = ConstU32<256>;
	type MaxProviders = ConstU32<16>;
	type MaxTaskTypes = ConstU32<4>;
	type MaxRedundancy = ConstU32<5>;
	type AuctionPeriod = ConstU64<5>;
	type MaxTasksPerBlock = MaxTasksPerBlock;
	type MaxDeadlinesPerBlock = ConstU32<8>;
	type MinDeadline = ConstU64<2>;
	type MaxDeadline = ConstU64<100>;
	type Randomness = BlockRandomness;
	type OpenTaskLifetime = OpenTaskLifetime;
	type BookDeposit = BookDeposit;
	type GuestPrograms = AllowedProgram;
	type MaxGraphBytes = ConstU32<{ 1 << 20 }>;
	type MaxNodeSteps = MarketMaxNodeSteps;
	type DeadlinePenalty = ConstU64<30>;
	type SeedRevealPeriod = ConstU64<3>;
	type SeedPenalty = ConstU64<20>;
	type OnSeed = ();
	type ReauctionRaise = Raise;
	type Pricing = Pricing;
	type SurplusDestination = NoDestination;
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
	DELIVERED.with(|d| d.borrow_mut().clear());
	OpenTaskLifetime::set(1_000);
	BookDeposit::set(0);
	OnlyProgram::set(None);
	SEED_SILENT.with(|s| s.borrow_mut().clear());
	ext
}

/// Run `f`, then check both pallets' invariants.
pub fn test(f: impl FnOnce()) {
	new_test_ext().execute_with(|| {
		f();
		Market::do_try_state().expect("market invariants");
		Providers::do_try_state().expect("provider invariants");
	});
}

thread_local! {
	/// Providers that do not make their seed moves (tests of the beacon).
	pub static SEED_SILENT: RefCell<BTreeSet<u64>> = const { RefCell::new(BTreeSet::new()) };
}

/// Advance to block `n`, running the market's hook on each block; providers (but
/// those in [`SEED_SILENT`]) commit to and reveal their round seeds as honest daemons
/// do, in every block before and after the hook.
pub fn run_to(n: u64) {
	use frame_support::traits::Hooks;
	let honest = |w: &u64| SEED_SILENT.with(|s| !s.borrow().contains(w));
	while System::block_number() < n {
		let b = System::block_number() + 1;
		Market::honest_seed_moves(honest);
		System::set_block_number(b);
		Market::on_initialize(b);
		Market::honest_seed_moves(honest);
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
