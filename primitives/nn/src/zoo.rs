//! Reference architectures with random int8 weights (feature `std`): an MLP, a
//! LeNet-5-style CNN and a transformer encoder block. Used by the tests, the
//! benchmarks and the demo; requantization is chosen so activations keep a useful
//! range.

use crate::{quant::requant_for, types::*};

/// SplitMix64, for reproducible random weights.
#[derive(Clone, Debug)]
pub struct Rng(pub u64);

impl Rng {
	/// Next 64 random bits.
	pub fn next_u64(&mut self) -> u64 {
		self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
		let mut z = self.0;
		z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
		z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
		z ^ (z >> 31)
	}
	/// `n` random int8 values.
	pub fn i8s(&mut self, n: usize) -> Vec<i8> {
		(0..n).map(|_| self.next_u64() as i8).collect()
	}
}

/// A graph under construction.
pub struct Builder {
	input: TensorDesc,
	nodes: Vec<Node>,
	weights: Vec<Weight>,
	rng: Rng,
}

/// A tensor in a graph under construction: its slot and type.
#[derive(Clone, Debug)]
pub struct T {
	/// Graph-state slot.
	pub slot: u16,
	/// Type.
	pub desc: TensorDesc,
}

/// Typical standard deviation of a uniform int8 value.
const SD8: f64 = 74.0;
/// Target standard deviation of an activation.
const TARGET: f64 = 32.0;

impl Builder {
	/// A graph with an int8 input of `shape`.
	pub fn new(shape: &[u32], seed: u64) -> (Self, T) {
		let input = TensorDesc::i8(shape, 1.0 / 64.0);
		let t = T {
			slot: 0,
			desc: input.clone(),
		};
		(
			Builder {
				input,
				nodes: Vec::new(),
				weights: Vec::new(),
				rng: Rng(seed),
			},
			t,
		)
	}

	fn weight(&mut self, desc: TensorDesc, data: Vec<u8>) -> NodeInput {
		self.weights.push(Weight {
			desc: desc.clone(),
			data,
		});
		NodeInput {
			source: Source::Weight(self.weights.len() as u16 - 1),
			desc,
		}
	}

	fn rand_i8(&mut self, shape: &[u32]) -> NodeInput {
		let n = shape.iter().product::<u32>() as usize;
		let data = i8_bytes(&self.rng.i8s(n));
		self.weight(TensorDesc::i8(shape, 1.0 / 64.0), data)
	}

	fn rand_bias(&mut self, n: u32, lim: i64) -> NodeInput {
		let data = (0..n)
			.flat_map(|_| {
				(((self.rng.next_u64() % (2 * lim as u64 + 1)) as i64 - lim) as i32).to_le_bytes()
			})
			.collect();
		self.weight(TensorDesc::i32(&[n]), data)
	}

	/// Append a node; returns its output.
	pub fn push(&mut self, op: Op, inputs: Vec<NodeInput>, out_shape: &[u32]) -> T {
		let output = TensorDesc::i8(out_shape, 1.0 / 64.0);
		self.nodes.push(Node {
			op,
			inputs,
			output: output.clone(),
		});
		T {
			slot: self.nodes.len() as u16,
			desc: output,
		}
	}

	fn inp(t: &T) -> NodeInput {
		NodeInput {
			source: Source::Slot(t.slot),
			desc: t.desc.clone(),
		}
	}

	fn rq(k: usize) -> Requant {
		requant_for(TARGET / (SD8 * SD8 * (k as f64).sqrt()))
	}

	/// Fully connected layer to `n` outputs.
	pub fn fc(&mut self, x: &T, n: u32, relu: bool) -> T {
		let k = x.desc.last_dim() as u32;
		let w = self.rand_i8(&[n, k]);
		let b = self.rand_bias(n, 1 << 12);
		let mut shape = x.desc.shape.clone();
		*shape.last_mut().unwrap_or(&mut 0) = n;
		self.push(
			Op::FullyConnected {
				requant: Self::rq(k as usize),
				relu,
			},
			vec![Self::inp(x), w, b],
			&shape,
		)
	}

	/// Convolution with `o` output channels, square kernel `k`, padding `p`.
	pub fn conv(&mut self, x: &T, o: u32, k: u32, p: u8, relu: bool) -> T {
		let s = &x.desc.shape;
		let (n, c, h, wd) = (s[0], s[1], s[2], s[3]);
		let w = self.rand_i8(&[o, c, k, k]);
		let b = self.rand_bias(o, 1 << 12);
		let (oh, ow) = (h + 2 * p as u32 - k + 1, wd + 2 * p as u32 - k + 1);
		self.push(
			Op::Conv2d {
				stride: [1, 1],
				pad: [p; 4],
				requant: Self::rq((c * k * k) as usize),
				relu,
			},
			vec![Self::inp(x), w, b],
			&[n, o, oh, ow],
		)
	}

	/// Grouped convolution (`groups` = channels: depthwise) with `o` output channels,
	/// square kernel `k`, padding `p`, stride `stride` and per-channel multipliers
	/// spread over a factor of 4 around the layer's.
	pub fn group_conv(&mut self, x: &T, o: u32, k: u32, p: u8, stride: u8, groups: u32) -> T {
		let s = &x.desc.shape;
		let (n, c, h, wd) = (s[0], s[1], s[2], s[3]);
		let cg = c / groups.max(1);
		let w = self.rand_i8(&[o, cg, k, k]);
		let b = self.rand_bias(o, 1 << 12);
		let rq = Self::rq((cg * k * k) as usize);
		let m: Vec<u8> = (0..o)
			.flat_map(|_| {
				let f = 0.5 + (self.rng.next_u64() % 1024) as f64 / 1024.0 * 1.5;
				((rq.multiplier as f64 * f) as i32).to_le_bytes()
			})
			.collect();
		let m = self.weight(TensorDesc::i32(&[o]), m);
		let out = |d: u32| (d + 2 * p as u32 - k) / stride as u32 + 1;
		self.push(
			Op::GroupConv2d {
				groups,
				stride: [stride; 2],
				pad: [p; 4],
				requant: rq,
				relu: true,
			},
			vec![Self::inp(x), w, b, m],
			&[n, o, out(h), out(wd)],
		)
	}

	/// 2×2 max pooling, stride 2.
	pub fn maxpool2(&mut self, x: &T) -> T {
		let s = &x.desc.shape;
		let shape = [s[0], s[1], s[2] / 2, s[3] / 2];
		self.push(
			Op::MaxPool {
				kernel: [2, 2],
				stride: [2, 2],
				pad: [0; 4],
			},
			vec![Self::inp(x)],
			&shape,
		)
	}

	/// Reshape.
	pub fn reshape(&mut self, x: &T, shape: &[u32]) -> T {
		self.push(Op::Reshape, vec![Self::inp(x)], shape)
	}

	/// Transpose.
	pub fn transpose(&mut self, x: &T, perm: &[u8]) -> T {
		let shape: Vec<u32> = perm.iter().map(|&p| x.desc.shape[p as usize]).collect();
		self.push(
			Op::Transpose {
				perm: perm.to_vec(),
			},
			vec![Self::inp(x)],
			&shape,
		)
	}

	/// Batched `a · b` (or `a · bᵀ`).
	pub fn matmul(&mut self, a: &T, b: &T, transpose_b: bool) -> T {
		let r = a.desc.shape.len();
		let k = a.desc.shape[r - 1] as usize;
		let n = if transpose_b {
			b.desc.shape[r - 2]
		} else {
			b.desc.shape[r - 1]
		};
		let mut shape = a.desc.shape.clone();
		shape[r - 1] = n;
		self.push(
			Op::MatMul {
				transpose_b,
				requant: Self::rq(k),
			},
			vec![Self::inp(a), Self::inp(b)],
			&shape,
		)
	}

	/// Softmax over the last axis (input scale 1/16).
	pub fn softmax(&mut self, x: &T) -> T {
		let table: Vec<u8> = (0..256)
			.flat_map(|d| ((65536.0 * (-(d as f64) / 16.0).exp()).round() as i32).to_le_bytes())
			.collect();
		let t = self.weight(TensorDesc::i32(&[256]), table);
		let shape = x.desc.shape.clone();
		self.push(Op::Softmax, vec![Self::inp(x), t], &shape)
	}

	/// Residual sum `(a + b) / 2`.
	pub fn add(&mut self, a: &T, b: &T) -> T {
		let shape = a.desc.shape.clone();
		self.push(
			Op::Add {
				a_mult: 1 << 20,
				b_mult: 1 << 20,
				shift: 21,
				relu: false,
			},
			vec![Self::inp(a), Self::inp(b)],
			&shape,
		)
	}

	/// Layer norm over the last axis.
	pub fn layer_norm(&mut self, x: &T) -> T {
		let d = x.desc.last_dim() as u32;
		let g = self.rand_i8(&[d]);
		let b = self.rand_bias(d, 1 << 16);
		let shape = x.desc.shape.clone();
		// z ≈ N(0, 1)·2^16, γ ≈ 74: acc ≈ 2^16·74 → 32
		let requant = requant_for(TARGET / (65536.0 * SD8));
		self.push(
			Op::LayerNorm { eps: 1, requant },
			vec![Self::inp(x), g, b],
			&shape,
		)
	}

	/// GELU by lookup table (input and output scale 1/16).
	pub fn gelu(&mut self, x: &T) -> T {
		let table: Vec<u8> = (-128i32..128)
			.map(|q| {
				let v = q as f64 / 16.0;
				let g = 0.5 * v * (1.0 + libm_erf(v / std::f64::consts::SQRT_2));
				((g * 16.0).round().clamp(-128.0, 127.0) as i8) as u8
			})
			.collect();
		let t = self.weight(TensorDesc::i8(&[256], 1.0 / 16.0), table);
		let shape = x.desc.shape.clone();
		self.push(Op::Lut, vec![Self::inp(x), t], &shape)
	}

	/// The model.
	pub fn finish(self) -> Model {
		Model {
			graph: Graph {
				input: self.input,
				nodes: self.nodes,
			},
			weights: self.weights,
		}
	}
}

/// `erf` (Abramowitz–Stegun 7.1.26, |error| < 1.5e-7): only for building tables.
pub fn libm_erf(x: f64) -> f64 {
	let t = 1.0 / (1.0 + 0.3275911 * x.abs());
	let y = 1.0
		- (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t
			+ 0.254829592)
			* t * (-x * x).exp();
	if x >= 0.0 {
		y
	} else {
		-y
	}
}

/// A chain of `nodes` ReLUs on an int8 input of shape `shape`, each
/// reading the previous node, with `weights` unused two-byte weights: the smallest model
/// at a given node and weight count, for the format's limits and registration costs.
pub fn relu_chain(shape: &[u32], nodes: usize, weights: usize) -> Model {
	let x = TensorDesc::i8(shape, 0.05);
	let graph = Graph {
		input: x.clone(),
		nodes: (0..nodes)
			.map(|j| Node {
				op: Op::Relu,
				inputs: vec![NodeInput {
					source: Source::Slot(j as u16),
					desc: x.clone(),
				}],
				output: x.clone(),
			})
			.collect(),
	};
	let weights = (0..weights)
		.map(|i| Weight {
			desc: TensorDesc::i8(&[2], 0.05),
			data: vec![i as u8, (i >> 8) as u8],
		})
		.collect();
	Model { graph, weights }
}

/// An MLP with layer widths `sizes` (input first), ReLU between layers.
pub fn mlp(sizes: &[u32], seed: u64) -> Model {
	let (mut b, mut x) = Builder::new(&[1, sizes[0]], seed);
	for (i, &n) in sizes[1..].iter().enumerate() {
		x = b.fc(&x, n, i + 2 < sizes.len());
	}
	b.finish()
}

/// A MobileNetV2-style inverted residual block on `1×c×h×h`: 1×1 expansion to
/// `expand·c` channels, 3×3 depthwise, 1×1 projection back (grouped convolutions
/// with per-channel multipliers), then the residual sum.
pub fn mobile_block(c: u32, h: u32, expand: u32, seed: u64) -> Model {
	let (mut b, x) = Builder::new(&[1, c, h, h], seed);
	let e = b.group_conv(&x, c * expand, 1, 0, 1, 1);
	let d = b.group_conv(&e, c * expand, 3, 1, 1, c * expand);
	let y = b.group_conv(&d, c, 1, 0, 1, 1);
	b.add(&x, &y);
	b.finish()
}

/// A LeNet-5-style CNN on `1×1×28×28`: conv 6@5×5 (pad 2) → max pool → conv 16@5×5 →
/// max pool → 400 → 120 → 84 → 10.
pub fn lenet5(seed: u64) -> Model {
	let (mut b, x) = Builder::new(&[1, 1, 28, 28], seed);
	let x = b.conv(&x, 6, 5, 2, true);
	let x = b.maxpool2(&x);
	let x = b.conv(&x, 16, 5, 0, true);
	let x = b.maxpool2(&x);
	let x = b.reshape(&x, &[1, 400]);
	let x = b.fc(&x, 120, true);
	let x = b.fc(&x, 84, true);
	b.fc(&x, 10, false);
	b.finish()
}

/// A transformer encoder block on `[seq, d]` with `heads` heads and an FFN of width
/// `ff`: multi-head self-attention (Q·Kᵀ, softmax, ·V), residual, layer norm, FFN with
/// GELU, residual, layer norm.
pub fn transformer_block(seq: u32, d: u32, heads: u32, ff: u32, seed: u64) -> Model {
	let dh = d / heads;
	let (mut b, x) = Builder::new(&[seq, d], seed);
	let split = |b: &mut Builder, t: &T| {
		let t = b.reshape(t, &[seq, heads, dh]);
		b.transpose(&t, &[1, 0, 2])
	};
	let q = b.fc(&x, d, false);
	let k = b.fc(&x, d, false);
	let v = b.fc(&x, d, false);
	let (q, k, v) = (split(&mut b, &q), split(&mut b, &k), split(&mut b, &v));
	let s = b.matmul(&q, &k, true);
	let p = b.softmax(&s);
	let c = b.matmul(&p, &v, false);
	let c = b.transpose(&c, &[1, 0, 2]);
	let c = b.reshape(&c, &[seq, d]);
	let o = b.fc(&c, d, false);
	let r = b.add(&x, &o);
	let h = b.layer_norm(&r);
	let f = b.fc(&h, ff, false);
	let f = b.gelu(&f);
	let f = b.fc(&f, d, false);
	let r2 = b.add(&h, &f);
	b.layer_norm(&r2);
	b.finish()
}
