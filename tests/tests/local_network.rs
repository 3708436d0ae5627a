//! `--chain local`: three validators (Alice, Bob, Charlie) on one machine connect,
//! produce blocks with Aura and finalize them with GRANDPA.

use opml_tests::{tail, Node};
use std::time::{Duration, Instant};

fn validator(name: &str, key: &str, boot: Option<&str>) -> Node {
	let mut args = vec![
		"--chain",
		"local",
		key,
		"--validator",
		"--tmp",
		// Ephemeral network keys: these validators live for one test.
		"--unsafe-force-node-key-generation",
	];
	if let Some(b) = boot {
		args.extend(["--bootnodes", b]);
	}
	Node::start(name, &args).unwrap()
}

#[test]
fn three_validators_finalize() {
	let alice = validator("alice", "--alice", None);
	let boot = alice.multiaddr(Duration::from_secs(300)).unwrap();
	let bob = validator("bob", "--bob", Some(&boot));
	let charlie = validator("charlie", "--charlie", Some(&boot));
	let mut nodes = [alice, bob, charlie];

	// Everyone connects to everyone.
	let start = Instant::now();
	loop {
		for n in nodes.iter_mut() {
			n.check_alive().unwrap();
		}
		let peers: Vec<u64> = nodes.iter().map(|n| n.peers().unwrap_or(0)).collect();
		if peers.iter().all(|p| *p >= 2) {
			break;
		}
		if start.elapsed() > Duration::from_secs(300) {
			let logs: Vec<String> = nodes.iter().map(|n| tail(&n.log(), 25)).collect();
			panic!(
				"peers {peers:?} after 300 s; logs:\n{}",
				logs.join("\n-----\n")
			);
		}
		std::thread::sleep(Duration::from_millis(500));
	}

	// GRANDPA needs all three of three votes; every node sees block #4 final.
	for n in nodes.iter_mut() {
		n.wait_finalized(4, Duration::from_secs(300)).unwrap();
	}
}
