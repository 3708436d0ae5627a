//! Requester commands: register a model, submit a task, watch it to its final result.

use crate::{
	chain::{api, Client, Event},
	distribution::{Reference, Show, Targets},
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

/// Register the model in `path` (an `.opml` file, or an `.onnx` file quantized with
/// the f32 samples in `calibration`), copying it into `files` and uploading it to
/// file stores (`publish`); returns the model id, commitment and the model.
pub async fn register_model(
	client: &Client,
	files: &Files,
	path: &Path,
	calibration: Option<&Path>,
	weight: u32,
	name: &str,
	publish: &Targets,
) -> Result<(u32, [u8; 32], opml_nn::Model)> {
	let model = read_model(path, calibration)?;
	let (id, c) = register(client, files, &model, weight, name, publish).await?;
	Ok((id, c, model))
}

/// Upload the file `reference` refers to as `publish` asks (nothing with
/// `publish.skip`). A failed upload is reported as a warning (the record is on chain
/// already; `opml-worker upload` retries it).
pub async fn publish_file(
	client: &Client,
	files: &Files,
	reference: Reference,
	publish: &Targets,
) -> Result<()> {
	if publish.skip {
		return Ok(());
	}
	// the record is on chain already: a failed upload is a warning with the way to
	// retry it, not an error that would hide the record's id
	match crate::distribution::upload(client, files, reference, publish, Show::Bar).await {
		Ok(held) if !held.is_empty() => {
			eprintln!("{reference:?}: file held by {}", held.join(", "))
		}
		Ok(_) => {}
		Err(e) => {
			let arg = match reference {
				Reference::Model(m) => format!("--model {m}"),
				Reference::Task(t) => format!("--task {t}"),
				Reference::Job(j) => format!("--job {j}"),
			};
			tracing::warn!(
				"{reference:?} is on chain but its file was not uploaded: {e:#}; retry with \
				 `opml-worker upload {arg}`"
			);
			eprintln!(
				"warning: {reference:?}: file not uploaded; retry with `opml-worker upload {arg}`"
			);
		}
	}
	Ok(())
}

/// Register `model`, copying it into `files` and uploading it (`publish`); returns
/// the model id and commitment.
pub async fn register(
	client: &Client,
	files: &Files,
	model: &opml_nn::Model,
	weight: u32,
	name: &str,
	publish: &Targets,
) -> Result<(u32, [u8; 32])> {
	let commitment = files.put_model(model)?;
	let program_root = Guest::builtin()
		.map_err(|e| anyhow!("the guest program: {e}"))?
		.program_root();
	// the chain checks the graph against the commitment and every node's step bound
	// against its `MaxNodeSteps` (docs/security.md M10): say which node first
	let (graph, siblings) = opml_nn::registration::graph_registration(model)
		.map_err(|e| anyhow!("the model's graph proof: {e:?}"))?;
	let at = client.api.at_current_block().await?;
	let constants = at.constants();
	let max_steps = constants.entry(api::constants().market().max_node_steps())?;
	opml_nn::registration::verify_graph_registration(&commitment, &graph, &siblings, max_steps)
		.map_err(|e| match e {
			opml_nn::registration::RegistrationError::TooHeavy { node, bound } => anyhow!(
				"node {node} may take {bound} VM steps, more than the chain's MaxNodeSteps \
				 ({max_steps}): a dispute over it could not be handed off; re-import the \
				 model with `opml-worker model import --max-node-steps {max_steps}` so the \
				 importer splits it"
			),
			e => anyhow!("the model's graph would be refused by the chain: {e:?}"),
		})?;
	let max_bytes = constants.entry(api::constants().market().max_graph_bytes())? as usize;
	if graph.len() > max_bytes {
		return Err(anyhow!(
			"the model's graph descriptor has {} bytes, more than the chain's MaxGraphBytes \
			 ({max_bytes})",
			graph.len()
		));
	}
	use api::runtime_types::bounded_collections::bounded_vec::BoundedVec;
	let tx = api::transactions().market().register_model(
		H256(commitment),
		H256(program_root),
		weight,
		BoundedVec(name.as_bytes().to_vec()),
		BoundedVec(graph),
		BoundedVec(siblings.into_iter().map(H256).collect()),
	);
	let events = client.submit("Market.register_model", &tx).await?;
	let id = events
		.iter()
		.find(|e| e.pallet == "Market" && e.name == "ModelRegistered")
		.and_then(|e| field(e, "model"))
		.ok_or_else(|| anyhow!("no Market.ModelRegistered event"))?;
	publish_file(client, files, Reference::Model(id as u32), publish).await?;
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

/// Submit a task with `input` (the model input's type: int8, or i32 token ids):
/// inline if small, else by root (the bytes go to `files` and are uploaded as
/// `publish` asks). Returns the task id and the block that included it (watch from
/// there: the assignment may be finalized before a watcher starts).
pub async fn submit_task(
	client: &Client,
	files: &Files,
	req: &TaskRequest,
	input: &opml_nn::TensorData,
	publish: &Targets,
) -> Result<(u64, u64)> {
	use api::runtime_types::{
		bounded_collections::bounded_vec::BoundedVec, pallet_opml_market::types::TaskInput,
	};
	let max_inline = client
		.api
		.at_current_block()
		.await?
		.constants()
		.entry(api::constants().market().max_inline_input())?;
	let bytes = input.to_bytes();
	let inline = bytes.len() <= max_inline as usize;
	let task_input = if inline {
		TaskInput::Inline(BoundedVec(bytes))
	} else {
		TaskInput::Root(H256(files.put_input_bytes(&bytes)?))
	};
	let tx = api::transactions().market().submit_task(
		req.model,
		task_input,
		req.demand,
		req.valuation,
		req.redundancy,
		req.deadline,
	);
	let (events, block) = client.submit_at("Market.submit_task", &tx).await?;
	let id = events
		.iter()
		.find(|e| e.pallet == "Market" && e.name == "TaskSubmitted")
		.and_then(|e| field(e, "task"))
		.ok_or_else(|| anyhow!("no Market.TaskSubmitted event"))?;
	if !inline {
		publish_file(client, files, Reference::Task(id as u64), publish).await?;
	}
	Ok((id as u64, block))
}

/// How a watched task ended.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
	/// The final result root.
	pub result: [u8; 32],
	/// Paid to providers.
	pub paid: u128,
	/// Refunded to the requester.
	pub refunded: u128,
	/// The output tensor, if published (on chain, proven against `result`).
	pub output: Option<Output>,
}

/// An output tensor read from chain.
#[derive(Clone, Debug, PartialEq)]
pub struct Output {
	/// The int8 values.
	pub values: Vec<i8>,
	/// Its shape and quantization scale, if the model file is at hand.
	pub desc: Option<(Vec<u32>, f32)>,
}

impl Output {
	/// The index of the largest value (the class of a classifier).
	pub fn argmax(&self) -> Option<usize> {
		self.values
			.iter()
			.enumerate()
			.max_by_key(|&(i, v)| (*v, std::cmp::Reverse(i)))
			.map(|(i, _)| i)
	}

	/// The values times the scale (if known).
	pub fn dequantized(&self) -> Option<Vec<f32>> {
		let (_, scale) = self.desc.as_ref()?;
		Some(self.values.iter().map(|&v| f32::from(v) * scale).collect())
	}
}

/// How long `watch` waits for the output after the result is final.
const OUTPUT_WAIT: Duration = Duration::from_secs(30);

/// The output of `task` for `result`, if it is in `Submissions::Outputs`.
async fn read_output(client: &Client, task: u64, result: [u8; 32]) -> Result<Option<Vec<u8>>> {
	let o = client
		.fetch(api::storage().submissions().outputs(), (task,))
		.await?;
	Ok(o.filter(|o| o.result.0 == result).map(|o| o.bytes.0))
}

/// The output tensor's description (shape, scale) of `task`'s model, if the task is
/// still on chain and its model file is in `files` or can be fetched.
async fn output_desc(client: &Client, files: &Files, task: u64) -> Option<(Vec<u32>, f32)> {
	let info = client
		.fetch(api::storage().market().tasks(), (task,))
		.await
		.ok()??;
	let file = crate::distribution::FileId::Model(info.commitment.0);
	let until = std::time::Instant::now() + files.limits().patience;
	if let Err(e) =
		crate::distribution::fetch_file(client, files, file, &[info.requester], until, Show::Bar)
			.await
	{
		tracing::warn!("the output's shape is not known: {e:#}");
	}
	let model = files.model(&info.commitment.0).ok()?;
	let out = &model.model.graph.nodes.last()?.output;
	Some((out.shape.clone(), f32::from_bits(out.scale)))
}

/// Follow `task` in finalized blocks until its result is final and its output
/// published (or [`OUTPUT_WAIT`] passed); a progress line per event (or a JSON line
/// each with `json`). The output's length is checked against the model's output shape
/// when the model file is in `files`.
/// Follow `task` block by block (from block `from` if given, else from the next
/// finalized block), printing its events, until it is settled.
pub async fn watch(
	client: &Client,
	files: &Files,
	task: u64,
	from: Option<u64>,
	json: bool,
	timeout: Duration,
) -> Result<Outcome> {
	let desc = output_desc(client, files, task).await;
	let bar = if json || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
		ProgressBar::hidden()
	} else {
		let b = ProgressBar::new_spinner();
		b.set_style(ProgressStyle::with_template("{spinner} [{elapsed}] {msg}").expect("template"));
		b.enable_steady_tick(Duration::from_millis(120));
		b.set_message(format!("task {task}: waiting for an auction round"));
		b
	};
	let mut follower = crate::chain::Follower::start(client, from).await?;
	let deadline = tokio::time::Instant::now() + timeout;
	let mut result = None;
	let mut settled = None;
	loop {
		let (number, events) = tokio::time::timeout_at(deadline, follower.next(client))
			.await
			.map_err(|_| anyhow!("task {task}: no final result within {timeout:?}"))??;
		// the task's events, and the providers' slashes and bans of accounts they name
		let mut involved: Vec<[u8; 32]> = Vec::new();
		let mut block_events = Vec::new();
		for ev in events.iter() {
			let ev = ev?;
			let fields = ev.decode_fields_unchecked_as::<subxt::dynamic::Value>()?;
			if fields.at("task").and_then(|v| v.as_u128()) == Some(u128::from(task)) {
				accounts(&fields, &mut involved);
			}
			block_events.push((ev, fields));
		}
		for (ev, fields) in block_events {
			let (pallet, name) = (ev.pallet_name().to_string(), ev.event_name().to_string());
			let ours = fields.at("task").and_then(|v| v.as_u128()) == Some(u128::from(task));
			let consequence = pallet == "Providers"
				&& fields.at("who").is_some_and(|w| {
					let mut a = Vec::new();
					accounts(w, &mut a);
					a.first().is_some_and(|a| involved.contains(a))
				});
			if !ours && !consequence {
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
				let line = format!("block {:>6}  {pallet}.{name} {}", number, brief(&fields));
				// a hidden bar (no terminal) drops its lines: print them plainly
				if bar.is_hidden() {
					println!("{line}");
				} else {
					bar.println(line);
				}
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
		// settlement and the final result come in the same block; the output is
		// usually published while the result is pending
		if let Some((paid, refunded)) = settled {
			let result = result.ok_or_else(|| anyhow!("settled without a final result"))?;
			bar.set_message(format!("task {task}: final; reading the output"));
			let wait_until = tokio::time::Instant::now() + OUTPUT_WAIT;
			let bytes = loop {
				if let Some(b) = read_output(client, task, result).await? {
					break Some(b);
				}
				if tokio::time::Instant::now() >= wait_until {
					tracing::warn!(task, "no output published within {OUTPUT_WAIT:?}");
					break None;
				}
				tokio::time::sleep(Duration::from_millis(500)).await;
			};
			bar.finish_and_clear();
			let output = match bytes {
				None => None,
				Some(b) => {
					if let Some((shape, _)) = &desc {
						let n: u64 = shape.iter().map(|&d| u64::from(d)).product();
						if b.len() as u64 != n {
							return Err(anyhow!(
								"task {task}: the published output has {} bytes, the model's \
								 output shape {shape:?} has {n} elements",
								b.len()
							));
						}
					}
					Some(Output {
						values: b.into_iter().map(|x| x as i8).collect(),
						desc: desc.clone(),
					})
				}
			};
			return Ok(Outcome {
				result,
				paid,
				refunded,
				output,
			});
		}
	}
}

/// The file of registered model `model` (id): from `files`, else fetched from the
/// providers that hold it.
pub async fn model_file(client: &Client, files: &Files, model: u32) -> Result<opml_nn::Prepared> {
	let info = client
		.fetch(api::storage().market().models(), (model,))
		.await?
		.ok_or_else(|| anyhow!("no model {model} on chain"))?;
	crate::distribution::ensure(
		client,
		files,
		Reference::Model(model),
		std::time::Instant::now() + files.limits().patience,
		Show::Bar,
	)
	.await?;
	files.model(&info.commitment.0)
}

/// Quantize a float input for model `model` (id) with its input scale (the model file
/// from `files` or the network).
pub async fn quantize_input(
	client: &Client,
	files: &Files,
	model: u32,
	x: &[f32],
) -> Result<Vec<i8>> {
	let p = model_file(client, files, model).await?;
	let n = p.model.graph.input.elements().unwrap_or(0);
	if x.len() != n {
		return Err(anyhow!(
			"the input has {} values, model {model} takes {n}",
			x.len()
		));
	}
	Ok(opml_nn::onnx::quantize::quantize_input(&p.model, x))
}

/// Readable one-line form of an event's fields: 32-byte values (hashes, accounts) as
/// shortened hex, long byte strings by their length, enums by name.
pub fn brief<T>(v: &subxt::ext::scale_value::Value<T>) -> String {
	use subxt::ext::scale_value::{Composite, Primitive, ValueDef};
	fn bytes<T>(c: &Composite<T>) -> Option<Vec<u8>> {
		let vals: Vec<&subxt::ext::scale_value::Value<T>> = c.values().collect();
		if vals.is_empty() {
			return None;
		}
		vals.iter()
			.map(|v| match &v.value {
				ValueDef::Primitive(Primitive::U128(b)) if *b < 256 && vals.len() >= 16 => {
					Some(*b as u8)
				}
				_ => None,
			})
			.collect()
	}
	fn composite<T>(c: &Composite<T>) -> String {
		if let Some(b) = bytes(c) {
			return if b.len() == 32 {
				let h = hex::encode(&b);
				format!("0x{}…{}", &h[..8], &h[56..])
			} else {
				format!("<{} bytes>", b.len())
			};
		}
		match c {
			Composite::Named(fields) => {
				let f: Vec<String> = fields
					.iter()
					.map(|(n, v)| format!("{n}: {}", brief(v)))
					.collect();
				format!("{{ {} }}", f.join(", "))
			}
			Composite::Unnamed(vals) => {
				// newtypes (H256, AccountId32, BoundedVec) print as their content
				if vals.len() == 1 {
					return brief(&vals[0]);
				}
				let f: Vec<String> = vals.iter().map(brief).collect();
				format!("({})", f.join(", "))
			}
		}
	}
	match &v.value {
		ValueDef::Composite(c) => composite(c),
		ValueDef::Variant(var) => match &var.values {
			c if c.values().next().is_none() => var.name.clone(),
			Composite::Unnamed(vals) if vals.len() == 1 => {
				format!("{}({})", var.name, brief(&vals[0]))
			}
			c @ Composite::Unnamed(_) => format!("{}{}", var.name, composite(c)),
			c @ Composite::Named(_) => format!("{} {}", var.name, composite(c)),
		},
		ValueDef::Primitive(p) => p.to_string(),
		ValueDef::BitSequence(_) => "<bits>".into(),
	}
}

/// Every 32-byte value (account or hash) in `v`.
fn accounts<T>(v: &subxt::ext::scale_value::Value<T>, out: &mut Vec<[u8; 32]>) {
	use subxt::ext::scale_value::{Primitive, ValueDef};
	match &v.value {
		ValueDef::Composite(c) => {
			let vals: Vec<_> = c.values().collect();
			let b: Option<Vec<u8>> = vals
				.iter()
				.map(|x| match &x.value {
					ValueDef::Primitive(Primitive::U128(b)) if *b < 256 => Some(*b as u8),
					_ => None,
				})
				.collect();
			match b {
				Some(b) if b.len() == 32 => out.push(b.try_into().unwrap_or([0; 32])),
				_ => vals.into_iter().for_each(|x| accounts(x, out)),
			}
		}
		ValueDef::Variant(var) => var.values.values().for_each(|x| accounts(x, out)),
		_ => {}
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use subxt::ext::scale_value::{Composite, Value};

	#[test]
	fn brief_shortens_hashes_and_names_variants() {
		let h = Value::unnamed_composite((0..32u8).map(|b| Value::u128(b.into())));
		let ev = Value::named_composite([
			("task", Value::u128(3)),
			("who", Value::unnamed_composite([h.clone()])),
			("beneficiary", Value::unnamed_variant("Some", [h.clone()])),
			("none", Value::unnamed_variant("None", [])),
			(
				"data",
				Value::unnamed_composite((0..100u8).map(|b| Value::u128(b.into()))),
			),
			(
				"outcome",
				Value::variant("StepRefuted", Composite::Unnamed(vec![])),
			),
		]);
		assert_eq!(
			brief(&ev),
			"{ task: 3, who: 0x00010203…1c1d1e1f, beneficiary: Some(0x00010203…1c1d1e1f), \
			 none: None, data: <100 bytes>, outcome: StepRefuted }"
		);
		let mut acc = Vec::new();
		accounts(&ev, &mut acc);
		assert_eq!(acc.len(), 2);
	}

	#[test]
	fn argmax_and_dequantization() {
		let o = Output {
			values: vec![-3, 7, 7, 1],
			desc: Some((vec![1, 4], 0.5)),
		};
		assert_eq!(o.argmax(), Some(1));
		assert_eq!(o.dequantized(), Some(vec![-1.5, 3.5, 3.5, 0.5]));
	}
}
