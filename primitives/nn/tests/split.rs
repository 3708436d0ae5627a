//! Bounded nodes: the importer's split (`opml_nn::split`) brings every node within a
//! step bound, the split model computes the very same output (reference and CPU
//! backends), every node of it gives the native root in the VM, it registers under the
//! lowered bound where the original does not, and what cannot be split is named.

mod common;

use opml_nn::{
	commit::model_commitment,
	cost::node_steps_bound,
	cpu::Cpu,
	registration::{graph_registration, verify_graph_registration, RegistrationError},
	split::{split_heavy_nodes, SplitError},
	vm::{Guest, DEFAULT_MAX_STEPS},
	zoo, Model, Op, Prepared, Reference,
};

fn bounds(m: &Model) -> Vec<(usize, &'static str, u64)> {
	m.graph
		.nodes
		.iter()
		.enumerate()
		.map(|(i, n)| (i + 1, n.op.name(), node_steps_bound(n)))
		.collect()
}

/// A limit under the heaviest node of the ops `kinds` and above every other node.
fn limit_for(m: &Model, divide: u64, kinds: &[&str]) -> u64 {
	let b = bounds(m);
	let heavy = b
		.iter()
		.filter(|x| kinds.contains(&x.1))
		.map(|x| x.2)
		.max()
		.unwrap();
	let other = b
		.iter()
		.filter(|x| !kinds.contains(&x.1))
		.map(|x| x.2)
		.max()
		.unwrap_or(0);
	(heavy / divide).max(other)
}

fn check_split(name: &str, m: &Model, limit: u64, seed: u64) {
	assert!(
		bounds(m).iter().any(|b| b.2 > limit),
		"{name}: nothing to split"
	);
	let (s, count) = split_heavy_nodes(m, limit).unwrap();
	assert!(count >= 1);
	assert!(s.graph.nodes.len() > m.graph.nodes.len());
	for (j, op, b) in bounds(&s) {
		assert!(b <= limit, "{name}: node {j} ({op}) at {b} over {limit}");
	}
	assert!(s.graph.nodes.iter().any(|n| matches!(n.op, Op::Concat)));
	// the same output, bit for bit, on both backends
	let (p, q) = (
		Prepared::new(m.clone()).unwrap(),
		Prepared::new(s.clone()).unwrap(),
	);
	for k in 0..3 {
		let x = zoo::Rng(seed + k).i8s(m.graph.input.elements().unwrap());
		let want = p.run(&Reference, &x).unwrap();
		let got = q.run(&Reference, &x).unwrap();
		assert_eq!(want.output(), got.output(), "{name}: input {k}");
		assert_eq!(q.run(&Cpu, &x).unwrap().outputs, got.outputs, "{name}: CPU");
	}
	// every node of the split model in the VM: the native roots
	let x = zoo::Rng(seed).i8s(m.graph.input.elements().unwrap());
	let native = q.run(&Reference, &x).unwrap();
	let runs = Guest::builtin()
		.unwrap()
		.run_model(&q, &x, DEFAULT_MAX_STEPS)
		.unwrap();
	common::assert_vm_roots_native(name, &runs, &native);
	for (j, run) in runs.iter().enumerate() {
		assert!(run.steps <= node_steps_bound(&s.graph.nodes[j]));
	}
	// the chain takes the split model under the lowered bound, not the original
	let reg = |m: &Model| {
		let (g, sib) = graph_registration(m).unwrap();
		verify_graph_registration(&model_commitment(m).unwrap(), &g, &sib, limit).map(|_| ())
	};
	assert_eq!(reg(&s), Ok(()));
	assert!(matches!(reg(m), Err(RegistrationError::TooHeavy { .. })));
	// nothing to do under the original bound
	let (same, none) = split_heavy_nodes(m, u64::MAX).unwrap();
	assert_eq!((&same, none), (m, 0));
}

#[test]
fn sequence_rows_split_and_give_the_same_output() {
	// attention and its MLP over 8 rows: row blocks
	let m = zoo::transformer_block(8, 16, 2, 32, 3);
	check_split(
		"transformer rows",
		&m,
		limit_for(&m, 3, &["FullyConnected"]),
		11,
	);
}

#[test]
fn a_single_row_splits_by_output_channels() {
	// one input row: channel blocks, with new weights for each block's rows
	let m = zoo::mlp(&[256, 128, 10], 4);
	let before = m.weights.len();
	let limit = limit_for(&m, 5, &["FullyConnected"]);
	check_split("mlp channels", &m, limit, 5);
	let (s, _) = split_heavy_nodes(&m, limit).unwrap();
	assert!(s.weights.len() > before);
}

#[test]
fn convolutions_split_by_output_channels_and_groups() {
	// LeNet-5's convolutions (and fully connected layers): output channel blocks
	let m = zoo::lenet5(3);
	check_split(
		"lenet5",
		&m,
		limit_for(&m, 3, &["Conv2d", "FullyConnected"]),
		21,
	);
	// an inverted residual block: 1×1 grouped convolutions with per-channel
	// multipliers by channels, the depthwise one by groups on slices of its input
	let m = zoo::mobile_block(8, 12, 4, 5);
	let limit = limit_for(&m, 4, &["GroupConv2d"]);
	check_split("mobile block", &m, limit, 22);
	let (s, _) = split_heavy_nodes(&m, limit).unwrap();
	assert!(s
		.graph
		.nodes
		.iter()
		.any(|n| matches!(n.op, Op::Slice { .. })));
}

#[test]
fn what_cannot_be_split_is_named() {
	let m = zoo::transformer_block(8, 16, 2, 32, 3);
	let (j, op, b) = bounds(&m)
		.into_iter()
		.filter(|x| x.1 != "FullyConnected")
		.max_by_key(|x| x.2)
		.unwrap();
	let e = split_heavy_nodes(&m, b - 1).unwrap_err();
	assert!(
		matches!(&e, SplitError::Unsplittable { node, op: o, bound } if *node <= j && (*node < j || (*o == op && *bound == b))),
		"{e:?}"
	);
	assert!(e.to_string().contains("cannot be split"), "{e}");
	// a bound no block can meet
	let m = zoo::mlp(&[64, 32, 10], 1);
	assert!(matches!(
		split_heavy_nodes(&m, 1),
		Err(SplitError::Unsplittable { node: 1, .. })
	));
}
