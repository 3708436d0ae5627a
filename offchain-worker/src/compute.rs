//! Inference backends: the wgpu GPU backend, the multithreaded CPU backend; both give
//! the same bits (and the VM, used for proofs, gives them too).

use crate::gpu::Gpu;
use anyhow::{anyhow, bail, Result};
use opml_nn::{cpu::Cpu, Backend, Execution, Prepared, TensorData};

use crate::{
	chain::{api, Client},
	models::Files,
};

/// `--backend`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendChoice {
	/// wgpu (fails if there is no adapter).
	Gpu,
	/// The CPU backend.
	Cpu,
	/// The GPU if an adapter exists, else the CPU.
	Auto,
}

/// A chosen backend.
pub enum Engine {
	/// The GPU.
	Gpu(Box<Gpu>),
	/// The CPU.
	Cpu,
}

impl Engine {
	/// Open the chosen backend.
	pub fn open(choice: BackendChoice) -> Result<Self> {
		match choice {
			BackendChoice::Cpu => Ok(Engine::Cpu),
			BackendChoice::Gpu => Ok(Engine::Gpu(Box::new(Gpu::new()?))),
			BackendChoice::Auto => match Gpu::new() {
				Ok(g) => Ok(Engine::Gpu(Box::new(g))),
				Err(e) => {
					tracing::warn!("{e:#}; computing on the CPU");
					Ok(Engine::Cpu)
				}
			},
		}
	}

	/// A description for logs.
	pub fn describe(&self) -> String {
		match self {
			Engine::Gpu(g) => format!("GPU {}", g.adapter_name()),
			Engine::Cpu => "CPU".into(),
		}
	}

	/// Run `model` on an int8 `input`.
	pub fn run(&self, model: &Prepared, input: &[i8]) -> Result<Execution> {
		self.run_data(model, TensorData::I8(input.to_vec()))
	}

	/// Run `model` on `input` of the graph input's type (int8 for inference, i32
	/// parameters for a training round or stacked updates for an aggregation).
	pub fn run_data(&self, model: &Prepared, input: TensorData) -> Result<Execution> {
		let backend: &dyn Backend = match self {
			Engine::Gpu(g) => g.as_ref(),
			Engine::Cpu => &Cpu,
		};
		model
			.run_data(&DynBackend(backend), input)
			.map_err(|e| anyhow!("computing the graph failed: {e}"))
	}
}

struct DynBackend<'a>(&'a dyn Backend);

impl Backend for DynBackend<'_> {
	fn run_node(
		&self,
		node: &opml_nn::types::Node,
		inputs: &[opml_nn::types::TensorRef],
		out: &mut [i8],
	) {
		self.0.run_node(node, inputs, out)
	}

	fn run_node_data(
		&self,
		node: &opml_nn::types::Node,
		inputs: &[opml_nn::types::TensorRef],
		out: &mut TensorData,
	) {
		self.0.run_node_data(node, inputs, out)
	}
}

/// One task computed: its model, input and execution.
pub struct TaskRun {
	/// The model commitment.
	pub commitment: [u8; 32],
	/// The model.
	pub model: Prepared,
	/// The input.
	pub input: TensorData,
	/// The execution (with the fault injected when asked).
	pub exec: Execution,
}

/// Fetch `task` from the chain, load its model and input from `files`, and run it on
/// `engine`; with a `fault`, corrupt the result as `--inject-fault` does.
pub async fn run_task(
	client: &Client,
	files: &Files,
	engine: &Engine,
	task: u64,
	fault: Option<crate::faults::Fault>,
) -> Result<TaskRun> {
	let info = client
		.fetch(api::storage().market().tasks(), (task,))
		.await?
		.ok_or_else(|| anyhow!("task {task} is not on chain (settled or cancelled)"))?;
	if info.program_root.0 != opml_nn::layout::BUILTIN_GUEST_ROOT {
		bail!(
			"task {task} runs under program root {}, not our guest's: it cannot be defended",
			hex::encode(info.program_root.0)
		);
	}
	let model = files.model(&info.commitment.0)?;
	use api::runtime_types::pallet_opml_market::types::TaskInput;
	let bytes = match info.input {
		TaskInput::Inline(b) => b.0,
		TaskInput::Root(r) => files.input_bytes(&r.0)?,
	};
	let dtype = model.model.graph.input.dtype;
	let input = TensorData::from_bytes(dtype, &bytes)
		.ok_or_else(|| anyhow!("task {task}: the input is not a whole {dtype:?} tensor"))?;
	let mut exec = engine.run_data(&model, input.clone())?;
	if let Some(f) = fault {
		exec = crate::faults::corrupt(exec, f)?;
	}
	Ok(TaskRun {
		commitment: info.commitment.0,
		model,
		input,
		exec,
	})
}

#[cfg(test)]
mod tests {
	use super::*;
	use opml_nn::{
		fl::{self, Shard, TrainSpec},
		Reference,
	};

	/// A training round (i32 graph input and output) on the worker's CPU engine: the
	/// reference kernels' bits.
	#[test]
	fn the_engine_computes_a_training_round() {
		let spec = TrainSpec {
			sizes: vec![4, 3, 2],
			batch: 2,
			steps: 2,
			lr: 1 << 14,
		};
		let shard = Shard {
			x: (0..16).map(|i| (i * 3000) - 20000).collect(),
			y: vec![0, 1, 1, 0],
			features: 4,
		};
		let model = Prepared::new(fl::training_model(&spec, &shard).unwrap()).unwrap();
		let params = TensorData::I32(fl::pad(&fl::init_params(&spec.sizes, 1)));
		let got = Engine::Cpu.run_data(&model, params.clone()).unwrap();
		let want = model.run_data(&Reference, params).unwrap();
		assert_eq!(got.outputs, want.outputs);
		assert_eq!(got.result_root(), want.result_root());
		// an int8 input for an i32 graph is refused with an error, not a panic
		assert!(Engine::Cpu.run(&model, &[0; 32]).is_err());
	}
}
