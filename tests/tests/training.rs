//! A federated-learning job end to end on a dev node: a requester (`opml-worker train
//! start`) trains an MLP on the scikit-learn digits with 2 pools × redundancy 3 for 3
//! rounds, served by four provider daemons, one of which reveals wrong updates. Each
//! round the pools' members compute, commit and reveal their updates in chunks; the
//! majority is elected, the liar's dissent goes to the dispute game and loses (it is
//! banned), the updates are averaged by a FedAvg task, and the next round starts from
//! the aggregate read from the chunks on chain. The held-out loss decreases every
//! round and the trained model equals an offline run of the same graphs.

use opml_nn::{
	fl::{self, TrainSpec},
	train::to_q16,
	Reference,
};
use opml_tests::{repo_path as repo, run_worker, tail, Node, Worker};
use std::time::Duration;
use subxt::{dynamic::Value, OnlineClient, PolkadotConfig};

#[test]
fn a_federated_job_trains_on_chain_and_the_liar_is_banned() {
	let mut node = Node::start("training", &["--dev", "--tmp", "--dev-block-time", "300"]).unwrap();
	node.wait_finalized(1, Duration::from_secs(120)).unwrap();
	let url = node.ws_url();
	let dir = tempfile::tempdir().unwrap();
	let files_dir = dir.path().join("files");
	let files = files_dir.to_str().unwrap();
	// pool 0's, pool 1's and the FedAvg model get ids 0, 1 and 2 on a new chain
	let capacity = [
		"--capacity",
		"0:10",
		"--capacity",
		"1:10",
		"--capacity",
		"2:10",
	];
	let provider = |name: &str, suri: &str, cost: &str, fault: bool| {
		let mut extra = vec!["--unit-cost", cost];
		extra.extend(capacity);
		if fault {
			extra.push("--inject-fault");
		}
		Worker::daemon(name, "provider", &url, suri, dir.path(), &extra).unwrap()
	};
	// Bob is the cheapest (in every pool) and lies; Eve is the dearest (she replaces him)
	let mut workers = vec![
		provider("bob", "//Bob", "1000000000", true),
		provider("charlie", "//Charlie", "2000000000000", false),
		provider("dave", "//Dave", "2000000000000", false),
		provider("eve", "//Eve", "3000000000000", false),
	];
	for w in &mut workers {
		w.wait_for("provider running", Duration::from_secs(120))
			.unwrap();
	}
	let out = dir.path().join("trained.bin");
	let digits = repo("examples/digits/digits.u8");
	let args = [
		"train",
		"start",
		"--digits",
		digits.to_str().unwrap(),
		"--pools",
		"2",
		"--rows",
		"300",
		"--sizes",
		"64,16,10",
		"--batch",
		"20",
		"--steps",
		"10",
		"--lr",
		"0.5",
		"--seed",
		"7",
		"--rounds",
		"3",
		"--redundancy",
		"3",
		"--deadline",
		"12",
		"--verify-offline",
		"--out",
		out.to_str().unwrap(),
		"--json",
		"--timeout",
		"1200",
		"--url",
		&url,
		"--files",
		files,
	];
	let printed = match run_worker(&args) {
		Ok(o) => o,
		Err(e) => {
			let logs: Vec<String> = workers.iter().map(|w| w.log()).collect();
			panic!(
				"{e:#}\n{}\n--- node ---\n{}",
				logs.join("\n---\n"),
				tail(&node.log(), 60)
			)
		}
	};
	let lines: Vec<serde_json::Value> = printed
		.lines()
		.filter_map(|l| serde_json::from_str(l).ok())
		.collect();
	// the held-out loss decreases every round
	let losses: Vec<f64> = lines
		.iter()
		.filter(|l| l["finished"] == true)
		.map(|l| l["loss"].as_f64().unwrap())
		.collect();
	assert_eq!(losses.len(), 3, "{printed}");
	let spec = TrainSpec {
		sizes: vec![64, 16, 10],
		batch: 20,
		steps: 10,
		lr: to_q16(0.5),
	};
	let all = fl::digits_shard(&std::fs::read(&digits).unwrap()).unwrap();
	let held_out = all.rows_range(600, all.rows() - 600);
	let init = fl::pad(&fl::init_params(&spec.sizes, 7));
	let (loss0, _) = fl::evaluate(&spec.sizes, &init, &held_out);
	let mut prev = loss0;
	for (r, &l) in losses.iter().enumerate() {
		assert!(
			l < prev,
			"round {r}: loss {l} did not decrease from {prev}\n{printed}"
		);
		prev = l;
	}
	// the fetched model is an offline run of the same graphs (checked by the command
	// and here, independently)
	assert_eq!(lines.last().unwrap()["offline_match"], true, "{printed}");
	let shards = [all.rows_range(0, 300), all.rows_range(300, 300)];
	let offline = fl::run_job(&Reference, &spec, &shards, &init, 3).unwrap();
	let want: Vec<u8> = offline[2].iter().flat_map(|v| v.to_le_bytes()).collect();
	assert_eq!(std::fs::read(&out).unwrap(), want);
	// the updates travelled in chunks, and the liar lost its game and is banned
	for w in &mut workers[1..] {
		w.wait_for("revealed in chunks", Duration::from_secs(1))
			.unwrap();
	}
	workers[0]
		.wait_for("game over", Duration::from_secs(60))
		.unwrap();
	let rt = tokio::runtime::Runtime::new().unwrap();
	let banned = rt.block_on(async {
		let api = OnlineClient::<PolkadotConfig>::from_insecure_url(&url)
			.await
			.unwrap();
		let bob = subxt_signer::sr25519::dev::bob()
			.public_key()
			.to_account_id();
		let at = api.at_current_block().await.unwrap();
		let entry = at
			.storage()
			.entry(
				subxt::dynamic::storage::<(subxt::utils::AccountId32,), Value>(
					"Providers",
					"Banned",
				),
			)
			.unwrap();
		entry.try_fetch((bob,)).await.unwrap().is_some()
	});
	assert!(banned, "Bob is not banned");
	// a fetch of the finished job writes the same model
	let job = lines[0]["job"].as_u64().unwrap().to_string();
	let fetched = dir.path().join("fetched.bin");
	run_worker(&[
		"train",
		"fetch",
		"--job",
		&job,
		"--out",
		fetched.to_str().unwrap(),
		"--url",
		&url,
		"--files",
		files,
	])
	.unwrap();
	assert_eq!(std::fs::read(&fetched).unwrap(), want);
	node.check_alive().unwrap();
}
