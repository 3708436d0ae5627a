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
//! Supported ONNX ops: Gemm, MatMul, Add, Mul/Div (by a scalar after a product),
//! Relu, Conv, MaxPool, AveragePool, GlobalAveragePool, Flatten, Reshape, Squeeze,
//! Unsqueeze, Transpose, Softmax (last axis), LayerNormalization (last axis), Gelu,
//! Sigmoid, Tanh, Identity, Dropout, Constant. Fixed input shapes only (batch
//! included).

pub mod float;
pub mod quantize;

use crate::{types::Model, NnError};
use float::{FGraph, FNode, FOp, Id, Unary};
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
	let g = parse(&read(path)?)?;
	let ranges = quantize::calibrate(&g, samples)?;
	quantize::quantize(&g, &ranges)
}

/// A named value during conversion.
#[derive(Clone, Debug)]
enum Val {
	/// A constant: values (as f64, exact for int64 shapes too) and dims.
	Const(Vec<f64>, Vec<usize>),
	/// An activation.
	Act(Id),
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
		}
	}

	fn konst(&self, n: &NodeProto, i: usize) -> Result<(Vec<f64>, Vec<usize>), ImportError> {
		let name = n
			.input
			.get(i)
			.ok_or_else(|| unsup(n, format!("missing input {i}")))?;
		match self.val(n, name)? {
			Val::Const(v, d) => Ok((v, d)),
			Val::Act(_) => Err(unsup(
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
		match op {
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
			"Add" => self.add(n),
			"Mul" | "Div" => {
				// a product scaled by a scalar constant: fold into the product
				let (x, (c, _)) = match (self.val(n, &n.input[0])?, self.val(n, &n.input[1])?) {
					(Val::Act(x), Val::Const(c, d)) => (x, (c, d)),
					(Val::Const(c, d), Val::Act(x)) if op == "Mul" => (x, (c, d)),
					_ => return Err(unsup(n, format!("{op} only by a scalar constant"))),
				};
				if c.len() != 1 {
					return Err(unsup(n, format!("{op} only by a scalar constant")));
				}
				let f = if op == "Mul" { c[0] } else { 1.0 / c[0] } as f32;
				let single = self.single_use(
					n,
					if matches!(self.val(n, &n.input[0])?, Val::Act(_)) {
						0
					} else {
						1
					},
				);
				match self.node_mut(x).map(|nd| &mut nd.op) {
					Some(FOp::MatMul { alpha, .. }) if single => *alpha *= f,
					Some(FOp::Fc {
						w, b, relu: false, ..
					}) if single => {
						w.iter_mut().for_each(|v| *v *= f);
						b.iter_mut().for_each(|v| *v *= f);
					}
					Some(FOp::Conv {
						w, b, relu: false, ..
					}) if single => {
						w.iter_mut().for_each(|v| *v *= f);
						b.iter_mut().for_each(|v| *v *= f);
					}
					_ => {
						return Err(unsup(
							n,
							format!("{op} by a constant only directly after MatMul/Gemm/Conv"),
						))
					}
				}
				self.out(n, Val::Act(x))
			}
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
			"Gelu" | "Sigmoid" | "Tanh" => {
				let x = self.act(n, 0)?;
				let f = match op {
					"Gelu" if attr_s(n, "approximate").as_deref() == Some("tanh") => {
						Unary::GeluTanh
					}
					"Gelu" => Unary::Gelu,
					"Sigmoid" => Unary::Sigmoid,
					_ => Unary::Tanh,
				};
				let s = self.shape(x);
				let id = self.push(n, FOp::Unary(f), vec![x], s);
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
				if !(r == 2 || r == 3) || bshape.len() != r {
					return Err(unsup(
						n,
						"MatMul of two activations needs rank 2 or 3 operands",
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
		}
	}

	fn add(&mut self, n: &NodeProto) -> Result<(), ImportError> {
		match (self.val(n, &n.input[0])?, self.val(n, &n.input[1])?) {
			(Val::Act(a), Val::Act(b)) => {
				let (sa, sb) = (self.shape(a), self.shape(b));
				if sa != sb {
					return Err(unsup(
						n,
						format!("Add of shapes {sa:?} and {sb:?} (no broadcasting)"),
					));
				}
				let id = self.push(n, FOp::Add { relu: false }, vec![a, b], sa);
				self.out(n, Val::Act(id))
			}
			(Val::Act(x), Val::Const(c, _)) | (Val::Const(c, _), Val::Act(x)) => {
				let i = if matches!(self.val(n, &n.input[0])?, Val::Act(_)) {
					0
				} else {
					1
				};
				let single = self.single_use(n, i);
				match self.node_mut(x).map(|nd| &mut nd.op) {
					Some(FOp::Fc { b, relu: false, .. })
					| Some(FOp::Conv { b, relu: false, .. })
						if single && (c.len() == b.len() || c.len() == 1) =>
					{
						for (j, bj) in b.iter_mut().enumerate() {
							*bj += c[if c.len() == 1 { 0 } else { j }] as f32;
						}
						self.out(n, Val::Act(x))
					}
					_ => Err(unsup(
						n,
						"Add of a constant only as the bias right after MatMul/Gemm/Conv",
					)),
				}
			}
			_ => Err(unsup(n, "Add of two constants")),
		}
	}

	fn conv(&mut self, n: &NodeProto) -> Result<(), ImportError> {
		let x = self.act(n, 0)?;
		let xs = self.shape(x);
		let (w, wd) = self.konst(n, 1)?;
		if xs.len() != 4 || wd.len() != 4 {
			return Err(unsup(n, "only 2-D convolutions on NCHW inputs"));
		}
		if attr_i(n, "group", 1) != 1 {
			return Err(unsup(n, "grouped convolution"));
		}
		if attr_ints(n, "dilations").is_some_and(|d| d.iter().any(|&v| v != 1)) {
			return Err(unsup(n, "dilated convolution"));
		}
		if attr_s(n, "auto_pad").is_some_and(|s| s != "NOTSET") {
			return Err(unsup(n, "auto_pad (give explicit pads)"));
		}
		if wd[1] != xs[1] {
			return Err(unsup(n, "weight channels differ from input channels"));
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
		};
		let id = self.push(n, op, vec![x], vec![xs[0], wd[0], oh, ow]);
		self.out(n, Val::Act(id))
	}

	fn pool(&mut self, n: &NodeProto) -> Result<(), ImportError> {
		let x = self.act(n, 0)?;
		let xs = self.shape(x);
		if xs.len() != 4 {
			return Err(unsup(n, "pooling only on NCHW inputs"));
		}
		let global = n.op_type == "GlobalAveragePool";
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
		if attr_i(n, "ceil_mode", 0) != 0 {
			return Err(unsup(n, "ceil_mode"));
		}
		if attr_s(n, "auto_pad").is_some_and(|s| s != "NOTSET") {
			return Err(unsup(n, "auto_pad (give explicit pads)"));
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
	};
	for init in &graph.initializer {
		let v = tensor_values(init).map_err(|e| ImportError::Unsupported {
			node: init.name.clone(),
			what: e,
		})?;
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
