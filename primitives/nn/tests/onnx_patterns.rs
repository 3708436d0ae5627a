//! What real exports contain, on small models (`scripts/onnx-patterns.py`): exact GELU
//! written with Erf and SiLU (one table each), a LayerNorm written out op by op (one
//! LayerNorm), attention with 4-D tensors and shapes from a Shape/Gather/Concat
//! chain, Split/Slice/Gather of activations and an n-ary Sum, input standardization
//! by per-channel constants, LRN, a squeeze-and-excitation gate (Mul of activations
//! with broadcast) and a HardSwish written out. Each imports to the expected ops, its
//! float graph equals tract's run of the file, its int8 output stays within cosine
//! 0.99 of it, and every node gives the same root natively and in the VM. An op
//! without a mapping is named in the error.

mod common;

use opml_nn::{
	cpu::Cpu,
	onnx::{self, quantize, ImportError},
	vm::{Guest, DEFAULT_MAX_STEPS},
	zoo::Rng,
	Prepared, Reference,
};
use std::{collections::BTreeMap, path::PathBuf};
use tract_onnx::prelude::*;

fn fixture(name: &str) -> PathBuf {
	PathBuf::from(env!("CARGO_MANIFEST_DIR"))
		.join("fixtures/patterns")
		.join(format!("{name}.onnx"))
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
	let dot: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
	let n = |v: &[f32]| v.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
	dot / (n(a) * n(b)).max(1e-30)
}

fn sample(len: usize, seed: u64) -> Vec<f32> {
	let mut r = Rng(seed);
	(0..len)
		.map(|_| ((r.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0) as f32)
		.collect()
}

/// Import `name`, check it against tract, and return its op counts.
fn check(name: &str) -> BTreeMap<&'static str, usize> {
	let path = fixture(name);
	let proto = onnx::read(&path).unwrap();
	let g = onnx::parse(&proto).unwrap();
	let len: usize = g.input.iter().product();
	let tract = tract_onnx::onnx()
		.model_for_path(&path)
		.unwrap()
		.into_optimized()
		.unwrap()
		.into_runnable()
		.unwrap();
	let calib: Vec<Vec<f32>> = (0..8).map(|i| sample(len, 100 + i)).collect();
	let model = onnx::import(&path, &calib).unwrap();
	let p = Prepared::new(model.clone()).unwrap();
	for seed in 1..=3 {
		let x = sample(len, seed);
		let t = Tensor::from_shape(&g.input, &x).unwrap();
		let want: Vec<f32> = tract.run(tvec!(t.into())).unwrap()[0]
			.to_plain_array_view::<f32>()
			.unwrap()
			.iter()
			.copied()
			.collect();
		let ours = g.run(&x).pop().unwrap();
		let scale = want.iter().fold(1e-6f32, |m, v| m.max(v.abs()));
		for (a, b) in want.iter().zip(&ours) {
			assert!(
				(a - b).abs() <= 1e-4 * scale.max(1.0),
				"{name}: float graph {b} vs tract {a}"
			);
		}
		let e = p.run(&Cpu, &quantize::quantize_input(&model, &x)).unwrap();
		let out = &model.graph.nodes.last().unwrap().output;
		let got = quantize::dequantize_data(out, e.output_data().unwrap());
		let cos = cosine(&got, &want);
		println!("{name}: input {seed}: int8 vs tract cosine {cos:.5}");
		assert!(cos >= 0.99, "{name}: int8 vs float cosine {cos}");
	}
	// every node in the VM
	let x = quantize::quantize_input(&model, &sample(len, 9));
	let native = p.run(&Reference, &x).unwrap();
	let runs = Guest::builtin()
		.unwrap()
		.run_model(&p, &x, DEFAULT_MAX_STEPS)
		.unwrap();
	common::assert_vm_roots_native(name, &runs, &native);
	let mut ops = BTreeMap::new();
	for n in &model.graph.nodes {
		*ops.entry(n.op.name()).or_default() += 1;
	}
	println!("{name}: {ops:?}");
	ops
}

#[test]
fn exact_gelu_and_silu_written_out_become_one_table_each() {
	let ops = check("gelu_erf");
	assert_eq!(ops.get("Lut"), Some(&2), "{ops:?}");
	assert_eq!(ops.get("FullyConnected"), Some(&3), "{ops:?}");
	assert_eq!(ops.len(), 2, "{ops:?}");
}

#[test]
fn a_layernorm_written_out_becomes_one_layernorm() {
	let ops = check("layernorm_parts");
	assert_eq!(ops.get("LayerNorm"), Some(&1), "{ops:?}");
	assert_eq!(ops.get("FullyConnected"), Some(&2), "{ops:?}");
	assert_eq!(ops.len(), 2, "{ops:?}");
}

#[test]
fn attention_with_4d_tensors_and_shape_chains_imports() {
	let ops = check("attention4d");
	assert_eq!(ops.get("MatMul"), Some(&2), "{ops:?}");
	assert_eq!(ops.get("Softmax"), Some(&1), "{ops:?}");
}

#[test]
fn split_slice_gather_and_sum_import() {
	let ops = check("split_slice");
	assert!(ops.get("Slice").copied().unwrap_or(0) >= 4, "{ops:?}");
	assert_eq!(ops.get("Add"), Some(&2), "{ops:?}");
}

#[test]
fn standardization_lrn_squeeze_excite_and_hardswish_import() {
	let ops = check("squeeze_excite");
	assert_eq!(ops.get("Lrn"), Some(&1), "{ops:?}");
	assert_eq!(ops.get("Mul"), Some(&1), "{ops:?}");
	// the standardization (Sub, Div by [1, 3, 1, 1]) is one 1×1 depthwise convolution
	assert_eq!(ops.get("Lut"), Some(&2), "{ops:?}");
}

#[test]
fn an_op_without_a_mapping_is_named() {
	let proto = onnx::read(&fixture("unsupported")).unwrap();
	match onnx::parse(&proto) {
		Err(ImportError::UnsupportedOp { op, .. }) => assert_eq!(op, "Einsum"),
		other => panic!("expected an unsupported op, got {other:?}"),
	}
}
