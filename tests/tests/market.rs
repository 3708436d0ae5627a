//! The market and submissions on a real dev node: a provider bonds and registers
//! capacity and commits to a round seed, a requester registers a model and submits a
//! task with an escrowed valuation, the next auction round waits for the provider's
//! seed reveal and assigns the task to it, which commits and then reveals its result; the result is elected, becomes final
//! after the challenge window and the task is settled — all through signed extrinsics
//! seen in finalized blocks.

use opml_primitives_core::{commitment::result_commitment, seed};
use opml_tests::Node;
use std::time::{Duration, Instant};
use subxt::{dynamic::Value, ext::scale_value::At, OnlineClient, PolkadotConfig};
use subxt_signer::sr25519::{dev, Keypair};

const UNIT: u128 = 1_000_000_000_000;

async fn submit(
	api: &OnlineClient<PolkadotConfig>,
	tx: &subxt::tx::DynamicPayload<Vec<Value>>,
	signer: &Keypair,
) -> Vec<(String, String, String)> {
	tokio::time::timeout(Duration::from_secs(120), async {
		let at = api.at_current_block().await?;
		let progress = at
			.transactions()
			.sign_and_submit_then_watch_default(tx, signer)
			.await?;
		let events = progress.wait_for_finalized_success().await?;
		Ok::<_, subxt::Error>(
			events
				.iter()
				.map(|e| {
					let e = e.unwrap();
					let f = e.decode_fields_unchecked_as::<Value>().unwrap().to_string();
					(e.pallet_name().to_string(), e.event_name().to_string(), f)
				})
				.collect(),
		)
	})
	.await
	.expect("extrinsic not finalized within 120 s")
	.expect("extrinsic failed")
}

/// The first `pallet.name` event in the blocks from `next` on, waiting up to `secs`
/// seconds; `next` moves past the block it was found in.
async fn wait_event(
	api: &OnlineClient<PolkadotConfig>,
	next: &mut u64,
	pallet: &str,
	name: &str,
	secs: u64,
) -> Value {
	let deadline = Instant::now() + Duration::from_secs(secs);
	while Instant::now() < deadline {
		let cur = api.at_current_block().await.unwrap().block_number();
		while *next <= cur {
			let at = api.at_block(*next).await.unwrap();
			*next += 1;
			for e in at.events().fetch().await.unwrap().iter() {
				let e = e.unwrap();
				if e.pallet_name() == pallet && e.event_name() == name {
					*next -= 1; // later events of the same block stay visible
					return e.decode_fields_unchecked_as::<Value>().unwrap();
				}
			}
		}
		tokio::time::sleep(Duration::from_millis(200)).await;
	}
	panic!("no {pallet}.{name} within {secs} s");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_task_is_auctioned_committed_revealed_and_settled() {
	let mut node = Node::start("market", &["--dev", "--tmp", "--dev-block-time", "300"]).unwrap();
	node.wait_finalized(2, Duration::from_secs(300)).unwrap();
	let api = OnlineClient::<PolkadotConfig>::from_insecure_url(node.ws_url())
		.await
		.unwrap();

	// Bob: provider with 10 units of model 0 at 1 UNIT per unit.
	let capacity = Value::unnamed_composite([Value::named_composite([
		("task_type", Value::u128(0)),
		("units", Value::u128(10)),
	])]);
	let register = subxt::dynamic::tx(
		"Providers",
		"register",
		vec![
			Value::u128(100 * UNIT),
			capacity,
			Value::u128(UNIT),
			Value::u128(10),
		],
	);
	let ev = submit(&api, &register, &dev::bob()).await;
	assert!(
		ev.iter().any(|e| e.0 == "Providers" && e.1 == "Registered"),
		"{ev:?}"
	);
	// Bob commits to a round-seed secret: rounds take only committed providers' asks
	// (docs/security.md H2)
	let secret = |i: u32| seed::derive_secret(b"bob's seed key", i);
	let commit_seed = subxt::dynamic::tx(
		"Market",
		"commit_seed",
		vec![
			Value::from_bytes(seed::commitment(&secret(0))),
			Value::u128(0),
		],
	);
	let ev = submit(&api, &commit_seed, &dev::bob()).await;
	assert!(
		ev.iter().any(|e| e.0 == "Market" && e.1 == "SeedCommitted"),
		"{ev:?}"
	);

	// Alice: model 0, then a task worth 5 UNIT (unit price 5 ≥ Bob's 1).
	let mlp = opml_nn::zoo::mlp(&[64, 32, 10], 1);
	let (graph, siblings) = opml_nn::registration::graph_registration(&mlp).unwrap();
	let model = subxt::dynamic::tx(
		"Market",
		"register_model",
		vec![
			Value::from_bytes(opml_nn::commit::model_commitment(&mlp).unwrap()),
			// models run only under the runtime's guest (docs/security.md M7)
			Value::from_bytes(opml_nn::layout::BUILTIN_GUEST_ROOT),
			Value::u128(1),
			Value::from_bytes(b"digits-mlp"),
			// the committed graph, checked on chain (docs/security.md M10)
			Value::from_bytes(graph),
			Value::unnamed_composite(siblings.into_iter().map(Value::from_bytes)),
		],
	);
	let ev = submit(&api, &model, &dev::alice()).await;
	assert!(
		ev.iter()
			.any(|e| e.0 == "Market" && e.1 == "ModelRegistered"),
		"{ev:?}"
	);
	let task = subxt::dynamic::tx(
		"Market",
		"submit_task",
		vec![
			Value::u128(0),
			Value::unnamed_variant("Root", [Value::from_bytes([9u8; 32])]),
			Value::u128(1),
			Value::u128(5 * UNIT),
			Value::u128(1),
			Value::u128(10),
		],
	);
	let ev = submit(&api, &task, &dev::alice()).await;
	assert!(
		ev.iter().any(|e| e.0 == "Market" && e.1 == "TaskSubmitted"),
		"{ev:?}"
	);
	let mut next = api.at_current_block().await.unwrap().block_number();

	// The next round takes the task and Bob's ask; Bob reveals his secret (and
	// commits to the next), the round is seeded and assigns the task to Bob at the
	// midpoint price 3 UNIT.
	let started = wait_event(&api, &mut next, "Market", "RoundStarted", 60).await;
	let round = started.at("round").and_then(|x| x.as_u128()).unwrap();
	let reveal_seed = subxt::dynamic::tx(
		"Market",
		"reveal_seed",
		vec![
			Value::u128(round),
			Value::from_bytes(secret(0)),
			Value::from_bytes(seed::commitment(&secret(1))),
		],
	);
	let ev = submit(&api, &reveal_seed, &dev::bob()).await;
	assert!(
		ev.iter().any(|e| e.0 == "Market" && e.1 == "SeedRevealed"),
		"{ev:?}"
	);
	let seeded = wait_event(&api, &mut next, "Market", "RoundSeeded", 60).await;
	assert_eq!(
		seeded.at("providers").and_then(|x| x.as_u128()),
		Some(1),
		"{seeded}"
	);
	let assigned = wait_event(&api, &mut next, "Market", "TaskAssigned", 60).await;
	assert!(
		assigned.to_string().contains(&(3 * UNIT).to_string()),
		"price/payment not 3 UNIT: {assigned}"
	);
	let field = |v: &Value, f: &str| v.at(f).and_then(|x| x.as_u128()).unwrap() as u64;
	let (task, due) = (field(&assigned, "task"), field(&assigned, "due"));

	// Bob commits to its result (the worker's commitment function), then reveals it
	// once the commit window has closed at `due`.
	let (result, salt) = ([0x5au8; 32], [0x33u8; 32]);
	let bob = dev::bob().public_key().0;
	let commitment = result_commitment(task, &bob, &result, &salt);
	let commit = subxt::dynamic::tx(
		"Submissions",
		"commit",
		vec![Value::u128(task.into()), Value::from_bytes(commitment)],
	);
	let ev = submit(&api, &commit, &dev::bob()).await;
	assert!(
		ev.iter()
			.any(|e| e.0 == "Submissions" && e.1 == "Committed"),
		"{ev:?}"
	);
	let deadline = Instant::now() + Duration::from_secs(60);
	while api.at_current_block().await.unwrap().block_number() < due {
		assert!(Instant::now() < deadline, "block {due} not reached");
		tokio::time::sleep(Duration::from_millis(200)).await;
	}
	let reveal = subxt::dynamic::tx(
		"Submissions",
		"reveal",
		vec![
			Value::u128(task.into()),
			Value::from_bytes(result),
			Value::from_bytes(salt),
		],
	);
	let ev = submit(&api, &reveal, &dev::bob()).await;
	assert!(
		ev.iter().any(|e| e.0 == "Submissions" && e.1 == "Revealed"),
		"{ev:?}"
	);

	// Tally after the 15-block reveal window, final after the 60-block challenge window.
	let elected = wait_event(&api, &mut next, "Submissions", "ResultElected", 60).await;
	assert_eq!(field(&elected, "votes"), 1, "{elected}");
	let fin = wait_event(&api, &mut next, "Submissions", "ResultFinal", 90).await;
	assert!(fin.to_string().contains(&format!("{}", result[0])), "{fin}");
	let settled = wait_event(&api, &mut next, "Market", "TaskSettled", 10).await;
	assert_eq!(
		settled.at("paid").and_then(|x| x.as_u128()),
		Some(3 * UNIT),
		"{settled}"
	);
	node.check_alive().unwrap();
}
