//! `opml-node --dev`: blocks are sealed at the configured interval and finalized at
//! once; a signed balances transfer lands in a finalized block with its event.

use opml_tests::Node;
use std::time::Duration;
use subxt::{dynamic::Value, OnlineClient, PolkadotConfig};
use subxt_signer::sr25519::dev;

#[tokio::test(flavor = "multi_thread")]
async fn dev_chain_finalizes_at_interval_and_includes_a_transfer() {
	let mut node = Node::start("dev", &["--dev", "--tmp", "--dev-block-time", "500"]).unwrap();
	// First start of a debug node compiles the runtime: allow time.
	let t0 = node.wait_finalized(2, Duration::from_secs(300)).unwrap();
	let t1 = node.wait_finalized(12, Duration::from_secs(60)).unwrap();
	let per_block = (t1 - t0).as_secs_f64() / 10.0;
	assert!(
		(0.25..=1.5).contains(&per_block),
		"expected ~0.5 s per finalized block, measured {per_block:.3} s"
	);

	// Prometheus is served.
	let metrics = node.metrics().unwrap();
	assert!(
		metrics.contains("substrate_block_height"),
		"no block-height metric"
	);

	// A signed transfer from Alice to Bob, watched to finality.
	let api = OnlineClient::<PolkadotConfig>::from_insecure_url(node.ws_url())
		.await
		.unwrap();
	let bob = dev::bob().public_key();
	let amount: u128 = 1_234_567_890;
	let tx = subxt::dynamic::tx(
		"Balances",
		"transfer_keep_alive",
		(
			Value::unnamed_variant("Id", [Value::from_bytes(bob.0)]),
			Value::u128(amount),
		),
	);
	let events = tokio::time::timeout(Duration::from_secs(120), async {
		let at = api.at_current_block().await?;
		let progress = at
			.transactions()
			.sign_and_submit_then_watch_default(&tx, &dev::alice())
			.await?;
		let events = progress.wait_for_finalized_success().await?;
		Ok::<_, subxt::Error>(events)
	})
	.await
	.expect("transfer not finalized within 120 s")
	.expect("transfer failed");

	let mut found = false;
	for ev in events.iter() {
		let ev = ev.unwrap();
		if ev.pallet_name() == "Balances" && ev.event_name() == "Transfer" {
			let fields = ev
				.decode_fields_unchecked_as::<Value>()
				.unwrap()
				.to_string();
			assert!(
				fields.contains(&amount.to_string()),
				"Transfer event {fields} lacks the amount"
			);
			found = true;
		}
	}
	assert!(found, "no Balances.Transfer event in the finalized block");
	drop(node);
}
