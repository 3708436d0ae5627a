//! Types of pallet-opml-arbitration.
// The `*NoBound` derives repeat the generic bounds in where-clauses.
#![allow(clippy::multiple_bound_locations)]

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::{pallet_prelude::*, BoundedVec};
use frame_support::{CloneNoBound, DebugNoBound, EqNoBound, PartialEqNoBound};
use pallet_opml_market::TaskId;
use scale_info::TypeInfo;
use sp_core::H256;

/// A game's id.
pub type GameId = u64;

/// A side of a game.
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
pub enum Side {
	/// The provider whose result is disputed.
	Defender,
	/// Who disputes it.
	Challenger,
}

impl Side {
	/// The other side.
	pub fn other(self) -> Side {
		match self {
			Side::Defender => Side::Challenger,
			Side::Challenger => Side::Defender,
		}
	}
}

/// Where a game is (DESIGN.md §6).
#[derive(
	CloneNoBound,
	PartialEqNoBound,
	EqNoBound,
	DebugNoBound,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
	MaxEncodedLen,
)]
#[scale_info(skip_type_params(K))]
pub enum Phase<K: Get<u32>> {
	/// Phase 2, over graph states: `G_a` (hash `ha`) agreed, `G_b` (hash `hb`, the
	/// defender's) disputed. With `posted` empty the defender posts the intermediate
	/// states of the split; then the challenger chooses a sub-interval.
	Graph {
		/// Agreed end.
		a: u64,
		/// Disputed end.
		b: u64,
		/// `G_a`.
		ha: H256,
		/// `G_b`.
		hb: H256,
		/// The defender's states at the split's inner points.
		posted: BoundedVec<H256, K>,
	},
	/// Narrowed to node `node`: the defender posts the handoff.
	Handoff {
		/// The node (`G_{node-1}` agreed, `G_node` disputed).
		node: u64,
		/// `G_{node-1}`.
		g_prev: H256,
		/// The defender's `G_node`.
		g_node: H256,
	},
	/// Phase 1, over the node's VM states after `a` and `b` steps.
	Vm {
		/// The node.
		node: u64,
		/// Agreed end (steps).
		a: u64,
		/// Disputed end.
		b: u64,
		/// State hash at `a`.
		ha: H256,
		/// State hash at `b` (the defender's).
		hb: H256,
		/// The defender's states at the split's inner points.
		posted: BoundedVec<H256, K>,
	},
	/// One step left: a witness from the agreed state decides (the challenger's move,
	/// anyone may post it).
	OneStep {
		/// The node.
		node: u64,
		/// The agreed step.
		step: u64,
		/// Agreed state hash at `step`.
		pre: H256,
		/// The defender's state hash at `step + 1`.
		post: H256,
	},
}

/// A dispute game.
#[derive(
	CloneNoBound,
	PartialEqNoBound,
	EqNoBound,
	DebugNoBound,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
	MaxEncodedLen,
)]
#[scale_info(skip_type_params(K))]
pub struct Game<
	AccountId: Clone + PartialEq + Eq + core::fmt::Debug,
	Balance: Clone + PartialEq + Eq + core::fmt::Debug,
	BlockNumber: Clone + PartialEq + Eq + core::fmt::Debug,
	K: Get<u32>,
> {
	/// The task whose pending result is disputed.
	pub task: TaskId,
	/// The task's model: the one its providers are barred from while the game is
	/// open (docs/security.md M8).
	pub model: u32,
	/// The pool instance whose result is disputed: when the task's pool is replaced
	/// (re-auction) or gone, the game is stale and is voided when touched (C1).
	pub instance: u64,
	/// The result it defends.
	pub defended: H256,
	/// The defender's place in the result's majority: when it loses, the next member
	/// takes over the defence from the start (C2).
	pub defence: u32,
	/// The fan-out `k` the game was opened with (L2).
	pub k: u32,
	/// The result's provider defending it now.
	pub defender: AccountId,
	/// Who disputes it.
	pub challenger: AccountId,
	/// The challenger's held bond (zero in an automatic game between providers, whose
	/// provider bonds are at stake).
	pub bond: Balance,
	/// Automatic game: the challenger is a provider of the pool (banned if it loses).
	pub provider_challenger: bool,
	/// The model commitment.
	pub commitment: H256,
	/// The VM program root.
	pub program_root: H256,
	/// Where the game is.
	pub phase: Phase<K>,
	/// Whose move it is.
	pub turn: Side,
	/// Blocks with room left on the defender's clock (as of `since` if it is its turn).
	pub defender_clock: BlockNumber,
	/// Blocks with room left on the challenger's clock.
	pub challenger_clock: BlockNumber,
	/// When the current turn began, on the game clock (the submissions pallet's
	/// `Ticks`: blocks that had room for a move; H3), not a block number.
	pub since: BlockNumber,
	/// Moves made so far.
	pub moves: u32,
}

/// Why a game ended.
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
pub enum Outcome {
	/// The one-step check agreed with the defender's state.
	StepUpheld,
	/// The one-step check contradicted the defender's state.
	StepRefuted,
	/// The disputed node does not exist and the defender's graph state did not change.
	NoNode,
	/// The side to move ran out of clock.
	Timeout,
}

/// A random audit (docs/security.md M2): `auditor`, a bonded provider outside the
/// result's majority, recomputes `task`'s pending result and confirms it or challenges
/// it before tick `due`; until then the result cannot become final.
#[derive(
	Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct Audit<AccountId, BlockNumber> {
	/// The task.
	pub task: TaskId,
	/// The pool instance whose result is audited.
	pub instance: u64,
	/// The provider drawn to recompute it.
	pub auditor: AccountId,
	/// The tick ([`crate::Config::Clock`], blocks with room) by which it must answer.
	pub due: BlockNumber,
}

/// Challenges a provider won as defender, lately (docs/security.md M8): each doubles the
/// bond of the next challenge against it, up to `MaxBondDoublings`; one is forgotten
/// every `StrikeDecay` blocks.
#[derive(
	Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct Strikes<BlockNumber> {
	/// Strikes as of block `at` (at most `MaxBondDoublings`).
	pub count: u32,
	/// When `count` was last set.
	pub at: BlockNumber,
}

/// Real game data for the benchmarks (a handoff and a two-proof step witness from a
/// small model run by the real guest), generated by the test
/// `the_benchmark_fixture_is_current` into `bench_fixture.scale`.
#[cfg(any(test, feature = "runtime-benchmarks"))]
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub struct BenchFixture {
	/// Model commitment.
	pub commitment: H256,
	/// Program root.
	pub program_root: H256,
	/// The node of the handoff.
	pub node: u64,
	/// `G_{node-1}`.
	pub g_prev: H256,
	/// `G_node`.
	pub g_node: H256,
	/// The encoded handoff.
	pub handoff: alloc::vec::Vec<u8>,
	/// State hash before the witnessed step.
	pub pre: H256,
	/// State hash after it.
	pub post: H256,
	/// The encoded witness (two memory proofs).
	pub witness: alloc::vec::Vec<u8>,
}
