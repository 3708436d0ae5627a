//! Per op, over random shapes and values: the CPU backend and the guest running in the
//! VM give exactly the reference kernels' bits; the VM's initial memory root is the
//! one the chain computes from roots alone; the output slot's proof opens the final
//! state's memory root to the output tensor root.

mod common;

use common::{random_case, RngExt, OPS};
use opml_nn::{
	commit::tensor_root,
	cpu::Cpu,
	kernels, layout,
	vm::{output_slot_proof, Guest, DEFAULT_MAX_STEPS},
	Backend, TensorData,
};
use proptest::prelude::*;
use std::sync::OnceLock;

fn guest() -> &'static Guest {
	static G: OnceLock<Guest> = OnceLock::new();
	G.get_or_init(|| Guest::builtin().expect("the checked-in guest loads"))
}

fn reference(case: &common::Case) -> TensorData {
	kernels::run_node_data(&case.node, &case.refs()).expect("valid random node")
}

fn check_cpu(op: &str, seed: u64) -> Result<(), TestCaseError> {
	let case = random_case(op, seed);
	let want = reference(&case);
	let mut got = TensorData::zeros(want.dtype(), want.len());
	Cpu.run_node_data(&case.node, &case.refs(), &mut got);
	prop_assert_eq!(got, want, "{} seed {}", op, seed);
	Ok(())
}

fn check_vm(op: &str, seed: u64) -> Result<(), TestCaseError> {
	let case = random_case(op, seed);
	let want = reference(&case);
	let bytes = case.bytes();
	let refs: Vec<&[u8]> = bytes.iter().map(|b| b.as_slice()).collect();
	let g = guest();
	// initial memory root: machine == chain's computation from roots
	let mut vm = g.node_vm(&case.node, &refs).unwrap();
	let chain_root = g.initial_memory_root(&case.node, &refs).unwrap();
	prop_assert_eq!(vm.mem.root(), chain_root);
	// run
	vm.run_until(DEFAULT_MAX_STEPS);
	prop_assert_eq!(
		vm.cpu.exit,
		opml_vm::ExitStatus::Exited(0),
		"{} seed {}",
		op,
		seed
	);
	let run = g.run_node(&case.node, &refs, DEFAULT_MAX_STEPS).unwrap();
	prop_assert_eq!(&run.output, &want, "{} seed {}", op, seed);
	// the static step bound holds (docs/security.md H4)
	let bound = opml_nn::cost::node_steps_bound(&case.node);
	prop_assert!(
		run.steps <= bound,
		"{} seed {}: {} steps above the bound {}",
		op,
		seed,
		run.steps,
		bound
	);
	if std::env::var_os("OPML_COST_RATIOS").is_some() {
		let work = opml_nn::cost::node_work(&case.node);
		println!(
			"ratio {op} {:.3} steps {} work {work}",
			run.steps as f64 / work as f64,
			run.steps
		);
	}
	// output slot proof against the final memory root
	let (slot_root, proof) = output_slot_proof(&mut vm);
	let (root, depth) = tensor_root(&want.to_bytes());
	prop_assert_eq!(slot_root, layout::slot_root(root, depth).unwrap());
	prop_assert!(proof.verify(&run.final_state.mem_root, &slot_root));
	Ok(())
}

proptest! {
	#![proptest_config(ProptestConfig::with_cases(200))]
	#[test]
	fn cpu_backend_equals_reference(op in 0..OPS.len(), seed in any::<u64>()) {
		check_cpu(OPS[op], seed)?;
	}
}

proptest! {
	#![proptest_config(ProptestConfig::with_cases(24))]
	#[test]
	fn vm_fc(seed in any::<u64>()) { check_vm("fc", seed)?; }
	#[test]
	fn vm_matmul(seed in any::<u64>()) { check_vm("matmul", seed)?; }
	#[test]
	fn vm_add(seed in any::<u64>()) { check_vm("add", seed)?; }
	#[test]
	fn vm_relu(seed in any::<u64>()) { check_vm("relu", seed)?; }
	#[test]
	fn vm_conv(seed in any::<u64>()) { check_vm("conv", seed)?; }
	#[test]
	fn vm_groupconv(seed in any::<u64>()) { check_vm("groupconv", seed)?; }
	#[test]
	fn vm_mul(seed in any::<u64>()) { check_vm("mul", seed)?; }
	#[test]
	fn vm_lrn(seed in any::<u64>()) { check_vm("lrn", seed)?; }
	#[test]
	fn vm_maxpool(seed in any::<u64>()) { check_vm("maxpool", seed)?; }
	#[test]
	fn vm_avgpool(seed in any::<u64>()) { check_vm("avgpool", seed)?; }
	#[test]
	fn vm_reshape(seed in any::<u64>()) { check_vm("reshape", seed)?; }
	#[test]
	fn vm_transpose(seed in any::<u64>()) { check_vm("transpose", seed)?; }
	#[test]
	fn vm_softmax(seed in any::<u64>()) { check_vm("softmax", seed)?; }
	#[test]
	fn vm_layernorm(seed in any::<u64>()) { check_vm("layernorm", seed)?; }
	#[test]
	fn vm_lut(seed in any::<u64>()) { check_vm("lut", seed)?; }
	#[test]
	fn vm_slice(seed in any::<u64>()) { check_vm("slice", seed)?; }
	#[test]
	fn vm_concat(seed in any::<u64>()) { check_vm("concat", seed)?; }
	#[test]
	fn vm_dense(seed in any::<u64>()) { check_vm("dense", seed)?; }
	#[test]
	fn vm_xentgrad(seed in any::<u64>()) { check_vm("xentgrad", seed)?; }
	#[test]
	fn vm_densegradinput(seed in any::<u64>()) { check_vm("densegradinput", seed)?; }
	#[test]
	fn vm_sgdweight(seed in any::<u64>()) { check_vm("sgdweight", seed)?; }
	#[test]
	fn vm_sgdbias(seed in any::<u64>()) { check_vm("sgdbias", seed)?; }
	#[test]
	fn vm_meanrows(seed in any::<u64>()) { check_vm("meanrows", seed)?; }

	#[test]
	fn vm_gather(seed in any::<u64>()) { check_vm("gather", seed)?; }

	#[test]
	fn vm_maskedsoftmax(seed in any::<u64>()) { check_vm("maskedsoftmax", seed)?; }

	#[test]
	fn vm_poolnormalize(seed in any::<u64>()) { check_vm("poolnormalize", seed)?; }

	#[test]
	fn vm_fcwide(seed in any::<u64>()) { check_vm("fcwide", seed)?; }

	#[test]
	fn vm_addwide(seed in any::<u64>()) { check_vm("addwide", seed)?; }

	#[test]
	fn vm_layernormwide(seed in any::<u64>()) { check_vm("layernormwide", seed)?; }

	#[test]
	fn vm_matmulwide(seed in any::<u64>()) { check_vm("matmulwide", seed)?; }
}

/// Every op kind per seed on the CPU backend at sizes where it runs multithreaded.
#[test]
fn cpu_backend_parallel_paths_equal_reference() {
	use opml_nn::{types::*, TensorData};
	let mut r = common::Rng(7);
	// FC batch 1 (split outputs), FC batch 8 (split rows), conv, matmul
	let fc = |m: usize, k: usize, n: usize, r: &mut common::Rng| common::Case {
		node: Node {
			op: Op::FullyConnected {
				requant: r.requant(30, 40),
				relu: true,
			},
			inputs: vec![
				NodeInput {
					source: Source::Slot(0),
					desc: TensorDesc::i8(&[m as u32, k as u32], 1.0),
				},
				NodeInput {
					source: Source::Weight(0),
					desc: TensorDesc::i8(&[n as u32, k as u32], 1.0),
				},
				NodeInput {
					source: Source::Weight(1),
					desc: TensorDesc::i32(&[n as u32]),
				},
			],
			output: TensorDesc::i8(&[m as u32, n as u32], 1.0),
		},
		data: vec![
			TensorData::I8(r.i8s(m * k)),
			TensorData::I8(r.i8s(n * k)),
			TensorData::I32(r.i32s(n, 1 << 20)),
		],
	};
	for case in [fc(1, 784, 300, &mut r), fc(8, 256, 200, &mut r)] {
		let want = reference(&case);
		let mut got = vec![0i8; want.len()];
		Cpu.run_node(&case.node, &case.refs(), &mut got);
		assert_eq!(TensorData::I8(got), want);
	}
	// MiniLM's feed-forward output: a wide input (a table's), per-channel
	// multipliers, int8 or wide output
	for wide_out in [false, true] {
		let (m, k, n) = (16, 384, 96);
		let mut case = fc(m, k, n, &mut r);
		case.node.inputs[0].desc = TensorDesc::i32(&[m as u32, k as u32]);
		case.data[0] = TensorData::I32(r.i32s(m * k, 1 << 11));
		case.node.inputs.push(NodeInput {
			source: Source::Weight(2),
			desc: TensorDesc::i32(&[n as u32]),
		});
		case.data.push(TensorData::I32(r.i32s(n, 1 << 28)));
		if wide_out {
			case.node.output = TensorDesc::i32(&[m as u32, n as u32]);
		}
		let want = reference(&case);
		let mut got = TensorData::zeros(want.dtype(), want.len());
		Cpu.run_node_data(&case.node, &case.refs(), &mut got);
		assert_eq!(got, want, "wide output: {wide_out}");
	}
	let conv = common::Case {
		node: Node {
			op: Op::Conv2d {
				stride: [1, 1],
				pad: [2, 2, 2, 2],
				requant: r.requant(30, 40),
				relu: false,
			},
			inputs: vec![
				NodeInput {
					source: Source::Slot(0),
					desc: TensorDesc::i8(&[1, 6, 28, 28], 1.0),
				},
				NodeInput {
					source: Source::Weight(0),
					desc: TensorDesc::i8(&[16, 6, 5, 5], 1.0),
				},
				NodeInput {
					source: Source::Weight(1),
					desc: TensorDesc::i32(&[16]),
				},
			],
			output: TensorDesc::i8(&[1, 16, 28, 28], 1.0),
		},
		data: vec![
			TensorData::I8(r.i8s(6 * 28 * 28)),
			TensorData::I8(r.i8s(16 * 6 * 25)),
			TensorData::I32(r.i32s(16, 1 << 20)),
		],
	};
	let want = reference(&conv);
	let mut got = vec![0i8; want.len()];
	Cpu.run_node(&conv.node, &conv.refs(), &mut got);
	assert_eq!(TensorData::I8(got), want);
	for t in [false, true] {
		let mm = common::Case {
			node: Node {
				op: Op::MatMul {
					transpose_b: t,
					requant: r.requant(30, 40),
				},
				inputs: vec![
					NodeInput {
						source: Source::Slot(0),
						desc: TensorDesc::i8(&[4, 32, 64], 1.0),
					},
					NodeInput {
						source: Source::Slot(0),
						desc: TensorDesc::i8(if t { &[4, 32, 64] } else { &[4, 64, 32] }, 1.0),
					},
				],
				output: TensorDesc::i8(&[4, 32, 32], 1.0),
			},
			data: vec![
				TensorData::I8(r.i8s(4 * 32 * 64)),
				TensorData::I8(r.i8s(4 * 64 * 32)),
			],
		};
		let want = reference(&mm);
		let mut got = vec![0i8; want.len()];
		Cpu.run_node(&mm.node, &mm.refs(), &mut got);
		assert_eq!(TensorData::I8(got), want);
	}
}

/// The static step bound (docs/security.md H4) on whole models with nodes far larger
/// than the random cases': every node's VM run stays below its bound, and the bound of
/// the multiply-accumulate nodes is within 8x of their run (so that it does not turn
/// away models a provider could defend). `OPML_COST_RATIOS=1` prints the ratios.
#[test]
fn the_step_bound_holds_on_large_nodes() {
	use opml_nn::{cost, zoo, Prepared};
	let g = guest();
	let models = [
		("mlp 1024-512-64", zoo::mlp(&[1024, 512, 64], 3), 1024),
		("lenet5", zoo::lenet5(4), 784),
		(
			"mobile block 32x28x28 e4",
			zoo::mobile_block(32, 28, 4, 6),
			32 * 28 * 28,
		),
		(
			"transformer 32x64 h4",
			zoo::transformer_block(32, 64, 4, 256, 5),
			32 * 64,
		),
	];
	let models = models.map(|(name, m, n)| {
		let input: Vec<i8> = (0..n).map(|i| ((i * 37) % 255) as i8).collect();
		(name, m, TensorData::I8(input))
	});
	// a federated-learning round: dense layers, their gradients, SGD (i32 Q16)
	let spec = opml_nn::fl::TrainSpec {
		sizes: vec![64, 48, 10],
		batch: 32,
		steps: 2,
		lr: 1 << 14,
	};
	let shard = opml_nn::fl::Shard {
		x: (0..64 * 64)
			.map(|i| (i * 7919 % 131_072) - 65_536)
			.collect(),
		y: (0..64).map(|i| i % 10).collect(),
		features: 64,
	};
	let round = opml_nn::fl::training_model(&spec, &shard).unwrap();
	let params = TensorData::I32(opml_nn::fl::pad(&opml_nn::fl::init_params(&spec.sizes, 1)));
	let models = models
		.into_iter()
		.chain([("training round 64-48-10 b32", round, params)]);
	for (name, model, input) in models {
		let p = Prepared::new(model).unwrap();
		let runs = g.run_model_data(&p, &input, DEFAULT_MAX_STEPS).unwrap();
		for (node, run) in p.model.graph.nodes.iter().zip(&runs) {
			let bound = cost::node_steps_bound(node);
			let work = cost::node_work(node);
			if std::env::var_os("OPML_COST_RATIOS").is_some() {
				println!(
					"large {name} {} steps {} work {work} ratio {:.2} bound/steps {:.2}",
					node.op.name(),
					run.steps,
					run.steps as f64 / work as f64,
					bound as f64 / run.steps as f64
				);
			}
			assert!(
				run.steps <= bound,
				"{name} {}: {} > {bound}",
				node.op.name(),
				run.steps
			);
			if work > 100_000 && std::env::var_os("OPML_COST_RATIOS").is_none() {
				assert!(
					bound <= 8 * run.steps,
					"{name} {}: bound {bound} is over 8 x {} steps",
					node.op.name(),
					run.steps
				);
			}
		}
	}
}

proptest! {
	#![proptest_config(ProptestConfig::with_cases(64))]
	/// A grouped convolution is, channel by channel, the plain convolution of its
	/// group's input channels with that channel's own requantization.
	#[test]
	fn group_conv_is_a_conv_per_output_channel(seed in any::<u64>()) {
		use opml_nn::{kernels::conv2d, Op, Requant};
		let case = random_case("groupconv", seed);
		let want = reference(&case);
		let Op::GroupConv2d { groups, stride, pad, requant, relu } = case.node.op.clone() else {
			unreachable!()
		};
		let d = |i: usize| {
			let s = &case.node.inputs[i].desc.shape;
			[s[0] as usize, s[1] as usize, s[2] as usize, s[3] as usize]
		};
		let ([n, c, h, w], [o, cg, kh, kw]) = (d(0), d(1));
		let os = &case.node.output.shape;
		let (oh, ow) = (os[2] as usize, os[3] as usize);
		let (x, wt, b) = match (&case.data[0], &case.data[1], &case.data[2]) {
			(TensorData::I8(x), TensorData::I8(wt), TensorData::I32(b)) => (x, wt, b),
			_ => unreachable!(),
		};
		let m = match case.data.get(3) {
			Some(TensorData::I32(m)) => Some(m),
			_ => None,
		};
		let og = o / groups as usize;
		let mut got = vec![0i8; n * o * oh * ow];
		for ni in 0..n {
			for oc in 0..o {
				let c0 = oc / og * cg;
				let xs = &x[(ni * c + c0) * h * w..(ni * c + c0 + cg) * h * w];
				let rq = Requant {
					multiplier: m.map_or(requant.multiplier, |m| m[oc]),
					shift: requant.shift,
				};
				let out = &mut got[(ni * o + oc) * oh * ow..(ni * o + oc + 1) * oh * ow];
				conv2d(
					xs,
					&wt[oc * cg * kh * kw..(oc + 1) * cg * kh * kw],
					&b[oc..oc + 1],
					[1, cg, h, w],
					[1, cg, kh, kw],
					[1, 1, oh, ow],
					stride,
					pad,
					rq,
					relu,
					out,
				);
			}
		}
		prop_assert_eq!(TensorData::I8(got), want);
	}
}

proptest! {
	#![proptest_config(ProptestConfig::with_cases(64))]
	/// `Mul` is the product of each element with the element of `b` it broadcasts
	/// from, requantized; `Lrn` with a table of ones (2^16) is the identity.
	#[test]
	fn mul_broadcasts_and_lrn_of_ones_is_identity(seed in any::<u64>()) {
		use opml_nn::{quant::requant, Op};
		let case = random_case("mul", seed);
		let Op::Mul { requant: rq } = case.node.op.clone() else { unreachable!() };
		let (a, b) = match (&case.data[0], &case.data[1]) {
			(TensorData::I8(a), TensorData::I8(b)) => (a, b),
			_ => unreachable!(),
		};
		let (sa, sb) = (&case.node.inputs[0].desc.shape, &case.node.inputs[1].desc.shape);
		let mut want = vec![0i8; a.len()];
		for (i, w) in want.iter_mut().enumerate() {
			// the multi-index of i in a, then b's index with broadcast axes at 0
			let (mut rest, mut j, mut stride_b) = (i, 0usize, 1usize);
			let mut idx = [0usize; 4];
			for d in (0..4).rev() {
				idx[d] = rest % sa[d] as usize;
				rest /= sa[d] as usize;
			}
			for d in (0..4).rev() {
				if sb[d] != 1 {
					j += idx[d] * stride_b;
				}
				stride_b *= sb[d] as usize;
			}
			*w = requant(a[i] as i32 * b[j] as i32, rq);
		}
		prop_assert_eq!(reference(&case), TensorData::I8(want));
		let mut lrn = random_case("lrn", seed);
		let ones = vec![1i32 << 16; lrn.node.inputs[1].desc.shape[0] as usize];
		lrn.data[1] = TensorData::I32(ones);
		prop_assert_eq!(reference(&lrn), lrn.data[0].clone());
	}
}
