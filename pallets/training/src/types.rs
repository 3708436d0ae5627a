//! Types of pallet-opml-training.
// The `*NoBound` derives repeat the generic bounds in where-clauses.
#![allow(clippy::multiple_bound_locations)]

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::{
	pallet_prelude::*, BoundedVec, CloneNoBound, DebugNoBound, EqNoBound, PartialEqNoBound,
};
use pallet_opml_market::{ModelId, TaskId};
use scale_info::TypeInfo;
use sp_core::H256;

/// A training job's id.
pub type JobId = u64;

/// Where a job is.
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
#[scale_info(skip_type_params(MaxPools))]
pub enum Phase<MaxPools: Get<u32>> {
	/// The round's pool tasks (one per pool, in pool order) are running.
	Training {
		/// The tasks.
		tasks: BoundedVec<TaskId, MaxPools>,
	},
	/// The round's federated-averaging task is running.
	Aggregating {
		/// The task.
		task: TaskId,
	},
	/// Every round is done: the job's `params` are the trained model.
	Finished,
}

/// A training job (see the crate docs).
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
#[scale_info(skip_type_params(MaxPools))]
pub struct Job<
	AccountId: Clone + PartialEq + Eq + core::fmt::Debug,
	Balance: Clone + PartialEq + Eq + core::fmt::Debug,
	MaxPools: Get<u32>,
> {
	/// Who created it and pays for it.
	pub owner: AccountId,
	/// Each pool's training model (the round graph over that pool's shard).
	pub pools: BoundedVec<ModelId, MaxPools>,
	/// The federated-averaging model (input `[pools, params_len]`).
	pub aggregator: ModelId,
	/// Height of a parameter vector's tensor tree (`log2(params_len · 4 / 32)`).
	pub params_height: u32,
	/// Tensor root of the parameters the current round starts from (after the last
	/// round: the trained parameters).
	pub params: H256,
	/// Rounds in all.
	pub rounds: u32,
	/// The current round (0-based; `rounds` when finished).
	pub round: u32,
	/// Providers per task.
	pub redundancy: u8,
	/// Blocks each task's providers get.
	pub deadline: u32,
	/// Valuation of each task (the most paid for it).
	pub valuation: Balance,
	/// What is still held for the tasks not yet submitted.
	pub budget: Balance,
	/// Where it is.
	pub phase: Phase<MaxPools>,
}

/// What a job is (the argument of `create_job`).
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
#[scale_info(skip_type_params(MaxPools))]
pub struct JobSpec<Balance: Clone + PartialEq + Eq + core::fmt::Debug, MaxPools: Get<u32>> {
	/// Each pool's training model (registered in the market).
	pub pools: BoundedVec<ModelId, MaxPools>,
	/// The federated-averaging model for `pools.len()` updates.
	pub aggregator: ModelId,
	/// The initial parameters' tensor root.
	pub params: H256,
	/// The parameter vector's length in i32s (a power of two, at least 8).
	pub params_len: u32,
	/// Rounds, `1..=MaxRounds`.
	pub rounds: u32,
	/// Providers per task (the market's bounds).
	pub redundancy: u8,
	/// Blocks the providers of each task get.
	pub deadline: u32,
	/// The most paid for each task (all its providers together).
	pub valuation: Balance,
}

/// An output tensor's root in a final result `G_N`: the model's output shape (its last
/// node, so the slot, and the output's length, proven against the model commitment:
/// docs/security.md L7, M6) and the slot's Merkle proof
/// (`opml_nn::commit::STATE_DEPTH` siblings, bottom first).
#[derive(
	Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct OutputProof {
	/// The output tensor's root.
	pub root: H256,
	/// The model's output shape: its slot in `G_N` is the last node's index, and its
	/// length must be a parameter vector's (`4 · params_len` bytes).
	pub shape: pallet_opml_submissions::types::ShapeProof,
	/// The slot's siblings.
	pub siblings: BoundedVec<H256, ConstU32<{ opml_nn::commit::STATE_DEPTH }>>,
}
