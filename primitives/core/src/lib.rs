//! # opml-primitives-core
//!
//! The commitment primitives of the OPML appchain (DESIGN.md §3), shared by the
//! runtime and by off-chain code so that both compute the same bytes:
//!
//! - [`hash`]: BLAKE2b-256 with a distinct domain tag per record kind;
//! - [`merkle`]: a fixed-depth binary Merkle tree (BMT) over raw 32-byte leaves with
//!   precomputed zero subtrees, inclusion/subtree proofs, multi-leaf update proofs and
//!   root extension;
//! - [`commitment`]: the result commitment of commit-reveal (of the result root `G_N`,
//!   whole or chunked reveals alike);
//! - [`seed`]: the commit-reveal round seeds of the market's seat draws.
//!
//! `no_std` by default in the runtime (`default-features = false`); `std` adds
//! nothing but the standard library's allocator and error traits.
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

pub mod bond;
pub mod commitment;
pub mod hash;
pub mod merkle;
pub mod seed;

pub use hash::{hash_pair, hash_tagged, Hash, Tag, ZERO_HASH};
