//! Bounded nodes: rewrite a model so that every node's static VM step bound
//! ([`node_steps_bound`]) is within a limit (the chain's `MaxNodeSteps`, checked when a
//! model is registered), so every node of every model can be dissected and defended
//! with bounded worker time and memory.
//!
//! A fully connected node over the limit is split into blocks whose outputs a chain of
//! [`Op::Concat`] nodes joins into the original output (same type, same bytes):
//! - by rows of its input `x [M, K]` (`M >= 2`): a [`Op::Slice`] of `mb` rows, then the
//!   same layer on it, giving `[mb, N]`; row blocks concatenate to `[M, N]`;
//! - by output channels when `M = 1`: new weights hold rows `n0..n1` of `w`, `b` (and
//!   the per-channel multipliers); channel blocks concatenate to `[1, N]`.
//!
//! A convolution (`Conv2d`, `GroupConv2d`) at batch 1 is split by output channels
//! (NCHW at batch 1: channel blocks are contiguous): new weights hold its rows of `w`,
//! `b` and the multipliers; a grouped one is split at group boundaries, each block
//! reading a [`Op::Slice`] of its groups' input channels.
//!
//! Rows and channels are computed independently in the kernels, so the split model's
//! output is bit-identical to the original's (tested). Other ops over the limit are
//! refused by name.

use crate::{
	check::check_model,
	cost::node_steps_bound,
	types::{DType, Model, Node, NodeInput, Op, Source, TensorDesc, Weight, MAX_NODE_INPUTS},
	NnError,
};
use alloc::{vec, vec::Vec};

/// Why a model cannot be brought within a step bound.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum SplitError {
	/// Node `node` (1-based, in the original model) is over the bound and cannot be
	/// split: its op has no split, or even its smallest block is over the bound.
	Unsplittable {
		/// 1-based node index in the original graph.
		node: usize,
		/// Its op's name.
		op: &'static str,
		/// Its step bound.
		bound: u64,
	},
	/// The split model breaks the format (too many nodes or weights, for one).
	Format(NnError),
}

impl core::fmt::Display for SplitError {
	fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
		match self {
			SplitError::Unsplittable { node, op, bound } => write!(
				f,
				"node {node} ({op}) may take {bound} VM steps and cannot be split under the \
				 bound (fully connected layers split by rows or output channels, \
				 convolutions at batch 1 by output channels)"
			),
			SplitError::Format(e) => write!(f, "the split model breaks the format: {e:?}"),
		}
	}
}

/// `model` with every node over `max_steps` split (see the module docs); the model
/// itself when no node is over. Returns the new model and how many nodes were split.
pub fn split_heavy_nodes(model: &Model, max_steps: u64) -> Result<(Model, usize), SplitError> {
	let mut weights = model.weights.clone();
	let mut nodes: Vec<Node> = Vec::with_capacity(model.graph.nodes.len());
	// new slot of each original slot (0 = the graph input)
	let mut slot = vec![0u16];
	let mut split = 0;
	for (i, node) in model.graph.nodes.iter().enumerate() {
		let mut node = node.clone();
		for input in &mut node.inputs {
			if let Source::Slot(s) = input.source {
				let new = slot
					.get(s as usize)
					.copied()
					.ok_or(SplitError::Format(NnError::BadSource { node: i + 1 }))?;
				input.source = Source::Slot(new);
			}
		}
		let bound = node_steps_bound(&node);
		if bound > max_steps {
			let unsplittable = SplitError::Unsplittable {
				node: i + 1,
				op: node.op.name(),
				bound,
			};
			let pieces = match node.op {
				Op::FullyConnected { .. } => {
					split_fc(&node, &mut weights, nodes.len(), max_steps).ok_or(unsplittable)?
				}
				Op::Conv2d { .. } | Op::GroupConv2d { .. } => {
					split_conv(&node, &mut weights, nodes.len(), max_steps).ok_or(unsplittable)?
				}
				_ => return Err(unsplittable),
			};
			nodes.extend(pieces);
			split += 1;
		} else {
			nodes.push(node);
		}
		let last =
			u16::try_from(nodes.len()).map_err(|_| SplitError::Format(NnError::GraphSize))?;
		slot.push(last);
	}
	let out = Model {
		graph: crate::types::Graph {
			input: model.graph.input.clone(),
			nodes,
		},
		weights,
	};
	check_model(&out).map_err(SplitError::Format)?;
	Ok((out, split))
}

/// Rows (leading elements) and reduction length of a fully connected node's input.
fn rows_of(x: &TensorDesc) -> (u32, u32) {
	let k = x.shape.last().copied().unwrap_or(1);
	let m = x.shape[..x.shape.len().saturating_sub(1)]
		.iter()
		.product::<u32>()
		.max(1);
	(m, k)
}

/// Block sizes: `total` cut into `blocks` near-equal parts.
fn blocks(total: u32, blocks: u32) -> Vec<(u32, u32)> {
	let (q, r) = (total / blocks, total % blocks);
	let mut at = 0;
	(0..blocks)
		.map(|b| {
			let len = q + u32::from(b < r);
			let block = (at, len);
			at += len;
			block
		})
		.collect()
}

/// The pieces replacing fully connected `node` (its inputs already renumbered) when it
/// becomes slot `base + 1`..: blocks, then the concatenations; `None` if no block
/// count brings every piece within `max_steps`.
fn split_fc(
	node: &Node,
	weights: &mut Vec<Weight>,
	base: usize,
	max_steps: u64,
) -> Option<Vec<Node>> {
	let x = &node.inputs.first()?.desc;
	let (m, k) = rows_of(x);
	let n = node.output.shape.last().copied()?;
	let most = if m >= 2 { m } else { n };
	let mut count = 2;
	while count <= most {
		let pieces = if m >= 2 {
			row_blocks(node, m, k, n, count, base)
		} else {
			channel_blocks(node, weights, k, n, count, base, false)?
		};
		if pieces.iter().all(|p| node_steps_bound(p) <= max_steps) {
			if m < 2 {
				// now with the weights added
				return channel_blocks(node, weights, k, n, count, base, true);
			}
			return Some(pieces);
		}
		// one block more at a time while few, then twice as many
		count = if count < 16 {
			count + 1
		} else {
			count.saturating_mul(2).min(most.max(count + 1))
		};
	}
	None
}

/// A layer's weight, bias and (if it has them) per-channel multipliers.
fn layer_weights(node: &Node, weights: &[Weight]) -> Option<(Weight, Weight, Option<Weight>)> {
	let weight_of = |i: usize| match node.inputs.get(i).map(|x| x.source) {
		Some(Source::Weight(w)) => weights.get(w as usize).cloned(),
		_ => None,
	};
	let mult = match node.inputs.len() {
		4 => Some(weight_of(3)?),
		_ => None,
	};
	Some((weight_of(1)?, weight_of(2)?, mult))
}

/// Inputs for new weights `pieces`, numbered from `next` on (added to `weights`
/// only if `add`).
fn weight_inputs(
	pieces: Vec<Weight>,
	weights: &mut Vec<Weight>,
	next: &mut usize,
	add: bool,
) -> Option<Vec<NodeInput>> {
	let mut inputs = Vec::with_capacity(pieces.len());
	for p in pieces {
		inputs.push(NodeInput {
			source: Source::Weight(u16::try_from(*next).ok()?),
			desc: p.desc.clone(),
		});
		*next += 1;
		if add {
			weights.push(p);
		}
	}
	Some(inputs)
}

/// The rows `n0..n0 + len` of a weight whose rows are `width` elements long.
fn weight_rows(t: &Weight, n0: u32, len: u32, width: u32) -> Weight {
	let esize = match t.desc.dtype {
		DType::I8 => 1,
		DType::I32 => 4,
	};
	let (from, to) = (
		(n0 * width) as usize * esize,
		((n0 + len) * width) as usize * esize,
	);
	let mut shape = t.desc.shape.clone();
	shape[0] = len;
	Weight {
		desc: TensorDesc {
			shape,
			..t.desc.clone()
		},
		data: t.data.get(from..to).map(<[u8]>::to_vec).unwrap_or_default(),
	}
}

/// The pieces replacing convolution `node` at batch 1 (see [`split_fc`]): output
/// channel blocks (whole groups of a grouped convolution, each on a slice of its
/// input channels), then the concatenations.
fn split_conv(
	node: &Node,
	weights: &mut Vec<Weight>,
	base: usize,
	max_steps: u64,
) -> Option<Vec<Node>> {
	let x = &node.inputs.first()?.desc;
	if x.shape.first() != Some(&1) || x.shape.len() != 4 {
		return None;
	}
	let groups = match node.op {
		Op::GroupConv2d { groups, .. } => groups.max(1),
		_ => 1,
	};
	let o = node.output.shape[1];
	let units = if groups == 1 { o } else { groups };
	let mut count = 2;
	while count <= units {
		let pieces = conv_blocks(node, weights, groups, count, base, false)?;
		if pieces.iter().all(|p| node_steps_bound(p) <= max_steps) {
			return conv_blocks(node, weights, groups, count, base, true);
		}
		count = if count < 16 {
			count + 1
		} else {
			count.saturating_mul(2).min(units.max(count + 1))
		};
	}
	None
}

/// `count` blocks of a convolution's output channels (of whole groups when
/// `groups > 1`); weights added to `weights` only if `add`.
fn conv_blocks(
	node: &Node,
	weights: &mut Vec<Weight>,
	groups: u32,
	count: u32,
	base: usize,
	add: bool,
) -> Option<Vec<Node>> {
	let (w, b, mult) = layer_weights(node, weights)?;
	let x = &node.inputs[0];
	let [_, c, h, wd] = <[u32; 4]>::try_from(x.desc.shape.as_slice()).ok()?;
	let o = w.desc.shape[0];
	let width: u32 = w.desc.shape[1..].iter().product();
	let (og, cg) = (o / groups, c / groups);
	let units = if groups == 1 { o } else { groups };
	let mut next_weight = weights.len();
	let mut out = Vec::new();
	let mut parts = Vec::new();
	for (u0, ub) in blocks(units, count) {
		let (o0, ob) = if groups == 1 {
			(u0, ub)
		} else {
			(u0 * og, ub * og)
		};
		let mut op = node.op.clone();
		let input = if groups == 1 {
			x.clone()
		} else {
			// the input channels of these groups
			let desc = TensorDesc {
				shape: vec![1, ub * cg, h, wd],
				..x.desc.clone()
			};
			out.push(Node {
				op: Op::Slice {
					offset: u0 * cg * h * wd,
				},
				inputs: vec![x.clone()],
				output: desc.clone(),
			});
			if let Op::GroupConv2d { groups, .. } = &mut op {
				*groups = ub;
			}
			NodeInput {
				source: Source::Slot(u16::try_from(base + out.len()).ok()?),
				desc,
			}
		};
		let mut pieces = vec![weight_rows(&w, o0, ob, width), weight_rows(&b, o0, ob, 1)];
		if let Some(m) = &mult {
			pieces.push(weight_rows(m, o0, ob, 1));
		}
		let mut inputs = vec![input];
		inputs.extend(weight_inputs(pieces, weights, &mut next_weight, add)?);
		let mut shape = node.output.shape.clone();
		shape[1] = ob;
		out.push(Node {
			op,
			inputs,
			output: TensorDesc {
				shape,
				..node.output.clone()
			},
		});
		parts.push(((base + out.len()) as u16, out[out.len() - 1].output.clone()));
	}
	concat_chain(&mut out, parts, &node.output, base);
	Some(out)
}

/// `count` row blocks: a slice and the layer on it, each; then the concatenations.
fn row_blocks(node: &Node, m: u32, k: u32, n: u32, count: u32, base: usize) -> Vec<Node> {
	let x = &node.inputs[0];
	let mut out = Vec::new();
	let mut parts = Vec::new();
	for (r0, mb) in blocks(m, count) {
		out.push(Node {
			op: Op::Slice { offset: r0 * k },
			inputs: vec![x.clone()],
			output: TensorDesc {
				shape: vec![mb, k],
				..x.desc.clone()
			},
		});
		let sliced = NodeInput {
			source: Source::Slot((base + out.len()) as u16),
			desc: TensorDesc {
				shape: vec![mb, k],
				..x.desc.clone()
			},
		};
		let mut inputs = node.inputs.clone();
		inputs[0] = sliced;
		out.push(Node {
			op: node.op.clone(),
			inputs,
			output: TensorDesc {
				shape: vec![mb, n],
				..node.output.clone()
			},
		});
		parts.push(((base + out.len()) as u16, out[out.len() - 1].output.clone()));
	}
	concat_chain(&mut out, parts, &node.output, base);
	out
}

/// `count` output-channel blocks of a layer with one input row: new weights for the
/// rows of `w`, `b` and the multipliers (added to `weights` only if `add`), the layer
/// on each; then the concatenations.
fn channel_blocks(
	node: &Node,
	weights: &mut Vec<Weight>,
	k: u32,
	n: u32,
	count: u32,
	base: usize,
	add: bool,
) -> Option<Vec<Node>> {
	let (w, b, mult) = layer_weights(node, weights)?;
	let rows = weight_rows;
	let mut next_weight = weights.len();
	let mut out = Vec::new();
	let mut parts = Vec::new();
	for (n0, nb) in blocks(n, count) {
		let mut pieces = vec![rows(&w, n0, nb, k), rows(&b, n0, nb, 1)];
		if let Some(mult) = &mult {
			pieces.push(rows(mult, n0, nb, 1));
		}
		let mut inputs = vec![node.inputs[0].clone()];
		inputs.extend(weight_inputs(pieces, weights, &mut next_weight, add)?);
		let mut shape = node.output.shape.clone();
		*shape.last_mut()? = nb;
		out.push(Node {
			op: node.op.clone(),
			inputs,
			output: TensorDesc {
				shape,
				..node.output.clone()
			},
		});
		parts.push(((base + out.len()) as u16, out[out.len() - 1].output.clone()));
	}
	concat_chain(&mut out, parts, &node.output, base);
	Some(out)
}

/// Join `parts` (slots and types) in order with concatenations of up to
/// `MAX_NODE_INPUTS` inputs, the first input of each after the first the previous
/// concatenation; the last one has the type `output`.
fn concat_chain(
	out: &mut Vec<Node>,
	parts: Vec<(u16, TensorDesc)>,
	output: &TensorDesc,
	base: usize,
) {
	let input = |(s, d): &(u16, TensorDesc)| NodeInput {
		source: Source::Slot(*s),
		desc: d.clone(),
	};
	let mut rest = parts.iter();
	let mut acc: Vec<NodeInput> = rest.by_ref().take(MAX_NODE_INPUTS).map(input).collect();
	loop {
		let more: Vec<NodeInput> = rest.by_ref().take(MAX_NODE_INPUTS - 1).map(input).collect();
		let elements: u32 = acc
			.iter()
			.map(|i| i.desc.shape.iter().product::<u32>())
			.sum();
		let last = more.is_empty();
		let desc = if last {
			output.clone()
		} else {
			TensorDesc {
				shape: vec![elements],
				..output.clone()
			}
		};
		out.push(Node {
			op: Op::Concat,
			inputs: core::mem::take(&mut acc),
			output: desc.clone(),
		});
		if last {
			return;
		}
		acc.push(NodeInput {
			source: Source::Slot((base + out.len()) as u16),
			desc,
		});
		acc.extend(more);
	}
}
