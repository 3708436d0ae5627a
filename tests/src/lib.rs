//! Harness for end-to-end tests: start real `opml-node` processes on free loopback
//! ports, talk JSON-RPC to them, and stop them on drop (also when a test panics).
//!
//! The node binary is `$OPML_NODE_BIN` if set, else `opml-node` next to the test
//! executable's target directory (`cargo build -p opml-node` puts it there; the
//! README's test command builds it first).

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};
use std::{
	io::Read,
	net::TcpListener,
	path::{Path, PathBuf},
	process::{Child, Command, Stdio},
	time::{Duration, Instant},
};

/// Path of the `opml-node` binary under test.
pub fn node_binary() -> PathBuf {
	if let Some(p) = std::env::var_os("OPML_NODE_BIN") {
		return PathBuf::from(p);
	}
	// target/<profile>/deps/<test-exe> -> target/<profile>/opml-node
	let exe = std::env::current_exe().unwrap_or_default();
	let dir = exe
		.parent()
		.and_then(|d| d.parent())
		.map(PathBuf::from)
		.unwrap_or_default();
	dir.join("opml-node")
}

/// The path of `rel` in the repository (examples, fixtures).
pub fn repo_path(rel: &str) -> PathBuf {
	Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel)
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
	TcpListener::bind("127.0.0.1:0")
		.and_then(|l| l.local_addr())
		.map(|a| a.port())
		.unwrap_or(0)
}

/// Run `opml-node` with `args` to completion; returns (exit code, stdout, stderr).
pub fn run_node(args: &[&str]) -> Result<(i32, String, String)> {
	let out = Command::new(node_binary())
		.args(args)
		.output()
		.with_context(|| format!("running {}", node_binary().display()))?;
	Ok((
		out.status.code().unwrap_or(-1),
		String::from_utf8_lossy(&out.stdout).into_owned(),
		String::from_utf8_lossy(&out.stderr).into_owned(),
	))
}

/// A running node; killed (and reaped) on drop.
pub struct Node {
	child: Child,
	/// JSON-RPC port (HTTP and WebSocket).
	pub rpc_port: u16,
	/// libp2p port.
	pub p2p_port: u16,
	/// Prometheus port.
	pub prometheus_port: u16,
	log: tempfile::NamedTempFile,
	name: String,
}

impl Node {
	/// Start `opml-node` with `args` plus free RPC, p2p and Prometheus ports.
	pub fn start(name: &str, args: &[&str]) -> Result<Node> {
		let (rpc_port, p2p_port, prometheus_port) = (free_port(), free_port(), free_port());
		let log = tempfile::NamedTempFile::new()?;
		let child = Command::new(node_binary())
			.args(args)
			.args([
				"--rpc-port",
				&rpc_port.to_string(),
				"--port",
				&p2p_port.to_string(),
				"--prometheus-port",
				&prometheus_port.to_string(),
				"--no-telemetry",
				"--no-mdns",
				"--name",
				name,
			])
			.stdout(Stdio::null())
			.stderr(log.reopen()?)
			.spawn()
			.with_context(|| {
				format!(
					"starting {} (build it with `cargo build -p opml-node`)",
					node_binary().display()
				)
			})?;
		Ok(Node {
			child,
			rpc_port,
			p2p_port,
			prometheus_port,
			log,
			name: name.into(),
		})
	}

	/// WebSocket URL of the RPC server.
	pub fn ws_url(&self) -> String {
		format!("ws://127.0.0.1:{}", self.rpc_port)
	}

	/// The node's log so far.
	pub fn log(&self) -> String {
		let mut s = String::new();
		if let Ok(mut f) = self.log.reopen() {
			let _ = f.read_to_string(&mut s);
		}
		s
	}

	/// One JSON-RPC call over HTTP.
	pub fn rpc(&self, method: &str, params: Value) -> Result<Value> {
		let resp: Value = ureq::post(&format!("http://127.0.0.1:{}", self.rpc_port))
			.timeout(Duration::from_secs(10))
			.send_json(json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))?
			.into_json()?;
		if let Some(e) = resp.get("error") {
			bail!("{method}: {e}");
		}
		resp.get("result")
			.cloned()
			.ok_or_else(|| anyhow!("{method}: no result"))
	}

	/// Number of the latest finalized block.
	pub fn finalized_number(&self) -> Result<u64> {
		let hash = self.rpc("chain_getFinalizedHead", json!([]))?;
		let header = self.rpc("chain_getHeader", json!([hash]))?;
		let n = header["number"]
			.as_str()
			.ok_or_else(|| anyhow!("header without number"))?;
		Ok(u64::from_str_radix(n.trim_start_matches("0x"), 16)?)
	}

	/// Wait until block `n` is finalized; returns when it is.
	pub fn wait_finalized(&mut self, n: u64, timeout: Duration) -> Result<Instant> {
		let start = Instant::now();
		loop {
			if let Some(status) = self.child.try_wait()? {
				bail!(
					"{} exited early ({status}); log:\n{}",
					self.name,
					tail(&self.log(), 60)
				);
			}
			if let Ok(f) = self.finalized_number() {
				if f >= n {
					return Ok(Instant::now());
				}
			}
			if start.elapsed() > timeout {
				bail!(
					"{}: block #{n} not finalized within {timeout:?}; log:\n{}",
					self.name,
					tail(&self.log(), 60)
				);
			}
			std::thread::sleep(Duration::from_millis(100));
		}
	}

	/// Fail with the node's log if the process has exited.
	pub fn check_alive(&mut self) -> Result<()> {
		if let Some(status) = self.child.try_wait()? {
			bail!(
				"{} exited ({status}); log:\n{}",
				self.name,
				tail(&self.log(), 60)
			);
		}
		Ok(())
	}

	/// Number of connected peers (`system_health`).
	pub fn peers(&self) -> Result<u64> {
		Ok(self.rpc("system_health", json!([]))?["peers"]
			.as_u64()
			.unwrap_or(0))
	}

	/// The libp2p multiaddress of this node (from its log), for `--bootnodes`.
	pub fn multiaddr(&self, timeout: Duration) -> Result<String> {
		let start = Instant::now();
		loop {
			if let Some(id) = self.log().lines().find_map(|l| {
				l.split("Local node identity is: ")
					.nth(1)
					.map(|s| s.trim().to_string())
			}) {
				return Ok(format!("/ip4/127.0.0.1/tcp/{}/p2p/{id}", self.p2p_port));
			}
			if start.elapsed() > timeout {
				bail!("{}: no node identity in the log", self.name);
			}
			std::thread::sleep(Duration::from_millis(100));
		}
	}

	/// Fetch the Prometheus metrics text.
	pub fn metrics(&self) -> Result<String> {
		Ok(ureq::get(&format!(
			"http://127.0.0.1:{}/metrics",
			self.prometheus_port
		))
		.timeout(Duration::from_secs(10))
		.call()?
		.into_string()?)
	}
}

impl Drop for Node {
	fn drop(&mut self) {
		let _ = self.child.kill();
		let _ = self.child.wait();
	}
}

/// The last `n` lines of `s`.
pub fn tail(s: &str, n: usize) -> String {
	let lines: Vec<&str> = s.lines().collect();
	lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Path of the `opml-worker` binary under test (`$OPML_WORKER_BIN`, else next to
/// `opml-node`).
pub fn worker_binary() -> PathBuf {
	if let Some(p) = std::env::var_os("OPML_WORKER_BIN") {
		return PathBuf::from(p);
	}
	node_binary().with_file_name("opml-worker")
}

/// A running `opml-worker` daemon; killed on drop. Its log (stderr and stdout) goes
/// to a temporary file.
pub struct Worker {
	child: Child,
	log: tempfile::NamedTempFile,
	name: String,
	args: Vec<String>,
}

impl Worker {
	/// Start `opml-worker` with `args`.
	pub fn start(name: &str, args: &[&str]) -> Result<Worker> {
		let log = tempfile::NamedTempFile::new()?;
		let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
		let child = Self::spawn(&args, &log)?;
		Ok(Worker {
			child,
			log,
			name: name.into(),
			args,
		})
	}

	/// Start a daemon: `role` (`provider` or `verifier`) signing as `suri` on the node
	/// at `url`, on the CPU backend, its state in `state_dir/name` and its own file
	/// store in `state_dir/name-files`, served and announced on a free port (nothing
	/// is shared between daemons: each fetches what it needs), with `extra` arguments.
	pub fn daemon(
		name: &str,
		role: &str,
		url: &str,
		suri: &str,
		state_dir: &Path,
		extra: &[&str],
	) -> Result<Worker> {
		let state = state_dir.join(name);
		let files = Self::files_of(name, state_dir);
		let serve = format!("127.0.0.1:{}", free_port());
		let (files, state) = (files.to_string_lossy(), state.to_string_lossy());
		let mut args = vec![
			role,
			"--url",
			url,
			"--suri",
			suri,
			"--files",
			&*files,
			"--serve-files",
			&serve,
			"--state",
			&*state,
			"--backend",
			"cpu",
		];
		args.extend(extra);
		Self::start(name, &args)
	}

	/// The file store of the daemon `name` started with [`Self::daemon`].
	pub fn files_of(name: &str, state_dir: &Path) -> PathBuf {
		state_dir.join(format!("{name}-files"))
	}

	fn spawn(args: &[String], log: &tempfile::NamedTempFile) -> Result<Child> {
		let out = std::fs::OpenOptions::new().append(true).open(log.path())?;
		Command::new(worker_binary())
			.args(args)
			.env(
				"RUST_LOG",
				std::env::var("OPML_WORKER_LOG").unwrap_or_else(|_| "info".into()),
			)
			.stdout(Stdio::from(out.try_clone()?))
			.stderr(Stdio::from(out))
			.spawn()
			.with_context(|| format!("starting {}", worker_binary().display()))
	}

	/// Kill the process (SIGKILL: no chance to save anything) and start it again with
	/// the same arguments; the log continues after a marker line.
	pub fn kill_and_restart(&mut self) -> Result<()> {
		self.child.kill()?;
		self.child.wait()?;
		std::fs::OpenOptions::new()
			.append(true)
			.open(self.log.path())
			.and_then(|mut f| {
				use std::io::Write;
				writeln!(f, "=== killed and restarted by the test ===")
			})?;
		self.child = Self::spawn(&self.args, &self.log)?;
		Ok(())
	}

	/// The process's peak resident memory so far, KiB (`VmHWM` in
	/// `/proc/<pid>/status`; Linux only).
	pub fn peak_rss_kib(&self) -> Option<u64> {
		let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
		status
			.lines()
			.find_map(|l| l.strip_prefix("VmHWM:"))
			.and_then(|v| v.split_whitespace().next())
			.and_then(|v| v.parse().ok())
	}

	/// The log since the last restart.
	pub fn log_since_restart(&self) -> String {
		let log = self.log();
		match log.rfind("=== killed and restarted by the test ===") {
			Some(i) => log[i..].to_string(),
			None => log,
		}
	}

	/// The log so far.
	pub fn log(&self) -> String {
		let mut s = String::new();
		let _ = std::fs::File::open(self.log.path()).and_then(|mut f| f.read_to_string(&mut s));
		s
	}

	/// Where the log is written.
	pub fn log_path(&self) -> PathBuf {
		self.log.path().to_path_buf()
	}

	/// Wait until the log (since the last restart) contains `needle`.
	pub fn wait_for(&mut self, needle: &str, timeout: Duration) -> Result<()> {
		let start = Instant::now();
		while start.elapsed() < timeout {
			if self.log_since_restart().contains(needle) {
				return Ok(());
			}
			if let Some(status) = self.child.try_wait()? {
				bail!("worker {} exited ({status}):\n{}", self.name, self.log());
			}
			std::thread::sleep(Duration::from_millis(200));
		}
		Err(anyhow!(
			"worker {}: no {needle:?} within {timeout:?}:\n{}",
			self.name,
			self.log()
		))
	}
}

impl Drop for Worker {
	fn drop(&mut self) {
		let _ = self.child.kill();
		let _ = self.child.wait();
		if std::thread::panicking() {
			eprintln!("--- worker {} log ---\n{}", self.name, self.log());
		}
	}
}

/// Run `opml-worker` with `args` to completion; fails with its output unless it
/// succeeds. Returns stdout.
pub fn run_worker(args: &[&str]) -> Result<String> {
	let out = Command::new(worker_binary())
		.args(args)
		.output()
		.with_context(|| format!("running {}", worker_binary().display()))?;
	let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
	if !out.status.success() {
		bail!(
			"opml-worker {args:?} failed ({}):\n{stdout}\n{}",
			out.status,
			String::from_utf8_lossy(&out.stderr)
		);
	}
	Ok(stdout)
}
