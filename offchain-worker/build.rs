//! The static chain API (`chain::api`) is generated from `metadata.scale` by a proc
//! macro, which cargo does not track: rebuild when the file changes.
fn main() {
	println!("cargo:rerun-if-changed=metadata.scale");
}
