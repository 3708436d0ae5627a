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
	quant::{div_round, isqrt, isqrt128, requant, round_shift, sat32, sat8},
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
	} else {
		match out {
			TensorData::I8(o) => run_checked(node, inputs, o),
			TensorData::I32(o) => run_wide(node, inputs, o),
		}
	}
}

/// Compute a checked inference node with a wide (i32) output: `FullyConnected`,
/// `MatMul`, `Add`, `LayerNorm` and `Lut` with an i32 table (nothing else may have
/// one).
fn run_wide(node: &Node, inputs: &[TensorRef], out: &mut [i32]) {
	match &node.op {
		Op::FullyConnected { requant: rq, relu } => {
			let (w, b) = (i8s(&inputs[1]), i32s(&inputs[2]));
			let s = &node.inputs[1].desc.shape;
			let (n, k) = (s[0] as usize, s[1] as usize);
			let m = inputs.get(3).map(i32s);
			fc_acc(&inputs[0], w, b, k, n, |i, j, acc| {
				let rq = Requant {
					multiplier: m.map_or(rq.multiplier, |m| m[j]),
					shift: rq.shift,
				};
				let y = requant_wide(acc, rq);
				out[i] = if *relu { y.max(0) } else { y };
			});
		}
		Op::Lut => lut(
			i8s(&inputs[0]),
			i32s(&inputs[1]),
			node.output.last_dim(),
			out,
		),
		Op::Add {
			a_mult,
			b_mult,
			shift,
			relu,
		} => {
			for (i, o) in out.iter_mut().enumerate() {
				let y = sat32(add_one(&inputs[0], &inputs[1], i, *a_mult, *b_mult, *shift));
				*o = if *relu { y.max(0) } else { y };
			}
		}
		Op::LayerNorm { eps, requant: rq } => {
			let (g, b) = (i8s(&inputs[1]), i32s(&inputs[2]));
			let d = node.output.last_dim();
			layer_norm_rows(&inputs[0], g, b, d, *eps, |i, acc| {
				out[i] = requant_wide(acc, *rq)
			});
		}
		Op::MatMul {
			transpose_b,
			requant: rq,
		} => {
			let (a, b) = (i8s(&inputs[0]), i8s(&inputs[1]));
			let s = &node.inputs[0].desc.shape;
			let r = s.len();
			let batch = if r == 3 { s[0] as usize } else { 1 };
			let (m, k) = (s[r - 2] as usize, s[r - 1] as usize);
			let n = node.output.shape[r - 1] as usize;
			matmul_acc(a, b, batch, m, k, n, *transpose_b, |i, acc| {
				out[i] = requant_wide(acc, *rq)
			});
		}
		_ => {}
	}
}

/// Element `i` of a tensor of either type, widened.
#[inline(always)]
fn at(t: &TensorRef, i: usize) -> i64 {
	match t {
		TensorRef::I8(x) => x[i] as i64,
		TensorRef::I32(x) => x[i] as i64,
	}
}

/// One element of `Add` before saturation: `round_shift(a × am + b × bm, shift)` in
/// i64 (`|a|, |b| < 2^31`, `|am|, |bm| <= 2^22`: no overflow).
#[inline(always)]
fn add_one(a: &TensorRef, b: &TensorRef, i: usize, am: i32, bm: i32, shift: u8) -> i64 {
	round_shift(at(a, i) * am as i64 + at(b, i) * bm as i64, shift as u32)
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
			match (&inputs[0], inputs.get(3)) {
				(TensorRef::I8(x), None) => fully_connected(x, w, b, k, n, *rq, *relu, out),
				(x, m) => {
					let m = m.map(i32s);
					fc_acc(x, w, b, k, n, |i, j, acc| {
						let rq = Requant {
							multiplier: m.map_or(rq.multiplier, |m| m[j]),
							shift: rq.shift,
						};
						out[i] = finish(acc, rq, *relu);
					});
				}
			}
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
		} => match (&inputs[0], &inputs[1]) {
			(TensorRef::I8(a), TensorRef::I8(b)) => add(a, b, *a_mult, *b_mult, *shift, *relu, out),
			(a, b) => {
				for (i, o) in out.iter_mut().enumerate() {
					let v = sat8(add_one(a, b, i, *a_mult, *b_mult, *shift));
					*o = if *relu { v.max(0) } else { v };
				}
			}
		},
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
		Op::Mul { requant: rq } => {
			let b = i8s(&inputs[1]);
			// b broadcasts over a's trailing axes where it has 1s
			let inner = (x.len() / b.len().max(1)).max(1);
			for (i, (o, &a)) in out.iter_mut().zip(x).enumerate() {
				let bv = b.get(i / inner).copied().unwrap_or(0);
				*o = requant(a as i32 * bv as i32, *rq);
			}
		}
		Op::Lrn { size } => {
			let t = i32s(&inputs[1]);
			let [n, c, h, w] = dims4(ds[0]);
			lrn(x, t, [n, c, h * w], *size as usize, out);
		}
		Op::GroupConv2d {
			groups,
			stride,
			pad,
			requant: rq,
			relu,
		} => {
			let (w, b) = (i8s(&inputs[1]), i32s(&inputs[2]));
			let m = inputs.get(3).map(i32s);
			let shape = ConvShape {
				xs: dims4(ds[0]),
				ws: dims4(ds[1]),
				os: dims4(&node.output.shape),
				groups: *groups as usize,
				stride: *stride,
				pad: *pad,
			};
			group_conv2d(x, w, b, m, &shape, *rq, *relu, out);
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
			let d = node.output.last_dim();
			layer_norm_rows(&inputs[0], g, b, d, *eps, |i, acc| {
				out[i] = requant(acc, *rq)
			});
		}
		Op::Lut => lut(x, i8s(&inputs[1]), node.output.last_dim(), out),
		Op::Gather => gather(x, i32s(&inputs[1]), ds[0][1] as usize, out),
		Op::MaskedSoftmax { pad, shift } => masked_softmax(
			&inputs[0],
			i32s(&inputs[1]),
			i32s(&inputs[2]),
			*pad,
			*shift,
			out,
		),
		Op::PoolNormalize { pad, multiplier } => {
			let d = ds[0][1] as usize;
			pool_normalize(x, i32s(&inputs[1]), *pad, d, *multiplier, out)
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

/// i32 dot product of a wide (i32) and an int8 slice, wrapping.
#[inline(always)]
pub fn dot_wide(a: &[i32], b: &[i8]) -> i32 {
	a.iter().zip(b).fold(0i32, |acc, (&x, &w)| {
		acc.wrapping_add(x.wrapping_mul(w as i32))
	})
}

/// `FullyConnected`'s accumulators `b_n + Σ_k x_k w_nk` (wrapping i32) for an int8 or
/// wide `x [.., K]` and `w [N, K]`: `emit(output index, channel n, accumulator)`.
pub fn fc_acc(
	x: &TensorRef,
	w: &[i8],
	b: &[i32],
	k: usize,
	n: usize,
	mut emit: impl FnMut(usize, usize, i32),
) {
	let rows = x.len() / k.max(1);
	for r in 0..rows {
		for (j, (wr, &bias)) in w.chunks_exact(k).zip(b).enumerate().take(n) {
			let acc = match x {
				TensorRef::I8(x) => dot(&x[r * k..(r + 1) * k], wr),
				TensorRef::I32(x) => dot_wide(&x[r * k..(r + 1) * k], wr),
			};
			emit(r * n + j, j, bias.wrapping_add(acc));
		}
	}
}

/// `Lut` (see [`Op::Lut`]): a table `[256]` or one per channel `[C, 256]` (`c` the
/// last dimension of `x`), of int8 or i32 entries as the output's type.
pub fn lut<T: Copy>(x: &[i8], t: &[T], c: usize, out: &mut [T]) {
	if t.len() == 256 {
		for (o, &v) in out.iter_mut().zip(x) {
			*o = t[(v as i32 + 128) as usize];
		}
	} else {
		for (orow, xr) in out.chunks_exact_mut(c.max(1)).zip(x.chunks_exact(c.max(1))) {
			for ((o, &v), tj) in orow.iter_mut().zip(xr).zip(t.chunks_exact(256)) {
				*o = tj[(v as i32 + 128) as usize];
			}
		}
	}
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
	matmul_acc(a, b, batch, m, k, n, transpose_b, |i, acc| {
		out[i] = requant(acc, rq)
	});
}

/// `MatMul`'s accumulators by output index (see [`Op::MatMul`]).
#[allow(clippy::too_many_arguments)]
pub fn matmul_acc(
	a: &[i8],
	b: &[i8],
	batch: usize,
	m: usize,
	k: usize,
	n: usize,
	transpose_b: bool,
	mut emit: impl FnMut(usize, i32),
) {
	for bi in 0..batch {
		let a_b = &a[bi * m * k..(bi + 1) * m * k];
		let b_b = &b[bi * k * n..(bi + 1) * k * n];
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
				emit((bi * m + i) * n + j, acc);
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

/// `Conv2d` (see [`Op::Conv2d`]): [`group_conv2d`] with one group and one
/// requantization.
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
	let shape = ConvShape {
		xs,
		ws,
		os,
		groups: 1,
		stride,
		pad,
	};
	group_conv2d(x, w, b, None, &shape, rq, relu, out);
}

/// `Lrn` (see [`Op::Lrn`]) over `x [n, c, plane]`: the window of channel `ch` is
/// `ch - (size - 1) / 2 ..= ch + size / 2`, clipped.
pub fn lrn(x: &[i8], table: &[i32], dims: [usize; 3], size: usize, out: &mut [i8]) {
	let [n, c, plane] = dims;
	let (before, after) = ((size.max(1) - 1) / 2, size / 2);
	for ni in 0..n {
		for ch in 0..c {
			let lo = ch.saturating_sub(before);
			let hi = (ch + after).min(c.max(1) - 1);
			for p in 0..plane {
				let mut s = 0usize;
				for k in lo..=hi {
					let v = x[(ni * c + k) * plane + p] as i32;
					s += (v * v) as usize;
				}
				let i = (ni * c + ch) * plane + p;
				let f = table.get(s).copied().unwrap_or(0) as i64;
				out[i] = sat8(round_shift(x[i] as i64 * f, 16));
			}
		}
	}
}

/// The geometry of a (grouped) convolution.
#[derive(Clone, Copy, Debug)]
pub struct ConvShape {
	/// Input `[N, C, H, W]`.
	pub xs: [usize; 4],
	/// Weight `[O, C / groups, KH, KW]`.
	pub ws: [usize; 4],
	/// Output `[N, O, OH, OW]`.
	pub os: [usize; 4],
	/// Groups.
	pub groups: usize,
	/// Strides.
	pub stride: [u8; 2],
	/// Padding `[top, left, bottom, right]`.
	pub pad: [u8; 4],
}

/// `GroupConv2d` (see [`Op::GroupConv2d`]), computed weight-stationary: for each output
/// channel, an i32 accumulator plane starts at the bias and every weight adds its
/// shifted input rows (long contiguous inner loops, cheap in the VM); wrapping
/// addition is associative and commutative, so this is the sum over `c, kh, kw` of
/// the op's definition. Each output channel reads its group's input channels and is
/// requantized with its own multiplier when `m` is given.
#[allow(clippy::too_many_arguments)]
pub fn group_conv2d(
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
	let og = oc / groups;
	let (sh, sw) = (s.stride[0] as usize, s.stride[1] as usize);
	let (pt, pl) = (s.pad[0] as usize, s.pad[1] as usize);
	let mut acc = alloc::vec![0i32; oh * ow];
	for ni in 0..n {
		let xn = &x[ni * c * h * wd..(ni + 1) * c * h * wd];
		for o in 0..oc {
			acc.iter_mut().for_each(|a| *a = b[o]);
			let c0 = (o / og.max(1)) * cg;
			for cl in 0..cg {
				let ci = c0 + cl;
				let xc = &xn[ci * h * wd..(ci + 1) * h * wd];
				for ky in 0..kh {
					for kx in 0..kw {
						let wv = w[((o * cg + cl) * kh + ky) * kw + kx] as i32;
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
			let rq_o = match m {
				Some(m) => Requant {
					multiplier: m[o],
					shift: rq.shift,
				},
				None => rq,
			};
			let oo = &mut out[(ni * oc + o) * oh * ow..(ni * oc + o + 1) * oh * ow];
			for (y, &a) in oo.iter_mut().zip(acc.iter()) {
				*y = finish(a, rq_o, relu);
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

/// `LayerNorm` (see [`Op::LayerNorm`]) of an int8 input to an int8 output.
pub fn layer_norm(
	x: &[i8],
	gamma: &[i8],
	beta: &[i32],
	d: usize,
	eps: u64,
	rq: Requant,
	out: &mut [i8],
) {
	layer_norm_rows(&TensorRef::I8(x), gamma, beta, d, eps, |i, acc| {
		out[i] = requant(acc, rq)
	});
}

/// `LayerNorm` (see [`Op::LayerNorm`]): every output element's accumulator
/// `acc = sat32(z_j γ_j + β_j)`, by index, from an int8 or a wide input.
pub fn layer_norm_rows(
	x: &TensorRef,
	gamma: &[i8],
	beta: &[i32],
	d: usize,
	eps: u64,
	mut emit: impl FnMut(usize, i32),
) {
	let d = d.max(1);
	match x {
		TensorRef::I8(x) => {
			let dn = d as i32;
			for (r, xr) in x.chunks_exact(d).enumerate() {
				let sum: i32 = xr.iter().map(|&v| v as i32).sum();
				let mut sq = 0u64;
				for &v in xr {
					let c = (dn * v as i32 - sum) as i64;
					sq += (c * c) as u64;
				}
				let var = (sq / d as u64).saturating_add(eps);
				let sd = isqrt(var) as i64;
				for (j, (&v, (&g, &b))) in xr.iter().zip(gamma.iter().zip(beta)).enumerate() {
					let c = (dn * v as i32 - sum) as i64;
					let z = if sd == 0 { 0 } else { (c << 16) / sd };
					emit(r * d + j, sat32(z * g as i64 + b as i64));
				}
			}
		}
		TensorRef::I32(x) => {
			const LIM: i64 = 1 << 24;
			let dn = d as i64;
			let v = |x: i32| (x as i64).clamp(-LIM, LIM);
			for (r, xr) in x.chunks_exact(d).enumerate() {
				// |sum| <= 2^14 · 2^24 = 2^38, |c| <= 2^39, Σ c² < 2^92
				let sum: i64 = xr.iter().map(|&x| v(x)).sum();
				let mut sq = 0u128;
				for &x in xr {
					let c = (dn * v(x) - sum).unsigned_abs() as u128;
					sq += c * c;
				}
				let var = (sq / d as u128).saturating_add(eps as u128);
				let sd = isqrt128(var) as i64;
				for (j, (&x, (&g, &b))) in xr.iter().zip(gamma.iter().zip(beta)).enumerate() {
					let c = dn * v(x) - sum;
					// |c| · 2^16 < 2^56; |z| <= 2^16 · sqrt(D) <= 2^23
					let z = if sd == 0 { 0 } else { (c << 16) / sd };
					emit(r * d + j, sat32(z * g as i64 + b as i64));
				}
			}
		}
	}
}

/// The wide requantization: `sat32(round_shift(acc × multiplier, shift))` in i64.
#[inline(always)]
pub fn requant_wide(acc: i32, rq: Requant) -> i32 {
	sat32(round_shift(
		acc as i64 * rq.multiplier as i64,
		rq.shift as u32,
	))
}

/// `Gather` (see [`Op::Gather`]): rows of `table` (`d` columns) by `ids`.
pub fn gather(table: &[i8], ids: &[i32], d: usize, out: &mut [i8]) {
	let rows = table.len() / d.max(1);
	for (&id, orow) in ids.iter().zip(out.chunks_exact_mut(d.max(1))) {
		match usize::try_from(id) {
			Ok(r) if r < rows => orow.copy_from_slice(&table[r * d..(r + 1) * d]),
			_ => orow.fill(0),
		}
	}
}

/// `MaskedSoftmax` (see [`Op::MaskedSoftmax`]): rows of `ids.len()` scores, int8 or
/// wide.
pub fn masked_softmax(
	x: &TensorRef,
	table: &[i32],
	ids: &[i32],
	pad: i32,
	shift: u8,
	out: &mut [i8],
) {
	let d = ids.len();
	if d == 0 {
		return;
	}
	for (r, orow) in out.chunks_exact_mut(d).enumerate() {
		let v = |j: usize| at(x, r * d + j);
		let mut m: Option<i64> = None;
		for (j, &id) in ids.iter().enumerate() {
			if id != pad {
				m = Some(m.map_or(v(j), |m| m.max(v(j))));
			}
		}
		let Some(m) = m else {
			orow.fill(0);
			continue;
		};
		let e = |j: usize| -> u32 {
			if ids[j] == pad {
				0
			} else {
				let i = ((m - v(j)) >> shift).min(255) as usize;
				table[i].clamp(0, 1 << 16) as u32
			}
		};
		let s: u32 = (0..d).map(e).sum();
		for (j, o) in orow.iter_mut().enumerate() {
			*o = if s == 0 {
				0
			} else {
				((254 * e(j) + s) / (2 * s)) as i8
			};
		}
	}
}

/// `PoolNormalize` (see [`Op::PoolNormalize`]): `x` has rows of `d` elements, one
/// per id.
pub fn pool_normalize(x: &[i8], ids: &[i32], pad: i32, d: usize, multiplier: i32, out: &mut [i8]) {
	let mut s = alloc::vec![0i32; d];
	for (xr, &id) in x.chunks_exact(d.max(1)).zip(ids) {
		if id != pad {
			for (a, &v) in s.iter_mut().zip(xr) {
				*a = a.wrapping_add(v as i32);
			}
		}
	}
	// |s_j| <= 128 · 2^14 = 2^21, so q < 2^42 · 2^14 = 2^56 and q · 2^32 < 2^88
	let q: u64 = s.iter().map(|&v| (v as i64 * v as i64) as u64).sum();
	let n = isqrt128((q as u128) << 32) as i64;
	for (o, &v) in out.iter_mut().zip(&s) {
		*o = if n == 0 {
			0
		} else {
			// |v · multiplier · 2^16| <= 2^21 · 2^16 · 2^16 = 2^53
			sat8(div_round(v as i64 * multiplier as i64 * 65536, n))
		};
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use proptest::prelude::*;

	fn exp_table(s: f64) -> alloc::vec::Vec<i32> {
		(0..256)
			.map(|d| (65536.0 * (-(d as f64) * s).exp()).round() as i32)
			.collect()
	}

	proptest! {
		/// A masked softmax row is the plain softmax of its kept keys, zero elsewhere.
		#[test]
		fn masked_softmax_is_softmax_of_the_kept_keys(
			row in proptest::collection::vec(any::<i8>(), 1..40),
			keep in proptest::collection::vec(any::<bool>(), 40),
			s in 1u32..300,
		) {
			let table = exp_table(s as f64 / 1000.0);
			let ids: alloc::vec::Vec<i32> = row.iter().zip(&keep).map(|(_, &k)| i32::from(k)).collect();
			let mut got = alloc::vec![0i8; row.len()];
			masked_softmax(&TensorRef::I8(&row), &table, &ids, 0, 0, &mut got);
			let kept: alloc::vec::Vec<i8> = row.iter().zip(&ids).filter(|(_, &id)| id != 0).map(|(&v, _)| v).collect();
			let mut want_kept = alloc::vec![0i8; kept.len()];
			if !kept.is_empty() {
				softmax(&kept, &table, kept.len(), &mut want_kept);
			}
			let mut it = want_kept.iter();
			for (g, &id) in got.iter().zip(&ids) {
				let want = if id == 0 { 0 } else { *it.next().unwrap_or(&0) };
				prop_assert_eq!(*g, want);
			}
		}

		/// Pooling with normalization is within one quantum of the exact real value.
		#[test]
		fn pool_normalize_is_the_rounded_unit_vector(
			x in proptest::collection::vec(any::<i8>(), 8 * 6),
			ids in proptest::collection::vec(0i32..3, 8),
			m in 1i32..=(1 << 16),
		) {
			let (s, d) = (8usize, 6usize);
			let mut got = alloc::vec![0i8; d];
			pool_normalize(&x, &ids, 0, d, m, &mut got);
			let mut sum = alloc::vec![0f64; d];
			for r in 0..s {
				if ids[r] != 0 {
					for j in 0..d {
						sum[j] += x[r * d + j] as f64;
					}
				}
			}
			let norm = sum.iter().map(|v| v * v).sum::<f64>().sqrt();
			for j in 0..d {
				let want = if norm == 0.0 { 0.0 } else { (sum[j] / norm * m as f64).clamp(-128.0, 127.0) };
				prop_assert!((got[j] as f64 - want).abs() <= 1.0, "{} vs {}", got[j], want);
			}
		}

		/// A lookup copies table rows; ids outside the table give zeros.
		#[test]
		fn gather_copies_rows(
			ids in proptest::collection::vec(-3i32..12, 1..10),
		) {
			let (v, d) = (9usize, 3usize);
			let table: alloc::vec::Vec<i8> = (0..(v * d) as i32).map(|i| i as i8).collect();
			let mut got = alloc::vec![0i8; ids.len() * d];
			gather(&table, &ids, d, &mut got);
			for (i, &id) in ids.iter().enumerate() {
				for j in 0..d {
					let want = if (0..v as i32).contains(&id) { table[id as usize * d + j] } else { 0 };
					prop_assert_eq!(got[i * d + j], want);
				}
			}
		}
	}
}
