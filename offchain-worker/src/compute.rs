//! Inference backends: the wgpu GPU backend, the multithreaded CPU backend; both give
//! the same bits (and the VM, used for proofs, gives them too).

use crate::gpu::Gpu;
use anyhow::{anyhow, Result};
use opml_nn::{cpu::Cpu, Backend, Execution, Prepared};

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

	/// Run `model` on `input`.
	pub fn run(&self, model: &Prepared, input: &[i8]) -> Result<Execution> {
		let backend: &dyn Backend = match self {
			Engine::Gpu(g) => g.as_ref(),
			Engine::Cpu => &Cpu,
		};
		model
			.run(&DynBackend(backend), input)
			.map_err(|e| anyhow!("inference failed: {e}"))
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
}

/// One task computed: its model, input and execution.
pub struct TaskRun {
	/// The model commitment.
	pub commitment: [u8; 32],
	/// The model.
	pub model: Prepared,
	/// The input.
	pub input: Vec<i8>,
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
	let model = files.model(&info.commitment.0)?;
	use api::runtime_types::pallet_opml_market::types::TaskInput;
	let input: Vec<i8> = match info.input {
		TaskInput::Inline(b) => b.0.into_iter().map(|x| x as i8).collect(),
		TaskInput::Root(r) => files.input(&r.0)?,
	};
	let mut exec = engine.run(&model, &input)?;
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
