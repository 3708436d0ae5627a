//! ImageNet-class CNNs from ONNX: torchvision's ResNet-50, MobileNetV2, SqueezeNet
//! 1.1, GoogLeNet and DenseNet-121 as torchvision exports them
//! (`scripts/cnn-models.py`; checked in as graphs without weights, filled here with
//! seeded random weights by `onnx::fill` and normalized from data as batch
//! normalization would be) import, and their int8 logits on fixed 224×224 inputs stay
//! within cosine 0.98 of tract's float run of the same ONNX model. Every node of
//! SqueezeNet gives the same root natively and in the VM, within its step bound.

mod common;

use opml_nn::{
	cost::node_steps_bound,
	cpu::Cpu,
	onnx::{self, fill, quantize},
	vm::{Guest, DEFAULT_MAX_STEPS},
	zoo::Rng,
	Model, Prepared, Reference,
};
use std::{collections::BTreeMap, path::Path, time::Instant};
use tract_onnx::{pb, prelude::*};

const SHAPE: [usize; 4] = [1, 3, 224, 224];

fn graph(name: &str) -> pb::ModelProto {
	let path = Path::new(env!("CARGO_MANIFEST_DIR"))
		.join("fixtures/cnn")
		.join(format!("{name}.graph.onnx"));
	let mut proto = onnx::read(&path).unwrap();
	// without its weights the graph is refused, naming the first empty initializer
	let e = onnx::parse(&proto).unwrap_err().to_string();
	assert!(e.contains("holds 0 values"), "{name}: {e}");
	let filled = fill::fill_missing(&mut proto, 7);
	assert!(filled > 10, "{name}: only {filled} initializers filled");
	// layer scales from data, as trained batch normalization leaves them
	let samples: Vec<Vec<f32>> = (0..2).map(|i| image(200 + i)).collect();
	fill::normalize(&mut proto, &samples).unwrap();
	proto
}

/// A smooth image-like input (low-resolution noise upsampled, values about -2..2),
/// as `scripts/cnn-models.py` uses.
fn image(seed: u64) -> Vec<f32> {
	let mut r = Rng(seed);
	let mut u = || ((r.next_u64() >> 11) as f64 / (1u64 << 53) as f64) as f32 * 4.0 - 2.0;
	let low: Vec<f32> = (0..3 * 14 * 14).map(|_| u()).collect();
	let mut x = vec![0f32; 3 * 224 * 224];
	for c in 0..3 {
		for y in 0..224 {
			for xx in 0..224 {
				let (fy, fx) = (y as f32 / 16.0, xx as f32 / 16.0);
				let (y0, x0) = ((fy as usize).min(13), (fx as usize).min(13));
				let (y1, x1) = ((y0 + 1).min(13), (x0 + 1).min(13));
				let (dy, dx) = (fy - y0 as f32, fx - x0 as f32);
				let at = |yy: usize, xx: usize| low[(c * 14 + yy) * 14 + xx];
				x[(c * 224 + y) * 224 + xx] = at(y0, x0) * (1.0 - dy) * (1.0 - dx)
					+ at(y0, x1) * (1.0 - dy) * dx
					+ at(y1, x0) * dy * (1.0 - dx)
					+ at(y1, x1) * dy * dx
					+ 0.1 * u();
			}
		}
	}
	x
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
	let dot: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
	let n = |v: &[f32]| v.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
	dot / (n(a) * n(b)).max(1e-30)
}

fn tract_logits(proto: &pb::ModelProto, x: &[f32]) -> Vec<f32> {
	let m = tract_onnx::onnx()
		.model_for_proto_model(proto)
		.unwrap()
		.into_optimized()
		.unwrap()
		.into_runnable()
		.unwrap();
	let t = Tensor::from_shape(&SHAPE, x).unwrap();
	let out = m.run(tvec!(t.into())).unwrap();
	out[0]
		.to_plain_array_view::<f32>()
		.unwrap()
		.iter()
		.copied()
		.collect()
}

/// Import with 4 calibration images; compare the int8 logits on 2 other images with
/// tract's float logits. Returns the model and the worst cosine.
fn import_and_compare(name: &str) -> (Model, f64) {
	let proto = graph(name);
	let t = Instant::now();
	let g = onnx::parse(&proto).unwrap();
	let calib: Vec<Vec<f32>> = (0..4).map(|i| image(100 + i)).collect();
	let ranges = quantize::calibrate_quantile(&g, &calib, 0.9999).unwrap();
	let model = quantize::quantize(&g, &ranges).unwrap();
	let import_s = t.elapsed().as_secs_f64();
	let p = Prepared::new(model.clone()).unwrap();
	let mut worst = 1f64;
	let mut pairs = Vec::new();
	for seed in [1, 2] {
		let x = image(seed);
		let want = tract_logits(&proto, &x);
		let e = p.run(&Cpu, &quantize::quantize_input(&model, &x)).unwrap();
		let out = &model.graph.nodes.last().unwrap().output;
		let got = quantize::dequantize_data(out, e.output_data().unwrap());
		assert_eq!(got.len(), want.len(), "{name}: logits");
		let cos = cosine(&got, &want);
		println!("{name}: image {seed}: int8 vs tract float logits cosine {cos:.4}");
		worst = worst.min(cos);
		pairs.push((got, want));
	}
	// the logits depend on the image, and the int8 model follows that dependence
	let between = cosine(&pairs[0].1, &pairs[1].1);
	let diff = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x - y).collect::<Vec<_>>();
	let delta = cosine(
		&diff(&pairs[0].0, &pairs[1].0),
		&diff(&pairs[0].1, &pairs[1].1),
	);
	println!("{name}: float logits of the two images: cosine {between:.4}; their differences, int8 vs float: cosine {delta:.4}");
	// every node can be defended in a dispute: within the chain's step bound
	let heaviest = model
		.graph
		.nodes
		.iter()
		.map(|n| (node_steps_bound(n), n.op.name()))
		.max()
		.unwrap();
	assert!(
		heaviest.0 <= opml_nn::layout::MAX_NODE_STEPS,
		"{name}: {heaviest:?} over the chain's MaxNodeSteps"
	);
	println!(
		"{name}: heaviest node {} of at most {} VM steps",
		heaviest.1, heaviest.0
	);
	let mut ops: BTreeMap<&str, usize> = BTreeMap::new();
	for n in &model.graph.nodes {
		*ops.entry(n.op.name()).or_default() += 1;
	}
	println!(
		"{name}: {} nodes {ops:?}, {} weights, imported in {import_s:.1} s",
		model.graph.nodes.len(),
		model.weights.len()
	);
	(model, worst)
}

#[test]
fn resnet50_imports_within_cosine_0_98() {
	let (_, worst) = import_and_compare("resnet50");
	assert!(worst >= 0.98, "resnet50: cosine {worst}");
}

#[test]
fn mobilenet_v2_imports_within_cosine_0_98() {
	let (_, worst) = import_and_compare("mobilenet_v2");
	assert!(worst >= 0.98, "mobilenet_v2: cosine {worst}");
}

#[test]
fn googlenet_imports_within_cosine_0_98() {
	let (_, worst) = import_and_compare("googlenet");
	assert!(worst >= 0.98, "googlenet: cosine {worst}");
}

#[test]
fn densenet121_imports_within_cosine_0_98() {
	let (_, worst) = import_and_compare("densenet121");
	assert!(worst >= 0.98, "densenet121: cosine {worst}");
}

/// SqueezeNet: imported within the cosine, and every node gives the same output root
/// natively and in the VM, within its step bound.
#[test]
fn squeezenet_imports_and_every_node_runs_in_the_vm() {
	let (model, worst) = import_and_compare("squeezenet1_1");
	assert!(worst >= 0.98, "squeezenet1_1: cosine {worst}");
	let p = Prepared::new(model.clone()).unwrap();
	let x = quantize::quantize_input(&model, &image(3));
	let native = p.run(&Reference, &x).unwrap();
	assert_eq!(native.states, p.run(&Cpu, &x).unwrap().states);
	let t = Instant::now();
	let runs = Guest::builtin()
		.unwrap()
		.run_model(&p, &x, DEFAULT_MAX_STEPS)
		.unwrap();
	common::assert_vm_roots_native("squeezenet1_1", &runs, &native);
	let steps: u64 = runs.iter().map(|r| r.steps).sum();
	for (node, run) in model.graph.nodes.iter().zip(&runs) {
		assert!(run.steps <= node_steps_bound(node), "{}", node.op.name());
	}
	println!(
		"squeezenet1_1: {} nodes in the VM, {steps} steps in {:.1} s",
		runs.len(),
		t.elapsed().as_secs_f64()
	);
}
