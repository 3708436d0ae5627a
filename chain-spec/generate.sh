#!/usr/bin/env bash
# Regenerate the committed chain specs from the runtime's genesis presets.
# Run after any change to the runtime's presets or pallets' genesis configs; the test
# `tests/tests/chain_spec.rs` fails while they are stale.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/opml-target}"
# Same build as the tests (`cargo test` features), so one set of artifacts serves both.
cargo test --workspace --no-run
node="$CARGO_TARGET_DIR/debug/opml-node"
for chain in dev local; do
	"$node" export-chain-spec --chain "$chain" --output "chain-spec/$chain.json" >/dev/null
	"$node" export-chain-spec --chain "$chain" --raw --output "chain-spec/$chain-raw.json" >/dev/null
done
ls -l chain-spec/*.json
