//! Types of pallet-opml-submissions.
// The `*NoBound` derives repeat the generic bounds in where-clauses.
#![allow(clippy::multiple_bound_locations)]

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::{pallet_prelude::*, BoundedVec};
use frame_support::{CloneNoBound, DebugNoBound, EqNoBound, PartialEqNoBound};
use pallet_opml_market::TaskId;
use scale_info::TypeInfo;
use sp_core::H256;
use sp_runtime::DispatchResult;

/// Progress of a chunked reveal (the chunks' tensor roots are in
/// [`crate::pallet::PayloadChunks`]).
#[derive(
	Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct ChunkProgress {
	/// Chunks received.
	pub count: u32,
	/// Bytes received.
	pub bytes: u64,
	/// Whether the last chunk was short (then it was the final one: no more chunks).
	pub closed: bool,
	/// The chunk length, set by the first chunk: every chunk but the last has it.
	pub chunk_len: u32,
}

/// Where one provider's reveal is.
#[derive(
	Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub enum Reveal {
	/// Nothing revealed.
	None,
	/// Chunks are arriving.
	Chunks(ChunkProgress),
	/// Revealed: the result root (or, for a chunked reveal, the payload's final hash).
	Done(H256),
}

/// One assigned provider's hand-in.
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
pub struct Entry<AccountId: Clone + PartialEq + Eq + core::fmt::Debug> {
	/// The provider.
	pub who: AccountId,
	/// Its commitment, if it committed.
	pub commitment: Option<H256>,
	/// Its reveal.
	pub reveal: Reveal,
}

/// Where a pool is.
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
#[scale_info(skip_type_params(MaxR))]
pub enum Phase<
	AccountId: Clone + PartialEq + Eq + core::fmt::Debug,
	BlockNumber: Clone + PartialEq + Eq + core::fmt::Debug,
	MaxR: Get<u32>,
> {
	/// Commits, then reveals, are being collected.
	Collecting,
	/// The pool elected `result` (a strict majority, or the largest class with games
	/// against it: M1); it becomes final at `until` unless a
	/// dispute is open then (it becomes final when the last one closes upheld).
	Pending {
		/// The elected result.
		result: H256,
		/// The providers who revealed it, in pool order: the first defends it in a
		/// game, and the next takes over the defence if it loses (docs/security.md C2).
		majority: BoundedVec<AccountId, MaxR>,
		/// End of the challenge window.
		until: BlockNumber,
		/// Disputes open against it.
		disputes: u32,
	},
}

/// The redundancy pool of an assigned task.
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
#[scale_info(skip_type_params(MaxR))]
pub struct Pool<
	AccountId: Clone + PartialEq + Eq + core::fmt::Debug,
	BlockNumber: Clone + PartialEq + Eq + core::fmt::Debug,
	MaxR: Get<u32>,
> {
	/// This pool's instance, unique on the chain: a task re-auctioned gets a new pool
	/// with a new instance, and games bound to an older one act on nothing
	/// (docs/security.md C1).
	pub instance: u64,
	/// One entry per assigned provider, in assignment order.
	pub entries: BoundedVec<Entry<AccountId>, MaxR>,
	/// Commits are accepted before this block (the market's deadline).
	pub commit_end: BlockNumber,
	/// Reveals are accepted from `commit_end` until before this block; the pool is
	/// tallied at this block.
	pub reveal_end: BlockNumber,
	/// Phase.
	pub phase: Phase<AccountId, BlockNumber, MaxR>,
}

/// A final result, kept for `ResultRetention` blocks for requesters to read.
#[derive(
	Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct FinalResult<BlockNumber> {
	/// The result root `G_N`.
	pub result: H256,
	/// When it became final.
	pub at: BlockNumber,
	/// The commitment of the model that computed it (the output's shape is proven
	/// against it when the output is published after the task was settled: M6).
	pub commitment: H256,
}

/// Proof of a model's output shape, as calls carry it
/// ([`opml_nn::commit::OutputProof`]): the graph's last node (so the output's slot in
/// `G_N`) and, from its type, the output's length in bytes, proven against the model
/// commitment (docs/security.md M6, L7).
#[derive(
	Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct ShapeProof {
	/// The model's graph root (leaf 0 of the commitment).
	pub graph_root: H256,
	/// Its siblings in the commitment, bottom first (`opml_nn::commit::MODEL_DEPTH`).
	pub graph_siblings: BoundedVec<H256, ConstU32<{ opml_nn::commit::MODEL_DEPTH }>>,
	/// The graph's last node, SCALE-encoded (`opml_nn::types::Node`).
	pub node: BoundedVec<u8, ConstU32<{ opml_nn::types::MAX_DESCRIPTOR_BYTES as u32 }>>,
	/// Its index in the graph (1-based): the output's slot in `G_N`.
	pub index: u32,
	/// Its siblings in the graph, bottom first (`opml_nn::commit::GRAPH_DEPTH`).
	pub node_siblings: BoundedVec<H256, ConstU32<{ opml_nn::commit::GRAPH_DEPTH }>>,
}

impl ShapeProof {
	/// The slot and length it proves for the model `commitment`, if it holds.
	pub fn verify(&self, commitment: &H256) -> Option<opml_nn::commit::OutputShape> {
		let proof = opml_nn::commit::OutputProof {
			graph_root: self.graph_root.0,
			graph_siblings: self.graph_siblings.iter().map(|h| h.0).collect(),
			node: self.node.to_vec(),
			index: self.index,
			node_siblings: self.node_siblings.iter().map(|h| h.0).collect(),
		};
		opml_nn::commit::verify_output_shape(&commitment.0, &proof)
	}

	/// The output slot it proves for the model `commitment` (its last node's index), if
	/// that model's output has `bytes` bytes (M6, L7: a tensor root alone binds neither
	/// the length nor the slot).
	pub fn output_slot(&self, commitment: &H256, bytes: u64) -> Result<u32, ShapeMismatch> {
		let s = self.verify(commitment).ok_or(ShapeMismatch::Shape)?;
		if s.bytes != bytes {
			return Err(ShapeMismatch::Length);
		}
		Ok(s.index)
	}

	/// The call form of `proof`.
	pub fn from_proof(proof: &opml_nn::commit::OutputProof) -> Self {
		ShapeProof {
			graph_root: H256(proof.graph_root),
			graph_siblings: BoundedVec::truncate_from(
				proof.graph_siblings.iter().copied().map(H256).collect(),
			),
			node: BoundedVec::truncate_from(proof.node.clone()),
			index: proof.index,
			node_siblings: BoundedVec::truncate_from(
				proof.node_siblings.iter().copied().map(H256).collect(),
			),
		}
	}
}

/// Why a [`ShapeProof`] gives no output slot.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ShapeMismatch {
	/// It does not open the model commitment (not its graph, not the last node, or a
	/// malformed node).
	Shape,
	/// The model's output has another length.
	Length,
}

/// What the agenda does with a task at a block.
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
pub enum Action {
	/// Close the reveal window: penalize missing reveals, elect or re-run.
	Tally,
	/// Close the challenge window: settle unless a dispute is open.
	Finalize,
	/// Drop the kept final result.
	Forget,
}

/// Games opened automatically against a pool's majority (implemented by the
/// arbitration pallet).
pub trait DisputeOpener<AccountId> {
	/// Open a game on `task`'s pool `instance`: `defender` stands for the elected
	/// `defended` result, `challenger` for its dissenting `claimed` result. On `Ok`,
	/// the opener reports the game's end with [`PendingResults::dispute_closed`] (it
	/// does not call [`PendingResults::dispute_opened`]: the pool counts the game
	/// itself).
	fn open(
		task: TaskId,
		instance: u64,
		defender: &AccountId,
		defended: H256,
		challenger: &AccountId,
		claimed: H256,
	) -> DispatchResult;

	/// `task`'s result was elected and is pending (a candidate for a random audit).
	fn on_elected(_task: TaskId) {}

	/// `task`'s pool `instance` is gone (its result was overturned): void the games
	/// still open on it (bonds returned, nobody punished). Bounded work; games left
	/// over are voided when next touched.
	fn void_games(_task: TaskId, _instance: u64) {}
}

/// No arbitration pallet: no game can be opened, the majority stands.
impl<AccountId> DisputeOpener<AccountId> for () {
	fn open(_: TaskId, _: u64, _: &AccountId, _: H256, _: &AccountId, _: H256) -> DispatchResult {
		Err(DispatchError::Other("no arbitration"))
	}
}

/// A pending result as the arbitration pallet sees it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PendingResult<AccountId> {
	/// The pool instance that elected it.
	pub instance: u64,
	/// The elected result.
	pub result: H256,
	/// Whether its challenge window is still open (new challenges accepted).
	pub challengeable: bool,
	/// Games open against it (the pool's count).
	pub disputes: u32,
	/// The provider who defends it first.
	pub defender: AccountId,
	/// Everyone who revealed it, in defence order.
	pub majority: sp_runtime::Vec<AccountId>,
}

/// The time game clocks run on (implemented by this pallet: [`crate::Ticks`], the
/// blocks that had room for a game move; docs/security.md H3).
pub trait GameClock<BlockNumber> {
	/// Blocks with room so far.
	fn ticks() -> BlockNumber;

	/// Benchmarks of other pallets: `n` more blocks with room pass.
	#[cfg(feature = "runtime-benchmarks")]
	fn advance_for_benchmark(n: BlockNumber);
}

/// Final results, for pallets that build on tasks (implemented by this pallet).
pub trait FinalResults {
	/// The final result root `G_N` of `task` and the commitment of the model that
	/// computed it (against which its output's shape is proven: L7), while it is kept
	/// (`ResultRetention`).
	fn final_result(task: TaskId) -> Option<(H256, H256)>;

	/// Benchmarks of other pallets: make `result`, of the model `commitment`, the
	/// final result of `task`.
	#[cfg(feature = "runtime-benchmarks")]
	fn set_final_for_benchmark(task: TaskId, result: H256, commitment: H256);
}

/// What the arbitration pallet asks and tells this pallet (implemented by it).
pub trait PendingResults<AccountId> {
	/// The pending (elected, not yet final) result of `task`.
	fn pending(task: TaskId) -> Option<PendingResult<AccountId>>;
	/// A game against `task`'s pending result was opened by a challenger: it cannot
	/// become final until the game closes. Fails if the result is not pending.
	fn dispute_opened(task: TaskId) -> DispatchResult;
	/// A game on `task`'s pool `instance` closed. `upheld`: the defence won. A result
	/// whose every defender lost is overturned: the task goes back to auction (each
	/// defender was punished for its own loss, nobody else is). Closing a game on a
	/// pool that is gone or was replaced does nothing.
	fn dispute_closed(task: TaskId, instance: u64, upheld: bool);

	/// Benchmarks of other pallets: a task assigned to `providers` (registered) whose
	/// pool unanimously elected `result`, now pending.
	#[cfg(feature = "runtime-benchmarks")]
	fn pending_for_benchmark(
		providers: &[AccountId],
		result: H256,
	) -> Result<TaskId, sp_runtime::DispatchError>;
}

/// A published output tensor.
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
#[scale_info(skip_type_params(MaxLen))]
pub struct Output<
	AccountId: Clone + PartialEq + Eq + core::fmt::Debug,
	Balance: Clone + PartialEq + Eq + core::fmt::Debug,
	MaxLen: Get<u32>,
> {
	/// The result root it was proven against.
	pub result: H256,
	/// The tensor's bytes.
	pub bytes: BoundedVec<u8, MaxLen>,
	/// Who published it (its deposit is held from this account).
	pub depositor: AccountId,
	/// The deposit held.
	pub deposit: Balance,
}
