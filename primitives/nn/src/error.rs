//! Typed errors: malformed model files, bad shapes, out-of-bounds tensors.

/// Why a model, graph, node or tensor was rejected.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum NnError {
	/// The model file does not start with the magic bytes of this format version.
	BadMagic,
	/// The model file (or a descriptor) is not a valid SCALE encoding.
	Decode,
	/// A file or descriptor exceeds its size bound.
	TooLarge,
	/// The graph has no nodes or more than `MAX_NODES`; or the model more than
	/// `MAX_WEIGHTS` weights.
	GraphSize,
	/// A tensor has rank 0 or more than `MAX_RANK`, a zero dimension, or more bytes
	/// than its bound (`MAX_TENSOR_BYTES` for activations, `MAX_WEIGHT_BYTES` for
	/// weights and node inputs).
	BadTensor,
	/// Node `node` has the wrong number of inputs for its op.
	Arity {
		/// 1-based node index.
		node: usize,
	},
	/// Node `node`'s input refers to a slot that is not earlier in the graph, or to a
	/// weight that does not exist.
	BadSource {
		/// 1-based node index.
		node: usize,
	},
	/// An input's declared type differs from its source's type.
	TypeMismatch {
		/// 1-based node index.
		node: usize,
	},
	/// Shapes, element types or parameters that the op does not accept.
	Shape {
		/// 1-based node index (0 when checking a lone node).
		node: usize,
		/// The op's name.
		op: &'static str,
	},
	/// A weight's byte length does not match its type.
	WeightLength {
		/// Weight index.
		weight: usize,
	},
	/// Tensor data given to an execution has the wrong type or length.
	DataMismatch,
}

impl NnError {
	/// The same error attributed to node `node` (1-based).
	pub fn at(self, node: usize) -> Self {
		match self {
			NnError::Shape { op, .. } => NnError::Shape { node, op },
			NnError::Arity { .. } => NnError::Arity { node },
			NnError::BadSource { .. } => NnError::BadSource { node },
			NnError::TypeMismatch { .. } => NnError::TypeMismatch { node },
			e => e,
		}
	}
}

impl core::fmt::Display for NnError {
	fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
		match self {
			NnError::BadMagic => write!(f, "not an OPML model file (bad magic or version)"),
			NnError::Decode => write!(f, "malformed model or descriptor encoding"),
			NnError::TooLarge => write!(f, "model or descriptor exceeds its size bound"),
			NnError::GraphSize => write!(f, "graph has no nodes or too many nodes/weights"),
			NnError::BadTensor => write!(
				f,
				"tensor has a bad rank, a zero dimension or too many bytes"
			),
			NnError::Arity { node } => write!(f, "node {node}: wrong number of inputs"),
			NnError::BadSource { node } => {
				write!(
					f,
					"node {node}: input refers to a later slot or a missing weight"
				)
			}
			NnError::TypeMismatch { node } => {
				write!(f, "node {node}: input type differs from its source's type")
			}
			NnError::Shape { node, op } => {
				write!(
					f,
					"node {node} ({op}): shapes, types or parameters not accepted"
				)
			}
			NnError::WeightLength { weight } => {
				write!(f, "weight {weight}: byte length does not match its type")
			}
			NnError::DataMismatch => write!(f, "tensor data has the wrong type or length"),
		}
	}
}

#[cfg(feature = "std")]
impl std::error::Error for NnError {}
