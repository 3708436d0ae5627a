//! `opml-worker`: the provider daemon and the requester's commands. See
//! `opml-worker --help`.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use opml_worker::{
	chain::Client,
	compute::{BackendChoice, Engine},
	models::Files,
	provider::{AuditPolicy, Faults, Offer, Provider},
	requester::{self, TaskRequest},
	store::State,
	tools,
};
use std::{path::PathBuf, time::Duration};

/// How long a provider or verifier daemon waits for its node's RPC at start.
const DAEMON_PATIENCE: Duration = Duration::from_secs(120);

#[derive(Parser)]
#[command(
	name = "opml-worker",
	version,
	about = "OPML provider daemon and requester commands"
)]
struct Cli {
	/// The node's WebSocket endpoint.
	#[arg(
		long,
		global = true,
		default_value = "ws://127.0.0.1:9944",
		env = "OPML_URL"
	)]
	url: String,
	/// The signing key (secret URI: `//Alice`, a seed phrase, ...).
	#[arg(long, global = true, default_value = "//Alice", env = "OPML_SURI")]
	suri: String,
	/// This daemon's or command's own file store: model and input files by root.
	/// What it lacks it fetches from the file stores announced on chain.
	#[arg(long, global = true, default_value = "opml-files", env = "OPML_FILES")]
	files: PathBuf,
	/// Serve the file store read-only over HTTP on this address (and take uploads
	/// the chain refers to), and announce it on chain (`Market.announce_store`).
	#[arg(long, global = true, env = "OPML_SERVE_FILES")]
	serve_files: Option<std::net::SocketAddr>,
	/// The URL others reach `--serve-files` at (default `http://<ADDR>`; required
	/// when ADDR is unspecified, as `0.0.0.0`).
	#[arg(long, global = true, env = "OPML_PUBLIC_URL", requires = "serve_files")]
	public_url: Option<String>,
	/// Largest model or input file fetched or taken (bytes).
	#[arg(long, global = true, default_value_t = 1 << 30, env = "OPML_MAX_FILE_BYTES")]
	max_file_bytes: u64,
	/// Requester commands: upload files to this store (repeatable) instead of the
	/// stores announced on chain.
	#[arg(long = "upload-to", global = true)]
	upload_to: Vec<String>,
	/// Requester commands: announced stores that must take each uploaded file.
	#[arg(long, global = true, default_value_t = 2)]
	replicas: usize,
	/// Requester commands: upload nothing (the files are published some other way).
	#[arg(long, global = true)]
	no_upload: bool,
	/// Daemons: serve Prometheus metrics on this address (`/metrics`), e.g.
	/// `127.0.0.1:9616`.
	#[arg(long, global = true, env = "OPML_PROMETHEUS")]
	prometheus: Option<std::net::SocketAddr>,
	#[command(subcommand)]
	cmd: Cmd,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum InputFormat {
	/// Raw int8 bytes.
	I8,
	/// Little-endian f32 values.
	F32,
}

#[derive(Subcommand)]
enum Cmd {
	/// Run a file store only: serve `--files` on `--serve-files` and announce it (a
	/// requester's or a mirror's store).
	Serve,
	/// Announce a file store you run some other way (a static HTTP server or CDN that
	/// serves `<url>/<hex>.opml` and `<url>/<hex>.input`) as this account's; holds
	/// `StoreDeposit`.
	AnnounceStore {
		/// The store's base URL.
		store: String,
	},
	/// Withdraw this account's file store (releases its deposit).
	WithdrawStore,
	/// Upload (again) the file a model, task or training job refers to, from
	/// `--files` to file stores (`--upload-to`, or the announced ones).
	Upload {
		/// A registered model.
		#[arg(long, conflicts_with_all = ["task", "job"])]
		model: Option<u32>,
		/// A task with its input by root.
		#[arg(long, conflicts_with = "job")]
		task: Option<u64>,
		/// A training job (its current parameters).
		#[arg(long)]
		job: Option<u64>,
	},
	/// Run a provider: register (if needed), compute assigned tasks, commit, reveal.
	Provider {
		/// Directory of the daemon's persistent state.
		#[arg(long, default_value = "opml-provider")]
		state: PathBuf,
		/// Inference backend.
		#[arg(long, value_enum, default_value = "auto")]
		backend: BackendChoice,
		/// Bond to hold when registering (planck): `MinBond` plus `ExposureBond` for each
		/// task held at once (200 UNIT: up to 100 tasks).
		#[arg(long, default_value_t = 200_000_000_000_000)]
		bond: u128,
		/// Capacity `MODEL:UNITS` (repeatable).
		#[arg(long = "capacity", value_parser = parse_capacity, default_value = "0:100")]
		capacity: Vec<(u32, u32)>,
		/// Asking price per unit (planck).
		#[arg(long, default_value_t = 1_000_000_000_000)]
		unit_cost: u128,
		/// Benchmarked power term.
		#[arg(long, default_value_t = 10)]
		power: u32,
		/// Most bond to hold in a challenge when a drawn audit finds a wrong result
		/// (planck; an auditor is asked `MinChallengeBond`, 10 UNIT).
		#[arg(long, default_value_t = 10_000_000_000_000)]
		challenge_bond: u128,
		/// FAULT INJECTION (tests and drills only): report wrong results.
		#[arg(long)]
		inject_fault: bool,
		/// FAULT INJECTION: with `--inject-fault`, corrupt this node's output (1-based;
		/// default: the last node).
		#[arg(long, requires = "inject_fault")]
		fault_node: Option<usize>,
	},
	/// Run a verifier: recompute every elected result, challenge wrong ones, play the
	/// games to the end.
	Verifier {
		/// Directory of the daemon's persistent state.
		#[arg(long, default_value = "opml-verifier")]
		state: PathBuf,
		/// Inference backend.
		#[arg(long, value_enum, default_value = "auto")]
		backend: BackendChoice,
		/// Most bond to hold in one challenge (planck). The chain asks
		/// `MinChallengeBond` (10 UNIT), doubled for each challenge the defender beat
		/// lately, at most 8 times that (docs/security.md M8): the default covers it.
		#[arg(long, default_value_t = 80_000_000_000_000)]
		bond: u128,
	},
	/// Register a model from an `.opml` or `.onnx` file; prints its id.
	RegisterModel {
		/// The model file (`.opml`, or `.onnx` with `--calibration`).
		model: PathBuf,
		/// For an ONNX model: calibration samples for int8 quantization (raw f32 LE,
		/// one model input after another).
		#[arg(long)]
		calibration: Option<PathBuf>,
		/// Least units a task of this model demands per provider.
		#[arg(long, default_value_t = 1)]
		weight: u32,
		/// A name (stored as the model's metadata).
		#[arg(long, default_value = "")]
		name: String,
		/// Print JSON.
		#[arg(long)]
		json: bool,
	},
	/// Submit a task and, with `--watch`, follow it to its final result and output.
	/// The input is a file (`--input`) or, for a text model, a text (`--text`, token
	/// ids from `--tokenizer`; `--compare` submits a second text and prints the cosine
	/// similarity of the two outputs).
	Submit {
		/// The model id.
		#[arg(long)]
		model: u32,
		/// The input file.
		#[arg(long, conflicts_with = "text", required_unless_present = "text")]
		input: Option<PathBuf>,
		/// Text models: the text (tokenized with `--tokenizer`, padded to the model's
		/// sequence; the model file comes from `--files` or the network).
		#[arg(long, requires = "tokenizer")]
		text: Option<String>,
		/// Text models: a second text, submitted as a second task; with `--watch`,
		/// prints the cosine similarity of the two outputs.
		#[arg(long, requires = "text")]
		compare: Option<String>,
		/// The model's `tokenizer.json` (for `--text`).
		#[arg(long)]
		tokenizer: Option<PathBuf>,
		/// The input file's format: raw int8 bytes (already quantized), or f32 LE
		/// values quantized with the model's input scale (model file in `--files`).
		#[arg(long, value_enum, default_value = "i8")]
		input_format: InputFormat,
		/// Units of work per provider.
		#[arg(long, default_value_t = 1)]
		demand: u32,
		/// The most paid for the task (planck, all providers together).
		#[arg(long, default_value_t = 10_000_000_000_000)]
		valuation: u128,
		/// Distinct providers computing it.
		#[arg(long, default_value_t = 1)]
		redundancy: u8,
		/// Blocks the providers have after assignment.
		#[arg(long, default_value_t = 20)]
		deadline: u32,
		/// Follow the task until its result is final.
		#[arg(long)]
		watch: bool,
		/// Print JSON.
		#[arg(long)]
		json: bool,
		/// With `--watch`: give up after this many seconds.
		#[arg(long, default_value_t = 600)]
		timeout: u64,
	},
	/// Follow a task until its result is final.
	Watch {
		/// The task id.
		task: u64,
		/// Print JSON lines.
		#[arg(long)]
		json: bool,
		/// Give up after this many seconds.
		#[arg(long, default_value_t = 600)]
		timeout: u64,
	},
	/// Federated-learning jobs: start one, follow it, fetch the trained model.
	#[command(subcommand)]
	Train(TrainCmd),
	/// Try a model before paying for it: import, inspect, run locally.
	#[command(subcommand)]
	Model(ModelCmd),
	/// Show the GPU adapter the GPU backend would use.
	GpuInfo,
}

#[derive(Subcommand)]
enum ModelCmd {
	/// Import a model to the opml format: an ONNX file (with `--calibration`), or a
	/// directory with a BERT sentence encoder's `config.json`, `model.safetensors` and
	/// `tokenizer.json` (e.g. all-MiniLM-L6-v2).
	Import {
		/// The `.onnx` file or the encoder's directory.
		src: PathBuf,
		/// Where to write the model (`.opml`).
		#[arg(short, long)]
		output: PathBuf,
		/// ONNX: calibration samples (raw f32 LE, one model input after another).
		#[arg(long)]
		calibration: Option<PathBuf>,
		/// ONNX: each tensor's range is this quantile of |value| per sample, averaged
		/// (e.g. 0.9999 for deep CNNs), instead of the maximum over the samples.
		#[arg(long)]
		calibration_quantile: Option<f64>,
		/// Text models: calibration sentences, one per line (default: 40 built-in).
		#[arg(long)]
		calibration_text: Option<PathBuf>,
		/// Text models: the sequence length (tokens) the model takes.
		#[arg(long, default_value_t = 128)]
		seq: usize,
		/// Split every node whose VM step bound is over this (fully connected layers by
		/// rows or output channels, convolutions at batch 1 by output channels; same
		/// output): the chain's `MaxNodeSteps` refuses models with heavier nodes at
		/// registration.
		#[arg(long, default_value_t = opml_nn::layout::MAX_NODE_STEPS)]
		max_node_steps: u64,
	},
	/// Summarize a model file: input and output, nodes per op, parameters, MACs, the
	/// VM steps of its heaviest node (against the chain's bound), its commitment.
	Inspect {
		/// The model (`.opml`).
		model: PathBuf,
		/// Print JSON.
		#[arg(long)]
		json: bool,
	},
	/// Run a model locally on the CPU backend (and with `--vm` every node in the VM,
	/// checking each node's output root): the output and the result root.
	Run {
		/// The model (`.opml`).
		model: PathBuf,
		/// The input file (raw int8 bytes, or f32 LE with `--input-format f32`).
		#[arg(long, conflicts_with = "text")]
		input: Option<PathBuf>,
		/// The input file's format.
		#[arg(long, value_enum, default_value = "i8")]
		input_format: InputFormat,
		/// Text models: the text (tokenized with `--tokenizer`).
		#[arg(long)]
		text: Option<String>,
		/// Text models: a second text; prints the cosine similarity of the outputs.
		#[arg(long, requires = "text")]
		compare: Option<String>,
		/// The model's `tokenizer.json`.
		#[arg(long)]
		tokenizer: Option<PathBuf>,
		/// Also run every node in the VM and check its output root.
		#[arg(long)]
		vm: bool,
		/// Print JSON.
		#[arg(long)]
		json: bool,
	},
}

#[derive(Subcommand)]
enum TrainCmd {
	/// Build and register each pool's round graph and the FedAvg graph, create the
	/// job, and follow it to the end (advancing it when a phase is final), printing
	/// each round's held-out loss; writes the trained parameters to `--out`.
	Start {
		/// The dataset, in the format of `examples/digits/digits.u8` (records of 64
		/// pixel values 0..=16, then the label 0..=9).
		#[arg(long)]
		digits: PathBuf,
		/// Pools (each trains on its own shard).
		#[arg(long, default_value_t = 2)]
		pools: u32,
		/// Examples per pool's shard (pool i takes the i-th run of rows); the rows
		/// after the shards are held out for the loss reports.
		#[arg(long, default_value_t = 600)]
		rows: u32,
		/// Layer widths of the MLP, input first (the input is 64).
		#[arg(long, value_delimiter = ',', default_value = "64,16,10")]
		sizes: Vec<u32>,
		/// Rows per mini-batch step.
		#[arg(long, default_value_t = 20)]
		batch: u32,
		/// Mini-batch steps per round (at most `fl::max_steps`).
		#[arg(long, default_value_t = 10)]
		steps: u32,
		/// Learning rate.
		#[arg(long, default_value_t = 0.5)]
		lr: f32,
		/// Seed of the initial parameters.
		#[arg(long, default_value_t = 1)]
		seed: u64,
		/// Rounds.
		#[arg(long, default_value_t = 3)]
		rounds: u32,
		/// Providers per task (the pool's members).
		#[arg(long, default_value_t = 3)]
		redundancy: u8,
		/// Blocks the providers of each task get.
		#[arg(long, default_value_t = 20)]
		deadline: u32,
		/// The most paid for each task (planck, all its providers together).
		#[arg(long, default_value_t = 10_000_000_000_000)]
		valuation: u128,
		/// Also compute the job off chain and check the fetched model is the same.
		#[arg(long)]
		verify_offline: bool,
		#[command(flatten)]
		follow: FollowArgs,
	},
	/// Follow a job to its end (advancing it when a phase is final).
	Watch {
		/// The job id.
		#[arg(long)]
		job: u64,
		/// Start at this block (replays at most 250 finalized blocks).
		#[arg(long)]
		from: Option<u64>,
		#[command(flatten)]
		follow: FollowArgs,
	},
	/// Write a finished job's trained parameters (collected by `start` or `watch`,
	/// checked against the job's root on chain).
	Fetch {
		/// The job id.
		#[arg(long)]
		job: u64,
		/// The file to write.
		#[arg(long)]
		out: PathBuf,
	},
}

/// How `train start` and `train watch` follow a job, and where the result goes.
#[derive(clap::Args)]
struct FollowArgs {
	/// Write the trained parameters here (little-endian Q16.16 i32s, padded).
	#[arg(long)]
	out: Option<PathBuf>,
	/// Print JSON lines.
	#[arg(long)]
	json: bool,
	/// Give up after this many seconds.
	#[arg(long, default_value_t = 3600)]
	timeout: u64,
}

/// Report a job's progress (held-out loss and accuracy when `eval` is given).
fn train_reporter(
	json: bool,
	eval: Option<(Vec<u32>, opml_nn::fl::Shard)>,
) -> impl FnMut(opml_worker::training::Progress) {
	use opml_worker::training::Progress;
	move |p| match p {
		Progress::RoundStarted { round, tasks } => {
			if json {
				println!("{}", serde_json::json!({ "round": round, "tasks": tasks }));
			} else {
				println!("round {round}: pool tasks {tasks:?}");
			}
		}
		Progress::Aggregating { round, task } => {
			if json {
				println!(
					"{}",
					serde_json::json!({ "round": round, "aggregation": task })
				);
			} else {
				println!("round {round}: updates final, averaging them in task {task}");
			}
		}
		Progress::Advanced { round } => tracing::info!(round, "advanced the job"),
		Progress::RoundFinished { round, params } => {
			let eval = eval
				.as_ref()
				.map(|(sizes, shard)| opml_nn::fl::evaluate(sizes, &params, shard));
			if json {
				println!(
					"{}",
					serde_json::json!({
						"round": round,
						"finished": true,
						"loss": eval.map(|e| e.0),
						"accuracy": eval.map(|e| e.1),
					})
				);
			} else if let Some((loss, acc)) = eval {
				println!(
					"round {round}: done; held-out loss {loss:.4}, accuracy {:.1} %",
					acc * 100.0
				);
			} else {
				println!("round {round}: done");
			}
		}
	}
}

fn write_params(out: &std::path::Path, params: &[i32]) -> Result<()> {
	std::fs::write(out, opml_worker::training::params_bytes(params))
		.with_context(|| format!("writing {}", out.display()))
}

impl Cli {
	/// The command's own file store.
	fn store(&self) -> Result<Files> {
		Files::open_with(
			&self.files,
			opml_worker::distribution::Limits {
				max_bytes: self.max_file_bytes,
				..Default::default()
			},
		)
	}

	/// Where requester commands upload.
	fn targets(&self) -> opml_worker::distribution::Targets {
		opml_worker::distribution::Targets {
			urls: self.upload_to.clone(),
			replicas: self.replicas,
			skip: self.no_upload,
		}
	}

	/// What `--serve-files` asks.
	fn serving(&self) -> Serving {
		Serving {
			addr: self.serve_files,
			public_url: self.public_url.clone(),
		}
	}
}

/// `--serve-files` and `--public-url`.
struct Serving {
	addr: Option<std::net::SocketAddr>,
	public_url: Option<String>,
}

impl Serving {
	/// Serve and announce the store with `--serve-files`; `only_capacity`: take
	/// uploads of the models this account serves only (a provider's store).
	async fn start(&self, client: &Client, files: &Files, only_capacity: bool) -> Result<()> {
		let Some(addr) = self.addr else {
			return Ok(());
		};
		let bound = opml_worker::serve::serve(
			addr,
			opml_worker::serve::Store {
				files: files.clone(),
				client: client.clone(),
				only_capacity,
			},
		)
		.await?;
		let url = match &self.public_url {
			Some(u) => u.clone(),
			None if bound.ip().is_unspecified() => anyhow::bail!(
				"--serve-files {addr} listens on every interface: say where others reach \
				 it with --public-url"
			),
			None => {
				if bound.ip().is_loopback() {
					tracing::warn!(
						"announcing http://{bound}: only this machine can reach it (pass \
						 --public-url for a store others use)"
					);
				}
				format!("http://{bound}")
			}
		};
		opml_worker::distribution::announce(client, &url).await
	}
}

fn parse_capacity(s: &str) -> Result<(u32, u32), String> {
	let (m, u) = s.split_once(':').ok_or("expected MODEL:UNITS")?;
	Ok((
		m.parse().map_err(|e| format!("model: {e}"))?,
		u.parse().map_err(|e| format!("units: {e}"))?,
	))
}

fn model_cmd(cmd: ModelCmd) -> Result<()> {
	match cmd {
		ModelCmd::Import {
			src,
			output,
			calibration,
			calibration_quantile,
			calibration_text,
			seq,
			max_node_steps,
		} => {
			let t = std::time::Instant::now();
			let model = tools::import(
				&src,
				calibration.as_deref(),
				calibration_quantile,
				calibration_text.as_deref(),
				seq,
				|step| eprintln!("{step} ..."),
			)?;
			let (model, split) = opml_nn::split::split_heavy_nodes(&model, max_node_steps)
				.map_err(|e| anyhow::anyhow!("bounding nodes to {max_node_steps} VM steps: {e}"))?;
			if split > 0 {
				eprintln!(
					"split {split} nodes over {max_node_steps} VM steps: {} nodes now",
					model.graph.nodes.len()
				);
			}
			let bytes = opml_nn::encode_model(&model);
			opml_worker::models::write_atomic(&output, &bytes)?;
			let s = tools::summarize(&model)?;
			println!(
				"{}: {} nodes, {} parameters, {} bytes, commitment 0x{} ({:.1} s)",
				output.display(),
				s.nodes,
				s.parameters,
				bytes.len(),
				hex::encode(s.commitment),
				t.elapsed().as_secs_f64()
			);
		}
		ModelCmd::Inspect { model, json } => {
			let m = opml_worker::models::read_model(&model, None)?;
			let s = tools::summarize(&m)?;
			let limit = opml_nn::layout::MAX_NODE_STEPS;
			if json {
				let heaviest = s.heaviest.map(
					|(j, op, steps)| serde_json::json!({ "node": j, "op": op, "vm_steps_bound": steps }),
				);
				println!(
					"{}",
					serde_json::json!({
						"commitment": hex::encode(s.commitment),
						"input": { "shape": s.input.shape, "dtype": format!("{:?}", s.input.dtype) },
						"output": { "shape": s.output.shape, "dtype": format!("{:?}", s.output.dtype) },
						"nodes": s.nodes,
						"ops": s.ops,
						"weights": s.weights,
						"parameters": s.parameters,
						"weight_bytes": s.weight_bytes,
						"macs": s.macs,
						"heaviest": heaviest,
						"max_node_steps": limit,
					})
				);
			} else {
				println!("commitment  0x{}", hex::encode(s.commitment));
				println!("input       {:?} {:?}", s.input.dtype, s.input.shape);
				println!("output      {:?} {:?}", s.output.dtype, s.output.shape);
				println!("nodes       {}", s.nodes);
				for (op, n) in &s.ops {
					println!("  {op:16} {n}");
				}
				println!(
					"parameters  {} in {} weight tensors ({} bytes)",
					s.parameters, s.weights, s.weight_bytes
				);
				println!("MACs        {}", s.macs);
				if let Some((j, op, steps)) = s.heaviest {
					let verdict = if steps <= limit { "within" } else { "OVER" };
					println!(
						"heaviest    node {j} ({op}): at most {steps} VM steps, {verdict} the \
						 chain's bound {limit}"
					);
				}
			}
		}
		ModelCmd::Run {
			model,
			input,
			input_format,
			text,
			compare,
			tokenizer,
			vm,
			json,
		} => {
			let m = opml_worker::models::read_model(&model, None)?;
			let out_desc = m
				.graph
				.nodes
				.last()
				.map(|n| n.output.clone())
				.ok_or_else(|| anyhow::anyhow!("the model has no nodes"))?;
			let p = opml_nn::Prepared::new(m).map_err(|e| anyhow::anyhow!("{e}"))?;
			let text_of = || -> Result<tools::Text> {
				let path = tokenizer.clone().ok_or_else(|| {
					anyhow::anyhow!(
						"--text needs the model's tokenizer: --tokenizer tokenizer.json"
					)
				})?;
				tools::Text::open(&path)
			};
			let inputs: Vec<opml_nn::TensorData> = match (&input, &text) {
				(Some(path), None) => {
					let bytes = std::fs::read(path)
						.with_context(|| format!("reading {}", path.display()))?;
					let x = match input_format {
						InputFormat::I8 => bytes.into_iter().map(|b| b as i8).collect(),
						InputFormat::F32 => opml_nn::onnx::quantize::quantize_input(
							&p.model,
							&opml_worker::models::read_f32s(path)?,
						),
					};
					vec![opml_nn::TensorData::I8(x)]
				}
				(None, Some(t)) => {
					let tok = text_of()?;
					let mut v = vec![tok.input(&p.model, t)?];
					if let Some(c) = &compare {
						v.push(tok.input(&p.model, c)?);
					}
					v
				}
				_ => anyhow::bail!("give the input: --input FILE or --text TEXT"),
			};
			let mut outputs = Vec::new();
			for x in inputs {
				let r = tools::run_local(&p, x, vm, |j, n, steps| {
					if !json {
						eprintln!("VM node {j}/{n}: {steps} steps, root equal");
					}
				})?;
				let values = tools::dequantize(&out_desc, &r.output);
				if json {
					println!(
						"{}",
						serde_json::json!({
							"result": hex::encode(r.result_root),
							"values": values,
							"native_s": r.native_s,
							"vm_steps": r.vm.map(|v| v.0),
							"vm_s": r.vm.map(|v| v.1),
						})
					);
				} else {
					let shown: Vec<String> =
						values.iter().take(8).map(|v| format!("{v:.4}")).collect();
					println!(
						"output {:?} [{}{}] (result root 0x{}, {:.2} s)",
						out_desc.shape,
						shown.join(", "),
						if values.len() > 8 { ", ..." } else { "" },
						hex::encode(r.result_root),
						r.native_s
					);
					if let Some((steps, s)) = r.vm {
						println!("VM: every node's root equal, {steps} steps in {s:.1} s");
					}
				}
				outputs.push(values);
			}
			if let [a, b] = &outputs[..] {
				let c = tools::cosine(a, b);
				if json {
					println!("{}", serde_json::json!({ "cosine": c }));
				} else {
					println!("cosine similarity {c:.4}");
				}
			}
		}
	}
	Ok(())
}

fn print_outcome(task: u64, o: &requester::Outcome, json: bool) {
	if json {
		let output = o.output.as_ref().map(|out| {
			serde_json::json!({
				"values": out.values,
				"shape": out.desc.as_ref().map(|d| d.0.clone()),
				"dequantized": out.dequantized(),
				"argmax": out.argmax(),
			})
		});
		println!(
			"{}",
			serde_json::json!({
				"task": task,
				"result": hex::encode(o.result),
				"paid": o.paid.to_string(),
				"refunded": o.refunded.to_string(),
				"output": output,
			})
		);
	} else {
		println!(
			"task {task}: final result 0x{} (paid {}, refunded {})",
			hex::encode(o.result),
			o.paid,
			o.refunded
		);
		match &o.output {
			Some(out) => {
				let shape = out
					.desc
					.as_ref()
					.map(|d| format!(" shape {:?}", d.0))
					.unwrap_or_default();
				println!("output (int8{shape}): {:?}", out.values);
				if let Some(f) = out.dequantized() {
					let f: Vec<String> = f.iter().map(|x| format!("{x:.3}")).collect();
					println!("dequantized: [{}]", f.join(", "));
				}
				if let Some(k) = out.argmax() {
					println!("argmax: {k}");
				}
			}
			None => println!("output: not published"),
		}
	}
}

#[tokio::main]
async fn main() -> Result<()> {
	tracing_subscriber::fmt()
		.with_env_filter(
			tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
		)
		.with_writer(std::io::stderr)
		.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
		.init();
	let cli = Cli::parse();
	// local model tools: no chain, no file store
	if let Cmd::Model(cmd) = cli.cmd {
		return model_cmd(cmd);
	}
	if let Cmd::Serve = &cli.cmd {
		if cli.serve_files.is_none() {
			anyhow::bail!("opml-worker serve needs --serve-files ADDR");
		}
		let client = Client::connect_patiently(&cli.url, &cli.suri, DAEMON_PATIENCE).await?;
		cli.serving().start(&client, &cli.store()?, false).await?;
		tokio::signal::ctrl_c().await?;
		return Ok(());
	}
	let store = cli.store()?;
	let targets = cli.targets();
	let serving = cli.serving();
	match cli.cmd {
		Cmd::Serve => {}
		Cmd::AnnounceStore { store } => {
			let client = Client::connect(&cli.url, &cli.suri).await?;
			opml_worker::distribution::announce(&client, &store).await?;
			println!("file store {store} announced");
		}
		Cmd::Upload { model, task, job } => {
			use opml_worker::distribution::Reference;
			let reference = match (model, task, job) {
				(Some(m), _, _) => Reference::Model(m),
				(_, Some(t), _) => Reference::Task(t),
				(_, _, Some(j)) => Reference::Job(j),
				_ => anyhow::bail!("name what to upload: --model N, --task N or --job N"),
			};
			let client = Client::connect(&cli.url, &cli.suri).await?;
			let held = opml_worker::distribution::upload(
				&client,
				&store,
				reference,
				&targets,
				opml_worker::distribution::Show::Bar,
			)
			.await?;
			println!("{reference:?}: held by {}", held.join(", "));
		}
		Cmd::WithdrawStore => {
			let client = Client::connect(&cli.url, &cli.suri).await?;
			let tx = opml_worker::chain::api::transactions()
				.market()
				.withdraw_store();
			client.submit("Market.withdraw_store", &tx).await?;
			println!("file store withdrawn");
		}
		Cmd::Train(TrainCmd::Start {
			digits,
			pools,
			rows,
			sizes,
			batch,
			steps,
			lr,
			seed,
			rounds,
			redundancy,
			deadline,
			valuation,
			verify_offline,
			follow: FollowArgs { out, json, timeout },
		}) => {
			use opml_nn::fl;
			let bytes =
				std::fs::read(&digits).with_context(|| format!("reading {}", digits.display()))?;
			let all = fl::digits_shard(&bytes).ok_or_else(|| {
				anyhow::anyhow!("{}: not records of 64 pixels and a label", digits.display())
			})?;
			let need = pools as usize * rows as usize;
			if pools == 0 || rows == 0 || need > all.rows() {
				anyhow::bail!(
					"{pools} pools of {rows} rows need {need} examples; {} has {}",
					digits.display(),
					all.rows()
				);
			}
			if sizes.first() != Some(&all.features) || sizes.len() < 2 {
				anyhow::bail!("--sizes must start with the 64 inputs and have an output layer");
			}
			let shards: Vec<_> = (0..pools as usize)
				.map(|i| all.rows_range(i * rows as usize, rows as usize))
				.collect();
			let held_out = all.rows_range(need, all.rows() - need);
			let plan = opml_worker::training::Plan {
				spec: fl::TrainSpec {
					sizes: sizes.clone(),
					batch,
					steps,
					lr: opml_nn::train::to_q16(lr),
				},
				shards,
				init: fl::init_params(&sizes, seed),
				rounds,
				redundancy,
				deadline,
				valuation,
			};
			let client = Client::connect(&cli.url, &cli.suri).await?;
			let files = store.clone();
			let started = opml_worker::training::start(&client, &files, &plan, &targets).await?;
			if json {
				println!(
					"{}",
					serde_json::json!({
						"job": started.job,
						"block": started.block,
						"models": started.models,
					})
				);
			} else {
				println!(
					"job {} created in block {} (models {:?}: pools, then FedAvg)",
					started.job, started.block, started.models
				);
			}
			let eval = (held_out.rows() > 0).then(|| (sizes.clone(), held_out));
			let params = opml_worker::training::follow(
				&client,
				&files,
				started.job,
				Some(started.block),
				Duration::from_secs(timeout),
				train_reporter(json, eval),
			)
			.await?;
			let offline = if verify_offline {
				let want = fl::run_job(
					&opml_nn::cpu::Cpu,
					&plan.spec,
					&plan.shards,
					&plan.initial(),
					rounds,
				)
				.map_err(|e| anyhow::anyhow!("the offline run: {e}"))?;
				let same = want.last() == Some(&params);
				if !same {
					anyhow::bail!("the trained model differs from the offline run");
				}
				Some(same)
			} else {
				None
			};
			if let Some(out) = &out {
				write_params(out, &params)?;
			}
			if json {
				println!(
					"{}",
					serde_json::json!({
						"job": started.job,
						"trained": params.len(),
						"offline_match": offline,
						"out": out,
					})
				);
			} else {
				println!("job {} finished: {} parameters", started.job, params.len());
				if offline.is_some() {
					println!("the trained model equals the offline run");
				}
			}
		}
		Cmd::Train(TrainCmd::Watch {
			job,
			from,
			follow: FollowArgs { out, json, timeout },
		}) => {
			let client = Client::connect(&cli.url, &cli.suri).await?;
			let files = store.clone();
			let params = opml_worker::training::follow(
				&client,
				&files,
				job,
				from,
				Duration::from_secs(timeout),
				train_reporter(json, None),
			)
			.await?;
			if let Some(out) = &out {
				write_params(out, &params)?;
			}
			if json {
				println!(
					"{}",
					serde_json::json!({ "job": job, "trained": params.len(), "out": out })
				);
			} else {
				println!("job {job} finished: {} parameters", params.len());
			}
		}
		Cmd::Train(TrainCmd::Fetch { job, out }) => {
			let client = Client::connect(&cli.url, &cli.suri).await?;
			let files = store.clone();
			let params = opml_worker::training::fetch(&client, &files, job).await?;
			write_params(&out, &params)?;
			println!(
				"job {job}: {} trained parameters written to {}",
				params.len(),
				out.display()
			);
		}
		Cmd::GpuInfo => {
			let g = opml_worker::gpu::Gpu::new()?;
			println!("{}", g.adapter_name());
		}
		Cmd::Provider {
			state,
			backend,
			bond,
			capacity,
			unit_cost,
			power,
			challenge_bond,
			inject_fault,
			fault_node,
		} => {
			// a daemon may start before its node answers
			let client = Client::connect_patiently(&cli.url, &cli.suri, DAEMON_PATIENCE).await?;
			serving.start(&client, &store, true).await?;
			let engine = Engine::open(backend)?;
			if let Some(addr) = cli.prometheus {
				opml_worker::metrics::serve(addr);
			}
			let fault = inject_fault.then_some(opml_worker::faults::Fault { node: fault_node });
			if inject_fault {
				tracing::warn!(
					node = ?fault_node,
					"FAULT INJECTION: this provider reports wrong results"
				);
			}
			let p = Provider::new(
				client,
				State::open(&state)?,
				store,
				engine,
				Faults {
					wrong_result: fault,
				},
				AuditPolicy { challenge_bond },
			)?;
			p.ensure_registered(&Offer {
				bond,
				capacity,
				unit_cost,
				power,
			})
			.await?;
			p.run().await?;
		}
		Cmd::Verifier {
			state,
			backend,
			bond,
		} => {
			let client = Client::connect_patiently(&cli.url, &cli.suri, DAEMON_PATIENCE).await?;
			serving.start(&client, &store, false).await?;
			if let Some(addr) = cli.prometheus {
				opml_worker::metrics::serve(addr);
			}
			let v = opml_worker::verifier::Verifier::new(
				client,
				State::open(&state)?,
				store,
				Engine::open(backend)?,
				bond,
			)?;
			v.run().await?;
		}
		Cmd::RegisterModel {
			model,
			calibration,
			weight,
			name,
			json,
		} => {
			let client = Client::connect(&cli.url, &cli.suri).await?;
			let files = store.clone();
			let (id, c, m) = requester::register_model(
				&client,
				&files,
				&model,
				calibration.as_deref(),
				weight,
				&name,
				&targets,
			)
			.await?;
			if json {
				// what a dApp sends to register the same model (`Market.register_model`)
				let (graph, siblings) = opml_nn::registration::graph_registration(&m)
					.map_err(|e| anyhow::anyhow!("the model's graph proof: {e:?}"))?;
				println!(
					"{}",
					serde_json::json!({
						"model": id,
						"commitment": hex::encode(c),
						"graph": format!("0x{}", hex::encode(graph)),
						"graph_siblings": siblings
							.iter()
							.map(|s| format!("0x{}", hex::encode(s)))
							.collect::<Vec<_>>(),
					})
				);
			} else {
				println!("model {id} (commitment 0x{})", hex::encode(c));
			}
		}
		Cmd::Submit {
			model,
			input,
			text,
			compare,
			tokenizer,
			input_format,
			demand,
			valuation,
			redundancy,
			deadline,
			watch,
			json,
			timeout,
		} => {
			let client = Client::connect(&cli.url, &cli.suri).await?;
			let files = store.clone();
			let inputs: Vec<opml_nn::TensorData> = match (input, text, tokenizer) {
				(Some(input), _, _) => vec![opml_nn::TensorData::I8(match input_format {
					InputFormat::I8 => std::fs::read(&input)
						.with_context(|| format!("reading {}", input.display()))?
						.into_iter()
						.map(|b| b as i8)
						.collect(),
					InputFormat::F32 => {
						let x = opml_worker::models::read_f32s(&input)?;
						requester::quantize_input(&client, &files, model, &x).await?
					}
				})],
				(None, Some(text), Some(tokenizer)) => {
					let tok = tools::Text::open(&tokenizer)?;
					let m = requester::model_file(&client, &files, model).await?;
					let mut v = vec![tok.input(&m.model, &text)?];
					if let Some(c) = &compare {
						v.push(tok.input(&m.model, c)?);
					}
					v
				}
				_ => anyhow::bail!("give the input: --input FILE, or --text TEXT --tokenizer FILE"),
			};
			let req = TaskRequest {
				model,
				demand,
				valuation,
				redundancy,
				deadline,
			};
			let mut submitted = Vec::new();
			for input in &inputs {
				let (task, block) =
					requester::submit_task(&client, &files, &req, input, &targets).await?;
				if !json {
					println!("task {task} submitted");
				}
				submitted.push((task, block));
			}
			if watch {
				let mut outputs = Vec::new();
				for &(task, block) in &submitted {
					let o = requester::watch(
						&client,
						&files,
						task,
						Some(block),
						json,
						Duration::from_secs(timeout),
					)
					.await?;
					print_outcome(task, &o, json);
					outputs.push(o.output.and_then(|out| out.dequantized()));
				}
				if let [Some(a), Some(b)] = &outputs[..] {
					let c = tools::cosine(a, b);
					if json {
						println!("{}", serde_json::json!({ "cosine": c }));
					} else {
						println!("cosine similarity of the two texts' outputs: {c:.4}");
					}
				} else if compare.is_some() {
					anyhow::bail!("an output was not published: no cosine similarity");
				}
			} else if json {
				let tasks: Vec<u64> = submitted.iter().map(|(t, _)| *t).collect();
				match &tasks[..] {
					[t] => println!("{}", serde_json::json!({ "task": t })),
					_ => println!("{}", serde_json::json!({ "tasks": tasks })),
				}
			}
		}
		Cmd::Model(_) => {}
		Cmd::Watch {
			task,
			json,
			timeout,
		} => {
			let client = Client::connect(&cli.url, &cli.suri).await?;
			let files = store.clone();
			let o = requester::watch(
				&client,
				&files,
				task,
				None,
				json,
				Duration::from_secs(timeout),
			)
			.await?;
			print_outcome(task, &o, json);
		}
	}
	Ok(())
}
