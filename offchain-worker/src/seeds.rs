//! Round seeds (docs/security.md H2): the market draws a round's seats from a seed
//! mixed from a secret of every provider in the round. A provider commits to its next
//! secret (`Market::commit_seed`) and, in each round that took its ask, reveals it and
//! commits to the one after (`Market::reveal_seed`); a provider that does not reveal
//! in the round's window is slashed `SeedPenalty` and left out of the round.
//!
//! Secrets are derived from the account's secret URI and a counter the chain keeps
//! with the commitment ([`opml_primitives_core::seed::derive_secret`]), so nothing is
//! stored and a restarted daemon reveals the right one. The watcher runs in its own
//! task, beside the provider's main loop, so a long computation or a game does not
//! make it miss a window.

use crate::chain::{api, Client};
use anyhow::{Context, Result};
use opml_primitives_core::seed;
use subxt::utils::H256;

/// A provider's round-seed moves.
pub struct Seeds {
	client: Client,
}

impl Seeds {
	/// Seed moves for `client`'s account.
	pub fn new(client: Client) -> Self {
		Seeds { client }
	}

	fn secret(&self, index: u32) -> [u8; 32] {
		seed::derive_secret(self.client.seed_key(), index)
	}

	fn commitment(&self, index: u32) -> H256 {
		H256(seed::commitment(&self.secret(index)))
	}

	/// Commit to a secret unless the chain holds a commitment to ours already.
	pub async fn ensure_committed(&self) -> Result<()> {
		let me = self.client.account();
		let held = self
			.client
			.fetch(api::storage().market().seed_commits(), (me,))
			.await?;
		let index = match held {
			Some(c) if c.commitment == self.commitment(c.index) => return Ok(()),
			// another key's commitment (the account moved to another daemon): start over
			Some(c) => c.index.wrapping_add(1),
			None => 0,
		};
		let tx = api::transactions()
			.market()
			.commit_seed(self.commitment(index), index);
		self.client.submit("Market.commit_seed", &tx).await?;
		tracing::info!(index, "committed to a round seed");
		Ok(())
	}

	/// If the round revealing seeds holds our unrevealed ask, reveal its secret and
	/// commit to the next; returns the round revealed in.
	pub async fn reveal(&self) -> Result<Option<u32>> {
		use api::runtime_types::pallet_opml_market::types::RoundPhase;
		let Some(round) = self
			.client
			.fetch(api::storage().market().current_round(), ())
			.await?
		else {
			return Ok(None);
		};
		if !matches!(round.phase, RoundPhase::Revealing { .. }) {
			return Ok(None);
		}
		let me = self.client.account();
		let Some(ask) = round.asks.0.iter().find(|a| a.who == me) else {
			return Ok(None);
		};
		if ask.revealed {
			return Ok(None);
		}
		let index = ask.seed.index;
		let secret = self.secret(index);
		if H256(seed::commitment(&secret)) != ask.seed.commitment {
			anyhow::bail!(
				"round {}: our ask's seed commitment is not one of this key's secrets \
				 (another daemon with this account?): it cannot be revealed",
				round.index
			);
		}
		let tx = api::transactions().market().reveal_seed(
			round.index,
			H256(secret),
			self.commitment(index.wrapping_add(1)),
		);
		self.client
			.submit("Market.reveal_seed", &tx)
			.await
			.with_context(|| format!("revealing the seed of round {}", round.index))?;
		tracing::info!(round = round.index, "revealed the round seed");
		Ok(Some(round.index))
	}

	/// Forever: at each new finalized block, commit if we have no commitment (a
	/// withheld reveal drops it) and reveal in the round that took our ask. Errors are
	/// logged and retried at the next block.
	pub async fn run(self) {
		let mut last = None;
		loop {
			let head = match self.client.api.at_current_block().await {
				Ok(b) => b.block_number(),
				Err(e) => {
					tracing::warn!("round seeds: {e:#}");
					tokio::time::sleep(std::time::Duration::from_secs(2)).await;
					continue;
				}
			};
			if last != Some(head) {
				last = Some(head);
				if let Err(e) = self.ensure_committed().await {
					tracing::warn!("round seed not committed: {e:#}");
				}
				if let Err(e) = self.reveal().await {
					tracing::warn!("round seed not revealed: {e:#}");
				}
			}
			tokio::time::sleep(std::time::Duration::from_millis(500)).await;
		}
	}
}
