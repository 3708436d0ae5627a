#!/usr/bin/env bash
# zombienet DSL step: succeeds once the node's finalized head has advanced by N blocks.
# Arguments: the node's RPC URL (HTTP), N.
set -euo pipefail
url=$1 n=$2
finalized() {
	local hash
	hash=$(curl -sf -H 'Content-Type: application/json' \
		-d '{"id":1,"jsonrpc":"2.0","method":"chain_getFinalizedHead","params":[]}' "$url" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["result"])')
	curl -sf -H 'Content-Type: application/json' \
		-d "{\"id\":1,\"jsonrpc\":\"2.0\",\"method\":\"chain_getHeader\",\"params\":[\"$hash\"]}" "$url" |
		python3 -c 'import json,sys; print(int(json.load(sys.stdin)["result"]["number"], 16))'
}
start=$(finalized)
while :; do
	now=$(finalized)
	if ((now >= start + n)); then
		echo "finalized #$start -> #$now"
		exit 0
	fi
	sleep 1
done
