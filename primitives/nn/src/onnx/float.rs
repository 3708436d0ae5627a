//! The float graph: what an ONNX model becomes before quantization (same op set as
//! the integer graph, with float weights), and its f32 executor, used to calibrate
//! activation scales. Tests check it against tract on the same ONNX files.

/// The standard deviation [`FGraph::normalize`] gives the end of a residual branch
/// (a convolution whose only consumer is an addition): trained networks' last
/// normalization of a branch is small (torchvision even offers
/// `zero_init_residual`); at 1 a random network amplifies every perturbation layer
/// after layer.
pub const RESIDUAL_BRANCH_SD: f64 = 0.25;

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
	/// `x · relu6(x + 3) / 6` (MobileNetV3).
	HardSwish,
	/// `relu6(x + 3) / 6`, or ONNX's `max(0, min(1, alpha · x + beta))`.
	HardSigmoid {
		/// Slope.
		alpha: f32,
		/// Offset.
		beta: f32,
	},
	/// `min(max(x, lo), hi)`.
	Clip {
		/// Lower bound.
		lo: f32,
		/// Upper bound.
		hi: f32,
	},
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
			Unary::HardSwish => x64 * (x64 + 3.0).clamp(0.0, 6.0) / 6.0,
			Unary::HardSigmoid { alpha, beta } => {
				(alpha as f64 * x64 + beta as f64).clamp(0.0, 1.0)
			}
			Unary::Clip { lo, hi } => x64.max(lo as f64).min(hi as f64),
		}) as f32
	}
}

/// An element-wise function of one tensor, as an expression tree (what exporters
/// write out op by op: `x · 0.5 · (1 + erf(x / √2))`, `x · sigmoid(x)`,
/// `x · clip(x + 3, 0, 6) / 6`): one lookup table once quantized.
#[derive(Clone, Debug, PartialEq)]
pub enum Pw {
	/// The tensor itself.
	X,
	/// A constant.
	C(f64),
	/// A function of one argument (ONNX op name: Erf, Sqrt, Exp, Neg, Abs, Tanh,
	/// Sigmoid, Relu, Floor, Ceil, Reciprocal) applied to an expression.
	F(&'static str, Box<Pw>),
	/// A table function ([`Unary`]) of an expression.
	U(Unary, Box<Pw>),
	/// A binary operation (Add, Sub, Mul, Div, Pow, Min, Max).
	B(&'static str, Box<Pw>, Box<Pw>),
}

impl Pw {
	/// The value at `x`.
	pub fn eval(&self, x: f64) -> f64 {
		match self {
			Pw::X => x,
			Pw::C(c) => *c,
			Pw::F(f, a) => {
				let a = a.eval(x);
				match *f {
					"Erf" => crate::zoo::libm_erf(a),
					"Sqrt" => a.sqrt(),
					"Exp" => a.exp(),
					"Neg" => -a,
					"Abs" => a.abs(),
					"Tanh" => a.tanh(),
					"Sigmoid" => 1.0 / (1.0 + (-a).exp()),
					"Relu" => a.max(0.0),
					"Floor" => a.floor(),
					"Ceil" => a.ceil(),
					"Reciprocal" => 1.0 / a,
					_ => f64::NAN,
				}
			}
			Pw::U(u, a) => u.apply(a.eval(x) as f32) as f64,
			Pw::B(op, a, b) => {
				let (a, b) = (a.eval(x), b.eval(x));
				match *op {
					"Add" => a + b,
					"Sub" => a - b,
					"Mul" => a * b,
					"Div" => a / b,
					"Pow" => a.powf(b),
					"Min" => a.min(b),
					"Max" => a.max(b),
					_ => f64::NAN,
				}
			}
		}
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
		/// Groups (the weight is `[O, C / groups, KH, KW]`).
		groups: usize,
		/// Upper clip after the ReLU (ReLU6: 6), `f32::INFINITY` for none.
		clip: f32,
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
	/// The concatenation of the inputs, flattened, in input order (an axis
	/// concatenation when every dimension before the axis is 1).
	Concat,
	/// A contiguous run of the input's elements (row-major), from `offset`, of the
	/// node's shape.
	Slice {
		/// First element.
		offset: usize,
	},
	/// An element-wise function ([`Pw`]).
	Pointwise(Pw),
	/// `a · b`, `b` broadcast over `a`'s trailing axes where it has 1s.
	Mul,
	/// Local response normalization across channels (ONNX LRN).
	Lrn {
		/// Channels in the window.
		size: usize,
		/// α.
		alpha: f32,
		/// β.
		beta: f32,
		/// The bias `k`.
		bias: f32,
	},
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

	/// Data-dependent scales for a graph with random weights: node by node over
	/// `inputs`, every convolution for which `only` holds is rescaled so that its output
	/// (before its ReLU) has zero mean and unit variance per channel
	/// ([`RESIDUAL_BRANCH_SD`] at the end of a residual branch), what batch normalization with
	/// statistics from data gives once folded. Returns, per convolution, its name and
	/// the per-channel `(a, μ)` applied (`w' = a·w`, `b' = a·(b - μ)`), for
	/// [`super::fill::normalize`] to apply to the ONNX model.
	pub fn normalize(
		&mut self,
		inputs: &[Vec<f32>],
		only: impl Fn(&FNode) -> bool,
	) -> Vec<(String, Vec<f64>, Vec<f64>)> {
		let mut applied = Vec::new();
		let mut ts: Vec<Vec<Vec<f32>>> = inputs.iter().map(|x| vec![x.clone()]).collect();
		for j in 0..self.nodes.len() {
			let mut bare = self.nodes[j].clone();
			let channels = match &mut bare.op {
				FOp::Conv {
					relu, clip, wshape, ..
				} if only(&self.nodes[j]) => {
					*relu = false;
					*clip = f32::INFINITY;
					Some((wshape[0], self.nodes[j].shape[2] * self.nodes[j].shape[3]))
				}
				_ => None,
			};
			if let Some((c, plane)) = channels {
				// per channel: mean and variance over the samples and positions
				let (mut sum, mut sq, mut cnt) = (vec![0f64; c], vec![0f64; c], vec![0f64; c]);
				for t in &ts {
					let y = self.run_node(&bare, t);
					for (i, &v) in y.iter().enumerate() {
						let ch = (i / plane.max(1)) % c;
						sum[ch] += v as f64;
						sq[ch] += v as f64 * v as f64;
						cnt[ch] += 1.0;
					}
				}
				let mean: Vec<f64> = (0..c).map(|ch| sum[ch] / cnt[ch].max(1.0)).collect();
				// a residual branch (its output is added to the block's input) ends at a
				// smaller scale, as trained networks' last normalization of a branch does
				let consumers: Vec<&FNode> = self.nodes[j + 1..]
					.iter()
					.filter(|n| n.inputs.contains(&(j + 1)))
					.collect();
				let residual =
					matches!(consumers.as_slice(), [n] if matches!(n.op, FOp::Add { .. }));
				let target = if residual { RESIDUAL_BRANCH_SD } else { 1.0 };
				let a: Vec<f64> = (0..c)
					.map(|ch| {
						let var = (sq[ch] / cnt[ch].max(1.0) - mean[ch] * mean[ch]).max(0.0);
						target / (var + 1e-5).sqrt()
					})
					.collect();
				if let FOp::Conv { w, b, .. } = &mut self.nodes[j].op {
					let per = w.len() / c.max(1);
					for ch in 0..c {
						w[ch * per..(ch + 1) * per]
							.iter_mut()
							.for_each(|v| *v = (*v as f64 * a[ch]) as f32);
						b[ch] = ((b[ch] as f64 - mean[ch]) * a[ch]) as f32;
					}
				}
				applied.push((self.nodes[j].name.clone(), a, mean));
			}
			for t in ts.iter_mut() {
				let out = self.run_node(&self.nodes[j], t);
				t.push(out);
			}
		}
		applied
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
				groups,
				clip,
			} => {
				use rayon::prelude::*;
				let [n, c, h, wd] = [xs[0], xs[1], xs[2], xs[3]];
				let [o, cg, kh, kw] = *wshape;
				let groups = (*groups).max(1);
				let og = (o / groups).max(1);
				let (oh, ow) = (node.shape[2], node.shape[3]);
				let patch = cg * kh * kw;
				let mut out = vec![0f32; n * o * oh * ow];
				for ni in 0..n {
					for g in 0..groups {
						// im2col of the group's channels, one patch per output pixel
						let mut cols = vec![0f32; oh * ow * patch];
						cols.par_chunks_mut(patch).enumerate().for_each(|(p, col)| {
							let (oy, ox) = (p / ow, p % ow);
							for cl in 0..cg {
								let ci = g * cg + cl;
								for ky in 0..kh {
									let iy =
										(oy * stride[0] as usize + ky) as isize - pad[0] as isize;
									if iy < 0 || iy >= h as isize {
										continue;
									}
									for kx in 0..kw {
										let ix = (ox * stride[1] as usize + kx) as isize
											- pad[1] as isize;
										if ix < 0 || ix >= wd as isize {
											continue;
										}
										col[(cl * kh + ky) * kw + kx] =
											x[((ni * c + ci) * h + iy as usize) * wd + ix as usize];
									}
								}
							}
						});
						let base = (ni * o + g * og) * oh * ow;
						out[base..base + og * oh * ow]
							.par_chunks_mut(oh * ow)
							.enumerate()
							.for_each(|(j, plane)| {
								let oc = g * og + j;
								let wo = &w[oc * patch..(oc + 1) * patch];
								for (p, v) in plane.iter_mut().enumerate() {
									let s = dot_f32(&cols[p * patch..(p + 1) * patch], wo) + b[oc];
									*v = relu_if(s, *relu).min(*clip);
								}
							});
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
			FOp::Concat => node
				.inputs
				.iter()
				.flat_map(|&i| t[i].iter().copied())
				.collect(),
			FOp::Slice { offset } => {
				let len: usize = node.shape.iter().product();
				x[*offset..*offset + len].to_vec()
			}
			FOp::Pointwise(p) => x.iter().map(|&v| p.eval(v as f64) as f32).collect(),
			FOp::Mul => {
				let b = &t[node.inputs[1]];
				let inner = (x.len() / b.len().max(1)).max(1);
				x.iter()
					.enumerate()
					.map(|(i, &a)| a * b[i / inner])
					.collect()
			}
			FOp::Lrn {
				size,
				alpha,
				beta,
				bias,
			} => {
				let (n, c) = (xs[0], xs[1]);
				let plane: usize = xs[2..].iter().product();
				let (before, after) = ((size.max(&1) - 1) / 2, size / 2);
				let mut out = vec![0f32; x.len()];
				for ni in 0..n {
					for ch in 0..c {
						let (lo, hi) = (ch.saturating_sub(before), (ch + after).min(c - 1));
						for p in 0..plane {
							let s: f64 = (lo..=hi)
								.map(|k| (x[(ni * c + k) * plane + p] as f64).powi(2))
								.sum();
							let i = (ni * c + ch) * plane + p;
							let d = (*bias as f64 + *alpha as f64 / *size as f64 * s)
								.powf(*beta as f64);
							out[i] = (x[i] as f64 / d) as f32;
						}
					}
				}
				out
			}
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
