//! The reference kernels (`no_std`, single-threaded): the definition of every op's
//! bits. The VM guest runs exactly these; the CPU backend and the GPU shaders are
//! tested against them.
//!
//! Every function here assumes its node passed [`crate::check::check_node`] and the
//! data matches the descriptors ([`run_node`] checks both first), so indexing is
//! in bounds.

use crate::{
	check::check_node,
	error::NnError,
	quant::{div_round, isqrt, requant, round_shift, sat32, sat8},
	types::*,
};

/// Check `node` and its data, then compute its output into `out`.
///
/// `inputs` are in the node's input order; `out` must have the output's element count.
pub fn run_node(node: &Node, inputs: &[TensorRef], out: &mut [i8]) -> Result<(), NnError> {
	check_node(node)?;
	check_data(node, inputs, out.len())?;
	run_checked(node, inputs, out);
	Ok(())
}

/// Check `node` and its data, then compute its output, whatever its element type.
pub fn run_node_data(node: &Node, inputs: &[TensorRef]) -> Result<TensorData, NnError> {
	check_node(node)?;
	let n = node.output.elements().ok_or(NnError::BadTensor)?;
	check_data(node, inputs, n)?;
	let mut out = TensorData::zeros(node.output.dtype, n);
	run_checked_data(node, inputs, &mut out);
	Ok(out)
}

/// Compute a checked node of any output type into `out` (the output's type and
/// element count).
pub fn run_checked_data(node: &Node, inputs: &[TensorRef], out: &mut TensorData) {
	if node.op.is_training() {
		crate::train::run_checked(node, inputs, out);
	} else if let TensorData::I8(o) = out {
		run_checked(node, inputs, o);
	}
}

/// Check that data matches a (checked) node's descriptors.
pub fn check_data(node: &Node, inputs: &[TensorRef], out_len: usize) -> Result<(), NnError> {
	if inputs.len() != node.inputs.len() || Some(out_len) != node.output.elements() {
		return Err(NnError::DataMismatch);
	}
	for (d, t) in node.inputs.iter().zip(inputs) {
		let ok = matches!(
			(d.desc.dtype, t),
			(DType::I8, TensorRef::I8(_)) | (DType::I32, TensorRef::I32(_))
		);
		if !ok || Some(t.len()) != d.desc.elements() {
			return Err(NnError::DataMismatch);
		}
	}
	Ok(())
}

fn i8s<'a>(t: &TensorRef<'a>) -> &'a [i8] {
	t.as_i8().unwrap_or(&[])
}

fn i32s<'a>(t: &TensorRef<'a>) -> &'a [i32] {
	t.as_i32().unwrap_or(&[])
}

/// Compute a node whose descriptors and data were checked and whose output is int8
/// (see [`run_checked_data`] for any output).
pub fn run_checked(node: &Node, inputs: &[TensorRef], out: &mut [i8]) {
	if node.op.is_training() {
		let mut data = TensorData::I8(alloc::vec![0; out.len()]);
		crate::train::run_checked(node, inputs, &mut data);
		if let TensorData::I8(v) = data {
			out.copy_from_slice(&v);
		}
		return;
	}
	let ds: [&[u32]; MAX_NODE_INPUTS] = core::array::from_fn(|i| {
		node.inputs
			.get(i)
			.map(|d| d.desc.shape.as_slice())
			.unwrap_or(&[])
	});
	let x = i8s(&inputs[0]);
	match &node.op {
		Op::FullyConnected { requant: rq, relu } => {
			let (w, b) = (i8s(&inputs[1]), i32s(&inputs[2]));
			let (n, k) = (ds[1][0] as usize, ds[1][1] as usize);
			fully_connected(x, w, b, k, n, *rq, *relu, out);
		}
		Op::MatMul {
			transpose_b,
			requant: rq,
		} => {
			let b = i8s(&inputs[1]);
			let r = ds[0].len();
			let batch = if r == 3 { ds[0][0] as usize } else { 1 };
			let (m, k) = (ds[0][r - 2] as usize, ds[0][r - 1] as usize);
			let n = node.output.shape[r - 1] as usize;
			matmul(x, b, batch, m, k, n, *transpose_b, *rq, out);
		}
		Op::Add {
			a_mult,
			b_mult,
			shift,
			relu,
		} => {
			let b = i8s(&inputs[1]);
			add(x, b, *a_mult, *b_mult, *shift, *relu, out);
		}
		Op::Relu => {
			for (o, &v) in out.iter_mut().zip(x) {
				*o = v.max(0);
			}
		}
		Op::Conv2d {
			stride,
			pad,
			requant: rq,
			relu,
		} => {
			let (w, b) = (i8s(&inputs[1]), i32s(&inputs[2]));
			let xs = dims4(ds[0]);
			let ws = dims4(ds[1]);
			let os = dims4(&node.output.shape);
			conv2d(x, w, b, xs, ws, os, *stride, *pad, *rq, *relu, out);
		}
		Op::MaxPool {
			kernel,
			stride,
			pad,
		} => pool(
			x,
			dims4(ds[0]),
			dims4(&node.output.shape),
			*kernel,
			*stride,
			*pad,
			true,
			out,
		),
		Op::AvgPool { kernel, stride } => pool(
			x,
			dims4(ds[0]),
			dims4(&node.output.shape),
			*kernel,
			*stride,
			[0; 4],
			false,
			out,
		),
		Op::Reshape => out.copy_from_slice(x),
		Op::Transpose { perm } => transpose(x, ds[0], perm, out),
		Op::Softmax => softmax(x, i32s(&inputs[1]), node.output.last_dim(), out),
		Op::LayerNorm { eps, requant: rq } => {
			let (g, b) = (i8s(&inputs[1]), i32s(&inputs[2]));
			layer_norm(x, g, b, node.output.last_dim(), *eps, *rq, out)
		}
		Op::Lut => {
			let t = i8s(&inputs[1]);
			for (o, &v) in out.iter_mut().zip(x) {
				*o = t[(v as i32 + 128) as usize];
			}
		}
		// handled above
		Op::Slice { .. }
		| Op::Concat
		| Op::Dense { .. }
		| Op::SoftmaxXentGrad
		| Op::DenseGradInput { .. }
		| Op::SgdWeight { .. }
		| Op::SgdBias { .. }
		| Op::MeanRows => {}
	}
}

fn dims4(s: &[u32]) -> [usize; 4] {
	[s[0] as usize, s[1] as usize, s[2] as usize, s[3] as usize]
}

/// i32 dot product of equal-length slices, wrapping (four products at a time: the sum of four int8 products
/// cannot overflow, and wrapping addition is associative, so the grouping does not
/// change the result).
#[inline(always)]
pub fn dot(a: &[i8], b: &[i8]) -> i32 {
	let mut acc = 0i32;
	let mut ac = a.chunks_exact(4);
	let mut bc = b.chunks_exact(4);
	for (x, w) in (&mut ac).zip(&mut bc) {
		let s = x[0] as i32 * w[0] as i32
			+ x[1] as i32 * w[1] as i32
			+ x[2] as i32 * w[2] as i32
			+ x[3] as i32 * w[3] as i32;
		acc = acc.wrapping_add(s);
	}
	for (&x, &w) in ac.remainder().iter().zip(bc.remainder()) {
		acc = acc.wrapping_add(x as i32 * w as i32);
	}
	acc
}

#[inline(always)]
fn finish(acc: i32, rq: Requant, relu: bool) -> i8 {
	let y = requant(acc, rq);
	if relu {
		y.max(0)
	} else {
		y
	}
}

/// `FullyConnected` (see [`Op::FullyConnected`]).
#[allow(clippy::too_many_arguments)]
pub fn fully_connected(
	x: &[i8],
	w: &[i8],
	b: &[i32],
	k: usize,
	n: usize,
	rq: Requant,
	relu: bool,
	out: &mut [i8],
) {
	for (xr, orow) in x.chunks_exact(k).zip(out.chunks_exact_mut(n)) {
		for ((o, wr), &bias) in orow.iter_mut().zip(w.chunks_exact(k)).zip(b) {
			*o = finish(bias.wrapping_add(dot(xr, wr)), rq, relu);
		}
	}
}

/// `MatMul` (see [`Op::MatMul`]).
#[allow(clippy::too_many_arguments)]
pub fn matmul(
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
	for bi in 0..batch {
		let a_b = &a[bi * m * k..(bi + 1) * m * k];
		let b_b = &b[bi * k * n..(bi + 1) * k * n];
		let o_b = &mut out[bi * m * n..(bi + 1) * m * n];
		for i in 0..m {
			let ar = &a_b[i * k..(i + 1) * k];
			for j in 0..n {
				let acc = if transpose_b {
					dot(ar, &b_b[j * k..(j + 1) * k])
				} else {
					let mut acc = 0i32;
					for (t, &av) in ar.iter().enumerate() {
						acc = acc.wrapping_add(av as i32 * b_b[t * n + j] as i32);
					}
					acc
				};
				o_b[i * n + j] = requant(acc, rq);
			}
		}
	}
}

/// `Add` (see [`Op::Add`]).
pub fn add(a: &[i8], b: &[i8], am: i32, bm: i32, shift: u8, relu: bool, out: &mut [i8]) {
	for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
		let acc = (x as i32)
			.wrapping_mul(am)
			.wrapping_add((y as i32).wrapping_mul(bm));
		let v = sat8(round_shift(acc as i64, shift as u32));
		*o = if relu { v.max(0) } else { v };
	}
}

/// `Conv2d` (see [`Op::Conv2d`]). Computed weight-stationary: for each output channel,
/// an i32 accumulator plane starts at the bias and every weight adds its shifted input
/// rows (long contiguous inner loops, cheap in the VM); wrapping addition is
/// associative and commutative, so this is the sum over `c, kh, kw` of the op's
/// definition.
#[allow(clippy::too_many_arguments)]
pub fn conv2d(
	x: &[i8],
	w: &[i8],
	b: &[i32],
	xs: [usize; 4],
	ws: [usize; 4],
	os: [usize; 4],
	stride: [u8; 2],
	pad: [u8; 4],
	rq: Requant,
	relu: bool,
	out: &mut [i8],
) {
	let [n, c, h, wd] = xs;
	let [oc, _, kh, kw] = ws;
	let [_, _, oh, ow] = os;
	let (sh, sw) = (stride[0] as usize, stride[1] as usize);
	let (pt, pl) = (pad[0] as usize, pad[1] as usize);
	let mut acc = alloc::vec![0i32; oh * ow];
	for ni in 0..n {
		let xn = &x[ni * c * h * wd..(ni + 1) * c * h * wd];
		for o in 0..oc {
			acc.iter_mut().for_each(|a| *a = b[o]);
			for ci in 0..c {
				let xc = &xn[ci * h * wd..(ci + 1) * h * wd];
				for ky in 0..kh {
					for kx in 0..kw {
						let wv = w[((o * c + ci) * kh + ky) * kw + kx] as i32;
						// output columns whose input column ox*sw + kx - pl is in [0, wd)
						let ox0 = if kx < pl { (pl - kx).div_ceil(sw) } else { 0 };
						let ox1 = if wd + pl > kx {
							((wd + pl - kx - 1) / sw + 1).min(ow)
						} else {
							0
						};
						if ox0 >= ox1 {
							continue;
						}
						for oy in 0..oh {
							let iy = oy * sh + ky;
							if iy < pt || iy - pt >= h {
								continue;
							}
							let xrow = &xc[(iy - pt) * wd..(iy - pt + 1) * wd];
							let arow = &mut acc[oy * ow + ox0..oy * ow + ox1];
							let ix0 = ox0 * sw + kx - pl;
							if sw == 1 {
								for (a, &v) in arow.iter_mut().zip(&xrow[ix0..]) {
									*a = a.wrapping_add(wv * v as i32);
								}
							} else {
								for (a, &v) in arow.iter_mut().zip(xrow[ix0..].iter().step_by(sw)) {
									*a = a.wrapping_add(wv * v as i32);
								}
							}
						}
					}
				}
			}
			let oo = &mut out[(ni * oc + o) * oh * ow..(ni * oc + o + 1) * oh * ow];
			for (y, &a) in oo.iter_mut().zip(acc.iter()) {
				*y = finish(a, rq, relu);
			}
		}
	}
}

/// `MaxPool` (`max = true`) and `AvgPool` (see [`Op::MaxPool`], [`Op::AvgPool`]).
#[allow(clippy::too_many_arguments)]
pub fn pool(
	x: &[i8],
	xs: [usize; 4],
	os: [usize; 4],
	kernel: [u8; 2],
	stride: [u8; 2],
	pad: [u8; 4],
	max: bool,
	out: &mut [i8],
) {
	let [n, c, h, wd] = xs;
	let [_, _, oh, ow] = os;
	let (kh, kw) = (kernel[0] as usize, kernel[1] as usize);
	let (sh, sw) = (stride[0] as usize, stride[1] as usize);
	let (pt, pl) = (pad[0] as usize, pad[1] as usize);
	let count = (kh * kw) as i64;
	for nc in 0..n * c {
		let xc = &x[nc * h * wd..(nc + 1) * h * wd];
		for oy in 0..oh {
			for ox in 0..ow {
				let mut m = i8::MIN;
				let mut sum = 0i32;
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
						let v = xc[(iy - pt) * wd + ix - pl];
						m = m.max(v);
						sum += v as i32;
					}
				}
				out[(nc * oh + oy) * ow + ox] = if max {
					m
				} else {
					sat8(div_round(sum as i64, count))
				};
			}
		}
	}
}

/// `Transpose` (see [`Op::Transpose`]).
pub fn transpose(x: &[i8], shape: &[u32], perm: &[u8], out: &mut [i8]) {
	let r = shape.len();
	// pad to rank 4 with leading unit axes
	let mut s = [1usize; 4];
	let mut p = [0usize, 1, 2, 3];
	for i in 0..r {
		s[4 - r + i] = shape[i] as usize;
		p[4 - r + i] = 4 - r + perm[i] as usize;
	}
	let mut stride = [0usize; 4];
	let mut acc = 1;
	for i in (0..4).rev() {
		stride[i] = acc;
		acc *= s[i];
	}
	let os = [s[p[0]], s[p[1]], s[p[2]], s[p[3]]];
	let st = [stride[p[0]], stride[p[1]], stride[p[2]], stride[p[3]]];
	let mut o = 0;
	for i0 in 0..os[0] {
		for i1 in 0..os[1] {
			for i2 in 0..os[2] {
				let base = i0 * st[0] + i1 * st[1] + i2 * st[2];
				for i3 in 0..os[3] {
					out[o] = x[base + i3 * st[3]];
					o += 1;
				}
			}
		}
	}
}

/// `Softmax` (see [`Op::Softmax`]). Table entries are clamped into `[0, 2^16]`.
pub fn softmax(x: &[i8], table: &[i32], d: usize, out: &mut [i8]) {
	for (xr, orow) in x.chunks_exact(d).zip(out.chunks_exact_mut(d)) {
		let m = xr.iter().copied().max().unwrap_or(0) as i32;
		let e = |v: i8| table[(m - v as i32) as usize].clamp(0, 1 << 16) as u32;
		let s: u32 = xr.iter().map(|&v| e(v)).sum();
		for (o, &v) in orow.iter_mut().zip(xr) {
			*o = if s == 0 {
				0
			} else {
				((254 * e(v) + s) / (2 * s)) as i8
			};
		}
	}
}

/// `LayerNorm` (see [`Op::LayerNorm`]).
pub fn layer_norm(
	x: &[i8],
	gamma: &[i8],
	beta: &[i32],
	d: usize,
	eps: u64,
	rq: Requant,
	out: &mut [i8],
) {
	let dn = d as i32;
	for (xr, orow) in x.chunks_exact(d).zip(out.chunks_exact_mut(d)) {
		let sum: i32 = xr.iter().map(|&v| v as i32).sum();
		let mut sq = 0u64;
		for &v in xr {
			let c = (dn * v as i32 - sum) as i64;
			sq += (c * c) as u64;
		}
		let var = (sq / d as u64).saturating_add(eps);
		let sd = isqrt(var) as i64;
		for ((o, &v), (&g, &b)) in orow.iter_mut().zip(xr).zip(gamma.iter().zip(beta)) {
			let c = (dn * v as i32 - sum) as i64;
			let z = if sd == 0 { 0 } else { (c << 16) / sd };
			let acc = sat32(z * g as i64 + b as i64);
			*o = requant(acc, rq);
		}
	}
}
