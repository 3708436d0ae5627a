//! Trying a model before paying for it (`opml-worker model import|inspect|run`):
//! importing an ONNX file or a BERT sentence encoder's files, summarizing a model
//! file, tokenizing text for a text model and running a model locally (optionally
//! every node in the VM, checking each node's output root).

use anyhow::{anyhow, bail, Context, Result};
use opml_nn::{
	commit::model_commitment,
	cost::{heaviest_node, node_steps_bound},
	cpu::Cpu,
	vm::{Guest, DEFAULT_MAX_STEPS},
	DType, Model, Node, Op, Prepared, TensorData, TensorDesc,
};
use std::{collections::BTreeMap, path::Path, time::Instant};

/// The calibration sentences `model import` uses for a text model when none are given
/// (40 varied English sentences; the MiniLM accuracy check evaluates on others).
pub fn default_calibration_text() -> Vec<String> {
	include_str!("../../primitives/nn/fixtures/minilm/sentences.txt")
		.lines()
		.skip(200)
		.take(40)
		.map(str::to_string)
		.collect()
}

/// A tokenizer for a text model (`tokenizer.json` of the Hugging Face format).
pub struct Text {
	tokenizer: tokenizers::Tokenizer,
}

impl Text {
	/// Load `tokenizer.json` (padding and truncation it sets are turned off: the
	/// model's sequence decides, and a longer text is an error).
	pub fn open(path: &Path) -> Result<Self> {
		let mut tokenizer = tokenizers::Tokenizer::from_file(path)
			.map_err(|e| anyhow!("{}: not a tokenizer file: {e}", path.display()))?;
		tokenizer.with_padding(None);
		tokenizer
			.with_truncation(None)
			.map_err(|e| anyhow!("{}: {e}", path.display()))?;
		Ok(Text { tokenizer })
	}

	/// The token ids of `text` (with the model's special tokens).
	pub fn ids(&self, text: &str) -> Result<Vec<u32>> {
		Ok(self
			.tokenizer
			.encode(text, true)
			.map_err(|e| anyhow!("tokenizing {text:?}: {e}"))?
			.get_ids()
			.to_vec())
	}

	/// The input of a text `model` (graph input `[seq]` i32) for `text`: the ids padded
	/// with the model's padding id; an error if the text is longer than the sequence.
	pub fn input(&self, model: &Model, text: &str) -> Result<TensorData> {
		let (seq, pad) = text_input(model)?;
		let ids = self.ids(text)?;
		if ids.len() > seq {
			bail!(
				"the text is {} tokens long, the model takes at most {seq}: shorten it",
				ids.len()
			);
		}
		let mut v: Vec<i32> = ids.iter().map(|&i| i as i32).collect();
		v.resize(seq, pad);
		Ok(TensorData::I32(v))
	}
}

/// A text model's sequence length and padding id: its input is `[seq]` i32 token ids
/// and its masked ops name the padding id.
pub fn text_input(model: &Model) -> Result<(usize, i32)> {
	let input = &model.graph.input;
	if input.dtype != DType::I32 || input.shape.len() != 1 {
		bail!(
			"the model's input is {:?} {:?}, not a sequence of token ids: give --input",
			input.dtype,
			input.shape
		);
	}
	let pad = model
		.graph
		.nodes
		.iter()
		.find_map(|n| match n.op {
			Op::MaskedSoftmax { pad, .. } | Op::PoolNormalize { pad, .. } => Some(pad),
			_ => None,
		})
		.unwrap_or(0);
	Ok((input.shape[0] as usize, pad))
}

/// Import a model: an `.onnx` file (with f32 calibration samples, as
/// `register-model`), or a directory holding a BERT encoder's `config.json`,
/// `model.safetensors` and `tokenizer.json` (calibrated on `calibration_text`, one
/// sentence per line, or the built-in sentences). `progress` receives each step.
pub fn import(
	src: &Path,
	calibration: Option<&Path>,
	calibration_quantile: Option<f64>,
	calibration_text: Option<&Path>,
	seq: usize,
	mut progress: impl FnMut(&str),
) -> Result<Model> {
	if !src.is_dir() {
		progress("reading and quantizing the ONNX model");
		return crate::models::read_model_with(src, calibration, calibration_quantile);
	}
	progress("reading config.json and model.safetensors");
	let bert = opml_nn::bert::Bert::open(src).map_err(|e| anyhow!("{e}"))?;
	let text = Text::open(&src.join("tokenizer.json"))?;
	let sentences = match calibration_text {
		Some(p) => std::fs::read_to_string(p)
			.with_context(|| format!("reading {}", p.display()))?
			.lines()
			.filter(|l| !l.trim().is_empty())
			.map(str::to_string)
			.collect(),
		None => default_calibration_text(),
	};
	if sentences.is_empty() {
		bail!("no calibration sentences");
	}
	let ids = sentences
		.iter()
		.map(|s| {
			let ids = text.ids(s)?;
			if ids.len() > seq {
				bail!(
					"calibration sentence {s:?} is {} tokens, over --seq {seq}",
					ids.len()
				);
			}
			Ok(ids)
		})
		.collect::<Result<Vec<_>>>()?;
	progress(&format!(
		"calibrating on {} sentences and quantizing (sequence {seq})",
		ids.len()
	));
	bert.import(seq, &ids)
		.map_err(|e| anyhow!("importing {}: {e}", src.display()))
}

/// Multiply-accumulates of a node (products of a fully connected layer, a matrix
/// product or a convolution; 0 for other ops).
pub fn macs(node: &Node) -> u64 {
	let out = node.output.elements().unwrap_or(0) as u64;
	let dim = |i: usize, d: usize| {
		node.inputs
			.get(i)
			.and_then(|x| x.desc.shape.get(d))
			.map_or(0, |&n| u64::from(n))
	};
	match &node.op {
		Op::FullyConnected { .. } => out * dim(1, 1),
		Op::MatMul { .. } => {
			let k = node.inputs[0].desc.last_dim() as u64;
			out * k
		}
		Op::Conv2d { .. } | Op::GroupConv2d { .. } => out * dim(1, 1) * dim(1, 2) * dim(1, 3),
		Op::Mul { .. } => out,
		_ => 0,
	}
}

/// What `model inspect` reports.
#[derive(Debug)]
pub struct Summary {
	/// The model commitment (what `register-model` registers).
	pub commitment: [u8; 32],
	/// The graph input's type.
	pub input: TensorDesc,
	/// The graph output's type.
	pub output: TensorDesc,
	/// Number of nodes.
	pub nodes: usize,
	/// Nodes per op.
	pub ops: BTreeMap<&'static str, usize>,
	/// Number of weight tensors.
	pub weights: usize,
	/// Elements of all weight tensors.
	pub parameters: u64,
	/// Bytes of all weight tensors.
	pub weight_bytes: u64,
	/// Multiply-accumulates of one inference.
	pub macs: u64,
	/// The node with the most VM steps at most (1-based), its op and that bound.
	pub heaviest: Option<(usize, &'static str, u64)>,
}

/// Summarize a (checked) model.
pub fn summarize(model: &Model) -> Result<Summary> {
	let commitment =
		model_commitment(model).map_err(|e| anyhow!("the model has no commitment: {e:?}"))?;
	let mut ops = BTreeMap::new();
	for n in &model.graph.nodes {
		*ops.entry(n.op.name()).or_insert(0) += 1;
	}
	let heaviest = heaviest_node(model).map(|(j, b)| (j, model.graph.nodes[j - 1].op.name(), b));
	Ok(Summary {
		commitment,
		input: model.graph.input.clone(),
		output: model
			.graph
			.nodes
			.last()
			.map(|n| n.output.clone())
			.ok_or_else(|| anyhow!("the model has no nodes"))?,
		nodes: model.graph.nodes.len(),
		ops,
		weights: model.weights.len(),
		parameters: model
			.weights
			.iter()
			.map(|w| w.desc.elements().unwrap_or(0) as u64)
			.sum(),
		weight_bytes: model.weights.iter().map(|w| w.data.len() as u64).sum(),
		macs: model.graph.nodes.iter().map(macs).sum(),
		heaviest,
	})
}

/// One local run of a model.
#[derive(Debug)]
pub struct LocalRun {
	/// The graph output.
	pub output: TensorData,
	/// The result root `G_N`.
	pub result_root: [u8; 32],
	/// Wall time of the native run (CPU backend), seconds.
	pub native_s: f64,
	/// With `--vm`: VM steps of every node together and the wall time, seconds.
	pub vm: Option<(u64, f64)>,
}

/// Run `model` on `input` with the CPU backend and, if `vm`, every node in the VM
/// (fed the native outputs), checking each node's output root against the native
/// one and its steps against the static bound. `progress` gets a line per VM node.
pub fn run_local(
	model: &Prepared,
	input: TensorData,
	vm: bool,
	mut progress: impl FnMut(usize, usize, u64),
) -> Result<LocalRun> {
	let t = Instant::now();
	let e = model
		.run_data(&Cpu, input.clone())
		.map_err(|e| anyhow!("the input does not fit the model: {e}"))?;
	let native_s = t.elapsed().as_secs_f64();
	let vm = if vm {
		let guest = Guest::builtin().map_err(|e| anyhow!("the built-in guest: {e}"))?;
		let t = Instant::now();
		let mut steps = 0u64;
		let nodes = &model.model.graph.nodes;
		for (i, node) in nodes.iter().enumerate() {
			let bytes = model.input_bytes(node, |s| match s {
				0 => &e.input,
				s => &e.outputs[s as usize - 1],
			});
			let refs: Vec<&[u8]> = bytes.iter().map(|b| b.as_ref()).collect();
			let run = guest
				.run_node(node, &refs, DEFAULT_MAX_STEPS)
				.map_err(|err| anyhow!("node {} ({}) in the VM: {err}", i + 1, node.op.name()))?;
			if run.output_root != e.states.slots()[i + 1] {
				bail!(
					"node {} ({}): the VM's output root differs from the native one",
					i + 1,
					node.op.name()
				);
			}
			if run.steps > node_steps_bound(node) {
				bail!(
					"node {} ({}): {} VM steps, over its bound {}",
					i + 1,
					node.op.name(),
					run.steps,
					node_steps_bound(node)
				);
			}
			steps += run.steps;
			progress(i + 1, nodes.len(), run.steps);
		}
		Some((steps, t.elapsed().as_secs_f64()))
	} else {
		None
	};
	Ok(LocalRun {
		output: e
			.outputs
			.last()
			.cloned()
			.ok_or_else(|| anyhow!("no nodes"))?,
		result_root: e.result_root(),
		native_s,
		vm,
	})
}

/// Real values of an output tensor (its scale times its integers).
pub use opml_nn::onnx::quantize::dequantize_data as dequantize;

/// Cosine similarity of two vectors (0 if either is zero).
pub use opml_nn::bert::cosine;

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn a_summary_counts_nodes_parameters_and_macs() {
		let m = opml_nn::zoo::mlp(&[64, 32, 10], 1);
		let s = summarize(&m).unwrap();
		assert_eq!(s.nodes, 2);
		assert_eq!(s.macs, 64 * 32 + 32 * 10);
		assert_eq!(s.parameters, 64 * 32 + 32 + 32 * 10 + 10);
		assert_eq!(s.ops.get("FullyConnected"), Some(&2));
		let (j, op, bound) = s.heaviest.unwrap();
		assert_eq!((j, op), (1, "FullyConnected"));
		assert_eq!(bound, node_steps_bound(&m.graph.nodes[0]));
	}

	#[test]
	fn a_model_without_token_input_is_not_a_text_model() {
		let m = opml_nn::zoo::mlp(&[8, 4], 1);
		let e = text_input(&m).unwrap_err().to_string();
		assert!(e.contains("not a sequence of token ids"), "{e}");
	}

	#[test]
	fn a_local_run_checks_every_node_in_the_vm() {
		let m = opml_nn::zoo::transformer_block(4, 8, 2, 16, 3);
		let n = m.graph.input.elements().unwrap();
		let p = Prepared::new(m).unwrap();
		let input = TensorData::I8(opml_nn::zoo::Rng(5).i8s(n));
		let mut seen = 0;
		let r = run_local(&p, input.clone(), true, |_, _, _| seen += 1).unwrap();
		assert_eq!(seen, p.model.graph.nodes.len());
		assert!(r.vm.unwrap().0 > 0);
		let native = p.run_data(&Cpu, input).unwrap();
		assert_eq!(r.result_root, native.result_root());
		// a wrong input size is a clear error
		let e = run_local(&p, TensorData::I8(vec![0; n + 1]), false, |_, _, _| {}).unwrap_err();
		assert!(e.to_string().contains("does not fit"), "{e}");
	}
}
