//! The graph format: tensors, operators, nodes, graphs and models.
//!
//! Everything here is SCALE-encoded in the model file and (node descriptors) in the
//! VM's node environment, so field order and variants are part of the protocol.

use alloc::vec::Vec;
#[cfg(feature = "codec")]
use codec::{Decode, Encode};

/// Greatest tensor rank.
pub const MAX_RANK: usize = 4;
/// Greatest number of bytes of one activation: the graph input and every node's output
/// (what a task's input and result carry on chain, in chunks).
pub const MAX_TENSOR_BYTES: usize = 1 << 24;
/// Greatest number of bytes of one weight tensor, and of any node input: the size of
/// one VM memory slot (`layout::SLOT_BYTES`).
pub const MAX_WEIGHT_BYTES: usize = 1 << 26;
/// Greatest number of nodes of a graph (graph-state slots 1..=MAX_NODES; slot 0 is the
/// graph input).
pub const MAX_NODES: usize = 4095;
/// Greatest number of weight tensors of a model.
pub const MAX_WEIGHTS: usize = 4095;
/// Greatest number of inputs (graph tensors and weights) of one node.
pub const MAX_NODE_INPUTS: usize = 4;
/// Greatest length of a reduced axis (dot products, softmax and layer-norm rows), so
/// that the i32 accumulations stated per op cannot overflow.
pub const MAX_REDUCTION: usize = 1 << 14;
/// Greatest encoded size of a node descriptor (it lives in a VM memory slot and is
/// posted on chain in a dispute).
pub const MAX_DESCRIPTOR_BYTES: usize = 4096;
/// Greatest size of a model file.
pub const MAX_MODEL_BYTES: usize = 256 << 20;

/// Element type of a tensor.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "codec", derive(Encode, Decode))]
pub enum DType {
	/// Signed 8-bit integers: every activation, and weights.
	I8,
	/// Signed 32-bit integers, little-endian: biases, lookup tables.
	I32,
}

impl DType {
	/// Bytes per element.
	pub const fn size(self) -> usize {
		match self {
			DType::I8 => 1,
			DType::I32 => 4,
		}
	}
}

/// A tensor's type: shape (row-major), element type and, for information only, the
/// real value of one quantum (`real = scale × integer`, symmetric: zero point 0).
///
/// `scale` is an `f32`'s bits: only off-chain code uses it (to quantize inputs and
/// dequantize outputs); no committed value is ever computed from it.
#[derive(Clone, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "codec", derive(Encode, Decode))]
pub struct TensorDesc {
	/// Dimensions, outermost first; at most [`MAX_RANK`].
	pub shape: Vec<u32>,
	/// Element type.
	pub dtype: DType,
	/// `f32::to_bits` of the quantization scale (informational).
	pub scale: u32,
}

impl TensorDesc {
	/// An int8 tensor of `shape` with quantization scale `scale`.
	pub fn i8(shape: &[u32], scale: f32) -> Self {
		TensorDesc {
			shape: shape.to_vec(),
			dtype: DType::I8,
			scale: scale.to_bits(),
		}
	}

	/// An i32 tensor of `shape` (scale 1).
	pub fn i32(shape: &[u32]) -> Self {
		TensorDesc {
			shape: shape.to_vec(),
			dtype: DType::I32,
			scale: 1f32.to_bits(),
		}
	}

	/// Number of elements, or `None` on overflow.
	pub fn elements(&self) -> Option<usize> {
		self.shape
			.iter()
			.try_fold(1usize, |n, &d| n.checked_mul(d as usize))
	}

	/// Number of bytes of the canonical encoding, or `None` on overflow.
	pub fn bytes(&self) -> Option<usize> {
		self.elements()?.checked_mul(self.dtype.size())
	}

	/// The quantization scale as a float (off-chain use only).
	pub fn scale_f32(&self) -> f32 {
		f32::from_bits(self.scale)
	}

	/// The last dimension (1 for a scalar).
	pub fn last_dim(&self) -> usize {
		self.shape.last().copied().unwrap_or(1) as usize
	}
}

/// Requantization of an i32 accumulator to int8, the one rule every op uses:
///
/// `y = sat8((acc × multiplier + 2^(shift-1)) >> shift)` computed in i64 (for
/// `shift = 0`: `sat8(acc × multiplier)`), where `>>` is the arithmetic (flooring)
/// shift, so halves round towards +∞, and `sat8` clamps to `[-128, 127]`.
/// `multiplier` is in `[0, 2^31)` and `shift` in `[0, 62]`, so the i64 never overflows.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "codec", derive(Encode, Decode))]
pub struct Requant {
	/// Fixed-point multiplier, `0 <= multiplier < 2^31`.
	pub multiplier: i32,
	/// Right shift, `0..=62`.
	pub shift: u8,
}

/// Where a node's input comes from.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "codec", derive(Encode, Decode))]
pub enum Source {
	/// Graph-state slot: 0 = the graph input, `j >= 1` = the output of node `j`.
	Slot(u16),
	/// A weight tensor of the model, by index.
	Weight(u16),
}

/// An operator and its parameters. Input order and shapes are given per variant;
/// `N` is a leading batch dimension (any number of leading dimensions for row-wise ops).
#[derive(Clone, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "codec", derive(Encode, Decode))]
pub enum Op {
	/// Fully connected / MatMul with a weight: inputs `x [.., K]` i8, `w [N, K]` i8,
	/// `b [N]` i32; output `[.., N]` i8:
	/// `y = requant(b + Σ_k x_k w_nk)`, then `max(y, 0)` if `relu`.
	/// Accumulation in i32, k ascending, wrapping (it cannot wrap when `|b| < 2^30`,
	/// since `K <= MAX_REDUCTION`). The output may instead be *wide* (i32, for a
	/// residual stream with outliers): `y = sat32(round_shift(acc × multiplier,
	/// shift))` in i64, then ReLU if `relu`. An optional fourth input `m [N]` i32
	/// gives each output channel its own multiplier (per-channel weight scales):
	/// channel `n` uses `Requant { multiplier: m_n, shift }` (any `m_n`: the i64
	/// product cannot overflow) and `requant.multiplier` is unused. `x` may be wide
	/// (i32: a table's wide output, [`Op::Lut`]): the same wrapping i32 sum of
	/// `x_k w_nk` (the importer keeps `|x| · 127 · K` below `2^30`).
	FullyConnected {
		/// Requantization to the output scale.
		requant: Requant,
		/// Fused ReLU.
		relu: bool,
	},
	/// Batched matrix product of two activations (attention): inputs `a [B, M, K]`,
	/// `b [B, K, N]` (or `b [B, N, K]` when `transpose_b`), both i8; output `[B, M, N]`.
	/// Rank 2 operands mean `B = 1`. Accumulation as for `FullyConnected`; the output
	/// may be wide (i32) as there.
	MatMul {
		/// The second operand is stored transposed (`Q · Kᵀ`).
		transpose_b: bool,
		/// Requantization to the output scale.
		requant: Requant,
	},
	/// Element-wise sum of two equal-shape tensors rescaled to the output scale:
	/// `y = sat(round_shift(a × a_mult + b × b_mult, shift))` computed in i64 (round
	/// half up), then ReLU if `relu`. Each input is i8 or i32 (wide); the output is i8
	/// (`sat8`) or i32 (`sat32`). `|a_mult|, |b_mult| <= 2^22`, so the sum cannot
	/// overflow.
	Add {
		/// Multiplier of the first input.
		a_mult: i32,
		/// Multiplier of the second input.
		b_mult: i32,
		/// Right shift, `0..=31`.
		shift: u8,
		/// Fused ReLU.
		relu: bool,
	},
	/// `max(x, 0)`, same shape and scale.
	Relu,
	/// 2-D convolution: inputs `x [N, C, H, W]` i8, `w [O, C, KH, KW]` i8, `b [O]` i32;
	/// output `[N, O, OH, OW]` i8 with `OH = (H + pad_top + pad_bottom - KH) / stride_h + 1`.
	/// Padding is zero (exact: quantization is symmetric). Accumulation order
	/// `c, kh, kw` ascending; requantized as `FullyConnected`.
	Conv2d {
		/// Strides `[h, w]`, at least 1.
		stride: [u8; 2],
		/// Padding `[top, left, bottom, right]`.
		pad: [u8; 4],
		/// Requantization to the output scale.
		requant: Requant,
		/// Fused ReLU.
		relu: bool,
	},
	/// Max pooling over `[N, C, H, W]`; padding elements count as -128 (never chosen
	/// unless the window is all padding). Same scale.
	MaxPool {
		/// Window `[h, w]`.
		kernel: [u8; 2],
		/// Strides `[h, w]`.
		stride: [u8; 2],
		/// Padding `[top, left, bottom, right]`.
		pad: [u8; 4],
	},
	/// Average pooling over `[N, C, H, W]` without padding:
	/// `y = floor((2 Σ x + n) / 2n)` (round half up), same scale.
	AvgPool {
		/// Window `[h, w]`.
		kernel: [u8; 2],
		/// Strides `[h, w]`.
		stride: [u8; 2],
	},
	/// Reshape / Flatten: the same bytes under the output's shape.
	Reshape,
	/// Permute the axes: output axis `i` is input axis `perm[i]`.
	Transpose {
		/// A permutation of `0..rank`.
		perm: Vec<u8>,
	},
	/// Softmax over the last axis: inputs `x` i8 and `table [256]` i32 with
	/// `table[d] ≈ 2^16 · exp(-d · scale_x)`, `0 <= table[d] <= 2^16`. Per row:
	/// `e_j = table[max - x_j]`, `S = Σ e_j`, `y_j = floor((254 e_j + S) / 2S)`, so the
	/// output is in `[0, 127]` with scale 1/127.
	Softmax,
	/// Layer normalization over the last axis (length `D`): inputs `x` i8,
	/// `gamma [D]` i8, `beta [D]` i32. Per row: `c_j = D x_j - Σ x`,
	/// `var = floor(Σ c_j² / D) + eps`, `sd = isqrt(var)`,
	/// `z_j = trunc(c_j · 2^16 / sd)` (0 if `sd = 0`), `acc = sat32(z_j γ_j + β_j)`,
	/// `y = requant(acc)`. `x` may be wide (i32): its elements are first clamped to
	/// `±2^24`, and `Σ c_j²`, `var` and `sd` are computed in u128. The output may be
	/// wide too: `y = sat32(round_shift(acc × multiplier, shift))` in i64.
	LayerNorm {
		/// `ε` in units of `(D · scale_x)²`.
		eps: u64,
		/// Requantization to the output scale.
		requant: Requant,
	},
	/// Table lookup (GELU, sigmoid, tanh, ...): inputs `x` i8 and `table [256]` i8;
	/// `y = table[x + 128]`. With `table [C, 256]` (`C` the last dimension of `x`),
	/// channel `j` of the last axis has its own table: `y_..j = table[j, x_..j + 128]`
	/// (per-channel scales folded into the lookup). With an i32 table (`[256]` or
	/// `[C, 256]`) the output is wide (i32): the activation feeding a fully connected
	/// layer at more than int8's precision (BERT's GELU).
	Lut,
	/// A contiguous run of a tensor (either element type): `y_i = x_(offset + i)` for
	/// `i < elements(y)`, over the row-major flattening; the output has the input's
	/// element type and any shape that fits.
	Slice {
		/// First element taken.
		offset: u32,
	},
	/// The concatenation of 1 to [`MAX_NODE_INPUTS`] tensors of one element type, in
	/// input order, flattened; the output has any shape with that element count.
	Concat,
	/// Training (Q16.16 fixed point, see [`crate::train`]): a dense layer. Inputs
	/// `x [B, K]`, `w [N, K]`, `b [N]`, all i32 Q16; output `[B, N]` i32 Q16:
	/// `y = sat32(round_shift(Σ_k x_k w_nk, 16) + b_n)` (i64, wrapping sum, k
	/// ascending), then `max(y, 0)` if `relu`.
	Dense {
		/// Fused ReLU.
		relu: bool,
	},
	/// Training: the gradient of the mean softmax cross-entropy over a batch with
	/// respect to the logits. Inputs `z [B, C]` i32 Q16 and `labels [B]` i32; output
	/// `[B, C]` i32 Q16: `(softmax(z) - onehot(label)) / B` with the fixed-point
	/// softmax of [`crate::train::softmax_row`] (a label outside `0..C` is no class).
	SoftmaxXentGrad,
	/// Training: the gradient with respect to a dense layer's input. Inputs `dy [B, N]`,
	/// `w [N, K]`, `h [B, K]` (the layer's input), all i32 Q16; output `[B, K]` i32 Q16:
	/// `dx = sat32(round_shift(Σ_n dy_n w_nk, 16))`, zero where `h <= 0` if `relu`
	/// (the backward pass of the ReLU that produced `h`).
	DenseGradInput {
		/// `h` came out of a ReLU.
		relu: bool,
	},
	/// Training: SGD on a dense layer's weight. Inputs `x [B, K]` (the layer's input),
	/// `dy [B, N]`, `w [N, K]`, all i32 Q16; output `w' [N, K]` i32 Q16:
	/// `g = round_shift(Σ_b dy_bn x_bk, 16)`, `w' = sat32(w - round_shift(lr × g, 16))`.
	SgdWeight {
		/// Learning rate, Q16 (`0 <= lr`).
		lr: i32,
	},
	/// Training: SGD on a dense layer's bias. Inputs `dy [B, N]` and `b [N]`, i32 Q16;
	/// output `b' [N]`: `b' = sat32(b - round_shift(lr × Σ_b dy_bn, 16))`.
	SgdBias {
		/// Learning rate, Q16 (`0 <= lr`).
		lr: i32,
	},
	/// Federated averaging: the mean of the rows of `x [P, M]` i32; output `[M]` i32:
	/// `y_m = floor((2 Σ_p x_pm + P) / 2P)` (i64, round half up).
	MeanRows,
	/// Embedding lookup: inputs `table [V, D]` i8 (usually a weight) and `ids` i32 of
	/// rank at most 3; output `[ids.., D]` i8 (the ids' shape, then `D`), at the
	/// table's scale: `y[i, :] = table[ids_i, :]`, zeros for an id outside `0..V`.
	Gather,
	/// Softmax over the last axis with a key mask (attention over a padded sequence):
	/// inputs `x [.., S]` i8 or i32 (wide scores), `table [256]` i32 (as for
	/// [`Op::Softmax`]) and `ids [S]` i32; key `j` takes part only if `ids_j != pad`.
	/// Per row: `m` = the greatest kept `x_j`, `e_j = table[min((m - x_j) >> shift,
	/// 255)]` (i64; clamped into `[0, 2^16]`) for kept keys and 0 for the others,
	/// `S = Σ e_j`, `y_j = floor((254 e_j + S) / 2S)`; a row with no kept key (or
	/// `S = 0`) is all zeros. Scale 1/127.
	MaskedSoftmax {
		/// The id of a padding token.
		pad: i32,
		/// Right shift of the distance to the row's maximum (`0..=31`): the table's
		/// step is `2^shift` quanta of `x`.
		shift: u8,
	},
	/// Masked sum pooling with L2 normalization (a sentence embedding: the mean's `1/n`
	/// cancels in the normalization): inputs `x [S, D]` i8 and `ids [S]` i32; output
	/// `[D]` i8. `s_j = Σ x_rj` over the rows `r` with `ids_r != pad` (i32),
	/// `q = Σ_j s_j²` (u64), `n = isqrt(q · 2^32)` (u128), then
	/// `y_j = sat8(floor((2 s_j · multiplier · 2^16 + n) / 2n))` (i64, round half up),
	/// all zeros if `n = 0`. The output's scale is `1 / multiplier`.
	PoolNormalize {
		/// The id of a padding token.
		pad: i32,
		/// Quanta per unit length of the output, `1..=2^16`.
		multiplier: i32,
	},
	/// Grouped 2-D convolution with per-channel requantization (depthwise
	/// convolutions, batch normalization as a 1×1 depthwise convolution, convolutions
	/// with per-channel weight scales): inputs `x [N, C, H, W]` i8,
	/// `w [O, C / groups, KH, KW]` i8, `b [O]` i32 and optionally `m [O]` i32. Output
	/// channel `o` belongs to group `g = o / (O / groups)` and reads input channels
	/// `g · C / groups ..` `(g + 1) · C / groups`; it is requantized with
	/// `Requant { multiplier: m_o, shift: requant.shift }` when `m` is given (any
	/// `m_o`: the i64 product cannot overflow), with `requant` otherwise. Otherwise as
	/// [`Op::Conv2d`] (zero padding, accumulation order `c, kh, kw` ascending,
	/// wrapping i32, fused ReLU).
	GroupConv2d {
		/// Number of groups, at least 1, dividing `C` and `O`.
		groups: u32,
		/// Strides `[h, w]`, at least 1.
		stride: [u8; 2],
		/// Padding `[top, left, bottom, right]`.
		pad: [u8; 4],
		/// Requantization to the output scale (its multiplier unused with `m`).
		requant: Requant,
		/// Fused ReLU.
		relu: bool,
	},
	/// Element-wise product with broadcasting (squeeze-and-excitation gates): inputs
	/// `a` i8 and `b` i8 of the same rank, each axis of `b` either `a`'s or, from some
	/// axis on, 1 (`[N, C, 1, 1]` against `[N, C, H, W]`); output `a`'s shape, i8:
	/// `y_i = requant(a_i · b_j)` with `j` the index of `b` that `i` broadcasts from.
	Mul {
		/// Requantization to the output scale.
		requant: Requant,
	},
	/// Local response normalization across channels (AlexNet, GoogLeNet v1): inputs
	/// `x [N, C, H, W]` i8 and `table [size · 16384 + 1]` i32. For each element,
	/// `s = Σ x²` over channels `c - (size - 1) / 2 ..= c + size / 2` (clipped to
	/// `0..C`), then `y = sat8(round_shift(x · table[s], 16))` (i64): the table holds
	/// `(bias + α / size · s · scale_x²)^-β`, rescaled.
	Lrn {
		/// Channels in the window, `1..=255`.
		size: u8,
	},
}

impl Op {
	/// A short name for messages.
	pub fn name(&self) -> &'static str {
		match self {
			Op::FullyConnected { .. } => "FullyConnected",
			Op::MatMul { .. } => "MatMul",
			Op::Add { .. } => "Add",
			Op::Relu => "Relu",
			Op::Conv2d { .. } => "Conv2d",
			Op::MaxPool { .. } => "MaxPool",
			Op::AvgPool { .. } => "AvgPool",
			Op::Reshape => "Reshape",
			Op::Transpose { .. } => "Transpose",
			Op::Softmax => "Softmax",
			Op::LayerNorm { .. } => "LayerNorm",
			Op::Lut => "Lut",
			Op::Slice { .. } => "Slice",
			Op::Concat => "Concat",
			Op::Dense { .. } => "Dense",
			Op::SoftmaxXentGrad => "SoftmaxXentGrad",
			Op::DenseGradInput { .. } => "DenseGradInput",
			Op::SgdWeight { .. } => "SgdWeight",
			Op::SgdBias { .. } => "SgdBias",
			Op::MeanRows => "MeanRows",
			Op::Gather => "Gather",
			Op::MaskedSoftmax { .. } => "MaskedSoftmax",
			Op::PoolNormalize { .. } => "PoolNormalize",
			Op::GroupConv2d { .. } => "GroupConv2d",
			Op::Mul { .. } => "Mul",
			Op::Lrn { .. } => "Lrn",
		}
	}

	/// Whether the op is a training, data-movement or aggregation op (computed by the
	/// reference kernels on every backend; possibly with an i32 output) rather than an
	/// int8 inference op.
	pub fn is_training(&self) -> bool {
		matches!(
			self,
			Op::Slice { .. }
				| Op::Concat | Op::Dense { .. }
				| Op::SoftmaxXentGrad
				| Op::DenseGradInput { .. }
				| Op::SgdWeight { .. }
				| Op::SgdBias { .. }
				| Op::MeanRows
		)
	}

	/// Number of inputs the op takes ([`Op::Concat`]: at most this many, at least 1).
	pub fn arity(&self) -> usize {
		match self {
			Op::FullyConnected { .. } | Op::Conv2d { .. } | Op::LayerNorm { .. } => 3,
			Op::GroupConv2d { .. } => 4,
			Op::MatMul { .. } | Op::Add { .. } | Op::Softmax | Op::Lut => 2,
			Op::Gather | Op::PoolNormalize { .. } | Op::Mul { .. } | Op::Lrn { .. } => 2,
			Op::MaskedSoftmax { .. } => 3,
			Op::Relu | Op::MaxPool { .. } | Op::AvgPool { .. } | Op::Reshape => 1,
			Op::Transpose { .. } | Op::Slice { .. } | Op::MeanRows => 1,
			Op::Concat => MAX_NODE_INPUTS,
			Op::Dense { .. } | Op::DenseGradInput { .. } | Op::SgdWeight { .. } => 3,
			Op::SoftmaxXentGrad | Op::SgdBias { .. } => 2,
		}
	}

	/// Whether the op accepts `n` inputs.
	pub fn accepts_inputs(&self, n: usize) -> bool {
		match self {
			Op::Concat => (1..=MAX_NODE_INPUTS).contains(&n),
			Op::FullyConnected { .. } | Op::GroupConv2d { .. } => n == 3 || n == 4,
			_ => n == self.arity(),
		}
	}
}

/// One input of a node: where it comes from and its type.
#[derive(Clone, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "codec", derive(Encode, Decode))]
pub struct NodeInput {
	/// Graph slot or weight.
	pub source: Source,
	/// Its type (must equal the source's type).
	pub desc: TensorDesc,
}

/// A graph node: what the VM guest receives (SCALE-encoded) as its descriptor, and
/// what the model commitment binds (`H(NODE_DESCRIPTOR, SCALE(node))`).
#[derive(Clone, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "codec", derive(Encode, Decode))]
pub struct Node {
	/// The operator.
	pub op: Op,
	/// Inputs in the op's order.
	pub inputs: Vec<NodeInput>,
	/// The output's type: int8 for inference ops; i32 for training ops (the element
	/// type of the input for `Slice` and `Concat`).
	pub output: TensorDesc,
}

/// A graph: its input's type (int8, or i32 for training and aggregation graphs) and
/// nodes in topological order (node `j` is 1-based in
/// graph-state slots; its inputs may only use slots `< j`). The graph's output is the
/// last node's output.
#[derive(Clone, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "codec", derive(Encode, Decode))]
pub struct Graph {
	/// Type of the graph input (graph-state slot 0).
	pub input: TensorDesc,
	/// Nodes in topological order.
	pub nodes: Vec<Node>,
}

/// A weight tensor: type and canonical little-endian bytes.
#[derive(Clone, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "codec", derive(Encode, Decode))]
pub struct Weight {
	/// Its type.
	pub desc: TensorDesc,
	/// Canonical bytes (row-major, little-endian).
	pub data: Vec<u8>,
}

/// A model: graph plus weights. The model file is `MODEL_MAGIC || SCALE(Model)`.
#[derive(Clone, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "codec", derive(Encode, Decode))]
pub struct Model {
	/// The graph.
	pub graph: Graph,
	/// Weight tensors, referenced by [`Source::Weight`].
	pub weights: Vec<Weight>,
}

/// First bytes of a model file (format version 1).
pub const MODEL_MAGIC: [u8; 8] = *b"OPMLNN\x00\x01";

/// A borrowed tensor's data, typed.
#[derive(Clone, Copy, Debug)]
pub enum TensorRef<'a> {
	/// int8 elements.
	I8(&'a [i8]),
	/// i32 elements.
	I32(&'a [i32]),
}

impl<'a> TensorRef<'a> {
	/// The int8 elements, if this is an int8 tensor.
	pub fn as_i8(&self) -> Option<&'a [i8]> {
		match self {
			TensorRef::I8(x) => Some(x),
			_ => None,
		}
	}

	/// The i32 elements, if this is an i32 tensor.
	pub fn as_i32(&self) -> Option<&'a [i32]> {
		match self {
			TensorRef::I32(x) => Some(x),
			_ => None,
		}
	}

	/// Number of elements.
	pub fn len(&self) -> usize {
		match self {
			TensorRef::I8(x) => x.len(),
			TensorRef::I32(x) => x.len(),
		}
	}

	/// Whether there are no elements.
	pub fn is_empty(&self) -> bool {
		self.len() == 0
	}
}

/// An owned tensor's data, typed.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum TensorData {
	/// int8 elements.
	I8(Vec<i8>),
	/// i32 elements.
	I32(Vec<i32>),
}

impl TensorData {
	/// `n` zeros of type `dtype`.
	pub fn zeros(dtype: DType, n: usize) -> Self {
		match dtype {
			DType::I8 => TensorData::I8(alloc::vec![0; n]),
			DType::I32 => TensorData::I32(alloc::vec![0; n]),
		}
	}

	/// Number of elements.
	pub fn len(&self) -> usize {
		self.as_ref().len()
	}

	/// Whether there are no elements.
	pub fn is_empty(&self) -> bool {
		self.len() == 0
	}

	/// The int8 elements, if this is an int8 tensor.
	pub fn as_i8(&self) -> Option<&[i8]> {
		match self {
			TensorData::I8(x) => Some(x),
			_ => None,
		}
	}

	/// The i32 elements, if this is an i32 tensor.
	pub fn as_i32(&self) -> Option<&[i32]> {
		match self {
			TensorData::I32(x) => Some(x),
			_ => None,
		}
	}

	/// Add `delta` to element `at` (wrapping; nothing if out of range): a wrong
	/// result for fault injection and tests.
	pub fn perturb(&mut self, at: usize, delta: i32) {
		match self {
			TensorData::I8(x) => {
				if let Some(v) = x.get_mut(at) {
					*v = v.wrapping_add(delta as i8);
				}
			}
			TensorData::I32(x) => {
				if let Some(v) = x.get_mut(at) {
					*v = v.wrapping_add(delta);
				}
			}
		}
	}

	/// Decode canonical bytes of type `dtype`; `None` if the length does not fit.
	pub fn from_bytes(dtype: DType, bytes: &[u8]) -> Option<Self> {
		match dtype {
			DType::I8 => Some(TensorData::I8(bytes.iter().map(|&b| b as i8).collect())),
			DType::I32 => {
				if !bytes.len().is_multiple_of(4) {
					return None;
				}
				Some(TensorData::I32(
					bytes
						.chunks_exact(4)
						.map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
						.collect(),
				))
			}
		}
	}

	/// Canonical bytes (little-endian).
	pub fn to_bytes(&self) -> Vec<u8> {
		match self {
			TensorData::I8(x) => x.iter().map(|&v| v as u8).collect(),
			TensorData::I32(x) => x.iter().flat_map(|v| v.to_le_bytes()).collect(),
		}
	}

	/// Borrow.
	pub fn as_ref(&self) -> TensorRef<'_> {
		match self {
			TensorData::I8(x) => TensorRef::I8(x),
			TensorData::I32(x) => TensorRef::I32(x),
		}
	}

	/// Element type.
	pub fn dtype(&self) -> DType {
		match self {
			TensorData::I8(_) => DType::I8,
			TensorData::I32(_) => DType::I32,
		}
	}
}

/// Canonical bytes of int8 elements.
pub fn i8_bytes(x: &[i8]) -> Vec<u8> {
	x.iter().map(|&v| v as u8).collect()
}
