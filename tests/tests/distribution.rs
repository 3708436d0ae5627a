//! Files reach daemons that share nothing (docs/distribution.md): every daemon and
//! the requester keep their own store; providers serve theirs (`--serve-files`,
//! announced on chain) and fetch what they lack from the announced stores, checking
//! every byte against its on-chain root.
//!
//! - a 21 MB model is uploaded at registration, fetched by the provider, and its task
//!   is final with the offline result;
//! - a provider that starts after the model was registered fetches it and serves;
//! - a store serving corrupted bytes is passed over for another;
//! - a task whose input bytes were never published is declined, not penalized.

use opml_nn::{cpu::Cpu, encode_model, zoo, Model, Prepared};
use opml_tests::{run_worker, tail, Node, Worker};
use std::{
	io::{Read, Write},
	path::{Path, PathBuf},
	time::Duration,
};

struct Scene {
	node: Node,
	dir: tempfile::TempDir,
	url: String,
}

impl Scene {
	fn start(name: &str) -> Scene {
		let mut node = Node::start(name, &["--dev", "--tmp", "--dev-block-time", "300"]).unwrap();
		node.wait_finalized(1, Duration::from_secs(120)).unwrap();
		let url = node.ws_url();
		Scene {
			node,
			dir: tempfile::tempdir().unwrap(),
			url,
		}
	}

	/// A provider daemon with its own store.
	fn provider(&self, name: &str, suri: &str, extra: &[&str]) -> Worker {
		let mut args = vec!["--capacity", "0:100"];
		args.extend(extra);
		let mut w =
			Worker::daemon(name, "provider", &self.url, suri, self.dir.path(), &args).unwrap();
		w.wait_for("provider running", Duration::from_secs(120))
			.unwrap();
		w
	}

	/// A store daemon (`opml-worker serve`) signing as `suri`, its store in
	/// `name-files`; returns it and its URL.
	fn store_daemon(&self, name: &str, suri: &str) -> (Worker, String) {
		let files = self.dir.path().join(format!("{name}-files"));
		let addr = format!("127.0.0.1:{}", opml_tests::free_port());
		let w = Worker::start(
			name,
			&[
				"serve",
				"--url",
				&self.url,
				"--suri",
				suri,
				"--files",
				files.to_str().unwrap(),
				"--serve-files",
				&addr,
			],
		)
		.unwrap();
		(w, format!("http://{addr}"))
	}

	/// The requester's own store (Alice's).
	fn requester_files(&self) -> String {
		self.dir.path().join("alice-files").to_str().unwrap().into()
	}

	/// Run a requester command (as Alice, with her own store).
	fn cli(&self, args: &[&str], daemons: &[&Worker]) -> String {
		let files = self.requester_files();
		let mut all = args.to_vec();
		all.extend(["--url", &self.url, "--files", &files]);
		match run_worker(&all) {
			Ok(o) => o,
			Err(e) => {
				let logs: Vec<String> = daemons.iter().map(|d| d.log()).collect();
				panic!(
					"{e:#}\n--- daemons ---\n{}\n--- node ---\n{}",
					logs.join("\n---\n"),
					tail(&self.node.log(), 60)
				)
			}
		}
	}

	/// Submit a task of model 0 (`model`) with a random 64-byte input (`seed`) and
	/// watch it: its final result is the offline run's.
	fn task_is_final_and_correct(&self, model: Model, seed: u64, daemons: &[&Worker]) {
		let input: Vec<i8> = zoo::Rng(seed).i8s(64);
		let input_path = self.write(
			"input.bin",
			&input.iter().map(|&b| b as u8).collect::<Vec<u8>>(),
		);
		let want = Prepared::new(model).unwrap().run(&Cpu, &input).unwrap();
		let path = input_path.to_str().unwrap();
		let out = self.cli(
			&[
				"submit",
				"--model",
				"0",
				"--input",
				path,
				"--deadline",
				"20",
				"--watch",
				"--json",
			],
			daemons,
		);
		assert_eq!(
			last_json(&out)["result"],
			hex_of(&want.result_root()),
			"{out}"
		);
	}

	fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
		let p = self.dir.path().join(name);
		std::fs::write(&p, bytes).unwrap();
		p
	}
}

/// An MLP of about 21 MB of weights: 4100 inputs, four hidden layers of 2048, 10
/// outputs (the heaviest node has 8.4 M multiply-accumulates).
fn big_model() -> Model {
	zoo::mlp(&[4100, 2048, 2048, 2048, 2048, 10], 21)
}

/// The URL a daemon announced its store at (from its log).
fn store_url(w: &Worker) -> String {
	let log = w.log();
	let i = log
		.find("file store announced url=\"")
		.expect("store announced")
		+ 26;
	log[i..].split('"').next().unwrap().to_string()
}

fn hex_of(b: &[u8; 32]) -> String {
	b.iter().map(|x| format!("{x:02x}")).collect()
}

fn last_json(out: &str) -> serde_json::Value {
	serde_json::from_str(out.trim().lines().last().unwrap()).unwrap()
}

/// Files of a store directory (no partial or temporary file among them).
fn store_files(dir: &Path) -> Vec<String> {
	let mut v: Vec<String> = std::fs::read_dir(dir)
		.map(|d| {
			d.filter_map(|e| e.ok())
				.map(|e| e.file_name().to_string_lossy().into_owned())
				.collect()
		})
		.unwrap_or_default();
	v.sort();
	v
}

#[test]
fn a_21_mb_model_task_is_final_and_correct_own_store() {
	let mut s = Scene::start("dist-big");
	let bob = s.provider("bob", "//Bob", &[]);
	// the requester uploads to a store daemon of its own (Ferdie's), so Bob fetches
	// both files from it
	let (mut ferdie, ferdie_url) = s.store_daemon("ferdie", "//Ferdie");
	ferdie
		.wait_for("file store announced", Duration::from_secs(120))
		.unwrap();
	let model = big_model();
	let bytes = encode_model(&model);
	assert!(bytes.len() >= 20 << 20, "{} bytes", bytes.len());
	let model_path = s.write("big.opml", &bytes);
	let input: Vec<i8> = zoo::Rng(5).i8s(4100);
	let input_path = s.write(
		"input.bin",
		&input.iter().map(|&b| b as u8).collect::<Vec<u8>>(),
	);
	let c = opml_nn::commit::model_commitment(&model).unwrap();
	let want = Prepared::new(model).unwrap().run(&Cpu, &input).unwrap();

	// the input (4100 bytes, beyond MaxInlineInput) travels by root and is uploaded
	// when submitted
	let out = s.cli(
		&[
			"register-model",
			model_path.to_str().unwrap(),
			"--json",
			"--upload-to",
			&ferdie_url,
		],
		&[&bob, &ferdie],
	);
	assert_eq!(last_json(&out)["model"], 0, "{out}");
	let out = s.cli(
		&[
			"submit",
			"--model",
			"0",
			"--input",
			input_path.to_str().unwrap(),
			"--deadline",
			"40",
			"--watch",
			"--json",
			"--timeout",
			"300",
			"--upload-to",
			&ferdie_url,
		],
		&[&bob, &ferdie],
	);
	let last = last_json(&out);
	assert_eq!(last["result"], hex_of(&want.result_root()), "{out}");
	assert_ne!(last["paid"], "0", "{out}");
	let values: Vec<i8> = serde_json::from_value(last["output"]["values"].clone()).unwrap();
	assert_eq!(values, want.output(), "{out}");
	// Bob fetched both from Ferdie's store; his holds them whole (no temporary file)
	let log = bob.log();
	for f in [format!("model 0x{}", hex_of(&c)), "input 0x".into()] {
		assert!(
			log.lines()
				.any(|l| l.contains("fetched") && l.contains(&f) && l.contains(&ferdie_url)),
			"no fetch of {f} from {ferdie_url}:\n{log}"
		);
	}
	let held = store_files(&Worker::files_of("bob", s.dir.path()));
	let root = opml_nn::commit::tensor_root(&input.iter().map(|&b| b as u8).collect::<Vec<_>>()).0;
	assert!(held.contains(&format!("{}.opml", hex_of(&c))), "{held:?}");
	assert!(
		held.contains(&format!("{}.input", hex_of(&root))),
		"{held:?}"
	);
	assert!(!held.iter().any(|f| f.contains(".tmp")), "{held:?}");
	s.node.check_alive().unwrap();
}

#[test]
fn a_provider_started_after_the_registration_fetches_the_model_own_store() {
	let s = Scene::start("dist-late");
	// a store daemon (Ferdie's) is the only store when the model is registered
	let ferdie_files = s.dir.path().join("ferdie-files");
	let (mut ferdie, serve) = s.store_daemon("ferdie", "//Ferdie");
	ferdie
		.wait_for("file store announced", Duration::from_secs(120))
		.unwrap();
	let model = zoo::mlp(&[64, 32, 10], 3);
	let model_path = s.write("mlp.opml", &encode_model(&model));
	s.cli(
		&["register-model", model_path.to_str().unwrap()],
		&[&ferdie],
	);
	assert_eq!(store_files(&ferdie_files).len(), 1);

	// Bob starts now, with an empty store: he fetches the model before any task
	let mut bob = s.provider("bob", "//Bob", &[]);
	bob.wait_for("model ready", Duration::from_secs(60))
		.unwrap();
	assert!(
		bob.log().contains(&serve),
		"fetched from Ferdie:\n{}",
		bob.log()
	);
	s.task_is_final_and_correct(model, 4, &[&ferdie, &bob]);
}

/// An HTTP server that answers every GET with `body` and refuses every upload (a
/// store serving wrong bytes); returns its base URL.
fn corrupt_store(body: Vec<u8>) -> String {
	let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
	let url = format!("http://{}", listener.local_addr().unwrap());
	std::thread::spawn(move || {
		for conn in listener.incoming() {
			let Ok(mut c) = conn else { continue };
			let mut req = [0u8; 4096];
			let n = c.read(&mut req).unwrap_or(0);
			let resp: Vec<u8> = if req[..n].starts_with(b"GET") {
				let mut r = format!(
					"HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
					body.len()
				)
				.into_bytes();
				r.extend_from_slice(&body);
				r
			} else {
				b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec()
			};
			let _ = c.write_all(&resp);
		}
	});
	url
}

#[test]
fn a_store_serving_corrupted_bytes_is_passed_over_own_store() {
	let s = Scene::start("dist-corrupt");
	// the model: a real one's bytes with one weight changed are served by the store
	// of the model's owner (Alice), which is asked first
	let model = zoo::mlp(&[64, 32, 10], 8);
	let bytes = encode_model(&model);
	let mut corrupted = bytes.clone();
	let at = corrupted.len() - 100;
	corrupted[at] ^= 0x55;
	let bad = corrupt_store(corrupted);
	run_worker(&["announce-store", &bad, "--url", &s.url, "--suri", "//Alice"]).unwrap();
	// Charlie's store gets the true file at registration; Bob has an empty store
	let charlie = s.provider("charlie", "//Charlie", &["--unit-cost", "50000000000000"]);
	let model_path = s.write("mlp.opml", &bytes);
	s.cli(
		&[
			"register-model",
			model_path.to_str().unwrap(),
			"--replicas",
			"1",
		],
		&[&charlie],
	);
	let mut bob = s.provider("bob", "//Bob", &[]);
	bob.wait_for("model ready", Duration::from_secs(60))
		.unwrap();
	let log = bob.log();
	assert!(log.contains(&format!("{bad} served")), "{log}");
	s.task_is_final_and_correct(model, 9, &[&charlie, &bob]);
	// Bob's store refuses uploads the chain does not back (a file no record names, no
	// record named), answers an upload of a file it holds from its own checked copy, and
	// 404 for what it lacks
	let store = store_url(&bob);
	let c = opml_nn::commit::model_commitment(&zoo::mlp(&[64, 32, 10], 8)).unwrap();
	let put = |name: &str, query: &str, body: &[u8]| -> u16 {
		match ureq::put(&format!("{store}/{name}{query}")).send_bytes(body) {
			Ok(r) => r.status(),
			Err(ureq::Error::Status(code, _)) => code,
			Err(e) => panic!("{e}"),
		}
	};
	let other = zoo::mlp(&[64, 10], 1);
	let other_bytes = encode_model(&other);
	let other_c = opml_nn::commit::model_commitment(&other).unwrap();
	assert_eq!(
		put(
			&format!("{}.opml", hex_of(&other_c)),
			"?model=0",
			&other_bytes
		),
		403
	);
	assert_eq!(
		put(&format!("{}.opml", hex_of(&other_c)), "", &other_bytes),
		400
	);
	// (Bob holds model 0 already: the upload is answered from his copy)
	assert_eq!(
		put(&format!("{}.opml", hex_of(&c)), "?model=0", b"junk"),
		200
	);
	assert_eq!(
		put(&format!("{}.input", hex_of(&[3; 32])), "?task=99", b"x"),
		403
	);
	// an upload announcing more than the store takes, or no length, is refused unread
	let raw = |head: &str| -> String {
		let addr = store.trim_start_matches("http://");
		let mut c = std::net::TcpStream::connect(addr).unwrap();
		let req = format!(
			"PUT /{}.opml?model=0 HTTP/1.1\r\nHost: {addr}\r\n{head}\r\n",
			hex_of(&other_c)
		);
		c.write_all(req.as_bytes()).unwrap();
		let mut buf = [0u8; 64];
		let n = c.read(&mut buf).unwrap();
		String::from_utf8_lossy(&buf[..n]).into_owned()
	};
	let r = raw("Content-Length: 99999999999\r\n");
	assert!(r.starts_with("HTTP/1.1 413"), "{r}");
	let r = raw("Transfer-Encoding: chunked\r\n");
	assert!(r.starts_with("HTTP/1.1 411"), "{r}");
	let missing = ureq::get(&format!("{store}/{}.opml", hex_of(&other_c))).call();
	assert!(
		matches!(missing, Err(ureq::Error::Status(404, _))),
		"{missing:?}"
	);
	assert!(!Worker::files_of("bob", s.dir.path())
		.join(format!("{}.opml", hex_of(&other_c)))
		.exists());
	// one model file in Bob's store, the true one; no partial or temporary file
	let held = store_files(&Worker::files_of("bob", s.dir.path()));
	let models: Vec<_> = held.iter().filter(|f| f.contains(".opml")).collect();
	assert_eq!(models, [&format!("{}.opml", hex_of(&c))], "{held:?}");
	assert!(!held.iter().any(|f| f.contains(".tmp")), "{held:?}");
}

#[test]
fn an_input_never_published_is_declined_without_penalty_own_store() {
	let s = Scene::start("dist-unpublished");
	let mut bob = s.provider("bob", "//Bob", &[]);
	// an input of 5000 bytes travels by root; the requester does not upload it
	let model = zoo::mlp(&[5000, 10], 2);
	let model_path = s.write("wide.opml", &encode_model(&model));
	s.cli(&["register-model", model_path.to_str().unwrap()], &[&bob]);
	bob.wait_for("model ready", Duration::from_secs(60))
		.unwrap();
	let input_path = s.write("input.bin", &vec![1u8; 5000]);
	let out = s.cli(
		&[
			"submit",
			"--model",
			"0",
			"--input",
			input_path.to_str().unwrap(),
			"--deadline",
			"12",
			"--no-upload",
			"--json",
		],
		&[&bob],
	);
	assert!(last_json(&out)["task"].as_u64().is_some(), "{out}");
	bob.wait_for("declined", Duration::from_secs(90)).unwrap();
	let log = bob.log();
	assert!(log.contains("could not be fetched"), "{log}");
	// past the deadline of the first assignment: Bob declined (each time the task came
	// back to him) and was never penalized
	std::thread::sleep(Duration::from_secs(10));
	let names = market_events(&s.url);
	assert!(names.iter().any(|n| n == "AssignmentDeclined"), "{names:?}");
	assert!(names.iter().any(|n| n == "TaskAssigned"), "{names:?}");
	assert!(!names.iter().any(|n| n == "DeadlineMissed"), "{names:?}");
	// wrong bytes for the task's input are refused by Bob's store (422)
	let root = opml_nn::commit::tensor_root(&[1u8; 5000]).0;
	let r = ureq::put(&format!(
		"{}/{}.input?task=0",
		store_url(&bob),
		hex_of(&root)
	))
	.send_bytes(&[2u8; 5000]);
	assert!(matches!(r, Err(ureq::Error::Status(422, _))), "{r:?}");
	assert!(
		!Worker::files_of("bob", s.dir.path())
			.read_dir()
			.unwrap()
			.any(|e| e.unwrap().file_name().to_string_lossy().ends_with(".input")),
		"no input file appeared in Bob's store"
	);
}

/// The names of every `Market` event in the chain's finalized blocks so far.
fn market_events(url: &str) -> Vec<String> {
	let rt = tokio::runtime::Runtime::new().unwrap();
	rt.block_on(async {
		let api = subxt::OnlineClient::<subxt::PolkadotConfig>::from_insecure_url(url)
			.await
			.unwrap();
		let last = api.at_current_block().await.unwrap().block_number();
		let mut names = Vec::new();
		for n in 1..=last {
			let at = api.at_block(n).await.unwrap();
			for e in at.events().fetch().await.unwrap().iter() {
				let e = e.unwrap();
				if e.pallet_name() == "Market" {
					names.push(e.event_name().to_string());
				}
			}
		}
		names
	})
}
