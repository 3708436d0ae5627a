//! Shared test helpers: a small deterministic RNG and random nodes of every op.
#![allow(dead_code)]

use opml_nn::{types::*, TensorData};

pub use opml_nn::zoo::Rng;

/// Test conveniences on the zoo's SplitMix64.
pub trait RngExt {
	/// Uniform in `lo..=hi`.
	fn range(&mut self, lo: i64, hi: i64) -> i64;
	/// `n` values in `-lim..=lim`.
	fn i32s(&mut self, n: usize, lim: i64) -> Vec<i32>;
	/// A requantization with a large multiplier and a shift in `lo..=hi`.
	fn requant(&mut self, lo: i64, hi: i64) -> Requant;
	/// Next 64 bits.
	fn next(&mut self) -> u64;
}

impl RngExt for Rng {
	fn range(&mut self, lo: i64, hi: i64) -> i64 {
		lo + (self.next_u64() % ((hi - lo + 1) as u64)) as i64
	}
	fn i32s(&mut self, n: usize, lim: i64) -> Vec<i32> {
		(0..n).map(|_| self.range(-lim, lim) as i32).collect()
	}
	fn requant(&mut self, lo: i64, hi: i64) -> Requant {
		Requant {
			multiplier: self.range(1 << 29, (1 << 31) - 1) as i32,
			shift: self.range(lo, hi) as u8,
		}
	}
	fn next(&mut self) -> u64 {
		self.next_u64()
	}
}

/// A node with its input data.
pub struct Case {
	pub node: Node,
	pub data: Vec<TensorData>,
}

impl Case {
	pub fn refs(&self) -> Vec<TensorRef<'_>> {
		self.data.iter().map(|d| d.as_ref()).collect()
	}
	pub fn bytes(&self) -> Vec<Vec<u8>> {
		self.data.iter().map(|d| d.to_bytes()).collect()
	}
}

fn input(i: u16, desc: TensorDesc) -> NodeInput {
	let source = if i == 0 {
		Source::Slot(0)
	} else {
		Source::Weight(i - 1)
	};
	NodeInput { source, desc }
}

fn i8d(shape: &[usize]) -> TensorDesc {
	TensorDesc::i8(&shape.iter().map(|&d| d as u32).collect::<Vec<_>>(), 0.05)
}

fn i32d(shape: &[usize]) -> TensorDesc {
	TensorDesc::i32(&shape.iter().map(|&d| d as u32).collect::<Vec<_>>())
}

fn node(op: Op, ins: Vec<TensorDesc>, out: TensorDesc) -> Node {
	Node {
		op,
		inputs: ins
			.into_iter()
			.enumerate()
			.map(|(i, d)| input(i as u16, d))
			.collect(),
		output: out,
	}
}

/// The op kinds, for per-op tests.
pub const OPS: &[&str] = &[
	"fc",
	"matmul",
	"add",
	"relu",
	"conv",
	"maxpool",
	"avgpool",
	"reshape",
	"transpose",
	"softmax",
	"layernorm",
	"lut",
	"slice",
	"concat",
	"dense",
	"xentgrad",
	"densegradinput",
	"sgdweight",
	"sgdbias",
	"meanrows",
	"gather",
	"maskedsoftmax",
	"poolnormalize",
	"fcwide",
	"addwide",
	"layernormwide",
	"matmulwide",
	"groupconv",
	"mul",
	"lrn",
];

/// Q16 values: mostly realistic (|v| < 4.0), sometimes huge (saturation and
/// wrapping paths).
fn q16s(r: &mut Rng, n: usize) -> Vec<i32> {
	let lim = if r.next().is_multiple_of(8) {
		i32::MAX as i64
	} else {
		1 << 18
	};
	r.i32s(n, lim)
}

/// A fully connected layer's input `[m, k]`: int8, or wide (i32) as a table's wide
/// output gives (|x| < 2^11), sometimes any i32 (wrapping sums).
fn fc_input(r: &mut Rng, m: usize, k: usize) -> (TensorDesc, TensorData) {
	match r.next() % 4 {
		0 => (i32d(&[m, k]), TensorData::I32(r.i32s(m * k, 1 << 11))),
		1 => (
			i32d(&[m, k]),
			TensorData::I32(r.i32s(m * k, i32::MAX as i64)),
		),
		_ => (i8d(&[m, k]), TensorData::I8(r.i8s(m * k))),
	}
}

/// A random valid node of kind `op` (sizes kept small enough for the VM) and its data.
pub fn random_case(op: &str, seed: u64) -> Case {
	let mut r = Rng(seed);
	let mut dim = |lo: i64, hi: i64| r.range(lo, hi) as usize;
	match op {
		"fc" => {
			let (m, k, n) = (dim(1, 3), dim(1, 48), dim(1, 24));
			let mut r = Rng(seed ^ 1);
			let rq = r.requant(28, 44);
			let relu = r.next().is_multiple_of(2);
			let (xd, x) = fc_input(&mut r, m, k);
			let mut ins = vec![xd, i8d(&[n, k]), i32d(&[n])];
			let mut data = vec![
				x,
				TensorData::I8(r.i8s(n * k)),
				TensorData::I32(r.i32s(n, 1 << 20)),
			];
			// per-channel multipliers (any i32, mostly in the usual range)
			if r.next().is_multiple_of(2) {
				ins.push(i32d(&[n]));
				let lim = if r.next().is_multiple_of(4) {
					i32::MAX as i64
				} else {
					1 << 31
				};
				data.push(TensorData::I32(r.i32s(n, lim - 1)));
			}
			Case {
				node: node(Op::FullyConnected { requant: rq, relu }, ins, i8d(&[m, n])),
				data,
			}
		}
		"matmul" => {
			let (b, m, k, n) = (dim(1, 3), dim(1, 8), dim(1, 16), dim(1, 8));
			let rank3 = dim(0, 1) == 1;
			let mut r = Rng(seed ^ 2);
			let t = r.next().is_multiple_of(2);
			let sh = |d: &[usize]| if rank3 { d.to_vec() } else { d[1..].to_vec() };
			let b = if rank3 { b } else { 1 };
			let bshape = if t { [b, n, k] } else { [b, k, n] };
			Case {
				node: node(
					Op::MatMul {
						transpose_b: t,
						requant: r.requant(28, 40),
					},
					vec![i8d(&sh(&[b, m, k])), i8d(&sh(&bshape))],
					i8d(&sh(&[b, m, n])),
				),
				data: vec![
					TensorData::I8(r.i8s(b * m * k)),
					TensorData::I8(r.i8s(b * k * n)),
				],
			}
		}
		"add" => {
			let shape = [dim(1, 3), dim(1, 20)];
			let mut r = Rng(seed ^ 3);
			let n = shape[0] * shape[1];
			let op = Op::Add {
				a_mult: r.range(-(1 << 22), 1 << 22) as i32,
				b_mult: r.range(-(1 << 22), 1 << 22) as i32,
				shift: r.range(14, 24) as u8,
				relu: r.next().is_multiple_of(2),
			};
			Case {
				node: node(op, vec![i8d(&shape), i8d(&shape)], i8d(&shape)),
				data: vec![TensorData::I8(r.i8s(n)), TensorData::I8(r.i8s(n))],
			}
		}
		"relu" | "reshape" => {
			let (a, b) = (dim(1, 6), dim(1, 10));
			let mut r = Rng(seed ^ 4);
			let (op, out) = if op == "relu" {
				(Op::Relu, i8d(&[a, b]))
			} else {
				(Op::Reshape, i8d(&[a * b]))
			};
			Case {
				node: node(op, vec![i8d(&[a, b])], out),
				data: vec![TensorData::I8(r.i8s(a * b))],
			}
		}
		"conv" => {
			let (n, c, h, w, o) = (dim(1, 2), dim(1, 3), dim(1, 9), dim(1, 9), dim(1, 4));
			let (kh, kw) = (dim(1, 4), dim(1, 4));
			let pad = [
				dim(0, kh as i64 - 1) as u8,
				dim(0, kw as i64 - 1) as u8,
				dim(0, kh as i64 - 1) as u8,
				dim(0, kw as i64 - 1) as u8,
			];
			let stride = [dim(1, 3) as u8, dim(1, 3) as u8];
			let ph = h + pad[0] as usize + pad[2] as usize;
			let pw = w + pad[1] as usize + pad[3] as usize;
			// keep the kernel within the padded input
			let (kh, kw) = (kh.min(ph), kw.min(pw));
			let pad = [
				pad[0].min(kh as u8 - 1),
				pad[1].min(kw as u8 - 1),
				pad[2].min(kh as u8 - 1),
				pad[3].min(kw as u8 - 1),
			];
			let ph = h + pad[0] as usize + pad[2] as usize;
			let pw = w + pad[1] as usize + pad[3] as usize;
			let (kh, kw) = (kh.min(ph), kw.min(pw));
			let oh = (ph - kh) / stride[0] as usize + 1;
			let ow = (pw - kw) / stride[1] as usize + 1;
			let mut r = Rng(seed ^ 5);
			Case {
				node: node(
					Op::Conv2d {
						stride,
						pad,
						requant: r.requant(28, 42),
						relu: r.next().is_multiple_of(2),
					},
					vec![i8d(&[n, c, h, w]), i8d(&[o, c, kh, kw]), i32d(&[o])],
					i8d(&[n, o, oh, ow]),
				),
				data: vec![
					TensorData::I8(r.i8s(n * c * h * w)),
					TensorData::I8(r.i8s(o * c * kh * kw)),
					TensorData::I32(r.i32s(o, 1 << 18)),
				],
			}
		}
		"groupconv" => {
			// groups of 1..=3 input and output channels, depthwise included
			let (groups, cg, og) = (dim(1, 4), dim(1, 3), dim(1, 3));
			let (n, h, w) = (dim(1, 2), dim(1, 9), dim(1, 9));
			let (c, o) = (groups * cg, groups * og);
			let stride = [dim(1, 3) as u8, dim(1, 3) as u8];
			let (kh, kw) = (dim(1, 4).min(h + 2), dim(1, 4).min(w + 2));
			let pad = [
				dim(0, kh as i64 - 1).min(1) as u8,
				dim(0, kw as i64 - 1).min(1) as u8,
				dim(0, kh as i64 - 1).min(1) as u8,
				dim(0, kw as i64 - 1).min(1) as u8,
			];
			let ph = h + pad[0] as usize + pad[2] as usize;
			let pw = w + pad[1] as usize + pad[3] as usize;
			let (kh, kw) = (kh.min(ph), kw.min(pw));
			let oh = (ph - kh) / stride[0] as usize + 1;
			let ow = (pw - kw) / stride[1] as usize + 1;
			let mut r = Rng(seed ^ 23);
			let per_channel = r.next().is_multiple_of(2);
			let mut inputs = vec![i8d(&[n, c, h, w]), i8d(&[o, cg, kh, kw]), i32d(&[o])];
			let mut data = vec![
				TensorData::I8(r.i8s(n * c * h * w)),
				TensorData::I8(r.i8s(o * cg * kh * kw)),
				TensorData::I32(r.i32s(o, 1 << 18)),
			];
			if per_channel {
				inputs.push(i32d(&[o]));
				let m = (0..o).map(|_| r.range(-(1 << 31), (1 << 31) - 1) as i32);
				data.push(TensorData::I32(m.collect()));
			}
			Case {
				node: node(
					Op::GroupConv2d {
						groups: groups as u32,
						stride,
						pad,
						requant: r.requant(28, 42),
						relu: r.next().is_multiple_of(2),
					},
					inputs,
					i8d(&[n, o, oh, ow]),
				),
				data,
			}
		}
		"mul" => {
			let a = [dim(1, 2), dim(1, 5), dim(1, 6), dim(1, 6)];
			// broadcast from some axis on
			let from = dim(0, 4);
			let b: Vec<usize> = (0..4).map(|i| if i < from { a[i] } else { 1 }).collect();
			let mut r = Rng(seed ^ 24);
			let na: usize = a.iter().product();
			let nb: usize = b.iter().product();
			Case {
				node: node(
					Op::Mul {
						requant: r.requant(6, 20),
					},
					vec![i8d(&a), i8d(&b)],
					i8d(&a),
				),
				data: vec![TensorData::I8(r.i8s(na)), TensorData::I8(r.i8s(nb))],
			}
		}
		"lrn" => {
			let x = [dim(1, 2), dim(1, 7), dim(1, 5), dim(1, 5)];
			let mut r = Rng(seed ^ 25);
			let size = dim(1, 5) as u8;
			let len = size as usize * 16384 + 1;
			let table = (0..len).map(|_| r.range(0, 1 << 18) as i32).collect();
			Case {
				node: node(Op::Lrn { size }, vec![i8d(&x), i32d(&[len])], i8d(&x)),
				data: vec![
					TensorData::I8(r.i8s(x.iter().product())),
					TensorData::I32(table),
				],
			}
		}
		"maxpool" | "avgpool" => {
			let (n, c, h, w) = (dim(1, 2), dim(1, 3), dim(1, 10), dim(1, 10));
			let (kh, kw) = (dim(1, 3).min(h), dim(1, 3).min(w));
			let stride = [dim(1, 3) as u8, dim(1, 3) as u8];
			let max = op == "maxpool";
			let pad = if max {
				[
					dim(0, kh as i64 - 1) as u8,
					dim(0, kw as i64 - 1) as u8,
					dim(0, kh as i64 - 1) as u8,
					dim(0, kw as i64 - 1) as u8,
				]
			} else {
				[0; 4]
			};
			let oh = (h + pad[0] as usize + pad[2] as usize - kh) / stride[0] as usize + 1;
			let ow = (w + pad[1] as usize + pad[3] as usize - kw) / stride[1] as usize + 1;
			let kernel = [kh as u8, kw as u8];
			let op = if max {
				Op::MaxPool {
					kernel,
					stride,
					pad,
				}
			} else {
				Op::AvgPool { kernel, stride }
			};
			let mut r = Rng(seed ^ 6);
			Case {
				node: node(op, vec![i8d(&[n, c, h, w])], i8d(&[n, c, oh, ow])),
				data: vec![TensorData::I8(r.i8s(n * c * h * w))],
			}
		}
		"transpose" => {
			let rank = dim(1, 4);
			let shape: Vec<usize> = (0..rank).map(|_| dim(1, 5)).collect();
			let mut r = Rng(seed ^ 7);
			let mut perm: Vec<u8> = (0..rank as u8).collect();
			for i in (1..rank).rev() {
				let j = r.range(0, i as i64) as usize;
				perm.swap(i, j);
			}
			let out: Vec<usize> = perm.iter().map(|&p| shape[p as usize]).collect();
			let n = shape.iter().product();
			Case {
				node: node(Op::Transpose { perm }, vec![i8d(&shape)], i8d(&out)),
				data: vec![TensorData::I8(r.i8s(n))],
			}
		}
		"softmax" => {
			let shape = [dim(1, 4), dim(1, 32)];
			let mut r = Rng(seed ^ 8);
			// a decreasing exp-like table, sometimes with out-of-range entries (clamped)
			let s = r.range(1, 200) as f64 / 1000.0;
			let wild = r.next().is_multiple_of(4);
			let table: Vec<i32> = (0..256)
				.map(|d| {
					if wild {
						r.range(-1000, 70000) as i32
					} else {
						(65536.0 * (-(d as f64) * s).exp()).round() as i32
					}
				})
				.collect();
			Case {
				node: node(Op::Softmax, vec![i8d(&shape), i32d(&[256])], i8d(&shape)),
				data: vec![
					TensorData::I8(r.i8s(shape[0] * shape[1])),
					TensorData::I32(table),
				],
			}
		}
		"layernorm" => {
			let (rows, d) = (dim(1, 4), dim(1, 48));
			let mut r = Rng(seed ^ 9);
			let eps = r.range(0, 2000) as u64;
			Case {
				node: node(
					Op::LayerNorm {
						eps,
						requant: r.requant(36, 50),
					},
					vec![i8d(&[rows, d]), i8d(&[d]), i32d(&[d])],
					i8d(&[rows, d]),
				),
				data: vec![
					TensorData::I8(r.i8s(rows * d)),
					TensorData::I8(r.i8s(d)),
					TensorData::I32(r.i32s(d, 1 << 22)),
				],
			}
		}
		"lut" => {
			let shape = [dim(1, 5), dim(1, 17)];
			let mut r = Rng(seed ^ 10);
			// one table, or one per channel
			let tables = if r.next().is_multiple_of(2) {
				1
			} else {
				shape[1]
			};
			let tshape = if tables == 1 {
				vec![256]
			} else {
				vec![tables, 256]
			};
			let x = TensorData::I8(r.i8s(shape[0] * shape[1]));
			// int8 entries, or i32 entries and a wide output
			if r.next().is_multiple_of(2) {
				Case {
					node: node(Op::Lut, vec![i8d(&shape), i8d(&tshape)], i8d(&shape)),
					data: vec![x, TensorData::I8(r.i8s(256 * tables))],
				}
			} else {
				Case {
					node: node(Op::Lut, vec![i8d(&shape), i32d(&tshape)], i32d(&shape)),
					data: vec![x, TensorData::I32(r.i32s(256 * tables, i32::MAX as i64))],
				}
			}
		}
		"slice" | "concat" => {
			let mut r = Rng(seed ^ 11);
			let wide = r.next().is_multiple_of(2);
			let d = |shape: &[usize]| if wide { i32d(shape) } else { i8d(shape) };
			let data = |r: &mut Rng, n: usize| {
				if wide {
					TensorData::I32(r.i32s(n, i32::MAX as i64))
				} else {
					TensorData::I8(r.i8s(n))
				}
			};
			if op == "slice" {
				let n = dim(1, 40);
				let len = 1 + (r.next() as usize % n);
				let offset = (r.next() as usize % (n - len + 1)) as u32;
				Case {
					node: node(Op::Slice { offset }, vec![d(&[n])], d(&[len])),
					data: vec![data(&mut r, n)],
				}
			} else {
				let k = 1 + (r.next() % 4) as usize;
				let lens: Vec<usize> = (0..k).map(|_| 1 + (r.next() % 9) as usize).collect();
				let total: usize = lens.iter().sum();
				Case {
					node: node(
						Op::Concat,
						lens.iter().map(|&l| d(&[l])).collect(),
						d(&[1, total]),
					),
					data: lens.iter().map(|&l| data(&mut r, l)).collect(),
				}
			}
		}
		"dense" => {
			let (b, k, n) = (dim(1, 4), dim(1, 40), dim(1, 16));
			let mut r = Rng(seed ^ 12);
			let relu = r.next().is_multiple_of(2);
			Case {
				node: node(
					Op::Dense { relu },
					vec![i32d(&[b, k]), i32d(&[n, k]), i32d(&[n])],
					i32d(&[b, n]),
				),
				data: vec![
					TensorData::I32(q16s(&mut r, b * k)),
					TensorData::I32(q16s(&mut r, n * k)),
					TensorData::I32(q16s(&mut r, n)),
				],
			}
		}
		"xentgrad" => {
			let (b, c) = (dim(1, 6), dim(1, 12));
			let mut r = Rng(seed ^ 13);
			// labels mostly valid, sometimes out of range (no class)
			let labels = (0..b).map(|_| r.range(-1, c as i64) as i32).collect();
			Case {
				node: node(
					Op::SoftmaxXentGrad,
					vec![i32d(&[b, c]), i32d(&[b])],
					i32d(&[b, c]),
				),
				data: vec![
					TensorData::I32(q16s(&mut r, b * c)),
					TensorData::I32(labels),
				],
			}
		}
		"densegradinput" => {
			let (b, n, k) = (dim(1, 4), dim(1, 16), dim(1, 24));
			let mut r = Rng(seed ^ 14);
			let relu = r.next().is_multiple_of(2);
			Case {
				node: node(
					Op::DenseGradInput { relu },
					vec![i32d(&[b, n]), i32d(&[n, k]), i32d(&[b, k])],
					i32d(&[b, k]),
				),
				data: vec![
					TensorData::I32(q16s(&mut r, b * n)),
					TensorData::I32(q16s(&mut r, n * k)),
					TensorData::I32(q16s(&mut r, b * k)),
				],
			}
		}
		"sgdweight" => {
			let (b, k, n) = (dim(1, 6), dim(1, 24), dim(1, 12));
			let mut r = Rng(seed ^ 15);
			let lr = r.range(0, 1 << 17) as i32;
			Case {
				node: node(
					Op::SgdWeight { lr },
					vec![i32d(&[b, k]), i32d(&[b, n]), i32d(&[n, k])],
					i32d(&[n, k]),
				),
				data: vec![
					TensorData::I32(q16s(&mut r, b * k)),
					TensorData::I32(q16s(&mut r, b * n)),
					TensorData::I32(q16s(&mut r, n * k)),
				],
			}
		}
		"sgdbias" => {
			let (b, n) = (dim(1, 6), dim(1, 24));
			let mut r = Rng(seed ^ 16);
			let lr = r.range(0, 1 << 17) as i32;
			Case {
				node: node(
					Op::SgdBias { lr },
					vec![i32d(&[b, n]), i32d(&[n])],
					i32d(&[n]),
				),
				data: vec![
					TensorData::I32(q16s(&mut r, b * n)),
					TensorData::I32(q16s(&mut r, n)),
				],
			}
		}
		"meanrows" => {
			let (p, m) = (dim(1, 8), dim(1, 40));
			let mut r = Rng(seed ^ 17);
			Case {
				node: node(Op::MeanRows, vec![i32d(&[p, m])], i32d(&[m])),
				data: vec![TensorData::I32(q16s(&mut r, p * m))],
			}
		}
		"fcwide" => {
			let (m, k, n) = (dim(1, 3), dim(1, 48), dim(1, 24));
			let mut r = Rng(seed ^ 21);
			let relu = r.next().is_multiple_of(2);
			let rq = r.requant(20, 40);
			let w = TensorDesc::i8(&[n as u32, k as u32], 0.05);
			let (xd, x) = fc_input(&mut r, m, k);
			let mut ins = vec![xd, w, i32d(&[n])];
			let mut data = vec![
				x,
				TensorData::I8(r.i8s(n * k)),
				TensorData::I32(r.i32s(n, 1 << 20)),
			];
			if r.next().is_multiple_of(2) {
				ins.push(i32d(&[n]));
				data.push(TensorData::I32(r.i32s(n, i32::MAX as i64)));
			}
			Case {
				node: node(Op::FullyConnected { requant: rq, relu }, ins, i32d(&[m, n])),
				data,
			}
		}
		"addwide" => {
			let shape = [dim(1, 4), dim(1, 30)];
			let n = shape[0] * shape[1];
			let mut r = Rng(seed ^ 22);
			let wide = |r: &mut Rng| -> (TensorDesc, TensorData) {
				if r.next().is_multiple_of(2) {
					let lim = if r.next().is_multiple_of(4) {
						i32::MAX as i64
					} else {
						1 << 20
					};
					(i32d(&shape), TensorData::I32(r.i32s(n, lim)))
				} else {
					(i8d(&shape), TensorData::I8(r.i8s(n)))
				}
			};
			let (da, a) = wide(&mut r);
			let (db, b) = wide(&mut r);
			let out = if r.next().is_multiple_of(2) {
				i32d(&shape)
			} else {
				i8d(&shape)
			};
			let op = Op::Add {
				a_mult: r.range(-(1 << 22), 1 << 22) as i32,
				b_mult: r.range(-(1 << 22), 1 << 22) as i32,
				shift: r.range(0, 31) as u8,
				relu: r.next().is_multiple_of(2),
			};
			Case {
				node: node(op, vec![da, db], out),
				data: vec![a, b],
			}
		}
		"layernormwide" => {
			let (rows, d) = (dim(1, 4), dim(1, 48));
			let mut r = Rng(seed ^ 23);
			let eps = r.range(0, 2000) as u64;
			// realistic (|x| < 2^20) or anything (clamped at 2^24)
			let lim = if r.next().is_multiple_of(4) {
				i32::MAX as i64
			} else {
				1 << 20
			};
			let wide_out = r.next().is_multiple_of(2);
			Case {
				node: node(
					Op::LayerNorm {
						eps,
						requant: r.requant(36, 50),
					},
					vec![i32d(&[rows, d]), i8d(&[d]), i32d(&[d])],
					if wide_out {
						i32d(&[rows, d])
					} else {
						i8d(&[rows, d])
					},
				),
				data: vec![
					TensorData::I32(r.i32s(rows * d, lim)),
					TensorData::I8(r.i8s(d)),
					TensorData::I32(r.i32s(d, 1 << 22)),
				],
			}
		}
		"matmulwide" => {
			let (b, m, k, n) = (dim(1, 3), dim(1, 8), dim(1, 16), dim(1, 8));
			let mut r = Rng(seed ^ 24);
			let t = r.next().is_multiple_of(2);
			let bshape = if t { [b, n, k] } else { [b, k, n] };
			Case {
				node: node(
					Op::MatMul {
						transpose_b: t,
						requant: r.requant(20, 36),
					},
					vec![i8d(&[b, m, k]), i8d(&bshape)],
					i32d(&[b, m, n]),
				),
				data: vec![
					TensorData::I8(r.i8s(b * m * k)),
					TensorData::I8(r.i8s(b * k * n)),
				],
			}
		}
		"gather" => {
			let (v, d) = (dim(1, 40), dim(1, 24));
			let ids_shape: Vec<usize> = (0..dim(1, 3)).map(|_| dim(1, 5)).collect();
			let n: usize = ids_shape.iter().product();
			let mut r = Rng(seed ^ 18);
			let mut out = ids_shape.clone();
			out.push(d);
			// mostly valid ids, some outside 0..V (zero rows)
			let ids = (0..n)
				.map(|_| r.range(-2, v as i64 + 2) as i32)
				.collect::<Vec<_>>();
			Case {
				node: node(Op::Gather, vec![i8d(&[v, d]), i32d(&ids_shape)], i8d(&out)),
				data: vec![TensorData::I8(r.i8s(v * d)), TensorData::I32(ids)],
			}
		}
		"maskedsoftmax" => {
			let (rows, s) = (dim(1, 6), dim(1, 40));
			let mut r = Rng(seed ^ 19);
			let sc = r.range(1, 200) as f64 / 1000.0;
			let table: Vec<i32> = (0..256)
				.map(|d| (65536.0 * (-(d as f64) * sc).exp()).round() as i32)
				.collect();
			let pad = r.range(-1, 1) as i32;
			// ids from {pad, others}: sometimes every key masked
			let ids = (0..s).map(|_| r.range(-1, 3) as i32).collect::<Vec<_>>();
			// int8 or wide scores (any i32: distances beyond the table saturate)
			let (xd, x, shift) = if r.next().is_multiple_of(2) {
				(i8d(&[rows, s]), TensorData::I8(r.i8s(rows * s)), 0)
			} else {
				let lim = if r.next().is_multiple_of(4) {
					i32::MAX as i64
				} else {
					1 << 16
				};
				let shift = r.range(0, 31) as u8;
				(
					i32d(&[rows, s]),
					TensorData::I32(r.i32s(rows * s, lim)),
					shift,
				)
			};
			Case {
				node: node(
					Op::MaskedSoftmax { pad, shift },
					vec![xd, i32d(&[256]), i32d(&[s])],
					i8d(&[rows, s]),
				),
				data: vec![x, TensorData::I32(table), TensorData::I32(ids)],
			}
		}
		"poolnormalize" => {
			let (s, d) = (dim(1, 24), dim(1, 48));
			let mut r = Rng(seed ^ 20);
			let multiplier = r.range(1, 1 << 16) as i32;
			let ids = (0..s).map(|_| r.range(0, 3) as i32).collect::<Vec<_>>();
			Case {
				node: node(
					Op::PoolNormalize { pad: 0, multiplier },
					vec![i8d(&[s, d]), i32d(&[s])],
					i8d(&[d]),
				),
				data: vec![TensorData::I8(r.i8s(s * d)), TensorData::I32(ids)],
			}
		}
		_ => panic!("unknown op {op}"),
	}
}

/// Every node's VM output root equals the native one (`native` from a reference or CPU
/// run of the same model and input); `name` labels the failure.
pub fn assert_vm_roots_native(
	name: &str,
	runs: &[opml_nn::vm::NodeRun],
	native: &opml_nn::exec::Execution,
) {
	assert_eq!(
		runs.len() + 1,
		native.states.slots().len(),
		"{name}: node count"
	);
	for (j, run) in runs.iter().enumerate() {
		assert_eq!(
			run.output_root,
			native.states.slots()[j + 1],
			"{name}: node {}",
			j + 1
		);
	}
}
