//! Validation: every shape, type, parameter and bound a kernel relies on is checked
//! here, once, so the kernels can index without failing.

use crate::{error::NnError, quant::requant_ok, types::*};
use alloc::vec::Vec;

fn shape_err(op: &Op) -> NnError {
	NnError::Shape {
		node: 0,
		op: op.name(),
	}
}

/// Check an activation's type (the graph input, a node output) against the global
/// bounds: at most `MAX_TENSOR_BYTES`.
pub fn check_tensor(d: &TensorDesc) -> Result<(), NnError> {
	check_tensor_within(d, MAX_TENSOR_BYTES)
}

/// Check a weight's type, or any node input's, against the global bounds: at most
/// `MAX_WEIGHT_BYTES` (one VM slot). Inputs from graph slots are activations, held to
/// [`check_tensor`] where they are produced.
pub fn check_weight(d: &TensorDesc) -> Result<(), NnError> {
	check_tensor_within(d, MAX_WEIGHT_BYTES)
}

fn check_tensor_within(d: &TensorDesc, max_bytes: usize) -> Result<(), NnError> {
	if d.shape.is_empty() || d.shape.len() > MAX_RANK || d.shape.contains(&0) {
		return Err(NnError::BadTensor);
	}
	match d.bytes() {
		Some(b) if b <= max_bytes => Ok(()),
		_ => Err(NnError::BadTensor),
	}
}

fn pool_out(h: u32, k: u8, s: u8, p0: u8, p1: u8) -> Option<u32> {
	let (k, s) = (k as u32, s as u32);
	if k == 0 || s == 0 || p0 as u32 >= k || p1 as u32 >= k {
		return None;
	}
	let padded = h + p0 as u32 + p1 as u32;
	if padded < k {
		return None;
	}
	Some((padded - k) / s + 1)
}

/// The output shape the op produces from `inputs`, after checking every input's rank,
/// type, shape and the op's parameters. `Reshape`, `Slice` and `Concat` have no
/// inferred shape: they return the input's (for `Concat`, `[total elements]`) and
/// [`check_node`] compares element counts (for `Slice`, the range) instead.
pub fn infer(op: &Op, inputs: &[&TensorDesc]) -> Result<Vec<u32>, NnError> {
	let e = || shape_err(op);
	if !op.accepts_inputs(inputs.len()) {
		return Err(NnError::Arity { node: 0 });
	}
	for d in inputs {
		check_weight(d)?;
	}
	if op.is_training() {
		return crate::train::infer(op, inputs);
	}
	let is_i8 = |d: &TensorDesc| d.dtype == DType::I8;
	let is_i32 = |d: &TensorDesc| d.dtype == DType::I32;
	let x = inputs[0];
	// Add, LayerNorm, MaskedSoftmax and FullyConnected also take a wide (i32) first
	// input
	let wide_in = matches!(
		op,
		Op::Add { .. }
			| Op::LayerNorm { .. }
			| Op::MaskedSoftmax { .. }
			| Op::FullyConnected { .. }
	);
	if !is_i8(x) && !wide_in {
		return Err(e());
	}
	let requant_check = |rq: &Requant| if requant_ok(*rq) { Ok(()) } else { Err(e()) };
	match op {
		Op::FullyConnected { requant, .. } => {
			requant_check(requant)?;
			let (w, b) = (inputs[1], inputs[2]);
			let k = x.last_dim();
			if !is_i8(w) || !is_i32(b) || w.shape.len() != 2 || b.shape.len() != 1 {
				return Err(e());
			}
			let n = w.shape[0];
			if w.shape[1] as usize != k || b.shape[0] != n || k > MAX_REDUCTION {
				return Err(e());
			}
			// per-channel multipliers
			if let Some(m) = inputs.get(3) {
				if !is_i32(m) || m.shape != [n] {
					return Err(e());
				}
			}
			let mut out = x.shape.clone();
			*out.last_mut().ok_or_else(e)? = n;
			Ok(out)
		}
		Op::MatMul {
			transpose_b,
			requant,
		} => {
			requant_check(requant)?;
			let b = inputs[1];
			let r = x.shape.len();
			if !is_i8(b) || b.shape.len() != r || !(r == 2 || r == 3) {
				return Err(e());
			}
			let (m, k) = (x.shape[r - 2], x.shape[r - 1]);
			let (kb, n) = if *transpose_b {
				(b.shape[r - 1], b.shape[r - 2])
			} else {
				(b.shape[r - 2], b.shape[r - 1])
			};
			if kb != k || k as usize > MAX_REDUCTION || (r == 3 && x.shape[0] != b.shape[0]) {
				return Err(e());
			}
			let mut out = x.shape.clone();
			out[r - 2] = m;
			out[r - 1] = n;
			Ok(out)
		}
		Op::Add {
			a_mult,
			b_mult,
			shift,
			..
		} => {
			let b = inputs[1];
			const LIM: i32 = 1 << 22;
			if b.shape != x.shape
				|| !(-LIM..=LIM).contains(a_mult)
				|| !(-LIM..=LIM).contains(b_mult)
				|| *shift > 31
			{
				return Err(e());
			}
			Ok(x.shape.clone())
		}
		Op::Relu | Op::Reshape => Ok(x.shape.clone()),
		Op::Conv2d {
			stride,
			pad,
			requant,
			..
		}
		| Op::GroupConv2d {
			stride,
			pad,
			requant,
			..
		} => {
			requant_check(requant)?;
			let groups = match op {
				Op::GroupConv2d { groups, .. } => *groups,
				_ => 1,
			};
			let (w, b) = (inputs[1], inputs[2]);
			if x.shape.len() != 4 || w.shape.len() != 4 || b.shape.len() != 1 {
				return Err(e());
			}
			// groups divide the input and output channels; each group reads its share
			if groups == 0
				|| !x.shape[1].is_multiple_of(groups)
				|| !w.shape[0].is_multiple_of(groups)
			{
				return Err(e());
			}
			if !is_i8(w)
				|| !is_i32(b)
				|| w.shape[1] != x.shape[1] / groups
				|| b.shape[0] != w.shape[0]
			{
				return Err(e());
			}
			// per-channel multipliers
			if let Some(m) = inputs.get(3) {
				if !is_i32(m) || m.shape != [w.shape[0]] {
					return Err(e());
				}
			}
			let (kh, kw) = (w.shape[2], w.shape[3]);
			if kh > 255 || kw > 255 {
				return Err(e());
			}
			let red = (w.shape[1] as usize) * (kh as usize) * (kw as usize);
			if red > MAX_REDUCTION {
				return Err(e());
			}
			// padding may reach the kernel size for convolutions: only bound it
			let oh = conv_out(x.shape[2], kh, stride[0], pad[0], pad[2]).ok_or_else(e)?;
			let ow = conv_out(x.shape[3], kw, stride[1], pad[1], pad[3]).ok_or_else(e)?;
			Ok(alloc::vec![x.shape[0], w.shape[0], oh, ow])
		}
		Op::MaxPool {
			kernel,
			stride,
			pad,
		} => {
			if x.shape.len() != 4 {
				return Err(e());
			}
			let oh = pool_out(x.shape[2], kernel[0], stride[0], pad[0], pad[2]).ok_or_else(e)?;
			let ow = pool_out(x.shape[3], kernel[1], stride[1], pad[1], pad[3]).ok_or_else(e)?;
			Ok(alloc::vec![x.shape[0], x.shape[1], oh, ow])
		}
		Op::AvgPool { kernel, stride } => {
			if x.shape.len() != 4 {
				return Err(e());
			}
			let oh = pool_out(x.shape[2], kernel[0], stride[0], 0, 0).ok_or_else(e)?;
			let ow = pool_out(x.shape[3], kernel[1], stride[1], 0, 0).ok_or_else(e)?;
			Ok(alloc::vec![x.shape[0], x.shape[1], oh, ow])
		}
		Op::Transpose { perm } => {
			let r = x.shape.len();
			if perm.len() != r {
				return Err(e());
			}
			let mut seen = [false; MAX_RANK];
			for &p in perm {
				let p = p as usize;
				if p >= r || seen[p] {
					return Err(e());
				}
				seen[p] = true;
			}
			Ok(perm.iter().map(|&p| x.shape[p as usize]).collect())
		}
		Op::Softmax => {
			let t = inputs[1];
			if !is_i32(t) || t.shape != [256] || x.last_dim() > MAX_REDUCTION {
				return Err(e());
			}
			Ok(x.shape.clone())
		}
		Op::LayerNorm { requant, .. } => {
			requant_check(requant)?;
			let (g, b) = (inputs[1], inputs[2]);
			let d = x.last_dim() as u32;
			if !is_i8(g) || !is_i32(b) || g.shape != [d] || b.shape != [d] {
				return Err(e());
			}
			if d as usize > MAX_REDUCTION {
				return Err(e());
			}
			Ok(x.shape.clone())
		}
		Op::Lut => {
			let t = inputs[1];
			let per_channel = t.shape == [x.last_dim() as u32, 256];
			if !(is_i8(t) || is_i32(t)) || !(t.shape == [256] || per_channel) {
				return Err(e());
			}
			Ok(x.shape.clone())
		}
		Op::Gather => {
			let ids = inputs[1];
			if x.shape.len() != 2 || !is_i32(ids) || ids.shape.len() >= MAX_RANK {
				return Err(e());
			}
			let mut out = ids.shape.clone();
			out.push(x.shape[1]);
			Ok(out)
		}
		Op::MaskedSoftmax { shift, .. } => {
			let (t, ids) = (inputs[1], inputs[2]);
			let s = x.last_dim();
			if !is_i32(t) || t.shape != [256] || s > MAX_REDUCTION || *shift > 31 {
				return Err(e());
			}
			if !is_i32(ids) || ids.shape.len() != 1 || ids.shape[0] as usize != s {
				return Err(e());
			}
			Ok(x.shape.clone())
		}
		Op::Mul { requant } => {
			requant_check(requant)?;
			let b = inputs[1];
			if !is_i8(b) || b.shape.len() != x.shape.len() {
				return Err(e());
			}
			// each axis of b is a's, or 1 from some axis on
			let mut ones = false;
			for (&db, &da) in b.shape.iter().zip(&x.shape) {
				if db == 1 {
					ones |= da != 1;
				} else if db != da || ones {
					return Err(e());
				}
			}
			Ok(x.shape.clone())
		}
		Op::Lrn { size } => {
			let t = inputs[1];
			let len = u32::from(*size) * 16384 + 1;
			if x.shape.len() != 4 || *size == 0 || !is_i32(t) || t.shape != [len] {
				return Err(e());
			}
			Ok(x.shape.clone())
		}
		Op::PoolNormalize { multiplier, .. } => {
			let ids = inputs[1];
			if x.shape.len() != 2 || !is_i32(ids) || ids.shape != [x.shape[0]] {
				return Err(e());
			}
			let (s, d) = (x.shape[0] as usize, x.shape[1] as usize);
			if s > MAX_REDUCTION || d > MAX_REDUCTION || !(1..=1 << 16).contains(multiplier) {
				return Err(e());
			}
			Ok(alloc::vec![x.shape[1]])
		}
		_ => Err(e()),
	}
}

fn conv_out(h: u32, k: u32, s: u8, p0: u8, p1: u8) -> Option<u32> {
	if s == 0 || k == 0 {
		return None;
	}
	let padded = h + p0 as u32 + p1 as u32;
	if padded < k {
		return None;
	}
	Some((padded - k) / s as u32 + 1)
}

fn elements(shape: &[u32]) -> Option<usize> {
	shape
		.iter()
		.try_fold(1usize, |n, &d| n.checked_mul(d as usize))
}

/// The element type `op` produces from inputs of types `inputs` (checked).
pub fn output_dtype(op: &Op, inputs: &[&TensorDesc]) -> DType {
	match op {
		Op::Slice { .. } | Op::Concat => inputs.first().map(|d| d.dtype).unwrap_or(DType::I8),
		op if op.is_training() => DType::I32,
		// a table of i32 entries gives a wide output
		Op::Lut => inputs.get(1).map_or(DType::I8, |t| t.dtype),
		_ => DType::I8,
	}
}

/// Check one node on its own (as the guest and the chain see it): arity, input types,
/// parameters and that the declared output type is what the op produces.
pub fn check_node(node: &Node) -> Result<(), NnError> {
	let descs: Vec<&TensorDesc> = node.inputs.iter().map(|i| &i.desc).collect();
	if node.inputs.len() > MAX_NODE_INPUTS {
		return Err(NnError::Arity { node: 0 });
	}
	let shape = infer(&node.op, &descs)?;
	check_tensor(&node.output)?;
	// FullyConnected, Add and LayerNorm may write a wide (i32) output
	let wide_ok = matches!(
		node.op,
		Op::FullyConnected { .. } | Op::Add { .. } | Op::LayerNorm { .. } | Op::MatMul { .. }
	) && node.output.dtype == DType::I32;
	let out_ok = (wide_ok || node.output.dtype == output_dtype(&node.op, &descs))
		&& match node.op {
			Op::Reshape | Op::Concat => node.output.elements() == elements(&shape),
			Op::Slice { offset } => match (node.output.elements(), elements(&shape)) {
				(Some(n), Some(total)) => (offset as usize)
					.checked_add(n)
					.is_some_and(|end| end <= total),
				_ => false,
			},
			_ => node.output.shape == shape,
		};
	if !out_ok {
		return Err(shape_err(&node.op));
	}
	Ok(())
}

/// Check a whole graph: size, topological order, sources, types and every node.
/// `weights` are the model's weight types.
pub fn check_graph(graph: &Graph, weights: &[TensorDesc]) -> Result<(), NnError> {
	if weights.len() > MAX_WEIGHTS {
		return Err(NnError::GraphSize);
	}
	check_graph_structure(graph)?;
	for (i, node) in graph.nodes.iter().enumerate() {
		for input in &node.inputs {
			if let Source::Weight(w) = input.source {
				match weights.get(w as usize) {
					Some(d) if *d == input.desc => {}
					Some(_) => return Err(NnError::TypeMismatch { node: i + 1 }),
					None => return Err(NnError::BadSource { node: i + 1 }),
				}
			}
		}
	}
	Ok(())
}

/// Check a graph without its model's weights: its size, the input's type, topological
/// order, every node (op, shapes, parameters, within [`check_node`]) and the types of
/// inputs from graph slots; a weight input only by its index (at most `MAX_WEIGHTS`;
/// its type is checked with the weights by [`check_graph`]). What the chain checks when
/// a model is registered: it sees the graph, not the weights.
pub fn check_graph_structure(graph: &Graph) -> Result<(), NnError> {
	if graph.nodes.is_empty() || graph.nodes.len() > MAX_NODES {
		return Err(NnError::GraphSize);
	}
	check_tensor(&graph.input)?;
	for (i, node) in graph.nodes.iter().enumerate() {
		let j = i + 1;
		for input in &node.inputs {
			let src = match input.source {
				Source::Slot(0) => &graph.input,
				Source::Slot(s) if (s as usize) < j => &graph.nodes[s as usize - 1].output,
				Source::Weight(w) if (w as usize) < MAX_WEIGHTS => continue,
				_ => return Err(NnError::BadSource { node: j }),
			};
			if *src != input.desc {
				return Err(NnError::TypeMismatch { node: j });
			}
		}
		check_node(node).map_err(|e| e.at(j))?;
	}
	Ok(())
}

/// Check a whole model: the graph, and every weight's type and byte length.
pub fn check_model(model: &Model) -> Result<(), NnError> {
	let descs: Vec<TensorDesc> = model.weights.iter().map(|w| w.desc.clone()).collect();
	for (i, w) in model.weights.iter().enumerate() {
		check_weight(&w.desc).map_err(|_| NnError::WeightLength { weight: i })?;
		if w.desc.bytes() != Some(w.data.len()) {
			return Err(NnError::WeightLength { weight: i });
		}
	}
	check_graph(&model.graph, &descs)
}
