//! `opml-vm`: run RV32IM ELF programs, produce and check step witnesses.
//!
//! ```text
//! opml-vm run <elf> [--max-steps N] [--json]
//! opml-vm witness <elf> <step> [--checkpoint-interval N] [--out FILE] [--json]
//! opml-vm verify <witness-file> [--expect-pre HASH] [--expect-post HASH] [--json]
//! ```
//! Witness files hold the SCALE encoding as hex. Exit code 0 on success, 1 on any
//! error (with a message), 2 when `verify` finds a mismatch.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use codec::Encode;
use opml_vm::{
	elf,
	fast::Trace,
	state::{ExitStatus, VmState},
	witness::{verify_step, StepWitness},
};
use serde_json::json;
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "opml-vm", version, about = "OPML fault-proof VM (RV32IM)")]
struct Cli {
	#[command(subcommand)]
	cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
	/// Run a program to its end; print steps, exit status and final state hash.
	Run {
		/// RV32IM ELF executable.
		elf: PathBuf,
		/// Stop after this many steps.
		#[arg(long, default_value_t = 10_000_000_000)]
		max_steps: u64,
		/// Machine-readable output.
		#[arg(long)]
		json: bool,
	},
	/// Print the witness of the step from `step` to `step + 1`.
	Witness {
		/// RV32IM ELF executable.
		elf: PathBuf,
		/// The step whose transition to witness.
		step: u64,
		/// Checkpoint spacing while running up to `step`.
		#[arg(long, default_value_t = 10_000_000)]
		checkpoint_interval: u64,
		/// Write the witness (hex) to this file instead of standard output.
		#[arg(long)]
		out: Option<PathBuf>,
		/// Machine-readable output.
		#[arg(long)]
		json: bool,
	},
	/// Verify a witness file; print the pre- and post-state hashes.
	Verify {
		/// File with the hex-encoded witness.
		witness: PathBuf,
		/// Require this pre-state hash (hex).
		#[arg(long)]
		expect_pre: Option<String>,
		/// Require this post-state hash (hex).
		#[arg(long)]
		expect_post: Option<String>,
		/// Machine-readable output.
		#[arg(long)]
		json: bool,
	},
}

fn hex(b: &[u8]) -> String {
	b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Result<Vec<u8>> {
	let s = s.trim().trim_start_matches("0x");
	if !s.len().is_multiple_of(2) {
		bail!("odd number of hex digits");
	}
	(0..s.len())
		.step_by(2)
		.map(|i| u8::from_str_radix(&s[i..i + 2], 16).context("invalid hex digit"))
		.collect()
}

fn exit_json(e: &ExitStatus) -> serde_json::Value {
	match e {
		ExitStatus::Running => json!({"status": "running"}),
		ExitStatus::Exited(c) => json!({"status": "exited", "code": c}),
		ExitStatus::Faulted(f) => json!({"status": "faulted", "fault": format!("{f:?}")}),
	}
}

fn state_json(s: &VmState) -> serde_json::Value {
	json!({
		"pc": s.pc, "step": s.step, "regs": s.regs.to_vec(),
		"mem_root": hex(&s.mem_root), "exit": exit_json(&s.exit), "hash": hex(&s.hash()),
	})
}

fn load(path: &PathBuf) -> Result<elf::Program> {
	let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
	elf::parse(&bytes)
		.map_err(|e| anyhow::anyhow!("{}: not a loadable RV32 ELF: {e}", path.display()))
}

fn main() {
	match real_main() {
		Ok(code) => std::process::exit(code),
		Err(e) => {
			eprintln!("error: {e:#}");
			std::process::exit(1);
		}
	}
}

fn real_main() -> Result<i32> {
	match Cli::parse().cmd {
		Cmd::Run {
			elf,
			max_steps,
			json,
		} => {
			let mut vm = load(&elf)?.load();
			let t0 = std::time::Instant::now();
			vm.run_until(max_steps);
			let secs = t0.elapsed().as_secs_f64();
			let s = vm.state();
			if json {
				println!(
					"{}",
					json!({"steps": s.step, "seconds": secs, "final": state_json(&s)})
				);
			} else {
				println!("steps:      {}", s.step);
				println!("exit:       {:?}", s.exit);
				println!("state hash: 0x{}", hex(&s.hash()));
				println!(
					"speed:      {:.1} M steps/s",
					s.step as f64 / secs.max(1e-9) / 1e6
				);
			}
		}
		Cmd::Witness {
			elf,
			step,
			checkpoint_interval,
			out,
			json,
		} => {
			let vm = load(&elf)?.load();
			let trace = Trace::record(vm, checkpoint_interval, step.saturating_add(1));
			let w = trace.witness_at(step);
			let enc = w.encode();
			let post = verify_step(&w)
				.map_err(|e| anyhow::anyhow!("internal: own witness rejected: {e}"))?;
			if let Some(path) = &out {
				std::fs::write(path, hex(&enc))
					.with_context(|| format!("writing {}", path.display()))?;
			}
			if json {
				println!(
					"{}",
					json!({"step": step, "bytes": enc.len(), "proofs": w.proofs.len(),
						"pre": state_json(&w.pre), "post": state_json(&post),
						"witness": if out.is_none() { Some(hex(&enc)) } else { None }})
				);
			} else {
				if out.is_none() {
					println!("{}", hex(&enc));
				}
				eprintln!(
					"witness of step {step}: {} bytes, {} memory proofs",
					enc.len(),
					w.proofs.len()
				);
			}
		}
		Cmd::Verify {
			witness,
			expect_pre,
			expect_post,
			json,
		} => {
			let text = std::fs::read_to_string(&witness)
				.with_context(|| format!("reading {}", witness.display()))?;
			let bytes = unhex(&text).context("witness file is not hex")?;
			let w = StepWitness::decode_bounded(&bytes)
				.map_err(|e| anyhow::anyhow!("malformed witness: {e}"))?;
			let post = verify_step(&w).map_err(|e| anyhow::anyhow!("invalid witness: {e}"))?;
			let mut ok = true;
			if let Some(p) = expect_pre {
				ok &= unhex(&p)? == w.pre.hash();
			}
			if let Some(p) = expect_post {
				ok &= unhex(&p)? == post.hash();
			}
			if json {
				println!(
					"{}",
					json!({"valid": ok, "pre": state_json(&w.pre), "post": state_json(&post)})
				);
			} else {
				println!("pre:  0x{}", hex(&w.pre.hash()));
				println!("post: 0x{}", hex(&post.hash()));
				println!("{}", if ok { "valid" } else { "MISMATCH" });
			}
			return Ok(if ok { 0 } else { 2 });
		}
	}
	Ok(0)
}
