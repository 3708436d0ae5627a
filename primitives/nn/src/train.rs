//! Deterministic fixed-point training (DESIGN.md §3, federated learning): the
//! training, data-movement and aggregation ops' shape rules and reference kernels.
//!
//! Training tensors are i32 in Q16.16 ([`FRAC`] fractional bits). Every product of two
//! Q16 values is exact in i64; sums are wrapping i64 in a fixed order, rescaled with
//! [`rshift`] (round half up) and saturated to i32 ([`sat32`]). So the bits are a
//! function of the inputs only, whatever the backend: the VM guest runs exactly these
//! functions, and so does every native backend (they are cheap next to inference).
//!
//! The softmax uses [`exp_neg`], an integer `e^-x` (range reduction to `2^-f` and a
//! degree-6 polynomial in Q30), accurate to about `2^-16` relative — plenty for SGD;
//! what matters for the protocol is that it is exact integer arithmetic.

use crate::{
	error::NnError,
	quant::{div_round, sat32},
	types::*,
};
use alloc::vec::Vec;

/// Fractional bits of training tensors (Q16.16).
pub const FRAC: u32 = 16;
/// `1.0` in Q16.
pub const ONE: i32 = 1 << FRAC;

/// `floor((x + 2^(s-1)) / 2^s)` with a wrapping add (`s` in `1..=62`): round half up.
#[inline(always)]
pub fn rshift(x: i64, s: u32) -> i64 {
	x.wrapping_add(1i64 << (s - 1)) >> s
}

/// A real number to Q16 (off chain: inputs, initial weights), saturating.
#[cfg(feature = "std")]
pub fn to_q16(x: f32) -> i32 {
	let v = (x as f64 * ONE as f64).round();
	v.clamp(i32::MIN as f64, i32::MAX as f64) as i32
}

/// Q16 to a real number (off chain).
#[cfg(feature = "std")]
pub fn from_q16(x: i32) -> f32 {
	(x as f64 / ONE as f64) as f32
}

/// `round(2^30 · ln2^i / i!)` for `i = 0..=6`: Taylor coefficients of `2^-u` in Q30.
const EXP2_Q30: [i64; 7] = [
	1_073_741_824,
	744_261_118,
	257_941_248,
	59_597_083,
	10_327_387,
	1_431_680,
	165_394,
];

/// `log2(e)` in Q16 (`round(1.4426950408889634 · 2^16)`).
const LOG2E_Q16: i64 = 94_548;

/// `e^(-x / 2^16)` in Q16 for `x >= 0` (Q16), exactly as integers:
/// `t = floor(x · LOG2E_Q16 / 2^16)` (Q16, `x` clamped to `2^24`), `k = t >> 16`,
/// `u = (t mod 2^16) · 2^14` (Q30); `p = Σ_i (-1)^i c_i u^i` by Horner from `i = 6`
/// (`p ← c_i - floor(u · p / 2^30)`, alternating signs folded in), then
/// `rshift(p, 14 + k)`; 0 when `k >= 31`.
pub fn exp_neg(x: i64) -> i64 {
	let x = x.clamp(0, 1 << 24);
	let t = (x * LOG2E_Q16) >> FRAC;
	let k = (t >> FRAC) as u32;
	if k >= 31 {
		return 0;
	}
	let u = (t & 0xFFFF) << 14;
	let mut p = EXP2_Q30[6];
	for c in EXP2_Q30[..6].iter().rev() {
		p = c - ((u * p) >> 30);
	}
	rshift(p, 14 + k)
}

/// The fixed-point softmax of one row of Q16 logits, in Q16 (`p_j ∈ [0, 2^16]`):
/// `m = max z`, `e_j = exp_neg(m - z_j)` (i64), `S = Σ e_j`,
/// `p_j = floor(e_j · 2^16 / S)`.
pub fn softmax_row(z: &[i32], p: &mut [i64]) {
	let m = z.iter().copied().max().unwrap_or(0) as i64;
	let mut s = 0i64;
	for (pj, &zj) in p.iter_mut().zip(z) {
		*pj = exp_neg(m - zj as i64);
		s += *pj;
	}
	// s >= 2^16 (the maximum's term is exp_neg(0) = 2^16)
	for pj in p.iter_mut() {
		*pj = (*pj << FRAC) / s.max(1);
	}
}

fn shape_err(op: &Op) -> NnError {
	NnError::Shape {
		node: 0,
		op: op.name(),
	}
}

/// The output shape of a training, data-movement or aggregation op (see
/// [`crate::check::infer`]); inputs are already checked against the global bounds.
pub fn infer(op: &Op, inputs: &[&TensorDesc]) -> Result<Vec<u32>, NnError> {
	let e = || shape_err(op);
	let i32s = |ds: &[&TensorDesc]| ds.iter().all(|d| d.dtype == DType::I32);
	let rank2 = |d: &TensorDesc| d.shape.len() == 2;
	let x = inputs[0];
	match op {
		Op::Slice { .. } => Ok(x.shape.clone()),
		Op::Concat => {
			if inputs.iter().any(|d| d.dtype != x.dtype) {
				return Err(e());
			}
			let total = inputs
				.iter()
				.try_fold(0usize, |n, d| n.checked_add(d.elements()?))
				.ok_or_else(e)?;
			let bytes = total.checked_mul(x.dtype.size()).ok_or_else(e)?;
			if bytes > MAX_TENSOR_BYTES {
				return Err(e());
			}
			Ok(alloc::vec![total as u32])
		}
		Op::Dense { .. } => {
			let (w, b) = (inputs[1], inputs[2]);
			if !i32s(inputs) || !rank2(x) || !rank2(w) || b.shape.len() != 1 {
				return Err(e());
			}
			let (k, n) = (x.shape[1], w.shape[0]);
			if w.shape[1] != k || b.shape[0] != n || k as usize > MAX_REDUCTION {
				return Err(e());
			}
			Ok(alloc::vec![x.shape[0], n])
		}
		Op::SoftmaxXentGrad => {
			let l = inputs[1];
			if !i32s(inputs) || !rank2(x) || l.shape != [x.shape[0]] {
				return Err(e());
			}
			if x.shape[1] as usize > MAX_REDUCTION {
				return Err(e());
			}
			Ok(x.shape.clone())
		}
		Op::DenseGradInput { .. } => {
			let (w, h) = (inputs[1], inputs[2]);
			if !i32s(inputs) || !rank2(x) || !rank2(w) || !rank2(h) {
				return Err(e());
			}
			let (b, n) = (x.shape[0], x.shape[1]);
			if w.shape[0] != n || h.shape != [b, w.shape[1]] || n as usize > MAX_REDUCTION {
				return Err(e());
			}
			Ok(h.shape.clone())
		}
		Op::SgdWeight { lr } => {
			let (dy, w) = (inputs[1], inputs[2]);
			if !i32s(inputs) || !rank2(x) || !rank2(dy) || !rank2(w) || *lr < 0 {
				return Err(e());
			}
			if dy.shape[0] != x.shape[0]
				|| w.shape != [dy.shape[1], x.shape[1]]
				|| x.shape[0] as usize > MAX_REDUCTION
			{
				return Err(e());
			}
			Ok(w.shape.clone())
		}
		Op::SgdBias { lr } => {
			let b = inputs[1];
			if !i32s(inputs) || !rank2(x) || b.shape != [x.shape[1]] || *lr < 0 {
				return Err(e());
			}
			if x.shape[0] as usize > MAX_REDUCTION {
				return Err(e());
			}
			Ok(b.shape.clone())
		}
		Op::MeanRows => {
			if !i32s(inputs) || !rank2(x) || x.shape[0] as usize > MAX_REDUCTION {
				return Err(e());
			}
			Ok(alloc::vec![x.shape[1]])
		}
		_ => Err(e()),
	}
}

/// Borrowed i32 input `k` (empty if it is not i32: never, for checked nodes).
fn i32_in<'a>(inputs: &[TensorRef<'a>], k: usize) -> &'a [i32] {
	inputs.get(k).and_then(|t| t.as_i32()).unwrap_or(&[])
}

/// Compute a checked training, data-movement or aggregation node into `out` (the
/// output's element type and count).
pub fn run_checked(node: &Node, inputs: &[TensorRef], out: &mut TensorData) {
	let dim = |k: usize, a: usize| node.inputs[k].desc.shape[a] as usize;
	match (&node.op, out) {
		(Op::Slice { offset }, out) => {
			let o = *offset as usize;
			let n = out.len();
			match (out, &inputs[0]) {
				(TensorData::I8(y), TensorRef::I8(x)) => y.copy_from_slice(&x[o..o + n]),
				(TensorData::I32(y), TensorRef::I32(x)) => y.copy_from_slice(&x[o..o + n]),
				_ => {}
			}
		}
		(Op::Concat, out) => {
			let mut at = 0;
			for t in inputs {
				match (&mut *out, t) {
					(TensorData::I8(y), TensorRef::I8(x)) => y[at..at + x.len()].copy_from_slice(x),
					(TensorData::I32(y), TensorRef::I32(x)) => {
						y[at..at + x.len()].copy_from_slice(x)
					}
					_ => {}
				}
				at += t.len();
			}
		}
		(Op::Dense { relu }, TensorData::I32(y)) => {
			let (x, w, b) = (i32_in(inputs, 0), i32_in(inputs, 1), i32_in(inputs, 2));
			dense(x, w, b, dim(0, 1), *relu, y);
		}
		(Op::SoftmaxXentGrad, TensorData::I32(y)) => {
			softmax_xent_grad(i32_in(inputs, 0), i32_in(inputs, 1), dim(0, 1), y)
		}
		(Op::DenseGradInput { relu }, TensorData::I32(y)) => {
			let (dy, w, h) = (i32_in(inputs, 0), i32_in(inputs, 1), i32_in(inputs, 2));
			dense_grad_input(dy, w, h, dim(1, 0), dim(1, 1), *relu, y);
		}
		(Op::SgdWeight { lr }, TensorData::I32(y)) => {
			let (x, dy, w) = (i32_in(inputs, 0), i32_in(inputs, 1), i32_in(inputs, 2));
			sgd_weight(x, dy, w, dim(0, 0), dim(0, 1), dim(1, 1), *lr, y);
		}
		(Op::SgdBias { lr }, TensorData::I32(y)) => {
			let (dy, b) = (i32_in(inputs, 0), i32_in(inputs, 1));
			sgd_bias(dy, b, dim(0, 1), *lr, y);
		}
		(Op::MeanRows, TensorData::I32(y)) => mean_rows(i32_in(inputs, 0), dim(0, 0), y),
		_ => {}
	}
}

/// [`Op::Dense`]: `x [B, K]`, `w [N, K]`, `b [N]` into `y [B, N]`.
pub fn dense(x: &[i32], w: &[i32], b: &[i32], k: usize, relu: bool, y: &mut [i32]) {
	let n = b.len();
	for (xr, yr) in x.chunks_exact(k).zip(y.chunks_exact_mut(n)) {
		for ((yv, wr), &bv) in yr.iter_mut().zip(w.chunks_exact(k)).zip(b) {
			let mut acc = 0i64;
			for (&a, &c) in xr.iter().zip(wr) {
				acc = acc.wrapping_add(a as i64 * c as i64);
			}
			let v = sat32(rshift(acc, FRAC).saturating_add(bv as i64));
			*yv = if relu { v.max(0) } else { v };
		}
	}
}

/// [`Op::SoftmaxXentGrad`]: `z [B, C]`, `labels [B]` into `dz [B, C]`.
pub fn softmax_xent_grad(z: &[i32], labels: &[i32], c: usize, dz: &mut [i32]) {
	let b = labels.len().max(1) as i64;
	let mut p = alloc::vec![0i64; c];
	for ((zr, dr), &l) in z.chunks_exact(c).zip(dz.chunks_exact_mut(c)).zip(labels) {
		softmax_row(zr, &mut p);
		for (j, (d, &pj)) in dr.iter_mut().zip(&p).enumerate() {
			let target = if l >= 0 && l as usize == j {
				ONE as i64
			} else {
				0
			};
			*d = sat32(div_round(pj - target, b));
		}
	}
}

/// [`Op::DenseGradInput`]: `dy [B, N]`, `w [N, K]`, `h [B, K]` into `dx [B, K]`.
pub fn dense_grad_input(
	dy: &[i32],
	w: &[i32],
	h: &[i32],
	n: usize,
	k: usize,
	relu: bool,
	dx: &mut [i32],
) {
	let mut acc = alloc::vec![0i64; k];
	for ((dr, hr), xr) in dy
		.chunks_exact(n)
		.zip(h.chunks_exact(k))
		.zip(dx.chunks_exact_mut(k))
	{
		acc.iter_mut().for_each(|a| *a = 0);
		// n ascending for every k: the sum's order is the op's (wrapping: any order
		// gives the same bits, but keep it simple)
		for (&d, wr) in dr.iter().zip(w.chunks_exact(k)) {
			let d = d as i64;
			for (a, &wv) in acc.iter_mut().zip(wr) {
				*a = a.wrapping_add(d * wv as i64);
			}
		}
		for ((xv, &a), &hv) in xr.iter_mut().zip(&acc).zip(hr) {
			*xv = if relu && hv <= 0 {
				0
			} else {
				sat32(rshift(a, FRAC))
			};
		}
	}
}

/// [`Op::SgdWeight`]: `x [B, K]`, `dy [B, N]`, `w [N, K]` into `w' [N, K]`.
#[allow(clippy::too_many_arguments)]
pub fn sgd_weight(
	x: &[i32],
	dy: &[i32],
	w: &[i32],
	b: usize,
	k: usize,
	n: usize,
	lr: i32,
	out: &mut [i32],
) {
	let mut g = alloc::vec![0i64; n * k];
	for bi in 0..b {
		let xr = &x[bi * k..(bi + 1) * k];
		let dr = &dy[bi * n..(bi + 1) * n];
		for (&d, gr) in dr.iter().zip(g.chunks_exact_mut(k)) {
			let d = d as i64;
			for (gv, &xv) in gr.iter_mut().zip(xr) {
				*gv = gv.wrapping_add(d * xv as i64);
			}
		}
	}
	for ((o, &wv), &gv) in out.iter_mut().zip(w).zip(&g) {
		let step = rshift((lr as i64).wrapping_mul(rshift(gv, FRAC)), FRAC);
		*o = sat32((wv as i64).wrapping_sub(step));
	}
}

/// [`Op::SgdBias`]: `dy [B, N]`, `b [N]` into `b' [N]`.
pub fn sgd_bias(dy: &[i32], b: &[i32], n: usize, lr: i32, out: &mut [i32]) {
	for (j, (o, &bv)) in out.iter_mut().zip(b).enumerate() {
		let mut s = 0i64;
		for r in dy.chunks_exact(n) {
			s = s.wrapping_add(r[j] as i64);
		}
		let step = rshift((lr as i64).wrapping_mul(s), FRAC);
		*o = sat32((bv as i64).wrapping_sub(step));
	}
}

/// [`Op::MeanRows`]: `x [P, M]` into `y [M]`.
pub fn mean_rows(x: &[i32], p: usize, y: &mut [i32]) {
	let m = y.len();
	for (j, yv) in y.iter_mut().enumerate() {
		let mut s = 0i64;
		for r in 0..p {
			s += x[r * m + j] as i64;
		}
		*yv = sat32(div_round(s, p as i64));
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn exp_neg_tracks_the_real_exponential() {
		for i in 0..2000 {
			let x = i as f64 * 0.01;
			let got = exp_neg((x * 65536.0).round() as i64) as f64 / 65536.0;
			let want = (-x).exp();
			assert!((got - want).abs() < 3e-5, "x={x}: {got} vs {want}");
		}
		assert_eq!(exp_neg(0), 1 << 16);
		assert_eq!(exp_neg(i64::MAX), 0);
		assert_eq!(exp_neg(-5), 1 << 16);
	}

	#[test]
	fn softmax_rows_sum_to_about_one() {
		let z = [to_q16(1.0), to_q16(-2.0), to_q16(0.5), to_q16(3.0)];
		let mut p = [0i64; 4];
		softmax_row(&z, &mut p);
		let s: i64 = p.iter().sum();
		assert!((s - 65536).abs() <= 4, "{s}");
		let zf = [1.0f64, -2.0, 0.5, 3.0];
		let den: f64 = zf.iter().map(|v| v.exp()).sum();
		for (pj, zj) in p.iter().zip(zf) {
			assert!((*pj as f64 / 65536.0 - zj.exp() / den).abs() < 1e-4);
		}
	}

	#[test]
	fn mean_rounds_half_up() {
		let mut y = [0i32; 2];
		mean_rows(&[1, -1, 2, -2], 2, &mut y);
		assert_eq!(y, [2, -1]); // (1+2)/2 = 1.5 -> 2; (-1-2)/2 = -1.5 -> -1
	}
}
