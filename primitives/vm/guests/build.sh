#!/usr/bin/env bash
# Rebuild the checked-in test ELFs of the OPML VM (primitives/vm/tests/elf/).
# Needs the rustup target riscv32im-unknown-none-elf (.ci/run installs it).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out="$here/../tests/elf"
mkdir -p "$out"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/opml-target}/vm-guests"
# Profile settings by environment (the workspace's release profile keeps unwinding
# and symbols; guests want neither).
export CARGO_PROFILE_RELEASE_OPT_LEVEL=3 CARGO_PROFILE_RELEASE_PANIC=abort \
	CARGO_PROFILE_RELEASE_STRIP=true CARGO_PROFILE_RELEASE_LTO=true \
	CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 CARGO_PROFILE_RELEASE_DEBUG=false
RUSTFLAGS="-C link-arg=-Ttext=0x10000 -C relocation-model=static" \
	cargo build --release --manifest-path "$here/Cargo.toml" --target riscv32im-unknown-none-elf --bins --features guest
for b in matmul sort; do
	cp "$CARGO_TARGET_DIR/riscv32im-unknown-none-elf/release/$b" "$out/$b.elf"
done
ls -l "$out"
