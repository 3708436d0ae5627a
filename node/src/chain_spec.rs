//! Chain specifications built from the runtime's genesis presets.

use opml_runtime::WASM_BINARY;
use sc_service::{ChainType, Properties};

/// The chain-spec type of this node (generic over the runtime's genesis config).
pub type ChainSpec = sc_service::GenericChainSpec;

fn wasm() -> Result<&'static [u8], String> {
	WASM_BINARY.ok_or_else(|| {
		"the runtime WASM blob is not available: this node was built with SKIP_WASM_BUILD; \
		 rebuild it without that variable, or pass a chain-spec file with --chain"
			.to_string()
	})
}

fn properties() -> Properties {
	let mut p = Properties::new();
	p.insert("tokenSymbol".into(), "OPML".into());
	p.insert("tokenDecimals".into(), 12.into());
	p.insert("ss58Format".into(), 42.into());
	p
}

/// The single-validator development chain (`--dev`, `--chain dev`).
pub fn development_chain_spec() -> Result<ChainSpec, String> {
	Ok(ChainSpec::builder(wasm()?, None)
		.with_name("OPML Development")
		.with_id("opml_dev")
		.with_chain_type(ChainType::Development)
		.with_properties(properties())
		.with_genesis_config_preset_name(sp_genesis_builder::DEV_RUNTIME_PRESET)
		.build())
}

/// The three-validator local testnet (`--chain local`: Alice, Bob, Charlie).
pub fn local_chain_spec() -> Result<ChainSpec, String> {
	Ok(ChainSpec::builder(wasm()?, None)
		.with_name("OPML Local Testnet")
		.with_id("opml_local_testnet")
		.with_chain_type(ChainType::Local)
		.with_properties(properties())
		.with_genesis_config_preset_name(sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET)
		.build())
}

/// Load a chain spec by name (`dev`, `local`) or from a JSON file.
pub fn load(id: &str) -> Result<Box<dyn sc_service::ChainSpec>, String> {
	Ok(match id {
		"dev" => Box::new(development_chain_spec()?),
		"" | "local" => Box::new(local_chain_spec()?),
		path => {
			let path = std::path::PathBuf::from(path);
			if !path.is_file() {
				return Err(format!(
					"unknown chain `{id}`: expected `dev`, `local` or the path of a chain-spec JSON file"
				));
			}
			let spec = ChainSpec::from_json_file(path.clone())
				.map_err(|e| format!("invalid chain-spec file {}: {e}", path.display()))?;
			Box::new(spec)
		}
	})
}
