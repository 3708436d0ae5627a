//! Watches the chain: every best and every finalized block (no gaps: missed numbers
//! are fetched), matching their extrinsics to the transactions the benchmark sent and
//! reading the events it needs (`System.ExtrinsicFailed`, `Market.TaskAssigned`,
//! `Market.TaskReauctioned`).

use anyhow::{Context, Result};
use opml_worker::chain::api;
use std::{
	collections::HashMap,
	sync::{Arc, Mutex},
	time::Instant,
};
use subxt::{events::Phase, utils::H256, OnlineClient, PolkadotConfig};

use crate::load::Record;

/// A task the market assigned to a provider (one entry per assigned provider).
#[derive(Clone, Debug)]
pub struct Assigned {
	/// The task.
	pub task: u64,
	/// The provider.
	pub provider: [u8; 32],
	/// The last block for commitments; reveals are accepted from the next.
	pub due: u64,
}

/// What the benchmark knows about the chain and its transactions.
pub struct State {
	/// The benchmark's clock.
	pub start: Instant,
	/// Every transaction sent: its kind and what happened to it.
	pub txs: HashMap<H256, (String, Record)>,
	/// Tasks assigned (from finalized blocks), in order.
	pub assigned: Vec<Assigned>,
	/// Tasks sent back to auction (from finalized blocks), in order: a task whose pool
	/// found no majority in time is re-assigned, and its pool opens again.
	pub reauctioned: Vec<u64>,
	/// The best block number seen.
	pub best: u64,
	/// `(number, seconds)` of each best block when seen.
	pub blocks: Vec<(u64, f64)>,
}

/// Shared state.
pub type Shared = Arc<Mutex<State>>;

impl State {
	/// Seconds since the start.
	pub fn now(&self) -> f64 {
		self.start.elapsed().as_secs_f64()
	}
}

/// Lock `s` (a panicked holder leaves usable data: records only grow).
pub fn lock(s: &Shared) -> std::sync::MutexGuard<'_, State> {
	s.lock().unwrap_or_else(|e| e.into_inner())
}

struct Scan {
	hashes: Vec<(H256, usize)>,
	failed: HashMap<usize, String>,
	assigned: Vec<Assigned>,
	reauctioned: Vec<u64>,
}

/// A dispatch error by name (`Pallet.Error` for module errors, from the metadata).
fn error_name(
	metadata: &subxt::Metadata,
	e: &api::runtime_types::sp_runtime::DispatchError,
) -> String {
	use api::runtime_types::sp_runtime::DispatchError;
	match e {
		DispatchError::Module(m) => metadata
			.pallet_by_error_index(m.index)
			.and_then(|p| {
				p.error_variant_by_index(m.error[0])
					.map(|v| format!("{}.{}", p.name(), v.name))
			})
			.unwrap_or_else(|| format!("module error {} of pallet {}", m.error[0], m.index)),
		other => format!("{other:?}"),
	}
}

async fn scan(api: &OnlineClient<PolkadotConfig>, n: u64) -> Result<Scan> {
	let at = api
		.at_block(n)
		.await
		.with_context(|| format!("block #{n}"))?;
	let xts = at.extrinsics().fetch().await?;
	let mut hashes = Vec::new();
	for x in xts.iter() {
		let x = x.map_err(|e| anyhow::anyhow!("decoding an extrinsic of #{n}: {e}"))?;
		hashes.push((x.hash(), x.index()));
	}
	let events = at.events().fetch().await?;
	let mut failed = HashMap::new();
	let mut assigned = Vec::new();
	let mut reauctioned = Vec::new();
	for ev in events.iter() {
		let ev = ev?;
		match (ev.pallet_name(), ev.event_name()) {
			("System", "ExtrinsicFailed") => {
				if let Phase::ApplyExtrinsic(i) = ev.phase() {
					let what = match ev.decode_fields_as::<api::system::events::ExtrinsicFailed>() {
						Some(Ok(f)) => error_name(at.metadata_ref(), &f.dispatch_error),
						Some(Err(e)) => format!("undecodable ExtrinsicFailed: {e}"),
						None => "ExtrinsicFailed".into(),
					};
					failed.insert(i as usize, what);
				}
			}
			("Market", "TaskAssigned") => {
				let a = ev
					.decode_fields_as::<api::market::events::TaskAssigned>()
					.context("decoding TaskAssigned")??;
				for (p, _) in &a.providers.0 {
					assigned.push(Assigned {
						task: a.task,
						provider: p.0,
						due: a.due.into(),
					});
				}
			}
			("Market", "TaskReauctioned") => {
				let r = ev
					.decode_fields_as::<api::market::events::TaskReauctioned>()
					.context("decoding TaskReauctioned")??;
				reauctioned.push(r.task);
			}
			_ => {}
		}
	}
	Ok(Scan {
		hashes,
		failed,
		assigned,
		reauctioned,
	})
}

/// Scan every block a header stream reports, in order (numbers it skipped are fetched;
/// after a re-org to a block no higher than the last one, only that block), and apply
/// `update` to the state for each.
async fn follow(
	api: OnlineClient<PolkadotConfig>,
	state: Shared,
	mut blocks: subxt::client::Blocks<PolkadotConfig>,
	update: impl Fn(&mut State, u64, f64, Scan),
) -> Result<()> {
	let mut last: Option<u64> = None;
	while let Some(b) = blocks.next().await {
		let top = b?.number();
		let from = match last {
			Some(l) if top > l => l + 1,
			_ => top,
		};
		for n in from..=top {
			let s = scan(&api, n).await?;
			let mut st = lock(&state);
			let t = st.now();
			update(&mut st, n, t, s);
		}
		last = Some(top);
	}
	Ok(())
}

/// Follow best blocks: first inclusion of our transactions.
pub async fn follow_best(api: OnlineClient<PolkadotConfig>, state: Shared) -> Result<()> {
	let blocks = api.stream_best_blocks().await?;
	follow(api, state, blocks, |st, n, t, s| {
		st.best = st.best.max(n);
		st.blocks.push((n, t));
		for (h, _) in s.hashes {
			if let Some((_, r)) = st.txs.get_mut(&h) {
				r.included.get_or_insert((t, n));
			}
		}
	})
	.await
}

/// Follow finalized blocks: finality, dispatch errors and assignments.
pub async fn follow_finalized(api: OnlineClient<PolkadotConfig>, state: Shared) -> Result<()> {
	let blocks = api.stream_blocks().await?;
	follow(api, state, blocks, |st, n, t, s| {
		for (h, i) in s.hashes {
			if let Some((_, r)) = st.txs.get_mut(&h) {
				r.included.get_or_insert((t, n));
				r.finalized = Some(t);
				if let Some(e) = s.failed.get(&i) {
					r.failed = Some(e.clone());
				}
			}
		}
		st.assigned.extend(s.assigned);
		st.reauctioned.extend(s.reauctioned);
	})
	.await
}
