//! The worker end to end on a real dev node: a provider daemon (`opml-worker
//! provider`) registers, the requester registers a model and submits a task with the
//! CLI and watches it; the provider computes, commits and reveals; the result becomes
//! final, equals an offline run of the model, and the provider is paid.

use opml_nn::{cpu::Cpu, encode_model, zoo, Prepared};
use opml_tests::{run_worker, Node, Worker};
use std::time::Duration;

#[test]
fn a_task_is_computed_by_a_provider_daemon_and_paid() {
	let mut node =
		Node::start("worker-e2e", &["--dev", "--tmp", "--dev-block-time", "300"]).unwrap();
	node.wait_finalized(1, Duration::from_secs(120)).unwrap();
	let url = node.ws_url();
	let dir = tempfile::tempdir().unwrap();
	let files = dir.path().join("files");
	let files = files.to_str().unwrap();
	let state = dir.path().join("bob");

	// the model and the input
	let model = zoo::mlp(&[64, 32, 10], 42);
	let model_path = dir.path().join("mlp.opml");
	std::fs::write(&model_path, encode_model(&model)).unwrap();
	let input: Vec<i8> = zoo::Rng(7).i8s(64);
	let input_path = dir.path().join("input.bin");
	std::fs::write(
		&input_path,
		input.iter().map(|&b| b as u8).collect::<Vec<u8>>(),
	)
	.unwrap();
	let want = Prepared::new(model)
		.unwrap()
		.run(&Cpu, &input)
		.unwrap()
		.result_root();

	let mut bob = Worker::start(
		"bob",
		&[
			"provider",
			"--url",
			&url,
			"--suri",
			"//Bob",
			"--files",
			files,
			"--state",
			state.to_str().unwrap(),
			"--backend",
			"cpu",
			"--capacity",
			"0:100",
		],
	)
	.unwrap();
	bob.wait_for("provider running", Duration::from_secs(120))
		.unwrap();

	let out = run_worker(&[
		"register-model",
		model_path.to_str().unwrap(),
		"--url",
		&url,
		"--files",
		files,
		"--json",
	])
	.unwrap();
	let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
	assert_eq!(v["model"], 0, "{out}");

	let out = run_worker(&[
		"submit",
		"--model",
		"0",
		"--input",
		input_path.to_str().unwrap(),
		"--url",
		&url,
		"--files",
		files,
		"--deadline",
		"20",
		"--watch",
		"--json",
	])
	.unwrap();
	let last: serde_json::Value = serde_json::from_str(out.trim().lines().last().unwrap()).unwrap();
	assert_eq!(last["result"], hex_of(&want), "{out}");
	assert_ne!(last["paid"], "0", "{out}");
	for step in [
		"Market.TaskAssigned",
		"Submissions.Committed",
		"Submissions.Revealed",
		"Submissions.ResultElected",
	] {
		assert!(out.contains(step), "no {step} in:\n{out}");
	}
	bob.wait_for("revealed", Duration::from_secs(10)).unwrap();
	node.check_alive().unwrap();
}

fn hex_of(b: &[u8; 32]) -> String {
	b.iter().map(|x| format!("{x:02x}")).collect()
}
