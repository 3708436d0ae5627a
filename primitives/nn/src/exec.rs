//! Running whole graphs: every node's output and the graph states `G_0..G_N` (what the
//! dispute game bisects), on any [`Backend`]; and the model file format.

use crate::{
	check::check_model,
	commit::{data_root, GraphStates},
	error::NnError,
	kernels,
	types::*,
};
use alloc::vec::Vec;
use codec::{DecodeLimit, Encode};

/// Something that computes one checked node: the reference kernels, the CPU backend,
/// the GPU backend.
pub trait Backend {
	/// Compute `node` (already checked, data matching, an int8 inference op) into `out`.
	fn run_node(&self, node: &Node, inputs: &[TensorRef], out: &mut [i8]);

	/// Compute any checked node into `out` (its output type and element count):
	/// inference ops with [`Backend::run_node`], training, data-movement and
	/// aggregation ops with the reference kernels unless a backend overrides this.
	fn run_node_data(&self, node: &Node, inputs: &[TensorRef], out: &mut TensorData) {
		match out {
			TensorData::I8(o) if !node.op.is_training() => self.run_node(node, inputs, o),
			out => kernels::run_checked_data(node, inputs, out),
		}
	}
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

	/// Run the graph on an int8 `input` (the graph input's element count) with
	/// `backend`.
	pub fn run<B: Backend>(&self, backend: &B, input: &[i8]) -> Result<Execution, NnError> {
		self.run_data(backend, TensorData::I8(input.to_vec()))
	}

	/// Run the graph on `input` (the graph input's type and element count) with
	/// `backend`.
	pub fn run_data<B: Backend>(
		&self,
		backend: &B,
		input: TensorData,
	) -> Result<Execution, NnError> {
		let g = &self.model.graph;
		if Some(input.len()) != g.input.elements() || input.dtype() != g.input.dtype {
			return Err(NnError::DataMismatch);
		}
		let mut outputs: Vec<TensorData> = Vec::with_capacity(g.nodes.len());
		for node in &g.nodes {
			let ins = self.inputs_of(node, &input, &outputs);
			let mut out = TensorData::zeros(node.output.dtype, node.output.elements().unwrap_or(0));
			backend.run_node_data(node, &ins, &mut out);
			outputs.push(out);
		}
		Execution::new(input, outputs)
	}

	/// Canonical bytes of `node`'s inputs (what the VM's environment slots hold):
	/// weights borrowed, graph tensors from `slot` (0 = the graph input, `j` = node
	/// `j`'s output).
	pub fn input_bytes<'a>(
		&'a self,
		node: &Node,
		slot: impl Fn(u16) -> &'a TensorData,
	) -> Vec<alloc::borrow::Cow<'a, [u8]>> {
		node.inputs
			.iter()
			.map(|i| match i.source {
				Source::Slot(s) => alloc::borrow::Cow::Owned(slot(s).to_bytes()),
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
		input: &'a TensorData,
		outputs: &'a [TensorData],
	) -> Vec<TensorRef<'a>> {
		node.inputs
			.iter()
			.map(|i| match i.source {
				Source::Slot(0) => input.as_ref(),
				Source::Slot(s) => outputs[s as usize - 1].as_ref(),
				Source::Weight(w) => self.weights[w as usize].as_ref(),
			})
			.collect()
	}
}

/// One run of a graph: input, every node's output and the graph states.
#[derive(Clone, Debug)]
pub struct Execution {
	/// The graph input.
	pub input: TensorData,
	/// Output of node `j` at index `j - 1`.
	pub outputs: Vec<TensorData>,
	/// Graph states.
	pub states: GraphStates,
}

impl Execution {
	/// From the input and the node outputs.
	pub fn new(input: TensorData, outputs: Vec<TensorData>) -> Result<Self, NnError> {
		let slots = core::iter::once(data_root(&input))
			.chain(outputs.iter().map(data_root))
			.collect();
		let states = GraphStates::new(slots).map_err(|_| NnError::GraphSize)?;
		Ok(Execution {
			input,
			outputs,
			states,
		})
	}

	/// The graph output (the last node's output) of an inference graph: int8 (empty
	/// if the output is i32; see [`Execution::output_data`]).
	pub fn output(&self) -> &[i8] {
		self.outputs.last().and_then(|o| o.as_i8()).unwrap_or(&[])
	}

	/// The graph output, whatever its type.
	pub fn output_data(&self) -> Option<&TensorData> {
		self.outputs.last()
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
