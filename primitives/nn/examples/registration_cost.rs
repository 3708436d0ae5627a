//! What the chain's registration check (`registration::verify_graph_registration`)
//! costs per graph byte, natively: for the market's `register_model` weight, whose
//! graph term is a hand estimate until `scripts/weights` is rerun.
//!
//! `cargo run --release -p opml-nn --example registration_cost`

use opml_nn::{
	commit::model_commitment,
	registration::{graph_registration, verify_graph_registration},
	types::*,
	zoo,
};
use std::time::Instant;

fn main() {
	let models = [
		(
			"relu chain, MAX_NODES",
			zoo::relu_chain(&[2, 2, 2, 2], MAX_NODES, 0),
		),
		("relu chain, 64", zoo::relu_chain(&[2, 2, 2, 2], 64, 0)),
		("lenet5", zoo::lenet5(2)),
		("transformer block", zoo::transformer_block(8, 16, 2, 32, 3)),
	];
	for (name, m) in models {
		let c = model_commitment(&m).unwrap();
		let (g, s) = graph_registration(&m).unwrap();
		let reps = 20;
		let t = Instant::now();
		for _ in 0..reps {
			verify_graph_registration(&c, &g, &s, u64::MAX).unwrap();
		}
		let per = t.elapsed().as_secs_f64() / reps as f64;
		println!(
			"{name}: {} nodes, {} bytes, {:.3} ms, {:.0} ns per byte",
			m.graph.nodes.len(),
			g.len(),
			per * 1e3,
			per * 1e9 / g.len() as f64
		);
	}
}
