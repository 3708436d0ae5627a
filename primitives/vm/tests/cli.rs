//! The `opml-vm` command line: run, witness, verify; JSON output; bad input.

use std::process::Command;

fn vm(args: &[&str]) -> (i32, String, String) {
	let out = Command::new(env!("CARGO_BIN_EXE_opml-vm"))
		.args(args)
		.output()
		.unwrap();
	(
		out.status.code().unwrap_or(-1),
		String::from_utf8_lossy(&out.stdout).into_owned(),
		String::from_utf8_lossy(&out.stderr).into_owned(),
	)
}

fn elf(name: &str) -> String {
	format!(
		"{}/tests/elf/{name}.elf",
		std::env::var("CARGO_MANIFEST_DIR")
			.expect("cargo sets CARGO_MANIFEST_DIR")
			.as_str()
	)
}

#[test]
fn run_witness_verify_round_trip() {
	let (code, out, err) = vm(&["run", &elf("sort"), "--json"]);
	assert_eq!(code, 0, "{err}");
	let run: serde_json::Value = serde_json::from_str(&out).unwrap();
	assert_eq!(run["final"]["exit"]["status"], "exited");
	let steps = run["steps"].as_u64().unwrap();
	assert!(steps > 1000);

	let dir = std::env::temp_dir().join(format!("opml-vm-cli-{}", std::process::id()));
	std::fs::create_dir_all(&dir).unwrap();
	let wfile = dir.join("w.hex");
	let (code, out, err) = vm(&[
		"witness",
		&elf("sort"),
		"500",
		"--out",
		wfile.to_str().unwrap(),
		"--json",
	]);
	assert_eq!(code, 0, "{err}");
	let w: serde_json::Value = serde_json::from_str(&out).unwrap();
	assert_eq!(w["pre"]["step"], 500);
	let post = w["post"]["hash"].as_str().unwrap().to_string();

	let (code, out, err) = vm(&[
		"verify",
		wfile.to_str().unwrap(),
		"--expect-post",
		&post,
		"--json",
	]);
	assert_eq!(code, 0, "{err}");
	let v: serde_json::Value = serde_json::from_str(&out).unwrap();
	assert_eq!(v["valid"], true);

	// A wrong expected post-state: exit code 2.
	let (code, _, _) = vm(&[
		"verify",
		wfile.to_str().unwrap(),
		"--expect-post",
		&"00".repeat(32),
	]);
	assert_eq!(code, 2);

	// A corrupted witness file: exit code 1 and a message, no panic.
	let mut hex = std::fs::read_to_string(&wfile).unwrap();
	hex.truncate(hex.len() - 10);
	std::fs::write(&wfile, hex).unwrap();
	let (code, _, err) = vm(&["verify", wfile.to_str().unwrap()]);
	assert_eq!(code, 1);
	assert!(err.contains("malformed witness"), "{err}");
	assert!(!err.contains("panicked"));
	let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn foreign_or_missing_files_are_clear_errors() {
	let (code, _, err) = vm(&[
		"run",
		std::env::var("CARGO_MANIFEST_DIR")
			.expect("cargo sets CARGO_MANIFEST_DIR")
			.as_str(),
	]);
	assert_eq!(code, 1);
	assert!(err.starts_with("error:"), "{err}");
	let (code, _, err) = vm(&[
		"run",
		&format!(
			"{}/Cargo.toml",
			std::env::var("CARGO_MANIFEST_DIR")
				.expect("cargo sets CARGO_MANIFEST_DIR")
				.as_str()
		),
	]);
	assert_eq!(code, 1);
	assert!(err.contains("BadMagic"), "{err}");
}
