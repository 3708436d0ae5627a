//! Playing dispute games: a [`Player`] holds one side's view of a task (the model, the
//! input and the node outputs it claims) and answers the game's current phase with the
//! move `opml_dispute::party` computes. The chain's game record is the source of truth:
//! a restarted daemon rebuilds its view and carries on from the phase on chain.

use crate::chain::{api, AccountId, Client};
use anyhow::{anyhow, bail, Result};
use codec::Encode;
use opml_dispute::party::{NodeGame, Party};
use opml_nn::{vm::Guest, Prepared, TensorData};
use subxt::utils::H256;

/// One side's view of a disputed task.
pub struct Player {
	guest: Guest,
	model: Prepared,
	input: TensorData,
	outputs: Vec<TensorData>,
	node: Option<(u64, NodeGame)>,
	k: u32,
}

/// A game on chain, as the player sees it.
pub type GameRecord =
	api::runtime_types::pallet_opml_arbitration::types::Game<AccountId, u128, u32>;

impl Player {
	/// A player claiming `outputs` (node outputs of `model` on `input`).
	pub fn new(
		model: Prepared,
		input: TensorData,
		outputs: Vec<TensorData>,
		k: u32,
	) -> Result<Self> {
		Ok(Player {
			guest: Guest::builtin().map_err(|e| anyhow!("the guest program: {e}"))?,
			model,
			input,
			outputs,
			node: None,
			k,
		})
	}

	/// The result root `G_N` of this player's claims.
	pub fn result_root(&self) -> Result<[u8; 32]> {
		Ok(self.party()?.result_root())
	}

	fn party(&self) -> Result<Party<'_>> {
		Party::with_outputs(&self.guest, &self.model, &self.input, self.outputs.clone())
			.map_err(|e| anyhow!("{e}"))
	}

	fn node_game(&mut self, node: u64) -> Result<&mut NodeGame> {
		if self.node.as_ref().map(|(n, _)| *n) != Some(node) {
			let g = self.party()?.node_game(node).map_err(|e| anyhow!("{e}"))?;
			self.node = Some((node, g));
		}
		Ok(&mut self.node.as_mut().expect("just set").1)
	}

	/// Make this side's move in `game` if it is `me`'s turn; returns whether it moved.
	#[tracing::instrument(level = "debug", skip(self, client, game), fields(moves = game.moves))]
	pub async fn step(&mut self, client: &Client, id: u64, game: &GameRecord) -> Result<bool> {
		use api::runtime_types::{
			bounded_collections::bounded_vec::BoundedVec,
			pallet_opml_arbitration::types::{Phase, Side},
		};
		let me = client.account();
		let defender = game.defender == me;
		let my_turn = match game.turn {
			Side::Defender => defender,
			Side::Challenger => game.challenger == me,
		};
		if !my_turn {
			// the opponent ran out of clock: end the game
			let clock = match game.turn {
				Side::Defender => game.defender_clock,
				Side::Challenger => game.challenger_clock,
			};
			// clocks count blocks that had room for a move, not block numbers (H3)
			let now = client
				.fetch(api::storage().submissions().ticks(), ())
				.await?
				.unwrap_or_default();
			if now > game.since.saturating_add(clock).saturating_add(1) {
				let tx = api::transactions().arbitration().timeout(id);
				client.submit("Arbitration.timeout", &tx).await?;
				crate::metrics::get()
					.moves
					.with_label_values(&["timeout"])
					.inc();
				tracing::info!(game = id, "opponent timed out");
				return Ok(true);
			}
			return Ok(false);
		}
		let tx = api::transactions().arbitration();
		let kind = match &game.phase {
			Phase::Graph { posted, .. } | Phase::Vm { posted, .. } if posted.0.is_empty() => {
				"post_states"
			}
			Phase::Graph { .. } | Phase::Vm { .. } => "choose",
			Phase::Handoff { .. } => "handoff",
			Phase::OneStep { .. } => "one_step",
		};
		match &game.phase {
			Phase::Graph { a, b, posted, .. } if posted.0.is_empty() => {
				let s = self.party()?.graph_hashes(*a, *b, self.k);
				post_states(client, id, s).await?;
			}
			Phase::Graph { a, b, posted, .. } => {
				let p: Vec<[u8; 32]> = posted.0.iter().map(|h| h.0).collect();
				let c = self.party()?.choose_graph(*a, *b, self.k, &p);
				client
					.submit("Arbitration.choose", &tx.choose(id, c))
					.await?;
			}
			Phase::Handoff { node, .. } => {
				let n = self.outputs.len() as u64;
				let data = if *node <= n {
					let mut g = self.party()?.node_game(*node).map_err(|e| anyhow!("{e}"))?;
					let h = self
						.party()?
						.handoff(*node, Some(&mut g))
						.map_err(|e| anyhow!("{e}"))?;
					self.node = Some((*node, g));
					h.encode()
				} else {
					self.party()?
						.handoff(*node, None)
						.map_err(|e| anyhow!("{e}"))?
						.encode()
				};
				client
					.submit("Arbitration.handoff", &tx.handoff(id, BoundedVec(data)))
					.await?;
			}
			Phase::Vm {
				node, a, b, posted, ..
			} if posted.0.is_empty() => {
				let k = self.k;
				let s = self.node_game(*node)?.hashes(*a, *b, k);
				post_states(client, id, s).await?;
			}
			Phase::Vm {
				node, a, b, posted, ..
			} => {
				let k = self.k;
				let p: Vec<[u8; 32]> = posted.0.iter().map(|h| h.0).collect();
				let c = self.node_game(*node)?.choose(*a, *b, k, &p);
				client
					.submit("Arbitration.choose", &tx.choose(id, c))
					.await?;
			}
			Phase::OneStep { node, step, .. } => {
				let w = self.node_game(*node)?.witness(*step);
				client
					.submit("Arbitration.one_step", &tx.one_step(id, BoundedVec(w)))
					.await?;
			}
		}
		crate::metrics::get().moves.with_label_values(&[kind]).inc();
		match &game.phase {
			// inside a node: say which
			Phase::Handoff { node, .. } | Phase::Vm { node, .. } | Phase::OneStep { node, .. } => {
				tracing::info!(game = id, moves = game.moves + 1, kind, node, "moved")
			}
			Phase::Graph { .. } => tracing::info!(game = id, moves = game.moves + 1, kind, "moved"),
		}
		Ok(true)
	}
}

/// Post the defender's intermediate states of the current round.
async fn post_states(client: &Client, id: u64, states: Vec<[u8; 32]>) -> Result<()> {
	use api::runtime_types::bounded_collections::bounded_vec::BoundedVec;
	let s = BoundedVec(states.into_iter().map(H256).collect());
	let tx = api::transactions().arbitration().post_states(id, s);
	client.submit("Arbitration.post_states", &tx).await?;
	Ok(())
}

/// The game record of `id`, if it is still open.
pub async fn fetch(client: &Client, id: u64) -> Result<Option<GameRecord>> {
	client
		.fetch(api::storage().arbitration().games(), (id,))
		.await
}

/// Build a player for `task` from the chain's task record and local files: the node
/// outputs come from `engine` (bit-identical to the VM's), corrupted as the provider's
/// fault injection does with a `fault`.
pub async fn player_for_task(
	client: &Client,
	files: &crate::models::Files,
	engine: &crate::compute::Engine,
	task: u64,
	fault: Option<crate::faults::Fault>,
) -> Result<Player> {
	let k = client
		.api
		.at_current_block()
		.await?
		.constants()
		.entry(api::constants().arbitration().fanout())?;
	let run = crate::compute::run_task(client, files, engine, task, fault).await?;
	Player::new(run.model, run.exec.input, run.exec.outputs, k)
}

/// The games a daemon plays, by id.
#[derive(Default)]
pub struct Games {
	players: std::collections::BTreeMap<u64, Player>,
}

impl Games {
	/// Play `id` with `player`.
	pub fn track(&mut self, id: u64, player: Player) {
		let m = crate::metrics::get();
		if self.players.insert(id, player).is_none() {
			m.games.with_label_values(&["started"]).inc();
		}
		m.games_open.set(self.players.len() as u64);
	}

	/// Whether `id` is played.
	pub fn has(&self, id: u64) -> bool {
		self.players.contains_key(&id)
	}

	/// Make every move that is ours; forget games that ended. Returns ended game ids.
	pub async fn play(&mut self, client: &Client) -> Result<Vec<u64>> {
		let mut ended = Vec::new();
		for (&id, player) in self.players.iter_mut() {
			match fetch(client, id).await? {
				None => ended.push(id),
				Some(g) => {
					if let Err(e) = player.step(client, id, &g).await {
						tracing::error!(game = id, "move failed: {e:#}");
					}
				}
			}
		}
		let m = crate::metrics::get();
		for id in &ended {
			self.players.remove(id);
			m.games.with_label_values(&["ended"]).inc();
			tracing::info!(game = id, "game over");
		}
		m.games_open.set(self.players.len() as u64);
		Ok(ended)
	}
}

/// What recomputing an elected result found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
	/// Our recomputation gives the same result root.
	Confirmed,
	/// It differs: we challenged and play game `.0`.
	Challenged(u64),
}

/// What checking a result needs: the chain, model files, a backend, the daemon's
/// state (games are recorded there) and the bond of a challenge.
pub struct Checker<'a> {
	/// The chain.
	pub client: &'a Client,
	/// Model and input files.
	pub files: &'a crate::models::Files,
	/// The backend.
	pub engine: &'a crate::compute::Engine,
	/// The daemon's state.
	pub state: &'a crate::store::State,
	/// Bond of a challenge (planck).
	pub bond: u128,
}

impl Checker<'_> {
	/// Recompute `task` (honestly) and compare with its elected `result`; on a
	/// mismatch, challenge, record the game and play it in `games`.
	pub async fn check(&self, games: &mut Games, task: u64, result: [u8; 32]) -> Result<Verdict> {
		check_result(self, games, task, result).await
	}
}

async fn check_result(
	c: &Checker<'_>,
	games: &mut Games,
	task: u64,
	result: [u8; 32],
) -> Result<Verdict> {
	let (client, files, engine, state, bond) = (c.client, c.files, c.engine, c.state, c.bond);
	let player = player_for_task(client, files, engine, task, None).await?;
	let mine = player.result_root()?;
	let checked = &crate::metrics::get().checked;
	if mine == result {
		checked.with_label_values(&["confirmed"]).inc();
		tracing::info!(task, "result confirmed");
		return Ok(Verdict::Confirmed);
	}
	tracing::warn!(task, elected = %hex::encode(result), recomputed = %hex::encode(mine), "wrong result: challenging");
	// the chain's bond for this defender (M8), up to what we agreed to hold
	let need = client
		.challenge_bond(task)
		.await?
		.ok_or_else(|| anyhow!("task {task}'s result is no longer pending"))?;
	if need > bond {
		bail!(
			"challenging task {task} needs a bond of {need} planck (its defender beat earlier \
			 challenges), more than the {bond} allowed (--bond / --challenge-bond)"
		);
	}
	let tx = api::transactions().arbitration().challenge(task, need);
	let events = client.submit("Arbitration.challenge", &tx).await?;
	let id = events
		.iter()
		.find(|e| e.pallet == "Arbitration" && e.name == "GameOpened")
		.and_then(|e| {
			use subxt::ext::scale_value::At;
			e.fields.at("game").and_then(|v| v.as_u128())
		})
		.ok_or_else(|| anyhow!("no Arbitration.GameOpened event"))? as u64;
	checked.with_label_values(&["challenged"]).inc();
	state.put_game(id, task)?;
	games.track(id, player);
	Ok(Verdict::Challenged(id))
}

/// The pending (elected, not yet final) result of `task`, if any.
pub async fn pending_result(client: &Client, task: u64) -> Result<Option<[u8; 32]>> {
	use api::runtime_types::pallet_opml_submissions::types::Phase;
	let pool = client
		.fetch(api::storage().submissions().pools(), (task,))
		.await?;
	Ok(pool.and_then(|p| match p.phase {
		Phase::Pending { result, .. } => Some(result.0),
		Phase::Collecting => None,
	}))
}
