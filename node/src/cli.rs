//! Command-line interface.

use sc_cli::RunCmd;

/// Default block interval of a dev chain, in milliseconds.
pub const DEFAULT_DEV_BLOCK_TIME_MS: u64 = 1000;

/// The `opml-node` command line.
#[derive(Debug, clap::Parser)]
pub struct Cli {
	/// A subcommand; without one the node runs.
	#[command(subcommand)]
	pub subcommand: Option<Subcommand>,

	/// Options of a running node.
	#[clap(flatten)]
	pub run: RunCmd,

	/// Block interval of a dev chain (`--dev` or `--chain dev`), in milliseconds.
	///
	/// A dev chain has one authority and no GRANDPA voters: the node seals a block
	/// every interval (empty or not) and finalizes it at once. Ignored on other chains,
	/// whose block time is the runtime's Aura slot (2 s).
	#[arg(long, value_name = "MILLISECONDS", default_value_t = DEFAULT_DEV_BLOCK_TIME_MS,
		value_parser = clap::value_parser!(u64).range(10..=60_000))]
	pub dev_block_time: u64,
}

/// Subcommands of `opml-node`.
#[derive(Debug, clap::Subcommand)]
#[allow(clippy::large_enum_variant)]
pub enum Subcommand {
	/// Key management CLI utilities.
	#[command(subcommand)]
	Key(sc_cli::KeySubcommand),

	/// Build a chain specification (deprecated upstream in favour of
	/// `export-chain-spec`, kept for operators' scripts).
	BuildSpec(sc_cli::BuildSpecCmd),

	/// Export a chain specification.
	ExportChainSpec(sc_cli::ExportChainSpecCmd),

	/// Validate blocks.
	CheckBlock(sc_cli::CheckBlockCmd),

	/// Export blocks.
	ExportBlocks(sc_cli::ExportBlocksCmd),

	/// Export the state of a given block into a chain spec.
	ExportState(sc_cli::ExportStateCmd),

	/// Import blocks.
	ImportBlocks(sc_cli::ImportBlocksCmd),

	/// Remove the whole chain.
	PurgeChain(sc_cli::PurgeChainCmd),

	/// Revert the chain to a previous state.
	Revert(sc_cli::RevertCmd),

	/// Database meta columns information.
	ChainInfo(sc_cli::ChainInfoCmd),
}
