//! Command-line behaviour: chain selection, chain-spec files, bad input.

use opml_tests::{run_node, Node};
use std::time::Duration;

#[test]
fn unknown_chain_is_a_clear_error() {
	let (code, _out, err) = run_node(&["--chain", "no-such-chain", "--tmp"]).unwrap();
	assert_ne!(code, 0);
	assert!(
		err.contains("unknown chain `no-such-chain`"),
		"stderr: {err}"
	);
	assert!(!err.contains("panicked"), "stderr: {err}");
}

#[test]
fn malformed_chain_spec_file_is_a_clear_error() {
	let dir = tempfile::tempdir().unwrap();
	let path = dir.path().join("broken.json");
	std::fs::write(&path, "{ \"name\": \"x\", not json").unwrap();
	let (code, _out, err) = run_node(&["--chain", path.to_str().unwrap(), "--tmp"]).unwrap();
	assert_ne!(code, 0);
	assert!(err.contains("invalid chain-spec file"), "stderr: {err}");
	assert!(!err.contains("panicked"), "stderr: {err}");
}

#[test]
fn build_spec_emits_json_and_the_node_runs_from_a_spec_file() {
	let (code, out, err) = run_node(&["build-spec", "--chain", "dev", "--raw"]).unwrap();
	assert_eq!(code, 0, "stderr: {err}");
	let spec: serde_json::Value = serde_json::from_str(&out).expect("build-spec prints JSON");
	assert_eq!(spec["id"], "opml_dev");
	let dir = tempfile::tempdir().unwrap();
	let path = dir.path().join("dev-raw.json");
	std::fs::write(&path, out).unwrap();
	let mut node = Node::start(
		"from-file",
		&[
			"--chain",
			path.to_str().unwrap(),
			"--alice",
			"--tmp",
			"--unsafe-force-node-key-generation",
		],
	)
	.unwrap();
	node.wait_finalized(3, Duration::from_secs(300)).unwrap();
}
