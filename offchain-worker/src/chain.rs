//! The chain client: a static API generated from `metadata.scale` (checked against
//! the runtime by `cargo test -p opml-runtime --test metadata`), a signer, and helpers
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

/// A connection and a signing account.
#[derive(Clone)]
pub struct Client {
	/// The connection.
	pub api: OnlineClient<PolkadotConfig>,
	/// The account that signs.
	pub signer: Keypair,
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
		Ok(Client { api, signer })
	}

	/// The signing account.
	pub fn account(&self) -> AccountId {
		self.signer.public_key().to_account_id()
	}

	/// Sign, submit and wait until `tx` is in a finalized block and succeeded; return
	/// its events.
	pub async fn submit<Call: subxt::tx::Payload>(
		&self,
		what: &str,
		tx: &Call,
	) -> Result<Vec<Event>> {
		let at = self.api.at_current_block().await?;
		let progress = at
			.transactions()
			.sign_and_submit_then_watch_default(tx, &self.signer)
			.await
			.with_context(|| format!("submitting {what}"))?;
		let events = progress
			.wait_for_finalized_success()
			.await
			.with_context(|| format!("{what} failed"))?;
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
		Ok(out)
	}
}

/// Follows the chain block by block by polling (a long-lived subscription can stall
/// while the daemon waits on its own transactions): every block from the one after the
/// current head at start, in order, none skipped.
pub struct Follower {
	next: u64,
}

impl Follower {
	/// Start after the current head.
	pub async fn start(client: &Client) -> Result<Self> {
		let head = client.api.at_current_block().await?.block_number();
		Ok(Follower { next: head + 1 })
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
				return Ok((n, events));
			}
			tokio::time::sleep(std::time::Duration::from_millis(150)).await;
		}
	}
}
