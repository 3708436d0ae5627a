#!/usr/bin/env bash
# zombienet DSL step: a requester registers the digits MLP and submits a handwritten 3;
# succeeds when the provider daemon's result is final and its output (read from chain)
# classifies the image as a 3. Argument: the RPC URL of a validator.
# Needs OPML_REPO (the repository) and opml-worker on PATH (../scripts/zombienet sets both).
set -euo pipefail
url=$1
# the requester's own store: the model and input are uploaded to the daemons' stores
export OPML_URL="$url" OPML_FILES="$PWD/../requester-files"
opml-worker register-model "$OPML_REPO/primitives/nn/fixtures/digits_mlp.onnx" \
	--calibration "$OPML_REPO/examples/digits/calibration.f32" --name digits-mlp --suri //Alice
out=$(opml-worker submit --suri //Alice --model 0 --input "$OPML_REPO/examples/digits/digit_3.f32" \
	--input-format f32 --deadline 20 --watch --json --timeout 380)
echo "$out" | tail -3
echo "$out" | python3 -c '
import json, sys
last = [json.loads(l) for l in sys.stdin if l.strip().startswith("{")][-1]
argmax = last["output"]["argmax"]
assert argmax == 3, f"argmax {argmax}, expected 3: {last}"
print("final result, argmax", argmax)
'
