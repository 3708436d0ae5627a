//! Post-training quantization of a float graph: calibrate activation scales on sample
//! inputs (max |value| per tensor), quantize weights per tensor (symmetric int8),
//! biases to i32 at the accumulator's scale, and derive every op's fixed-point
//! parameters (requantization multipliers, Add multipliers, softmax/LUT tables,
//! layer-norm constants).

use super::{
	float::{FGraph, FOp, Id, Pw},
	ImportError,
};
use crate::{check::check_model, quant::requant_for, types::*};

/// Scale of an int8 tensor whose values reach `max_abs`.
fn scale_for(max_abs: f32) -> f32 {
	if max_abs > 0.0 && max_abs.is_finite() {
		max_abs / 127.0
	} else {
		1.0
	}
}

fn q8(v: f32, s: f32) -> i8 {
	(v / s).round().clamp(-127.0, 127.0) as i8
}

fn max_abs(v: &[f32]) -> f32 {
	v.iter().fold(0f32, |m, x| m.max(x.abs()))
}

/// Quantize a weight tensor (per tensor, symmetric) and its bias (i32 at the
/// accumulator's scale `sx · sw`): `(weight bytes, weight scale, bias bytes)`.
fn weight_and_bias(w: &[f32], b: &[f32], sx: f32) -> (Vec<u8>, f32, Vec<u8>) {
	let sw = scale_for(max_abs(w));
	let wq: Vec<i8> = w.iter().map(|&v| q8(v, sw)).collect();
	let acc = sx as f64 * sw as f64;
	let bq = b
		.iter()
		.flat_map(|&v| ((v as f64 / acc).round().clamp(-1e9, 1e9) as i32).to_le_bytes())
		.collect();
	(i8_bytes(&wq), sw, bq)
}

/// Quantize a weight `[n, k]` per output channel (row) and its bias at each row's
/// accumulator scale: `(weight bytes, row scales, bias bytes)`.
fn weight_and_bias_per_channel(
	w: &[f32],
	b: &[f32],
	n: usize,
	sx: f32,
) -> (Vec<u8>, Vec<f32>, Vec<u8>) {
	let k = w.len() / n.max(1);
	let mut wq = Vec::with_capacity(w.len());
	let mut sws = Vec::with_capacity(n);
	let mut bq = Vec::with_capacity(4 * n);
	for (row, &bj) in w.chunks_exact(k.max(1)).zip(b) {
		let sw = scale_for(max_abs(row));
		wq.extend(row.iter().map(|&v| q8(v, sw) as u8));
		let acc = sx as f64 * sw as f64;
		bq.extend(((bj as f64 / acc).round().clamp(-1e9, 1e9) as i32).to_le_bytes());
		sws.push(sw);
	}
	(wq, sws, bq)
}

/// One shift and a multiplier per channel for real multipliers `sx · sw_j / sy`:
/// the shift of the largest (so every multiplier is below `2^31`).
fn per_channel_requant(sws: &[f32], sx: f32, sy: f32) -> (u8, Vec<u8>) {
	let r: Vec<f64> = sws
		.iter()
		.map(|&sw| sx as f64 * sw as f64 / sy as f64)
		.collect();
	let big = r.iter().cloned().fold(0f64, f64::max);
	let shift = requant_for(big).shift;
	let m = r
		.iter()
		.flat_map(|&v| {
			((v * (2f64).powi(shift as i32))
				.round()
				.clamp(0.0, 2147483647.0) as i32)
				.to_le_bytes()
		})
		.collect();
	(shift, m)
}

/// `Add` multipliers and shift taking inputs at scales `sa` and `sb` to `sy`: the
/// largest shift keeping both multipliers within `2^22`.
fn add_multipliers(sa: f32, sb: f32, sy: f32) -> (i32, i32, u8) {
	let (ra, rb) = (sa as f64 / sy as f64, sb as f64 / sy as f64);
	let big = ra.abs().max(rb.abs()).max(1e-30);
	let shift = (22.0 - big.log2().ceil()).clamp(0.0, 31.0) as u8;
	let m = |r: f64| {
		(r * (1u64 << shift) as f64)
			.round()
			.clamp(-4194304.0, 4194304.0) as i32
	};
	(m(ra), m(rb), shift)
}

/// A softmax table for scores at scale `sx`: `table[d] = round(2^16 · exp(-d · sx))`.
fn exp_table(sx: f32) -> Vec<u8> {
	(0..256)
		.flat_map(|d| ((65536.0 * (-(d as f64) * sx as f64).exp()).round() as i32).to_le_bytes())
		.collect()
}

/// Samples to calibrate on: at least one, each of the model input's size.
fn check_samples(g: &FGraph, samples: &[Vec<f32>]) -> Result<(), ImportError> {
	let input_len: usize = g.input.iter().product();
	if samples.is_empty() {
		return Err(ImportError::Calibration("no calibration samples".into()));
	}
	match samples.iter().find(|s| s.len() != input_len) {
		Some(s) => Err(ImportError::Calibration(format!(
			"a calibration sample has {} values, the model input {input_len}",
			s.len()
		))),
		None => Ok(()),
	}
}

/// Calibrate: max |value| of every tensor over `samples`.
pub fn calibrate(g: &FGraph, samples: &[Vec<f32>]) -> Result<Vec<f32>, ImportError> {
	check_samples(g, samples)?;
	let mut m = vec![0f32; g.nodes.len() + 1];
	for s in samples {
		for (i, t) in g.run(s).iter().enumerate() {
			m[i] = m[i].max(max_abs(t));
		}
	}
	Ok(m)
}

/// Ops whose output has their first input's scale.
fn keeps_scale(op: &FOp) -> bool {
	matches!(
		op,
		FOp::Relu
			| FOp::MaxPool { .. }
			| FOp::AvgPool { .. }
			| FOp::Reshape
			| FOp::Transpose { .. }
			| FOp::Concat
			| FOp::Slice { .. }
	)
}

/// Concatenated tensors are bytes side by side, so they must share one scale: every
/// input of a concatenation, its output and the tensors whose scale they keep (through
/// pooling, ReLU, reshapes) take the greatest range among them.
pub fn unify_concat_ranges(g: &FGraph, ranges: &[f32]) -> Vec<f32> {
	let mut parent: Vec<usize> = (0..ranges.len()).collect();
	fn find(p: &mut [usize], mut i: usize) -> usize {
		while p[i] != i {
			p[i] = p[p[i]];
			i = p[i];
		}
		i
	}
	let join = |p: &mut Vec<usize>, a: usize, b: usize| {
		let (ra, rb) = (find(p, a), find(p, b));
		p[ra] = rb;
	};
	let concat_any = g.nodes.iter().any(|n| n.op == FOp::Concat);
	if !concat_any {
		return ranges.to_vec();
	}
	for (j, node) in g.nodes.iter().enumerate() {
		let id = j + 1;
		if node.op == FOp::Concat {
			for &i in &node.inputs {
				join(&mut parent, i, id);
			}
		} else if keeps_scale(&node.op) {
			join(&mut parent, node.inputs[0], id);
		}
	}
	// only groups with a concatenation change
	let mut has_concat = vec![false; ranges.len()];
	for (j, node) in g.nodes.iter().enumerate() {
		if node.op == FOp::Concat {
			let r = find(&mut parent, j + 1);
			has_concat[r] = true;
		}
	}
	let mut best = vec![0f32; ranges.len()];
	for (i, &r) in ranges.iter().enumerate() {
		let root = find(&mut parent, i);
		best[root] = best[root].max(r);
	}
	(0..ranges.len())
		.map(|i| {
			let root = find(&mut parent, i);
			if has_concat[root] {
				best[root]
			} else {
				ranges[i]
			}
		})
		.collect()
}

/// Calibrate with clipping: per tensor, the `q`-quantile of |value| (e.g. 0.9999) in
/// each sample, averaged over the samples. Deep CNNs lose less to the rare outliers
/// clipped than to the resolution a max range costs every other value.
pub fn calibrate_quantile(
	g: &FGraph,
	samples: &[Vec<f32>],
	q: f64,
) -> Result<Vec<f32>, ImportError> {
	check_samples(g, samples)?;
	let mut m = vec![0f64; g.nodes.len() + 1];
	for s in samples {
		for (i, t) in g.run(s).iter().enumerate() {
			let mut a: Vec<f32> = t.iter().map(|v| v.abs()).collect();
			if a.is_empty() {
				continue;
			}
			let k = ((a.len() - 1) as f64 * q.clamp(0.0, 1.0)).round() as usize;
			let (_, v, _) = a.select_nth_unstable_by(k, f32::total_cmp);
			m[i] += *v as f64 / samples.len() as f64;
		}
	}
	Ok(m.into_iter().map(|v| v as f32).collect())
}

/// Quantize `g` with activation ranges `ranges` (from [`calibrate`]).
pub fn quantize(g: &FGraph, ranges: &[f32]) -> Result<Model, ImportError> {
	quantize_wide(g, ranges, &[], false)
}

/// Quanta of a wide (i32) tensor's calibrated range: `2^20`, so a value may exceed the
/// calibration 16-fold before `LayerNorm` clamps it (at `2^24`).
pub const WIDE_QUANTA: f32 = (1u32 << 20) as f32;

/// Quanta of a table's wide output (an activation feeding a fully connected layer):
/// `2^11 - 1` per calibrated range, clamped there, so a fully connected layer over it
/// sums at most `2047 · 127 · K < 2^30` for `K <= 4128` (checked).
pub const LUT_WIDE_QUANTA: f32 = 2047.0;

/// [`quantize`], with the outputs of the nodes `wide` kept wide (i32): those of
/// `FullyConnected`, `MatMul`, `Add`, `AddConst` and `LayerNorm` (a residual stream
/// with outliers) at `range / 2^20` ([`WIDE_QUANTA`]), those of tables (an activation
/// with outlier channels feeding a fully connected layer) at `range / 2047`
/// ([`LUT_WIDE_QUANTA`]); and, if `per_channel`, every fully connected layer's weight
/// quantized per output channel (a multiplier per channel).
pub fn quantize_wide(
	g: &FGraph,
	ranges: &[f32],
	wide: &[Id],
	per_channel: bool,
) -> Result<Model, ImportError> {
	let ranges = &unify_concat_ranges(g, ranges)[..];
	let mut scales: Vec<f32> = vec![scale_for(ranges[0])];
	let mut weights: Vec<Weight> = Vec::new();
	let mut nodes: Vec<Node> = Vec::new();
	let u32s = |s: &[usize]| s.iter().map(|&d| d as u32).collect::<Vec<_>>();
	let input = if g.ids {
		TensorDesc::i32(&u32s(&g.input))
	} else {
		TensorDesc::i8(&u32s(&g.input), scales[0])
	};
	let mut descs: Vec<TensorDesc> = vec![input.clone()];
	let mut add_weight = |desc: TensorDesc, data: Vec<u8>| -> NodeInput {
		weights.push(Weight {
			desc: desc.clone(),
			data,
		});
		NodeInput {
			source: Source::Weight(weights.len() as u16 - 1),
			desc,
		}
	};
	for (idx, node) in g.nodes.iter().enumerate() {
		let id: Id = idx + 1;
		let inp = |i: Id, descs: &Vec<TensorDesc>| NodeInput {
			source: Source::Slot(i as u16),
			desc: descs[i].clone(),
		};
		let sx = scales[node.inputs[0]];
		let is_wide = wide.contains(&id);
		let table_op = matches!(
			node.op,
			FOp::ScaledUnary { .. } | FOp::Unary(_) | FOp::Pointwise(_)
		);
		let wide_op = table_op
			|| matches!(
				node.op,
				FOp::Fc { .. }
					| FOp::Add { .. }
					| FOp::AddConst { .. }
					| FOp::LayerNorm { .. }
					| FOp::MatMul { .. }
			);
		if is_wide && !wide_op {
			return Err(ImportError::Unsupported {
				node: node.name.clone(),
				what: "a wide output of an op other than FullyConnected, MatMul, Add, \
				       LayerNorm and a table"
					.into(),
			});
		}
		let quanta = if table_op {
			LUT_WIDE_QUANTA
		} else {
			WIDE_QUANTA
		};
		let calibrated = if is_wide {
			match ranges[id] {
				r if r > 0.0 && r.is_finite() => r / quanta,
				_ => 1.0,
			}
		} else {
			scale_for(ranges[id])
		};
		if let FOp::Fc { w, n, .. } = &node.op {
			// a wide input only from a table, whose |values| are at most 2047
			let k = w.len() / (*n).max(1);
			let x = node.inputs[0];
			let from_table =
				x > 0 && matches!(g.nodes[x - 1].op, FOp::ScaledUnary { .. } | FOp::Unary(_));
			let wide_in = descs[x].dtype == DType::I32;
			if wide_in && (!from_table || LUT_WIDE_QUANTA as u64 * 127 * k as u64 >= 1 << 30) {
				return Err(ImportError::Unsupported {
					node: node.name.clone(),
					what: format!(
						"a fully connected layer over a wide input that may overflow its \
						 i32 sums (K = {k}; only a table's wide output with K <= 4128)"
					),
				});
			}
		}
		let (op, extra, sy): (Op, Vec<NodeInput>, f32) = match &node.op {
			FOp::Fc { w, b, n, relu } if per_channel => {
				let k = w.len() / n;
				let (wq, sws, bq) = weight_and_bias_per_channel(w, b, *n, sx);
				let wi = add_weight(TensorDesc::i8(&[*n as u32, k as u32], 1.0), wq);
				let bi = add_weight(TensorDesc::i32(&[*n as u32]), bq);
				let (shift, mults) = per_channel_requant(&sws, sx, calibrated);
				let mi = add_weight(TensorDesc::i32(&[*n as u32]), mults);
				(
					Op::FullyConnected {
						requant: Requant {
							multiplier: 0,
							shift,
						},
						relu: *relu,
					},
					vec![wi, bi, mi],
					calibrated,
				)
			}
			FOp::Fc { w, b, n, relu } => {
				let k = w.len() / n;
				let (wq, sw, bq) = weight_and_bias(w, b, sx);
				let wi = add_weight(TensorDesc::i8(&[*n as u32, k as u32], sw), wq);
				let bi = add_weight(TensorDesc::i32(&[*n as u32]), bq);
				let rq = requant_for(sx as f64 * sw as f64 / calibrated as f64);
				(
					Op::FullyConnected {
						requant: rq,
						relu: *relu,
					},
					vec![wi, bi],
					calibrated,
				)
			}
			FOp::Conv {
				w,
				b,
				wshape,
				stride,
				pad,
				relu,
				groups,
				..
			} => {
				// per output channel: a folded batch norm or a depthwise kernel gives
				// every channel its own range
				let (wq, sws, bq) = weight_and_bias_per_channel(w, b, wshape[0], sx);
				let wi = add_weight(TensorDesc::i8(&u32s(wshape), 1.0), wq);
				let bi = add_weight(TensorDesc::i32(&[wshape[0] as u32]), bq);
				let (shift, mults) = per_channel_requant(&sws, sx, calibrated);
				let mi = add_weight(TensorDesc::i32(&[wshape[0] as u32]), mults);
				(
					Op::GroupConv2d {
						groups: *groups as u32,
						stride: *stride,
						pad: *pad,
						requant: Requant {
							multiplier: 0,
							shift,
						},
						relu: *relu,
					},
					vec![wi, bi, mi],
					calibrated,
				)
			}
			FOp::Slice { offset } => (
				Op::Slice {
					offset: u32::try_from(*offset).map_err(|_| ImportError::Unsupported {
						node: node.name.clone(),
						what: "a slice offset beyond 2^32".into(),
					})?,
				},
				vec![],
				sx,
			),
			FOp::Mul => {
				let sb = scales[node.inputs[1]];
				(
					Op::Mul {
						requant: requant_for(sx as f64 * sb as f64 / calibrated as f64),
					},
					vec![inp(node.inputs[1], &descs)],
					calibrated,
				)
			}
			FOp::Lrn {
				size,
				alpha,
				beta,
				bias,
			} => {
				// table[s] = 2^16 · (sx / sy) · (bias + α/size · s · sx²)^-β
				let len = size * 16384 + 1;
				let (sx64, sy64) = (sx as f64, calibrated as f64);
				let table: Vec<u8> = (0..len)
					.flat_map(|q| {
						let d = (*bias as f64
							+ *alpha as f64 / *size as f64 * q as f64 * sx64 * sx64)
							.powf(-(*beta as f64));
						((65536.0 * sx64 / sy64 * d).round().clamp(-2e9, 2e9) as i32).to_le_bytes()
					})
					.collect();
				let t = add_weight(TensorDesc::i32(&[len as u32]), table);
				let size = u8::try_from(*size).map_err(|_| ImportError::Unsupported {
					node: node.name.clone(),
					what: "an LRN window over 255 channels".into(),
				})?;
				(Op::Lrn { size }, vec![t], calibrated)
			}
			FOp::Concat => {
				// one scale for every input and the output (`unify_concat_ranges`)
				let rest = node.inputs[1..].iter().map(|&i| inp(i, &descs)).collect();
				if node.inputs.iter().any(|&i| scales[i] != sx) {
					return Err(ImportError::Unsupported {
						node: node.name.clone(),
						what: "a concatenation of tensors at different fixed scales".into(),
					});
				}
				(Op::Concat, rest, sx)
			}
			FOp::MatMul { transpose_b, alpha } => {
				let sb = scales[node.inputs[1]];
				let rq = requant_for(*alpha as f64 * sx as f64 * sb as f64 / calibrated as f64);
				(
					Op::MatMul {
						transpose_b: *transpose_b,
						requant: rq,
					},
					vec![inp(node.inputs[1], &descs)],
					calibrated,
				)
			}
			FOp::Add { relu } => {
				let sb = scales[node.inputs[1]];
				let (a_mult, b_mult, shift) = add_multipliers(sx, sb, calibrated);
				(
					Op::Add {
						a_mult,
						b_mult,
						shift,
						relu: *relu,
					},
					vec![inp(node.inputs[1], &descs)],
					calibrated,
				)
			}
			FOp::Relu => (Op::Relu, vec![], sx),
			FOp::MaxPool {
				kernel,
				stride,
				pad,
			} => (
				Op::MaxPool {
					kernel: *kernel,
					stride: *stride,
					pad: *pad,
				},
				vec![],
				sx,
			),
			FOp::AvgPool { kernel, stride } => (
				Op::AvgPool {
					kernel: *kernel,
					stride: *stride,
				},
				vec![],
				sx,
			),
			FOp::Reshape => (Op::Reshape, vec![], sx),
			FOp::Transpose { perm } => (Op::Transpose { perm: perm.clone() }, vec![], sx),
			FOp::Softmax => {
				let t = add_weight(TensorDesc::i32(&[256]), exp_table(sx));
				(Op::Softmax, vec![t], 1.0 / 127.0)
			}
			FOp::LayerNorm { gamma, beta, eps } => {
				let d = gamma.len();
				let sg = scale_for(max_abs(gamma));
				let gq: Vec<i8> = gamma.iter().map(|&v| q8(v, sg)).collect();
				let bq: Vec<u8> = beta
					.iter()
					.flat_map(|&v| {
						((v as f64 * 65536.0 / sg as f64).round().clamp(-2e9, 2e9) as i32)
							.to_le_bytes()
					})
					.collect();
				let gi = add_weight(TensorDesc::i8(&[d as u32], sg), i8_bytes(&gq));
				let bi = add_weight(TensorDesc::i32(&[d as u32]), bq);
				let dn = d as f64;
				let eps_q = (*eps as f64 * dn * dn / (sx as f64 * sx as f64)).round();
				let eps_q = if eps_q.is_finite() {
					eps_q.clamp(0.0, 1e18) as u64
				} else {
					0
				};
				let rq = requant_for(sg as f64 / (65536.0 * calibrated as f64));
				(
					Op::LayerNorm {
						eps: eps_q,
						requant: rq,
					},
					vec![gi, bi],
					calibrated,
				)
			}
			FOp::Gather { table, d } => {
				let st = scale_for(max_abs(table));
				let tq: Vec<i8> = table.iter().map(|&v| q8(v, st)).collect();
				let rows = (table.len() / (*d).max(1)) as u32;
				let t = add_weight(TensorDesc::i8(&[rows, *d as u32], st), i8_bytes(&tq));
				// the table comes first: see below
				(Op::Gather, vec![t], st)
			}
			FOp::AddConst { c } => {
				let sc = scale_for(max_abs(c));
				let cq: Vec<i8> = c.iter().map(|&v| q8(v, sc)).collect();
				let shape = u32s(g.shape(node.inputs[0]));
				let ci = add_weight(TensorDesc::i8(&shape, sc), i8_bytes(&cq));
				let (a_mult, b_mult, shift) = add_multipliers(sx, sc, calibrated);
				(
					Op::Add {
						a_mult,
						b_mult,
						shift,
						relu: false,
					},
					vec![ci],
					calibrated,
				)
			}
			FOp::MaskedSoftmax { pad } => {
				// wide scores: a table step of about 1/16 (256 steps reach e^-16)
				let shift = if descs[node.inputs[0]].dtype == DType::I32 {
					((1.0 / 16.0) / sx as f64).log2().round().clamp(0.0, 31.0) as u8
				} else {
					0
				};
				let step = sx * (1u64 << shift) as f32;
				let t = add_weight(TensorDesc::i32(&[256]), exp_table(step));
				let ids = inp(node.inputs[1], &descs);
				(
					Op::MaskedSoftmax { pad: *pad, shift },
					vec![t, ids],
					1.0 / 127.0,
				)
			}
			FOp::PoolNormalize { pad } => {
				// y / scale: quanta per unit length, as many as the calibrated range allows
				let multiplier = (1.0 / calibrated as f64).floor().clamp(1.0, 65536.0) as i32;
				let ids = inp(node.inputs[1], &descs);
				(
					Op::PoolNormalize {
						pad: *pad,
						multiplier,
					},
					vec![ids],
					1.0 / multiplier as f32,
				)
			}
			FOp::ScaledUnary { .. } | FOp::Unary(_) | FOp::Pointwise(_) => {
				let (f, pre, post, shape) = match &node.op {
					FOp::ScaledUnary { f, pre, post } => (
						Pw::U(*f, Box::new(Pw::X)),
						pre.clone(),
						post.clone(),
						vec![pre.len() as u32, 256],
					),
					FOp::Unary(f) => (Pw::U(*f, Box::new(Pw::X)), vec![1.0], vec![1.0], vec![256]),
					FOp::Pointwise(p) => (p.clone(), vec![1.0], vec![1.0], vec![256]),
					_ => (Pw::X, vec![], vec![], vec![]),
				};
				let values = pre.iter().zip(&post).flat_map(|(&a, &b)| {
					let f = &f;
					(-128i32..128)
						.map(move |q| f.eval((q as f32 * sx * a) as f64) as f32 * b / calibrated)
				});
				let t = if is_wide {
					let q = LUT_WIDE_QUANTA;
					let table: Vec<u8> = values
						.flat_map(|v| (v.round().clamp(-q, q) as i32).to_le_bytes())
						.collect();
					add_weight(
						TensorDesc {
							shape,
							dtype: DType::I32,
							scale: calibrated.to_bits(),
						},
						table,
					)
				} else {
					let table: Vec<i8> = values
						.map(|v| v.round().clamp(-127.0, 127.0) as i8)
						.collect();
					add_weight(TensorDesc::i8(&shape, calibrated), i8_bytes(&table))
				};
				(Op::Lut, vec![t], calibrated)
			}
		};
		let mut inputs = vec![inp(node.inputs[0], &descs)];
		inputs.extend(extra);
		if op == Op::Gather {
			// table first, then the ids
			inputs.swap(0, 1);
		}
		let output = if is_wide {
			TensorDesc {
				shape: u32s(&node.shape),
				dtype: DType::I32,
				scale: sy.to_bits(),
			}
		} else {
			TensorDesc::i8(&u32s(&node.shape), sy)
		};
		descs.push(output.clone());
		scales.push(sy);
		nodes.push(Node { op, inputs, output });
	}
	let model = Model {
		graph: Graph { input, nodes },
		weights,
	};
	check_model(&model).map_err(ImportError::Nn)?;
	Ok(model)
}

/// Quantize float input values with the model input's scale.
pub fn quantize_input(model: &Model, x: &[f32]) -> Vec<i8> {
	let s = model.graph.input.scale_f32();
	x.iter()
		.map(|&v| (v / s).round().clamp(-128.0, 127.0) as i8)
		.collect()
}

/// Dequantize int8 values of a tensor with `desc`'s scale.
pub fn dequantize(desc: &TensorDesc, x: &[i8]) -> Vec<f32> {
	let s = desc.scale_f32();
	x.iter().map(|&v| v as f32 * s).collect()
}

/// Dequantize a tensor of either element type (int8 or wide) with `desc`'s scale.
pub fn dequantize_data(desc: &TensorDesc, x: &crate::TensorData) -> Vec<f32> {
	let s = desc.scale_f32();
	match x {
		crate::TensorData::I8(v) => dequantize(desc, v),
		crate::TensorData::I32(v) => v.iter().map(|&v| v as f32 * s).collect(),
	}
}
