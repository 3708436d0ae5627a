//! Weights for a graph-only ONNX export: the architectures of `scripts/cnn-models.py`
//! are checked in without their weights (primitives/nn/fixtures/cnn, tens of KB in
//! place of 180 MB); [`fill_missing`] gives every emptied initializer seeded random
//! values by its role, and [`FGraph::normalize`](super::float::FGraph::normalize)
//! then sets each layer's scale from data, as batch normalization's statistics would
//! once folded. What the importer reads (ops, attributes, shapes, shape subgraphs) is
//! exactly the export's.

use super::{parse, ImportError};
use crate::zoo::Rng;
use std::collections::HashMap;
use tract_onnx::pb::{self, tensor_proto::DataType};

fn normal(r: &mut Rng) -> f64 {
	// Box–Muller on two uniforms in (0, 1]
	let u = |r: &mut Rng| ((r.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
	let (a, b) = (u(r), u(r));
	(-2.0 * a.ln()).sqrt() * (2.0 * std::f64::consts::PI * b).cos()
}

fn uniform(r: &mut Rng, lo: f64, hi: f64) -> f64 {
	lo + (hi - lo) * ((r.next_u64() >> 11) as f64 / (1u64 << 53) as f64)
}

/// Give every float initializer that has dims but no data seeded random values:
/// convolution and fully connected weights `N(0, 2 / fan_in)`, biases `N(0, 0.01)`,
/// batch-norm scales in `[0.5, 1.5]`, shifts and means `N(0, 0.01)`, variances in
/// `[0.5, 1.5]`, anything else `N(0, 0.01)`. Returns how many were filled.
pub fn fill_missing(model: &mut pb::ModelProto, seed: u64) -> usize {
	let Some(graph) = model.graph.as_mut() else {
		return 0;
	};
	// the role of each initializer: (op type, input index) of its first consumer,
	// through the Identity nodes exporters use for tensors they deduplicated
	let ids = identities(graph);
	let mut role: HashMap<String, (String, usize)> = HashMap::new();
	for n in graph.node.iter().filter(|n| n.op_type != "Identity") {
		for (i, name) in n.input.iter().enumerate() {
			role.entry(resolve(&ids, name).to_string())
				.or_insert_with(|| (n.op_type.clone(), i));
		}
	}
	let mut filled = 0;
	for (k, init) in graph.initializer.iter_mut().enumerate() {
		let count: i64 = init.dims.iter().product();
		let empty = init.raw_data.is_empty() && init.float_data.is_empty();
		if init.data_type != DataType::Float as i32 || !empty || count <= 0 {
			continue;
		}
		let mut r = Rng(seed ^ (k as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
		let fan_in: i64 = init.dims.iter().skip(1).product::<i64>().max(1);
		let (op, i) = role
			.get(&init.name)
			.map(|(o, i)| (o.as_str(), *i))
			.unwrap_or(("", 0));
		let sd_w = (2.0 / fan_in as f64).sqrt();
		let values: Vec<f32> = (0..count)
			.map(|_| {
				(match (op, i) {
					("Conv" | "Gemm" | "MatMul", 1) => sd_w * normal(&mut r),
					("BatchNormalization", 1) | ("BatchNormalization", 4) => {
						uniform(&mut r, 0.5, 1.5)
					}
					_ => 0.1 * normal(&mut r),
				}) as f32
			})
			.collect();
		init.raw_data = values.iter().flat_map(|v| v.to_le_bytes()).collect();
		filled += 1;
	}
	filled
}

/// Identity nodes: output name → input name.
fn identities(graph: &pb::GraphProto) -> HashMap<String, String> {
	graph
		.node
		.iter()
		.filter(|n| n.op_type == "Identity")
		.filter_map(|n| Some((n.output.first()?.clone(), n.input.first()?.clone())))
		.collect()
}

/// The tensor a name stands for through Identity nodes.
fn resolve<'a>(ids: &'a HashMap<String, String>, mut name: &'a str) -> &'a str {
	for _ in 0..ids.len() {
		match ids.get(name) {
			Some(src) => name = src,
			None => break,
		}
	}
	name
}

/// Normalize a model with random weights from data ([`FGraph::normalize`] on
/// `inputs`, float inputs of the model's input size), written back into the ONNX
/// model's initializers: each convolution's weight rows and bias, or, where a
/// convolution is followed by a batch normalization (or is one, standing alone), that
/// normalization's scale and shift. Afterwards `parse(model)` and any ONNX runtime
/// compute the normalized model.
///
/// [`FGraph::normalize`]: super::float::FGraph::normalize
pub fn normalize(model: &mut pb::ModelProto, inputs: &[Vec<f32>]) -> Result<(), ImportError> {
	let mut g = parse(model)?;
	// convolutions from the model's Conv and BatchNormalization nodes (not the
	// importer's own, such as global pooling)
	let scalable: std::collections::HashSet<String> = model
		.graph
		.iter()
		.flat_map(|g| &g.node)
		.filter(|n| matches!(n.op_type.as_str(), "Conv" | "BatchNormalization"))
		.map(|n| n.name.clone())
		.collect();
	let applied = g.normalize(inputs, |n| scalable.contains(&n.name));
	let graph = model
		.graph
		.as_mut()
		.ok_or_else(|| ImportError::Parse("no graph".into()))?;
	let bad = |what: String| ImportError::Parse(format!("normalize: {what}"));
	let ids = identities(graph);
	let index: HashMap<String, usize> = graph
		.initializer
		.iter()
		.enumerate()
		.map(|(i, t)| (t.name.clone(), i))
		.collect();
	let floats = |t: &pb::TensorProto| -> Vec<f32> {
		if t.raw_data.is_empty() {
			t.float_data.clone()
		} else {
			t.raw_data
				.chunks_exact(4)
				.map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
				.collect()
		}
	};
	for (name, a, mean) in applied {
		let node = graph
			.node
			.iter()
			.position(|n| n.name == name)
			.ok_or_else(|| bad(format!("no node `{name}`")))?;
		// a batch normalization right after the convolution is where the scale goes
		let out = graph.node[node].output.first().cloned().unwrap_or_default();
		let target = graph
			.node
			.iter()
			.position(|n| n.op_type == "BatchNormalization" && n.input.first() == Some(&out))
			.unwrap_or(node);
		let n = graph.node[target].clone();
		if !matches!(n.op_type.as_str(), "Conv" | "BatchNormalization") {
			return Err(bad(format!("node `{name}` is a {}", n.op_type)));
		}
		// the weight (or scale) is input 1, the bias (or shift) input 2
		let init = |i: usize| -> Result<usize, ImportError> {
			n.input
				.get(i)
				.and_then(|s| index.get(resolve(&ids, s)))
				.copied()
				.ok_or_else(|| bad(format!("`{}` has no initializer input {i}", n.name)))
		};
		let wi = init(1)?;
		// a convolution without a bias gets a zero one
		let bi = match init(2) {
			Ok(bi) => bi,
			Err(_) if n.op_type == "Conv" && n.input.len() == 2 => {
				let mut t = graph.initializer[wi].clone();
				t.name = format!("{}.bias", n.name);
				t.dims = vec![a.len() as i64];
				t.float_data.clear();
				t.raw_data = vec![0; 4 * a.len()];
				graph.node[target].input.push(t.name.clone());
				graph.initializer.push(t);
				graph.initializer.len() - 1
			}
			Err(e) => return Err(e),
		};
		let mut w = floats(&graph.initializer[wi]);
		let mut b = floats(&graph.initializer[bi]);
		let c = a.len();
		if b.len() != c || w.len() % c != 0 {
			return Err(bad(format!("`{}`: {c} channels", n.name)));
		}
		let per = w.len() / c;
		for ch in 0..c {
			w[ch * per..(ch + 1) * per]
				.iter_mut()
				.for_each(|v| *v = (*v as f64 * a[ch]) as f32);
			b[ch] = ((b[ch] as f64 - mean[ch]) * a[ch]) as f32;
		}
		// new initializers of this node's own: the old ones may be shared
		for (input, (src, v)) in [(1, (wi, w)), (2, (bi, b))] {
			let mut t = graph.initializer[src].clone();
			t.name = format!("{}.normalized.{input}", graph.node[target].name);
			t.float_data.clear();
			t.raw_data = v.iter().flat_map(|x| x.to_le_bytes()).collect();
			graph.node[target].input[input] = t.name.clone();
			graph.initializer.push(t);
		}
	}
	Ok(())
}
