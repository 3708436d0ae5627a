//! `--chain local`: three validators (Alice, Bob, Charlie) on one machine produce
//! blocks with Aura and finalize them with GRANDPA.

use opml_tests::Node;
use std::time::Duration;

#[test]
fn three_validators_finalize() {
	let alice = Node::start(
		"alice",
		&["--chain", "local", "--alice", "--tmp", "--validator"],
	)
	.unwrap();
	let boot = alice.multiaddr(Duration::from_secs(300)).unwrap();
	let bob = Node::start(
		"bob",
		&[
			"--chain",
			"local",
			"--bob",
			"--tmp",
			"--validator",
			"--bootnodes",
			&boot,
		],
	)
	.unwrap();
	let charlie = Node::start(
		"charlie",
		&[
			"--chain",
			"local",
			"--charlie",
			"--tmp",
			"--validator",
			"--bootnodes",
			&boot,
		],
	)
	.unwrap();
	let mut nodes = [alice, bob, charlie];
	// GRANDPA needs all three of three votes; each node must see block #4 final.
	for n in nodes.iter_mut() {
		n.wait_finalized(4, Duration::from_secs(400)).unwrap();
	}
	let peers = nodes[0]
		.rpc("system_health", serde_json::json!([]))
		.unwrap();
	assert!(
		peers["peers"].as_u64().unwrap_or(0) >= 2,
		"alice sees {peers}"
	);
}
