//! The float graph: what an ONNX model becomes before quantization (same op set as
//! the integer graph, with float weights), and its f32 executor, used to calibrate
//! activation scales. Tests check it against tract on the same ONNX files.

/// A float-graph tensor: 0 is the graph input, `j >= 1` is node `j`'s output.
pub type Id = usize;

/// Element-wise functions implemented by lookup tables after quantization.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Unary {
	/// GELU, exact (erf) form.
	Gelu,
	/// GELU, tanh approximation.
	GeluTanh,
	/// Logistic sigmoid.
	Sigmoid,
	/// Hyperbolic tangent.
	Tanh,
}

impl Unary {
	/// Apply to one value.
	pub fn apply(self, x: f32) -> f32 {
		let x64 = x as f64;
		(match self {
			Unary::Gelu => 0.5 * x64 * (1.0 + crate::zoo::libm_erf(x64 / std::f64::consts::SQRT_2)),
			Unary::GeluTanh => {
				let c = (2.0 / std::f64::consts::PI).sqrt();
				0.5 * x64 * (1.0 + (c * (x64 + 0.044715 * x64 * x64 * x64)).tanh())
			}
			Unary::Sigmoid => 1.0 / (1.0 + (-x64).exp()),
			Unary::Tanh => x64.tanh(),
		}) as f32
	}
}

/// A float op (see the integer [`crate::Op`] of the same name).
#[derive(Clone, Debug, PartialEq)]
pub enum FOp {
	/// `y = alpha · (x · wᵀ) + b`, `w [N, K]`; ReLU if `relu`.
	Fc {
		/// Weights `[N, K]`.
		w: Vec<f32>,
		/// Bias `[N]`.
		b: Vec<f32>,
		/// Output count `N`.
		n: usize,
		/// ReLU.
		relu: bool,
	},
	/// `alpha · a · b` (or `a · bᵀ`).
	MatMul {
		/// Second operand stored transposed.
		transpose_b: bool,
		/// Scalar factor.
		alpha: f32,
	},
	/// `a + b`, ReLU if `relu`.
	Add {
		/// ReLU.
		relu: bool,
	},
	/// `max(x, 0)`.
	Relu,
	/// 2-D convolution.
	Conv {
		/// Weights `[O, C, KH, KW]`.
		w: Vec<f32>,
		/// Bias `[O]`.
		b: Vec<f32>,
		/// Weight shape.
		wshape: [usize; 4],
		/// Strides.
		stride: [u8; 2],
		/// Padding `[top, left, bottom, right]`.
		pad: [u8; 4],
		/// ReLU.
		relu: bool,
	},
	/// Max pooling.
	MaxPool {
		/// Window.
		kernel: [u8; 2],
		/// Strides.
		stride: [u8; 2],
		/// Padding.
		pad: [u8; 4],
	},
	/// Average pooling (no padding).
	AvgPool {
		/// Window.
		kernel: [u8; 2],
		/// Strides.
		stride: [u8; 2],
	},
	/// Reshape to the node's shape.
	Reshape,
	/// Axis permutation.
	Transpose {
		/// Output axis `i` is input axis `perm[i]`.
		perm: Vec<u8>,
	},
	/// Softmax over the last axis.
	Softmax,
	/// Layer normalization over the last axis.
	LayerNorm {
		/// Scale `[D]`.
		gamma: Vec<f32>,
		/// Shift `[D]`.
		beta: Vec<f32>,
		/// Epsilon.
		eps: f32,
	},
	/// Element-wise function.
	Unary(Unary),
	/// Element-wise function with per-channel scales of the last axis:
	/// `y_..j = f(x_..j · pre_j) · post_j` (a smoothed activation: one lookup table per
	/// channel once quantized).
	ScaledUnary {
		/// The function.
		f: Unary,
		/// Input factor per channel.
		pre: Vec<f32>,
		/// Output factor per channel.
		post: Vec<f32>,
	},
	/// Embedding lookup: the input holds ids (integers as floats); output
	/// `[ids.., d]` rows of `table [V, d]` (zeros for an id outside the table).
	Gather {
		/// The table `[V, d]`.
		table: Vec<f32>,
		/// Its row length.
		d: usize,
	},
	/// `x + c` with a constant of `x`'s shape.
	AddConst {
		/// The constant.
		c: Vec<f32>,
	},
	/// Softmax over the last axis where only keys whose id (second input, `[S]`) is
	/// not `pad` take part; the others get 0.
	MaskedSoftmax {
		/// The padding id.
		pad: i32,
	},
	/// `x [S, D]`: the sum of the rows whose id (second input) is not `pad`,
	/// divided by its L2 norm (0 if the norm is 0).
	PoolNormalize {
		/// The padding id.
		pad: i32,
	},
}

/// A float node.
#[derive(Clone, Debug, PartialEq)]
pub struct FNode {
	/// The op.
	pub op: FOp,
	/// Input tensors.
	pub inputs: Vec<Id>,
	/// Output shape.
	pub shape: Vec<usize>,
	/// The ONNX node it came from (for messages).
	pub name: String,
}

/// A float graph.
#[derive(Clone, Debug, PartialEq)]
pub struct FGraph {
	/// Input shape.
	pub input: Vec<usize>,
	/// The input is token ids (integers carried as floats; an i32 tensor once
	/// quantized) rather than activations.
	pub ids: bool,
	/// Nodes in topological order.
	pub nodes: Vec<FNode>,
}

impl FGraph {
	/// Shape of tensor `id`.
	pub fn shape(&self, id: Id) -> &[usize] {
		if id == 0 {
			&self.input
		} else {
			&self.nodes[id - 1].shape
		}
	}

	/// Run on `input`; returns every tensor (index = id).
	pub fn run(&self, input: &[f32]) -> Vec<Vec<f32>> {
		self.run_with(input, |_, _| None)
	}

	/// Run on `input`, letting `replace(id, tensors so far)` give node `id`'s output
	/// instead of the float op (`None`: the float op): how a quantized node's error
	/// alone is measured against the float graph. Returns every tensor (index = id).
	pub fn run_with(
		&self,
		input: &[f32],
		mut replace: impl FnMut(Id, &[Vec<f32>]) -> Option<Vec<f32>>,
	) -> Vec<Vec<f32>> {
		let mut t: Vec<Vec<f32>> = vec![input.to_vec()];
		for (i, node) in self.nodes.iter().enumerate() {
			let out = match replace(i + 1, &t) {
				Some(v) => v,
				None => self.run_node(node, &t),
			};
			t.push(out);
		}
		t
	}

	fn run_node(&self, node: &FNode, t: &[Vec<f32>]) -> Vec<f32> {
		let x = &t[node.inputs[0]];
		let xs = self.shape(node.inputs[0]);
		let relu_if = |v: f32, r: bool| if r { v.max(0.0) } else { v };
		match &node.op {
			FOp::Fc { w, b, n, relu } => {
				use rayon::prelude::*;
				let k = (*xs.last().unwrap_or(&1)).max(1);
				let n = (*n).max(1);
				let mut out = vec![0f32; x.len() / k * n];
				out.par_chunks_mut(n)
					.zip(x.par_chunks_exact(k))
					.for_each(|(orow, xr)| {
						for ((o, wr), &bj) in orow.iter_mut().zip(w.chunks_exact(k)).zip(b) {
							*o = relu_if(dot_f32(xr, wr) + bj, *relu);
						}
					});
				out
			}
			FOp::MatMul { transpose_b, alpha } => {
				let b = &t[node.inputs[1]];
				let r = xs.len();
				let batch = if r == 3 { xs[0] } else { 1 };
				let (m, k) = (xs[r - 2], xs[r - 1]);
				let n = node.shape[r - 1];
				let mut out = vec![0f32; batch * m * n];
				for bi in 0..batch {
					for i in 0..m {
						for j in 0..n {
							let mut s = 0f32;
							for kk in 0..k {
								let bv = if *transpose_b {
									b[bi * n * k + j * k + kk]
								} else {
									b[bi * k * n + kk * n + j]
								};
								s += x[bi * m * k + i * k + kk] * bv;
							}
							out[(bi * m + i) * n + j] = alpha * s;
						}
					}
				}
				out
			}
			FOp::Add { relu } => {
				let b = &t[node.inputs[1]];
				x.iter()
					.zip(b)
					.map(|(a, b)| relu_if(a + b, *relu))
					.collect()
			}
			FOp::Relu => x.iter().map(|v| v.max(0.0)).collect(),
			FOp::Conv {
				w,
				b,
				wshape,
				stride,
				pad,
				relu,
			} => {
				let [n, c, h, wd] = [xs[0], xs[1], xs[2], xs[3]];
				let [o, _, kh, kw] = *wshape;
				let (oh, ow) = (node.shape[2], node.shape[3]);
				let mut out = vec![0f32; n * o * oh * ow];
				for ni in 0..n {
					for oc in 0..o {
						for oy in 0..oh {
							for ox in 0..ow {
								let mut s = b[oc];
								for ci in 0..c {
									for ky in 0..kh {
										let iy = (oy * stride[0] as usize + ky) as isize
											- pad[0] as isize;
										if iy < 0 || iy >= h as isize {
											continue;
										}
										for kx in 0..kw {
											let ix = (ox * stride[1] as usize + kx) as isize
												- pad[1] as isize;
											if ix < 0 || ix >= wd as isize {
												continue;
											}
											s += x[((ni * c + ci) * h + iy as usize) * wd
												+ ix as usize] * w
												[((oc * c + ci) * kh + ky) * kw + kx];
										}
									}
								}
								out[((ni * o + oc) * oh + oy) * ow + ox] = relu_if(s, *relu);
							}
						}
					}
				}
				out
			}
			FOp::MaxPool {
				kernel,
				stride,
				pad,
			} => pool(x, xs, &node.shape, *kernel, *stride, *pad, true),
			FOp::AvgPool { kernel, stride } => {
				pool(x, xs, &node.shape, *kernel, *stride, [0; 4], false)
			}
			FOp::Reshape => x.clone(),
			FOp::Transpose { perm } => {
				let shape: Vec<u32> = xs.iter().map(|&d| d as u32).collect();
				let mut out = vec![0f32; x.len()];
				let idx = permutation(&shape, perm);
				for (o, &i) in out.iter_mut().zip(&idx) {
					*o = x[i];
				}
				out
			}
			FOp::Softmax => {
				let d = *xs.last().unwrap_or(&1);
				let mut out = Vec::with_capacity(x.len());
				for r in x.chunks_exact(d) {
					let m = r.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
					let e: Vec<f32> = r.iter().map(|v| (v - m).exp()).collect();
					let s: f32 = e.iter().sum();
					out.extend(e.iter().map(|v| v / s));
				}
				out
			}
			FOp::LayerNorm { gamma, beta, eps } => {
				let d = *xs.last().unwrap_or(&1);
				let mut out = Vec::with_capacity(x.len());
				for r in x.chunks_exact(d) {
					let mu = r.iter().sum::<f32>() / d as f32;
					let var = r.iter().map(|v| (v - mu) * (v - mu)).sum::<f32>() / d as f32;
					let inv = 1.0 / (var + eps).sqrt();
					out.extend(
						r.iter()
							.enumerate()
							.map(|(j, v)| (v - mu) * inv * gamma[j] + beta[j]),
					);
				}
				out
			}
			FOp::Unary(f) => x.iter().map(|&v| f.apply(v)).collect(),
			FOp::ScaledUnary { f, pre, post } => {
				let c = pre.len().max(1);
				x.chunks_exact(c)
					.flat_map(|r| {
						r.iter()
							.zip(pre.iter().zip(post))
							.map(|(&v, (&a, &b))| f.apply(v * a) * b)
					})
					.collect()
			}
			FOp::Gather { table, d } => {
				let rows = table.len() / (*d).max(1);
				let mut out = Vec::with_capacity(x.len() * d);
				for &id in x {
					let r = id as i64;
					if r >= 0 && (r as usize) < rows {
						let r = r as usize;
						out.extend_from_slice(&table[r * d..(r + 1) * d]);
					} else {
						out.extend(std::iter::repeat_n(0.0, *d));
					}
				}
				out
			}
			FOp::AddConst { c } => x.iter().zip(c).map(|(a, b)| a + b).collect(),
			FOp::MaskedSoftmax { pad } => {
				let ids = &t[node.inputs[1]];
				let kept: Vec<bool> = ids.iter().map(|&v| v as i64 != *pad as i64).collect();
				let d = ids.len().max(1);
				let mut out = Vec::with_capacity(x.len());
				for r in x.chunks_exact(d) {
					let m = r
						.iter()
						.zip(&kept)
						.filter(|(_, &k)| k)
						.fold(f32::NEG_INFINITY, |m, (&v, _)| m.max(v));
					let e: Vec<f32> = r
						.iter()
						.zip(&kept)
						.map(|(&v, &k)| if k { (v - m).exp() } else { 0.0 })
						.collect();
					let s: f32 = e.iter().sum();
					out.extend(e.iter().map(|v| if s > 0.0 { v / s } else { 0.0 }));
				}
				out
			}
			FOp::PoolNormalize { pad } => {
				let ids = &t[node.inputs[1]];
				let d = *node.shape.last().unwrap_or(&1);
				let mut sum = vec![0f64; d];
				for (r, &id) in x.chunks_exact(d.max(1)).zip(ids) {
					if id as i64 != *pad as i64 {
						for (a, &v) in sum.iter_mut().zip(r) {
							*a += v as f64;
						}
					}
				}
				let norm = sum.iter().map(|v| v * v).sum::<f64>().sqrt();
				sum.iter()
					.map(|&v| if norm > 0.0 { (v / norm) as f32 } else { 0.0 })
					.collect()
			}
		}
	}
}

/// f32 dot product over 8 lanes (vectorizes; the float graph is calibration and
/// reference only, so the summation order is free).
fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
	let mut acc = [0f32; 8];
	let mut ac = a.chunks_exact(8);
	let mut bc = b.chunks_exact(8);
	for (x, y) in (&mut ac).zip(&mut bc) {
		for l in 0..8 {
			acc[l] += x[l] * y[l];
		}
	}
	let mut s: f32 = acc.iter().sum();
	for (x, y) in ac.remainder().iter().zip(bc.remainder()) {
		s += x * y;
	}
	s
}

/// For a transpose of `shape` by `perm`: the input index of every output element.
pub fn permutation(shape: &[u32], perm: &[u8]) -> Vec<usize> {
	let n: usize = shape.iter().map(|&d| d as usize).product();
	let r = shape.len();
	let mut stride = vec![1usize; r];
	for i in (0..r.saturating_sub(1)).rev() {
		stride[i] = stride[i + 1] * shape[i + 1] as usize;
	}
	let os: Vec<usize> = perm.iter().map(|&p| shape[p as usize] as usize).collect();
	let mut out = Vec::with_capacity(n);
	let mut idx = vec![0usize; r];
	for _ in 0..n {
		out.push((0..r).map(|i| idx[i] * stride[perm[i] as usize]).sum());
		for i in (0..r).rev() {
			idx[i] += 1;
			if idx[i] < os[i] {
				break;
			}
			idx[i] = 0;
		}
	}
	out
}

fn pool(
	x: &[f32],
	xs: &[usize],
	os: &[usize],
	kernel: [u8; 2],
	stride: [u8; 2],
	pad: [u8; 4],
	max: bool,
) -> Vec<f32> {
	let [n, c, h, wd] = [xs[0], xs[1], xs[2], xs[3]];
	let (oh, ow) = (os[2], os[3]);
	let mut out = vec![0f32; n * c * oh * ow];
	for nc in 0..n * c {
		for oy in 0..oh {
			for ox in 0..ow {
				let mut m = f32::NEG_INFINITY;
				let mut s = 0f32;
				for ky in 0..kernel[0] as usize {
					let iy = (oy * stride[0] as usize + ky) as isize - pad[0] as isize;
					if iy < 0 || iy >= h as isize {
						continue;
					}
					for kx in 0..kernel[1] as usize {
						let ix = (ox * stride[1] as usize + kx) as isize - pad[1] as isize;
						if ix < 0 || ix >= wd as isize {
							continue;
						}
						let v = x[(nc * h + iy as usize) * wd + ix as usize];
						m = m.max(v);
						s += v;
					}
				}
				out[(nc * oh + oy) * ow + ox] = if max {
					m
				} else {
					s / (kernel[0] as f32 * kernel[1] as f32)
				};
			}
		}
	}
	out
}
