//! The verifier daemon: recomputes every elected result and challenges wrong ones,
//! then plays each game to the end.

use crate::{
	chain::{api, Client},
	compute::Engine,
	game::{player_for_task, Checker, Games},
	models::Files,
	payloads::Payloads,
	store::State,
};
use anyhow::Result;

/// The verifier.
pub struct Verifier {
	client: Client,
	state: State,
	files: Files,
	payloads: Payloads,
	engine: Engine,
	bond: u128,
}

impl Verifier {
	/// A verifier challenging with `bond`.
	pub fn new(
		client: Client,
		state: State,
		files: Files,
		engine: Engine,
		bond: u128,
	) -> Result<Self> {
		Ok(Verifier {
			client,
			state,
			payloads: Payloads::open(&files)?,
			files,
			engine,
			bond,
		})
	}

	/// Follow finalized blocks forever.
	pub async fn run(&self) -> Result<()> {
		let me = self.client.account();
		tracing::info!(account = %me, engine = %self.engine.describe(), "verifier running");
		let mut games = Games::default();
		for (game, task) in self.state.games()? {
			match player_for_task(&self.client, &self.files, &self.engine, task, None).await {
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
			// a training round's inputs are earlier rounds' revealed outputs
			if let Err(e) = self.payloads.observe(&self.client, number, &events).await {
				tracing::warn!(number, "payloads of the block not read: {e:#}");
			}
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
		Checker {
			client: &self.client,
			files: &self.files,
			engine: &self.engine,
			state: &self.state,
			bond: self.bond,
		}
		.check(games, task, result)
		.await?;
		Ok(())
	}
}
