//! # opml-bench
//!
//! A throughput benchmark of an OPML chain in the manner of the Diablo blockchain
//! benchmark (Gramoli et al., EuroSys 2023): each workload sends transactions at a
//! piecewise-constant rate, from many accounts, pre-signed so that signing does not
//! limit the send rate; the benchmark follows best and finalized blocks and reports,
//! per kind of transaction, what was submitted, committed (finalized with success),
//! aborted (refused, failed in dispatch or not finalized in time), commit %,
//! throughput, and the average and median latency to inclusion and to finality, as a
//! table and as JSON.
//!
//! Workloads, run one after the other against one node in one run:
//! - `transfer`: `Balances.transfer_keep_alive` between benchmark accounts (baseline);
//! - `submit-task`: `Market.submit_task` by requester accounts; bonded benchmark
//!   providers (registered at setup) absorb the tasks through the auction;
//! - `submit-task-batch`: the same tasks at the same task rate, `--batch` per
//!   `Utility.batch_all` transaction (how a bulk requester submits; the table counts
//!   transactions, the summary line tasks);
//! - `commit`: `Submissions.commit` by the assigned providers for those tasks;
//! - `reveal`: from each task's due block, `Submissions.reveal` (half the tasks) and
//!   a chunked reveal (`reveal_chunk` of `--chunk-bytes` then `finish_reveal`, the other
//!   half); these are gated by the reveal windows, so their rate follows the dues;
//! - `epoch`: one round of a federated job in the manner of Bouchet et al. (§4):
//!   `--pools` × `--redundancy` members commit at once, then reveal a `--params`-entry
//!   update in chunks of `--chunk-bytes`, one every `--pace` seconds (see [`epoch`];
//!   `scripts/bouchet` runs the paper's sweeps). Use `--capacity-units 1` so that every
//!   member is a different provider.
//!
//! ```text
//! opml-bench --url ws://127.0.0.1:9944 --load 100@0,200@10,400@20 --duration 30 --json out.json
//! ```

mod epoch;
mod load;
mod observer;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Parser, ValueEnum};
use load::{Load, Stats};
use observer::{lock, Shared, State};
use opml_primitives_core::{commitment::result_commitment, merkle::bytes_root, ZERO_HASH};
use opml_worker::chain::api;
use std::{
	collections::{BTreeMap, HashMap},
	path::PathBuf,
	str::FromStr,
	sync::{Arc, Mutex},
	time::{Duration, Instant},
};
use subxt::{
	client::{ClientAtBlock, OnlineClientAtBlockImpl},
	config::PolkadotExtrinsicParamsBuilder,
	tx::Payload,
	utils::{AccountId32, MultiAddress, H256},
	OnlineClient, PolkadotConfig,
};
use subxt_signer::{sr25519::Keypair, SecretUri};

type At = ClientAtBlock<PolkadotConfig, OnlineClientAtBlockImpl<PolkadotConfig>>;

const UNIT: u128 = 1_000_000_000_000;

/// A workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Workload {
	/// `Balances.transfer_keep_alive` (the baseline).
	Transfer,
	/// `Market.submit_task`.
	SubmitTask,
	/// `Utility.batch_all` of `--batch` `Market.submit_task` calls (bulk requesters).
	SubmitTaskBatch,
	/// `Submissions.commit` for the tasks of `submit-task`.
	Commit,
	/// `Submissions.reveal` and chunked reveals for the committed tasks.
	Reveal,
	/// One federated-learning round: commitments, then chunked reveals at a pace.
	Epoch,
}

/// Throughput benchmark (Diablo-style) of an OPML node.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
	/// The node's WebSocket endpoint.
	#[arg(long, default_value = "ws://127.0.0.1:9944")]
	url: String,
	/// The funding account (endowed; pays the benchmark accounts at setup).
	#[arg(long, default_value = "//Alice")]
	funder: String,
	/// Workloads, in order (`commit` needs `submit-task`, `reveal` needs `commit`).
	#[arg(
		long,
		value_delimiter = ',',
		default_value = "transfer,submit-task,commit,reveal"
	)]
	run: Vec<Workload>,
	/// Send rate of each workload: `RATE@FROM,...` (tx/s from second FROM), e.g.
	/// `100@0,200@10`; piecewise constant until `--duration`.
	#[arg(long, default_value = "200")]
	load: String,
	/// Length of each workload in seconds.
	#[arg(long, default_value_t = 20.0)]
	duration: f64,
	/// Sending accounts (requesters; transfers go between them).
	#[arg(long, default_value_t = 256)]
	accounts: u32,
	/// Benchmark providers (at most the registry's `MaxProviders`).
	#[arg(long, default_value_t = 32)]
	providers: u32,
	/// Tasks per `submit-task-batch` transaction.
	#[arg(long, default_value_t = 16)]
	batch: u32,
	/// Bytes of each chunked reveal (`reveal`: one chunk; `epoch`: the chunk size; at
	/// most `MaxChunkLen`).
	#[arg(long, default_value_t = 16 * 1024)]
	chunk_bytes: usize,
	/// Units of capacity each benchmark provider registers (`epoch`: 1, so that every
	/// member of every pool is a different provider).
	#[arg(long, default_value_t = 1_000_000)]
	capacity_units: u32,
	/// `epoch`: pools (tasks).
	#[arg(long, default_value_t = 1)]
	pools: u32,
	/// `epoch`: members per pool.
	#[arg(long, default_value_t = 8)]
	redundancy: u32,
	/// `epoch`: parameters of the update (4 bytes each).
	#[arg(long, default_value_t = 1_000_000)]
	params: u64,
	/// `epoch`: seconds between two chunk transactions of one member.
	#[arg(long, default_value_t = 0.25)]
	pace: f64,
	/// Seconds to wait after a workload's last send for its transactions to finalize.
	#[arg(long, default_value_t = 60.0)]
	drain: f64,
	/// Secret-URI prefix of the benchmark accounts (`<seed>//r<i>`, `<seed>//p<i>`).
	#[arg(long, default_value = "//opml-bench")]
	seed: String,
	/// Write the results as JSON to this file.
	#[arg(long)]
	json: Option<PathBuf>,
	/// A label for the run (e.g. the node and its build), kept in the JSON.
	#[arg(long, default_value = "")]
	label: String,
}

/// A signed transaction waiting for its send time.
struct Planned {
	kind: &'static str,
	/// Seconds from the workload's start.
	at: f64,
	/// Not before this block is the best block (reveal windows).
	after_block: Option<u64>,
	hash: H256,
	bytes: Vec<u8>,
}

struct Bench {
	api: OnlineClient<PolkadotConfig>,
	at: Arc<At>,
	state: Shared,
	nonces: HashMap<[u8; 32], u64>,
	args: Args,
}

fn keypair(uri: &str) -> Result<Keypair> {
	let uri = SecretUri::from_str(uri).map_err(|e| anyhow!("bad secret URI {uri}: {e}"))?;
	Keypair::from_uri(&uri).map_err(|e| anyhow!("bad key: {e}"))
}

fn account(k: &Keypair) -> [u8; 32] {
	k.public_key().0
}

impl Bench {
	/// Sign `call` by `signer` with its next nonce.
	async fn sign<Call: Payload>(
		&mut self,
		kind: &'static str,
		at: f64,
		signer: &Keypair,
		call: &Call,
	) -> Result<Planned> {
		let who = account(signer);
		let nonce = match self.nonces.get(&who) {
			Some(n) => *n,
			None => {
				self.at
					.transactions()
					.account_nonce(&AccountId32(who))
					.await?
			}
		};
		let params = PolkadotExtrinsicParamsBuilder::<PolkadotConfig>::new()
			.nonce(nonce)
			.build();
		let tx = self
			.at
			.transactions()
			.create_signable_offline(call, params)
			.with_context(|| format!("building {kind}"))?
			.sign(signer)?;
		self.nonces.insert(who, nonce + 1);
		Ok(Planned {
			kind,
			at,
			after_block: None,
			hash: tx.hash(),
			bytes: tx.into_encoded(),
		})
	}

	/// Send `plan` on schedule, then wait until every transaction is finalized, failed
	/// or refused, or `drain` seconds passed after the last send. Returns the hashes.
	///
	/// Submissions are dispatched in plan order (so each account's nonces mostly
	/// arrive in order; one that arrives early waits in the pool's future queue) and
	/// run concurrently, at most 1024 in flight.
	async fn run(&self, name: &str, plan: Vec<Planned>, drain: f64) -> Result<Vec<H256>> {
		let hashes: Vec<H256> = plan.iter().map(|p| p.hash).collect();
		let permits = Arc::new(tokio::sync::Semaphore::new(1024));
		let begin = Instant::now();
		let total = plan.len();
		for p in plan {
			if let Some(b) = p.after_block {
				while lock(&self.state).best < b {
					tokio::time::sleep(Duration::from_millis(50)).await;
				}
			}
			let due = begin + Duration::from_secs_f64(p.at);
			tokio::time::sleep_until(due.into()).await;
			{
				let mut st = lock(&self.state);
				let sent = st.now();
				st.txs.insert(
					p.hash,
					(
						p.kind.to_string(),
						load::Record {
							sent,
							..Default::default()
						},
					),
				);
			}
			let permit = permits.clone().acquire_owned().await?;
			let (at, state) = (self.at.clone(), self.state.clone());
			tokio::spawn(async move {
				if let Err(e) = at.transactions().from_bytes(p.bytes).submit().await {
					if let Some((_, rec)) = lock(&state).txs.get_mut(&p.hash) {
						let mut e = e.to_string();
						e.truncate(200);
						rec.rejected = Some(e);
					}
				}
				drop(permit);
			});
		}
		let sent_in = begin.elapsed().as_secs_f64();
		tracing::info!(
			workload = name,
			total,
			seconds = format!("{sent_in:.1}"),
			"sent"
		);
		let end = Instant::now() + Duration::from_secs_f64(drain);
		loop {
			let open = {
				let st = lock(&self.state);
				hashes
					.iter()
					.filter(|h| st.txs.get(h).is_some_and(|(_, r)| !r.settled()))
					.count()
			};
			if open == 0 || Instant::now() >= end {
				if open > 0 {
					tracing::warn!(workload = name, open, "not finalized within the drain time");
				}
				break;
			}
			tokio::time::sleep(Duration::from_millis(200)).await;
		}
		Ok(hashes)
	}

	/// Stats per kind of the transactions `hashes`.
	fn stats(&self, hashes: &[H256]) -> BTreeMap<String, Stats> {
		let st = lock(&self.state);
		let mut by_kind: BTreeMap<String, Vec<load::Record>> = BTreeMap::new();
		for h in hashes {
			if let Some((k, r)) = st.txs.get(h) {
				by_kind.entry(k.clone()).or_default().push(r.clone());
			}
		}
		by_kind
			.into_iter()
			.map(|(k, v)| (k, Stats::of(&v)))
			.collect()
	}

	/// Errors of failed or refused transactions among `hashes`, counted.
	fn errors(&self, hashes: &[H256]) -> BTreeMap<String, usize> {
		let st = lock(&self.state);
		let mut out = BTreeMap::new();
		for h in hashes {
			if let Some((_, r)) = st.txs.get(h) {
				if let Some(e) = r.failed.as_ref().or(r.rejected.as_ref()) {
					*out.entry(e.clone()).or_default() += 1;
				}
			}
		}
		out
	}

	/// Run a setup step (not reported) and insist that it all committed.
	async fn setup(&self, what: &str, plan: Vec<Planned>) -> Result<()> {
		let hashes = self.run(what, plan, 120.0).await?;
		let st = lock(&self.state);
		let bad: Vec<String> = hashes
			.iter()
			.filter_map(|h| st.txs.get(h))
			.filter(|(_, r)| !r.committed())
			.map(|(_, r)| format!("{r:?}"))
			.take(3)
			.collect();
		if !bad.is_empty() {
			bail!("setup step {what} failed: {}", bad.join("; "));
		}
		Ok(())
	}

	/// Seconds per block, from the best blocks seen.
	fn block_time(&self) -> f64 {
		let st = lock(&self.state);
		match (st.blocks.first(), st.blocks.last()) {
			(Some(a), Some(b)) if b.0 > a.0 => (b.1 - a.1) / (b.0 - a.0) as f64,
			_ => 1.0,
		}
	}
}

/// A workload's name, figures per kind of transaction, and errors counted.
type WorkloadReport = (String, BTreeMap<String, Stats>, BTreeMap<String, usize>);

/// A committed task: its assignment, the salt, the chunked payload (`None`: a plain
/// reveal) and the committed result.
type Committed = (observer::Assigned, [u8; 32], Option<Vec<u8>>, H256);

#[derive(serde::Serialize)]
struct Report {
	label: String,
	url: String,
	load: Load,
	accounts: u32,
	providers: u32,
	chunk_bytes: usize,
	block_time: f64,
	/// Per workload, per kind of transaction.
	workloads: Vec<WorkloadReport>,
	/// Committed throughput of market transactions over that of transfers.
	market_over_transfer: Option<f64>,
	/// Tasks per second submitted in batches over transfers per second.
	tasks_over_transfer_batched: Option<f64>,
	/// `epoch` runs.
	epochs: Vec<epoch::Row>,
}

fn table(report: &Report) -> String {
	let mut s = format!(
		"{:<12} {:<14} {:>6} {:>6} {:>6} {:>6} {:>7} {:>7} {:>8} {:>7} {:>7} {:>7} {:>7}\n",
		"workload",
		"kind",
		"sent",
		"commit",
		"abort",
		"(drop)",
		"commit%",
		"send/s",
		"thru/s",
		"inc.avg",
		"inc.med",
		"fin.avg",
		"fin.med"
	);
	for (w, kinds, _) in &report.workloads {
		for (k, x) in kinds {
			s += &format!(
				"{:<12} {:<14} {:>6} {:>6} {:>6} {:>6} {:>7.1} {:>7.1} {:>8.1} {:>7.2} {:>7.2} {:>7.2} {:>7.2}\n",
				w,
				k,
				x.submitted,
				x.committed,
				x.aborted,
				x.dropped,
				x.commit_pct,
				x.send_rate,
				x.throughput,
				x.inclusion_avg,
				x.inclusion_median,
				x.finality_avg,
				x.finality_median
			);
		}
	}
	s
}

#[tokio::main]
async fn main() -> Result<()> {
	tracing_subscriber::fmt()
		.with_env_filter(
			tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
		)
		.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
		.with_writer(std::io::stderr)
		.init();
	let args = Args::parse();
	let load = Load::parse(&args.load, args.duration).map_err(|e| anyhow!("--load: {e}"))?;
	for (i, w) in args.run.iter().enumerate() {
		let before = &args.run[..i];
		let need = match w {
			Workload::Commit => Some(Workload::SubmitTask),
			Workload::Reveal => Some(Workload::Commit),
			_ => None,
		};
		if let Some(n) = need {
			if !before.contains(&n) {
				bail!("workload {w:?} needs {n:?} before it");
			}
		}
	}
	if args.accounts < 2 {
		bail!("--accounts must be at least 2");
	}

	let api = OnlineClient::<PolkadotConfig>::from_insecure_url(&args.url)
		.await
		.with_context(|| format!("connecting to {}", args.url))?;
	let state: Shared = Arc::new(Mutex::new(State {
		start: Instant::now(),
		txs: HashMap::new(),
		assigned: Vec::new(),
		reauctioned: Vec::new(),
		best: 0,
		blocks: Vec::new(),
	}));
	for follow in [true, false] {
		let (api, state) = (api.clone(), state.clone());
		tokio::spawn(async move {
			let r = if follow {
				observer::follow_best(api, state).await
			} else {
				observer::follow_finalized(api, state).await
			};
			if let Err(e) = r {
				tracing::error!("following blocks: {e:#}");
				std::process::exit(2);
			}
		});
	}
	let at = Arc::new(api.at_current_block().await?);
	let mut b = Bench {
		api,
		at,
		state,
		nonces: HashMap::new(),
		args,
	};
	let args = &b.args;
	let requesters: Vec<Keypair> = (0..args.accounts)
		.map(|i| keypair(&format!("{}//r{i}", args.seed)))
		.collect::<Result<_>>()?;
	let market = b.args.run.iter().any(|w| *w != Workload::Transfer);
	let providers: Vec<Keypair> = if market {
		(0..b.args.providers)
			.map(|i| keypair(&format!("{}//p{i}", b.args.seed)))
			.collect::<Result<_>>()?
	} else {
		Vec::new()
	};
	let funder = keypair(&b.args.funder)?;

	// Setup: fund every account, then (for market workloads) a model and providers.
	let mut plan = Vec::new();
	for k in requesters.iter().chain(&providers) {
		let call = api::transactions()
			.balances()
			.transfer_keep_alive(MultiAddress::Id(AccountId32(account(k))), 1_000 * UNIT);
		plan.push(b.sign("setup", 0.0, &funder, &call).await?);
	}
	b.setup("funding", plan).await?;
	tracing::info!(accounts = requesters.len() + providers.len(), "funded");
	let (mut model, mut epoch_model) = (0u32, 0u32);
	let mut shapes = BenchShapes::default();
	if market {
		use api::runtime_types::{
			bounded_collections::bounded_vec::BoundedVec, pallet_opml_providers::types::Capacity,
		};
		// Model entries only the benchmark uses (nobody computes them): one-node graphs
		// whose outputs are as long as a chunked reveal's payload (`--chunk-bytes`) and
		// an epoch's update (`--params` × 4), which the chain checks (docs/security.md M6).
		let mut ids = Vec::new();
		for (name, len) in [
			("chunks", b.args.chunk_bytes),
			("epoch", b.args.params as usize * 4),
		] {
			let m = bench_model(len.max(1));
			let commitment = opml_nn::commit::model_commitment(&m)
				.map_err(|e| anyhow!("bench model commitment: {e:?}"))?;
			let (graph, siblings) = opml_nn::registration::graph_registration(&m)
				.map_err(|e| anyhow!("bench model graph: {e:?}"))?;
			let call = api::transactions().market().register_model(
				H256(commitment),
				// models run only under the runtime's guest (docs/security.md M7)
				H256(opml_nn::layout::BUILTIN_GUEST_ROOT),
				1,
				BoundedVec(format!("opml-bench {name}").into_bytes()),
				// the committed graph, checked on chain (docs/security.md M10)
				BoundedVec(graph),
				BoundedVec(siblings.into_iter().map(H256).collect()),
			);
			let p = b.sign("setup", 0.0, &funder, &call).await?;
			let h = p.hash;
			b.setup("model", vec![p]).await?;
			let id = latest_model(&b).await?;
			tracing::info!(model = id, name, tx = ?h, "model registered");
			ids.push(id);
			match name {
				"chunks" => shapes.chunks = Some(m),
				_ => shapes.epoch = Some(m),
			}
		}
		(model, epoch_model) = (ids[0], ids[1]);
		let mut plan = Vec::new();
		for k in &providers {
			let call = api::transactions().providers().register(
				// MinBond plus ExposureBond (1 UNIT) for up to 500 tasks held at once
				600 * UNIT,
				BoundedVec(vec![
					Capacity {
						task_type: model,
						units: b.args.capacity_units,
					},
					Capacity {
						task_type: epoch_model,
						units: b.args.capacity_units,
					},
				]),
				1,
				1,
			);
			plan.push(b.sign("setup", 0.0, k, &call).await?);
		}
		b.setup("providers", plan).await?;
		tracing::info!(providers = providers.len(), "providers registered");
	}

	let schedule = load.schedule();
	let mut report = Report {
		label: b.args.label.clone(),
		url: b.args.url.clone(),
		load: load.clone(),
		accounts: b.args.accounts,
		providers: providers.len() as u32,
		chunk_bytes: b.args.chunk_bytes,
		block_time: b.block_time(),
		workloads: Vec::new(),
		market_over_transfer: None,
		tasks_over_transfer_batched: None,
		epochs: Vec::new(),
	};
	let drain = b.args.drain;
	let mut committed: Vec<Committed> = Vec::new();
	let runs = b.args.run.clone();
	for w in runs {
		let name = format!("{w:?}").to_lowercase();
		if w == Workload::Epoch {
			let cfg = epoch::Config {
				pools: b.args.pools,
				redundancy: b.args.redundancy,
				params: b.args.params,
				chunk_bytes: b.args.chunk_bytes,
				pace: b.args.pace,
			};
			let shape = shapes
				.epoch
				.as_ref()
				.ok_or_else(|| anyhow!("the epoch needs its model"))?;
			let row = epoch::run(&mut b, &requesters, &providers, epoch_model, shape, &cfg).await?;
			report
				.workloads
				.push((name, row.stats.clone(), row.errors.clone()));
			eprintln!("{}", epoch::line(&row));
			report.epochs.push(row);
			continue;
		}
		let mut plan = Vec::new();
		match w {
			Workload::Transfer => {
				let n = requesters.len();
				for (i, &t) in schedule.iter().enumerate() {
					let to = account(&requesters[(i + 1) % n]);
					let call = api::transactions()
						.balances()
						.transfer_keep_alive(MultiAddress::Id(AccountId32(to)), UNIT / 1000);
					plan.push(b.sign("transfer", t, &requesters[i % n], &call).await?);
				}
			}
			Workload::SubmitTask | Workload::SubmitTaskBatch => {
				use api::runtime_types::{
					bounded_collections::bounded_vec::BoundedVec,
					opml_runtime::RuntimeCall,
					pallet_opml_market::{pallet::Call as MarketCall, types::TaskInput},
				};
				// Commits for these tasks come in the next workload (as long again):
				// the deadline leaves room for it.
				let bt = b.block_time().max(0.05);
				let deadline = ((2.0 * load.duration + drain.min(30.0) + 10.0) / bt).ceil() as u32;
				let input = |i: usize| {
					TaskInput::Inline(BoundedVec(
						(0..64u8).map(|x| x.wrapping_add(i as u8)).collect(),
					))
				};
				// batches carry the same task rate: one transaction per `batch` send times
				let batch = b.args.batch.max(1) as usize;
				let step = if w == Workload::SubmitTask { 1 } else { batch };
				for (i, &t) in schedule.iter().step_by(step).enumerate() {
					let who = &requesters[i % requesters.len()];
					if w == Workload::SubmitTask {
						let call = api::transactions().market().submit_task(
							model,
							input(i),
							1,
							UNIT / 100,
							1,
							deadline,
						);
						plan.push(b.sign("submit_task", t, who, &call).await?);
					} else {
						let calls = (0..batch)
							.map(|j| {
								RuntimeCall::Market(MarketCall::submit_task {
									model,
									input: input(i * batch + j),
									demand: 1,
									valuation: UNIT / 100,
									redundancy: 1,
									deadline,
								})
							})
							.collect();
						let call = api::transactions().utility().batch_all(calls);
						plan.push(b.sign("submit_task_batch", t, who, &call).await?);
					}
				}
			}
			Workload::Commit => {
				let st_assigned: Vec<observer::Assigned> = {
					let st = lock(&b.state);
					let ours: std::collections::HashSet<[u8; 32]> =
						providers.iter().map(account).collect();
					st.assigned
						.iter()
						.filter(|a| ours.contains(&a.provider))
						.cloned()
						.collect()
				};
				if st_assigned.is_empty() {
					bail!("no task was assigned to the benchmark providers");
				}
				let by_account: HashMap<[u8; 32], &Keypair> =
					providers.iter().map(|k| (account(k), k)).collect();
				let n = st_assigned.len();
				let times = spread(&load, n);
				for (i, a) in st_assigned.into_iter().enumerate() {
					let mut salt = [0u8; 32];
					salt[..8].copy_from_slice(&a.task.to_le_bytes());
					salt[8] = 0xb5;
					let chunk = (i % 2 == 1).then(|| {
						(0..b.args.chunk_bytes)
							.map(|x| (x as u64 ^ a.task) as u8)
							.collect::<Vec<u8>>()
					});
					// a chunked reveal publishes the output of the result it reveals
					let root = match &chunk {
						Some(c) => one_node_result(c).0,
						None => opml_primitives_core::hash::blake2_256(&salt),
					};
					let c = result_commitment(a.task, &AccountId32(a.provider).0, &root, &salt);
					let call = api::transactions().submissions().commit(a.task, H256(c));
					let k = by_account[&a.provider];
					plan.push(b.sign("commit", times[i], k, &call).await?);
					committed.push((a, salt, chunk, H256(root)));
				}
			}
			Workload::Epoch => unreachable!("run above"),
			Workload::Reveal => {
				let by_account: HashMap<[u8; 32], &Keypair> =
					providers.iter().map(|k| (account(k), k)).collect();
				committed.sort_by_key(|c| c.0.due);
				let n: usize = committed
					.iter()
					.map(|c| if c.2.is_some() { 2 } else { 1 })
					.sum();
				let times = spread(&load, n);
				let mut i = 0;
				for (a, salt, chunk, root) in &committed {
					let k = by_account[&a.provider];
					let mut ps = Vec::new();
					match chunk {
						None => {
							let call = api::transactions()
								.submissions()
								.reveal(a.task, *root, *salt);
							ps.push(b.sign("reveal", times[i], k, &call).await?);
						}
						Some(c) => {
							let call = api::transactions().submissions().reveal_chunk(
								a.task,
								0,
								c.clone(),
							);
							ps.push(b.sign("reveal_chunk", times[i], k, &call).await?);
							let (_, _, siblings) = one_node_result(c);
							let shape = opml_worker::chain::shape_proof(
								shapes
									.chunks
									.as_ref()
									.ok_or_else(|| anyhow!("chunked reveals need their model"))?,
							)?;
							let call = api::transactions().submissions().finish_reveal(
								a.task,
								*salt,
								*root,
								shape,
								api::runtime_types::bounded_collections::bounded_vec::BoundedVec(
									siblings,
								),
							);
							ps.push(b.sign("finish_reveal", times[i + 1], k, &call).await?);
						}
					}
					for mut p in ps {
						p.after_block = Some(a.due);
						plan.push(p);
						i += 1;
					}
				}
			}
		}
		tracing::info!(workload = %name, transactions = plan.len(), "signed; sending");
		let hashes = b.run(&name, plan, drain).await?;
		if matches!(w, Workload::SubmitTask | Workload::SubmitTaskBatch) {
			// wait for the auction to assign what was submitted
			let want =
				b.stats(&hashes)
					.values()
					.map(|s| s.committed)
					.sum::<usize>() * if w == Workload::SubmitTaskBatch {
					b.args.batch.max(1) as usize
				} else {
					1
				};
			let until = Instant::now() + Duration::from_secs(60);
			while lock(&b.state).assigned.len() < want && Instant::now() < until {
				tokio::time::sleep(Duration::from_millis(200)).await;
			}
		}
		let stats = b.stats(&hashes);
		let errors = b.errors(&hashes);
		report.workloads.push((name, stats, errors));
		eprint!("{}", table(&report));
	}
	let thr = |w: &str, k: &str| {
		report
			.workloads
			.iter()
			.find(|(n, _, _)| n == w)
			.and_then(|(_, s, _)| s.get(k))
			.map(|s| s.throughput)
	};
	if let (Some(t), Some(m)) = (
		thr("transfer", "transfer"),
		thr("submittask", "submit_task"),
	) {
		if t > 0.0 {
			report.market_over_transfer = Some(m / t);
		}
	}
	if let (Some(t), Some(m)) = (
		thr("transfer", "transfer"),
		thr("submittaskbatch", "submit_task_batch"),
	) {
		if t > 0.0 {
			report.tasks_over_transfer_batched = Some(m * b.args.batch.max(1) as f64 / t);
		}
	}
	report.block_time = b.block_time();
	println!("{}", table(&report));
	for row in &report.epochs {
		println!("{}", epoch::line(row));
	}
	for (w, _, errors) in &report.workloads {
		for (e, n) in errors {
			println!("{w}: {n} × {e}");
		}
	}
	if let Some(r) = report.market_over_transfer {
		println!("market (submit_task) / transfer throughput: {r:.2}");
	}
	if let Some(r) = report.tasks_over_transfer_batched {
		println!(
			"tasks submitted in batches of {} / transfers, per second: {r:.2}",
			b.args.batch
		);
	}
	if let Some(path) = &b.args.json {
		std::fs::write(path, serde_json::to_string_pretty(&report)?)
			.with_context(|| format!("writing {}", path.display()))?;
	}
	Ok(())
}

/// The result root of a one-node execution whose output is `payload`, with the output's
/// slot and proof (what a chunked reveal of `payload` finishes with).
/// The bench's models (their output shapes are proven with each chunked reveal).
#[derive(Default)]
struct BenchShapes {
	chunks: Option<opml_nn::Model>,
	epoch: Option<opml_nn::Model>,
}

/// A one-node model whose int8 output has `len` bytes (its graph only matters for the
/// output shape the chain proves; nobody computes it).
fn bench_model(len: usize) -> opml_nn::Model {
	opml_nn::commit::shape_fixture(&[len as u32])
}

fn one_node_result(payload: &[u8]) -> ([u8; 32], u32, Vec<H256>) {
	let (g, proof) = opml_nn::commit::one_node_result(ZERO_HASH, bytes_root(payload).0)
		.expect("two slots fit a graph state");
	let siblings = proof.siblings.iter().map(|s| H256(*s)).collect();
	(g, proof.index as u32, siblings)
}

/// `n` send times following `load`'s rates (the schedule, stretched or cut to `n`).
fn spread(load: &Load, n: usize) -> Vec<f64> {
	let mut s = load.schedule();
	let step = 1.0 / load.steps.last().map_or(100.0, |x| x.1).max(1.0);
	while s.len() < n {
		let next = s.last().map_or(0.0, |t| t + step);
		s.push(next);
	}
	s.truncate(n);
	s
}

/// The id of the model the benchmark registered (the last one).
async fn latest_model(b: &Bench) -> Result<u32> {
	let at = b.api.at_current_block().await?;
	let next = at
		.storage()
		.entry(api::storage().market().next_model_id())?
		.try_fetch(())
		.await?;
	let next: u32 = match next {
		Some(v) => v.decode()?,
		None => bail!("no model registered"),
	};
	next.checked_sub(1)
		.ok_or_else(|| anyhow!("no model registered"))
}
