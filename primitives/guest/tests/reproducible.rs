//! The checked-in guest ELF is exactly what `build.sh` builds from this source (so the
//! program root registered with models can be re-derived by anyone).

use std::process::Command;

#[test]
fn checked_in_elf_is_reproducible() {
	let here = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
	let out = std::env::temp_dir().join(format!("opml-guest-{}.elf", std::process::id()));
	let status = Command::new("bash")
		.arg(format!("{here}/build.sh"))
		.arg(&out)
		.status()
		.expect("run build.sh");
	assert!(
		status.success(),
		"build.sh failed (is the riscv32im-unknown-none-elf target installed?)"
	);
	let built = std::fs::read(&out).expect("built ELF");
	let _ = std::fs::remove_file(&out);
	let checked_in = std::fs::read(format!("{here}/elf/opml-guest.elf")).expect("checked-in ELF");
	assert!(
		built == checked_in,
		"elf/opml-guest.elf differs from a fresh build ({} vs {} bytes): run primitives/guest/build.sh and commit the result",
		checked_in.len(),
		built.len()
	);
}
