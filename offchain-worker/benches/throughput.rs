//! Inference throughput at batch 1 of the worker's backends against tract (float) on
//! the same ONNX models (docs/benchmarks.md):
//!
//! - `tract f32`: tract-onnx's optimized float plan of the ONNX file;
//! - `ref int8`: opml-nn's reference kernels (single thread) on the quantized model;
//! - `CPU int8`: the worker's CPU backend (rayon);
//! - `GPU int8`: the worker's wgpu backend (here: lavapipe, Vulkan on the CPU), whose
//!   outputs are checked bit for bit against the CPU backend's on every input.
//!
//!     cargo bench -p opml-worker --bench throughput
//!
//! Models: `primitives/nn/fixtures/bench_{mlp784,lenet5}.onnx` (MNIST-size, from
//! `make_bench_models.py`) and `digits_cnn.onnx`, quantized with 32 random inputs.

use opml_nn::{cpu::Cpu, onnx, Prepared, Reference};
use opml_worker::gpu::Gpu;
use std::{
	path::{Path, PathBuf},
	time::{Duration, Instant},
};
use tract_onnx::prelude::*;

fn fixture(name: &str) -> PathBuf {
	Path::new(
		std::env::var("CARGO_MANIFEST_DIR")
			.expect("cargo sets CARGO_MANIFEST_DIR")
			.as_str(),
	)
	.join("../primitives/nn/fixtures")
	.join(name)
}

/// Inferences per second of `f`, run for about `budget` (after one warm-up call).
fn rate(budget: Duration, mut f: impl FnMut()) -> f64 {
	f();
	let start = Instant::now();
	let mut n = 0u64;
	while start.elapsed() < budget || n < 3 {
		f();
		n += 1;
	}
	n as f64 / start.elapsed().as_secs_f64()
}

fn main() {
	let budget = Duration::from_millis(
		std::env::var("OPML_BENCH_MS")
			.ok()
			.and_then(|v| v.parse().ok())
			.unwrap_or(2000),
	);
	let gpu = Gpu::new().expect("a Vulkan adapter (mesa-vulkan-drivers)");
	println!("GPU adapter: {}", gpu.adapter_name());
	println!();
	println!("| model | MACs | tract f32 | ref int8 | CPU int8 | GPU int8 | GPU = CPU |");
	println!("|---|---|---|---|---|---|---|");
	for (name, file, shape) in [
		("MLP 784-128-10", "bench_mlp784.onnx", vec![1usize, 784]),
		("LeNet-5 28×28", "bench_lenet5.onnx", vec![1, 1, 28, 28]),
		("digits CNN 8×8", "digits_cnn.onnx", vec![1, 1, 8, 8]),
	] {
		let path = fixture(file);
		let n: usize = shape.iter().product();
		let mut seed = 0x2026u64;
		let mut sample = || -> Vec<f32> {
			(0..n)
				.map(|_| {
					seed = seed
						.wrapping_mul(6364136223846793005)
						.wrapping_add(1442695040888963407);
					(seed >> 40) as f32 / (1u64 << 24) as f32
				})
				.collect()
		};
		let calib: Vec<Vec<f32>> = (0..32).map(|_| sample()).collect();
		let model = onnx::import(&path, &calib).expect("import");
		let p = Prepared::new(model.clone()).expect("prepared");
		let inputs: Vec<Vec<f32>> = (0..8).map(|_| sample()).collect();
		let q: Vec<Vec<i8>> = inputs
			.iter()
			.map(|x| onnx::quantize::quantize_input(&model, x))
			.collect();
		// bit-identical GPU and CPU outputs (every node) on every input
		let same = q.iter().all(|x| {
			let c = p.run(&Cpu, x).expect("cpu");
			let g = p.run(&gpu, x).expect("gpu");
			c.outputs == g.outputs
		});
		assert!(same, "{name}: GPU and CPU outputs differ");
		let macs = macs(&p);

		let tract = tract_onnx::onnx()
			.model_for_path(&path)
			.and_then(|m| m.into_optimized())
			.and_then(|m| m.into_runnable())
			.expect("tract plan");
		let tensors: Vec<Tensor> = inputs
			.iter()
			.map(|x| Tensor::from_shape(&shape, x).expect("tensor"))
			.collect();
		let mut i = 0;
		let t_tract = rate(budget, || {
			let t = tensors[i % tensors.len()].clone();
			std::hint::black_box(tract.run(tvec!(t.into())).expect("tract run"));
			i += 1;
		});
		let bench = |b: &dyn Fn(&[i8])| {
			let mut i = 0;
			rate(budget, || {
				b(&q[i % q.len()]);
				i += 1;
			})
		};
		let t_ref = bench(&|x| {
			std::hint::black_box(p.run(&Reference, x).expect("ref"));
		});
		let t_cpu = bench(&|x| {
			std::hint::black_box(p.run(&Cpu, x).expect("cpu"));
		});
		let t_gpu = bench(&|x| {
			std::hint::black_box(p.run(&gpu, x).expect("gpu"));
		});
		println!(
			"| {name} | {macs} | {t_tract:.0}/s | {t_ref:.0}/s | {t_cpu:.0}/s | {t_gpu:.0}/s | {} |",
			if same { "yes (8 inputs)" } else { "NO" }
		);
	}
}

/// Multiply-accumulates of the FullyConnected, MatMul and Conv2d nodes.
fn macs(p: &Prepared) -> u64 {
	use opml_nn::types::Op;
	p.model
		.graph
		.nodes
		.iter()
		.map(|n| {
			let prod = |s: &[u32]| s.iter().map(|&d| u64::from(d)).product::<u64>();
			let out = prod(&n.output.shape);
			match &n.op {
				Op::FullyConnected { .. } | Op::MatMul { .. } => {
					out * u64::from(*n.inputs[0].desc.shape.last().unwrap_or(&1))
				}
				Op::Conv2d { .. } | Op::GroupConv2d { .. } => {
					out * prod(&n.inputs[1].desc.shape[1..])
				}
				_ => 0,
			}
		})
		.sum()
}
