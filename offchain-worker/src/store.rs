//! Local persistent state (redb): what a daemon must not forget across restarts —
//! every task it computed, committed or revealed (with its salt), the games it plays,
//! and the last block it processed. Written before the transaction that depends on it
//! is sent, so a restarted daemon resumes each task and game and replays the blocks it
//! missed.

use anyhow::{Context, Result};
use codec::{Decode, Encode};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use std::path::Path;

const TASKS: TableDefinition<u64, &[u8]> = TableDefinition::new("tasks");
const GAMES: TableDefinition<u64, u64> = TableDefinition::new("games");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// Key of the last block fully processed.
const CURSOR: &str = "cursor";

/// Where a provider's task is.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Encode, Decode)]
pub enum Stage {
	/// Computed; the commitment is about to be sent.
	Computed,
	/// Committed; the reveal is due from block `due`.
	Committed,
	/// Revealed; nothing left to do but watch.
	Revealed,
	/// A chunked reveal is under way: chunks `0..next` are on chain.
	Revealing {
		/// The next chunk to send.
		next: u32,
	},
}

/// A provider's record of one task.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub struct TaskRecord {
	/// The model commitment.
	pub model: [u8; 32],
	/// The result root `G_N`.
	pub result: [u8; 32],
	/// The commitment's salt.
	pub salt: [u8; 32],
	/// The block from which reveals are accepted (the market's deadline).
	pub due: u32,
	/// Where it is.
	pub stage: Stage,
	/// The output tensor's bytes (published once the result is elected).
	pub output: Vec<u8>,
	/// The output's slot in `G_N` and its proof siblings.
	pub output_proof: (u32, Vec<[u8; 32]>),
}

/// The daemon's database.
pub struct State {
	db: Database,
}

impl State {
	/// Open (or create) the database in `dir`.
	pub fn open(dir: &Path) -> Result<Self> {
		std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
		let path = dir.join("worker.redb");
		let db = Database::create(&path).with_context(|| format!("opening {}", path.display()))?;
		let w = db.begin_write()?;
		w.open_table(TASKS)?;
		w.open_table(GAMES)?;
		w.open_table(META)?;
		w.commit()?;
		Ok(State { db })
	}

	/// Record `task`.
	pub fn put(&self, task: u64, rec: &TaskRecord) -> Result<()> {
		let w = self.db.begin_write()?;
		w.open_table(TASKS)?.insert(task, rec.encode().as_slice())?;
		w.commit()?;
		Ok(())
	}

	/// The record of `task`.
	pub fn get(&self, task: u64) -> Result<Option<TaskRecord>> {
		let r = self.db.begin_read()?;
		let t = r.open_table(TASKS)?;
		let v = t.get(task)?;
		Ok(match v {
			Some(v) => Some(TaskRecord::decode(&mut v.value()).context("corrupt task record")?),
			None => None,
		})
	}

	/// Every task not yet revealed.
	pub fn open_tasks(&self) -> Result<Vec<(u64, TaskRecord)>> {
		let r = self.db.begin_read()?;
		let t = r.open_table(TASKS)?;
		let mut out = Vec::new();
		for item in t.iter()? {
			let (k, v) = item?;
			let rec = TaskRecord::decode(&mut v.value()).context("corrupt task record")?;
			if rec.stage != Stage::Revealed {
				out.push((k.value(), rec));
			}
		}
		Ok(out)
	}

	/// Remember that game `game` (about `task`) is being played.
	pub fn put_game(&self, game: u64, task: u64) -> Result<()> {
		let w = self.db.begin_write()?;
		w.open_table(GAMES)?.insert(game, task)?;
		w.commit()?;
		Ok(())
	}

	/// Forget game `game`.
	pub fn remove_game(&self, game: u64) -> Result<()> {
		let w = self.db.begin_write()?;
		w.open_table(GAMES)?.remove(game)?;
		w.commit()?;
		Ok(())
	}

	/// Games being played: `(game, task)`.
	pub fn games(&self) -> Result<Vec<(u64, u64)>> {
		let r = self.db.begin_read()?;
		let t = r.open_table(GAMES)?;
		let mut out = Vec::new();
		for item in t.iter()? {
			let (k, v) = item?;
			out.push((k.value(), v.value()));
		}
		Ok(out)
	}

	/// The last block whose events were fully processed (`None` for a new state).
	pub fn cursor(&self) -> Result<Option<u64>> {
		let r = self.db.begin_read()?;
		let t = r.open_table(META)?;
		let v = t.get(CURSOR)?;
		Ok(v.map(|v| v.value()))
	}

	/// Record that block `n`'s events were fully processed.
	pub fn set_cursor(&self, n: u64) -> Result<()> {
		let w = self.db.begin_write()?;
		w.open_table(META)?.insert(CURSOR, n)?;
		w.commit()?;
		Ok(())
	}
}
