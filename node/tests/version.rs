//! The binary starts and answers `--version` and `--help`. (Its presence also makes
//! `cargo test --workspace` build the `opml-node` binary the end-to-end tests start.)

use std::process::Command;

#[test]
fn version_and_help() {
	let bin = env!("CARGO_BIN_EXE_opml-node");
	let out = Command::new(bin).arg("--version").output().unwrap();
	assert!(out.status.success());
	assert!(String::from_utf8_lossy(&out.stdout).starts_with("opml-node"));
	let out = Command::new(bin).arg("--help").output().unwrap();
	assert!(out.status.success());
	assert!(String::from_utf8_lossy(&out.stdout).contains("--dev-block-time"));
}
