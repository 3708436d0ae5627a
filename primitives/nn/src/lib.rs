//! # opml-nn
//!
//! OPML's deterministic fixed-point DNN library (DESIGN.md §3–§5).
//!
//! - [`types`]: the graph format (tensors, ops, nodes, graphs, models; SCALE-encoded).
//! - [`wire`]: a hand-written SCALE decoder of node descriptors for the VM guest (which
//!   cannot build parity-scale-codec), tested equal to the codec's.
//! - [`quant`]: the one requantization rule and the integer helpers.
//! - [`kernels`]: the `no_std` reference kernels — the definition of every op's bits,
//!   compiled natively and, in `primitives/guest`, for the VM.
//! - [`train`]: deterministic fixed-point training (Q16.16 dense layers, softmax
//!   cross-entropy gradient, SGD) and federated averaging as graph ops, so the same
//!   dispute game covers training rounds.
//! - [`check`]: validation of tensors, nodes, graphs and models (typed errors).
//! - [`exec`]: whole-graph execution yielding every graph state; the model file.
//! - [`commit`]: tensor roots, model commitment, graph states `G_0..G_N`.
//! - [`layout`]: the VM memory map for one node and the roots the chain computes.
//! - `std` extras: [`cpu`] (multithreaded backend, feature `cpu`), [`onnx`] (import
//!   with post-training quantization, feature `onnx`), [`vm`] (running nodes in the
//!   OPML VM, feature `vm`), [`zoo`] (reference architectures with random weights),
//!   [`fl`] (federated learning: a training round and federated averaging as graphs),
//!   [`bert`] (BERT sentence encoders such as all-MiniLM-L6-v2 from their safetensors
//!   weights, feature `onnx`).
//!
//! All committed values are integers: int8 activations and weights, i32 biases and
//! accumulators, symmetric quantization (zero point 0). Floats appear only off chain,
//! in import/calibration and in (de)quantizing user inputs and outputs.
#![cfg_attr(not(feature = "std"), no_std)]
#![warn(missing_docs)]

extern crate alloc;

pub mod check;
#[cfg(feature = "codec")]
pub mod commit;
pub mod cost;
pub mod error;
#[cfg(feature = "codec")]
pub mod exec;
pub mod kernels;
pub mod layout;
pub mod quant;
#[cfg(feature = "codec")]
pub mod registration;
#[cfg(feature = "std")]
pub mod split;
pub mod train;
pub mod types;
pub mod wire;

#[cfg(feature = "onnx")]
pub mod bert;
#[cfg(feature = "cpu")]
pub mod cpu;
#[cfg(feature = "std")]
pub mod fl;
#[cfg(feature = "onnx")]
pub mod onnx;
#[cfg(feature = "vm")]
pub mod vm;
#[cfg(feature = "std")]
pub mod zoo;

pub use error::NnError;
#[cfg(feature = "codec")]
pub use exec::{decode_model, encode_model, Backend, Execution, Prepared, Reference};
pub use types::*;
