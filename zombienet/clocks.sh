#!/usr/bin/env bash
# zombienet DSL step (M3): the game clocks follow finality. Arguments: the node's RPC
# URL (HTTP) and what to wait for:
#   paused   finality lags (`Submissions.FinalityPaused`), and while it does the clock
#            (`Submissions.Ticks`) stands still over 3 more blocks;
#   running  finality is back and the clock runs again (2 more ticks).
set -euo pipefail
url=$1 want=$2
# storage keys: twox128("Submissions") ++ twox128(item) (@polkadot/util-crypto's
# xxhashAsHex; zombienet runs a copy of this script away from node_modules)
paused_key=0x47aabc8065823acc682503190fa1fbd73401d1e0a749281450a864204e040d39
ticks_key=0x47aabc8065823acc682503190fa1fbd789b920abebaa097abfcf7f26dc796072
rpc() {
	curl -sf -H 'Content-Type: application/json' \
		-d "{\"id\":1,\"jsonrpc\":\"2.0\",\"method\":\"$1\",\"params\":$2}" "$url"
}
# the best block's number, FinalityPaused (0/1) and Ticks (u32, little endian)
read_state() {
	local head number paused ticks
	head=$(rpc chain_getHeader '[]')
	number=$(echo "$head" | python3 -c 'import json,sys; print(int(json.load(sys.stdin)["result"]["number"], 16))')
	paused=$(rpc state_getStorage "[\"$paused_key\"]" | python3 -c 'import json,sys; r=json.load(sys.stdin)["result"]; print(1 if r == "0x01" else 0)')
	ticks=$(rpc state_getStorage "[\"$ticks_key\"]" | python3 -c 'import json,sys; r=json.load(sys.stdin)["result"] or "0x00000000"; print(int.from_bytes(bytes.fromhex(r[2:]), "little"))')
	echo "$number $paused $ticks"
}
case $want in
paused)
	while read -r number paused ticks < <(read_state); ((paused == 0)); do sleep 1; done
	echo "clocks paused at #$number (ticks $ticks)"
	start=$number
	while read -r number paused ticks2 < <(read_state); ((number < start + 3)); do
		((paused == 1)) || { echo "finality came back at #$number" >&2; exit 1; }
		sleep 1
	done
	((ticks2 == ticks)) || { echo "the clock ran while finality lagged: $ticks -> $ticks2" >&2; exit 1; }
	echo "#$start -> #$number: the clock stood at $ticks"
	;;
running)
	while read -r number paused ticks < <(read_state); ((paused == 1)); do sleep 1; done
	echo "clocks resumed at #$number (ticks $ticks)"
	while read -r number paused ticks2 < <(read_state); ((ticks2 < ticks + 2)); do sleep 1; done
	echo "#$number: the clock runs again ($ticks -> $ticks2)"
	;;
*)
	echo "usage: clocks.sh URL paused|running" >&2
	exit 2
	;;
esac
