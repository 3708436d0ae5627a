//! Inference backends: the wgpu GPU backend, the multithreaded CPU backend; both give
//! the same bits (and the VM, used for proofs, gives them too).

use crate::gpu::Gpu;
use anyhow::{anyhow, bail, Context, Result};
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

/// Fetch `task` from the chain, load its model and input from `files` (fetching what
/// is missing from the announced stores for up to the store's patience), and run it
/// on `engine`; with a `fault`, corrupt the result as `--inject-fault` does.
pub async fn run_task(
	client: &Client,
	files: &Files,
	engine: &Engine,
	task: u64,
	fault: Option<crate::faults::Fault>,
) -> Result<TaskRun> {
	let until = std::time::Instant::now() + files.limits().patience;
	run_task_checked(client, files, engine, task, fault, until, |_, _| Ok(())).await
}

/// [`run_task`], with `check` of the model (by commitment) before computing: a
/// provider refuses here what it could not deliver or defend. Missing files are
/// fetched until `until` at most (a provider's deadline less its margin).
pub async fn run_task_checked(
	client: &Client,
	files: &Files,
	engine: &Engine,
	task: u64,
	fault: Option<crate::faults::Fault>,
	until: std::time::Instant,
	check: impl FnOnce(&[u8; 32], &Prepared) -> Result<()>,
) -> Result<TaskRun> {
	use crate::distribution::{fetch_file, FileId, Show};
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
	use api::runtime_types::pallet_opml_market::types::{TaskInput, TaskStatus};
	// the stores likeliest to hold the files: the requester's, the model owner's, the
	// other providers of the task and of the model
	let mut first = vec![info.requester];
	if let Some(m) = client
		.fetch(api::storage().market().models(), (info.model,))
		.await?
	{
		first.push(m.owner);
	}
	if let TaskStatus::Assigned { providers, .. } = &info.status {
		first.extend(providers.0.iter().map(|(p, _)| *p));
	}
	// both files first: the time their fetch took counts in `check`'s deadline
	let model_file = FileId::Model(info.commitment.0);
	fetch_file(client, files, model_file, &first, until, Show::Log)
		.await
		.with_context(|| format!("task {task}: its model"))?;
	if let TaskInput::Root(r) = &info.input {
		fetch_file(client, files, FileId::Input(r.0), &first, until, Show::Log)
			.await
			.with_context(|| format!("task {task}: its input"))?;
	}
	let model = files.model(&info.commitment.0)?;
	check(&info.commitment.0, &model).with_context(|| format!("task {task}"))?;
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

/// Whether every node of `model` can be handed off in a dispute: its VM step bound
/// ([`opml_nn::cost::node_steps_bound`]) is within the chain's `MaxNodeSteps`. A
/// provider that took a task of a model with a heavier node could not defend its
/// result, whatever its hardware (docs/security.md H4).
pub fn check_defensible(model: &opml_nn::Model, max_node_steps: u64) -> Result<()> {
	if let Some((node, bound)) = opml_nn::cost::heaviest_node(model) {
		if bound > max_node_steps {
			let op = model.graph.nodes[node - 1].op.name();
			bail!(
				"node {node} ({op}) may take up to {bound} VM steps, beyond the chain's \
				 MaxNodeSteps ({max_node_steps}): a dispute over it could not be handed off"
			);
		}
	}
	Ok(())
}

/// Nanoseconds per unit of [`opml_nn::cost::node_work`] assumed for a model's first
/// task, before its time was measured: ten times what the CPU backend takes on this
/// project's machines (about 1 ns per multiply-accumulate, docs/benchmarks.md).
pub const FIRST_RUN_NS_PER_WORK: u64 = 10;

/// What computing `model` is assumed to take before it was measured.
pub fn first_run_estimate(model: &opml_nn::Model) -> std::time::Duration {
	let work = model
		.graph
		.nodes
		.iter()
		.fold(0u64, |w, n| w.saturating_add(opml_nn::cost::node_work(n)));
	std::time::Duration::from_nanos(work.saturating_mul(FIRST_RUN_NS_PER_WORK))
}

/// Whether a task of a model whose computation takes `estimate` (its last, or
/// [`first_run_estimate`]) fits in the `blocks` of `block` each left before its
/// deadline, with room for the commit: half the time again as the estimate, plus
/// `margin` blocks (finality lag and inclusion) (docs/security.md C3).
pub fn check_deadline(
	estimate: std::time::Duration,
	blocks: u64,
	margin: u64,
	block: std::time::Duration,
) -> Result<()> {
	let left =
		block.saturating_mul(u32::try_from(blocks.saturating_sub(margin)).unwrap_or(u32::MAX));
	let needed = estimate.saturating_add(estimate / 2);
	if needed > left {
		bail!(
			"the deadline leaves {blocks} blocks ({:.1} s after {margin} for finality and \
			 the commit); computing this model takes about {:.1} s",
			left.as_secs_f64(),
			estimate.as_secs_f64()
		);
	}
	Ok(())
}

#[cfg(test)]
mod tests {
	use super::*;
	use std::time::Duration;

	/// C3: a task is refused only when the model's computation, half again, does not
	/// fit in the blocks left less the margin.
	#[test]
	fn the_deadline_check_keeps_room_for_the_commit() {
		let s = Duration::from_secs;
		// 20 blocks of 1 s, 7 kept: 13 s for 1.5 x 8 s
		assert!(check_deadline(s(8), 20, 7, s(1)).is_ok());
		let e = check_deadline(s(9), 20, 7, s(1)).unwrap_err();
		assert!(e.to_string().contains("takes about 9.0 s"), "{e}");
		// fewer blocks than the margin
		assert!(check_deadline(Duration::from_millis(1), 5, 7, s(1)).is_err());
	}

	/// C3: a model's first task is checked against an estimate from its work.
	#[test]
	fn a_first_run_is_estimated_from_the_work() {
		let m = opml_nn::zoo::mlp(&[784, 128, 10], 1);
		let e = first_run_estimate(&m);
		// ~100 k multiply-accumulates: about a millisecond
		assert!(
			e > Duration::from_micros(500) && e < Duration::from_millis(5),
			"{e:?}"
		);
	}

	/// H4: a model whose heaviest node's step bound passes `MaxNodeSteps` is refused,
	/// naming the node.
	#[test]
	fn a_model_with_a_node_beyond_the_step_bound_is_refused() {
		let m = opml_nn::zoo::mlp(&[64, 32, 10], 1);
		let (node, bound) = opml_nn::cost::heaviest_node(&m).unwrap();
		assert_eq!(node, 1, "the 64 -> 32 layer");
		assert!(check_defensible(&m, bound).is_ok());
		let e = check_defensible(&m, bound - 1).unwrap_err().to_string();
		assert!(e.contains("node 1 (FullyConnected)"), "{e}");
	}
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
