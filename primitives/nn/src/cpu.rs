//! The multithreaded CPU backend (feature `cpu`): rayon over output rows/channels,
//! convolution as im2col + dot products, matrix products over a pre-transposed
//! operand. Integer arithmetic is exact and the wrapping i32 sum is associative, so it
//! is bit-identical to the reference kernels (tested over random shapes and values in
//! `tests/ops.rs`); cheap element-wise ops call the reference kernels.

use crate::{
	exec::Backend,
	kernels::{self, dot, ConvShape},
	quant::requant,
	types::*,
};
use rayon::prelude::*;

/// Below this many multiply-accumulates a node runs on the calling thread.
const PAR_MIN_MACS: usize = 1 << 15;

/// The CPU backend (uses rayon's global pool).
#[derive(Clone, Copy, Debug, Default)]
pub struct Cpu;

#[inline(always)]
fn finish(acc: i32, rq: Requant, relu: bool) -> i8 {
	let y = requant(acc, rq);
	if relu {
		y.max(0)
	} else {
		y
	}
}

impl Backend for Cpu {
	fn run_node_data(&self, node: &Node, inputs: &[TensorRef], out: &mut TensorData) {
		match (&node.op, out) {
			// per-channel multipliers, a wide input or a wide output
			(Op::FullyConnected { requant: rq, relu }, out)
				if inputs.len() == 4
					|| inputs[0].as_i8().is_none()
					|| matches!(out, TensorData::I32(_)) =>
			{
				let w = inputs[1].as_i8().unwrap_or(&[]);
				let b = inputs[2].as_i32().unwrap_or(&[]);
				let s = &node.inputs[1].desc.shape;
				let (n, k) = (s[0] as usize, s[1] as usize);
				let m = inputs.get(3).and_then(|m| m.as_i32());
				let rq = |j: usize| Requant {
					multiplier: m.map_or(rq.multiplier, |m| m[j]),
					shift: rq.shift,
				};
				match out {
					TensorData::I8(o) => fc_rows(&inputs[0], w, b, k, n, o, |j, acc| {
						finish(acc, rq(j), *relu)
					}),
					TensorData::I32(o) => fc_rows(&inputs[0], w, b, k, n, o, |j, acc| {
						let y = kernels::requant_wide(acc, rq(j));
						if *relu {
							y.max(0)
						} else {
							y
						}
					}),
				}
			}
			(_, TensorData::I8(o)) if !node.op.is_training() => self.run_node(node, inputs, o),
			(_, out) => kernels::run_checked_data(node, inputs, out),
		}
	}

	fn run_node(&self, node: &Node, inputs: &[TensorRef], out: &mut [i8]) {
		let x = inputs[0].as_i8().unwrap_or(&[]);
		match &node.op {
			Op::FullyConnected { .. } if inputs.len() == 4 || inputs[0].as_i8().is_none() => {
				// per-channel multipliers or a wide input
				let mut o = TensorData::I8(vec![0; out.len()]);
				self.run_node_data(node, inputs, &mut o);
				if let TensorData::I8(o) = o {
					out.copy_from_slice(&o);
				}
			}
			Op::FullyConnected { requant: rq, relu } => {
				let w = inputs[1].as_i8().unwrap_or(&[]);
				let b = inputs[2].as_i32().unwrap_or(&[]);
				let s = &node.inputs[1].desc.shape;
				let (n, k) = (s[0] as usize, s[1] as usize);
				fully_connected(x, w, b, k, n, *rq, *relu, out);
			}
			Op::MatMul {
				transpose_b,
				requant: rq,
			} => {
				let b = inputs[1].as_i8().unwrap_or(&[]);
				let s = &node.inputs[0].desc.shape;
				let r = s.len();
				let batch = if r == 3 { s[0] as usize } else { 1 };
				let (m, k) = (s[r - 2] as usize, s[r - 1] as usize);
				let n = node.output.shape[r - 1] as usize;
				matmul(x, b, batch, m, k, n, *transpose_b, *rq, out);
			}
			Op::Conv2d {
				stride,
				pad,
				requant: rq,
				relu,
			}
			| Op::GroupConv2d {
				stride,
				pad,
				requant: rq,
				relu,
				..
			} => {
				let groups = match &node.op {
					Op::GroupConv2d { groups, .. } => *groups as usize,
					_ => 1,
				};
				let w = inputs[1].as_i8().unwrap_or(&[]);
				let b = inputs[2].as_i32().unwrap_or(&[]);
				let m = inputs.get(3).and_then(|m| m.as_i32());
				let d = |s: &[u32]| [s[0] as usize, s[1] as usize, s[2] as usize, s[3] as usize];
				let shape = ConvShape {
					xs: d(&node.inputs[0].desc.shape),
					ws: d(&node.inputs[1].desc.shape),
					os: d(&node.output.shape),
					groups,
					stride: *stride,
					pad: *pad,
				};
				conv2d(x, w, b, m, &shape, *rq, *relu, out);
			}
			_ => kernels::run_checked(node, inputs, out),
		}
	}
}

/// A fully connected layer over an int8 or wide input, rows in parallel:
/// `f(channel, b_n + Σ x_k w_nk)` per output element (the reference kernel's
/// accumulators, [`kernels::fc_acc`]).
fn fc_rows<T: Send>(
	x: &TensorRef,
	w: &[i8],
	b: &[i32],
	k: usize,
	n: usize,
	out: &mut [T],
	f: impl Fn(usize, i32) -> T + Sync,
) {
	let k = k.max(1);
	let row = |r: usize, o: &mut [T]| {
		for (j, oj) in o.iter_mut().enumerate() {
			let wr = &w[j * k..(j + 1) * k];
			let acc = match x {
				TensorRef::I8(x) => dot(&x[r * k..(r + 1) * k], wr),
				TensorRef::I32(x) => kernels::dot_wide(&x[r * k..(r + 1) * k], wr),
			};
			*oj = f(j, b[j].wrapping_add(acc));
		}
	};
	if out.len() * k < PAR_MIN_MACS {
		out.chunks_mut(n.max(1))
			.enumerate()
			.for_each(|(r, o)| row(r, o));
	} else {
		out.par_chunks_mut(n.max(1))
			.enumerate()
			.for_each(|(r, o)| row(r, o));
	}
}

#[allow(clippy::too_many_arguments)]
fn fully_connected(
	x: &[i8],
	w: &[i8],
	b: &[i32],
	k: usize,
	n: usize,
	rq: Requant,
	relu: bool,
	out: &mut [i8],
) {
	let row = |xr: &[i8], o: &mut [i8], j0: usize| {
		for (jj, oj) in o.iter_mut().enumerate() {
			let j = j0 + jj;
			*oj = finish(b[j].wrapping_add(dot(xr, &w[j * k..(j + 1) * k])), rq, relu);
		}
	};
	if x.len() * n < PAR_MIN_MACS {
		for (xr, o) in x.chunks_exact(k).zip(out.chunks_exact_mut(n)) {
			row(xr, o, 0);
		}
		return;
	}
	let rows = x.len() / k.max(1);
	if rows >= rayon::current_num_threads() {
		out.par_chunks_mut(n)
			.zip(x.par_chunks(k))
			.for_each(|(o, xr)| row(xr, o, 0));
	} else {
		// few rows (batch 1 inference): split each row's outputs
		let chunk = n.div_ceil(rayon::current_num_threads().max(1)).max(16);
		for (xr, o) in x.chunks_exact(k).zip(out.chunks_exact_mut(n)) {
			o.par_chunks_mut(chunk)
				.enumerate()
				.for_each(|(c, oc)| row(xr, oc, c * chunk));
		}
	}
}

#[allow(clippy::too_many_arguments)]
fn matmul(
	a: &[i8],
	b: &[i8],
	batch: usize,
	m: usize,
	k: usize,
	n: usize,
	transpose_b: bool,
	rq: Requant,
	out: &mut [i8],
) {
	// bt: [batch, n, k]
	let bt: Vec<i8> = if transpose_b {
		b.to_vec()
	} else {
		let mut t = vec![0i8; b.len()];
		for bi in 0..batch {
			for kk in 0..k {
				for j in 0..n {
					t[bi * n * k + j * k + kk] = b[bi * k * n + kk * n + j];
				}
			}
		}
		t
	};
	let row = |r: usize, o: &mut [i8]| {
		let bi = r / m.max(1);
		let ar = &a[r * k..(r + 1) * k];
		for (j, oj) in o.iter_mut().enumerate() {
			let br = &bt[bi * n * k + j * k..bi * n * k + (j + 1) * k];
			*oj = requant(dot(ar, br), rq);
		}
	};
	if batch * m * n * k < PAR_MIN_MACS {
		out.chunks_mut(n).enumerate().for_each(|(r, o)| row(r, o));
	} else {
		out.par_chunks_mut(n)
			.enumerate()
			.for_each(|(r, o)| row(r, o));
	}
}

#[allow(clippy::too_many_arguments)]
fn conv2d(
	x: &[i8],
	w: &[i8],
	b: &[i32],
	m: Option<&[i32]>,
	s: &ConvShape,
	rq: Requant,
	relu: bool,
	out: &mut [i8],
) {
	let [n, c, h, wd] = s.xs;
	let [oc, cg, kh, kw] = s.ws;
	let [_, _, oh, ow] = s.os;
	let groups = s.groups.max(1);
	let og = (oc / groups).max(1);
	let patch = cg * kh * kw;
	let (sh, sw) = (s.stride[0] as usize, s.stride[1] as usize);
	let (pt, pl) = (s.pad[0] as usize, s.pad[1] as usize);
	for ni in 0..n {
		let on = &mut out[ni * oc * oh * ow..(ni + 1) * oc * oh * ow];
		for g in 0..groups {
			let xg = &x[(ni * c + g * cg) * h * wd..(ni * c + (g + 1) * cg) * h * wd];
			// im2col: one zero-padded patch per output pixel, in (c, ky, kx) order
			let mut cols = vec![0i8; oh * ow * patch];
			cols.chunks_mut(patch).enumerate().for_each(|(p, col)| {
				let (oy, ox) = (p / ow, p % ow);
				for ci in 0..cg {
					for ky in 0..kh {
						let iy = oy * sh + ky;
						if iy < pt || iy - pt >= h {
							continue;
						}
						for kx in 0..kw {
							let ix = ox * sw + kx;
							if ix < pl || ix - pl >= wd {
								continue;
							}
							col[(ci * kh + ky) * kw + kx] = xg[(ci * h + iy - pt) * wd + ix - pl];
						}
					}
				}
			});
			let chan = |o: usize, oo: &mut [i8]| {
				let wo = &w[o * patch..(o + 1) * patch];
				let rq = Requant {
					multiplier: m.map_or(rq.multiplier, |m| m[o]),
					shift: rq.shift,
				};
				for (p, v) in oo.iter_mut().enumerate() {
					let acc = b[o].wrapping_add(dot(&cols[p * patch..(p + 1) * patch], wo));
					*v = finish(acc, rq, relu);
				}
			};
			let og_out = &mut on[g * og * oh * ow..(g + 1) * og * oh * ow];
			if og * oh * ow * patch < PAR_MIN_MACS {
				og_out
					.chunks_mut(oh * ow)
					.enumerate()
					.for_each(|(o, oo)| chan(g * og + o, oo));
			} else {
				og_out
					.par_chunks_mut(oh * ow)
					.enumerate()
					.for_each(|(o, oo)| chan(g * og + o, oo));
			}
		}
	}
}
