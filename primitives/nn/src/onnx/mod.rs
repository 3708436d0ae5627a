//! ONNX import with post-training quantization (feature `onnx`).
//!
//! 1. [`parse`]: tract-onnx's protobuf parser reads the file; each ONNX node maps to a
//!    [`float::FGraph`] op, fusing what the integer format fuses (MatMul/Gemm + bias →
//!    FullyConnected, Conv + bias, a following ReLU, a scalar Mul/Div after a
//!    product, a Transpose feeding a MatMul's second operand). An op without a
//!    mapping is an error naming it.
//! 2. [`quantize::calibrate`] runs the float graph on sample inputs;
//! 3. [`quantize::quantize`] emits the opml [`crate::Model`].
//!
//! Supported ONNX ops: Gemm, MatMul, Add, Sum, Mul/Div (by a scalar after a
//! product), Relu, Clip (ReLU6 fused into the convolution before it), Conv (grouped
//! and depthwise too), BatchNormalization (folded into the convolution before it, or
//! a 1×1 depthwise convolution), MaxPool (ceil mode too), AveragePool,
//! GlobalAveragePool, Concat (along an axis with only 1s before it), Flatten,
//! Reshape, Squeeze, Unsqueeze, Transpose, Softmax (last axis), LayerNormalization
//! (last axis), Gelu, Sigmoid, Tanh, HardSwish, HardSigmoid, Identity, Dropout,
//! Constant; shape computations on constants (Shape, Cast, Gather, Concat,
//! Unsqueeze, arithmetic) are folded. Convolutions are quantized per output channel
//! ([`crate::Op::GroupConv2d`]). Fixed input shapes only (batch included).

pub mod fill;
pub mod float;
pub mod quantize;

use crate::{types::Model, NnError};
use float::{FGraph, FNode, FOp, Id, Pw, Unary};
use std::{collections::HashMap, path::Path};
use tract_onnx::{
	pb::{self, tensor_proto::DataType, type_proto, NodeProto},
	prelude::Framework,
};

/// Why an ONNX model could not be imported.
#[derive(Debug)]
pub enum ImportError {
	/// A file could not be read or parsed (ONNX, safetensors, config).
	Parse(String),
	/// An op without a mapping to the integer format.
	UnsupportedOp {
		/// ONNX op type.
		op: String,
		/// ONNX node name.
		node: String,
	},
	/// A supported op with attributes, inputs or shapes that are not.
	Unsupported {
		/// ONNX node name (or the graph input's name).
		node: String,
		/// What is not supported.
		what: String,
	},
	/// Calibration failed (no or wrong-sized samples).
	Calibration(String),
	/// The emitted model failed its checks.
	Nn(NnError),
}

impl std::fmt::Display for ImportError {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		match self {
			ImportError::Parse(e) => write!(f, "cannot read the model: {e}"),
			ImportError::UnsupportedOp { op, node } => {
				write!(f, "unsupported ONNX op `{op}` (node `{node}`)")
			}
			ImportError::Unsupported { node, what } => write!(f, "node `{node}`: {what}"),
			ImportError::Calibration(e) => write!(f, "calibration: {e}"),
			ImportError::Nn(e) => write!(f, "the quantized model is invalid: {e}"),
		}
	}
}

impl std::error::Error for ImportError {}

/// Read an ONNX file into a protobuf model.
pub fn read(path: &Path) -> Result<pb::ModelProto, ImportError> {
	tract_onnx::onnx()
		.proto_model_for_path(path)
		.map_err(|e| ImportError::Parse(format!("{}: {e}", path.display())))
}

/// Import: parse, calibrate on `samples` (float inputs of the model's input size),
/// quantize.
pub fn import(path: &Path, samples: &[Vec<f32>]) -> Result<Model, ImportError> {
	import_with(path, samples, None)
}

/// [`import`], calibrating each tensor's range by the `quantile` of |value| per
/// sample ([`quantize::calibrate_quantile`], e.g. 0.9999 for deep CNNs) instead of
/// the maximum when given.
pub fn import_with(
	path: &Path,
	samples: &[Vec<f32>],
	quantile: Option<f64>,
) -> Result<Model, ImportError> {
	let g = parse(&read(path)?)?;
	let ranges = match quantile {
		Some(q) if !(q > 0.0 && q <= 1.0) => {
			return Err(ImportError::Calibration(format!(
				"the calibration quantile {q} is not in (0, 1]"
			)))
		}
		Some(q) => quantize::calibrate_quantile(&g, samples, q)?,
		None => quantize::calibrate(&g, samples)?,
	};
	quantize::quantize(&g, &ranges)
}

/// A named value during conversion.
#[derive(Clone, Debug)]
enum Val {
	/// A constant: values (as f64, exact for int64 shapes too) and dims.
	Const(Vec<f64>, Vec<usize>),
	/// An activation.
	Act(Id),
	/// An element-wise function of an activation, computed (as one table) only when
	/// something other than another element-wise op uses it.
	Expr(Id, Pw),
	/// A part of a layer normalization written out op by op, of an activation.
	Stat(Id, Stat),
}

/// The parts of a decomposed layer normalization over the last axis:
/// `(x - mean(x)) / sqrt(mean((x - mean(x))²) + eps)`.
#[derive(Clone, Debug, PartialEq)]
enum Stat {
	Mean,
	Centered,
	Squared,
	Var(f64),
	Sd(f64),
}

/// An ONNX op name as a static string (for [`Pw`]).
fn static_op(op: &str) -> Option<&'static str> {
	const OPS: [&str; 18] = [
		"Erf",
		"Sqrt",
		"Exp",
		"Neg",
		"Abs",
		"Tanh",
		"Sigmoid",
		"Relu",
		"Floor",
		"Ceil",
		"Reciprocal",
		"Add",
		"Sub",
		"Mul",
		"Div",
		"Pow",
		"Min",
		"Max",
	];
	OPS.iter().find(|&&o| o == op).copied()
}

fn tensor_values(t: &pb::TensorProto) -> Result<Vec<f64>, String> {
	let dt = DataType::try_from(t.data_type).map_err(|_| format!("data type {}", t.data_type))?;
	let raw = &t.raw_data;
	Ok(match dt {
		DataType::Float => {
			if !raw.is_empty() {
				raw.chunks_exact(4)
					.map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64)
					.collect()
			} else {
				t.float_data.iter().map(|&v| v as f64).collect()
			}
		}
		DataType::Int64 => {
			if !raw.is_empty() {
				raw.chunks_exact(8)
					.map(|c| i64::from_le_bytes(c.try_into().unwrap_or([0; 8])) as f64)
					.collect()
			} else {
				t.int64_data.iter().map(|&v| v as f64).collect()
			}
		}
		DataType::Int32 => {
			if !raw.is_empty() {
				raw.chunks_exact(4)
					.map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64)
					.collect()
			} else {
				t.int32_data.iter().map(|&v| v as f64).collect()
			}
		}
		DataType::Double => t.double_data.clone(),
		other => return Err(format!("tensor type {other:?}")),
	})
}

fn attr<'a>(n: &'a NodeProto, name: &str) -> Option<&'a pb::AttributeProto> {
	n.attribute.iter().find(|a| a.name == name)
}

fn attr_i(n: &NodeProto, name: &str, default: i64) -> i64 {
	attr(n, name).map(|a| a.i).unwrap_or(default)
}

fn attr_f(n: &NodeProto, name: &str, default: f32) -> f32 {
	attr(n, name).map(|a| a.f).unwrap_or(default)
}

fn attr_ints(n: &NodeProto, name: &str) -> Option<Vec<i64>> {
	attr(n, name).map(|a| a.ints.clone())
}

fn attr_s(n: &NodeProto, name: &str) -> Option<String> {
	attr(n, name).map(|a| String::from_utf8_lossy(&a.s).into_owned())
}

/// Strides and pads of a 2-D window op as bytes, and the output height and width.
fn window(
	n: &NodeProto,
	xs: &[usize],
	kernel: [usize; 2],
	stride: &[i64],
	pads: &[i64],
) -> Result<([u8; 2], [u8; 4], usize, usize), ImportError> {
	let stride = [
		to_u8(n, stride[0], "stride")?,
		to_u8(n, stride[1], "stride")?,
	];
	let mut pad = [0u8; 4];
	for (p, &v) in pad.iter_mut().zip(pads) {
		*p = to_u8(n, v, "pad")?;
	}
	let out = |d: usize, k: usize, p0: u8, p1: u8, s: u8| {
		(d + p0 as usize + p1 as usize)
			.checked_sub(k)
			.map(|v| v / s.max(1) as usize + 1)
	};
	match (
		out(xs[2], kernel[0], pad[0], pad[2], stride[0]),
		out(xs[3], kernel[1], pad[1], pad[3], stride[1]),
	) {
		(Some(oh), Some(ow)) => Ok((stride, pad, oh, ow)),
		_ => Err(unsup(n, "window larger than the padded input")),
	}
}

struct Conv<'a> {
	g: FGraph,
	vals: HashMap<String, Val>,
	uses: HashMap<&'a str, usize>,
	/// Nodes removed by fusion (their consumer took their input).
	dead: Vec<bool>,
	/// Concatenations so far, by their inputs.
	concats: HashMap<Vec<Id>, Id>,
}

fn unsup(n: &NodeProto, what: impl Into<String>) -> ImportError {
	ImportError::Unsupported {
		node: n.name.clone(),
		what: what.into(),
	}
}

fn to_u8(n: &NodeProto, v: i64, what: &str) -> Result<u8, ImportError> {
	u8::try_from(v).map_err(|_| unsup(n, format!("{what} {v} out of range 0..=255")))
}

impl<'a> Conv<'a> {
	fn val(&self, n: &NodeProto, name: &str) -> Result<Val, ImportError> {
		self.vals.get(name).cloned().ok_or_else(|| {
			unsup(
				n,
				format!("input `{name}` is not produced by any earlier node"),
			)
		})
	}

	fn act(&self, n: &NodeProto, i: usize) -> Result<Id, ImportError> {
		let name = n
			.input
			.get(i)
			.ok_or_else(|| unsup(n, format!("missing input {i}")))?;
		match self.val(n, name)? {
			Val::Act(id) => Ok(id),
			Val::Const(..) => Err(unsup(
				n,
				format!("input `{name}` must be computed, not a constant"),
			)),
			Val::Expr(..) | Val::Stat(..) => Err(unsup(
				n,
				format!("input `{name}` is a part of a pattern this op cannot take"),
			)),
		}
	}

	fn konst(&self, n: &NodeProto, i: usize) -> Result<(Vec<f64>, Vec<usize>), ImportError> {
		let name = n
			.input
			.get(i)
			.ok_or_else(|| unsup(n, format!("missing input {i}")))?;
		match self.val(n, name)? {
			Val::Const(v, d) => Ok((v, d)),
			_ => Err(unsup(
				n,
				format!("input `{name}` must be a constant (initializer)"),
			)),
		}
	}

	fn shape(&self, id: Id) -> Vec<usize> {
		self.g.shape(id).to_vec()
	}

	fn push(&mut self, n: &NodeProto, op: FOp, inputs: Vec<Id>, shape: Vec<usize>) -> Id {
		self.g.nodes.push(FNode {
			op,
			inputs,
			shape,
			name: n.name.clone(),
		});
		self.dead.push(false);
		self.g.nodes.len()
	}

	fn out(&mut self, n: &NodeProto, v: Val) -> Result<(), ImportError> {
		let name = n.output.first().ok_or_else(|| unsup(n, "no output"))?;
		self.vals.insert(name.clone(), v);
		Ok(())
	}

	/// Whether the activation `id` (named by `n`'s input `i`) has only this consumer.
	fn single_use(&self, n: &NodeProto, i: usize) -> bool {
		n.input
			.get(i)
			.map(|s| self.uses.get(s.as_str()).copied().unwrap_or(0) == 1)
			.unwrap_or(false)
	}

	fn node_mut(&mut self, id: Id) -> Option<&mut FNode> {
		if id == 0 {
			None
		} else {
			self.g.nodes.get_mut(id - 1)
		}
	}

	fn convert(&mut self, n: &'a NodeProto) -> Result<(), ImportError> {
		let op = n.op_type.as_str();
		if !n.domain.is_empty() && n.domain != "ai.onnx" {
			return Err(ImportError::UnsupportedOp {
				op: format!("{}.{op}", n.domain),
				node: n.name.clone(),
			});
		}
		if let Some(v) = self.fold_const(n)? {
			return self.out(n, v);
		}
		if let Some(v) = self.stat(n)? {
			return self.out(n, v);
		}
		if let Some(v) = self.pointwise(n)? {
			return self.out(n, v);
		}
		// element-wise expressions used by anything else are computed here
		for name in n.input.iter().filter(|s| !s.is_empty()) {
			match self.val(n, name)? {
				Val::Expr(x, p) => {
					let id = self.materialize(n, x, p);
					self.vals.insert(name.clone(), Val::Act(id));
				}
				Val::Stat(..) => {
					return Err(unsup(
						n,
						format!(
							"`{name}` is a part of a decomposed LayerNormalization, used by {op}"
						),
					))
				}
				_ => {}
			}
		}
		match op {
			"LRN" => {
				let x = self.act(n, 0)?;
				let s = self.shape(x);
				let size = attr_i(n, "size", 0);
				if s.len() != 4 || !(1..=255).contains(&size) {
					return Err(unsup(n, "LRN needs NCHW and a size of 1..=255"));
				}
				let op = FOp::Lrn {
					size: size as usize,
					alpha: attr_f(n, "alpha", 1e-4),
					beta: attr_f(n, "beta", 0.75),
					bias: attr_f(n, "bias", 1.0),
				};
				let id = self.push(n, op, vec![x], s);
				self.out(n, Val::Act(id))
			}
			"Split" => self.split(n),
			"Slice" => self.slice(n),
			"Gather" => self.gather(n),
			"ReduceMean" => {
				// over the spatial axes of NCHW: global average pooling
				let x = self.act(n, 0)?;
				let s = self.shape(x);
				let axes: Vec<i64> = attr_ints(n, "axes").unwrap_or_default();
				let axes: Vec<i64> = axes
					.iter()
					.map(|&a| if a < 0 { a + s.len() as i64 } else { a })
					.collect();
				if s.len() != 4 || axes != [2, 3] {
					return Err(unsup(
						n,
						"ReduceMean only over the last axis (LayerNorm) or H and W (pooling)",
					));
				}
				let id = self.global_pool(n, x)?;
				let id = if attr_i(n, "keepdims", 1) == 0 {
					self.push(n, FOp::Reshape, vec![id], vec![s[0], s[1]])
				} else {
					id
				};
				self.out(n, Val::Act(id))
			}
			"BatchNormalization" => self.batch_norm(n),
			"Concat" => self.concat(n),
			"Sum" => {
				// n-ary sum: a chain of binary additions
				let mut acc = self.act(n, 0)?;
				for i in 1..n.input.len() {
					let b = self.act(n, i)?;
					let (sa, sb) = (self.shape(acc), self.shape(b));
					if sa != sb {
						return Err(unsup(n, format!("Sum of shapes {sa:?} and {sb:?}")));
					}
					acc = self.push(n, FOp::Add { relu: false }, vec![acc, b], sa);
				}
				self.out(n, Val::Act(acc))
			}
			"Clip" => {
				// bounds: attributes (opset < 11) or constant inputs
				let bound =
					|c: &Self, i: usize, name: &str, default: f32| -> Result<f32, ImportError> {
						match n.input.get(i).filter(|s| !s.is_empty()) {
							Some(_) => match c.konst(n, i)?.0.as_slice() {
								[v] => Ok(*v as f32),
								_ => Err(unsup(n, "Clip bounds must be scalars")),
							},
							None => Ok(attr_f(n, name, default)),
						}
					};
				let lo = bound(self, 1, "min", f32::NEG_INFINITY)?;
				let hi = bound(self, 2, "max", f32::INFINITY)?;
				let x = self.act(n, 0)?;
				let single = self.single_use(n, 0);
				// ReLU6 and other [0, hi] clips after a convolution fuse into it
				match self.node_mut(x).map(|nd| &mut nd.op) {
					Some(FOp::Conv { relu, clip, .. })
						if single && lo == 0.0 && hi > 0.0 && clip.is_infinite() =>
					{
						*relu = true;
						*clip = hi;
						self.out(n, Val::Act(x))
					}
					_ => self.out(
						n,
						Val::Expr(x, Pw::U(Unary::Clip { lo, hi }, Box::new(Pw::X))),
					),
				}
			}
			"Constant" => {
				let t = attr(n, "value")
					.and_then(|a| a.t.as_ref())
					.ok_or_else(|| unsup(n, "Constant without a tensor `value`"))?;
				let v = tensor_values(t).map_err(|e| unsup(n, e))?;
				let d = t.dims.iter().map(|&d| d as usize).collect();
				self.out(n, Val::Const(v, d))
			}
			"Identity" | "Dropout" => {
				let v = self.val(n, &n.input[0])?;
				self.out(n, v)
			}
			"Gemm" | "MatMul" => self.matmul(n),
			"Mul" | "Div" => self.mul(n),
			"Add" | "Sub" => self.add(n),
			"Relu" => {
				let x = self.act(n, 0)?;
				let single = self.single_use(n, 0);
				match self.node_mut(x).map(|nd| &mut nd.op) {
					Some(FOp::Fc { relu, .. })
					| Some(FOp::Conv { relu, .. })
					| Some(FOp::Add { relu })
						if single && !*relu =>
					{
						*relu = true;
						self.out(n, Val::Act(x))
					}
					_ => {
						let s = self.shape(x);
						let id = self.push(n, FOp::Relu, vec![x], s);
						self.out(n, Val::Act(id))
					}
				}
			}
			"Conv" => self.conv(n),
			"MaxPool" | "AveragePool" | "GlobalAveragePool" => self.pool(n),
			"Flatten" | "Reshape" | "Squeeze" | "Unsqueeze" => self.reshape(n),
			"Transpose" => {
				let x = self.act(n, 0)?;
				let s = self.shape(x);
				let r = s.len();
				let perm: Vec<u8> = match attr_ints(n, "perm") {
					Some(p) => p
						.iter()
						.map(|&v| to_u8(n, v, "perm"))
						.collect::<Result<_, _>>()?,
					None => (0..r as u8).rev().collect(),
				};
				if perm.len() != r || r > crate::types::MAX_RANK {
					return Err(unsup(n, "perm must list every axis (rank <= 4)"));
				}
				let shape = perm.iter().map(|&p| s[p as usize]).collect();
				let id = self.push(n, FOp::Transpose { perm }, vec![x], shape);
				self.out(n, Val::Act(id))
			}
			"Softmax" => {
				let x = self.act(n, 0)?;
				let s = self.shape(x);
				let axis = attr_i(n, "axis", -1);
				if axis != -1 && axis != s.len() as i64 - 1 {
					return Err(unsup(n, "Softmax only over the last axis"));
				}
				let id = self.push(n, FOp::Softmax, vec![x], s);
				self.out(n, Val::Act(id))
			}
			"LayerNormalization" => {
				let x = self.act(n, 0)?;
				let s = self.shape(x);
				let axis = attr_i(n, "axis", -1);
				if axis != -1 && axis != s.len() as i64 - 1 {
					return Err(unsup(n, "LayerNormalization only over the last axis"));
				}
				let d = *s.last().unwrap_or(&1);
				let (g, _) = self.konst(n, 1)?;
				let b = if n.input.len() > 2 && !n.input[2].is_empty() {
					self.konst(n, 2)?.0
				} else {
					vec![0.0; d]
				};
				if g.len() != d || b.len() != d {
					return Err(unsup(n, "scale and bias must have the last axis' length"));
				}
				let op = FOp::LayerNorm {
					gamma: g.iter().map(|&v| v as f32).collect(),
					beta: b.iter().map(|&v| v as f32).collect(),
					eps: attr_f(n, "epsilon", 1e-5),
				};
				let id = self.push(n, op, vec![x], s);
				self.out(n, Val::Act(id))
			}
			_ => Err(ImportError::UnsupportedOp {
				op: op.to_string(),
				node: n.name.clone(),
			}),
		}
	}

	fn matmul(&mut self, n: &NodeProto) -> Result<(), ImportError> {
		let gemm = n.op_type == "Gemm";
		let a = self.act(n, 0)?;
		let ashape = self.shape(a);
		let k = *ashape.last().unwrap_or(&0);
		match self.val(n, &n.input[1])? {
			Val::Const(bv, bd) => {
				if gemm && attr_i(n, "transA", 0) != 0 {
					return Err(unsup(n, "Gemm with transA"));
				}
				let trans_b = gemm && attr_i(n, "transB", 0) != 0;
				if bd.len() != 2 {
					return Err(unsup(n, "the weight must be 2-D"));
				}
				let (bk, bn) = if trans_b {
					(bd[1], bd[0])
				} else {
					(bd[0], bd[1])
				};
				if bk != k {
					return Err(unsup(n, format!("inner dimensions differ ({k} vs {bk})")));
				}
				let alpha = if gemm { attr_f(n, "alpha", 1.0) } else { 1.0 };
				let mut w = vec![0f32; bn * bk];
				for j in 0..bn {
					for kk in 0..bk {
						let v = if trans_b {
							bv[j * bk + kk]
						} else {
							bv[kk * bn + j]
						};
						w[j * bk + kk] = alpha * v as f32;
					}
				}
				let mut b = vec![0f32; bn];
				if gemm && n.input.len() > 2 && !n.input[2].is_empty() {
					let (c, _) = self.konst(n, 2)?;
					let beta = attr_f(n, "beta", 1.0);
					if c.len() == bn {
						b = c.iter().map(|&v| beta * v as f32).collect();
					} else if c.len() == 1 {
						b = vec![beta * c[0] as f32; bn];
					} else {
						return Err(unsup(n, "Gemm bias must have N or 1 values"));
					}
				}
				let mut shape = ashape;
				*shape.last_mut().unwrap_or(&mut 0) = bn;
				let id = self.push(
					n,
					FOp::Fc {
						w,
						b,
						n: bn,
						relu: false,
					},
					vec![a],
					shape,
				);
				self.out(n, Val::Act(id))
			}
			Val::Act(bid) => {
				if gemm {
					return Err(unsup(n, "Gemm needs a constant second operand"));
				}
				let mut b = bid;
				let mut transpose_b = false;
				let r = ashape.len();
				if let Some(node) = self.node_mut(b) {
					if let FOp::Transpose { perm } = &node.op {
						let swap_last: Vec<u8> = (0..r as u8)
							.map(|i| {
								if i + 2 == r as u8 {
									r as u8 - 1
								} else if i + 1 == r as u8 {
									r as u8 - 2
								} else {
									i
								}
							})
							.collect();
						if *perm == swap_last {
							let src = node.inputs[0];
							if self.single_use(n, 1) {
								self.dead[b - 1] = true;
								b = src;
								transpose_b = true;
							}
						}
					}
				}
				let bshape = self.shape(b);
				if r == 4 && bshape.len() == 4 && ashape[..2] == bshape[..2] {
					// [B, H, M, K] · [B, H, K, N]: batched over B·H as rank 3
					let bh = ashape[0] * ashape[1];
					let a3 = self.push(n, FOp::Reshape, vec![a], vec![bh, ashape[2], ashape[3]]);
					let b3 = self.push(n, FOp::Reshape, vec![b], vec![bh, bshape[2], bshape[3]]);
					let (bk, bn) = if transpose_b {
						(bshape[3], bshape[2])
					} else {
						(bshape[2], bshape[3])
					};
					if bk != k {
						return Err(unsup(n, "MatMul shapes do not match"));
					}
					let op = FOp::MatMul {
						transpose_b,
						alpha: 1.0,
					};
					let m = self.push(n, op, vec![a3, b3], vec![bh, ashape[2], bn]);
					let shape = vec![ashape[0], ashape[1], ashape[2], bn];
					let id = self.push(n, FOp::Reshape, vec![m], shape);
					return self.out(n, Val::Act(id));
				}
				if !(r == 2 || r == 3) || bshape.len() != r {
					return Err(unsup(
						n,
						"MatMul of two activations needs operands of rank 2, 3 or 4 (same batch)",
					));
				}
				let (bk, bn) = if transpose_b {
					(bshape[r - 1], bshape[r - 2])
				} else {
					(bshape[r - 2], bshape[r - 1])
				};
				if bk != k || (r == 3 && ashape[0] != bshape[0]) {
					return Err(unsup(n, "MatMul shapes do not match"));
				}
				let mut shape = ashape;
				shape[r - 1] = bn;
				let id = self.push(
					n,
					FOp::MatMul {
						transpose_b,
						alpha: 1.0,
					},
					vec![a, b],
					shape,
				);
				self.out(n, Val::Act(id))
			}
			_ => Err(unsup(n, "MatMul of a pattern it cannot take")),
		}
	}

	/// Add or Sub: of two activations (same shape; `Sum` chains them), or of an
	/// activation and a constant: a bias (folded into the product or normalization
	/// before, or per channel of NCHW as a 1×1 depthwise convolution). Scalars on an
	/// activation are element-wise expressions ([`Self::pointwise`]).
	fn add(&mut self, n: &NodeProto) -> Result<(), ImportError> {
		let sub = n.op_type == "Sub";
		match (self.val(n, &n.input[0])?, self.val(n, &n.input[1])?) {
			(Val::Act(a), Val::Act(b)) => {
				let (sa, sb) = (self.shape(a), self.shape(b));
				if sa != sb {
					return Err(unsup(
						n,
						format!(
							"{} of shapes {sa:?} and {sb:?} (no broadcasting)",
							n.op_type
						),
					));
				}
				if sub {
					return Err(unsup(n, "Sub of two activations"));
				}
				let id = self.push(n, FOp::Add { relu: false }, vec![a, b], sa);
				self.out(n, Val::Act(id))
			}
			(Val::Act(x), Val::Const(c, cd)) | (Val::Const(c, cd), Val::Act(x)) => {
				let first = matches!(self.val(n, &n.input[0])?, Val::Act(_));
				let i = if first { 0 } else { 1 };
				let single = self.single_use(n, i);
				// x - c = x + (-c); c - x = -x + c
				let (sign, c): (f64, Vec<f64>) = match (sub, first) {
					(true, true) => (1.0, c.iter().map(|v| -v).collect()),
					(true, false) => (-1.0, c),
					_ => (1.0, c),
				};
				let xs = self.shape(x);
				let last = *xs.last().unwrap_or(&0);
				if sign > 0.0 {
					match self.node_mut(x).map(|nd| &mut nd.op) {
						Some(FOp::Fc { b, relu: false, .. })
						| Some(FOp::Conv { b, relu: false, .. })
						| Some(FOp::LayerNorm { beta: b, .. })
							if single && (c.len() == b.len() || c.len() == 1) =>
						{
							for (j, bj) in b.iter_mut().enumerate() {
								*bj += c[if c.len() == 1 { 0 } else { j }] as f32;
							}
							return self.out(n, Val::Act(x));
						}
						_ => {}
					}
				}
				if let Some(ch) = per_channel(&xs, &c, &cd) {
					let a = vec![sign; ch];
					let t = if c.len() == 1 { vec![c[0]; ch] } else { c };
					let id = self.affine(n, x, single, a, t)?;
					return self.out(n, Val::Act(id));
				}
				Err(unsup(
					n,
					format!(
						"{} of a constant of shape {cd:?} to {xs:?}: only a bias after \
						 MatMul/Gemm/Conv/LayerNormalization (last axis {last}) or per channel",
						n.op_type
					),
				))
			}
			_ => Err(unsup(n, format!("{} of two constants", n.op_type))),
		}
	}

	/// Mul or Div: by a scalar right after a product (folded into it), by a constant
	/// per channel (folded into the convolution or normalization before, or a 1×1
	/// depthwise convolution), or of two activations (a gate broadcast over the
	/// trailing axes: [`FOp::Mul`]).
	fn mul(&mut self, n: &NodeProto) -> Result<(), ImportError> {
		let op = n.op_type.as_str();
		let (va, vb) = (self.val(n, &n.input[0])?, self.val(n, &n.input[1])?);
		match (va, vb) {
			(Val::Act(a), Val::Act(b)) => {
				if op == "Div" {
					return Err(unsup(n, "Div of two activations"));
				}
				let (sa, sb) = (self.shape(a), self.shape(b));
				// the larger first; the other broadcasts over its trailing axes
				let (big, small, shape, sshape) =
					if sa.iter().product::<usize>() >= sb.iter().product::<usize>() {
						(a, b, sa, sb)
					} else {
						(b, a, sb, sa)
					};
				let mut ones = false;
				let ok = shape.len() == sshape.len()
					&& sshape.iter().zip(&shape).all(|(&d, &e)| {
						if d == 1 {
							ones |= e != 1;
							true
						} else {
							d == e && !ones
						}
					});
				if !ok {
					return Err(unsup(
						n,
						format!(
							"Mul of {shape:?} by {sshape:?}: only a broadcast over trailing axes"
						),
					));
				}
				let id = self.push(n, FOp::Mul, vec![big, small], shape);
				self.out(n, Val::Act(id))
			}
			(Val::Act(x), Val::Const(c, cd)) | (Val::Const(c, cd), Val::Act(x)) => {
				let first = matches!(self.val(n, &n.input[0])?, Val::Act(_));
				if op == "Div" && !first {
					return Err(unsup(n, "Div of a constant by an activation"));
				}
				let c: Vec<f64> = if op == "Div" {
					c.iter().map(|v| 1.0 / v).collect()
				} else {
					c
				};
				let single = self.single_use(n, if first { 0 } else { 1 });
				let xs = self.shape(x);
				match self.node_mut(x).map(|nd| &mut nd.op) {
					Some(FOp::MatMul { alpha, .. }) if single && c.len() == 1 => {
						*alpha *= c[0] as f32;
						return self.out(n, Val::Act(x));
					}
					Some(FOp::Fc {
						w,
						b,
						n: rows,
						relu: false,
					}) if single && (c.len() == 1 || c.len() == *rows) => {
						let k = w.len() / (*rows).max(1);
						for (j, bj) in b.iter_mut().enumerate() {
							let f = c[if c.len() == 1 { 0 } else { j }] as f32;
							w[j * k..(j + 1) * k].iter_mut().for_each(|v| *v *= f);
							*bj *= f;
						}
						return self.out(n, Val::Act(x));
					}
					Some(FOp::LayerNorm { gamma, beta, .. })
						if single && (c.len() == 1 || c.len() == gamma.len()) =>
					{
						for (j, (g, b)) in gamma.iter_mut().zip(beta.iter_mut()).enumerate() {
							let f = c[if c.len() == 1 { 0 } else { j }] as f32;
							*g *= f;
							*b *= f;
						}
						return self.out(n, Val::Act(x));
					}
					_ => {}
				}
				if let Some(ch) = per_channel(&xs, &c, &cd) {
					let a = if c.len() == 1 { vec![c[0]; ch] } else { c };
					let id = self.affine(n, x, single, a, vec![0.0; ch])?;
					return self.out(n, Val::Act(id));
				}
				Err(unsup(
					n,
					format!(
						"{op} of {xs:?} by a constant of shape {cd:?}: only a scalar, a \
						 vector after MatMul/Gemm/LayerNormalization, or per channel"
					),
				))
			}
			_ => Err(unsup(n, format!("{op} of two constants"))),
		}
	}

	/// `y = a_c · x + t_c` per channel `c` (axis 1 of NCHW): folded into the
	/// convolution before when `x` has no other use, otherwise a 1×1 depthwise
	/// convolution.
	fn affine(
		&mut self,
		n: &NodeProto,
		x: Id,
		single: bool,
		a: Vec<f64>,
		t: Vec<f64>,
	) -> Result<Id, ImportError> {
		if a.iter().chain(&t).any(|v| !v.is_finite()) {
			return Err(unsup(n, "a per-channel scale or shift that is not finite"));
		}
		let xs = self.shape(x);
		if let Some(FOp::Conv {
			w,
			b,
			wshape,
			relu: false,
			clip,
			..
		}) = self.node_mut(x).map(|nd| &mut nd.op)
		{
			if single && clip.is_infinite() && wshape[0] == a.len() {
				let per = wshape[1] * wshape[2] * wshape[3];
				for (j, bj) in b.iter_mut().enumerate() {
					w[j * per..(j + 1) * per]
						.iter_mut()
						.for_each(|v| *v = (*v as f64 * a[j]) as f32);
					*bj = (*bj as f64 * a[j] + t[j]) as f32;
				}
				return Ok(x);
			}
		}
		if xs.len() != 4 || xs[1] != a.len() {
			return Err(unsup(
				n,
				format!(
					"a per-channel scale or shift of {} values needs NCHW",
					a.len()
				),
			));
		}
		let c = a.len();
		let op = FOp::Conv {
			w: a.iter().map(|&v| v as f32).collect(),
			b: t.iter().map(|&v| v as f32).collect(),
			wshape: [c, 1, 1, 1],
			stride: [1, 1],
			pad: [0; 4],
			relu: false,
			groups: c,
			clip: f32::INFINITY,
		};
		Ok(self.push(n, op, vec![x], xs))
	}

	/// Global average pooling as a depthwise convolution with weights `1/(H·W)`: the
	/// int8 sum is exact and its requantization gives the mean its own (finer) scale,
	/// where an average pooling would keep the input's.
	fn global_pool(&mut self, n: &NodeProto, x: Id) -> Result<Id, ImportError> {
		let xs = self.shape(x);
		let (c, h, w) = (xs[1], xs[2], xs[3]);
		if h > 255 || w > 255 {
			return Err(unsup(
				n,
				"global pooling over more than 255 rows or columns",
			));
		}
		let op = FOp::Conv {
			w: vec![1.0 / (h * w) as f32; c * h * w],
			b: vec![0.0; c],
			wshape: [c, 1, h, w],
			stride: [1, 1],
			pad: [0; 4],
			relu: false,
			groups: c,
			clip: f32::INFINITY,
		};
		Ok(self.push(n, op, vec![x], vec![xs[0], c, 1, 1]))
	}

	/// An element-wise expression computed: a table node on `x` (a plain function of
	/// `x` is a [`FOp::Unary`]).
	fn materialize(&mut self, n: &NodeProto, x: Id, p: Pw) -> Id {
		let s = self.shape(x);
		let op = match p {
			Pw::X => return x,
			Pw::U(u, a) if *a == Pw::X => FOp::Unary(u),
			Pw::F("Tanh", a) if *a == Pw::X => FOp::Unary(Unary::Tanh),
			Pw::F("Sigmoid", a) if *a == Pw::X => FOp::Unary(Unary::Sigmoid),
			p => FOp::Pointwise(p),
		};
		self.push(n, op, vec![x], s)
	}

	/// The values of `n`'s (non-empty) inputs.
	fn input_vals(&self, n: &NodeProto) -> Result<Vec<Val>, ImportError> {
		n.input
			.iter()
			.filter(|s| !s.is_empty())
			.map(|s| self.val(n, s))
			.collect()
	}

	/// Element-wise ops on one activation become (or extend) an expression: unary
	/// functions, and binary ops whose other operand is a scalar or the same
	/// activation (`x · sigmoid(x)`). A scalar that folds into the product before
	/// (Mul/Div after MatMul/Gemm/Conv, a bias Add) is left to [`Self::mul`] and
	/// [`Self::add`]; ReLU and Clip on an activation first try to fuse into the
	/// convolution before.
	fn pointwise(&self, n: &NodeProto) -> Result<Option<Val>, ImportError> {
		let op = n.op_type.as_str();
		let vals = self.input_vals(n)?;
		let any_expr = vals.iter().any(|v| matches!(v, Val::Expr(..)));
		let base = |v: &Val| match v {
			Val::Act(x) => Some((*x, Pw::X)),
			Val::Expr(x, p) => Some((*x, p.clone())),
			_ => None,
		};
		let scalar = |v: &Val| match v {
			Val::Const(c, _) if c.len() == 1 => Some(c[0]),
			_ => None,
		};
		let unary = |f: Unary, p: Pw| Pw::U(f, Box::new(p));
		match op {
			"Erf" | "Sqrt" | "Exp" | "Neg" | "Abs" | "Tanh" | "Sigmoid" | "Floor" | "Ceil"
			| "Reciprocal" | "Relu" | "HardSwish" | "HardSigmoid" | "Gelu" | "Clip" => {
				let Some((x, p)) = vals.first().and_then(base) else {
					return Ok(None);
				};
				if !any_expr && matches!(op, "Relu" | "Clip") {
					return Ok(None);
				}
				let e = match op {
					"HardSwish" => unary(Unary::HardSwish, p),
					"HardSigmoid" => unary(
						Unary::HardSigmoid {
							alpha: attr_f(n, "alpha", 0.2),
							beta: attr_f(n, "beta", 0.5),
						},
						p,
					),
					"Gelu" if attr_s(n, "approximate").as_deref() == Some("tanh") => {
						unary(Unary::GeluTanh, p)
					}
					"Gelu" => unary(Unary::Gelu, p),
					"Clip" => {
						let bound =
							|i: usize, name: &str, default: f32| -> Result<f32, ImportError> {
								match vals.get(i) {
									Some(v) => scalar(v)
										.map(|c| c as f32)
										.ok_or_else(|| unsup(n, "Clip bounds must be scalars")),
									None => Ok(attr_f(n, name, default)),
								}
							};
						let (lo, hi) = (
							bound(1, "min", f32::NEG_INFINITY)?,
							bound(2, "max", f32::INFINITY)?,
						);
						unary(Unary::Clip { lo, hi }, p)
					}
					f => match static_op(f) {
						Some(f) => Pw::F(f, Box::new(p)),
						None => return Ok(None),
					},
				};
				Ok(Some(Val::Expr(x, e)))
			}
			"Add" | "Sub" | "Mul" | "Div" | "Pow" | "Min" | "Max" if vals.len() == 2 => {
				let side = |v: &Val| {
					base(v)
						.map(|(x, p)| (Some(x), p))
						.or_else(|| scalar(v).map(|c| (None, Pw::C(c))))
				};
				let (Some((xa, pa)), Some((xb, pb))) = (side(&vals[0]), side(&vals[1])) else {
					return Ok(None);
				};
				let x = match (xa, xb) {
					(Some(a), Some(b)) if a == b => a,
					(Some(a), None) | (None, Some(a)) => a,
					_ => return Ok(None),
				};
				if !any_expr && (xa.is_none() || xb.is_none()) {
					// activation and scalar: leave what folds into the op before
					let i = if xa.is_some() { 0 } else { 1 };
					let single = self.single_use(n, i);
					let producer = if x == 0 {
						None
					} else {
						self.g.nodes.get(x - 1)
					};
					let folds = single
						&& matches!(
							(op, producer.map(|p| &p.op)),
							("Mul" | "Div", Some(FOp::MatMul { .. }))
								| ("Mul" | "Div", Some(FOp::Fc { relu: false, .. }))
								| ("Mul" | "Div", Some(FOp::Conv { relu: false, .. }))
								| ("Mul" | "Div", Some(FOp::LayerNorm { .. }))
								| ("Add" | "Sub", Some(FOp::Fc { relu: false, .. }))
								| ("Add" | "Sub", Some(FOp::Conv { relu: false, .. }))
								| ("Add" | "Sub", Some(FOp::LayerNorm { .. }))
						);
					if folds || (op == "Div" && xa.is_none()) {
						return Ok(None);
					}
				}
				let Some(f) = static_op(op) else {
					return Ok(None);
				};
				Ok(Some(Val::Expr(x, Pw::B(f, Box::new(pa), Box::new(pb)))))
			}
			_ => Ok(None),
		}
	}

	/// A layer normalization written out op by op (ReduceMean, Sub, Pow 2,
	/// ReduceMean, Add eps, Sqrt, Div) becomes one [`FOp::LayerNorm`] (a following
	/// Mul and Add by vectors fold into its scale and shift).
	fn stat(&mut self, n: &NodeProto) -> Result<Option<Val>, ImportError> {
		let op = n.op_type.as_str();
		let vals = self.input_vals(n)?;
		let last_axis = |c: &Self, x: Id| -> bool {
			let r = c.shape(x).len() as i64;
			let axes = attr_ints(n, "axes").unwrap_or_default();
			axes.len() == 1 && (axes[0] == -1 || axes[0] == r - 1) && attr_i(n, "keepdims", 1) == 1
		};
		let scalar = |v: &Val| match v {
			Val::Const(c, _) if c.len() == 1 => Some(c[0]),
			_ => None,
		};
		Ok(match (op, vals.as_slice()) {
			("ReduceMean", [Val::Act(x)]) if last_axis(self, *x) => Some(Val::Stat(*x, Stat::Mean)),
			("ReduceMean", [Val::Stat(x, Stat::Squared)]) if last_axis(self, *x) => {
				Some(Val::Stat(*x, Stat::Var(0.0)))
			}
			("Sub", [Val::Act(a), Val::Stat(b, Stat::Mean)]) if a == b => {
				Some(Val::Stat(*a, Stat::Centered))
			}
			("Pow", [Val::Stat(x, Stat::Centered), p]) if scalar(p) == Some(2.0) => {
				Some(Val::Stat(*x, Stat::Squared))
			}
			("Mul", [Val::Stat(a, Stat::Centered), Val::Stat(b, Stat::Centered)]) if a == b => {
				Some(Val::Stat(*a, Stat::Squared))
			}
			("Add", [Val::Stat(x, Stat::Var(e)), c]) | ("Add", [c, Val::Stat(x, Stat::Var(e))])
				if scalar(c).is_some() =>
			{
				Some(Val::Stat(*x, Stat::Var(e + scalar(c).unwrap_or(0.0))))
			}
			("Sqrt", [Val::Stat(x, Stat::Var(e))]) => Some(Val::Stat(*x, Stat::Sd(*e))),
			("Div", [Val::Stat(a, Stat::Centered), Val::Stat(b, Stat::Sd(e))]) if a == b => {
				let s = self.shape(*a);
				let d = *s.last().unwrap_or(&1);
				let op = FOp::LayerNorm {
					gamma: vec![1.0; d],
					beta: vec![0.0; d],
					eps: *e as f32,
				};
				Some(Val::Act(self.push(n, op, vec![*a], s)))
			}
			_ => None,
		})
	}

	/// The element range of axis `axis` from `start` (count `len`) of `x`, a contiguous
	/// run when every axis before it is 1.
	fn run_of(
		&self,
		n: &NodeProto,
		x: Id,
		axis: usize,
		start: usize,
		len: usize,
	) -> Result<(usize, Vec<usize>), ImportError> {
		let s = self.shape(x);
		if s[..axis].iter().any(|&d| d != 1) {
			return Err(unsup(
				n,
				format!(
					"{} along axis {axis} of {s:?}: only with 1s before the axis",
					n.op_type
				),
			));
		}
		if start + len > s[axis] || len == 0 {
			return Err(unsup(
				n,
				format!("range {start}..{} of {}", start + len, s[axis]),
			));
		}
		let inner: usize = s[axis + 1..].iter().product();
		let mut shape = s.clone();
		shape[axis] = len;
		Ok((start * inner, shape))
	}

	fn axis_of(&self, n: &NodeProto, x: Id, axis: i64) -> Result<usize, ImportError> {
		let r = self.shape(x).len() as i64;
		let a = if axis < 0 { axis + r } else { axis };
		if !(0..r).contains(&a) {
			return Err(unsup(n, format!("axis {axis} of a rank {r} tensor")));
		}
		Ok(a as usize)
	}

	/// Split along an axis with only 1s before it: one slice per output.
	fn split(&mut self, n: &NodeProto) -> Result<(), ImportError> {
		let x = self.act(n, 0)?;
		let axis = self.axis_of(n, x, attr_i(n, "axis", 0))?;
		let dim = self.shape(x)[axis];
		let outs = n.output.len().max(1);
		let sizes: Vec<usize> = match attr_ints(n, "split") {
			Some(v) => v.iter().map(|&v| v.max(0) as usize).collect(),
			None if n.input.len() > 1 && !n.input[1].is_empty() => self
				.konst(n, 1)?
				.0
				.iter()
				.map(|&v| v.max(0.0) as usize)
				.collect(),
			None => vec![dim / outs; outs],
		};
		if sizes.len() != outs || sizes.iter().sum::<usize>() != dim {
			return Err(unsup(n, format!("split sizes {sizes:?} of {dim}")));
		}
		let mut start = 0;
		for (name, &len) in n.output.iter().zip(&sizes) {
			let (offset, shape) = self.run_of(n, x, axis, start, len)?;
			let id = self.push(n, FOp::Slice { offset }, vec![x], shape);
			self.vals.insert(name.clone(), Val::Act(id));
			start += len;
		}
		Ok(())
	}

	/// Slice along one axis with only 1s before it, step 1.
	fn slice(&mut self, n: &NodeProto) -> Result<(), ImportError> {
		let x = self.act(n, 0)?;
		let s = self.shape(x);
		let get = |c: &Self, i: usize| -> Result<Option<Vec<i64>>, ImportError> {
			match n.input.get(i).filter(|v| !v.is_empty()) {
				Some(_) => Ok(Some(c.konst(n, i)?.0.iter().map(|&v| v as i64).collect())),
				None => Ok(None),
			}
		};
		let starts = get(self, 1)?.ok_or_else(|| unsup(n, "Slice without starts"))?;
		let ends = get(self, 2)?.ok_or_else(|| unsup(n, "Slice without ends"))?;
		let axes = get(self, 3)?.unwrap_or_else(|| (0..starts.len() as i64).collect());
		let steps = get(self, 4)?.unwrap_or_else(|| vec![1; starts.len()]);
		if starts.len() != 1 || ends.len() != 1 || axes.len() != 1 || steps != [1] {
			return Err(unsup(n, "Slice of one axis with step 1"));
		}
		let axis = self.axis_of(n, x, axes[0])?;
		let d = s[axis] as i64;
		let clampi = |v: i64| (if v < 0 { v + d } else { v }).clamp(0, d) as usize;
		let (a, b) = (clampi(starts[0]), clampi(ends[0]));
		let (offset, shape) = self.run_of(n, x, axis, a, b.saturating_sub(a))?;
		let id = self.push(n, FOp::Slice { offset }, vec![x], shape);
		self.out(n, Val::Act(id))
	}

	/// Gather of constant indices along an axis with only 1s before it: a slice per
	/// run of consecutive indices, concatenated.
	fn gather(&mut self, n: &NodeProto) -> Result<(), ImportError> {
		let x = self.act(n, 0)?;
		let axis = self.axis_of(n, x, attr_i(n, "axis", 0))?;
		let (idx, idims) = self.konst(n, 1)?;
		let s = self.shape(x);
		let d = s[axis] as i64;
		let idx: Vec<usize> = idx
			.iter()
			.map(|&v| {
				let v = v as i64;
				let v = if v < 0 { v + d } else { v };
				usize::try_from(v)
					.ok()
					.filter(|&v| v < s[axis])
					.ok_or_else(|| unsup(n, format!("index {v} out of range 0..{d}")))
			})
			.collect::<Result<_, _>>()?;
		if idx.is_empty() {
			return Err(unsup(n, "Gather of no index"));
		}
		// runs of consecutive indices
		let mut parts: Vec<Id> = Vec::new();
		let mut i = 0;
		while i < idx.len() {
			let mut j = i + 1;
			while j < idx.len() && idx[j] == idx[j - 1] + 1 {
				j += 1;
			}
			let (offset, shape) = self.run_of(n, x, axis, idx[i], j - i)?;
			parts.push(self.push(n, FOp::Slice { offset }, vec![x], shape));
			i = j;
		}
		let mut shape: Vec<usize> = s[..axis].to_vec();
		shape.extend(&idims);
		shape.extend(&s[axis + 1..]);
		if shape.is_empty() || shape.len() > crate::types::MAX_RANK {
			return Err(unsup(n, format!("Gather result of rank {}", shape.len())));
		}
		let max = crate::types::MAX_NODE_INPUTS;
		while parts.len() > max {
			let head: Vec<Id> = parts[..max].to_vec();
			let e: usize = head
				.iter()
				.map(|&p| self.shape(p).iter().product::<usize>())
				.sum();
			let id = self.push(n, FOp::Concat, head, vec![e]);
			parts = std::iter::once(id)
				.chain(parts[max..].iter().copied())
				.collect();
		}
		let id = if parts.len() == 1 {
			self.push(n, FOp::Reshape, parts, shape)
		} else {
			self.push(n, FOp::Concat, parts, shape)
		};
		self.out(n, Val::Act(id))
	}

	fn conv(&mut self, n: &NodeProto) -> Result<(), ImportError> {
		let x = self.act(n, 0)?;
		let xs = self.shape(x);
		let (w, wd) = self.konst(n, 1)?;
		if xs.len() != 4 || wd.len() != 4 {
			return Err(unsup(n, "only 2-D convolutions on NCHW inputs"));
		}
		let groups = attr_i(n, "group", 1);
		if groups < 1
			|| !xs[1].is_multiple_of(groups as usize)
			|| !wd[0].is_multiple_of(groups as usize)
		{
			return Err(unsup(
				n,
				format!("group {groups} does not divide the channels"),
			));
		}
		let groups = groups as usize;
		if attr_ints(n, "dilations").is_some_and(|d| d.iter().any(|&v| v != 1)) {
			return Err(unsup(n, "dilated convolution"));
		}
		if attr_s(n, "auto_pad").is_some_and(|s| s != "NOTSET") {
			return Err(unsup(n, "auto_pad (give explicit pads)"));
		}
		if wd[1] * groups != xs[1] {
			return Err(unsup(
				n,
				"weight channels differ from input channels / group",
			));
		}
		let b = if n.input.len() > 2 && !n.input[2].is_empty() {
			self.konst(n, 2)?.0
		} else {
			vec![0.0; wd[0]]
		};
		let stride = attr_ints(n, "strides").unwrap_or(vec![1, 1]);
		let pads = attr_ints(n, "pads").unwrap_or(vec![0, 0, 0, 0]);
		if stride.len() != 2 || pads.len() != 4 {
			return Err(unsup(n, "strides/pads of a 2-D convolution"));
		}
		let (stride, pad, oh, ow) = window(n, &xs, [wd[2], wd[3]], &stride, &pads)?;
		let op = FOp::Conv {
			w: w.iter().map(|&v| v as f32).collect(),
			b: b.iter().map(|&v| v as f32).collect(),
			wshape: [wd[0], wd[1], wd[2], wd[3]],
			stride,
			pad,
			relu: false,
			groups,
			clip: f32::INFINITY,
		};
		let id = self.push(n, op, vec![x], vec![xs[0], wd[0], oh, ow]);
		self.out(n, Val::Act(id))
	}

	/// Batch normalization (inference): folded into the convolution it follows when
	/// that is its only consumer, otherwise a 1×1 depthwise convolution (per-channel
	/// scale and shift; a following ReLU fuses into it).
	fn batch_norm(&mut self, n: &NodeProto) -> Result<(), ImportError> {
		let x = self.act(n, 0)?;
		let xs = self.shape(x);
		if xs.len() < 2 {
			return Err(unsup(n, "BatchNormalization needs a channel axis"));
		}
		let c = xs[1];
		let (gamma, beta, mean, var) = (
			self.konst(n, 1)?.0,
			self.konst(n, 2)?.0,
			self.konst(n, 3)?.0,
			self.konst(n, 4)?.0,
		);
		if [&gamma, &beta, &mean, &var].iter().any(|v| v.len() != c) {
			return Err(unsup(
				n,
				"scale, bias, mean and variance must have C values",
			));
		}
		let eps = attr_f(n, "epsilon", 1e-5) as f64;
		// y = a x + t per channel
		let a: Vec<f64> = (0..c).map(|j| gamma[j] / (var[j] + eps).sqrt()).collect();
		let t: Vec<f64> = (0..c).map(|j| beta[j] - mean[j] * a[j]).collect();
		if a.iter().chain(&t).any(|v| !v.is_finite()) {
			return Err(unsup(n, "BatchNormalization with a non-finite scale"));
		}
		let single = self.single_use(n, 0);
		let id = self.affine(n, x, single, a, t)?;
		self.out(n, Val::Act(id))
	}

	/// Concatenation along an axis with only 1s before it (NCHW channels at batch 1):
	/// the flattened concatenation. A concatenation that extends an earlier one (a
	/// DenseNet block concatenates every earlier feature map again) reuses it; more
	/// than [`crate::types::MAX_NODE_INPUTS`] inputs become a chain.
	fn concat(&mut self, n: &NodeProto) -> Result<(), ImportError> {
		let ins: Vec<Id> = (0..n.input.len())
			.map(|i| self.act(n, i))
			.collect::<Result<_, _>>()?;
		let first = self.shape(*ins.first().ok_or_else(|| unsup(n, "Concat of nothing"))?);
		let r = first.len() as i64;
		let axis = attr_i(n, "axis", 1);
		let axis = if axis < 0 { axis + r } else { axis };
		if !(0..r).contains(&axis) {
			return Err(unsup(n, format!("axis {axis} of a rank {r} tensor")));
		}
		let axis = axis as usize;
		if first[..axis].iter().any(|&d| d != 1) {
			return Err(unsup(
				n,
				format!("Concat along axis {axis} of {first:?}: only with 1s before the axis"),
			));
		}
		let mut shape = first.clone();
		shape[axis] = 0;
		for &i in &ins {
			let s = self.shape(i);
			if s.len() != first.len()
				|| s.iter()
					.zip(&first)
					.enumerate()
					.any(|(d, (a, b))| d != axis && a != b)
			{
				return Err(unsup(n, format!("Concat of {first:?} and {s:?}")));
			}
			shape[axis] += s[axis];
		}
		// reuse the longest earlier concatenation of a prefix of the inputs
		let mut parts = ins.clone();
		if let Some((len, id)) = self
			.concats
			.iter()
			.filter(|(k, _)| k.len() <= ins.len() && ins.starts_with(k))
			.map(|(k, &id)| (k.len(), id))
			.max()
		{
			parts = std::iter::once(id)
				.chain(ins[len..].iter().copied())
				.collect();
		}
		let max = crate::types::MAX_NODE_INPUTS;
		let elems = |c: &Self, ids: &[Id]| -> usize {
			ids.iter()
				.map(|&i| c.shape(i).iter().product::<usize>())
				.sum()
		};
		while parts.len() > max {
			let head: Vec<Id> = parts[..max].to_vec();
			let e = elems(self, &head);
			let id = self.push(n, FOp::Concat, head, vec![e]);
			parts = std::iter::once(id)
				.chain(parts[max..].iter().copied())
				.collect();
		}
		let id = self.push(n, FOp::Concat, parts, shape);
		self.concats.insert(ins, id);
		self.out(n, Val::Act(id))
	}

	/// Shape computations on constants (what exporters leave of `x.view(x.size(0),
	/// -1)`): folded here, so only tensor computations reach the graph.
	fn fold_const(&self, n: &NodeProto) -> Result<Option<Val>, ImportError> {
		let op = n.op_type.as_str();
		if op == "Shape" {
			let x = self.act(n, 0)?;
			let s = self.shape(x);
			let r = s.len() as i64;
			let clampi = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r) as usize;
			let (a, b) = (clampi(attr_i(n, "start", 0)), clampi(attr_i(n, "end", r)));
			let v: Vec<f64> = s[a..b.max(a)].iter().map(|&d| d as f64).collect();
			let len = v.len();
			return Ok(Some(Val::Const(v, vec![len])));
		}
		let foldable = matches!(
			op,
			"Cast"
				| "Gather" | "Unsqueeze"
				| "Squeeze" | "Reshape"
				| "Flatten" | "Concat"
				| "Add" | "Sub"
				| "Mul" | "Div"
				| "Identity"
		);
		if !foldable {
			return Ok(None);
		}
		let mut consts = Vec::new();
		for name in n.input.iter().filter(|s| !s.is_empty()) {
			match self.val(n, name)? {
				Val::Const(v, d) => consts.push((v, d)),
				_ => return Ok(None),
			}
		}
		let Some((v0, d0)) = consts.first().cloned() else {
			return Ok(None);
		};
		let count = |d: &[usize]| d.iter().product::<usize>();
		let out = match op {
			"Cast" | "Identity" => Val::Const(v0, d0),
			"Unsqueeze" | "Squeeze" | "Reshape" | "Flatten" => {
				// only the values matter to a later shape use; keep them 1-D
				let len = v0.len();
				Val::Const(v0, vec![len])
			}
			"Concat" => {
				let v: Vec<f64> = consts.iter().flat_map(|(v, _)| v.iter().copied()).collect();
				let len = v.len();
				Val::Const(v, vec![len])
			}
			"Gather" => {
				let (idx, di) = consts
					.get(1)
					.cloned()
					.ok_or_else(|| unsup(n, "Gather without indices"))?;
				if d0.len() > 1 || attr_i(n, "axis", 0) != 0 {
					return Err(unsup(
						n,
						"Gather of constants only along axis 0 of a vector",
					));
				}
				let len = v0.len() as i64;
				let v = idx
					.iter()
					.map(|&i| {
						let i = i as i64;
						let i = if i < 0 { i + len } else { i };
						v0.get(i as usize)
							.copied()
							.ok_or_else(|| unsup(n, format!("index {i} out of range")))
					})
					.collect::<Result<Vec<_>, _>>()?;
				Val::Const(v, di)
			}
			_ => {
				let (v1, d1) = consts
					.get(1)
					.cloned()
					.ok_or_else(|| unsup(n, format!("{op} needs two inputs")))?;
				let (len, d) = if count(&d0) >= count(&d1) {
					(v0.len(), d0)
				} else {
					(v1.len(), d1)
				};
				if !(v0.len() == len || v0.len() == 1) || !(v1.len() == len || v1.len() == 1) {
					return Err(unsup(n, format!("{op} of constants of shapes that differ")));
				}
				let at = |v: &[f64], i: usize| v[if v.len() == 1 { 0 } else { i }];
				let v = (0..len)
					.map(|i| {
						let (a, b) = (at(&v0, i), at(&v1, i));
						match op {
							"Add" => a + b,
							"Sub" => a - b,
							"Mul" => a * b,
							_ => a / b,
						}
					})
					.collect();
				Val::Const(v, d)
			}
		};
		Ok(Some(out))
	}

	fn pool(&mut self, n: &NodeProto) -> Result<(), ImportError> {
		let x = self.act(n, 0)?;
		let xs = self.shape(x);
		if xs.len() != 4 {
			return Err(unsup(n, "pooling only on NCHW inputs"));
		}
		let global = n.op_type == "GlobalAveragePool";
		if global {
			let id = self.global_pool(n, x)?;
			return self.out(n, Val::Act(id));
		}
		let kernel = if global {
			vec![xs[2] as i64, xs[3] as i64]
		} else {
			attr_ints(n, "kernel_shape").unwrap_or_default()
		};
		let stride = if global {
			vec![1, 1]
		} else {
			attr_ints(n, "strides").unwrap_or(vec![1, 1])
		};
		let pads = attr_ints(n, "pads").unwrap_or(vec![0, 0, 0, 0]);
		if kernel.len() != 2 || stride.len() != 2 || pads.len() != 4 {
			return Err(unsup(n, "2-D pooling with kernel_shape, strides, pads"));
		}
		if attr_s(n, "auto_pad").is_some_and(|s| s != "NOTSET") {
			return Err(unsup(n, "auto_pad (give explicit pads)"));
		}
		let mut pads = pads;
		if attr_i(n, "ceil_mode", 0) != 0 {
			if n.op_type != "MaxPool" {
				return Err(unsup(n, "ceil_mode of an average pooling"));
			}
			// ceil mode: more padding at the end, as many windows as ONNX (and torch)
			// count, the last starting inside the input or its start padding (a max
			// pool never chooses padding, so the values are those of ceil mode)
			for a in 0..2 {
				let (d, k, s) = (xs[2 + a] as i64, kernel[a], stride[a].max(1));
				let (p0, p1) = (pads[a], pads[a + 2]);
				let span = d + p0 + p1 - k;
				let mut windows = (span + s - 1).div_euclid(s) + 1;
				if (windows - 1) * s >= d + p0 {
					windows -= 1;
				}
				pads[a + 2] = p1.max((windows - 1) * s + k - d - p0);
			}
		}
		let kernel = [
			to_u8(n, kernel[0], "kernel")?,
			to_u8(n, kernel[1], "kernel")?,
		];
		let (stride, pad, oh, ow) = window(
			n,
			&xs,
			[kernel[0] as usize, kernel[1] as usize],
			&stride,
			&pads,
		)?;
		let op = if n.op_type == "MaxPool" {
			FOp::MaxPool {
				kernel,
				stride,
				pad,
			}
		} else {
			if pad != [0; 4] {
				return Err(unsup(n, "average pooling with padding"));
			}
			FOp::AvgPool { kernel, stride }
		};
		let id = self.push(n, op, vec![x], vec![xs[0], xs[1], oh, ow]);
		self.out(n, Val::Act(id))
	}

	fn reshape(&mut self, n: &NodeProto) -> Result<(), ImportError> {
		let x = self.act(n, 0)?;
		let xs = self.shape(x);
		let total: usize = xs.iter().product();
		let shape: Vec<usize> = match n.op_type.as_str() {
			"Flatten" => {
				let axis = attr_i(n, "axis", 1);
				let axis = if axis < 0 {
					axis + xs.len() as i64
				} else {
					axis
				} as usize;
				let outer: usize = xs[..axis.min(xs.len())].iter().product();
				vec![outer, total / outer.max(1)]
			}
			"Reshape" => {
				let (s, _) = self.konst(n, 1)?;
				let mut out: Vec<i64> = s.iter().map(|&v| v as i64).collect();
				for (i, v) in out.iter_mut().enumerate() {
					if *v == 0 {
						*v = *xs
							.get(i)
							.ok_or_else(|| unsup(n, "shape 0 beyond the input's rank"))?
							as i64;
					}
				}
				let known: i64 = out.iter().filter(|&&v| v != -1).product();
				out.iter()
					.map(|&v| {
						if v == -1 {
							total as i64 / known.max(1)
						} else {
							v
						}
					})
					.map(|v| usize::try_from(v).map_err(|_| unsup(n, "negative dimension")))
					.collect::<Result<_, _>>()?
			}
			_ => {
				// Squeeze / Unsqueeze: axes from the attribute (opset < 13) or input 1
				let axes: Vec<i64> = match attr_ints(n, "axes") {
					Some(a) => a,
					None if n.input.len() > 1 => {
						self.konst(n, 1)?.0.iter().map(|&v| v as i64).collect()
					}
					None => vec![],
				};
				if n.op_type == "Squeeze" {
					let r = xs.len() as i64;
					let axes: Vec<usize> = axes
						.iter()
						.map(|&a| if a < 0 { a + r } else { a } as usize)
						.collect();
					xs.iter()
						.enumerate()
						.filter(|(i, &d)| !(d == 1 && (axes.is_empty() || axes.contains(i))))
						.map(|(_, &d)| d)
						.collect()
				} else {
					let r = (xs.len() + axes.len()) as i64;
					let mut axes: Vec<usize> = axes
						.iter()
						.map(|&a| if a < 0 { a + r } else { a } as usize)
						.collect();
					axes.sort_unstable();
					let mut out = xs.clone();
					for a in axes {
						out.insert(a.min(out.len()), 1);
					}
					out
				}
			}
		};
		if shape.iter().product::<usize>() != total
			|| shape.is_empty()
			|| shape.len() > crate::types::MAX_RANK
		{
			return Err(unsup(
				n,
				format!("cannot reshape {xs:?} to {shape:?} (rank <= 4)"),
			));
		}
		let id = self.push(n, FOp::Reshape, vec![x], shape);
		self.out(n, Val::Act(id))
	}
}

/// Convert an ONNX model to a float graph (see the module docs for the mapping).
pub fn parse(model: &pb::ModelProto) -> Result<FGraph, ImportError> {
	let graph = model
		.graph
		.as_ref()
		.ok_or_else(|| ImportError::Parse("no graph".into()))?;
	let mut c = Conv {
		g: FGraph {
			input: vec![],
			ids: false,
			nodes: vec![],
		},
		vals: HashMap::new(),
		uses: HashMap::new(),
		dead: vec![],
		concats: HashMap::new(),
	};
	for init in &graph.initializer {
		let v = tensor_values(init).map_err(|e| ImportError::Unsupported {
			node: init.name.clone(),
			what: e,
		})?;
		let count: i64 = init.dims.iter().product();
		if v.len() as i64 != count {
			return Err(ImportError::Parse(format!(
				"initializer `{}` holds {} values, its dims {:?} say {count} (weights \
				 stored outside the file are not read)",
				init.name,
				v.len(),
				init.dims
			)));
		}
		c.vals.insert(
			init.name.clone(),
			Val::Const(v, init.dims.iter().map(|&d| d as usize).collect()),
		);
	}
	let inputs: Vec<&pb::ValueInfoProto> = graph
		.input
		.iter()
		.filter(|i| !c.vals.contains_key(&i.name))
		.collect();
	let [input] = inputs.as_slice() else {
		return Err(ImportError::Parse(format!(
			"{} graph inputs; exactly one is supported",
			inputs.len()
		)));
	};
	let dims = match input.r#type.as_ref().and_then(|t| t.value.as_ref()) {
		Some(type_proto::Value::TensorType(t)) => t
			.shape
			.as_ref()
			.map(|s| {
				s.dim
					.iter()
					.map(|d| match d.value {
						Some(pb::tensor_shape_proto::dimension::Value::DimValue(v)) if v > 0 => {
							Ok(v as usize)
						}
						_ => Err(ImportError::Unsupported {
							node: input.name.clone(),
							what: "the input has a dynamic dimension: export with fixed shapes"
								.into(),
						}),
					})
					.collect::<Result<Vec<_>, _>>()
			})
			.transpose()?
			.unwrap_or_default(),
		_ => return Err(ImportError::Parse("the input is not a tensor".into())),
	};
	if dims.is_empty() || dims.len() > crate::types::MAX_RANK {
		return Err(ImportError::Unsupported {
			node: input.name.clone(),
			what: "input rank must be 1..=4".into(),
		});
	}
	c.g.input = dims;
	c.vals.insert(input.name.clone(), Val::Act(0));
	for n in &graph.node {
		for i in &n.input {
			*c.uses.entry(i.as_str()).or_default() += 1;
		}
	}
	for o in &graph.output {
		*c.uses.entry(o.name.as_str()).or_default() += 1;
	}
	for n in &graph.node {
		c.convert(n)?;
	}
	let [output] = graph.output.as_slice() else {
		return Err(ImportError::Parse(
			"exactly one graph output is supported".into(),
		));
	};
	let out = match c.vals.get(&output.name) {
		Some(Val::Act(id)) => *id,
		_ => {
			return Err(ImportError::Parse(
				"the graph output is not computed from the input".into(),
			))
		}
	};
	// drop fused nodes, renumber
	let mut map = vec![0usize; c.g.nodes.len() + 1];
	let mut nodes = Vec::new();
	for (i, mut node) in c.g.nodes.into_iter().enumerate() {
		if c.dead[i] {
			continue;
		}
		node.inputs = node.inputs.iter().map(|&j| map[j]).collect();
		nodes.push(node);
		map[i + 1] = nodes.len();
	}
	if map[out] != nodes.len() || nodes.is_empty() {
		return Err(ImportError::Parse(
			"the graph output must be the last computed value".into(),
		));
	}
	Ok(FGraph {
		input: c.g.input,
		ids: false,
		nodes,
	})
}

/// The channel count when a constant of dims `cd` (values `c`) applies per channel
/// (axis 1) of an NCHW tensor of shape `xs`: a scalar, `[C]`-like `[1, C, 1, 1]` or
/// `[C, 1, 1]`.
fn per_channel(xs: &[usize], c: &[f64], cd: &[usize]) -> Option<usize> {
	if xs.len() != 4 {
		return None;
	}
	let ch = xs[1];
	let dims: Vec<usize> = cd.iter().copied().skip_while(|&d| d == 1).collect();
	let ok =
		c.len() == 1 || (c.len() == ch && (dims == [ch, 1, 1] || (cd.len() == 4 && cd[1] == ch)));
	ok.then_some(ch)
}
