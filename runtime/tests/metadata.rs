//! The worker's static chain API is generated from `offchain-worker/metadata.scale`;
//! this test fails when that file drifts from the runtime. Regenerate with
//! `OPML_REGENERATE=1 cargo test --workspace --test metadata`.

#[test]
fn the_workers_metadata_matches_the_runtime() {
	let meta =
		opml_runtime::Runtime::metadata_at_version(16).expect("metadata v16 (view functions)");
	let bytes: &[u8] = &meta;
	let path = format!(
		"{}/../offchain-worker/metadata.scale",
		std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR")
	);
	if std::env::var_os("OPML_REGENERATE").is_some() {
		std::fs::write(&path, bytes).unwrap();
	}
	let stored = std::fs::read(&path).expect("offchain-worker/metadata.scale present");
	assert!(
		stored == bytes,
		"offchain-worker/metadata.scale is stale: rerun with OPML_REGENERATE=1 \
		 (`cargo test --workspace --test metadata`) and rebuild the worker"
	);
}
