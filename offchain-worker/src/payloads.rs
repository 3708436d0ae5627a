//! Payloads read from block bodies: the chunks of chunked reveals (a training round's
//! update, an aggregate), outputs published with `publish_output`, and the stacked
//! updates an aggregation task computes on. Daemons and requesters that follow the
//! chain feed every block to [`Payloads::observe`]; what it reassembles goes to the
//! [`Files`] directory by tensor root (so a round's parameters are found like any
//! task input), and for each proven output it keeps the output's root and its proof
//! in the task's result root `G_N` (what `Training.advance` needs).
//!
//! Everything is checked before it is kept: a reassembled payload must be the output
//! the revealer proved in its `G_N` (`opml_nn::commit::verify_output_root`), and the
//! stacked updates must have the root the chain computed.

use crate::{
	chain::{api, AccountId, Client},
	models::{write_atomic, Files},
};
use anyhow::{anyhow, Context, Result};
use codec::{Decode, Encode};
use opml_nn::commit::{state_slot_proof, tensor_root, verify_output_root};
use std::path::PathBuf;
use subxt::{events::Phase, PolkadotConfig};

/// An output proven in a task's result: its tensor root and its slot proof in `G_N`.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct OutputRecord {
	/// The output tensor's root (its bytes are in [`Files`] under it).
	pub root: [u8; 32],
	/// Its slot in `G_N`.
	pub slot: u32,
	/// The slot's proof siblings, bottom first.
	pub siblings: Vec<[u8; 32]>,
}

/// The payload store (a `payloads/` directory beside the model and input files).
#[derive(Clone, Debug)]
pub struct Payloads {
	files: Files,
	dir: PathBuf,
}

enum Seen {
	Chunk {
		task: u64,
		who: AccountId,
	},
	Revealed {
		task: u64,
		who: AccountId,
		result: [u8; 32],
	},
	Published {
		task: u64,
		result: [u8; 32],
	},
	Aggregating {
		task: u64,
		input: [u8; 32],
	},
}

impl Payloads {
	/// The store of `files` (created if needed).
	pub fn open(files: &Files) -> Result<Self> {
		let dir = files.dir().join("payloads");
		std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
		Ok(Payloads {
			files: files.clone(),
			dir,
		})
	}

	/// Where this process stages a chunk (processes sharing the directory each keep
	/// their own chunks).
	fn chunk_path(&self, task: u64, who: &AccountId, index: u32) -> PathBuf {
		self.dir.join(format!(
			"{task}-{}-{index}.{}.chunk",
			hex::encode(who.0),
			std::process::id()
		))
	}

	/// Stage a chunk; chunk 0 starts a new payload (a re-run task's earlier chunks go).
	fn stage_chunk(&self, task: u64, who: &AccountId, index: u32, chunk: &[u8]) -> Result<()> {
		if index == 0 {
			for i in 1.. {
				if std::fs::remove_file(self.chunk_path(task, who, i)).is_err() {
					break;
				}
			}
		}
		let path = self.chunk_path(task, who, index);
		std::fs::write(&path, chunk).with_context(|| format!("writing {}", path.display()))
	}

	fn record_path(&self, task: u64, result: &[u8; 32]) -> PathBuf {
		self.dir.join(format!("{task}-{}.out", hex::encode(result)))
	}

	/// The proven output of `task`'s result `result`, if it was observed.
	pub fn output(&self, task: u64, result: &[u8; 32]) -> Result<Option<OutputRecord>> {
		let path = self.record_path(task, result);
		match std::fs::read(&path) {
			Ok(b) => Ok(Some(
				OutputRecord::decode(&mut &b[..])
					.with_context(|| format!("corrupt {}", path.display()))?,
			)),
			Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
			Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
		}
	}

	fn keep(
		&self,
		task: u64,
		result: [u8; 32],
		bytes: &[u8],
		slot: u32,
		siblings: Vec<[u8; 32]>,
	) -> Result<bool> {
		let root = tensor_root(bytes).0;
		let proof = state_slot_proof(slot, siblings.iter().copied());
		if !verify_output_root(&result, &root, &proof) {
			tracing::warn!(task, "an observed payload is not the output proven in its result (chunks missed?): not kept");
			return Ok(false);
		}
		self.files.put_input_bytes(bytes)?;
		let rec = OutputRecord {
			root,
			slot,
			siblings,
		};
		write_atomic(&self.record_path(task, &result), &rec.encode())?;
		tracing::debug!(task, root = %hex::encode(root), bytes = bytes.len(), "payload kept");
		Ok(true)
	}

	/// Read what block `number` carries: chunks, finished chunked reveals, published
	/// outputs, and the stacked updates of an aggregation task that started in it.
	pub async fn observe(
		&self,
		client: &Client,
		number: u64,
		events: &subxt::events::Events<PolkadotConfig>,
	) -> Result<()> {
		use api::{submissions::events as sub, training::events as tr};
		let mut seen = Vec::new();
		for ev in events.iter() {
			let ev = ev?;
			let Phase::ApplyExtrinsic(i) = ev.phase() else {
				continue;
			};
			if let Some(e) = ev.decode_fields_as::<sub::ChunkRevealed>().transpose()? {
				seen.push((
					i,
					Seen::Chunk {
						task: e.task,
						who: e.who,
					},
				));
			} else if let Some(e) = ev.decode_fields_as::<sub::Revealed>().transpose()? {
				seen.push((
					i,
					Seen::Revealed {
						task: e.task,
						who: e.who,
						result: e.result.0,
					},
				));
			} else if let Some(e) = ev.decode_fields_as::<sub::OutputPublished>().transpose()? {
				seen.push((
					i,
					Seen::Published {
						task: e.task,
						result: e.result.0,
					},
				));
			} else if let Some(e) = ev.decode_fields_as::<tr::Aggregating>().transpose()? {
				seen.push((
					i,
					Seen::Aggregating {
						task: e.task,
						input: e.input.0,
					},
				));
			}
		}
		if seen.is_empty() {
			return Ok(());
		}
		let at = client.api.at_block(number).await?;
		let extrinsics = at.extrinsics().fetch().await?;
		for (i, s) in seen {
			let ext = extrinsics
				.iter()
				.nth(i as usize)
				.ok_or_else(|| anyhow!("block {number}: no extrinsic {i}"))?
				.map_err(|e| anyhow!("block {number}, extrinsic {i}: {e}"))?;
			use api::{submissions::calls, training::calls as tcalls};
			match s {
				Seen::Chunk { task, who } => {
					// chunks sent in a batch are not decoded here (providers send them alone)
					if let Some(c) = ext.decode_call_data_fields_as::<calls::RevealChunk>() {
						let c = c?;
						self.stage_chunk(task, &who, c.index, &c.chunk)?;
					}
				}
				Seen::Revealed { task, who, result } => {
					let Some(f) = ext.decode_call_data_fields_as::<calls::FinishReveal>() else {
						continue; // a plain reveal: no payload
					};
					let f = f?;
					let mut bytes = Vec::new();
					let mut paths = Vec::new();
					for index in 0.. {
						let path = self.chunk_path(task, &who, index);
						match std::fs::read(&path) {
							Ok(b) => bytes.extend_from_slice(&b),
							Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
							Err(e) => {
								return Err(e)
									.with_context(|| format!("reading {}", path.display()))
							}
						}
						paths.push(path);
					}
					let siblings = f.siblings.0.iter().map(|h| h.0).collect();
					self.keep(task, result, &bytes, f.shape.index, siblings)?;
					for p in paths {
						let _ = std::fs::remove_file(p);
					}
				}
				Seen::Published { task, result } => {
					if let Some(p) = ext.decode_call_data_fields_as::<calls::PublishOutput>() {
						let p = p?;
						let siblings = p.siblings.0.iter().map(|h| h.0).collect();
						self.keep(task, result, &p.output, p.shape.index, siblings)?;
					}
				}
				Seen::Aggregating { task, input } => {
					let Some(a) = ext.decode_call_data_fields_as::<tcalls::Advance>() else {
						continue;
					};
					let a = a?;
					let stacked: Result<Vec<Vec<u8>>> = a
						.outputs
						.0
						.iter()
						.map(|o| self.files.input_bytes(&o.root.0))
						.collect();
					let stacked = match stacked {
						Ok(parts) => parts.concat(),
						Err(e) => {
							tracing::warn!(task, "an update of the aggregation is missing: {e:#}");
							continue;
						}
					};
					if tensor_root(&stacked).0 == input {
						self.files.put_input_bytes(&stacked)?;
						tracing::debug!(task, bytes = stacked.len(), "aggregation input kept");
					} else {
						tracing::warn!(
							task,
							"the stacked updates do not have the aggregation input's root"
						);
					}
				}
			}
		}
		Ok(())
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use opml_primitives_core::{merkle::bytes_root, ZERO_HASH};

	/// A payload is kept only if it is the output proven in the revealed result, and
	/// then found by root (bytes) and by `(task, result)` (the proof).
	#[test]
	fn only_proven_payloads_are_kept() {
		let dir = tempfile::tempdir().unwrap();
		let files = Files::open(dir.path()).unwrap();
		let p = Payloads::open(&files).unwrap();
		let payload: Vec<u8> = (0..1000u32).map(|i| (i * 13) as u8).collect();
		let (g, proof) =
			opml_nn::commit::one_node_result(ZERO_HASH, bytes_root(&payload).0).unwrap();
		let slot = proof.index as u32;
		// other bytes under the same proof are refused
		let mut other = payload.clone();
		other[999] ^= 1;
		assert!(!p.keep(7, g, &other, slot, proof.siblings.clone()).unwrap());
		assert_eq!(p.output(7, &g).unwrap(), None);
		// a wrong slot is refused
		assert!(!p.keep(7, g, &payload, 0, proof.siblings.clone()).unwrap());
		assert!(p
			.keep(7, g, &payload, slot, proof.siblings.clone())
			.unwrap());
		let rec = p.output(7, &g).unwrap().unwrap();
		assert_eq!(rec.root, tensor_root(&payload).0);
		assert_eq!((rec.slot, &rec.siblings), (slot, &proof.siblings));
		assert_eq!(p.files.input_bytes(&rec.root).unwrap(), payload);
		// another task's record is separate
		assert_eq!(p.output(8, &g).unwrap(), None);
	}
}
