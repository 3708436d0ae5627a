//! Figures for docs/benchmarks.md: native latency (reference kernels, CPU backend) and
//! whole-model execution node by node inside the VM, for an MNIST-size MLP
//! (784-128-10) and a LeNet-5-style CNN at 28×28, plus the transformer block.
//!
//!     cargo bench -p opml-nn --bench nn
//!
//! Prints one table; the target is "whole model in the VM ≤ 50 ms".

use opml_nn::{
	cpu::Cpu,
	types::*,
	vm::{Guest, DEFAULT_MAX_STEPS},
	zoo, Backend, Prepared, Reference,
};
use std::time::{Duration, Instant};

fn macs(m: &Model) -> u64 {
	m.graph
		.nodes
		.iter()
		.map(|n| {
			let p = |s: &[u32]| s.iter().map(|&d| d as u64).product::<u64>();
			let out = p(&n.output.shape);
			match &n.op {
				Op::FullyConnected { .. } | Op::MatMul { .. } => {
					out * *n.inputs[0].desc.shape.last().unwrap_or(&1) as u64
				}
				Op::Conv2d { .. } | Op::GroupConv2d { .. } => out * p(&n.inputs[1].desc.shape[1..]),
				_ => 0,
			}
		})
		.sum()
}

/// Median of `runs` timings of `f`.
fn median(runs: usize, mut f: impl FnMut()) -> Duration {
	let mut t: Vec<Duration> = (0..runs)
		.map(|_| {
			let s = Instant::now();
			f();
			s.elapsed()
		})
		.collect();
	t.sort();
	t[runs / 2]
}

fn ms(d: Duration) -> f64 {
	d.as_secs_f64() * 1e3
}

fn bench<B: Backend>(p: &Prepared, b: &B, input: &[i8], runs: usize) -> Duration {
	median(runs, || {
		std::hint::black_box(p.run(b, input).unwrap());
	})
}

fn main() {
	let guest = Guest::builtin().unwrap();
	println!(
		"{:<22} {:>9} {:>6} {:>11} {:>11} {:>11} {:>11} {:>11} {:>9}",
		"model",
		"MACs",
		"nodes",
		"ref ms",
		"cpu ms",
		"vm exec ms",
		"vm+roots ms",
		"VM steps",
		"instr/MAC"
	);
	let models = [
		("MLP 784-128-10", zoo::mlp(&[784, 128, 10], 1)),
		("LeNet-5 28x28", zoo::lenet5(2)),
		(
			"transformer 16x64 h4",
			zoo::transformer_block(16, 64, 4, 256, 3),
		),
	];
	for (name, m) in models {
		let p = Prepared::new(m.clone()).unwrap();
		let input = zoo::Rng(7).i8s(m.graph.input.elements().unwrap());
		let native = p.run(&Reference, &input).unwrap();
		let input_data = TensorData::I8(input.clone());
		let t_ref = bench(&p, &Reference, &input, 51);
		let t_cpu = bench(&p, &Cpu, &input, 51);
		// VM, node by node: build each node's machine from the previous VM outputs and
		// run it to the halt (what a verifier does to get the node's final state) ...
		let mut steps = 0u64;
		let t_exec = median(11, || {
			steps = 0;
			let mut outs: Vec<TensorData> = Vec::new();
			for node in &m.graph.nodes {
				let bytes = p.input_bytes(node, |s| match s {
					0 => &input_data,
					s => &outs[s as usize - 1],
				});
				let refs: Vec<&[u8]> = bytes.iter().map(|b| b.as_ref()).collect();
				let mut vm = guest.node_vm(node, &refs).unwrap();
				vm.run_until(DEFAULT_MAX_STEPS);
				steps += vm.cpu.step;
				let n = node.output.elements().unwrap();
				outs.push(TensorData::I8(
					vm.mem
						.read_bytes(opml_nn::layout::OUTPUT_BASE, n)
						.into_iter()
						.map(|b| b as i8)
						.collect(),
				));
			}
			assert_eq!(outs.last().and_then(|o| o.as_i8()), Some(native.output()));
		});
		// ... and including every node's final state root (Merkleizing dirty pages)
		let t_roots = median(11, || {
			std::hint::black_box(guest.run_model(&p, &input, DEFAULT_MAX_STEPS).unwrap());
		});
		let mac = macs(&m);
		println!(
			"{:<22} {:>9} {:>6} {:>11.3} {:>11.3} {:>11.2} {:>11.2} {:>11} {:>9.2}",
			name,
			mac,
			m.graph.nodes.len(),
			ms(t_ref),
			ms(t_cpu),
			ms(t_exec),
			ms(t_roots),
			steps,
			steps as f64 / mac as f64
		);
	}
}
