//! Builds the runtime's WASM blob (native `std` builds only).

#[cfg(all(feature = "std", feature = "metadata-hash"))]
fn main() {
	substrate_wasm_builder::WasmBuilder::init_with_defaults()
		.enable_metadata_hash("OPML", 12)
		.build();
}

#[cfg(all(feature = "std", not(feature = "metadata-hash")))]
fn main() {
	substrate_wasm_builder::WasmBuilder::build_using_defaults();
}

/// The WASM builder is not needed when this crate itself is compiled to WASM.
#[cfg(not(feature = "std"))]
fn main() {}
