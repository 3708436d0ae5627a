//! Federated-learning jobs for requesters (`opml-worker train start|watch|fetch`):
//! build each pool's round graph (`fl::training_model` over the pool's shard) and the
//! FedAvg graph, register them, create the job with the initial parameters, follow it
//! round by round (calling `Training.advance` with the proven outputs as soon as a
//! phase is final) and fetch the trained parameters, checked against the job's root.
//!
//! Round inputs travel as everything else does: the initial parameters through the
//! files directory (as any task input given by root), every later parameter vector
//! and update on chain, in the chunks of the providers' reveals ([`Payloads`]).

use crate::{
	chain::{api, Client, Follower},
	models::Files,
	payloads::Payloads,
};
use anyhow::{anyhow, bail, Context, Result};
use opml_nn::{
	fl::{self, Shard, TrainSpec},
	types::TensorData,
	Model,
};
use std::time::Duration;
use subxt::utils::H256;

/// A job to start.
#[derive(Clone, Debug)]
pub struct Plan {
	/// The MLP and the round's mini-batch steps.
	pub spec: TrainSpec,
	/// One shard per pool.
	pub shards: Vec<Shard>,
	/// The initial parameters (unpadded; see [`fl::init_params`]).
	pub init: Vec<i32>,
	/// Rounds.
	pub rounds: u32,
	/// Providers per task.
	pub redundancy: u8,
	/// Blocks the providers of each task get.
	pub deadline: u32,
	/// The most paid for each task.
	pub valuation: u128,
}

impl Plan {
	/// The pools' round graphs and the FedAvg graph.
	pub fn models(&self) -> Result<(Vec<Model>, Model)> {
		let pools = self
			.shards
			.iter()
			.enumerate()
			.map(|(i, s)| {
				fl::training_model(&self.spec, s)
					.map_err(|e| anyhow!("pool {i}'s round graph: {e}"))
			})
			.collect::<Result<Vec<_>>>()?;
		let n = fl::padded_len(self.init.len());
		let avg = fl::fedavg_model(self.shards.len() as u32, n as u32)
			.map_err(|e| anyhow!("the FedAvg graph: {e}"))?;
		Ok((pools, avg))
	}

	/// The padded initial parameters.
	pub fn initial(&self) -> Vec<i32> {
		fl::pad(&self.init)
	}
}

/// A started job.
#[derive(Clone, Debug)]
pub struct Started {
	/// The job id.
	pub job: u64,
	/// The block that created it (follow from there).
	pub block: u64,
	/// The pools' model ids, then the aggregator's.
	pub models: Vec<u32>,
}

/// Register the plan's graphs, store the initial parameters in `files` and create the
/// job.
/// The models and the initial parameters are uploaded to file stores as `publish`
/// asks.
pub async fn start(
	client: &Client,
	files: &Files,
	plan: &Plan,
	publish: &crate::distribution::Targets,
) -> Result<Started> {
	if fl::param_count(&plan.spec.sizes) != plan.init.len() {
		bail!(
			"the initial parameters have {} entries, the MLP {:?} has {}",
			plan.init.len(),
			plan.spec.sizes,
			fl::param_count(&plan.spec.sizes)
		);
	}
	let (pools, avg) = plan.models()?;
	let mut models = Vec::new();
	for (i, m) in pools.iter().enumerate() {
		let (id, _) =
			crate::requester::register(client, files, m, 1, &format!("fl-pool-{i}"), publish)
				.await?;
		models.push(id);
	}
	let (aggregator, _) =
		crate::requester::register(client, files, &avg, 1, "fl-fedavg", publish).await?;
	let init = plan.initial();
	let root = files.put_input_bytes(&TensorData::I32(init.clone()).to_bytes())?;
	use api::runtime_types::{
		bounded_collections::bounded_vec::BoundedVec, pallet_opml_training::types::JobSpec,
	};
	let tx = api::transactions().training().create_job(JobSpec {
		pools: BoundedVec(models.clone()),
		aggregator,
		params: H256(root),
		params_len: init.len() as u32,
		rounds: plan.rounds,
		redundancy: plan.redundancy,
		deadline: plan.deadline,
		valuation: plan.valuation,
	});
	let (events, block) = client.submit_at("Training.create_job", &tx).await?;
	let job = events
		.iter()
		.find(|e| e.pallet == "Training" && e.name == "JobCreated")
		.and_then(|e| {
			use subxt::ext::scale_value::At;
			e.fields.at("job").and_then(|v| v.as_u128())
		})
		.ok_or_else(|| anyhow!("no Training.JobCreated event"))? as u64;
	crate::requester::publish_file(
		client,
		files,
		crate::distribution::Reference::Job(job),
		publish,
	)
	.await?;
	models.push(aggregator);
	Ok(Started { job, block, models })
}

/// What happened to a followed job.
#[derive(Clone, Debug, PartialEq)]
pub enum Progress {
	/// A round's pool tasks were submitted.
	RoundStarted {
		/// The round.
		round: u32,
		/// The tasks, in pool order.
		tasks: Vec<u64>,
	},
	/// The round's updates are final; they are being averaged.
	Aggregating {
		/// The round.
		round: u32,
		/// The aggregation task.
		task: u64,
	},
	/// A round is done.
	RoundFinished {
		/// The round.
		round: u32,
		/// The new parameters (checked against their root).
		params: Vec<i32>,
	},
	/// This follower moved the job on.
	Advanced {
		/// The round.
		round: u32,
	},
}

/// Follow `job` from block `from` (or the next finalized one) until it finishes,
/// advancing it whenever its current tasks are final, and reporting progress to
/// `report`; returns the trained parameters (checked against the job's root).
pub async fn follow(
	client: &Client,
	files: &Files,
	job: u64,
	from: Option<u64>,
	timeout: Duration,
	mut report: impl FnMut(Progress),
) -> Result<Vec<i32>> {
	let payloads = Payloads::open(files)?;
	let mut follower = Follower::start(client, from).await?;
	let deadline = tokio::time::Instant::now() + timeout;
	// blocks before this one predate our last `advance`: no new attempt
	let mut advanced_in = 0;
	loop {
		let (number, events) = tokio::time::timeout_at(deadline, follower.next(client))
			.await
			.map_err(|_| anyhow!("job {job}: not finished within {timeout:?}"))??;
		if let Err(e) = payloads.observe(client, number, &events).await {
			tracing::warn!(number, "payloads of the block not read: {e:#}");
		}
		use api::training::events as tr;
		for ev in events.iter() {
			let ev = ev?;
			if let Some(e) = ev.decode_fields_as::<tr::RoundStarted>().transpose()? {
				if e.job == job {
					report(Progress::RoundStarted {
						round: e.round,
						tasks: e.tasks.0,
					});
				}
			} else if let Some(e) = ev.decode_fields_as::<tr::Aggregating>().transpose()? {
				if e.job == job {
					report(Progress::Aggregating {
						round: e.round,
						task: e.task,
					});
				}
			} else if let Some(e) = ev.decode_fields_as::<tr::RoundFinished>().transpose()? {
				if e.job == job {
					let params = params_of(files, &e.params.0)
						.with_context(|| format!("round {}'s aggregate", e.round))?;
					report(Progress::RoundFinished {
						round: e.round,
						params,
					});
				}
			} else if let Some(e) = ev.decode_fields_as::<tr::JobFinished>().transpose()? {
				if e.job == job {
					return params_of(files, &e.params.0);
				}
			} else if let Some(e) = ev.decode_fields_as::<tr::JobCancelled>().transpose()? {
				if e.job == job {
					bail!("job {job} was cancelled");
				}
			}
		}
		// the job as of this block (the head may be ahead of the events followed)
		let at = client.api.at_block(number).await?;
		let info = at
			.storage()
			.entry(api::storage().training().jobs())?
			.try_fetch((job,))
			.await?;
		let Some(info) = info else {
			bail!("job {job} is not on chain (cancelled, or never created)");
		};
		let info = info.decode()?;
		use api::runtime_types::pallet_opml_training::types::Phase;
		let tasks = match &info.phase {
			Phase::Finished => return params_of(files, &info.params.0),
			Phase::Training { tasks } => tasks.0.clone(),
			Phase::Aggregating { task } => vec![*task],
		};
		if number < advanced_in {
			continue;
		}
		if let Some(outputs) = proofs(client, files, &payloads, &tasks).await? {
			use api::runtime_types::{
				bounded_collections::bounded_vec::BoundedVec,
				pallet_opml_training::types::OutputProof,
			};
			let outputs = outputs
				.into_iter()
				.map(|(o, shape)| OutputProof {
					root: H256(o.root),
					shape,
					siblings: BoundedVec(o.siblings.into_iter().map(H256).collect()),
				})
				.collect();
			let tx = api::transactions()
				.training()
				.advance(job, BoundedVec(outputs));
			match client.submit_at("Training.advance", &tx).await {
				Ok((_, block)) => {
					advanced_in = block;
					report(Progress::Advanced { round: info.round });
				}
				// someone else advanced it first: the next block shows the new phase
				Err(e) => tracing::info!(job, "advance: {e:#}"),
			}
		}
	}
}

/// The proven outputs of `tasks` if every one is final and its output was observed.
async fn proofs(
	client: &Client,
	files: &Files,
	payloads: &Payloads,
	tasks: &[u64],
) -> Result<Option<Vec<(crate::payloads::OutputRecord, ShapeCall)>>> {
	let mut out = Vec::with_capacity(tasks.len());
	for &task in tasks {
		let Some(fin) = client
			.fetch(api::storage().submissions().results(), (task,))
			.await?
		else {
			return Ok(None);
		};
		// the output's slot and length are proven with the shape of the model that
		// computed it (docs/security.md L7)
		let model = files
			.model(&fin.commitment.0)
			.with_context(|| format!("task {task}'s model, for its output shape"))?;
		let shape = crate::chain::shape_proof(&model.model)?;
		match payloads.output(task, &fin.result.0)? {
			Some(o) => out.push((o, shape)),
			None => {
				tracing::debug!(
					task,
					"final, but its output was not seen in a reveal (followed too late?)"
				);
				return Ok(None);
			}
		}
	}
	Ok(Some(out))
}

/// An output shape proof as calls take it.
type ShapeCall = api::runtime_types::pallet_opml_submissions::types::ShapeProof;

/// The parameter vector with root `root` from `files`.
pub fn params_of(files: &Files, root: &[u8; 32]) -> Result<Vec<i32>> {
	let bytes = files.input_bytes(root).with_context(|| {
		"not collected: parameters are read from the reveals of a followed job \
		 (`opml-worker train watch --job <id> --from <block before its last round>`)"
	})?;
	match TensorData::from_bytes(opml_nn::types::DType::I32, &bytes) {
		Some(TensorData::I32(v)) => Ok(v),
		_ => bail!("{} bytes are not an i32 parameter vector", bytes.len()),
	}
}

/// The trained parameters of the finished `job`, checked against its root.
pub async fn fetch(client: &Client, files: &Files, job: u64) -> Result<Vec<i32>> {
	let info = client
		.fetch(api::storage().training().jobs(), (job,))
		.await?
		.ok_or_else(|| anyhow!("job {job} is not on chain (cancelled, or never created)"))?;
	use api::runtime_types::pallet_opml_training::types::Phase;
	if !matches!(info.phase, Phase::Finished) {
		bail!(
			"job {job} is not finished: round {} of {}",
			info.round + 1,
			info.rounds
		);
	}
	// `Files::input_bytes` checks the bytes against the root
	params_of(files, &info.params.0)
}

/// Little-endian bytes of a parameter vector (the `--out` file format).
pub fn params_bytes(params: &[i32]) -> Vec<u8> {
	TensorData::I32(params.to_vec()).to_bytes()
}
