//! The worker end to end on a real dev node: a provider daemon (`opml-worker
//! provider`) registers, the requester registers a model and submits a task with the
//! CLI and watches it; the provider computes, commits and reveals; the result becomes
//! final, equals an offline run of the model, its output tensor is read from chain,
//! and the provider is paid. Then disputes: a faulty provider loses to a verifier,
//! also when the verifier is killed and restarted in the middle of the game.

use opml_nn::{cpu::Cpu, encode_model, zoo, Prepared};
use opml_tests::{repo_path as repo, run_worker, tail, Node, Worker};
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

	// a real model (the digits MLP, ONNX) quantized with the calibration images, and
	// a real image of a handwritten 3, as the CLI will do it
	let onnx = repo("primitives/nn/fixtures/digits_mlp.onnx");
	let calibration = repo("examples/digits/calibration.f32");
	let image = repo("examples/digits/digit_3.f32");
	let f32s = |p: &std::path::Path| -> Vec<f32> {
		std::fs::read(p)
			.unwrap()
			.chunks_exact(4)
			.map(|c| f32::from_le_bytes(c.try_into().unwrap()))
			.collect()
	};
	let samples: Vec<Vec<f32>> = f32s(&calibration).chunks(64).map(|c| c.to_vec()).collect();
	let model = opml_nn::onnx::import(&onnx, &samples).unwrap();
	let input = opml_nn::onnx::quantize::quantize_input(&model, &f32s(&image));
	let offline = Prepared::new(model).unwrap().run(&Cpu, &input).unwrap();

	let mut bob = Worker::daemon(
		"bob",
		"provider",
		&url,
		"//Bob",
		dir.path(),
		&["--capacity", "0:100"],
	)
	.unwrap();
	bob.wait_for("provider running", Duration::from_secs(120))
		.unwrap();

	// an ONNX file without calibration samples is refused with a clear message
	let e = run_worker(&[
		"register-model",
		onnx.to_str().unwrap(),
		"--url",
		&url,
		"--files",
		files,
	])
	.unwrap_err();
	assert!(
		format!("{e:#}").contains("needs calibration samples"),
		"{e:#}"
	);
	let out = run_worker(&[
		"register-model",
		onnx.to_str().unwrap(),
		"--calibration",
		calibration.to_str().unwrap(),
		"--name",
		"digits-mlp",
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
		image.to_str().unwrap(),
		"--input-format",
		"f32",
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
	assert_eq!(last["result"], hex_of(&offline.result_root()), "{out}");
	assert_ne!(last["paid"], "0", "{out}");
	// the output tensor, read from chain, is the offline output; the image is a 3
	let values: Vec<i8> = serde_json::from_value(last["output"]["values"].clone()).unwrap();
	assert_eq!(values, offline.output(), "{out}");
	assert_eq!(last["output"]["shape"], serde_json::json!([1, 10]), "{out}");
	assert_eq!(last["output"]["argmax"], 3, "{out}");
	for step in [
		"Market.TaskAssigned",
		"Submissions.Committed",
		"Submissions.Revealed",
		"Submissions.ResultElected",
		"Submissions.OutputPublished",
	] {
		assert!(out.contains(step), "no {step} in:\n{out}");
	}
	bob.wait_for("output published", Duration::from_secs(10))
		.unwrap();
	node.check_alive().unwrap();
}

fn hex_of(b: &[u8; 32]) -> String {
	b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A provider with an injected fault is challenged by a verifier daemon, loses the
/// A dispute scene: a dev node at 0.3 s blocks; Bob (cheapest provider, fault
/// injected), Charlie (honest provider) and Dave (verifier, metrics on a port); a
/// registered MLP model and its input.
/// (Fields drop in order: the workers before the node.)
struct Dispute {
	bob: Worker,
	charlie: Worker,
	dave: Worker,
	dave_metrics: u16,
	input_path: std::path::PathBuf,
	want: [u8; 32],
	url: String,
	dir: tempfile::TempDir,
	node: Node,
}

impl Dispute {
	fn start(name: &str, seed: u64) -> Dispute {
		Self::start_with(name, seed, true)
	}

	/// The scene; Bob has a fault injected only if `faulty`.
	fn start_with(name: &str, seed: u64, faulty: bool) -> Dispute {
		let mut node = Node::start(name, &["--dev", "--tmp", "--dev-block-time", "300"]).unwrap();
		node.wait_finalized(1, Duration::from_secs(120)).unwrap();
		let url = node.ws_url();
		let dir = tempfile::tempdir().unwrap();
		let files = dir.path().join("files");
		let model = zoo::mlp(&[64, 32, 10], seed);
		let model_path = dir.path().join("mlp.opml");
		std::fs::write(&model_path, encode_model(&model)).unwrap();
		let input: Vec<i8> = zoo::Rng(seed + 1).i8s(64);
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
		let dave_metrics = opml_tests::free_port();
		let daemon = |name: &str, role: &str, suri: &str, extra: &[&str]| {
			Worker::daemon(name, role, &url, suri, dir.path(), extra).unwrap()
		};
		// Bob lies; Charlie is honest; Dave verifies. Seats are drawn by stake among the
		// providers whose unit cost fits (docs/security.md H2), so Charlie asks 10.5
		// UNIT: above the task's first unit price (10 UNIT), within the re-auctioned one
		// (10 % more): Bob wins the first round, Charlie redoes the task.
		let bob_args: &[&str] = if faulty {
			&["--unit-cost", "1000000000", "--inject-fault"]
		} else {
			&["--unit-cost", "1000000000"]
		};
		let mut bob = daemon("bob", "provider", "//Bob", bob_args);
		let mut charlie = daemon(
			"charlie",
			"provider",
			"//Charlie",
			&["--unit-cost", "10500000000000"],
		);
		let prometheus = format!("127.0.0.1:{dave_metrics}");
		let mut dave = daemon("dave", "verifier", "//Dave", &["--prometheus", &prometheus]);
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
			files.to_str().unwrap(),
		])
		.unwrap();
		Dispute {
			node,
			dir,
			url,
			bob,
			charlie,
			dave,
			dave_metrics,
			input_path,
			want,
		}
	}

	fn files(&self) -> String {
		self.dir.path().join("files").to_str().unwrap().to_string()
	}

	/// Run `opml-worker` with `args`; on failure, panic with every daemon's log.
	fn cli(&self, args: &[&str]) -> String {
		let files = self.files();
		let mut all = args.to_vec();
		all.extend(["--url", &self.url, "--files", &files]);
		match run_worker(&all) {
			Ok(o) => o,
			Err(e) => panic!(
				"{e:#}\n--- bob ---\n{}\n--- charlie ---\n{}\n--- dave ---\n{}\n--- node ---\n{}",
				self.bob.log(),
				self.charlie.log(),
				self.dave.log(),
				tail(&self.node.log(), 100)
			),
		}
	}

	fn submit_args(&self) -> Vec<String> {
		[
			"submit",
			"--model",
			"0",
			"--input",
			self.input_path.to_str().unwrap(),
			"--deadline",
			"20",
			"--valuation",
			"10000000000000",
			"--json",
		]
		.iter()
		.map(|s| s.to_string())
		.collect()
	}

	fn dave_metrics(&self) -> String {
		ureq::get(&format!("http://127.0.0.1:{}/metrics", self.dave_metrics))
			.call()
			.unwrap()
			.into_string()
			.unwrap()
	}
}

/// The value of the metric line starting with `series` (e.g.
/// `opml_worker_games_total{event="ended"}`).
fn metric(text: &str, series: &str) -> f64 {
	text.lines()
		.find_map(|l| l.strip_prefix(series).map(|v| v.trim().parse().unwrap()))
		.unwrap_or_else(|| panic!("no {series} in:\n{text}"))
}

/// A provider with an injected fault is challenged by a verifier daemon, loses the
/// game (played by both daemons through the chain down to the one-step proof), is
/// banned, and the task is redone by an honest provider: the requester gets the right
/// result.
#[test]
fn a_wrong_result_is_challenged_overturned_and_redone() {
	let mut d = Dispute::start("worker-dispute", 43);
	let mut args = d.submit_args();
	args.extend(["--watch", "--timeout", "240"].map(String::from));
	let out = d.cli(&args.iter().map(|s| s.as_str()).collect::<Vec<_>>());
	let last: serde_json::Value = serde_json::from_str(out.trim().lines().last().unwrap()).unwrap();
	assert_eq!(last["result"], hex_of(&d.want), "{out}");
	for step in [
		"Arbitration.GameOpened",
		"Arbitration.GameResolved",
		"Submissions.ResultOverturned",
		"Market.TaskReauctioned",
		// the faulty provider's punishment, shown with the task's events
		"Providers.Slashed",
		"Providers.Banned",
	] {
		assert!(out.contains(step), "no {step} in:\n{out}");
	}
	// the game was played to the one-step proof, not timed out
	assert!(out.contains("StepRefuted"), "{out}");
	d.dave
		.wait_for("game over", Duration::from_secs(10))
		.unwrap();
	d.bob.wait_for("playing", Duration::from_secs(1)).unwrap();
	d.charlie
		.wait_for("revealed", Duration::from_secs(10))
		.unwrap();
	// the verifier's metrics tell the story
	let m = d.dave_metrics();
	assert_eq!(
		metric(
			&m,
			"opml_worker_results_checked_total{verdict=\"challenged\"}"
		),
		1.0
	);
	assert_eq!(metric(&m, "opml_worker_games_total{event=\"ended\"}"), 1.0);
	assert_eq!(metric(&m, "opml_worker_games_open"), 0.0);
	assert_eq!(
		metric(&m, "opml_worker_moves_total{kind=\"one_step\"}"),
		1.0
	);
	d.node.check_alive().unwrap();
}

/// The verifier is killed (SIGKILL) in the middle of its game and restarted on the
/// same state directory: it resumes the game from its database and the chain's game
/// record, and still wins it.
#[test]
fn a_verifier_killed_in_the_middle_of_a_game_restarts_and_wins() {
	let mut d = Dispute::start("worker-restart", 44);
	let args = d.submit_args();
	let out = d.cli(&args.iter().map(|s| s.as_str()).collect::<Vec<_>>());
	let task: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
	let task = task["task"].to_string();

	// a few moves into the game (the challenger makes the even moves; the graph phase
	// takes four), kill the verifier
	d.dave
		.wait_for("moves=4", Duration::from_secs(180))
		.unwrap();
	d.dave.kill_and_restart().unwrap();
	d.dave
		.wait_for("resuming game", Duration::from_secs(60))
		.unwrap();

	let out = d.cli(&["watch", &task, "--json", "--timeout", "240"]);
	let last: serde_json::Value = serde_json::from_str(out.trim().lines().last().unwrap()).unwrap();
	assert_eq!(last["result"], hex_of(&d.want), "{out}");
	// won at the one-step proof (a timeout would say `Timeout`)
	assert!(out.contains("StepRefuted"), "{out}");
	assert!(out.contains("Submissions.ResultOverturned"), "{out}");
	d.dave
		.wait_for("game over", Duration::from_secs(10))
		.unwrap();
	// the restarted verifier made moves of its own, down to the one-step proof
	let after = d.dave.log_since_restart();
	assert!(after.contains("kind=\"one_step\""), "{after}");
	d.node.check_alive().unwrap();
}

/// Governance (sudo) sets the audit probability to 100 %; the next elected result is
/// audited (drawn at the round seed of a second task) by the other provider's daemon,
/// which recomputes it and confirms it.
#[test]
fn a_provider_daemon_carries_out_a_drawn_audit() {
	use subxt::{dynamic::Value, OnlineClient, PolkadotConfig};
	let mut d = Dispute::start_with("worker-audit", 45, false);
	// sudo(Arbitration.set_audit_probability(Some(100 %)))
	let rt = tokio::runtime::Runtime::new().unwrap();
	rt.block_on(async {
		let api = OnlineClient::<PolkadotConfig>::from_insecure_url(&d.url)
			.await
			.unwrap();
		let call = Value::unnamed_variant(
			"Arbitration",
			[Value::named_variant(
				"set_audit_probability",
				[(
					"probability",
					Value::unnamed_variant("Some", [Value::u128(1_000_000_000)]),
				)],
			)],
		);
		let tx = subxt::dynamic::tx("Sudo", "sudo", vec![call]);
		let signer = subxt_signer::sr25519::dev::alice();
		let at = api.at_current_block().await.unwrap();
		let events = at
			.transactions()
			.sign_and_submit_then_watch_default(&tx, &signer)
			.await
			.unwrap()
			.wait_for_finalized_success()
			.await
			.unwrap();
		assert!(events
			.iter()
			.any(|e| e.unwrap().event_name() == "AuditProbabilitySet"));
	});
	let mut args = d.submit_args();
	args.extend(["--watch", "--timeout", "240"].map(String::from));
	// audits are drawn from the next round seed after the election (docs/security.md
	// M2): once the result is elected, a second task starts a round
	let out = std::thread::scope(|s| {
		let watch = s.spawn(|| d.cli(&args.iter().map(|s| s.as_str()).collect::<Vec<_>>()));
		rt.block_on(async {
			let api = OnlineClient::<PolkadotConfig>::from_insecure_url(&d.url)
				.await
				.unwrap();
			let mut next = api.at_current_block().await.unwrap().block_number();
			let deadline = std::time::Instant::now() + Duration::from_secs(180);
			'wait: loop {
				assert!(std::time::Instant::now() < deadline, "no result elected");
				let head = api.at_current_block().await.unwrap().block_number();
				while next <= head {
					let events = api
						.at_block(next)
						.await
						.unwrap()
						.events()
						.fetch()
						.await
						.unwrap();
					next += 1;
					if events
						.iter()
						.any(|e| e.unwrap().event_name() == "ResultElected")
					{
						break 'wait;
					}
				}
				tokio::time::sleep(Duration::from_millis(300)).await;
			}
		});
		let second = d.submit_args();
		d.cli(&second.iter().map(|s| s.as_str()).collect::<Vec<_>>());
		watch.join().unwrap()
	});
	let last: serde_json::Value = serde_json::from_str(out.trim().lines().last().unwrap()).unwrap();
	assert_eq!(last["result"], hex_of(&d.want), "{out}");
	for step in ["Arbitration.AuditAssigned", "Arbitration.AuditConfirmed"] {
		assert!(out.contains(step), "no {step} in:\n{out}");
	}
	// Bob (the cheapest) computed the task; Charlie, outside its majority, audited it
	d.charlie
		.wait_for("audit confirmed", Duration::from_secs(10))
		.unwrap();
	d.node.check_alive().unwrap();
}
