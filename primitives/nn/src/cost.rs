//! An upper bound on the VM steps the guest takes to run one node, from the node's
//! descriptor alone (docs/security.md H4): a node whose bound is within the chain's
//! `MaxNodeSteps` (`layout::MAX_NODE_STEPS`) can always be handed off in a dispute, so
//! a provider checks every node of a model against it before it takes tasks of the
//! model. The bound is calibrated against the guest: every op's VM runs over random
//! shapes and values stay below it (`tests/ops.rs`).

use crate::types::{Node, Op, TensorDesc};

/// The work of a node: its multiply-accumulates (output elements times the length of
/// the reduction each needs) plus every element it reads and writes.
pub fn node_work(node: &Node) -> u64 {
	let dim = |d: Option<&TensorDesc>, i: usize| -> u64 {
		d.and_then(|d| d.shape.get(i)).map_or(1, |&n| u64::from(n))
	};
	let last = |d: Option<&TensorDesc>| -> u64 {
		d.and_then(|d| d.shape.last()).map_or(1, |&n| u64::from(n))
	};
	let input = |i: usize| node.inputs.get(i).map(|x| &x.desc);
	let reduction = match &node.op {
		// x [.., K] against w [N, K] (or b [.., K, N])
		Op::FullyConnected { .. } | Op::Dense { .. } | Op::MatMul { .. } => last(input(0)),
		// w [Cout, Cin, kh, kw]
		Op::Conv2d { .. } | Op::GroupConv2d { .. } => dim(input(1), 1)
			.saturating_mul(dim(input(1), 2))
			.saturating_mul(dim(input(1), 3)),
		Op::Lrn { size } => u64::from(*size),
		Op::MaxPool { kernel, .. } | Op::AvgPool { kernel, .. } => {
			u64::from(kernel[0]).saturating_mul(u64::from(kernel[1]))
		}
		// dy [B, N] against w [N, K]
		Op::DenseGradInput { .. } => last(input(0)),
		// sums over the batch (or the pools) B of x [B, ..]
		Op::SgdWeight { .. } | Op::SgdBias { .. } | Op::MeanRows => dim(input(0), 0),
		_ => 1,
	};
	let elements = |d: &TensorDesc| d.elements().map_or(u64::MAX, |n| n as u64);
	let out = elements(&node.output);
	let reads = match node.op {
		// a lookup reads its ids and one table row per output row, not the table
		Op::Gather => node
			.inputs
			.get(1)
			.map_or(0, |ids| elements(&ids.desc))
			.saturating_add(out),
		_ => node
			.inputs
			.iter()
			.fold(0u64, |n, x| n.saturating_add(elements(&x.desc))),
	};
	out.saturating_mul(reduction)
		.saturating_add(reads)
		.saturating_add(out)
}

/// VM steps per unit of [`node_work`] at most, per op: about twice the most measured on
/// large nodes of real architectures (`tests/ops.rs`,
/// `the_step_bound_holds_on_large_nodes`: fully connected 2.4–5.3, convolution 11–13,
/// grouped and depthwise convolution 12–14, max pooling 15–16, batched matmul 7–10, softmax 15, layer norm 48, add 8.4 (25 with
/// a wide input: MiniLM's residual sums), table
/// lookups 4, transpose 5, reshape 1.4; in a training round: dense 12, its input
/// gradient 16, SGD 13–16, the cross-entropy gradient 93, slices and concatenations of
/// i32 vectors 9–14), and never below what the random small nodes of every op need past
/// [`STEPS_BASE`].
pub fn steps_per_work(op: &Op) -> u64 {
	match op {
		Op::FullyConnected { .. } | Op::Lut | Op::Gather => 12,
		Op::Reshape => 8,
		Op::Relu | Op::Transpose { .. } => 16,
		Op::MatMul { .. } => 24,
		Op::Slice { .. } | Op::Concat => 32,
		Op::Conv2d { .. } | Op::Dense { .. } | Op::DenseGradInput { .. } => 32,
		// a depthwise 3×3 reduction is short: the per-pixel overhead weighs more
		Op::GroupConv2d { .. } => 48,
		Op::Mul { .. } => 32,
		Op::Lrn { .. } => 48,
		Op::MaxPool { .. } | Op::AvgPool { .. } | Op::Softmax => 40,
		Op::MaskedSoftmax { .. } | Op::PoolNormalize { .. } | Op::Add { .. } => 48,
		Op::SgdWeight { .. } | Op::SgdBias { .. } | Op::MeanRows => 48,
		Op::LayerNorm { .. } => 128,
		Op::SoftmaxXentGrad => 192,
	}
}

/// Steps of a node with no work at all at most: the guest's start (reading the
/// descriptor) and end (the random small nodes take up to ~4 000 past their work).
pub const STEPS_BASE: u64 = 1 << 15;

/// The most VM steps the guest takes to run `node`.
pub fn node_steps_bound(node: &Node) -> u64 {
	steps_per_work(&node.op)
		.saturating_mul(node_work(node))
		.saturating_add(STEPS_BASE)
}

/// The node of `model` with the highest [`node_steps_bound`] (1-based) and that bound
/// (`None` for a graph without nodes).
pub fn heaviest_node(model: &crate::types::Model) -> Option<(usize, u64)> {
	model
		.graph
		.nodes
		.iter()
		.enumerate()
		.map(|(j, n)| (j + 1, node_steps_bound(n)))
		.max_by_key(|&(_, b)| b)
}
