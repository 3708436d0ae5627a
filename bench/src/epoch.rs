//! The `epoch` workload: one round of a federated-learning job as Bouchet et al.
//! (§4) measure it. `--pools` tasks with redundancy `--redundancy` are auctioned to the
//! benchmark providers; every member commits to its update at once (as in Bouchet's
//! first phase, all hashes together), then, from the reveal window on, reveals a
//! `--params`-entry update (4 bytes per parameter) in chunks of `--chunk-bytes`, one
//! chunk every `--pace` seconds (the *pace*), and finishes the reveal with the update's
//! proof in its result (a one-node result whose output is the update, as the bench's
//! `reveal` workload does). Members start `pace / members` apart.
//!
//! Reported: the committed % of the chunk transactions (Bouchet's measure; the
//! *minimum pace* is the smallest pace at which at least 85 % commit), how many members
//! finished their reveal, and the epoch's time: from the first commitment sent to the
//! last `finish_reveal` finalized, when every member finished.

use crate::{account, lock, observer, one_node_result, Bench, Planned, UNIT};
use anyhow::{bail, Result};
use opml_primitives_core::commitment::result_commitment;
use opml_worker::chain::api;
use std::{
	collections::BTreeMap,
	time::{Duration, Instant},
};
use subxt::utils::{AccountId32, H256};
use subxt_signer::sr25519::Keypair;

/// One epoch's configuration.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Config {
	/// Pools (tasks).
	pub pools: u32,
	/// Members per pool.
	pub redundancy: u32,
	/// Parameters of the model (4 bytes each).
	pub params: u64,
	/// Bytes per chunk (the last may be shorter).
	pub chunk_bytes: usize,
	/// Seconds between two chunk transactions of one member.
	pub pace: f64,
}

/// One epoch's figures.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Row {
	/// The configuration.
	pub config: Config,
	/// Members (pools × redundancy).
	pub members: usize,
	/// Chunks per member.
	pub chunks_per_member: usize,
	/// Committed % of the chunk transactions.
	pub chunk_commit_pct: f64,
	/// Members whose `finish_reveal` committed.
	pub finished: usize,
	/// First commitment sent to the last `finish_reveal` finalized (every member
	/// finished), in seconds.
	pub epoch_seconds: Option<f64>,
	/// First chunk sent to the last `finish_reveal` finalized, in seconds.
	pub reveal_seconds: Option<f64>,
	/// When each committed chunk was finalized, in seconds from the first commitment
	/// sent, in order (the epoch's timeline).
	pub chunks_committed_at: Vec<f64>,
	/// The epoch's tasks sent back to auction before the run ended. The members reveal
	/// different bytes, so no tally elects a result: a re-auctioned task means the run
	/// outlasted the reveal window. Its pool is then gone (chunks still queued fail
	/// with `UnknownTask`) and opens again when the task is re-assigned (with a new
	/// commit window: they fail with `RevealNotOpen`).
	pub reauctioned: usize,
	/// Figures per kind of transaction.
	pub stats: BTreeMap<String, crate::load::Stats>,
	/// Errors counted.
	pub errors: BTreeMap<String, usize>,
}

/// A member: its assignment and its update.
struct Member {
	assigned: observer::Assigned,
	payload: Vec<u8>,
	salt: [u8; 32],
	root: [u8; 32],
}

/// Run one epoch with `providers` (registered) and `requesters` (funded).
pub async fn run(
	b: &mut Bench,
	requesters: &[Keypair],
	providers: &[Keypair],
	model: u32,
	shape_model: &opml_nn::Model,
	cfg: &Config,
) -> Result<Row> {
	let drain = b.args.drain;
	let len = cfg.params as usize * 4;
	let n = len.div_ceil(cfg.chunk_bytes.max(1));
	let consts = b.at.constants();
	let sub = api::constants().submissions();
	let max_chunk = consts.entry(sub.max_chunk_len())? as usize;
	let max_chunks = consts.entry(sub.max_payload_chunks())? as usize;
	let window = consts.entry(sub.reveal_period())?;
	if cfg.chunk_bytes == 0 || cfg.chunk_bytes > max_chunk {
		bail!("--chunk-bytes must be 1..={max_chunk} (MaxChunkLen)");
	}
	if n > 1 && (cfg.chunk_bytes < 32 || !cfg.chunk_bytes.is_power_of_two()) {
		bail!("an update of several chunks needs a power-of-two --chunk-bytes of at least 32");
	}
	if n > max_chunks {
		bail!("{n} chunks per member: more than MaxPayloadChunks ({max_chunks}); larger chunks?");
	}
	let bt = b.block_time().max(0.05);
	if n as f64 * cfg.pace > f64::from(window) * bt {
		tracing::warn!(
			"{n} chunks at {} s take longer than the reveal window ({window} blocks of {bt:.2} s): \
			 the late ones will fail",
			cfg.pace
		);
	}
	// commitments all go in at once: a few blocks for them
	let deadline = ((6.0 / bt).ceil() as u32).max(3);
	let want = (cfg.pools * cfg.redundancy) as usize;
	let before = lock(&b.state).assigned.len();
	let mut plan = Vec::new();
	for p in 0..cfg.pools {
		use api::runtime_types::{
			bounded_collections::bounded_vec::BoundedVec, pallet_opml_market::types::TaskInput,
		};
		let input = TaskInput::Inline(BoundedVec((0..64u32).map(|x| (x ^ p) as u8).collect()));
		let call = api::transactions().market().submit_task(
			model,
			input,
			1,
			UNIT / 100,
			cfg.redundancy as u8,
			deadline,
		);
		let who = &requesters[p as usize % requesters.len()];
		plan.push(b.sign("setup", 0.0, who, &call).await?);
	}
	b.setup("epoch tasks", plan).await?;
	let until = Instant::now() + Duration::from_secs(60);
	let ours = |st: &crate::State| {
		st.assigned[before..]
			.iter()
			.filter(|a| providers.iter().any(|k| account(k) == a.provider))
			.count()
	};
	while ours(&lock(&b.state)) < want {
		if Instant::now() > until {
			bail!(
				"only {} of {want} members assigned (enough providers with free capacity?)",
				ours(&lock(&b.state))
			);
		}
		tokio::time::sleep(Duration::from_millis(100)).await;
	}
	let by_account: std::collections::HashMap<[u8; 32], &Keypair> =
		providers.iter().map(|k| (account(k), k)).collect();
	// this epoch's assignments to the benchmark's providers
	let assigned: Vec<observer::Assigned> = lock(&b.state).assigned[before..]
		.iter()
		.filter(|a| by_account.contains_key(&a.provider))
		.cloned()
		.collect();
	let members: Vec<Member> = assigned
		.into_iter()
		.enumerate()
		.map(|(j, a)| {
			let payload: Vec<u8> = (0..len)
				.map(|x| (x as u64 ^ a.task ^ ((j as u64) << 3)) as u8)
				.collect();
			let mut salt = [0u8; 32];
			salt[..8].copy_from_slice(&a.task.to_le_bytes());
			salt[8] = j as u8;
			salt[9] = 0xe9;
			let root = one_node_result(&payload).0;
			Member {
				assigned: a,
				payload,
				salt,
				root,
			}
		})
		.collect();
	tracing::info!(
		members = members.len(),
		bytes = len,
		"epoch: members assigned"
	);

	// phase 1: every member commits at once
	let mut plan = Vec::new();
	for m in &members {
		let a = &m.assigned;
		let k = by_account[&a.provider];
		let c = result_commitment(a.task, &AccountId32(a.provider).0, &m.root, &m.salt);
		let call = api::transactions().submissions().commit(a.task, H256(c));
		plan.push(b.sign("commit", 0.0, k, &call).await?);
	}
	let commits = b.run("epoch-commit", plan, drain).await?;

	// phase 2: from the reveal window, the chunks at the pace, then the proofs
	let due = members.iter().map(|m| m.assigned.due).max().unwrap_or(0);
	while lock(&b.state).best < due {
		tokio::time::sleep(Duration::from_millis(20)).await;
	}
	let stagger = cfg.pace / members.len() as f64;
	// (time, member, chunk index or `None` for the finish)
	let mut sends: Vec<(f64, usize, Option<usize>)> = Vec::new();
	for j in 0..members.len() {
		let t0 = j as f64 * stagger;
		for k in 0..n {
			sends.push((t0 + k as f64 * cfg.pace, j, Some(k)));
		}
		sends.push((t0 + n as f64 * cfg.pace, j, None));
	}
	sends.sort_by(|a, b| a.0.total_cmp(&b.0));
	let mut plan: Vec<Planned> = Vec::with_capacity(sends.len());
	for (t, j, k) in sends {
		let m = &members[j];
		let a = &m.assigned;
		let key = by_account[&a.provider];
		let p = match k {
			Some(k) => {
				let chunk =
					m.payload[k * cfg.chunk_bytes..((k + 1) * cfg.chunk_bytes).min(len)].to_vec();
				let call = api::transactions()
					.submissions()
					.reveal_chunk(a.task, k as u32, chunk);
				b.sign("reveal_chunk", t, key, &call).await?
			}
			None => {
				let (root, _, siblings) = one_node_result(&m.payload);
				let call = api::transactions().submissions().finish_reveal(
					a.task,
					m.salt,
					H256(root),
					opml_worker::chain::shape_proof(shape_model)?,
					api::runtime_types::bounded_collections::bounded_vec::BoundedVec(siblings),
				);
				b.sign("finish_reveal", t, key, &call).await?
			}
		};
		plan.push(p);
	}
	let reveals = b.run("epoch", plan, drain).await?;

	let all: Vec<H256> = commits.iter().chain(&reveals).copied().collect();
	let stats = b.stats(&all);
	let errors = b.errors(&all);
	let (first_commit, first_chunk, last_finish, finished, mut chunks_committed_at) = {
		let st = lock(&b.state);
		let rec = |h: &H256| st.txs.get(h).map(|(k, r)| (k.clone(), r.clone()));
		let first_commit = commits
			.iter()
			.filter_map(rec)
			.map(|(_, r)| r.sent)
			.fold(f64::INFINITY, f64::min);
		let mut first_chunk = f64::INFINITY;
		let mut last_finish = f64::NEG_INFINITY;
		let mut finished = 0;
		let mut committed_at = Vec::new();
		for (k, r) in reveals.iter().filter_map(rec) {
			if k == "reveal_chunk" {
				first_chunk = first_chunk.min(r.sent);
				if let (true, Some(t)) = (r.committed(), r.finalized) {
					committed_at.push(t - first_commit);
				}
			} else if r.committed() {
				finished += 1;
				last_finish = last_finish.max(r.finalized.unwrap_or(f64::NEG_INFINITY));
			}
		}
		(
			first_commit,
			first_chunk,
			last_finish,
			finished,
			committed_at,
		)
	};
	chunks_committed_at.sort_by(f64::total_cmp);
	let reauctioned = {
		let tasks: std::collections::BTreeSet<u64> =
			members.iter().map(|m| m.assigned.task).collect();
		let st = lock(&b.state);
		let again: std::collections::BTreeSet<u64> = st
			.reauctioned
			.iter()
			.copied()
			.filter(|t| tasks.contains(t))
			.collect();
		again.len()
	};
	let complete = finished == members.len();
	Ok(Row {
		config: cfg.clone(),
		members: members.len(),
		chunks_per_member: n,
		chunk_commit_pct: stats.get("reveal_chunk").map_or(0.0, |s| s.commit_pct),
		finished,
		epoch_seconds: complete.then_some(last_finish - first_commit),
		reveal_seconds: complete.then_some(last_finish - first_chunk),
		chunks_committed_at,
		reauctioned,
		stats,
		errors,
	})
}

/// The row as a line of text.
pub fn line(r: &Row) -> String {
	let c = &r.config;
	let secs = |s: Option<f64>| s.map_or("-".to_string(), |s| format!("{s:.1}"));
	format!(
		"epoch: pools {} × r {} ({} members), {} params in {} chunks of {} B, pace {} s: \
		 chunks committed {:.1} %, {} finished, epoch {} s (reveals {} s), {} tasks re-auctioned",
		c.pools,
		c.redundancy,
		r.members,
		c.params,
		r.chunks_per_member,
		c.chunk_bytes,
		c.pace,
		r.chunk_commit_pct,
		r.finished,
		secs(r.epoch_seconds),
		secs(r.reveal_seconds),
		r.reauctioned,
	)
}
