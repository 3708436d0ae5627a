//! Time from `register-model` to the first provider ready (docs/benchmarks.md,
//! "Distribution"), for models of about 1, 20 and 100 MB on a dev node with real
//! daemons that share nothing: the requester registers the model and uploads it to a
//! store daemon (`opml-worker serve`, Ferdie's); a provider (Bob) with its own empty
//! store sees the registration in a finalized block, fetches the file from Ferdie's
//! store, checks it against the on-chain commitment and logs `model ready`.
//!
//! ```sh
//! cargo test --workspace --no-run      # the debug node and worker the tests use
//! D=$CARGO_TARGET_DIR/debug OPML_NODE_BIN=$D/opml-node OPML_WORKER_BIN=$D/opml-worker \
//!     cargo bench -p opml-tests --bench distribution
//! ```
//!
//! `OPML_BENCH_SIZES` (default `1,20,100`) picks the sizes in MB.

use opml_nn::{encode_model, zoo};
use opml_tests::{free_port, Node, Worker};
use std::time::{Duration, Instant};

/// An MLP of about `mb` MB of int8 weights: square layers of a width that fits.
fn model_of(mb: u64, seed: u64) -> opml_nn::Model {
	let bytes = mb << 20;
	// at most 16 MiB a tensor: widths up to 4000
	let (w, k) = if bytes <= 4 << 20 {
		(((bytes as f64).sqrt() as u32).max(64), 1)
	} else {
		let w = 4000u32.min(((bytes / 4) as f64).sqrt() as u32);
		(
			w,
			((bytes as f64 / (w as f64 * w as f64)).round() as usize).max(1),
		)
	};
	let mut sizes = vec![w; k + 1];
	sizes.push(10);
	zoo::mlp(&sizes, seed)
}

fn main() {
	let sizes: Vec<u64> = std::env::var("OPML_BENCH_SIZES")
		.unwrap_or_else(|_| "1,20,100".into())
		.split(',')
		.map(|s| s.trim().parse().expect("sizes in MB"))
		.collect();
	let mut node =
		Node::start("bench-dist", &["--dev", "--tmp", "--dev-block-time", "500"]).expect("node");
	node.wait_finalized(1, Duration::from_secs(120))
		.expect("blocks");
	let url = node.ws_url();
	let dir = tempfile::tempdir().expect("tempdir");
	let ferdie_url = format!("127.0.0.1:{}", free_port());
	let ferdie_files = dir.path().join("ferdie-files");
	let mut ferdie = Worker::start(
		"ferdie",
		&[
			"serve",
			"--url",
			&url,
			"--suri",
			"//Ferdie",
			"--files",
			ferdie_files.to_str().unwrap(),
			"--serve-files",
			&ferdie_url,
		],
	)
	.expect("store");
	ferdie
		.wait_for("file store announced", Duration::from_secs(120))
		.expect("store announced");
	let capacity: Vec<String> = (0..sizes.len()).map(|i| format!("{i}:100")).collect();
	let mut args: Vec<&str> = Vec::new();
	for c in &capacity {
		args.extend(["--capacity", c]);
	}
	let mut bob =
		Worker::daemon("bob", "provider", &url, "//Bob", dir.path(), &args).expect("provider");
	bob.wait_for("provider running", Duration::from_secs(120))
		.expect("provider");
	let alice_files = dir.path().join("alice-files");
	println!(
		"| model | file | register + upload | register → provider ready | ready after the upload |"
	);
	println!("|---|---|---|---|---|");
	for (id, mb) in sizes.iter().enumerate() {
		let model = model_of(*mb, id as u64);
		let path = dir.path().join(format!("m{id}.opml"));
		let bytes = encode_model(&model);
		std::fs::write(&path, &bytes).expect("model file");
		let t0 = Instant::now();
		opml_tests::run_worker(&[
			"register-model",
			path.to_str().unwrap(),
			"--url",
			&url,
			"--files",
			alice_files.to_str().unwrap(),
			"--upload-to",
			&format!("http://{ferdie_url}"),
		])
		.expect("registered");
		let registered = t0.elapsed().as_secs_f64();
		bob.wait_for(&format!("model ready model={id}"), Duration::from_secs(900))
			.expect("provider ready");
		let ready = t0.elapsed().as_secs_f64();
		let mib = bytes.len() as f64 / (1 << 20) as f64;
		println!(
			"| {mb} MB MLP | {mib:.1} MiB | {registered:.1} s | {ready:.1} s | {:.1} s |",
			ready - registered
		);
	}
	node.check_alive().expect("node alive");
}
