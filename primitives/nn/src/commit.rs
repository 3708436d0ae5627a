//! Commitments (DESIGN.md §3): tensor roots, node leaves, the graph descriptor root,
//! the model commitment and graph states.
//!
//! - tensor root: BMT of the canonical bytes at depth `ceil(log2(leaves))`;
//! - node leaf: `H(NODE_DESCRIPTOR, SCALE(node))`; graph-input leaf:
//!   `H(GRAPH_INPUT, SCALE(input type))`;
//! - graph root: BMT of depth [`GRAPH_DEPTH`] over `[input leaf, node 1 leaf, ...]`;
//! - model commitment: BMT of depth [`MODEL_DEPTH`] over
//!   `[graph root, weight 0 root, weight 1 root, ...]`;
//! - graph state `G_i`: BMT of depth [`STATE_DEPTH`], slot 0 the input tensor root,
//!   slot `j <= i` the output tensor root of node `j`, later slots zero.
//!
//! Fixed depths make every proof's length part of the statement, so a proof can never
//! pass an inner node off as a leaf.

use crate::types::{Graph, Model, Node, TensorDesc, MAX_NODES, MAX_WEIGHTS};
use alloc::vec::Vec;
use codec::Encode;
use opml_primitives_core::{
	hash::{hash_tagged, tags, Tag},
	merkle::{bytes_root, root, MerkleError, MerkleTree, SubtreeProof},
	Hash, ZERO_HASH,
};

/// Tag of the graph-input leaf.
pub const GRAPH_INPUT: Tag = Tag::new("opml/graph-input");
/// Depth of the graph descriptor tree (slot 0 input, 1..=4095 nodes).
pub const GRAPH_DEPTH: u32 = 12;
/// Depth of the model tree (graph root + 4095 weights).
pub const MODEL_DEPTH: u32 = 12;
/// Depth of a graph state (slot 0 input, 1..=4095 node outputs).
pub const STATE_DEPTH: u32 = 12;

const _: () = assert!(
	MAX_NODES < 1 << GRAPH_DEPTH && MAX_WEIGHTS < 1 << MODEL_DEPTH && MAX_NODES < 1 << STATE_DEPTH
);

/// A tensor root and the depth it was computed at.
pub fn tensor_root(bytes: &[u8]) -> (Hash, u32) {
	bytes_root(bytes)
}

/// The tensor root of int8 data.
pub fn i8_root(x: &[i8]) -> Hash {
	tensor_root(&crate::types::i8_bytes(x)).0
}

/// The tensor root of typed data (its canonical bytes).
pub fn data_root(x: &crate::types::TensorData) -> Hash {
	tensor_root(&x.to_bytes()).0
}

/// The leaf that commits to a node descriptor.
pub fn node_leaf(node: &Node) -> Hash {
	hash_tagged(tags::NODE_DESCRIPTOR, &[&node.encode()])
}

/// The leaf that commits to the graph input's type.
pub fn input_leaf(input: &TensorDesc) -> Hash {
	hash_tagged(GRAPH_INPUT, &[&input.encode()])
}

fn graph_leaves(graph: &Graph) -> Vec<Hash> {
	core::iter::once(input_leaf(&graph.input))
		.chain(graph.nodes.iter().map(node_leaf))
		.collect()
}

/// The graph descriptor root.
pub fn graph_root(graph: &Graph) -> Result<Hash, MerkleError> {
	root(&graph_leaves(graph), GRAPH_DEPTH)
}

/// Proof that node `j` (1-based) is in the graph with the given root.
pub fn node_proof(graph: &Graph, j: usize) -> Result<SubtreeProof, MerkleError> {
	MerkleTree::new(graph_leaves(graph), GRAPH_DEPTH)?.proof(j as u64)
}

fn model_leaves(model: &Model) -> Result<Vec<Hash>, MerkleError> {
	let mut leaves = Vec::with_capacity(1 + model.weights.len());
	leaves.push(graph_root(&model.graph)?);
	leaves.extend(model.weights.iter().map(|w| tensor_root(&w.data).0));
	Ok(leaves)
}

/// The model commitment.
pub fn model_commitment(model: &Model) -> Result<Hash, MerkleError> {
	root(&model_leaves(model)?, MODEL_DEPTH)
}

/// Proof of the graph root (leaf 0) or weight `w`'s root (leaf `1 + w`) against the
/// model commitment.
pub fn model_proof(model: &Model, leaf: usize) -> Result<SubtreeProof, MerkleError> {
	MerkleTree::new(model_leaves(model)?, MODEL_DEPTH)?.proof(leaf as u64)
}

/// The graph states `G_0..G_N` of one execution, from the slot roots (slot 0 the
/// input's tensor root, slot `j` node `j`'s output root).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphStates {
	slots: Vec<Hash>,
}

impl GraphStates {
	/// From slot roots (`1 + N` of them, at most `2^STATE_DEPTH`).
	pub fn new(slots: Vec<Hash>) -> Result<Self, MerkleError> {
		if slots.len() > 1 << STATE_DEPTH {
			return Err(MerkleError::TooManyLeaves);
		}
		Ok(GraphStates { slots })
	}

	/// Number of nodes `N`.
	pub fn nodes(&self) -> usize {
		self.slots.len().saturating_sub(1)
	}

	/// Slot roots.
	pub fn slots(&self) -> &[Hash] {
		&self.slots
	}

	/// `G_i` (`i <= N`; larger `i` gives `G_N`).
	pub fn state(&self, i: usize) -> Hash {
		let n = (i + 1).min(self.slots.len());
		root(&self.slots[..n], STATE_DEPTH).unwrap_or(ZERO_HASH)
	}

	/// All of `G_0..=G_N`.
	pub fn all(&self) -> Vec<Hash> {
		(0..=self.nodes()).map(|i| self.state(i)).collect()
	}

	/// The result root `G_N` (what is committed and revealed).
	pub fn result_root(&self) -> Hash {
		self.state(self.nodes())
	}

	/// The output proof: slot `N` (the last node's output root) in `G_N`, proving with
	/// [`verify_output`] that given bytes are the graph's output.
	pub fn output_proof(&self) -> Result<SubtreeProof, MerkleError> {
		self.slot_proof(self.nodes(), self.nodes())
	}

	/// Proof of slot `j` in `G_i` (for `j <= i`, or a zero slot for `j > i`).
	pub fn slot_proof(&self, i: usize, j: usize) -> Result<SubtreeProof, MerkleError> {
		let n = (i + 1).min(self.slots.len());
		MerkleTree::new(self.slots[..n].to_vec(), STATE_DEPTH)?.proof(j as u64)
	}
}

/// The tensor root of equal tensors stacked (`[P, ..]`), from their tensor roots, when
/// each is a whole subtree of height `height` (`32 · 2^height` bytes): what the chain
/// computes for a federated-averaging input without holding the updates.
pub fn stacked_root(roots: &[Hash], height: u32) -> Result<Hash, MerkleError> {
	opml_primitives_core::merkle::subtrees_root(
		roots,
		opml_primitives_core::merkle::depth_for(roots.len() as u64),
		height,
	)
}

/// The result root `G_1` of a one-node execution (graph input root `input`, output
/// root `output`) and its output proof: test and benchmark fixtures for the chain's
/// output checks.
pub fn one_node_result(input: Hash, output: Hash) -> Result<(Hash, SubtreeProof), MerkleError> {
	let s = GraphStates::new(alloc::vec![input, output])?;
	Ok((s.result_root(), s.output_proof()?))
}

/// Whether `output` is the output tensor of the execution with result root `result`:
/// `proof` proves its tensor root at a slot of `G_N` after which every slot is zero
/// (so it is the last node's output). The bytes' length is not bound by the root
/// beyond its chunk padding: check it against the model's output shape.
pub fn verify_output(result: &Hash, output: &[u8], proof: &SubtreeProof) -> bool {
	verify_output_root(result, &tensor_root(output).0, proof)
}

/// The proof of slot `slot` of a graph state from its siblings (bottom first), as
/// calls carry it (`slot`, `STATE_DEPTH` hashes).
pub fn state_slot_proof(slot: u32, siblings: impl IntoIterator<Item = Hash>) -> SubtreeProof {
	SubtreeProof {
		depth: STATE_DEPTH,
		height: 0,
		index: u64::from(slot),
		siblings: siblings.into_iter().collect(),
	}
}

/// [`verify_output`] for an output given by its tensor root (e.g. computed from the
/// chunks of a chunked reveal).
pub fn verify_output_root(result: &Hash, output_root: &Hash, proof: &SubtreeProof) -> bool {
	proof.depth == STATE_DEPTH
		&& proof.height == 0
		&& proof.index >= 1
		&& proof.right_is_zero()
		&& proof.verify(result, output_root)
}

/// A model's output, proven from its commitment (docs/security.md M6, L7): the graph's
/// last node `index` (its output is slot `index` of `G_N`) and the output's length in
/// bytes. A tensor root alone binds neither: a 32-byte root is its own tensor, a level
/// of inner nodes is another, zero padding a third, and an all-zero output of at most
/// 32 bytes has the root of an empty slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutputShape {
	/// The last node (1-based): the output's slot in the graph states.
	pub index: u32,
	/// The output's canonical length in bytes.
	pub bytes: u64,
}

/// The proof of a model's [`OutputShape`]: the graph root with its siblings in the
/// commitment (leaf 0, `MODEL_DEPTH`), and the SCALE-encoded last node with its index
/// and siblings in the graph (`GRAPH_DEPTH`), bottom first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputProof {
	/// The graph root.
	pub graph_root: Hash,
	/// Its siblings in the model commitment.
	pub graph_siblings: Vec<Hash>,
	/// The last node, SCALE-encoded.
	pub node: Vec<u8>,
	/// Its index in the graph (1-based).
	pub index: u32,
	/// Its siblings in the graph.
	pub node_siblings: Vec<Hash>,
}

/// A graph of int8 slices of its input, node `j` with `lens[j]` output elements (the
/// input has the most of them, at least 64), and no weights: a well-formed graph that
/// registers (every node within the format and the step bound), a fixture whose
/// commitment output shapes are proven against (tests, benchmarks, opml-bench).
pub fn shape_fixture(lens: &[u32]) -> Model {
	use crate::types::{NodeInput, Op, Source};
	let n = lens.iter().copied().fold(64, u32::max);
	let input = TensorDesc::i8(&[n], 1.0);
	let nodes = lens
		.iter()
		.map(|&len| Node {
			op: Op::Slice { offset: 0 },
			inputs: alloc::vec![NodeInput {
				source: Source::Slot(0),
				desc: input.clone(),
			}],
			output: TensorDesc::i8(&[len], 1.0),
		})
		.collect();
	Model {
		graph: Graph { input, nodes },
		weights: Vec::new(),
	}
}

/// The [`OutputProof`] of `model` (what a provider sends with an output).
pub fn output_proof(model: &Model) -> Result<OutputProof, MerkleError> {
	let graph = &model.graph;
	let last = graph.nodes.last().ok_or(MerkleError::IndexOutOfRange)?;
	let index = graph.nodes.len();
	Ok(OutputProof {
		graph_root: graph_root(graph)?,
		graph_siblings: model_proof(model, 0)?.siblings,
		node: last.encode(),
		index: index as u32,
		node_siblings: node_proof(graph, index)?.siblings,
	})
}

/// Check `proof` against `commitment`: the node is leaf `index` of the graph, every
/// later leaf is empty (it is the last node), and the graph root is the commitment's
/// leaf 0. Returns the output's slot and length, or `None`.
pub fn verify_output_shape(commitment: &Hash, proof: &OutputProof) -> Option<OutputShape> {
	use codec::DecodeAll;
	let graph = SubtreeProof {
		depth: MODEL_DEPTH,
		height: 0,
		index: 0,
		siblings: proof.graph_siblings.clone(),
	};
	if !graph.verify(commitment, &proof.graph_root) {
		return None;
	}
	if proof.index == 0 || proof.node.len() > crate::types::MAX_DESCRIPTOR_BYTES {
		return None;
	}
	let node = Node::decode_all(&mut &proof.node[..]).ok()?;
	let at = SubtreeProof {
		depth: GRAPH_DEPTH,
		height: 0,
		index: u64::from(proof.index),
		siblings: proof.node_siblings.clone(),
	};
	if !at.right_is_zero() || !at.verify(&proof.graph_root, &node_leaf(&node)) {
		return None;
	}
	Some(OutputShape {
		index: proof.index,
		bytes: node.output.bytes()? as u64,
	})
}
