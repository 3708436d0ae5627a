//! The market on a real dev node: a provider bonds and registers capacity, a requester
//! registers a model and submits a task with an escrowed valuation, and the next
//! auction round (every 5 blocks) assigns the task to the provider, all through signed
//! extrinsics seen in finalized blocks.

use opml_tests::Node;
use std::time::Duration;
use subxt::{dynamic::Value, OnlineClient, PolkadotConfig};
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

#[tokio::test(flavor = "multi_thread")]
async fn a_task_is_auctioned_to_a_registered_provider() {
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

	// Alice: model 0, then a task worth 5 UNIT (unit price 5 ≥ Bob's 1).
	let model = subxt::dynamic::tx(
		"Market",
		"register_model",
		vec![
			Value::from_bytes([1u8; 32]),
			Value::from_bytes([2u8; 32]),
			Value::u128(1),
			Value::from_bytes(b"digits-mlp"),
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
			Value::u128(100),
		],
	);
	let ev = submit(&api, &task, &dev::alice()).await;
	assert!(
		ev.iter().any(|e| e.0 == "Market" && e.1 == "TaskSubmitted"),
		"{ev:?}"
	);
	let from = api.at_current_block().await.unwrap().block_number();

	// The next round (within 5 blocks) assigns it to Bob at the midpoint price 3 UNIT.
	let mut seen = None;
	let deadline = std::time::Instant::now() + Duration::from_secs(60);
	let mut next = from;
	while seen.is_none() && std::time::Instant::now() < deadline {
		let cur = api.at_current_block().await.unwrap().block_number();
		while next <= cur && seen.is_none() {
			let at = api.at_block(next).await.unwrap();
			for e in at.events().fetch().await.unwrap().iter() {
				let e = e.unwrap();
				if e.pallet_name() == "Market" && e.event_name() == "TaskAssigned" {
					seen = Some(e.decode_fields_unchecked_as::<Value>().unwrap().to_string());
				}
			}
			next += 1;
		}
		tokio::time::sleep(Duration::from_millis(300)).await;
	}
	let assigned = seen.expect("no Market.TaskAssigned within 60 s");
	assert!(
		assigned.contains(&(3 * UNIT).to_string()),
		"price/payment not 3 UNIT: {assigned}"
	);
	node.check_alive().unwrap();
}
