//! Federated learning graphs (feature `std`): a training round of an MLP as an
//! ordinary graph of [`crate::train`] ops, and federated averaging as another, so
//! that a round's update and the aggregate are tasks like any inference (committed,
//! revealed, disputable down to one VM instruction).
//!
//! - **Parameters** are one flat i32 Q16 vector: for each layer `l`, its weight
//!   `[n_(l+1), n_l]` (row-major) then its bias `[n_(l+1)]` ([`param_count`]),
//!   zero-padded to a power of two ([`padded_len`], [`pad`]).
//! - **A round** ([`training_model`]): graph input = the parameters; model weights =
//!   the pool's shard (features `[S, K]` i32 Q16 and labels `[S]` i32, committed by
//!   the model commitment, so "the shard's root" is part of the model); `steps`
//!   mini-batch SGD steps of `batch` rows each, batch `s` being rows
//!   `(s mod (S / batch)) · batch ..`; output = the new parameters.
//! - **Aggregation** ([`fedavg_model`]): graph input = the `P` pools' parameter
//!   vectors stacked `[P, n]`; output = their mean ([`Op::MeanRows`]).
//!
//! [`evaluate`] computes loss and accuracy in floating point (off chain: progress
//! reports only; nothing committed depends on it).

use crate::{
	error::NnError,
	train::{from_q16, to_q16},
	types::*,
	zoo::Rng,
};
use alloc::{vec, vec::Vec};

/// Number of parameters of an MLP with layer widths `sizes` (input first).
pub fn param_count(sizes: &[u32]) -> usize {
	sizes
		.windows(2)
		.map(|w| (w[0] as usize + 1) * w[1] as usize)
		.sum()
}

/// The length of a padded parameter vector: the next power of two, at least 8 (so a
/// vector's 4-byte entries fill whole 32-byte Merkle leaves and its tensor root is a
/// whole subtree: the chain stacks the pools' update roots into the aggregation's
/// input root without the bytes, see `merkle::subtrees_root`).
pub fn padded_len(n: usize) -> usize {
	n.next_power_of_two().max(8)
}

/// `params` zero-padded to [`padded_len`].
pub fn pad(params: &[i32]) -> Vec<i32> {
	let mut p = params.to_vec();
	p.resize(padded_len(params.len()), 0);
	p
}

/// Deterministic initial parameters (uniform Glorot/Xavier weights from `seed`, zero
/// biases), Q16.
pub fn init_params(sizes: &[u32], seed: u64) -> Vec<i32> {
	let mut r = Rng(seed);
	let mut p = Vec::with_capacity(param_count(sizes));
	for w in sizes.windows(2) {
		let (fan_in, fan_out) = (w[0] as usize, w[1] as usize);
		let lim = (6.0 / (fan_in + fan_out) as f64).sqrt();
		for _ in 0..fan_in * fan_out {
			let u = (r.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
			p.push(to_q16(((2.0 * u - 1.0) * lim) as f32));
		}
		p.extend(core::iter::repeat_n(0, fan_out));
	}
	p
}

/// A pool's shard: `rows` examples of `features` Q16 features and an i32 label each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shard {
	/// Features, row-major `[rows, features]`, Q16.
	pub x: Vec<i32>,
	/// Labels `[rows]`.
	pub y: Vec<i32>,
	/// Features per row.
	pub features: u32,
}

impl Shard {
	/// Number of examples.
	pub fn rows(&self) -> usize {
		self.y.len()
	}

	/// Rows `start..start + len` as a shard.
	pub fn rows_range(&self, start: usize, len: usize) -> Shard {
		let k = self.features as usize;
		Shard {
			x: self.x[start * k..(start + len) * k].to_vec(),
			y: self.y[start..start + len].to_vec(),
			features: self.features,
		}
	}
}

/// A round's training: MLP widths, mini-batch size, SGD steps and learning rate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrainSpec {
	/// Layer widths, input first, classes last (at least two entries).
	pub sizes: Vec<u32>,
	/// Rows per mini-batch (divides into the shard at least once).
	pub batch: u32,
	/// SGD steps per round.
	pub steps: u32,
	/// Learning rate, Q16.
	pub lr: i32,
}

/// Greatest number of SGD steps one round's graph holds for `layers` dense layers.
pub fn max_steps(layers: usize) -> usize {
	let fixed = 2 * layers + 1 + concat_nodes(2 * layers + 1);
	MAX_NODES.saturating_sub(fixed) / (4 * layers + 2)
}

fn concat_nodes(parts: usize) -> usize {
	// each Concat joins up to MAX_NODE_INPUTS tensors; chained, it takes the previous
	// concatenation as its first input
	if parts <= 1 {
		1
	} else {
		(parts - 1).div_ceil(MAX_NODE_INPUTS - 1)
	}
}

struct Builder {
	nodes: Vec<Node>,
	descs: Vec<TensorDesc>,
	weights: Vec<TensorDesc>,
}

impl Builder {
	fn desc(&self, s: Source) -> TensorDesc {
		match s {
			Source::Slot(0) => self.descs[0].clone(),
			Source::Slot(j) => self.descs[j as usize].clone(),
			Source::Weight(w) => self.weights[w as usize].clone(),
		}
	}

	fn push(&mut self, op: Op, inputs: &[Source], output: TensorDesc) -> Source {
		let inputs = inputs
			.iter()
			.map(|&source| NodeInput {
				source,
				desc: self.desc(source),
			})
			.collect();
		self.nodes.push(Node {
			op,
			inputs,
			output: output.clone(),
		});
		self.descs.push(output);
		Source::Slot(self.nodes.len() as u16)
	}
}

fn i32d(shape: &[u32]) -> TensorDesc {
	TensorDesc::i32(shape)
}

/// The graph of one training round of `spec` on `shard` (see the module docs): a
/// checked model whose input is the parameter vector and whose output is the new one.
pub fn training_model(spec: &TrainSpec, shard: &Shard) -> Result<Model, NnError> {
	let sizes = &spec.sizes;
	let layers = sizes.len().saturating_sub(1);
	let (rows, b) = (shard.rows(), spec.batch as usize);
	let bad = NnError::Shape {
		node: 0,
		op: "training round",
	};
	if layers == 0
		|| b == 0
		|| rows < b
		|| spec.steps == 0
		|| spec.steps as usize > max_steps(layers)
		|| shard.features != sizes[0]
		|| shard.x.len() != rows * sizes[0] as usize
		|| spec.lr < 0
	{
		return Err(bad);
	}
	let n = param_count(sizes) as u32;
	// input and output are padded; the pad is carried through unchanged
	let n_pad = padded_len(n as usize) as u32;
	let mut g = Builder {
		nodes: Vec::new(),
		descs: vec![i32d(&[n_pad])],
		weights: vec![i32d(&[rows as u32, sizes[0]]), i32d(&[rows as u32])],
	};
	// the parameters, sliced into layers
	let mut params: Vec<(Source, Source)> = Vec::with_capacity(layers);
	let mut at = 0u32;
	for w in sizes.windows(2) {
		let (i, o) = (w[0], w[1]);
		let wl = g.push(Op::Slice { offset: at }, &[Source::Slot(0)], i32d(&[o, i]));
		at += i * o;
		let bl = g.push(Op::Slice { offset: at }, &[Source::Slot(0)], i32d(&[o]));
		at += o;
		params.push((wl, bl));
	}
	let batches = (rows / b) as u32;
	for s in 0..spec.steps {
		let row0 = (s % batches) * b as u32;
		let x = g.push(
			Op::Slice {
				offset: row0 * sizes[0],
			},
			&[Source::Weight(0)],
			i32d(&[b as u32, sizes[0]]),
		);
		let y = g.push(
			Op::Slice { offset: row0 },
			&[Source::Weight(1)],
			i32d(&[b as u32]),
		);
		// forward: activations[l] is layer l's input
		let mut acts = vec![x];
		for (l, &(wl, bl)) in params.iter().enumerate() {
			let relu = l + 1 < layers;
			let out = g.push(
				Op::Dense { relu },
				&[acts[l], wl, bl],
				i32d(&[b as u32, sizes[l + 1]]),
			);
			acts.push(out);
		}
		let logits = acts[layers];
		let mut dy = g.push(
			Op::SoftmaxXentGrad,
			&[logits, y],
			i32d(&[b as u32, sizes[layers]]),
		);
		// backward, last layer first; gradients use the weights before this step
		let mut new = params.clone();
		for l in (0..layers).rev() {
			let (wl, bl) = params[l];
			let (i, o) = (sizes[l], sizes[l + 1]);
			let dx = if l > 0 {
				Some(g.push(
					Op::DenseGradInput { relu: true },
					&[dy, wl, acts[l]],
					i32d(&[b as u32, i]),
				))
			} else {
				None
			};
			let w2 = g.push(
				Op::SgdWeight { lr: spec.lr },
				&[acts[l], dy, wl],
				i32d(&[o, i]),
			);
			let b2 = g.push(Op::SgdBias { lr: spec.lr }, &[dy, bl], i32d(&[o]));
			new[l] = (w2, b2);
			if let Some(dx) = dx {
				dy = dx;
			}
		}
		params = new;
	}
	// the new parameters, concatenated in order, then the input's padding
	let mut parts: Vec<Source> = params.iter().flat_map(|&(w, b)| [w, b]).collect();
	if n_pad > n {
		parts.push(g.push(
			Op::Slice { offset: n },
			&[Source::Slot(0)],
			i32d(&[n_pad - n]),
		));
	}
	let mut acc = parts[0];
	let mut len = g.desc(acc).elements().unwrap_or(0) as u32;
	let mut rest = &parts[1..];
	if rest.is_empty() {
		acc = g.push(Op::Concat, &[acc], i32d(&[len]));
	}
	while !rest.is_empty() {
		let take = rest.len().min(MAX_NODE_INPUTS - 1);
		let mut ins = vec![acc];
		ins.extend_from_slice(&rest[..take]);
		len += rest[..take]
			.iter()
			.map(|&s| g.desc(s).elements().unwrap_or(0) as u32)
			.sum::<u32>();
		acc = g.push(Op::Concat, &ins, i32d(&[len]));
		rest = &rest[take..];
	}
	let model = Model {
		graph: Graph {
			input: i32d(&[n_pad]),
			nodes: g.nodes,
		},
		weights: vec![
			Weight {
				desc: g.weights[0].clone(),
				data: TensorData::I32(shard.x.clone()).to_bytes(),
			},
			Weight {
				desc: g.weights[1].clone(),
				data: TensorData::I32(shard.y.clone()).to_bytes(),
			},
		],
	};
	crate::check::check_model(&model)?;
	Ok(model)
}

/// Federated averaging of `pools` parameter vectors of `n` entries: graph input
/// `[pools, n]` i32, output `[n]` (round half up).
pub fn fedavg_model(pools: u32, n: u32) -> Result<Model, NnError> {
	let model = Model {
		graph: Graph {
			input: i32d(&[pools, n]),
			nodes: vec![Node {
				op: Op::MeanRows,
				inputs: vec![NodeInput {
					source: Source::Slot(0),
					desc: i32d(&[pools, n]),
				}],
				output: i32d(&[n]),
			}],
		},
		weights: vec![],
	};
	crate::check::check_model(&model)?;
	Ok(model)
}

/// A whole job computed off chain with `backend`: `rounds` rounds from the padded
/// parameters `params`, each pool training on its shard and the pools' updates
/// averaged (the same graphs the chain's tasks run, so the same bits); returns the
/// parameters after each round.
pub fn run_job<B: crate::Backend>(
	backend: &B,
	spec: &TrainSpec,
	shards: &[Shard],
	params: &[i32],
	rounds: u32,
) -> Result<Vec<Vec<i32>>, NnError> {
	let pools = shards
		.iter()
		.map(|s| crate::Prepared::new(training_model(spec, s)?))
		.collect::<Result<Vec<_>, _>>()?;
	let avg = crate::Prepared::new(fedavg_model(shards.len() as u32, params.len() as u32)?)?;
	let i32s = |e: crate::Execution| -> Result<Vec<i32>, NnError> {
		e.output_data()
			.and_then(|o| o.as_i32())
			.map(|o| o.to_vec())
			.ok_or(NnError::DataMismatch)
	};
	let mut params = params.to_vec();
	let mut after = Vec::with_capacity(rounds as usize);
	for _ in 0..rounds {
		let mut stacked = Vec::with_capacity(params.len() * pools.len());
		for m in &pools {
			stacked.extend(i32s(m.run_data(backend, TensorData::I32(params.clone()))?)?);
		}
		params = i32s(avg.run_data(backend, TensorData::I32(stacked))?)?;
		after.push(params.clone());
	}
	Ok(after)
}

/// Mean softmax cross-entropy and accuracy of the MLP `params` on `shard`, in
/// floating point (off-chain reporting).
pub fn evaluate(sizes: &[u32], params: &[i32], shard: &Shard) -> (f64, f64) {
	let layers: Vec<(usize, usize, usize)> = {
		let mut at = 0;
		sizes
			.windows(2)
			.map(|w| {
				let (i, o) = (w[0] as usize, w[1] as usize);
				let l = (at, i, o);
				at += (i + 1) * o;
				l
			})
			.collect()
	};
	let k = shard.features as usize;
	let (mut loss, mut correct) = (0.0f64, 0usize);
	for (r, &label) in shard.y.iter().enumerate() {
		let mut a: Vec<f64> = shard.x[r * k..(r + 1) * k]
			.iter()
			.map(|&v| from_q16(v) as f64)
			.collect();
		for (li, &(at, i, o)) in layers.iter().enumerate() {
			let w = &params[at..at + i * o];
			let bias = &params[at + i * o..at + i * o + o];
			let mut z: Vec<f64> = (0..o)
				.map(|j| {
					from_q16(bias[j]) as f64
						+ (0..i)
							.map(|q| from_q16(w[j * i + q]) as f64 * a[q])
							.sum::<f64>()
				})
				.collect();
			if li + 1 < layers.len() {
				z.iter_mut().for_each(|v| *v = v.max(0.0));
			}
			a = z;
		}
		let m = a.iter().cloned().fold(f64::MIN, f64::max);
		let lse = m + a.iter().map(|v| (v - m).exp()).sum::<f64>().ln();
		let l = label.clamp(0, a.len() as i32 - 1) as usize;
		loss += lse - a[l];
		let arg = a
			.iter()
			.enumerate()
			.fold(0, |best, (j, v)| if *v > a[best] { j } else { best });
		correct += (arg == l) as usize;
	}
	let n = shard.rows().max(1) as f64;
	(loss / n, correct as f64 / n)
}

/// The scikit-learn digits set in `examples/digits/digits.u8` (records of 64 pixel
/// values `0..=16` then the label): features scaled to `[0, 1]` in Q16.
pub fn digits_shard(bytes: &[u8]) -> Option<Shard> {
	if bytes.is_empty() || !bytes.len().is_multiple_of(65) {
		return None;
	}
	let mut x = Vec::with_capacity(bytes.len() / 65 * 64);
	let mut y = Vec::with_capacity(bytes.len() / 65);
	for rec in bytes.chunks_exact(65) {
		x.extend(rec[..64].iter().map(|&p| ((p as i32) << 16) / 16));
		y.push(rec[64] as i32);
	}
	Some(Shard { x, y, features: 64 })
}
