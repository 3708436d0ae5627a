//! The WGSL kernels on the machine's Vulkan driver (lavapipe in CI) against the CPU
//! backend, bit for bit: every multiply-accumulate op over random shapes and values,
//! the requantization rule over its whole range, and whole models.

#[path = "../../primitives/nn/tests/common/mod.rs"]
mod common;

use common::{random_case, RngExt};
use opml_nn::{cpu::Cpu, types::*, zoo, Backend, Prepared, TensorData};
use opml_worker::gpu::Gpu;
use proptest::prelude::*;
use std::sync::OnceLock;

/// The GPU; CI installs lavapipe, so a missing adapter is a failure, not a skip.
fn gpu() -> &'static Gpu {
	static G: OnceLock<Gpu> = OnceLock::new();
	G.get_or_init(|| Gpu::new().expect("a Vulkan adapter (mesa-vulkan-drivers)"))
}

fn check(op: &str, seed: u64) -> Result<(), TestCaseError> {
	let case = random_case(op, seed);
	let n = case.node.output.elements().unwrap();
	let (mut want, mut got) = (vec![0i8; n], vec![0i8; n]);
	Cpu.run_node(&case.node, &case.refs(), &mut want);
	gpu().run_node(&case.node, &case.refs(), &mut got);
	prop_assert_eq!(got, want, "{} seed {}", op, seed);
	Ok(())
}

proptest! {
	#![proptest_config(ProptestConfig::with_cases(40))]
	#[test]
	fn gpu_fc_equals_cpu(seed in any::<u64>()) { check("fc", seed)?; }
	#[test]
	fn gpu_matmul_equals_cpu(seed in any::<u64>()) { check("matmul", seed)?; }
	#[test]
	fn gpu_conv_equals_cpu(seed in any::<u64>()) { check("conv", seed)?; }
	#[test]
	fn gpu_other_ops_equal_cpu(op in 0..common::OPS.len(), seed in any::<u64>()) {
		check(common::OPS[op], seed)?;
	}
}

proptest! {
	#![proptest_config(ProptestConfig::with_cases(64))]
	/// `requant(acc, m, s)` for accumulators over the whole i32 range, any multiplier
	/// in `[0, 2^31)` and shift in `0..=62`: an FC with `x = w = 1` and the
	/// accumulators as biases.
	#[test]
	fn gpu_requantization_is_exact_over_its_range(
		m in 0i32..=i32::MAX, s in 0u8..=62, seed in any::<u64>(), relu in any::<bool>(),
	) {
		let mut r = common::Rng(seed);
		let n = 256usize;
		let mut bias = r.i32s(n, i32::MAX as i64);
		bias[0] = i32::MIN;
		bias[1] = i32::MAX;
		bias[2] = -1;
		bias[3] = 0;
		let node = Node {
			op: Op::FullyConnected { requant: Requant { multiplier: m, shift: s }, relu },
			inputs: vec![
				NodeInput { source: Source::Slot(0), desc: TensorDesc::i8(&[1, 1], 1.0) },
				NodeInput { source: Source::Weight(0), desc: TensorDesc::i8(&[n as u32, 1], 1.0) },
				NodeInput { source: Source::Weight(1), desc: TensorDesc::i32(&[n as u32]) },
			],
			output: TensorDesc::i8(&[1, n as u32], 1.0),
		};
		let data = [TensorData::I8(vec![1]), TensorData::I8(vec![1; n]), TensorData::I32(bias)];
		let refs: Vec<TensorRef> = data.iter().map(|d| d.as_ref()).collect();
		let (mut want, mut got) = (vec![0i8; n], vec![0i8; n]);
		Cpu.run_node(&node, &refs, &mut want);
		gpu().run_node(&node, &refs, &mut got);
		prop_assert_eq!(got, want);
	}
}

#[test]
fn whole_models_run_identically_on_gpu_and_cpu() {
	for (model, n) in [
		(zoo::lenet5(3), 28 * 28),
		(zoo::mlp(&[784, 128, 10], 4), 784),
		(zoo::transformer_block(8, 32, 4, 64, 5), 8 * 32),
	] {
		let p = Prepared::new(model).unwrap();
		let input = common::Rng(9).i8s(n);
		let cpu = p.run(&Cpu, &input).unwrap();
		let gpu = p.run(gpu(), &input).unwrap();
		assert_eq!(gpu.result_root(), cpu.result_root());
		assert_eq!(gpu.output(), cpu.output());
	}
}
