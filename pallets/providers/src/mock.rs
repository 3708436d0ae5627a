//! A mock runtime: System, Balances, Providers.

use crate as pallet_opml_providers;
use frame_support::{derive_impl, parameter_types, traits::ConstU32};
use sp_runtime::{BuildStorage, Perbill};

type Block = frame_system::mocking::MockBlock<Test>;

frame_support::construct_runtime!(
	pub enum Test {
		System: frame_system = 0,
		Balances: pallet_balances = 1,
		Providers: pallet_opml_providers = 2,
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

pub const TREASURY: u64 = 99;

parameter_types! {
	pub static SlashTo: Option<u64> = None;
}

impl pallet_opml_providers::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type MinBond = frame_support::traits::ConstU64<100>;
	type UnbondingPeriod = frame_support::traits::ConstU64<20>;
	type MaxChallengeWindow = frame_support::traits::ConstU64<10>;
	type ExposureBond = frame_support::traits::ConstU64<10>;
	type MaxTaskTypes = ConstU32<4>;
	type MaxProviders = ConstU32<8>;
	type BanSlash = BanSlash;
	type SlashDestination = SlashTo;
	type WeightInfo = ();
}

parameter_types! {
	pub const BanSlash: Perbill = Perbill::from_percent(50);
}

/// Accounts 1..=10 start with 10_000; 99 (treasury) with 1_000.
pub fn new_test_ext() -> sp_io::TestExternalities {
	let mut t = frame_system::GenesisConfig::<Test>::default()
		.build_storage()
		.unwrap();
	pallet_balances::GenesisConfig::<Test> {
		balances: (1..=10)
			.map(|a| (a, 10_000))
			.chain([(TREASURY, 1_000)])
			.collect(),
		..Default::default()
	}
	.assimilate_storage(&mut t)
	.unwrap();
	let mut ext = sp_io::TestExternalities::new(t);
	ext.execute_with(|| System::set_block_number(1));
	ext
}

/// Run `f` in a fresh externality and check the pallet's invariants afterwards.
pub fn test(f: impl FnOnce()) {
	new_test_ext().execute_with(|| {
		f();
		Providers::do_try_state().expect("invariants hold");
	});
}
