//! The chain client: a static API generated from `metadata.scale` (checked against
//! the runtime by `cargo test --workspace --test metadata`), a signer, and helpers
//! to submit transactions and follow finalized blocks.

use anyhow::{anyhow, Context, Result};
use std::str::FromStr;
use subxt::{OnlineClient, PolkadotConfig};
use subxt_signer::{sr25519::Keypair, SecretUri};

/// The OPML runtime's static API.
#[subxt::subxt(runtime_metadata_path = "metadata.scale")]
pub mod api {}

/// Account id on chain.
pub type AccountId = subxt::utils::AccountId32;

/// The proof of `model`'s output shape (its last node, so the output's slot and
/// length) as `publish_output` and `finish_reveal` take it (docs/security.md M6).
pub fn shape_proof(
	model: &opml_nn::Model,
) -> Result<api::runtime_types::pallet_opml_submissions::types::ShapeProof> {
	let p = opml_nn::commit::output_proof(model)
		.map_err(|e| anyhow!("the model's output proof: {e:?}"))?;
	Ok(shape_call(p))
}

/// An output shape proof in the form the chain's calls take.
pub fn shape_call(
	p: opml_nn::commit::OutputProof,
) -> api::runtime_types::pallet_opml_submissions::types::ShapeProof {
	use api::runtime_types::bounded_collections::bounded_vec::BoundedVec;
	use subxt::utils::H256;
	let hashes = |v: Vec<[u8; 32]>| BoundedVec(v.into_iter().map(H256).collect());
	api::runtime_types::pallet_opml_submissions::types::ShapeProof {
		graph_root: H256(p.graph_root),
		graph_siblings: hashes(p.graph_siblings),
		node: BoundedVec(p.node),
		index: p.index,
		node_siblings: hashes(p.node_siblings),
	}
}

/// The node's legacy RPC methods (for the pool-aware next nonce).
type Legacy = subxt::rpcs::LegacyRpcMethods<subxt::config::RpcConfigFor<PolkadotConfig>>;

/// A connection and a signing account. Clones share one submission lock, so tasks of
/// one daemon can submit concurrently: each transaction takes the account's next nonce
/// counting those already in the node's pool.
#[derive(Clone)]
pub struct Client {
	/// The connection.
	pub api: OnlineClient<PolkadotConfig>,
	/// The account that signs.
	pub signer: Keypair,
	/// Legacy RPC methods of the same node.
	legacy: Legacy,
	/// Held from taking a nonce until the transaction is in the pool.
	submitting: std::sync::Arc<tokio::sync::Mutex<()>>,
	/// Key material for the account's round-seed secrets, derived from its secret URI.
	seed_key: [u8; 32],
}

/// One event of a finalized block: pallet, name and fields (as a dynamic value).
#[derive(Clone, Debug)]
pub struct Event {
	/// Pallet name.
	pub pallet: String,
	/// Event name.
	pub name: String,
	/// Fields.
	pub fields: subxt::dynamic::Value,
	/// The raw event, for static decoding.
	pub bytes: Vec<u8>,
}

impl Client {
	/// Connect to `url` (ws://…) and sign with the key of `suri` (`//Alice`, a seed
	/// phrase, …).
	pub async fn connect(url: &str, suri: &str) -> Result<Self> {
		let api = OnlineClient::<PolkadotConfig>::from_insecure_url(url)
			.await
			.with_context(|| format!("connecting to {url}"))?;
		let uri = SecretUri::from_str(suri).map_err(|e| anyhow!("bad secret URI: {e}"))?;
		let signer = Keypair::from_uri(&uri).map_err(|e| anyhow!("bad key: {e}"))?;
		let legacy = Legacy::new(
			subxt::rpcs::RpcClient::from_insecure_url(url)
				.await
				.with_context(|| format!("connecting to {url}"))?,
		);
		let mut pre = b"opml/seed-key".to_vec();
		pre.extend_from_slice(suri.as_bytes());
		Ok(Client {
			api,
			signer,
			legacy,
			submitting: Default::default(),
			seed_key: opml_primitives_core::hash::blake2_256(&pre),
		})
	}

	/// Key material for the account's round-seed secrets (private: derived from the
	/// secret URI).
	pub fn seed_key(&self) -> &[u8; 32] {
		&self.seed_key
	}

	/// The signing account's next nonce, counting its transactions in the node's pool.
	async fn next_nonce(&self) -> Result<u64> {
		self.legacy
			.system_account_next_index(&self.account())
			.await
			.context("reading the account's next nonce")
	}

	/// [`Self::connect`], retrying every 2 s for up to `patience` while the node is not
	/// up yet (a daemon started beside its node); a warning per failed attempt.
	pub async fn connect_patiently(
		url: &str,
		suri: &str,
		patience: std::time::Duration,
	) -> Result<Self> {
		let start = std::time::Instant::now();
		loop {
			match Self::connect(url, suri).await {
				Ok(c) => return Ok(c),
				Err(e) if start.elapsed() < patience => {
					tracing::warn!("{e:#}; retrying in 2 s");
					tokio::time::sleep(std::time::Duration::from_secs(2)).await;
				}
				Err(e) => return Err(e.context(format!("gave up after {} s", patience.as_secs()))),
			}
		}
	}

	/// The storage value at `addr` under `key` in the latest finalized block, if any.
	pub async fn fetch<Addr: subxt::storage::Address>(
		&self,
		addr: Addr,
		key: Addr::KeyParts,
	) -> Result<Option<Addr::Value>> {
		let at = self.api.at_current_block().await?;
		let entry = at.storage().entry(addr)?.try_fetch(key).await?;
		Ok(match entry {
			Some(v) => Some(v.decode()?),
			None => None,
		})
	}

	/// The bond the chain asks of this account to challenge `task`'s pending result
	/// now: `MinChallengeBond`, doubled per challenge the defender beat lately, at most
	/// `MaxBondDoublings` times (docs/security.md M8), with the pallet's own functions
	/// (`opml_primitives_core::bond`); the auditor of an open audit of the result pays
	/// `MinChallengeBond`. `None`: no pending result. (The pallet's view function
	/// `Arbitration::challenge_bond` gives the same for other clients.)
	pub async fn challenge_bond(&self, task: u64) -> Result<Option<u128>> {
		use api::runtime_types::pallet_opml_submissions::types::Phase;
		let at = self.api.at_current_block().await?;
		let storage = at.storage();
		let Some(pool) = storage
			.entry(api::storage().submissions().pools())?
			.try_fetch((task,))
			.await?
		else {
			return Ok(None);
		};
		let pool = pool.decode()?;
		let Phase::Pending { majority, .. } = &pool.phase else {
			return Ok(None);
		};
		let constants = at.constants();
		let base = constants.entry(api::constants().arbitration().min_challenge_bond())?;
		let me = self.account();
		let audits = storage
			.entry(api::storage().arbitration().audits())?
			.try_fetch(())
			.await?
			.map(|a| a.decode())
			.transpose()?
			.map(|a| a.0)
			.unwrap_or_default();
		if audits
			.iter()
			.any(|a| a.task == task && a.auditor == me && a.instance == pool.instance)
		{
			return Ok(Some(base));
		}
		// the first of the majority defends (a lost defence drops it from the list)
		let Some(defender) = majority.0.first() else {
			return Ok(Some(base));
		};
		let strikes = match storage
			.entry(api::storage().arbitration().defender_strikes())?
			.try_fetch((*defender,))
			.await?
		{
			Some(s) => {
				let s = s.decode()?;
				opml_primitives_core::bond::strikes_now(
					s.count,
					u64::from(s.at),
					at.block_number(),
					u64::from(constants.entry(api::constants().arbitration().strike_decay())?),
				)
			}
			None => 0,
		};
		let doublings = constants.entry(api::constants().arbitration().max_bond_doublings())?;
		let factor = opml_primitives_core::bond::bond_factor(strikes, doublings);
		Ok(Some(base.saturating_mul(u128::from(factor))))
	}

	/// The signing account.
	pub fn account(&self) -> AccountId {
		self.signer.public_key().to_account_id()
	}

	/// Sign, submit and wait until `tx` is in a finalized block and succeeded; return
	/// its events.
	#[tracing::instrument(level = "debug", skip_all, fields(call = what))]
	pub async fn submit<Call: subxt::tx::Payload>(
		&self,
		what: &str,
		tx: &Call,
	) -> Result<Vec<Event>> {
		Ok(self.submit_at(what, tx).await?.0)
	}

	/// [`Client::submit`], also returning the number of the block that included it.
	pub async fn submit_at<Call: subxt::tx::Payload>(
		&self,
		what: &str,
		tx: &Call,
	) -> Result<(Vec<Event>, u64)> {
		let started = std::time::Instant::now();
		let at = self.api.at_current_block().await?;
		let progress = {
			let _pool = self.submitting.lock().await;
			let params = subxt::config::PolkadotExtrinsicParamsBuilder::<PolkadotConfig>::new()
				.nonce(self.next_nonce().await?)
				.build();
			at.transactions()
				.sign_and_submit_then_watch(tx, &self.signer, params)
				.await
				.with_context(|| format!("submitting {what}"))?
		};
		let in_block = progress
			.wait_for_finalized()
			.await
			.with_context(|| format!("{what} failed"))?;
		let block = self
			.api
			.at_block(in_block.block_hash())
			.await?
			.block_number();
		let events = in_block
			.wait_for_success()
			.await
			.with_context(|| format!("{what} failed"))?;
		crate::metrics::get()
			.tx
			.with_label_values(&[what])
			.observe(started.elapsed().as_secs_f64());
		let mut out = Vec::new();
		for e in events.iter() {
			let e = e?;
			out.push(Event {
				pallet: e.pallet_name().to_string(),
				name: e.event_name().to_string(),
				fields: e.decode_fields_unchecked_as::<subxt::dynamic::Value>()?,
				bytes: e.field_bytes().to_vec(),
			});
		}
		Ok((out, block))
	}
}

impl Client {
	/// Sign and submit `txs` with consecutive nonces without waiting in between (so
	/// they can share blocks), then wait until each is finalized and succeeded, in
	/// order, calling `done(i)` for each; stops at the first failure. For one account's
	/// transactions that must go in order (the chunks of a reveal); the account's other
	/// submissions wait until all of them are in the pool.
	pub async fn submit_sequence<Call: subxt::tx::Payload>(
		&self,
		what: &str,
		txs: &[Call],
		mut done: impl FnMut(usize) -> Result<()>,
	) -> Result<()> {
		let started = std::time::Instant::now();
		let at = self.api.at_current_block().await?;
		let mut client = at.transactions();
		let pool = self.submitting.lock().await;
		let nonce = self.next_nonce().await?;
		let mut sent = Vec::with_capacity(txs.len());
		for (i, tx) in txs.iter().enumerate() {
			let params = subxt::config::PolkadotExtrinsicParamsBuilder::<PolkadotConfig>::new()
				.nonce(nonce + i as u64)
				.build();
			let progress = client
				.sign_and_submit_then_watch(tx, &self.signer, params)
				.await
				.with_context(|| format!("submitting {what} {i}"))?;
			sent.push(progress);
		}
		drop(pool);
		for (i, progress) in sent.into_iter().enumerate() {
			progress
				.wait_for_finalized_success()
				.await
				.with_context(|| format!("{what} {i} failed"))?;
			crate::metrics::get()
				.tx
				.with_label_values(&[what])
				.observe(started.elapsed().as_secs_f64());
			done(i)?;
		}
		Ok(())
	}
}

/// Blocks behind the finalized head a resumed daemon replays at most: a node keeps
/// the state of the last 256 blocks by default (`--state-pruning`), and events are read
/// from state.
pub const MAX_REPLAY: u64 = 250;

/// Follows the finalized chain block by block by polling (a long-lived subscription
/// can stall while the daemon waits on its own transactions): every finalized block
/// from a starting point, in order, none skipped.
pub struct Follower {
	next: u64,
	at_head: bool,
}

impl Follower {
	/// Start after the current finalized head, or at block `from` if given (replaying
	/// the finalized blocks since, at most [`MAX_REPLAY`]).
	pub async fn start(client: &Client, from: Option<u64>) -> Result<Self> {
		Self::resume(client, from.map(|b| b.saturating_sub(1))).await
	}

	/// Resume after block `cursor` (the last one a daemon processed), replaying the
	/// blocks it missed (at most [`MAX_REPLAY`]); without a cursor, start after the
	/// finalized head.
	pub async fn resume(client: &Client, cursor: Option<u64>) -> Result<Self> {
		let head = client.api.at_current_block().await?.block_number();
		let next = match cursor {
			None => head + 1,
			Some(c) if head.saturating_sub(c) > MAX_REPLAY => {
				tracing::warn!(
					cursor = c,
					head,
					"too far behind to replay every missed block (their state may be \
					 pruned): replaying the last {MAX_REPLAY}"
				);
				head - MAX_REPLAY + 1
			}
			Some(c) => {
				if c < head {
					tracing::info!(from = c + 1, to = head, "replaying missed blocks");
				}
				c + 1
			}
		};
		Ok(Follower {
			next,
			at_head: false,
		})
	}

	/// Whether the block [`Self::next`] returned last was the finalized head then (not
	/// one of a backlog being caught up with).
	pub fn at_head(&self) -> bool {
		self.at_head
	}

	/// The next block's number and events (waits for it).
	pub async fn next(
		&mut self,
		client: &Client,
	) -> Result<(u64, subxt::events::Events<PolkadotConfig>)> {
		loop {
			let head = client.api.at_current_block().await?.block_number();
			if head >= self.next {
				let n = self.next;
				let events = client.api.at_block(n).await?.events().fetch().await?;
				self.next += 1;
				self.at_head = head == n;
				crate::metrics::get().block.set(n);
				return Ok((n, events));
			}
			tokio::time::sleep(std::time::Duration::from_millis(150)).await;
		}
	}
}
