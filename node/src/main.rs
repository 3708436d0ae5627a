//! `opml-node`: the OPML appchain node.
//!
//! A validator or full node with Aura block production and GRANDPA finality,
//! ParityDB storage, JSON-RPC (system, author, chain, state, transaction
//! payment) and Prometheus metrics. Dev chains (`--dev`, `--chain dev`) are
//! sealed on a timer (`--dev-block-time`) and every sealed block is final.
#![warn(missing_docs)]
// `sc_cli::Error` is large and is the error type of every `sc_cli` runner closure; boxing
// it at each call site would only obscure the upstream API.
#![allow(clippy::result_large_err)]

mod chain_spec;
mod cli;
mod command;
mod finality;
mod rpc;
mod service;

fn main() -> sc_cli::Result<()> {
	command::run()
}
