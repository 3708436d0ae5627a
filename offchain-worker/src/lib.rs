//! # opml-worker
//!
//! The daemon providers, verifiers and requesters run next to a node (DESIGN.md §8).
//! This library holds its parts; `main.rs` is the command line.
//!
//! - [`gpu`]: the wgpu backend of the DNN library — WGSL compute shaders for the int8
//!   kernels, bit-identical to the CPU backend.

pub mod gpu;
