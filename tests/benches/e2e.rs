//! End-to-end figures on a real dev node at 1 s blocks with real worker daemons
//! (docs/benchmarks.md):
//!
//! - task latency as the requester sees it (`opml-worker submit --watch --json`, each
//!   event timed when its line arrives): submit → assigned → elected (the optimistic
//!   result) → output on chain → final (after the challenge window);
//! - a full dispute on an MNIST-size model (LeNet-5, 1×1×28×28): a provider with an
//!   injected fault wins the task, the verifier challenges, both daemons play to the
//!   one-step proof. Wall time from `GameOpened` to `GameResolved`, blocks, rounds and
//!   moves (from the verifier's and the defender's Prometheus metrics).
//!
//! ```sh
//! cargo test --workspace --no-run      # the debug node and worker the tests use
//! D=$CARGO_TARGET_DIR/debug OPML_NODE_BIN=$D/opml-node OPML_WORKER_BIN=$D/opml-worker \
//!     cargo bench -p opml-tests --bench e2e
//! ```
//!
//! (The debug build optimizes the VM, Merkle and DNN crates at opt-level 3, which is
//! where a daemon's time goes; without the variables the release binaries are used.)
//!
//! `OPML_BENCH_BLOCK_MS` changes the block time (default 1000), `OPML_BENCH_TASKS` the
//! number of honest tasks (default 2), `OPML_BENCH_FAULT_NODE` the node whose output
//! the faulty provider corrupts (default 3: LeNet-5's second convolution, the node
//! with the most VM steps, 3.1 M, so the longest VM dissection). Target: dispute ≤ 30 s wall with ≤ 12 rounds
//! (OPML: < 2 min).

use opml_nn::{encode_model, zoo};
use opml_tests::{free_port, Node, Worker};
use std::{
	io::{BufRead, BufReader},
	process::{Command, Stdio},
	time::{Duration, Instant},
};

/// One event line: seconds since the submission, event name, block, fields.
type Timed = (f64, String, u64, String);

/// One `submit --watch --json` run: the timed events and the final JSON line.
fn submit_and_watch(args: &[String]) -> (Vec<Timed>, serde_json::Value) {
	let start = Instant::now();
	let mut child = Command::new(opml_tests::worker_binary())
		.args(args)
		.stdout(Stdio::piped())
		.stderr(Stdio::inherit())
		.spawn()
		.expect("opml-worker runs");
	let out = child.stdout.take().expect("piped");
	let mut events = Vec::new();
	let mut last = serde_json::Value::Null;
	for line in BufReader::new(out).lines() {
		let line = line.expect("utf-8 output");
		let t = start.elapsed().as_secs_f64();
		let v: serde_json::Value = match serde_json::from_str(&line) {
			Ok(v) => v,
			Err(_) => continue,
		};
		if let Some(e) = v["event"].as_str() {
			events.push((
				t,
				e.to_string(),
				v["block"].as_u64().unwrap_or(0),
				v["fields"].as_str().unwrap_or("").to_string(),
			));
		} else {
			last = v;
		}
	}
	assert!(child.wait().expect("exit").success(), "submit failed");
	(events, last)
}

fn first(events: &[(f64, String, u64)], name: &str) -> (f64, u64) {
	events
		.iter()
		.find(|(_, e, _)| e == name)
		.map(|(t, _, b)| (*t, *b))
		.unwrap_or_else(|| panic!("no {name} in {events:?}"))
}

fn metric(port: u16, series: &str) -> f64 {
	let text = ureq::get(&format!("http://127.0.0.1:{port}/metrics"))
		.call()
		.expect("metrics")
		.into_string()
		.expect("text");
	text.lines()
		.find_map(|l| {
			l.strip_prefix(series)
				.map(|v| v.trim().parse().unwrap_or(0.0))
		})
		.unwrap_or(0.0)
}

fn median(mut v: Vec<f64>) -> f64 {
	v.sort_by(|a, b| a.total_cmp(b));
	v[v.len() / 2]
}

fn main() {
	let block_ms: u64 = std::env::var("OPML_BENCH_BLOCK_MS")
		.ok()
		.and_then(|v| v.parse().ok())
		.unwrap_or(1000);
	let tasks: usize = std::env::var("OPML_BENCH_TASKS")
		.ok()
		.and_then(|v| v.parse().ok())
		.unwrap_or(2);
	let fault_node = std::env::var("OPML_BENCH_FAULT_NODE").unwrap_or_else(|_| "3".into());
	let mut node = Node::start(
		"bench-e2e",
		&["--dev", "--tmp", "--dev-block-time", &block_ms.to_string()],
	)
	.expect("node starts");
	node.wait_finalized(1, Duration::from_secs(120))
		.expect("blocks");
	let url = node.ws_url();
	let dir = tempfile::tempdir().expect("tempdir");
	let files = dir.path().join("files").to_str().unwrap().to_string();
	let model = zoo::lenet5(11);
	let model_path = dir.path().join("lenet5.opml");
	std::fs::write(&model_path, encode_model(&model)).expect("model file");
	let input_path = dir.path().join("input.bin");
	let input: Vec<u8> = zoo::Rng(12).i8s(784).into_iter().map(|b| b as u8).collect();
	std::fs::write(&input_path, input).expect("input file");

	let (dave_m, bob_m) = (free_port(), free_port());
	// each daemon has its own file store, served and announced on chain
	let daemon = |name: &str, role: &str, suri: &str, extra: &[String]| {
		let own = dir.path().join(format!("{name}-files"));
		let serve = format!("127.0.0.1:{}", free_port());
		let mut args: Vec<String> = [
			role,
			"--url",
			&url,
			"--suri",
			suri,
			"--files",
			own.to_str().unwrap(),
			"--serve-files",
			&serve,
			"--state",
			dir.path().join(name).to_str().unwrap(),
			"--backend",
			"cpu",
		]
		.iter()
		.map(|s| s.to_string())
		.collect();
		args.extend(extra.iter().cloned());
		let refs: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
		Worker::start(name, &refs).expect("worker starts")
	};
	let mut charlie = daemon(
		"charlie",
		"provider",
		"//Charlie",
		&["--unit-cost".into(), "2000000000000".into()],
	);
	let mut dave = daemon(
		"dave",
		"verifier",
		"//Dave",
		&["--prometheus".into(), format!("127.0.0.1:{dave_m}")],
	);
	charlie
		.wait_for("provider running", Duration::from_secs(120))
		.expect("charlie");
	dave.wait_for("verifier running", Duration::from_secs(120))
		.expect("dave");
	let out = opml_tests::run_worker(&[
		"register-model",
		model_path.to_str().unwrap(),
		"--url",
		&url,
		"--files",
		&files,
	])
	.expect("model registered");
	print!("{out}");
	let submit: Vec<String> = [
		"submit",
		"--model",
		"0",
		"--input",
		input_path.to_str().unwrap(),
		"--url",
		&url,
		"--files",
		&files,
		"--deadline",
		"5",
		"--watch",
		"--json",
		"--timeout",
		"900",
	]
	.iter()
	.map(|s| s.to_string())
	.collect();

	// honest tasks
	let mut phases: Vec<[f64; 4]> = Vec::new();
	for _ in 0..tasks {
		let (ev, last) = submit_and_watch(&submit);
		let ev: Vec<(f64, String, u64)> = ev.into_iter().map(|(t, e, b, _)| (t, e, b)).collect();
		assert!(last["output"]["values"].is_array(), "{last}");
		phases.push([
			first(&ev, "Market.TaskAssigned").0,
			first(&ev, "Submissions.ResultElected").0,
			first(&ev, "Submissions.OutputPublished").0,
			first(&ev, "Submissions.ResultFinal").0,
		]);
	}
	let col = |i: usize| median(phases.iter().map(|p| p[i]).collect());

	// the dispute
	let mut bob = daemon(
		"bob",
		"provider",
		"//Bob",
		&[
			"--unit-cost".into(),
			"1000000000".into(),
			"--inject-fault".into(),
			"--fault-node".into(),
			fault_node.clone(),
			"--prometheus".into(),
			format!("127.0.0.1:{bob_m}"),
		],
	);
	bob.wait_for("provider running", Duration::from_secs(120))
		.expect("bob");
	let (ev, last) = submit_and_watch(&submit);
	let ev_fields: Vec<(String, String)> = ev
		.iter()
		.map(|(_, e, _, f)| (e.clone(), f.clone()))
		.collect();
	let ev: Vec<(f64, String, u64)> = ev.into_iter().map(|(t, e, b, _)| (t, e, b)).collect();
	let (t_open, b_open) = first(&ev, "Arbitration.GameOpened");
	let (t_end, b_end) = first(&ev, "Arbitration.GameResolved");
	let (t_final, _) = ev
		.iter()
		.rev()
		.find(|(_, e, _)| e == "Submissions.ResultFinal")
		.map(|(t, _, b)| (*t, *b))
		.expect("final");
	let chooses = metric(dave_m, "opml_worker_moves_total{kind=\"choose\"}");
	let posts = metric(bob_m, "opml_worker_moves_total{kind=\"post_states\"}");
	let handoffs = metric(bob_m, "opml_worker_moves_total{kind=\"handoff\"}");
	let one_steps = metric(dave_m, "opml_worker_moves_total{kind=\"one_step\"}");
	let refuted = ev_fields
		.iter()
		.any(|(e, f)| e == "Arbitration.GameResolved" && f.contains("StepRefuted"));
	assert!(last["output"]["values"].is_array(), "{last}");

	println!();
	println!(
		"e2e at {block_ms} ms blocks, LeNet-5 28x28 ({} nodes), CPU backend, {tasks} honest task(s)",
		model.graph.nodes.len()
	);
	println!("| phase (median, from submit) | seconds |");
	println!("|---|---|");
	println!("| assigned | {:.1} |", col(0));
	println!("| elected (optimistic result) | {:.1} |", col(1));
	println!("| output on chain | {:.1} |", col(2));
	println!("| final (after the challenge window) | {:.1} |", col(3));
	println!();
	println!("| dispute (fault at node {fault_node}) | value |");
	println!("|---|---|");
	println!(
		"| GameOpened → GameResolved wall | {:.1} s |",
		t_end - t_open
	);
	println!("| blocks | {} |", b_end - b_open);
	println!("| rounds (dissection choices) | {chooses} |");
	println!(
		"| moves | {} (post_states {posts}, choose {chooses}, handoff {handoffs}, one_step {one_steps}) |",
		posts + chooses + handoffs + one_steps
	);
	println!(
		"| submit → correct result final (incl. re-run) | {:.1} s |",
		t_final
	);
	assert!(refuted);
	assert!(ev
		.iter()
		.any(|(_, e, _)| e == "Submissions.ResultOverturned"));
	node.check_alive().expect("node alive");
}
