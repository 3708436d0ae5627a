//! Post-training quantization of a float graph: calibrate activation scales on sample
//! inputs (max |value| per tensor), quantize weights per tensor (symmetric int8),
//! biases to i32 at the accumulator's scale, and derive every op's fixed-point
//! parameters (requantization multipliers, Add multipliers, softmax/LUT tables,
//! layer-norm constants).

use super::{
	float::{FGraph, FOp, Id},
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

/// Calibrate: max |value| of every tensor over `samples`.
pub fn calibrate(g: &FGraph, samples: &[Vec<f32>]) -> Result<Vec<f32>, ImportError> {
	let input_len: usize = g.input.iter().product();
	let mut m = vec![0f32; g.nodes.len() + 1];
	if samples.is_empty() {
		return Err(ImportError::Calibration("no calibration samples".into()));
	}
	for s in samples {
		if s.len() != input_len {
			return Err(ImportError::Calibration(format!(
				"a calibration sample has {} values, the model input {input_len}",
				s.len()
			)));
		}
		for (i, t) in g.run(s).iter().enumerate() {
			m[i] = m[i].max(max_abs(t));
		}
	}
	Ok(m)
}

/// Quantize `g` with activation ranges `ranges` (from [`calibrate`]).
pub fn quantize(g: &FGraph, ranges: &[f32]) -> Result<Model, ImportError> {
	let mut scales: Vec<f32> = vec![scale_for(ranges[0])];
	let mut weights: Vec<Weight> = Vec::new();
	let mut nodes: Vec<Node> = Vec::new();
	let u32s = |s: &[usize]| s.iter().map(|&d| d as u32).collect::<Vec<_>>();
	let input = TensorDesc::i8(&u32s(&g.input), scales[0]);
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
		let calibrated = scale_for(ranges[id]);
		let (op, extra, sy): (Op, Vec<NodeInput>, f32) = match &node.op {
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
			} => {
				let (wq, sw, bq) = weight_and_bias(w, b, sx);
				let wi = add_weight(TensorDesc::i8(&u32s(wshape), sw), wq);
				let bi = add_weight(TensorDesc::i32(&[wshape[0] as u32]), bq);
				let rq = requant_for(sx as f64 * sw as f64 / calibrated as f64);
				(
					Op::Conv2d {
						stride: *stride,
						pad: *pad,
						requant: rq,
						relu: *relu,
					},
					vec![wi, bi],
					calibrated,
				)
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
				let (ra, rb) = (sx as f64 / calibrated as f64, sb as f64 / calibrated as f64);
				let big = ra.abs().max(rb.abs()).max(1e-30);
				// largest shift keeping both multipliers within 2^22
				let shift = (22.0 - big.log2().ceil()).clamp(0.0, 31.0) as u8;
				let m = |r: f64| {
					(r * (1u64 << shift) as f64)
						.round()
						.clamp(-4194304.0, 4194304.0) as i32
				};
				(
					Op::Add {
						a_mult: m(ra),
						b_mult: m(rb),
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
				let table: Vec<u8> = (0..256)
					.flat_map(|d| {
						((65536.0 * (-(d as f64) * sx as f64).exp()).round() as i32).to_le_bytes()
					})
					.collect();
				let t = add_weight(TensorDesc::i32(&[256]), table);
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
			FOp::Unary(f) => {
				let table: Vec<i8> = (-128i32..128)
					.map(|q| q8(f.apply(q as f32 * sx), calibrated))
					.collect();
				let t = add_weight(TensorDesc::i8(&[256], calibrated), i8_bytes(&table));
				(Op::Lut, vec![t], calibrated)
			}
		};
		let mut inputs = vec![inp(node.inputs[0], &descs)];
		inputs.extend(extra);
		let output = TensorDesc::i8(&u32s(&node.shape), sy);
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
