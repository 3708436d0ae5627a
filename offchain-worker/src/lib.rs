//! # opml-worker
//!
//! The daemon providers, verifiers and requesters run next to a node (DESIGN.md §8).
//! This library holds its parts; `main.rs` is the command line.
//!
//! - [`gpu`]: the wgpu backend of the DNN library — WGSL compute shaders for the int8
//!   kernels, bit-identical to the CPU backend.
//! - [`chain`]: the chain client (static API from `metadata.scale`, signer, submission).
//! - [`compute`]: backend choice (`--backend gpu|cpu|auto`).
//! - [`provider`]: the provider daemon; [`store`]: its persistent state; [`seeds`]:
//!   its round-seed commitments and reveals.
//! - [`requester`]: register models, submit and watch tasks; [`models`]: the daemon's
//!   own file store; [`distribution`]: fetching files from the stores announced on
//!   chain and uploading to them; [`serve`]: serving a store (`--serve-files`).
//! - [`verifier`]: the verifier daemon; [`game`]: playing dispute games.
//! - [`payloads`]: chunked reveals and published outputs read from block bodies.
//! - [`training`]: federated-learning jobs (`opml-worker train`).
//! - [`metrics`]: Prometheus metrics.
//! - [`faults`]: fault injection for tests and drills.
//! - [`tools`]: trying a model before paying (`opml-worker model import|inspect|run`).

pub mod chain;
pub mod compute;
pub mod distribution;
pub mod faults;
pub mod game;
pub mod gpu;
pub mod metrics;
pub mod models;
pub mod payloads;
pub mod provider;
pub mod requester;
pub mod seeds;
pub mod serve;
pub mod store;
pub mod tools;
pub mod training;
pub mod verifier;
