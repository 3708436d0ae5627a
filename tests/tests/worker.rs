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

/// A provider with an injected fault is challenged by a verifier daemon, loses the
/// game (played by both daemons through the chain down to the one-step proof), is
/// banned, and the task is redone by an honest provider: the requester gets the right
/// result.
#[test]
fn a_wrong_result_is_challenged_overturned_and_redone() {
	let mut node = Node::start(
		"worker-dispute",
		&["--dev", "--tmp", "--dev-block-time", "300"],
	)
	.unwrap();
	node.wait_finalized(1, Duration::from_secs(120)).unwrap();
	let url = node.ws_url();
	let dir = tempfile::tempdir().unwrap();
	let files = dir.path().join("files");
	let files = files.to_str().unwrap();
	let model = zoo::mlp(&[64, 32, 10], 43);
	let model_path = dir.path().join("mlp.opml");
	std::fs::write(&model_path, encode_model(&model)).unwrap();
	let input: Vec<i8> = zoo::Rng(8).i8s(64);
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

	let daemon = |name: &str, role: &str, suri: &str, extra: &[&str]| {
		let state = dir.path().join(name);
		let mut args = vec![
			role.to_string(),
			"--url".into(),
			url.clone(),
			"--suri".into(),
			suri.into(),
			"--files".into(),
			files.into(),
			"--state".into(),
			state.to_str().unwrap().into(),
			"--backend".into(),
			"cpu".into(),
		];
		args.extend(extra.iter().map(|s| s.to_string()));
		let refs: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
		Worker::start(name, &refs).unwrap()
	};
	// Bob is cheaper (wins the first round) and lies; Charlie is honest; Dave verifies
	let mut bob = daemon(
		"bob",
		"provider",
		"//Bob",
		&["--unit-cost", "1000000000", "--inject-fault"],
	);
	let mut charlie = daemon(
		"charlie",
		"provider",
		"//Charlie",
		&["--unit-cost", "2000000000000"],
	);
	let mut dave = daemon("dave", "verifier", "//Dave", &[]);
	for w in [&mut bob, &mut charlie] {
		w.wait_for("provider running", Duration::from_secs(120))
			.unwrap();
	}
	dave.wait_for("verifier running", Duration::from_secs(120))
		.unwrap();

	run_worker(&[
		"register-model",
		model_path.to_str().unwrap(),
		"--url",
		&url,
		"--files",
		files,
	])
	.unwrap();
	let out = match run_worker(&[
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
		"--valuation",
		"10000000000000",
		"--watch",
		"--json",
		"--timeout",
		"240",
	]) {
		Ok(o) => o,
		Err(e) => panic!(
			"{e:#}\n--- bob ---\n{}\n--- charlie ---\n{}\n--- dave ---\n{}\n--- node ---\n{}",
			bob.log(),
			charlie.log(),
			dave.log(),
			node.log()
		),
	};
	let last: serde_json::Value = serde_json::from_str(out.trim().lines().last().unwrap()).unwrap();
	assert_eq!(last["result"], hex_of(&want), "{out}");
	for step in [
		"Arbitration.GameOpened",
		"Arbitration.GameResolved",
		"Submissions.ResultOverturned",
		"Market.TaskReauctioned",
	] {
		assert!(out.contains(step), "no {step} in:\n{out}");
	}
	// the game was played to the one-step proof, not timed out
	assert!(out.contains("StepRefuted"), "{out}");
	dave.wait_for("game over", Duration::from_secs(10)).unwrap();
	bob.wait_for("defending", Duration::from_secs(1)).unwrap();
	charlie
		.wait_for("revealed", Duration::from_secs(10))
		.unwrap();
	node.check_alive().unwrap();
}
