#!/usr/bin/env bash
# Build the OPML guest for the VM (riscv32im-unknown-none-elf) and check it in as
# elf/opml-guest.elf. Reproducible: fixed profile, no symbols, paths remapped; the
# test `guest_elf_is_reproducible` (primitives/nn/tests/guest.rs) rebuilds it and
# compares bytes.
# Usage: build.sh [output path]   (default: elf/opml-guest.elf beside this script)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out="${1:-$here/elf/opml-guest.elf}"
rustup target add riscv32im-unknown-none-elf >/dev/null 2>&1 || true
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/opml-target}/opml-guest"
export CARGO_PROFILE_RELEASE_OPT_LEVEL=3 CARGO_PROFILE_RELEASE_PANIC=abort \
	CARGO_PROFILE_RELEASE_STRIP=true CARGO_PROFILE_RELEASE_LTO=true \
	CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 CARGO_PROFILE_RELEASE_DEBUG=false \
	CARGO_PROFILE_RELEASE_INCREMENTAL=false CARGO_PROFILE_RELEASE_OVERFLOW_CHECKS=false
cargo_home="${CARGO_HOME:-$HOME/.cargo}"
export RUSTFLAGS="-C link-arg=-Ttext=0x10000 -C relocation-model=static --remap-path-prefix=$root=/opml --remap-path-prefix=$cargo_home=/cargo"
cargo build -q --release --locked --manifest-path "$root/Cargo.toml" -p opml-guest \
	--target riscv32im-unknown-none-elf --bin opml-guest --features guest
mkdir -p "$(dirname "$out")"
cp "$CARGO_TARGET_DIR/riscv32im-unknown-none-elf/release/opml-guest" "$out"
