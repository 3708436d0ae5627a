//! Running whole graphs: every node's output and the graph states `G_0..G_N` (what the
//! dispute game bisects), on any [`Backend`]; and the model file format.

use crate::{
	check::check_model,
	commit::{i8_root, GraphStates},
	error::NnError,
	kernels,
	types::*,
};
use alloc::{vec, vec::Vec};
use codec::{DecodeLimit, Encode};

/// Something that computes one checked node: the reference kernels, the CPU backend,
/// the GPU backend.
pub trait Backend {
	/// Compute `node` (already checked, data matching) into `out`.
	fn run_node(&self, node: &Node, inputs: &[TensorRef], out: &mut [i8]);
}

/// The `no_std` reference kernels.
#[derive(Clone, Copy, Debug, Default)]
pub struct Reference;

impl Backend for Reference {
	fn run_node(&self, node: &Node, inputs: &[TensorRef], out: &mut [i8]) {
		kernels::run_checked(node, inputs, out)
	}
}

/// A model whose weights are decoded and whose graph is checked: ready to run.
#[derive(Clone, Debug)]
pub struct Prepared {
	/// The model.
	pub model: Model,
	weights: Vec<TensorData>,
}

impl Prepared {
	/// Check `model` and decode its weights.
	pub fn new(model: Model) -> Result<Self, NnError> {
		check_model(&model)?;
		let weights = model
			.weights
			.iter()
			.enumerate()
			.map(|(i, w)| {
				TensorData::from_bytes(w.desc.dtype, &w.data)
					.ok_or(NnError::WeightLength { weight: i })
			})
			.collect::<Result<Vec<_>, _>>()?;
		Ok(Prepared { model, weights })
	}

	/// Decoded weight `i`.
	pub fn weight(&self, i: usize) -> Option<&TensorData> {
		self.weights.get(i)
	}

	/// Run the graph on `input` (int8, the graph input's element count) with `backend`.
	pub fn run<B: Backend>(&self, backend: &B, input: &[i8]) -> Result<Execution, NnError> {
		let g = &self.model.graph;
		if Some(input.len()) != g.input.elements() {
			return Err(NnError::DataMismatch);
		}
		let mut outputs: Vec<Vec<i8>> = Vec::with_capacity(g.nodes.len());
		for node in &g.nodes {
			let ins = self.inputs_of(node, input, &outputs);
			let mut out = vec![0i8; node.output.elements().unwrap_or(0)];
			backend.run_node(node, &ins, &mut out);
			outputs.push(out);
		}
		Execution::new(input.to_vec(), outputs)
	}

	/// Canonical bytes of `node`'s inputs (what the VM's environment slots hold):
	/// weights borrowed, graph tensors from `slot` (0 = the graph input, `j` = node
	/// `j`'s output).
	pub fn input_bytes<'a>(
		&'a self,
		node: &Node,
		slot: impl Fn(u16) -> &'a [i8],
	) -> Vec<alloc::borrow::Cow<'a, [u8]>> {
		node.inputs
			.iter()
			.map(|i| match i.source {
				Source::Slot(s) => alloc::borrow::Cow::Owned(i8_bytes(slot(s))),
				Source::Weight(w) => {
					alloc::borrow::Cow::Borrowed(&self.model.weights[w as usize].data[..])
				}
			})
			.collect()
	}

	/// The data of `node`'s inputs given the graph input and the outputs so far.
	pub fn inputs_of<'a>(
		&'a self,
		node: &Node,
		input: &'a [i8],
		outputs: &'a [Vec<i8>],
	) -> Vec<TensorRef<'a>> {
		node.inputs
			.iter()
			.map(|i| match i.source {
				Source::Slot(0) => TensorRef::I8(input),
				Source::Slot(s) => TensorRef::I8(&outputs[s as usize - 1]),
				Source::Weight(w) => self.weights[w as usize].as_ref(),
			})
			.collect()
	}
}

/// One run of a graph: input, every node's output and the graph states.
#[derive(Clone, Debug)]
pub struct Execution {
	/// The graph input.
	pub input: Vec<i8>,
	/// Output of node `j` at index `j - 1`.
	pub outputs: Vec<Vec<i8>>,
	/// Graph states.
	pub states: GraphStates,
}

impl Execution {
	/// From the input and the node outputs.
	pub fn new(input: Vec<i8>, outputs: Vec<Vec<i8>>) -> Result<Self, NnError> {
		let slots = core::iter::once(i8_root(&input))
			.chain(outputs.iter().map(|o| i8_root(o)))
			.collect();
		let states = GraphStates::new(slots).map_err(|_| NnError::GraphSize)?;
		Ok(Execution {
			input,
			outputs,
			states,
		})
	}

	/// The graph output (the last node's output).
	pub fn output(&self) -> &[i8] {
		self.outputs.last().map(|o| o.as_slice()).unwrap_or(&[])
	}

	/// The result root `G_N`.
	pub fn result_root(&self) -> opml_primitives_core::Hash {
		self.states.result_root()
	}
}

/// Encode a model file: `MODEL_MAGIC || SCALE(model)`.
pub fn encode_model(model: &Model) -> Vec<u8> {
	let mut out = MODEL_MAGIC.to_vec();
	model.encode_to(&mut out);
	out
}

/// Decode and check a model file. Malformed, truncated, oversized or inconsistent
/// files give a typed error.
pub fn decode_model(bytes: &[u8]) -> Result<Model, NnError> {
	if bytes.len() > MAX_MODEL_BYTES {
		return Err(NnError::TooLarge);
	}
	let body = bytes
		.strip_prefix(&MODEL_MAGIC[..])
		.ok_or(NnError::BadMagic)?;
	let mut input = body;
	let model = Model::decode_with_depth_limit(16, &mut input).map_err(|_| NnError::Decode)?;
	if !input.is_empty() {
		return Err(NnError::Decode);
	}
	check_model(&model)?;
	Ok(model)
}
