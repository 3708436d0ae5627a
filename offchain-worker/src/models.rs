//! A daemon's own file store: a directory holding model files by commitment
//! (`<hex>.opml`) and task inputs by tensor root (`<hex>.input`, canonical bytes).
//! Requesters put files here when they register or submit and upload them to the
//! stores announced on chain; providers and verifiers fetch what they lack
//! ([`crate::distribution`]). A file enters only whole and checked against its root.

use crate::distribution::{FileId, Limits};
use anyhow::{anyhow, Context, Result};
use opml_nn::{
	commit::{model_commitment, tensor_root},
	decode_model, encode_model,
	types::i8_bytes,
	Model, Prepared,
};
use std::path::{Path, PathBuf};

/// A directory of model and input files.
#[derive(Clone, Debug)]
pub struct Files {
	dir: PathBuf,
	limits: Limits,
}

impl Files {
	/// Open (or create) the directory, with the default transfer limits.
	pub fn open(dir: &Path) -> Result<Self> {
		Self::open_with(dir, Limits::default())
	}

	/// Open (or create) the directory; files move in and out within `limits`.
	pub fn open_with(dir: &Path, limits: Limits) -> Result<Self> {
		std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
		// temporary files a crash left behind (an hour old: not a write of another
		// process sharing the directory)
		for e in std::fs::read_dir(dir)?.flatten() {
			let old = e
				.metadata()
				.and_then(|m| m.modified())
				.ok()
				.and_then(|t| t.elapsed().ok())
				.is_some_and(|a| a > std::time::Duration::from_secs(3600));
			if old && e.file_name().to_string_lossy().contains(".tmp") {
				let _ = std::fs::remove_file(e.path());
			}
		}
		Ok(Files {
			dir: dir.to_path_buf(),
			limits,
		})
	}

	/// The limits of this store's transfers.
	pub fn limits(&self) -> Limits {
		self.limits
	}

	/// The directory.
	pub fn dir(&self) -> &Path {
		&self.dir
	}

	/// Where `file` is (or would be) kept.
	pub fn path(&self, file: &FileId) -> PathBuf {
		self.dir.join(file.name())
	}

	/// Whether `file` is here (every file entered whole and checked).
	pub fn has(&self, file: &FileId) -> bool {
		self.path(file).is_file()
	}

	/// Check `bytes` against `file`'s root (a model: decoded, and its commitment
	/// recomputed; an input: its tensor root) and store them.
	pub fn put_checked(&self, file: &FileId, bytes: &[u8]) -> Result<()> {
		match file {
			FileId::Model(c) => {
				let model = decode_model(bytes).map_err(|e| anyhow!("not a model file: {e}"))?;
				let got =
					model_commitment(&model).map_err(|e| anyhow!("model commitment: {e:?}"))?;
				if &got != c {
					return Err(anyhow!(
						"wrong bytes: the model's commitment is 0x{}",
						hex::encode(got)
					));
				}
			}
			FileId::Input(r) => {
				let got = tensor_root(bytes).0;
				if &got != r {
					return Err(anyhow!(
						"wrong bytes: their tensor root is 0x{}",
						hex::encode(got)
					));
				}
			}
		}
		write_atomic(&self.path(file), bytes)
	}

	/// Store a model; returns its commitment.
	pub fn put_model(&self, model: &Model) -> Result<[u8; 32]> {
		let c = model_commitment(model).map_err(|e| anyhow!("model commitment: {e:?}"))?;
		let path = self.dir.join(format!("{}.opml", hex::encode(c)));
		write_atomic(&path, &encode_model(model))?;
		Ok(c)
	}

	/// The model with commitment `c`, checked and ready to run.
	pub fn model(&self, c: &[u8; 32]) -> Result<Prepared> {
		let path = self.dir.join(format!("{}.opml", hex::encode(c)));
		let bytes = std::fs::read(&path)
			.with_context(|| format!("model {} not in {}", hex::encode(c), self.dir.display()))?;
		let model = decode_model(&bytes).map_err(|e| anyhow!("{}: {e}", path.display()))?;
		let got = model_commitment(&model).map_err(|e| anyhow!("model commitment: {e:?}"))?;
		if &got != c {
			return Err(anyhow!("{} does not match its commitment", path.display()));
		}
		Prepared::new(model).map_err(|e| anyhow!("{}: {e}", path.display()))
	}

	/// Store an int8 input; returns its tensor root.
	pub fn put_input(&self, input: &[i8]) -> Result<[u8; 32]> {
		self.put_input_bytes(&i8_bytes(input))
	}

	/// Store an input of any type by its canonical bytes; returns its tensor root.
	pub fn put_input_bytes(&self, bytes: &[u8]) -> Result<[u8; 32]> {
		let root = tensor_root(bytes).0;
		let path = self.dir.join(format!("{}.input", hex::encode(root)));
		write_atomic(&path, bytes)?;
		Ok(root)
	}

	/// The canonical bytes of the input with tensor root `root` (checked against it).
	pub fn input_bytes(&self, root: &[u8; 32]) -> Result<Vec<u8>> {
		let path = self.dir.join(format!("{}.input", hex::encode(root)));
		let bytes = std::fs::read(&path).with_context(|| {
			format!("input {} not in {}", hex::encode(root), self.dir.display())
		})?;
		if tensor_root(&bytes).0 != *root {
			return Err(anyhow!("{} does not match its root", path.display()));
		}
		Ok(bytes)
	}
}

/// Write `bytes` to `path` through a temporary file and a rename, so that a reader
/// (another daemon sharing the directory, a store serving it) never sees a partial
/// file; a failed write leaves no file behind.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
	static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
	let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
	let tmp = path.with_extension(format!("tmp{}-{n}", std::process::id()));
	let res = std::fs::write(&tmp, bytes)
		.with_context(|| format!("writing {}", tmp.display()))
		.and_then(|()| {
			std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))
		});
	if res.is_err() {
		let _ = std::fs::remove_file(&tmp);
	}
	res
}

/// Read a model: an `.opml` file, or an ONNX file (`.onnx`) quantized to int8 with
/// the calibration samples in `calibration` (raw little-endian f32, one sample after
/// another, each the size of the model's input).
pub fn read_model(path: &Path, calibration: Option<&Path>) -> Result<Model> {
	read_model_with(path, calibration, None)
}

/// [`read_model`], an ONNX model calibrated by the `quantile` of |value| per tensor
/// when given (`model import --calibration-quantile`).
pub fn read_model_with(
	path: &Path,
	calibration: Option<&Path>,
	quantile: Option<f64>,
) -> Result<Model> {
	if path.extension().is_some_and(|e| e == "onnx") {
		let cal = calibration.ok_or_else(|| {
			anyhow!(
				"{} is an ONNX model: quantizing it needs calibration samples \
				 (--calibration FILE of f32 LE samples)",
				path.display()
			)
		})?;
		let floats = read_f32s(cal)?;
		let proto = opml_nn::onnx::read(path).map_err(|e| anyhow!("{}: {e}", path.display()))?;
		let n: usize = opml_nn::onnx::parse(&proto)
			.map_err(|e| anyhow!("{}: {e}", path.display()))?
			.input
			.iter()
			.product();
		if floats.is_empty() || floats.len() % n != 0 {
			return Err(anyhow!(
				"{}: {} floats are not whole samples of {n} (the model's input size)",
				cal.display(),
				floats.len()
			));
		}
		let samples: Vec<Vec<f32>> = floats.chunks(n).map(|c| c.to_vec()).collect();
		return opml_nn::onnx::import_with(path, &samples, quantile)
			.map_err(|e| anyhow!("importing {}: {e}", path.display()));
	}
	let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
	decode_model(&bytes).map_err(|e| anyhow!("{}: {e}", path.display()))
}

/// Read a file of little-endian f32 values.
pub fn read_f32s(path: &Path) -> Result<Vec<f32>> {
	let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
	if bytes.len() % 4 != 0 {
		return Err(anyhow!(
			"{}: {} bytes is not a whole number of f32 values",
			path.display(),
			bytes.len()
		));
	}
	Ok(bytes
		.chunks_exact(4)
		.map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
		.collect())
}
