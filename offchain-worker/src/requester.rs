//! Requester commands: register a model, submit a task, watch it to its final result.

use crate::{
	chain::{api, Client, Event},
	models::{read_model, Files},
};
use anyhow::{anyhow, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use opml_nn::vm::Guest;
use std::{path::Path, time::Duration};
use subxt::{ext::scale_value::At, utils::H256};

fn field(e: &Event, name: &str) -> Option<u128> {
	e.fields.at(name).and_then(|v| v.as_u128())
}

/// Register the model in `path` (an `.opml` file), copying it into `files`; returns
/// the model id.
pub async fn register_model(
	client: &Client,
	files: &Files,
	path: &Path,
	weight: u32,
	name: &str,
) -> Result<(u32, [u8; 32])> {
	let model = read_model(path)?;
	let commitment = files.put_model(&model)?;
	let program_root = Guest::builtin()
		.map_err(|e| anyhow!("the guest program: {e}"))?
		.program_root();
	use api::runtime_types::bounded_collections::bounded_vec::BoundedVec;
	let tx = api::transactions().market().register_model(
		H256(commitment),
		H256(program_root),
		weight,
		BoundedVec(name.as_bytes().to_vec()),
	);
	let events = client.submit("Market.register_model", &tx).await?;
	let id = events
		.iter()
		.find(|e| e.pallet == "Market" && e.name == "ModelRegistered")
		.and_then(|e| field(e, "model"))
		.ok_or_else(|| anyhow!("no Market.ModelRegistered event"))?;
	Ok((id as u32, commitment))
}

/// What a task asks for.
#[derive(Clone, Debug)]
pub struct TaskRequest {
	/// The model id.
	pub model: u32,
	/// Units per provider.
	pub demand: u32,
	/// Valuation (all providers together).
	pub valuation: u128,
	/// Redundancy.
	pub redundancy: u8,
	/// Deadline in blocks after assignment.
	pub deadline: u32,
}

/// Submit a task with `input` (int8): inline if small, else by root (the bytes go to
/// `files`). Returns the task id.
pub async fn submit_task(
	client: &Client,
	files: &Files,
	req: &TaskRequest,
	input: &[i8],
) -> Result<u64> {
	use api::runtime_types::{
		bounded_collections::bounded_vec::BoundedVec, pallet_opml_market::types::TaskInput,
	};
	let max_inline = client
		.api
		.at_current_block()
		.await?
		.constants()
		.entry(api::constants().market().max_inline_input())?;
	let bytes: Vec<u8> = input.iter().map(|&b| b as u8).collect();
	let task_input = if bytes.len() <= max_inline as usize {
		TaskInput::Inline(BoundedVec(bytes))
	} else {
		TaskInput::Root(H256(files.put_input(input)?))
	};
	let tx = api::transactions().market().submit_task(
		req.model,
		task_input,
		req.demand,
		req.valuation,
		req.redundancy,
		req.deadline,
	);
	let events = client.submit("Market.submit_task", &tx).await?;
	let id = events
		.iter()
		.find(|e| e.pallet == "Market" && e.name == "TaskSubmitted")
		.and_then(|e| field(e, "task"))
		.ok_or_else(|| anyhow!("no Market.TaskSubmitted event"))?;
	Ok(id as u64)
}

/// How a watched task ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
	/// The final result root.
	pub result: [u8; 32],
	/// Paid to providers.
	pub paid: u128,
	/// Refunded to the requester.
	pub refunded: u128,
}

/// Follow `task` in finalized blocks until its result is final; a progress line per
/// event (or a JSON line each with `json`).
pub async fn watch(client: &Client, task: u64, json: bool, timeout: Duration) -> Result<Outcome> {
	let bar = if json {
		ProgressBar::hidden()
	} else {
		let b = ProgressBar::new_spinner();
		b.set_style(ProgressStyle::with_template("{spinner} [{elapsed}] {msg}").expect("template"));
		b.enable_steady_tick(Duration::from_millis(120));
		b.set_message(format!("task {task}: waiting for an auction round"));
		b
	};
	let mut follower = crate::chain::Follower::start(client).await?;
	let deadline = tokio::time::Instant::now() + timeout;
	let mut result = None;
	let mut settled = None;
	loop {
		let (number, events) = tokio::time::timeout_at(deadline, follower.next(client))
			.await
			.map_err(|_| anyhow!("task {task}: no final result within {timeout:?}"))??;
		for ev in events.iter() {
			let ev = ev?;
			let (pallet, name) = (ev.pallet_name().to_string(), ev.event_name().to_string());
			let fields = ev.decode_fields_unchecked_as::<subxt::dynamic::Value>()?;
			if fields.at("task").and_then(|v| v.as_u128()) != Some(u128::from(task)) {
				continue;
			}
			if json {
				println!(
					"{}",
					serde_json::json!({
						"block": number,
						"event": format!("{pallet}.{name}"),
						"fields": fields.to_string(),
					})
				);
			} else {
				bar.set_message(format!("task {task}: {pallet}.{name} (block {})", number));
				bar.println(format!("block {:>6}  {pallet}.{name}", number));
			}
			match (pallet.as_str(), name.as_str()) {
				("Submissions", "ResultFinal") => {
					let r = ev
						.decode_fields_as::<api::submissions::events::ResultFinal>()
						.context("decoding ResultFinal")??;
					result = Some(r.result.0);
				}
				("Market", "TaskSettled") => {
					let s = ev
						.decode_fields_as::<api::market::events::TaskSettled>()
						.context("decoding TaskSettled")??;
					settled = Some((s.paid, s.refunded));
				}
				("Market", "TaskCancelled") => {
					bar.finish_and_clear();
					return Err(anyhow!("task {task} was cancelled"));
				}
				_ => {}
			}
		}
		// settlement and the final result come in the same block
		if let Some((paid, refunded)) = settled {
			bar.finish_and_clear();
			let result = result.ok_or_else(|| anyhow!("settled without a final result"))?;
			return Ok(Outcome {
				result,
				paid,
				refunded,
			});
		}
	}
}
