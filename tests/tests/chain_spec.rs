//! The committed chain specs (`chain-spec/*.json`) match what the node generates from
//! the runtime's presets. The WASM `code` is left out of the comparison: it embeds
//! build paths, so it differs between checkouts while the genesis does not.
//! Regenerate with `chain-spec/generate.sh`.

use opml_tests::run_node;
use serde_json::Value;

/// Remove the runtime code from a plain or raw spec.
fn strip_code(mut v: Value) -> Value {
	if let Some(g) = v
		.pointer_mut("/genesis/runtimeGenesis")
		.and_then(Value::as_object_mut)
	{
		g.remove("code");
	}
	if let Some(top) = v
		.pointer_mut("/genesis/raw/top")
		.and_then(Value::as_object_mut)
	{
		// `:code`
		top.remove("0x3a636f6465");
	}
	v
}

fn check(chain: &str, raw: bool) {
	let file = format!(
		"{}/../chain-spec/{chain}{}.json",
		std::env::var("CARGO_MANIFEST_DIR")
			.expect("cargo sets CARGO_MANIFEST_DIR")
			.as_str(),
		if raw { "-raw" } else { "" }
	);
	let committed: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
	let mut args = vec!["export-chain-spec", "--chain", chain];
	if raw {
		args.push("--raw");
	}
	let (code, out, err) = run_node(&args).unwrap();
	assert_eq!(code, 0, "{err}");
	let generated: Value = serde_json::from_str(&out).unwrap();
	assert!(
		strip_code(committed) == strip_code(generated),
		"{file} is stale: run chain-spec/generate.sh and commit the result"
	);
}

#[test]
fn committed_specs_match_the_runtime_presets() {
	for chain in ["dev", "local"] {
		check(chain, false);
		check(chain, true);
	}
}
