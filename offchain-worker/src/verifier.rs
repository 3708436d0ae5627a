//! The verifier daemon: recomputes every elected result and challenges wrong ones,
//! then plays each game to the end.

use crate::{
	chain::{api, Client},
	compute::Engine,
	game::{player_for_task, Games},
	models::Files,
	store::State,
};
use anyhow::{anyhow, Result};

/// The verifier.
pub struct Verifier {
	client: Client,
	state: State,
	files: Files,
	engine: Engine,
	bond: u128,
}

impl Verifier {
	/// A verifier challenging with `bond`.
	pub fn new(client: Client, state: State, files: Files, engine: Engine, bond: u128) -> Self {
		Verifier {
			client,
			state,
			files,
			engine,
			bond,
		}
	}

	/// Follow finalized blocks forever.
	pub async fn run(&self) -> Result<()> {
		let me = self.client.account();
		tracing::info!(account = %me, engine = %self.engine.describe(), "verifier running");
		let mut games = Games::default();
		for (game, task) in self.state.games()? {
			match player_for_task(&self.client, &self.files, &self.engine, task, false).await {
				Ok(p) => {
					tracing::info!(game, task, "resuming game");
					games.track(game, p);
				}
				Err(e) => tracing::error!(game, task, "cannot resume game: {e:#}"),
			}
		}
		let mut follower =
			crate::chain::Follower::resume(&self.client, self.state.cursor()?).await?;
		loop {
			let (number, events) = follower.next(&self.client).await?;
			for ev in events.iter() {
				let ev = ev?;
				if let Some(e) = ev
					.decode_fields_as::<api::submissions::events::ResultElected>()
					.transpose()?
				{
					if let Err(err) = self.check(&mut games, e.task, e.result.0).await {
						tracing::error!(task = e.task, "{err:#}");
					}
				}
			}
			for id in games.play(&self.client).await? {
				self.state.remove_game(id)?;
			}
			self.state.set_cursor(number)?;
		}
	}

	/// Recompute `task`; challenge if its elected `result` differs.
	#[tracing::instrument(skip(self, games, result))]
	async fn check(&self, games: &mut Games, task: u64, result: [u8; 32]) -> Result<()> {
		let player = player_for_task(&self.client, &self.files, &self.engine, task, false).await?;
		let mine = player.result_root()?;
		let checked = &crate::metrics::get().checked;
		if mine == result {
			checked.with_label_values(&["confirmed"]).inc();
			tracing::info!(task, "result confirmed");
			return Ok(());
		}
		tracing::warn!(task, elected = %hex::encode(result), recomputed = %hex::encode(mine), "wrong result: challenging");
		let tx = api::transactions().arbitration().challenge(task, self.bond);
		let events = self.client.submit("Arbitration.challenge", &tx).await?;
		let id = events
			.iter()
			.find(|e| e.pallet == "Arbitration" && e.name == "GameOpened")
			.and_then(|e| {
				use subxt::ext::scale_value::At;
				e.fields.at("game").and_then(|v| v.as_u128())
			})
			.ok_or_else(|| anyhow!("no Arbitration.GameOpened event"))? as u64;
		checked.with_label_values(&["challenged"]).inc();
		self.state.put_game(id, task)?;
		games.track(id, player);
		Ok(())
	}
}
