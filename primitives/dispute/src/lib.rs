//! # opml-dispute
//!
//! The rules of OPML's two-phase dispute game (DESIGN.md §6), written once for the
//! runtime (`no_std`) and the worker:
//!
//! - [`rules`]: where a k-ary dissection puts its points ([`rules::split`]), the agreed
//!   start `G_0` ([`rules::graph_state_0`]), the **handoff** from the graph game to
//!   the VM game of one node ([`rules::verify_handoff`]: node descriptor, input and
//!   weight roots, output root and the defender's final VM state, each proved against
//!   agreed commitments, and the node's initial VM state computed from them), and the
//!   **one-step** decision ([`rules::one_step`]).
//! - [`party`] (`std`): the off-chain side — a party that holds an execution (honest
//!   or with an injected fault) and answers every query of the game: state hashes at
//!   dissection points, which sub-interval to dispute, the handoff, the step witness.
#![cfg_attr(not(feature = "std"), no_std)]
#![warn(missing_docs)]

extern crate alloc;

#[cfg(feature = "std")]
pub mod party;
pub mod rules;

pub use rules::*;
