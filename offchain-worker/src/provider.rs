//! The provider daemon: registers and bonds, commits to and reveals its round seeds
//! ([`crate::seeds`], in a task of its own), watches finalized blocks for its
//! assignments, computes each task, commits and then reveals its result, publishes
//! the output of its elected results, plays its games (defending its results, or
//! proving a dissenting one), and carries out
//! the random audits drawn for it (recompute, confirm or challenge). Results whose
//! output is a parameter vector (a training round's update, an aggregate: i32
//! outputs), or larger than `Submissions::MaxOutputLen`, are revealed in chunks
//! (`reveal_chunk` × n, then `finish_reveal` with the output's proof), so the bytes
//! voted on are on chain. Every step is recorded before the transaction that depends
//! on it, so a restarted daemon resumes (a chunked reveal from its next chunk).

use crate::{
	chain::{api, AccountId, Client},
	compute::Engine,
	models::Files,
	payloads::Payloads,
	store::{Stage, State, TaskRecord},
};
use anyhow::{Context, Result};
use opml_primitives_core::commitment::result_commitment;
use rand::RngCore;
use subxt::utils::H256;

/// How a provider offers its capacity.
#[derive(Clone, Debug)]
pub struct Offer {
	/// Bond to hold.
	pub bond: u128,
	/// `(model id, units)`.
	pub capacity: Vec<(u32, u32)>,
	/// Asking price per unit.
	pub unit_cost: u128,
	/// Power term.
	pub power: u32,
}

/// How a provider audits: the bond of a challenge when a drawn audit finds a wrong
/// result.
#[derive(Clone, Copy, Debug)]
pub struct AuditPolicy {
	/// Bond of each challenge (planck).
	pub challenge_bond: u128,
}

/// Fault injection for tests and drills (`--inject-fault`): report a wrong result.
#[derive(Clone, Copy, Debug, Default)]
pub struct Faults {
	/// Change one output byte (of the last node, or the given one) of every task
	/// before committing, and defend it.
	pub wrong_result: Option<crate::faults::Fault>,
}

/// The provider.
pub struct Provider {
	client: Client,
	state: State,
	files: Files,
	payloads: Payloads,
	engine: Engine,
	faults: Faults,
	audit: AuditPolicy,
	/// What we know of a model's output, by commitment (read from its file once).
	outputs: std::sync::Mutex<std::collections::HashMap<[u8; 32], ModelOutput>>,
	/// How long the last computation of each model took, by commitment (C3: a task
	/// whose deadline leaves less is declined).
	compute_times: std::sync::Mutex<std::collections::HashMap<[u8; 32], std::time::Duration>>,
	/// When finalized blocks arrived lately (the block time deadlines are counted in).
	blocks: std::sync::Mutex<BlockClock>,
}

/// Arrival times of finalized heads.
#[derive(Default)]
struct BlockClock {
	last: Option<(std::time::Instant, u64)>,
	intervals: std::collections::VecDeque<std::time::Duration>,
}

/// Block intervals the block time is the median of.
const BLOCK_SAMPLES: usize = 16;

/// How long a provider keeps trying to fetch a model it declared capacity for.
const PREFETCH_PATIENCE: std::time::Duration = std::time::Duration::from_secs(600);

/// Blocks kept free of computing before a deadline: the chain's `MaxFinalityLag` (5),
/// as this daemon sees blocks once final, plus two for the commit's inclusion.
const DEADLINE_MARGIN_BLOCKS: u64 = 7;

/// A model's output: whether it is a parameter vector (i32, revealed in chunks) and
/// the proof of its shape that outputs are published with (M6).
#[derive(Clone)]
struct ModelOutput {
	params: bool,
	proof: opml_nn::commit::OutputProof,
}

impl Provider {
	/// A provider signing with `client`'s account.
	pub fn new(
		client: Client,
		state: State,
		files: Files,
		engine: Engine,
		faults: Faults,
		audit: AuditPolicy,
	) -> Result<Self> {
		Ok(Provider {
			client,
			state,
			payloads: Payloads::open(&files)?,
			files,
			engine,
			faults,
			audit,
			outputs: Default::default(),
			compute_times: Default::default(),
			blocks: Default::default(),
		})
	}

	fn me(&self) -> AccountId {
		self.client.account()
	}

	/// Register with `offer` unless registered already.
	pub async fn ensure_registered(&self, offer: &Offer) -> Result<()> {
		let entry = self
			.client
			.fetch(api::storage().providers().providers(), (self.me(),))
			.await?;
		if entry.is_some() {
			tracing::info!("already registered");
			return Ok(());
		}
		use api::runtime_types::{
			bounded_collections::bounded_vec::BoundedVec, pallet_opml_providers::types::Capacity,
		};
		let capacity = BoundedVec(
			offer
				.capacity
				.iter()
				.map(|&(task_type, units)| Capacity { task_type, units })
				.collect(),
		);
		let tx = api::transactions().providers().register(
			offer.bond,
			capacity,
			offer.unit_cost,
			offer.power,
		);
		self.client.submit("Providers.register", &tx).await?;
		tracing::info!(bond = offer.bond, "registered as a provider");
		Ok(())
	}

	/// Follow finalized blocks forever: compute, commit, reveal; defend every game.
	pub async fn run(&self) -> Result<()> {
		tracing::info!(account = %self.me(), engine = %self.engine.describe(), "provider running");
		// round seeds in their own task: a long computation must not miss a window
		tokio::spawn(crate::seeds::Seeds::new(self.client.clone()).run());
		let mut games = crate::game::Games::default();
		for (game, task) in self.state.games()? {
			self.defend(&mut games, game, task).await;
		}
		// the models we declared capacity for, fetched now (those registered later: when
		// their registration is final)
		for m in self.capacity().await? {
			self.prefetch(m);
		}
		let mut follower =
			crate::chain::Follower::resume(&self.client, self.state.cursor()?).await?;
		loop {
			let (number, events) = follower.next(&self.client).await?;
			tracing::debug!(number, events = events.len(), "block");
			self.note_block(number, follower.at_head());
			for ev in events.iter() {
				if let Some(r) = ev?
					.decode_fields_as::<api::market::events::ModelRegistered>()
					.transpose()?
				{
					if self.capacity().await?.contains(&r.model) {
						self.prefetch(r.model);
					}
				}
			}
			if let Err(e) = self.payloads.observe(&self.client, number, &events).await {
				tracing::warn!(number, "payloads of the block not read: {e:#}");
			}
			for ev in events.iter() {
				let ev = ev?;
				if let Some(g) = ev
					.decode_fields_as::<api::arbitration::events::GameOpened>()
					.transpose()?
				{
					// defend our results; as the representative of a dissenting class
					// (a game opened by the tally), prove our result
					if (g.defender == self.me() || g.challenger == self.me()) && !games.has(g.game)
					{
						self.state.put_game(g.game, g.task)?;
						self.defend(&mut games, g.game, g.task).await;
					}
				}
				if let Some(d) = ev
					.decode_fields_as::<api::arbitration::events::DefencePassed>()
					.transpose()?
				{
					// a co-revealer lost its defence of our result: the game is ours now
					if d.defender == self.me() && !games.has(d.game) {
						self.state.put_game(d.game, d.task)?;
						self.defend(&mut games, d.game, d.task).await;
					}
				}
				if let Some(a) = ev
					.decode_fields_as::<api::arbitration::events::AuditAssigned>()
					.transpose()?
				{
					if a.auditor == self.me() {
						if let Err(e) = self.audit(&mut games, a.task).await {
							tracing::error!(task = a.task, "audit failed: {e:#}");
						}
					}
				}
				if let Some(e) = ev
					.decode_fields_as::<api::submissions::events::ResultElected>()
					.transpose()?
				{
					if let Err(err) = self.publish_output(e.task, e.result.0).await {
						tracing::warn!(task = e.task, "output not published: {err:#}");
					}
				}
				if let Some(a) = ev
					.decode_fields_as::<api::market::events::TaskAssigned>()
					.transpose()?
				{
					if a.providers.0.iter().any(|(p, _)| *p == self.me()) {
						if let Err(e) = self.compute_and_commit(a.task, a.due, number).await {
							crate::metrics::get()
								.tasks
								.with_label_values(&["failed"])
								.inc();
							tracing::error!(task = a.task, "{e:#}");
							// an input we cannot get or a model we cannot run: decline
							// rather than miss the deadline (no penalty)
							self.decline(a.task).await;
						}
					}
				}
			}
			self.progress(number).await?;
			for id in games.play(&self.client).await? {
				self.state.remove_game(id)?;
			}
			self.state.set_cursor(number)?;
		}
	}

	/// Note that finalized block `number` arrived now; `at_head`: it was the finalized
	/// head (not a block of a backlog, whose arrival says nothing of the block time).
	fn note_block(&self, number: u64, at_head: bool) {
		if !at_head {
			return;
		}
		let now = std::time::Instant::now();
		let mut b = self.blocks.lock().unwrap_or_else(|e| e.into_inner());
		if let Some((then, n)) = b.last.replace((now, number)) {
			if number > n {
				if b.intervals.len() == BLOCK_SAMPLES {
					b.intervals.pop_front();
				}
				let per_block = (now - then) / (number - n).min(u64::from(u32::MAX)) as u32;
				b.intervals.push_back(per_block);
			}
		}
	}

	/// The time a block takes: the median of the last [`BLOCK_SAMPLES`] per-block
	/// intervals between finalized heads as they arrived here (several blocks finalized
	/// at once count as one interval over their number), at most `nominal` (the
	/// runtime's slot), which serves until a few were seen. A dev chain seals faster
	/// than its slot; a backlog being caught up with is not sampled.
	fn block_time(&self, nominal: std::time::Duration) -> std::time::Duration {
		let b = self.blocks.lock().unwrap_or_else(|e| e.into_inner());
		if b.intervals.len() < 4 {
			return nominal;
		}
		let mut v: Vec<_> = b.intervals.iter().copied().collect();
		v.sort();
		v[v.len() / 2].min(nominal)
	}

	/// The models (task types) this provider declared capacity for.
	async fn capacity(&self) -> Result<Vec<u32>> {
		Ok(self
			.client
			.fetch(api::storage().providers().providers(), (self.me(),))
			.await?
			.map(|p| p.capacity.0.iter().map(|c| c.task_type).collect())
			.unwrap_or_default())
	}

	/// Fetch `model`'s file in the background (for up to [`PREFETCH_PATIENCE`]: its
	/// owner uploads it after the registration), so that a task of it finds it here.
	fn prefetch(&self, model: u32) {
		let (client, files) = (self.client.clone(), self.files.clone());
		tokio::spawn(async move {
			let until = std::time::Instant::now() + PREFETCH_PATIENCE;
			match crate::distribution::ensure(
				&client,
				&files,
				crate::distribution::Reference::Model(model),
				until,
				crate::distribution::Show::Log,
			)
			.await
			{
				Ok(Some(f)) => tracing::info!(model, file = %f, "model ready"),
				Ok(None) => tracing::debug!(model, "model not registered (yet)"),
				Err(e) => tracing::warn!(model, "model not fetched: {e:#}"),
			}
		});
	}

	async fn defend(&self, games: &mut crate::game::Games, game: u64, task: u64) {
		match crate::game::player_for_task(
			&self.client,
			&self.files,
			&self.engine,
			task,
			self.faults.wrong_result,
		)
		.await
		{
			Ok(p) => {
				tracing::info!(game, task, "playing");
				games.track(game, p);
			}
			Err(e) => tracing::error!(game, task, "cannot defend: {e:#}"),
		}
	}

	/// Compute `task` and commit to its result (once: a recorded task is resumed).
	#[tracing::instrument(skip(self), fields(account = %self.me()))]
	async fn compute_and_commit(&self, task: u64, due: u32, seen: u64) -> Result<()> {
		if let Some(rec) = self.state.get(task)? {
			if rec.due == due {
				return Ok(());
			}
		}
		// what we could not deliver in time or defend, we decline (no penalty)
		let at = self.client.api.at_current_block().await?;
		let max_node_steps = at
			.constants()
			.entry(api::constants().arbitration().max_node_steps())?;
		let block = self.block_time(std::time::Duration::from_millis(
			2 * at
				.constants()
				.entry(api::constants().timestamp().minimum_period())?,
		));
		let blocks_left = u64::from(due).saturating_sub(seen);
		let estimate = |c: &[u8; 32]| {
			self.compute_times
				.lock()
				.unwrap_or_else(|e| e.into_inner())
				.get(c)
				.copied()
		};
		let started = std::time::Instant::now();
		// files we lack are fetched while the deadline leaves room for the commit; a
		// requester's unpublished input makes us decline, not miss (issue 21)
		let until = started
			+ block.saturating_mul(blocks_left.saturating_sub(DEADLINE_MARGIN_BLOCKS) as u32);
		let run = crate::compute::run_task_checked(
			&self.client,
			&self.files,
			&self.engine,
			task,
			self.faults.wrong_result,
			until,
			|c, model| {
				crate::compute::check_defensible(&model.model, max_node_steps)?;
				let estimate =
					estimate(c).unwrap_or_else(|| crate::compute::first_run_estimate(&model.model));
				// the blocks a fetch of the model took are gone
				let spent = (started.elapsed().as_millis() / block.as_millis().max(1)) as u64;
				crate::compute::check_deadline(
					estimate,
					blocks_left.saturating_sub(spent),
					DEADLINE_MARGIN_BLOCKS,
					block,
				)
			},
		)
		.await?;
		self.compute_times
			.lock()
			.unwrap_or_else(|e| e.into_inner())
			.insert(run.commitment, started.elapsed());
		let exec = run.exec;
		let result = exec.result_root();
		let m = crate::metrics::get();
		m.compute.observe(started.elapsed().as_secs_f64());
		m.tasks.with_label_values(&["computed"]).inc();
		tracing::info!(task, ms = started.elapsed().as_millis() as u64, result = %hex::encode(result), "computed");
		let mut salt = [0u8; 32];
		rand::thread_rng().fill_bytes(&mut salt);
		let proof = exec
			.states
			.output_proof()
			.map_err(|e| anyhow::anyhow!("output proof: {e:?}"))?;
		let mut rec = TaskRecord {
			model: run.commitment,
			result,
			salt,
			due,
			stage: Stage::Computed,
			output: exec.output_data().map(|o| o.to_bytes()).unwrap_or_default(),
			output_proof: (proof.index as u32, proof.siblings),
		};
		self.state.put(task, &rec)?;
		self.commit(task, &mut rec).await
	}

	/// A drawn audit: recompute the pending result (honestly, also under fault
	/// injection), confirm it or challenge it and play the game.
	#[tracing::instrument(skip(self, games))]
	async fn audit(&self, games: &mut crate::game::Games, task: u64) -> Result<()> {
		let Some(result) = crate::game::pending_result(&self.client, task).await? else {
			tracing::info!(task, "audited result no longer pending");
			return Ok(());
		};
		let verdict = crate::game::Checker {
			client: &self.client,
			files: &self.files,
			engine: &self.engine,
			state: &self.state,
			bond: self.audit.challenge_bond,
		}
		.check(games, task, result)
		.await?;
		if verdict == crate::game::Verdict::Confirmed {
			let tx = api::transactions().arbitration().confirm_audit(task);
			self.client.submit("Arbitration.confirm_audit", &tx).await?;
			tracing::info!(task, "audit confirmed");
		}
		Ok(())
	}

	/// Publish the output tensor of `task` if our result was elected and nobody has
	/// published it yet.
	async fn publish_output(&self, task: u64, elected: [u8; 32]) -> Result<()> {
		let Some(rec) = self.state.get(task)? else {
			return Ok(());
		};
		if rec.result != elected || rec.output.is_empty() || self.chunked(&rec).await? {
			return Ok(());
		}
		let known = self
			.client
			.fetch(api::storage().submissions().outputs(), (task,))
			.await?;
		if known.is_some_and(|o| o.result.0 == elected) {
			return Ok(());
		}
		use api::runtime_types::bounded_collections::bounded_vec::BoundedVec;
		let (_, siblings) = rec.output_proof.clone();
		let shape = crate::chain::shape_call(self.model_output(&rec.model)?.proof);
		let tx = api::transactions().submissions().publish_output(
			task,
			rec.output.clone(),
			shape,
			BoundedVec(siblings.into_iter().map(H256).collect()),
		);
		match self.client.submit("Submissions.publish_output", &tx).await {
			Ok(_) => {
				tracing::info!(task, bytes = rec.output.len(), "output published");
				Ok(())
			}
			// another member of the majority was first
			Err(e) if format!("{e:#}").contains("OutputKnown") => Ok(()),
			Err(e) => Err(e),
		}
	}

	/// Decline an assigned task we could not compute (not penalized at its deadline).
	async fn decline(&self, task: u64) {
		let tx = api::transactions().market().decline(task);
		match self.client.submit("Market.decline", &tx).await {
			Ok(_) => tracing::warn!(task, "declined"),
			Err(e) => tracing::warn!(task, "could not decline: {e:#}"),
		}
	}

	async fn commit(&self, task: u64, rec: &mut TaskRecord) -> Result<()> {
		let c = result_commitment(task, &self.me().0, &rec.result, &rec.salt);
		let tx = api::transactions().submissions().commit(task, H256(c));
		self.client.submit("Submissions.commit", &tx).await?;
		rec.stage = Stage::Committed;
		self.state.put(task, rec)?;
		crate::metrics::get()
			.tasks
			.with_label_values(&["committed"])
			.inc();
		tracing::info!(task, "committed");
		Ok(())
	}

	/// Whether the result of `rec` is revealed in chunks: a parameter vector (i32
	/// output), or an output too large for `publish_output`.
	async fn chunked(&self, rec: &TaskRecord) -> Result<bool> {
		let max_output = self
			.client
			.api
			.at_current_block()
			.await?
			.constants()
			.entry(api::constants().submissions().max_output_len())?;
		if rec.output.len() > max_output as usize {
			return Ok(true);
		}
		Ok(self.model_output(&rec.model)?.params)
	}

	/// What we know of `model`'s output (from its file, the first time).
	fn model_output(&self, model: &[u8; 32]) -> Result<ModelOutput> {
		let known = self
			.outputs
			.lock()
			.unwrap_or_else(|e| e.into_inner())
			.get(model)
			.cloned();
		if let Some(k) = known {
			return Ok(k);
		}
		let m = self.files.model(model)?.model;
		let out = ModelOutput {
			params: m
				.graph
				.nodes
				.last()
				.is_some_and(|n| n.output.dtype == opml_nn::types::DType::I32),
			proof: opml_nn::commit::output_proof(&m)
				.map_err(|e| anyhow::anyhow!("the model's output proof: {e:?}"))?,
		};
		self.outputs
			.lock()
			.unwrap_or_else(|e| e.into_inner())
			.insert(*model, out.clone());
		Ok(out)
	}

	/// Send the chunks of `rec`'s output from the first one the chain does not have
	/// (at least `from`), then finish the reveal.
	async fn reveal_chunks(&self, task: u64, rec: &mut TaskRecord, from: u32) -> Result<()> {
		let chunk_len = self
			.client
			.api
			.at_current_block()
			.await?
			.constants()
			.entry(api::constants().submissions().max_chunk_len())? as usize;
		// a daemon stopped after a chunk went in but before it recorded it: the pool
		// says how far the reveal got
		use api::runtime_types::pallet_opml_submissions::types::Reveal;
		let pool = self
			.client
			.fetch(api::storage().submissions().pools(), (task,))
			.await?;
		let on_chain = pool
			.and_then(|p| p.entries.0.into_iter().find(|e| e.who == self.me()))
			.map(|e| e.reveal);
		let from = match on_chain {
			Some(Reveal::Chunks(p)) => p.count.max(from),
			Some(Reveal::Done(_)) => return Ok(()),
			_ => 0,
		};
		let output = rec.output.clone();
		let chunks: Vec<&[u8]> = output.chunks(chunk_len).collect();
		let txs: Vec<_> = chunks
			.iter()
			.enumerate()
			.skip(from as usize)
			.map(|(i, c)| {
				api::transactions()
					.submissions()
					.reveal_chunk(task, i as u32, c.to_vec())
			})
			.collect();
		// the chunks go in together (consecutive nonces), each recorded once final
		self.client
			.submit_sequence("Submissions.reveal_chunk", &txs, |i| {
				rec.stage = Stage::Revealing {
					next: from + i as u32 + 1,
				};
				self.state.put(task, rec)
			})
			.await
			.with_context(|| format!("{} chunks", chunks.len()))?;
		use api::runtime_types::bounded_collections::bounded_vec::BoundedVec;
		let (_, siblings) = rec.output_proof.clone();
		let shape = crate::chain::shape_call(self.model_output(&rec.model)?.proof);
		let tx = api::transactions().submissions().finish_reveal(
			task,
			rec.salt,
			H256(rec.result),
			shape,
			BoundedVec(siblings.into_iter().map(H256).collect()),
		);
		self.client.submit("Submissions.finish_reveal", &tx).await?;
		tracing::info!(
			task,
			chunks = chunks.len(),
			bytes = output.len(),
			"revealed in chunks"
		);
		Ok(())
	}

	/// Reveal `rec` (whole, or in chunks from chunk `from`); the stage is `Revealed`
	/// afterwards also on failure (the window may have closed, or the task moved on).
	async fn reveal(&self, task: u64, rec: &mut TaskRecord, from: u32) -> Result<()> {
		let r = if self.chunked(rec).await? {
			self.reveal_chunks(task, rec, from).await
		} else {
			let tx = api::transactions()
				.submissions()
				.reveal(task, H256(rec.result), rec.salt);
			self.client
				.submit("Submissions.reveal", &tx)
				.await
				.map(|_| tracing::info!(task, "revealed"))
		};
		rec.stage = Stage::Revealed;
		self.state.put(task, rec)?;
		if r.is_ok() {
			crate::metrics::get()
				.tasks
				.with_label_values(&["revealed"])
				.inc();
		}
		r.context("reveal")
	}

	/// Resume recorded work: commit what was computed, reveal what is due (a chunked
	/// reveal from its next chunk).
	async fn progress(&self, finalized: u64) -> Result<()> {
		for (task, mut rec) in self.state.open_tasks()? {
			let r = match rec.stage {
				Stage::Computed => self.commit(task, &mut rec).await,
				Stage::Revealing { next } => self.reveal(task, &mut rec, next).await,
				Stage::Committed if finalized + 1 >= u64::from(rec.due) => {
					self.reveal(task, &mut rec, 0).await
				}
				_ => Ok(()),
			};
			if let Err(e) = r {
				crate::metrics::get()
					.tasks
					.with_label_values(&["failed"])
					.inc();
				tracing::error!(task, "{e:#}");
			}
		}
		Ok(())
	}
}
