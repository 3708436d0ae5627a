//! Prometheus metrics of a daemon, served with `--prometheus-port` on `/metrics`
//! (the same endpoint code as the node's, `substrate-prometheus-endpoint`).
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `opml_worker_block` | gauge | — (last block processed) |
//! | `opml_worker_tasks_total` | counter | `stage`: computed, committed, revealed, failed |
//! | `opml_worker_results_checked_total` | counter | `verdict`: confirmed, challenged |
//! | `opml_worker_games_total` | counter | `event`: started, ended |
//! | `opml_worker_games_open` | gauge | — |
//! | `opml_worker_moves_total` | counter | `kind`: post_states, choose, handoff, one_step, timeout |
//! | `opml_worker_compute_seconds` | histogram | — (one task's inference) |
//! | `opml_worker_tx_seconds` | histogram | `call` (submission to finalized success) |
//! | `opml_worker_fetched_bytes_total` | counter | — (files fetched from stores, checked) |
//! | `opml_worker_served_bytes_total` | counter | — (files served by `--serve-files`) |

use anyhow::Result;
use std::{net::SocketAddr, sync::OnceLock};
use substrate_prometheus_endpoint::{
	exponential_buckets, register, Counter, CounterVec, Gauge, Histogram, HistogramOpts,
	HistogramVec, Opts, Registry, U64,
};

/// The daemon's metrics.
pub struct Metrics {
	/// Last block processed.
	pub block: Gauge<U64>,
	/// Tasks by stage reached.
	pub tasks: CounterVec<U64>,
	/// Elected results a verifier recomputed, by verdict.
	pub checked: CounterVec<U64>,
	/// Games started and ended.
	pub games: CounterVec<U64>,
	/// Games being played.
	pub games_open: Gauge<U64>,
	/// Moves made, by kind.
	pub moves: CounterVec<U64>,
	/// Inference time per task.
	pub compute: Histogram,
	/// Latency of our transactions to finalized success, by call.
	pub tx: HistogramVec,
	/// Bytes of files fetched from stores (each checked against its root).
	pub fetched_bytes: Counter<U64>,
	/// Bytes of files this daemon's store served.
	pub served_bytes: Counter<U64>,
	/// UNIX time at which the daemon started (as `substrate_process_start_time_seconds`
	/// of the node; zombienet's `is up` reads it).
	pub start_time: Gauge<U64>,
}

impl Metrics {
	fn new(r: &Registry) -> Result<Self> {
		let counter = |name: &str, help: &str, label: &str| -> Result<CounterVec<U64>> {
			Ok(register(
				CounterVec::new(Opts::new(name, help), &[label])?,
				r,
			)?)
		};
		Ok(Metrics {
			block: register(Gauge::new("opml_worker_block", "Last block processed")?, r)?,
			tasks: counter(
				"opml_worker_tasks_total",
				"Tasks by stage reached (computed, committed, revealed, failed)",
				"stage",
			)?,
			checked: counter(
				"opml_worker_results_checked_total",
				"Elected results recomputed by the verifier, by verdict",
				"verdict",
			)?,
			games: counter(
				"opml_worker_games_total",
				"Dispute games started and ended",
				"event",
			)?,
			games_open: register(
				Gauge::new("opml_worker_games_open", "Dispute games being played")?,
				r,
			)?,
			moves: counter(
				"opml_worker_moves_total",
				"Dispute moves made, by kind",
				"kind",
			)?,
			compute: register(
				Histogram::with_opts(
					HistogramOpts::new("opml_worker_compute_seconds", "Inference time of one task")
						.buckets(exponential_buckets(0.001, 4.0, 10)?),
				)?,
				r,
			)?,
			tx: register(
				HistogramVec::new(
					HistogramOpts::new(
						"opml_worker_tx_seconds",
						"Latency of a transaction from submission to finalized success",
					)
					.buckets(exponential_buckets(0.25, 2.0, 10)?),
					&["call"],
				)?,
				r,
			)?,
			fetched_bytes: register(
				Counter::new(
					"opml_worker_fetched_bytes_total",
					"Bytes of model and input files fetched from stores and checked",
				)?,
				r,
			)?,
			served_bytes: register(
				Counter::new(
					"opml_worker_served_bytes_total",
					"Bytes of files served by this daemon's file store",
				)?,
				r,
			)?,
			start_time: register(
				Gauge::new(
					"opml_process_start_time_seconds",
					"UNIX time at which the daemon started",
				)?,
				r,
			)?,
		})
	}
}

static METRICS: OnceLock<(Registry, Metrics)> = OnceLock::new();

/// The process's metrics (registered on first use; served only after [`serve`]).
pub fn get() -> &'static Metrics {
	&METRICS
		.get_or_init(|| {
			let r = Registry::new();
			// registering fixed, distinct names in a fresh registry cannot fail
			let m = Metrics::new(&r).expect("metric definitions are valid");
			let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
			m.start_time.set(now.map(|d| d.as_secs()).unwrap_or(0));
			(r, m)
		})
		.1
}

/// Serve the metrics on `addr` (`/metrics`) in the background.
pub fn serve(addr: SocketAddr) {
	get();
	let registry = METRICS.get().map(|(r, _)| r.clone());
	if let Some(registry) = registry {
		tokio::spawn(async move {
			if let Err(e) = substrate_prometheus_endpoint::init_prometheus(addr, registry).await {
				tracing::error!("Prometheus endpoint on {addr}: {e}");
			}
		});
		tracing::info!("Prometheus metrics on http://{addr}/metrics");
	}
}
