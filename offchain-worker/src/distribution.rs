//! File distribution across machines (docs/distribution.md). Every daemon keeps its
//! own store ([`Files`]); what it lacks it fetches from the file stores announced on
//! chain (`Market::Stores`: HTTP base URLs serving `<hex>.opml` and `<hex>.input`),
//! checking every byte against the root the chain holds (a model's commitment, an
//! input's tensor root) before the file enters its store. A store that fails or serves
//! wrong bytes is passed over for the next. Requesters upload what they registered or
//! submitted to stores ([`upload`]); a store takes a file only if the chain refers to
//! it, so its disk costs an attacker a model deposit or a task's escrow.

use crate::{
	chain::{api, AccountId, Client},
	models::Files,
};
use anyhow::{anyhow, bail, Context, Result};
use std::{
	io::Read,
	time::{Duration, Instant},
};

/// A file of a store: a model by commitment or an input by tensor root.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileId {
	/// A model file (`<commitment>.opml`).
	Model([u8; 32]),
	/// A task input's canonical bytes (`<root>.input`).
	Input([u8; 32]),
}

impl FileId {
	/// The file's name in a store and in a store's URL space.
	pub fn name(&self) -> String {
		match self {
			FileId::Model(c) => format!("{}.opml", hex::encode(c)),
			FileId::Input(r) => format!("{}.input", hex::encode(r)),
		}
	}

	/// The file named `name` (`<64 hex>.opml` or `<64 hex>.input`), if any.
	pub fn parse(name: &str) -> Option<FileId> {
		let (h, ext) = name.split_once('.')?;
		if h.len() != 64
			|| !h
				.bytes()
				.all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
		{
			return None;
		}
		let mut root = [0u8; 32];
		hex::decode_to_slice(h, &mut root).ok()?;
		match ext {
			"opml" => Some(FileId::Model(root)),
			"input" => Some(FileId::Input(root)),
			_ => None,
		}
	}
}

impl FileId {
	/// The largest such file a store fetches or takes: `limits.max_bytes`, and for a
	/// model at most the model format's limit.
	pub fn max_bytes(&self, limits: &Limits) -> u64 {
		match self {
			FileId::Model(_) => limits.max_bytes.min(opml_nn::types::MAX_MODEL_BYTES as u64),
			FileId::Input(_) => limits.max_bytes,
		}
	}
}

impl std::fmt::Display for FileId {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		match self {
			FileId::Model(c) => write!(f, "model 0x{}", hex::encode(c)),
			FileId::Input(r) => write!(f, "input 0x{}", hex::encode(r)),
		}
	}
}

/// What on chain refers to a file: the record whose root it must match, and whose
/// accounts' stores are asked first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reference {
	/// A registered model (its commitment).
	Model(u32),
	/// A task (its input root).
	Task(u64),
	/// A training job (its current parameters' root).
	Job(u64),
}

impl Reference {
	/// The query an upload names its reference with.
	pub fn query(&self) -> String {
		match self {
			Reference::Model(m) => format!("model={m}"),
			Reference::Task(t) => format!("task={t}"),
			Reference::Job(j) => format!("job={j}"),
		}
	}

	/// The reference named by `query` (`model=N`, `task=N` or `job=N`).
	pub fn parse(query: &str) -> Option<Reference> {
		let (k, v) = query.split_once('=')?;
		match k {
			"model" => v.parse().ok().map(Reference::Model),
			"task" => v.parse().ok().map(Reference::Task),
			"job" => v.parse().ok().map(Reference::Job),
			_ => None,
		}
	}

	/// The file the chain's record refers to (`None`: no such record, or an inline
	/// input), without the provider scan [`Self::resolve`] adds.
	pub async fn file(&self, client: &Client) -> Result<Option<FileId>> {
		Ok(self.record(client).await?.map(|(f, _)| f))
	}

	/// The file the chain's record refers to, and the accounts whose stores are
	/// likeliest to have it (the owner or requester first, then providers that
	/// serve the model or were given the task). `None`: no such record, or an inline
	/// input (nothing to fetch).
	pub async fn resolve(&self, client: &Client) -> Result<Option<(FileId, Vec<AccountId>)>> {
		let Some((file, mut first)) = self.record(client).await? else {
			return Ok(None);
		};
		if let Reference::Model(m) = *self {
			first.extend(providers_serving(client, m).await?);
		}
		Ok(Some((file, first)))
	}

	/// The file the record refers to and the accounts the record itself names: a
	/// model's owner; a task's requester, then its assigned providers; a job's owner.
	async fn record(&self, client: &Client) -> Result<Option<(FileId, Vec<AccountId>)>> {
		use api::runtime_types::pallet_opml_market::types::{TaskInput, TaskStatus};
		Ok(match *self {
			Reference::Model(m) => client
				.fetch(api::storage().market().models(), (m,))
				.await?
				.map(|i| (FileId::Model(i.commitment.0), vec![i.owner])),
			Reference::Task(t) => {
				let Some(info) = client.fetch(api::storage().market().tasks(), (t,)).await? else {
					return Ok(None);
				};
				let TaskInput::Root(root) = info.input else {
					return Ok(None);
				};
				let mut first = vec![info.requester];
				if let TaskStatus::Assigned { providers, .. } = info.status {
					first.extend(providers.0.into_iter().map(|(p, _)| p));
				}
				Some((FileId::Input(root.0), first))
			}
			Reference::Job(j) => client
				.fetch(api::storage().training().jobs(), (j,))
				.await?
				.map(|j| (FileId::Input(j.params.0), vec![j.owner])),
		})
	}
}

/// Providers that declared capacity for `model`.
async fn providers_serving(client: &Client, model: u32) -> Result<Vec<AccountId>> {
	let at = client.api.at_current_block().await?;
	let storage = at.storage();
	let entry = storage.entry(api::storage().providers().providers())?;
	let mut it = entry.iter(()).await?;
	let mut out = Vec::new();
	while let Some(kv) = it.next().await {
		let kv = kv?;
		let info = kv.value().decode()?;
		if info.capacity.0.iter().any(|c| c.task_type == model) {
			out.push(kv.key()?.decode()?.0);
		}
	}
	Ok(out)
}

/// Most stores tried for one file in one pass: those of the accounts a reference
/// names, then the others in random order, up to this many in all (each announced
/// store costs its announcer `StoreDeposit`, but a daemon's time is bounded anyway).
pub const MAX_SOURCES: usize = 32;

/// The announced stores, by account.
pub async fn stores(client: &Client) -> Result<Vec<(AccountId, String)>> {
	let at = client.api.at_current_block().await?;
	let storage = at.storage();
	let entry = storage.entry(api::storage().market().stores())?;
	let mut it = entry.iter(()).await?;
	let mut out = Vec::new();
	while let Some(kv) = it.next().await {
		let kv = kv?;
		let info = kv.value().decode()?;
		out.push((
			kv.key()?.decode()?.0,
			String::from_utf8_lossy(&info.url.0).into_owned(),
		));
	}
	out.sort_by_key(|a| a.0);
	Ok(out)
}

/// The store URLs to try for a file, best first: the stores of `first` (in order),
/// then every other announced store in random order, but not those of `skip`; at
/// most [`MAX_SOURCES`].
pub async fn sources(
	client: &Client,
	first: &[AccountId],
	skip: Option<&AccountId>,
) -> Result<Vec<String>> {
	let mut all = stores(client).await?;
	if let Some(me) = skip {
		if let Some(mine) = all.iter().find(|(a, _)| a == me).map(|(_, u)| u.clone()) {
			all.retain(|(_, u)| *u != mine);
		}
	}
	let mut out: Vec<String> = Vec::new();
	for who in first {
		if let Some((_, url)) = all.iter().find(|(a, _)| a == who) {
			if !out.contains(url) {
				out.push(url.clone());
			}
		}
	}
	// the others in random order: no account can sort its stores first
	let mut others: Vec<String> = all
		.into_iter()
		.map(|(_, u)| u)
		.filter(|u| !out.contains(u))
		.collect();
	others.sort();
	others.dedup();
	use rand::seq::SliceRandom;
	others.shuffle(&mut rand::thread_rng());
	out.extend(others);
	out.truncate(MAX_SOURCES);
	Ok(out)
}

/// The URL of `file` in the store at `base`.
pub fn file_url(base: &str, file: &FileId) -> String {
	format!("{}/{}", base.trim_end_matches('/'), file.name())
}

/// How a transfer shows its progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Show {
	/// A progress bar on stderr (the requester's commands).
	Bar,
	/// A log line at each quarter of a large file (daemons).
	Log,
}

/// Files smaller than this are moved without progress output.
const PROGRESS_FROM: u64 = 1 << 20;

/// Progress of one transfer.
struct Progress {
	bar: Option<indicatif::ProgressBar>,
	what: String,
	total: u64,
	done: u64,
	logged: u64,
}

impl Progress {
	fn new(show: Show, what: String, total: u64) -> Self {
		let bar = (show == Show::Bar && total >= PROGRESS_FROM).then(|| {
			let b = indicatif::ProgressBar::new(total);
			b.set_style(
				indicatif::ProgressStyle::with_template(
					"{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}",
				)
				.unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
				.progress_chars("=> "),
			);
			b.set_message(what.clone());
			b
		});
		Progress {
			bar,
			what,
			total,
			done: 0,
			logged: 0,
		}
	}

	fn add(&mut self, n: u64) {
		self.done += n;
		if let Some(b) = &self.bar {
			b.set_position(self.done);
		} else if self.total >= PROGRESS_FROM {
			let quarter = self.done.saturating_mul(4) / self.total.max(1);
			if quarter > self.logged && quarter < 4 {
				self.logged = quarter;
				tracing::info!("{}: {} of {} bytes", self.what, self.done, self.total);
			}
		}
	}

	fn finish(&self) {
		if let Some(b) = &self.bar {
			b.finish_and_clear();
		}
	}
}

/// Limits of a store's transfers.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
	/// Largest file fetched or taken (bytes): a bigger one is refused unread.
	pub max_bytes: u64,
	/// How long one request may take before the next source is tried.
	pub timeout: Duration,
	/// How long a fetch without a deadline of its own (a verifier's, a requester's)
	/// keeps trying the stores.
	pub patience: Duration,
}

impl Default for Limits {
	fn default() -> Self {
		Limits {
			max_bytes: 1 << 30,
			timeout: Duration::from_secs(600),
			patience: Duration::from_secs(120),
		}
	}
}

fn agent(limits: &Limits) -> ureq::Agent {
	ureq::AgentBuilder::new()
		.timeout_connect(Duration::from_secs(5))
		.timeout(limits.timeout)
		.build()
}

/// Fetch `file` from the store at `base` (blocking): its bytes, checked against the
/// root in its name.
fn fetch_from(
	agent: &ureq::Agent,
	base: &str,
	file: &FileId,
	limits: &Limits,
	timeout: Duration,
	show: Show,
) -> Result<Vec<u8>> {
	let url = file_url(base, file);
	let limits = &Limits {
		max_bytes: file.max_bytes(limits),
		..*limits
	};
	let resp = agent
		.get(&url)
		.timeout(timeout)
		.call()
		.map_err(|e| match e {
			ureq::Error::Status(code, r) => anyhow!("{url}: HTTP {code} {}", r.status_text()),
			e => anyhow!("{url}: {e}"),
		})?;
	let len: Option<u64> = resp.header("Content-Length").and_then(|l| l.parse().ok());
	if let Some(len) = len {
		if len > limits.max_bytes {
			bail!(
				"{url}: {len} bytes, more than the {} allowed",
				limits.max_bytes
			);
		}
	}
	let mut progress = Progress::new(show, format!("fetching {}", file.name()), len.unwrap_or(0));
	let mut reader = resp.into_reader().take(limits.max_bytes + 1);
	let mut bytes = Vec::with_capacity(len.unwrap_or(0).min(limits.max_bytes) as usize);
	let mut buf = vec![0u8; 1 << 16];
	loop {
		let n = reader
			.read(&mut buf)
			.with_context(|| format!("{url}: reading the body"))?;
		if n == 0 {
			break;
		}
		bytes.extend_from_slice(&buf[..n]);
		progress.add(n as u64);
	}
	progress.finish();
	if bytes.len() as u64 > limits.max_bytes {
		bail!("{url}: more than the {} bytes allowed", limits.max_bytes);
	}
	if let Some(len) = len {
		if bytes.len() as u64 != len {
			bail!("{url}: truncated ({} of {len} bytes)", bytes.len());
		}
	}
	Ok(bytes)
}

/// Make sure `files` holds the file `reference` refers to, fetching it from the
/// announced stores if not ([`fetch_file`]). Returns the file (`None`: nothing to
/// fetch: no such record, or an inline input).
pub async fn ensure(
	client: &Client,
	files: &Files,
	reference: Reference,
	until: Instant,
	show: Show,
) -> Result<Option<FileId>> {
	let Some((file, first)) = reference.resolve(client).await? else {
		return Ok(None);
	};
	fetch_file(client, files, file, &first, until, show)
		.await
		.with_context(|| format!("{reference:?}"))?;
	Ok(Some(file))
}

/// Make sure `files` holds `file`, fetching it if not: the stores of the accounts
/// `first`, then the other announced stores (see [`sources`]), every answer checked
/// against the file's root before it is stored; passes over all stores are repeated
/// (after 0.25 s, doubling up to every 2 s) until `until`.
pub async fn fetch_file(
	client: &Client,
	files: &Files,
	file: FileId,
	first: &[AccountId],
	until: Instant,
	show: Show,
) -> Result<()> {
	if files.has(&file) {
		return Ok(());
	}
	let limits = files.limits();
	let started = Instant::now();
	let agent = agent(&limits);
	let mut failures: Vec<String> = Vec::new();
	// a file is often asked for just before its upload arrives: retry soon at first
	let mut pause = Duration::from_millis(250);
	loop {
		// not our own store: what it holds is in `files`
		let urls = sources(client, first, Some(&client.account())).await?;
		if urls.is_empty() {
			failures.push("no file store is announced on chain".into());
		}
		for base in urls {
			// no request outlives the caller's deadline
			let left = until.saturating_duration_since(Instant::now());
			if left.is_zero() {
				break;
			}
			let timeout = limits.timeout.min(left).max(Duration::from_secs(1));
			let (a, b, f, fs) = (agent.clone(), base.clone(), file, files.clone());
			let got = tokio::task::spawn_blocking(move || -> Result<usize> {
				let bytes = fetch_from(&a, &b, &f, &limits, timeout, show)?;
				let n = bytes.len();
				fs.put_checked(&f, &bytes)
					.with_context(|| format!("{b} served {f}"))?;
				Ok(n)
			})
			.await
			.map_err(|e| anyhow!("fetch task: {e}"))?;
			match got {
				Ok(n) => {
					crate::metrics::get().fetched_bytes.inc_by(n as u64);
					tracing::info!(
						file = %file,
						source = %base,
						bytes = n,
						ms = started.elapsed().as_millis() as u64,
						"fetched"
					);
					return Ok(());
				}
				Err(e) => {
					tracing::warn!(file = %file, "{e:#}");
					failures.push(format!("{e:#}"));
				}
			}
		}
		let left = until.saturating_duration_since(Instant::now());
		if left.is_zero() {
			break;
		}
		tokio::time::sleep(left.min(pause)).await;
		pause = (pause * 2).min(Duration::from_secs(2));
		if files.has(&file) {
			// another task of this daemon fetched it meanwhile
			return Ok(());
		}
	}
	failures.dedup();
	let tail = failures.len().saturating_sub(8);
	bail!(
		"{file} could not be fetched in {} s: {}",
		started.elapsed().as_secs(),
		failures[tail..].join("; ")
	)
}

/// Where [`upload`] puts a file.
#[derive(Clone, Debug, Default)]
pub struct Targets {
	/// Stores named by the user (`--upload-to`); empty: the announced stores.
	pub urls: Vec<String>,
	/// Stores that must take the file (at least 1); the announced stores are tried in
	/// turn until this many did.
	pub replicas: usize,
	/// Upload nothing (`--no-upload`: the file is published some other way).
	pub skip: bool,
}

/// Upload the file `reference` refers to from `files` to stores (`targets`), each of
/// which checks it against the chain before it keeps it: every store named, or the
/// announced stores in turn (this account's, then those of the accounts the
/// reference names, then the others) until `replicas` took it. Fails if no store took
/// it (or a named one did not); fewer than `replicas` is a warning. Returns the
/// stores that hold it now. With no store named and none announced, nothing is
/// uploaded and a warning says the file is only in `files`.
pub async fn upload(
	client: &Client,
	files: &Files,
	reference: Reference,
	targets: &Targets,
	show: Show,
) -> Result<Vec<String>> {
	let limits = files.limits();
	let Some((file, first)) = reference.resolve(client).await? else {
		return Ok(vec![]);
	};
	let path = files.path(&file);
	let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
	let (urls, want) = if targets.urls.is_empty() {
		let mut me = vec![client.account()];
		me.extend(first);
		let urls = sources(client, &me, None).await?;
		let want = targets.replicas.clamp(1, urls.len().max(1));
		(urls, want)
	} else {
		(targets.urls.clone(), targets.urls.len())
	};
	if urls.is_empty() {
		tracing::warn!(
			"no file store is announced on chain: {file} is only in {} (providers on other \
			 machines cannot get it; run a daemon with --serve-files, or pass --upload-to URL)",
			files.dir().display()
		);
		return Ok(vec![]);
	}
	let bytes = std::sync::Arc::new(bytes);
	let agent = agent(&limits);
	let mut held = Vec::new();
	let mut failures = Vec::new();
	for base in urls {
		if held.len() >= want {
			break;
		}
		let url = format!("{}?{}", file_url(&base, &file), reference.query());
		let (a, b, u) = (agent.clone(), bytes.clone(), url.clone());
		let res = tokio::task::spawn_blocking(move || -> Result<()> {
			let mut progress =
				Progress::new(show, format!("uploading {}", file.name()), b.len() as u64);
			let reader = ProgressReader {
				inner: std::io::Cursor::new(b.as_slice()),
				progress: &mut progress,
			};
			let r = a
				.put(&u)
				.set("Content-Length", &b.len().to_string())
				.set("Content-Type", "application/octet-stream")
				.send(reader);
			progress.finish();
			match r {
				Ok(_) => Ok(()),
				Err(ureq::Error::Status(code, r)) => {
					let why = r.into_string().unwrap_or_default();
					Err(anyhow!("{u}: HTTP {code}: {}", why.trim()))
				}
				Err(e) => Err(anyhow!("{u}: {e}")),
			}
		})
		.await
		.map_err(|e| anyhow!("upload task: {e}"))?;
		match res {
			Ok(()) => {
				tracing::info!(file = %file, store = %base, "uploaded");
				held.push(base);
			}
			Err(e) => {
				tracing::warn!("upload of {file}: {e:#}");
				failures.push(format!("{e:#}"));
			}
		}
	}
	if held.is_empty() || (!targets.urls.is_empty() && held.len() < want) {
		bail!(
			"{file} is held by {} of the {want} stores asked for: {}",
			held.len(),
			failures.join("; ")
		);
	}
	if held.len() < want {
		tracing::warn!(
			"{file} is held by {} store(s), fewer than the {want} asked for: {}",
			held.len(),
			failures.join("; ")
		);
	}
	Ok(held)
}

struct ProgressReader<'a, R> {
	inner: R,
	progress: &'a mut Progress,
}

impl<R: Read> Read for ProgressReader<'_, R> {
	fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
		let n = self.inner.read(buf)?;
		self.progress.add(n as u64);
		Ok(n)
	}
}

/// Announce `url` as this account's store unless it is announced already.
pub async fn announce(client: &Client, url: &str) -> Result<()> {
	let mine = client
		.fetch(api::storage().market().stores(), (client.account(),))
		.await?;
	if mine.is_some_and(|s| s.url.0 == url.as_bytes()) {
		tracing::info!(url, "file store announced already");
		return Ok(());
	}
	use api::runtime_types::bounded_collections::bounded_vec::BoundedVec;
	let tx = api::transactions()
		.market()
		.announce_store(BoundedVec(url.as_bytes().to_vec()));
	client.submit("Market.announce_store", &tx).await?;
	tracing::info!(url, "file store announced");
	Ok(())
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn file_names_round_trip_and_nothing_else_parses() {
		let m = FileId::Model([0xab; 32]);
		let i = FileId::Input([0x01; 32]);
		assert_eq!(FileId::parse(&m.name()), Some(m));
		assert_eq!(FileId::parse(&i.name()), Some(i));
		for bad in [
			"",
			"x.opml",
			&format!("{}.onnx", hex::encode([0u8; 32])),
			&format!("{}.opml", hex::encode([0u8; 31])),
			&format!("{}.opml", hex::encode([0xabu8; 32]).to_uppercase()),
			&format!("../{}.opml", hex::encode([0u8; 31])),
		] {
			assert_eq!(FileId::parse(bad), None, "{bad}");
		}
		assert_eq!(
			file_url("http://h:1/", &m),
			format!("http://h:1/{}", m.name())
		);
	}

	/// A one-connection-at-a-time HTTP server answering each request with `reply`
	/// (the raw response); its base URL.
	fn fake_store(reply: Vec<u8>) -> String {
		let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
		let url = format!("http://{}", l.local_addr().unwrap());
		std::thread::spawn(move || {
			for c in l.incoming() {
				let Ok(mut c) = c else { continue };
				let mut buf = [0u8; 2048];
				let _ = std::io::Read::read(&mut c, &mut buf);
				let _ = std::io::Write::write_all(&mut c, &reply);
			}
		});
		url
	}

	fn ok_with(body: &[u8], len: usize) -> Vec<u8> {
		let mut r =
			format!("HTTP/1.1 200 OK\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n")
				.into_bytes();
		r.extend_from_slice(body);
		r
	}

	fn limits(max_bytes: u64) -> Limits {
		Limits {
			max_bytes,
			timeout: Duration::from_secs(5),
			patience: Duration::from_secs(1),
		}
	}

	#[test]
	fn a_store_answer_is_refused_when_truncated_oversized_or_missing() {
		let file = FileId::Input([7; 32]);
		let a = agent(&limits(1000));
		let get = |base: &str| {
			fetch_from(
				&a,
				base,
				&file,
				&limits(1000),
				Duration::from_secs(5),
				Show::Log,
			)
		};
		let err = |base: &str| format!("{:#}", get(base).unwrap_err());
		// the whole body
		let good = fake_store(ok_with(b"0123456789", 10));
		assert_eq!(get(&good).unwrap(), b"0123456789");
		// a body shorter than its Content-Length
		let e = err(&fake_store(ok_with(b"01234", 10)));
		assert!(e.contains("truncated") || e.contains("reading"), "{e}");
		// announced larger than allowed: refused unread
		let e = err(&fake_store(ok_with(b"", 5000)));
		assert!(e.contains("more than the 1000"), "{e}");
		// no Content-Length, more bytes than allowed
		let mut r = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".to_vec();
		r.extend_from_slice(&[1u8; 1500]);
		let e = err(&fake_store(r));
		assert!(e.contains("more than the 1000"), "{e}");
		// an error status, and nobody listening
		let e = err(&fake_store(
			b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec(),
		));
		assert!(e.contains("404"), "{e}");
		let port = std::net::TcpListener::bind("127.0.0.1:0")
			.unwrap()
			.local_addr()
			.unwrap()
			.port();
		assert!(get(&format!("http://127.0.0.1:{port}")).is_err());
	}

	#[test]
	fn a_store_keeps_only_bytes_that_match_their_root() {
		let dir = tempfile::tempdir().unwrap();
		let files = Files::open(dir.path()).unwrap();
		let bytes = b"some input bytes".to_vec();
		let root = opml_nn::commit::tensor_root(&bytes).0;
		let wrong = FileId::Input([0; 32]);
		let e = files.put_checked(&wrong, &bytes).unwrap_err();
		assert!(format!("{e:#}").contains("wrong bytes"), "{e:#}");
		assert!(!files.has(&wrong));
		let right = FileId::Input(root);
		files.put_checked(&right, &bytes).unwrap();
		assert_eq!(files.input_bytes(&root).unwrap(), bytes);
		// a model: decoded and its commitment recomputed
		let model = opml_nn::zoo::mlp(&[8, 4], 1);
		let enc = opml_nn::encode_model(&model);
		let c = opml_nn::commit::model_commitment(&model).unwrap();
		let mut bad = enc.clone();
		let at = bad.len() - 1;
		bad[at] ^= 1;
		assert!(files.put_checked(&FileId::Model(c), &bad).is_err());
		assert!(files
			.put_checked(&FileId::Model(c), b"not a model")
			.is_err());
		assert!(!files.has(&FileId::Model(c)));
		files.put_checked(&FileId::Model(c), &enc).unwrap();
		assert!(files.model(&c).is_ok());
		// nothing but the two files: no temporary file left by the refused writes
		let mut names: Vec<String> = std::fs::read_dir(dir.path())
			.unwrap()
			.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
			.collect();
		names.sort();
		let mut want = vec![right.name(), FileId::Model(c).name()];
		want.sort();
		assert_eq!(names, want);
	}

	#[test]
	fn references_round_trip() {
		for r in [Reference::Model(3), Reference::Task(7), Reference::Job(0)] {
			assert_eq!(Reference::parse(&r.query()), Some(r));
		}
		assert_eq!(Reference::parse("model=x"), None);
		assert_eq!(Reference::parse("foo=1"), None);
	}
}
