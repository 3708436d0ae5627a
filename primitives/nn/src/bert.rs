//! Import of BERT-family sentence encoders (feature `onnx`): all-MiniLM-L6-v2 and
//! models of its shape, from the Hugging Face files (`config.json` and
//! `model.safetensors`, read directly: no ONNX export, no Python).
//!
//! The encoder becomes a float graph ([`float_graph`]) over a fixed sequence of
//! `seq` token ids (the graph input, i32 once quantized; padding id from the config),
//! which the ONNX path's quantization turns into an opml model:
//!
//! - embeddings: [`Op::Gather`](crate::Op::Gather) of the word table, plus the position
//!   and token-type (type 0) embeddings as one constant, then LayerNorm;
//! - each layer: Q, K, V fully connected; heads split by Reshape + Transpose;
//!   `Q·Kᵀ/√d` (MatMul); [`Op::MaskedSoftmax`](crate::Op::MaskedSoftmax) over the keys
//!   that are not padding; `P·V`; heads merged; output projection; residual Add;
//!   LayerNorm; feed-forward with the exact (erf) GELU as a table; residual;
//!   LayerNorm. The residual sums, the projections feeding them, the LayerNorm
//!   outputs added to them and the attention scores are *wide* (i32 at `range /
//!   2^20`): their outlier channels would flatten every other channel at int8; so is
//!   the GELU's output (i32 at `range / 2047`, a table of i32 entries: at int8 it was
//!   the largest error by far, docs/benchmarks.md); the LayerNorm outputs that
//!   feed fully connected layers are int8, smoothed per channel into the weights
//!   ([`smooth`]); every fully connected weight is quantized per output channel;
//! - mean pooling over the tokens that are not padding, with L2 normalization
//!   ([`Op::PoolNormalize`](crate::Op::PoolNormalize)): the sentence embedding, int8.
//!
//! Errors name what is wrong: a missing or malformed file, a missing tensor or one of
//! the wrong shape, an unsupported activation or configuration.

use crate::{
	onnx::{
		float::{FGraph, FNode, FOp, Id, Unary},
		quantize::quantize_wide,
		ImportError,
	},
	types::Model,
};
use std::{collections::HashMap, path::Path};

/// The fields of a BERT `config.json` the import uses.
#[derive(Clone, Debug, PartialEq)]
pub struct BertConfig {
	/// Vocabulary size (rows of the word embedding).
	pub vocab_size: usize,
	/// Hidden size `D`.
	pub hidden_size: usize,
	/// Number of encoder layers.
	pub num_hidden_layers: usize,
	/// Attention heads (`D` divisible by it).
	pub num_attention_heads: usize,
	/// Feed-forward size.
	pub intermediate_size: usize,
	/// Rows of the position embedding: the longest sequence.
	pub max_position_embeddings: usize,
	/// LayerNorm epsilon.
	pub layer_norm_eps: f32,
	/// The padding token's id.
	pub pad_token_id: i32,
}

fn bad(file: &str, what: impl Into<String>) -> ImportError {
	ImportError::Parse(format!("{file}: {}", what.into()))
}

impl BertConfig {
	/// Parse a `config.json` (BERT architecture, `hidden_act` `gelu`).
	pub fn parse(json: &str) -> Result<Self, ImportError> {
		let v: serde_json::Value =
			serde_json::from_str(json).map_err(|e| bad("config.json", e.to_string()))?;
		let int = |k: &str| -> Result<usize, ImportError> {
			v.get(k)
				.and_then(|x| x.as_u64())
				.filter(|&n| n > 0 && n <= u32::MAX as u64)
				.map(|n| n as usize)
				.ok_or_else(|| {
					bad(
						"config.json",
						format!("`{k}` missing or not a positive integer"),
					)
				})
		};
		if let Some(t) = v.get("model_type").and_then(|x| x.as_str()) {
			if t != "bert" {
				return Err(ImportError::Unsupported {
					node: "config.json".into(),
					what: format!("model_type `{t}` (only `bert`)"),
				});
			}
		}
		match v
			.get("hidden_act")
			.and_then(|x| x.as_str())
			.unwrap_or("gelu")
		{
			"gelu" => {}
			other => {
				return Err(ImportError::Unsupported {
					node: "config.json".into(),
					what: format!("hidden_act `{other}` (only the exact `gelu`)"),
				})
			}
		}
		let cfg = BertConfig {
			vocab_size: int("vocab_size")?,
			hidden_size: int("hidden_size")?,
			num_hidden_layers: int("num_hidden_layers")?,
			num_attention_heads: int("num_attention_heads")?,
			intermediate_size: int("intermediate_size")?,
			max_position_embeddings: int("max_position_embeddings")?,
			layer_norm_eps: v
				.get("layer_norm_eps")
				.and_then(|x| x.as_f64())
				.unwrap_or(1e-12) as f32,
			pad_token_id: v.get("pad_token_id").and_then(|x| x.as_i64()).unwrap_or(0) as i32,
		};
		if !cfg.hidden_size.is_multiple_of(cfg.num_attention_heads) {
			return Err(bad(
				"config.json",
				"hidden_size is not a multiple of num_attention_heads",
			));
		}
		Ok(cfg)
	}
}

/// Float tensors by name, read from a safetensors file (F32, F16 or BF16 converted to
/// f32; integer tensors such as `position_ids` are skipped).
#[derive(Clone, Debug, Default)]
pub struct Tensors {
	map: HashMap<String, (Vec<usize>, Vec<f32>)>,
}

impl Tensors {
	/// Parse safetensors bytes.
	pub fn parse(bytes: &[u8]) -> Result<Self, ImportError> {
		use safetensors::{Dtype, SafeTensors};
		let st =
			SafeTensors::deserialize(bytes).map_err(|e| bad("model.safetensors", e.to_string()))?;
		let mut map = HashMap::new();
		for (name, t) in st.tensors() {
			let data = t.data();
			let vals: Vec<f32> = match t.dtype() {
				Dtype::F32 => data
					.chunks_exact(4)
					.map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
					.collect(),
				Dtype::F16 => data
					.chunks_exact(2)
					.map(|c| f16_to_f32(u16::from_le_bytes([c[0], c[1]])))
					.collect(),
				Dtype::BF16 => data
					.chunks_exact(2)
					.map(|c| f32::from_bits((u16::from_le_bytes([c[0], c[1]]) as u32) << 16))
					.collect(),
				_ => continue,
			};
			// a BERT checkpoint may prefix its names with `bert.`
			let name = name.strip_prefix("bert.").unwrap_or(&name).to_string();
			map.insert(name, (t.shape().to_vec(), vals));
		}
		Ok(Tensors { map })
	}

	/// Tensor `name` with exactly `shape`.
	pub fn get(&self, name: &str, shape: &[usize]) -> Result<&[f32], ImportError> {
		match self.map.get(name) {
			None => Err(bad("model.safetensors", format!("no tensor `{name}`"))),
			Some((s, _)) if s != shape => Err(bad(
				"model.safetensors",
				format!("tensor `{name}` has shape {s:?}, the config implies {shape:?}"),
			)),
			Some((_, v)) => Ok(v),
		}
	}
}

fn f16_to_f32(h: u16) -> f32 {
	let s = ((h >> 15) as u32) << 31;
	let e = ((h >> 10) & 0x1f) as i32;
	let m = (h & 0x3ff) as u32;
	if e == 0 {
		// zero or subnormal
		let v = m as f32 * 2f32.powi(-24);
		return if s != 0 { -v } else { v };
	}
	let bits = if e == 31 {
		s | 0x7f80_0000 | (m << 13)
	} else {
		s | (((e - 15 + 127) as u32) << 23) | (m << 13)
	};
	f32::from_bits(bits)
}

/// How the float graph is quantized: which tensors stay wide and which LayerNorm
/// outputs are smoothed into the fully connected layers they feed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
	/// Nodes whose outputs are wide (i32): the residual stream, and the feed-forward
	/// activations (tables with i32 entries).
	pub wide: Vec<Id>,
	/// LayerNorm nodes whose int8 output feeds only fully connected layers (listed):
	/// their channels are rescaled (SmoothQuant) before quantization.
	pub smooth: Vec<(Id, Vec<Id>)>,
	/// Feed-forward blocks `(fc1, activation, fc2)`: fc1's output channels are rescaled
	/// into the activation (one lookup table per channel).
	pub ffn: Vec<(Id, Id, Id)>,
}

/// The per-channel factors [`smoothing`] chooses.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Factors {
	/// Per smoothed LayerNorm: `s_j` (its output channel `j` divided by it).
	pub ln: Vec<(Id, Vec<f32>)>,
	/// Per feed-forward block (index into [`Plan::ffn`]): `t_j` (fc1's output channel
	/// `j` divided by it, the activation's input multiplied by it).
	pub ffn: Vec<(usize, Vec<f32>)>,
}

/// Float BERT encoder over `seq` token ids with mean pooling and L2 normalization,
/// and how to quantize it.
///
/// Every LayerNorm but the last is computed twice from the same input: once wide for
/// the residual sum, once at int8 for the fully connected layers it feeds (rescaled
/// per channel by [`smooth`]); the embedding sum, the residual sums, the projections
/// feeding them and the attention scores are wide. BERT's residual stream has a few
/// outlier channels (hundreds of times the typical value) that one int8 scale per
/// tensor would flatten.
pub fn float_graph(
	cfg: &BertConfig,
	t: &Tensors,
	seq: usize,
) -> Result<(FGraph, Plan), ImportError> {
	let (d, h, f) = (
		cfg.hidden_size,
		cfg.num_attention_heads,
		cfg.intermediate_size,
	);
	let dh = d / h;
	if seq == 0 || seq > cfg.max_position_embeddings {
		return Err(ImportError::Parse(format!(
			"a sequence of {seq} tokens: the model takes 1 to {}",
			cfg.max_position_embeddings
		)));
	}
	let mut g = FGraph {
		input: vec![seq],
		ids: true,
		nodes: vec![],
	};
	let mut plan = Plan::default();
	let push = |g: &mut FGraph, op: FOp, inputs: Vec<Id>, shape: Vec<usize>, name: &str| -> Id {
		g.nodes.push(FNode {
			op,
			inputs,
			shape,
			name: name.to_string(),
		});
		g.nodes.len()
	};
	let fc = |g: &mut FGraph, x: Id, name: &str, n: usize, k: usize| -> Result<Id, ImportError> {
		let w = t.get(&format!("{name}.weight"), &[n, k])?.to_vec();
		let b = t.get(&format!("{name}.bias"), &[n])?.to_vec();
		Ok(push(
			g,
			FOp::Fc {
				w,
				b,
				n,
				relu: false,
			},
			vec![x],
			vec![seq, n],
			name,
		))
	};
	let ln = |g: &mut FGraph, x: Id, name: &str| -> Result<Id, ImportError> {
		let gamma = t.get(&format!("{name}.weight"), &[d])?.to_vec();
		let beta = t.get(&format!("{name}.bias"), &[d])?.to_vec();
		Ok(push(
			g,
			FOp::LayerNorm {
				gamma,
				beta,
				eps: cfg.layer_norm_eps,
			},
			vec![x],
			vec![seq, d],
			name,
		))
	};
	// embeddings
	let words = t
		.get("embeddings.word_embeddings.weight", &[cfg.vocab_size, d])?
		.to_vec();
	let pos = t.get(
		"embeddings.position_embeddings.weight",
		&[cfg.max_position_embeddings, d],
	)?;
	let types = t
		.map
		.get("embeddings.token_type_embeddings.weight")
		.filter(|(s, _)| s.len() == 2 && s[1] == d)
		.map(|(_, v)| &v[..d]);
	let c: Vec<f32> = (0..seq * d)
		.map(|i| pos[i] + types.map_or(0.0, |t| t[i % d]))
		.collect();
	let words = FOp::Gather { table: words, d };
	let x = push(
		&mut g,
		words,
		vec![0],
		vec![seq, d],
		"embeddings.word_embeddings",
	);
	let x = push(
		&mut g,
		FOp::AddConst { c },
		vec![x],
		vec![seq, d],
		"embeddings.position",
	);
	plan.wide.push(x);
	// wide for the residual, int8 for the next fully connected layers
	let mut res = ln(&mut g, x, "embeddings.LayerNorm")?;
	let mut act = ln(&mut g, x, "embeddings.LayerNorm")?;
	plan.wide.push(res);
	let heads = |g: &mut FGraph, y: Id, name: &str| -> Id {
		let r = push(g, FOp::Reshape, vec![y], vec![seq, h, dh], name);
		let perm = FOp::Transpose {
			perm: vec![1, 0, 2],
		};
		push(g, perm, vec![r], vec![h, seq, dh], name)
	};
	for l in 0..cfg.num_hidden_layers {
		let last = l + 1 == cfg.num_hidden_layers;
		let p = format!("encoder.layer.{l}");
		let q = fc(&mut g, act, &format!("{p}.attention.self.query"), d, d)?;
		let k = fc(&mut g, act, &format!("{p}.attention.self.key"), d, d)?;
		let v = fc(&mut g, act, &format!("{p}.attention.self.value"), d, d)?;
		plan.smooth.push((act, vec![q, k, v]));
		let (q, k, v) = (
			heads(&mut g, q, &p),
			heads(&mut g, k, &p),
			heads(&mut g, v, &p),
		);
		let scores = FOp::MatMul {
			transpose_b: true,
			alpha: 1.0 / (dh as f32).sqrt(),
		};
		let s = push(&mut g, scores, vec![q, k], vec![h, seq, seq], &p);
		// wide scores: heads differ widely in their logits' range
		plan.wide.push(s);
		let probs = FOp::MaskedSoftmax {
			pad: cfg.pad_token_id,
		};
		let pr = push(&mut g, probs, vec![s, 0], vec![h, seq, seq], &p);
		let context = FOp::MatMul {
			transpose_b: false,
			alpha: 1.0,
		};
		let ctx = push(&mut g, context, vec![pr, v], vec![h, seq, dh], &p);
		let merge = FOp::Transpose {
			perm: vec![1, 0, 2],
		};
		let ctx = push(&mut g, merge, vec![ctx], vec![seq, h, dh], &p);
		let ctx = push(&mut g, FOp::Reshape, vec![ctx], vec![seq, d], &p);
		let o = fc(&mut g, ctx, &format!("{p}.attention.output.dense"), d, d)?;
		let a = push(
			&mut g,
			FOp::Add { relu: false },
			vec![o, res],
			vec![seq, d],
			&p,
		);
		plan.wide.extend([o, a]);
		let name = format!("{p}.attention.output.LayerNorm");
		let a_res = ln(&mut g, a, &name)?;
		let a_act = ln(&mut g, a, &name)?;
		plan.wide.push(a_res);
		let i = fc(&mut g, a_act, &format!("{p}.intermediate.dense"), f, d)?;
		plan.smooth.push((a_act, vec![i]));
		let gelu = FOp::ScaledUnary {
			f: Unary::Gelu,
			pre: vec![1.0; f],
			post: vec![1.0; f],
		};
		let act1 = push(&mut g, gelu, vec![i], vec![seq, f], &p);
		// wide (2^11 quanta): a few channels reach ten times the others
		plan.wide.push(act1);
		let o = fc(&mut g, act1, &format!("{p}.output.dense"), d, f)?;
		plan.ffn.push((i, act1, o));
		let o2 = push(
			&mut g,
			FOp::Add { relu: false },
			vec![o, a_res],
			vec![seq, d],
			&p,
		);
		plan.wide.extend([o, o2]);
		let name = format!("{p}.output.LayerNorm");
		if !last {
			res = ln(&mut g, o2, &name)?;
			plan.wide.push(res);
		}
		act = ln(&mut g, o2, &name)?;
	}
	let pool = FOp::PoolNormalize {
		pad: cfg.pad_token_id,
	};
	push(&mut g, pool, vec![act, 0], vec![d], "pooling");
	plan.wide.sort_unstable();
	Ok((g, plan))
}

/// The largest |value| per column of a row-major matrix with `d` columns.
fn column_max(w: &[f32], d: usize) -> Vec<f32> {
	let mut m = vec![0f32; d];
	for row in w.chunks_exact(d.max(1)) {
		for (m, &v) in m.iter_mut().zip(row) {
			*m = m.max(v.abs());
		}
	}
	m
}

fn factor(r: f32) -> f32 {
	if r.is_finite() && r > 0.0 {
		r.clamp(1e-3, 1e3)
	} else {
		1.0
	}
}

/// SmoothQuant exponent for LayerNorm outputs (chosen on the MiniLM accuracy check:
/// 0.3, 0.5 and 0.75 were tried; docs/benchmarks.md).
pub const LN_ALPHA: f32 = 0.75;

/// SmoothQuant factors from calibrated per-channel maxima (`channel_max[id]`: of node
/// `id`'s output, over its last axis):
///
/// - a LayerNorm feeding fully connected layers: its channel `j` is to be divided by
///   `s_j = max|x_j|^α / max|w_·j|^(1-α)` ([`LN_ALPHA`]) and column `j` of the weights
///   multiplied by it, so activation and weight ranges meet;
/// - a feed-forward block: fc1's output channel `j` (weight row and bias) divided by
///   `t_j = sqrt(max|h_j|)` (its weight rows are quantized per channel anyway) and the
///   activation's input multiplied by it: `f(x t_j)`, one table per channel. (Also
///   rescaling the activation's output into fc2's columns was measured worse.)
pub fn smoothing(g: &FGraph, plan: &Plan, channel_max: &HashMap<Id, Vec<f32>>) -> Factors {
	let mut out = Factors::default();
	for (ln_id, fcs) in &plan.smooth {
		let Some(xmax) = channel_max.get(ln_id) else {
			continue;
		};
		let d = xmax.len();
		let mut wmax = vec![0f32; d];
		for &fc in fcs {
			if let FOp::Fc { w, .. } = &g.nodes[fc - 1].op {
				for (m, v) in wmax.iter_mut().zip(column_max(w, d)) {
					*m = m.max(v);
				}
			}
		}
		let s = xmax
			.iter()
			.zip(&wmax)
			.map(|(&x, &w)| factor(x.powf(LN_ALPHA) / w.powf(1.0 - LN_ALPHA)))
			.collect();
		out.ln.push((*ln_id, s));
	}
	for (k, &(fc1, _, _)) in plan.ffn.iter().enumerate() {
		let Some(hmax) = channel_max.get(&fc1) else {
			continue;
		};
		let t = hmax.iter().map(|&h| factor(h.sqrt())).collect();
		out.ffn.push((k, t));
	}
	out
}

/// Apply [`smoothing`]'s factors to `g`: the float graph computes the same function.
pub fn smooth(g: &mut FGraph, plan: &Plan, factors: &Factors) {
	for (ln_id, s) in &factors.ln {
		if let FOp::LayerNorm { gamma, beta, .. } = &mut g.nodes[ln_id - 1].op {
			for ((gm, b), &sj) in gamma.iter_mut().zip(beta.iter_mut()).zip(s) {
				*gm /= sj;
				*b /= sj;
			}
		}
		let fcs = plan
			.smooth
			.iter()
			.find(|(id, _)| id == ln_id)
			.map_or(Vec::new(), |(_, f)| f.clone());
		for fc in fcs {
			if let FOp::Fc { w, .. } = &mut g.nodes[fc - 1].op {
				for row in w.chunks_exact_mut(s.len().max(1)) {
					for (v, &sj) in row.iter_mut().zip(s) {
						*v *= sj;
					}
				}
			}
		}
	}
	for (k, t) in &factors.ffn {
		let Some(&(fc1, act, _)) = plan.ffn.get(*k) else {
			continue;
		};
		if let FOp::Fc { w, b, .. } = &mut g.nodes[fc1 - 1].op {
			let kk = w.len() / t.len().max(1);
			for ((row, bj), &tj) in w.chunks_exact_mut(kk.max(1)).zip(b.iter_mut()).zip(t) {
				row.iter_mut().for_each(|v| *v /= tj);
				*bj /= tj;
			}
		}
		if let FOp::ScaledUnary { pre, .. } = &mut g.nodes[act - 1].op {
			for (p, &tj) in pre.iter_mut().zip(t) {
				*p *= tj;
			}
		}
	}
}

/// Where `scripts/prereqs` puts a pretrained model's files:
/// `$OPML_MODELS_DIR/<name>`, by default `~/.cache/opml-models/<name>`.
pub fn models_dir(name: &str) -> std::path::PathBuf {
	let base = std::env::var_os("OPML_MODELS_DIR")
		.map(std::path::PathBuf::from)
		.unwrap_or_else(|| {
			std::path::PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
				.join(".cache/opml-models")
		});
	base.join(name)
}

/// Cosine similarity of two embeddings (0 if either is zero).
pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
	let dot: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
	let na = a.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
	let nb = b.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
	if na == 0.0 || nb == 0.0 {
		0.0
	} else {
		dot / (na * nb)
	}
}

/// Spearman's rank correlation of two equally long samples (tied values get their
/// mean rank).
pub fn spearman(a: &[f64], b: &[f64]) -> f64 {
	fn ranks(v: &[f64]) -> Vec<f64> {
		let mut idx: Vec<usize> = (0..v.len()).collect();
		idx.sort_by(|&x, &y| v[x].total_cmp(&v[y]));
		let mut r = vec![0f64; v.len()];
		let mut i = 0;
		while i < idx.len() {
			let mut j = i;
			while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
				j += 1;
			}
			for &k in &idx[i..=j] {
				r[k] = (i + j) as f64 / 2.0;
			}
			i = j + 1;
		}
		r
	}
	let (ra, rb) = (ranks(a), ranks(b));
	let n = ra.len() as f64;
	let (ma, mb) = (ra.iter().sum::<f64>() / n, rb.iter().sum::<f64>() / n);
	let cov: f64 = ra.iter().zip(&rb).map(|(x, y)| (x - ma) * (y - mb)).sum();
	let va: f64 = ra.iter().map(|x| (x - ma).powi(2)).sum();
	let vb: f64 = rb.iter().map(|y| (y - mb).powi(2)).sum();
	cov / (va * vb).sqrt()
}

/// A quantized sentence encoder against its float graph.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Accuracy {
	/// Mean cosine of the quantized and the float embedding of each sentence.
	pub mean: f64,
	/// The least of those cosines.
	pub worst: f64,
	/// Spearman correlation of all pairwise similarities, quantized against float.
	pub spearman: f64,
}

/// Compare `model` (an import of `bert` over `seq` tokens) with the float graph on
/// `sentences` (token ids, each at most `seq` long): the float embedding is computed
/// at each sentence's own length, the quantized one padded to `seq` on the CPU
/// backend.
pub fn accuracy(
	bert: &Bert,
	model: &crate::Prepared,
	seq: usize,
	sentences: &[Vec<u32>],
) -> Result<Accuracy, ImportError> {
	let out = model
		.model
		.graph
		.nodes
		.last()
		.map(|n| n.output.scale_f32())
		.ok_or_else(|| ImportError::Parse("a model without nodes".into()))?;
	use rayon::prelude::*;
	// sentences in parallel (the reference kernels the CPU backend falls back on are
	// single-threaded)
	let pairs = sentences
		.par_iter()
		.map(|ids| -> Result<(Vec<f32>, Vec<f32>), ImportError> {
			let g = bert.float_graph(ids.len())?;
			let f = g.run(&ids.iter().map(|&v| v as f32).collect::<Vec<_>>());
			let input = crate::TensorData::I32(pad_ids(ids, seq, bert.config.pad_token_id)?);
			let e = model
				.run_data(&crate::cpu::Cpu, input)
				.map_err(ImportError::Nn)?;
			let q = e.output().iter().map(|&v| v as f32 * out).collect();
			Ok((f.last().cloned().unwrap_or_default(), q))
		})
		.collect::<Result<Vec<_>, _>>()?;
	let (float, quant): (Vec<Vec<f32>>, Vec<Vec<f32>>) = pairs.into_iter().unzip();
	let cos: Vec<f64> = float
		.iter()
		.zip(&quant)
		.map(|(f, q)| cosine(f, q))
		.collect();
	let (mut sf, mut sq) = (Vec::new(), Vec::new());
	for i in 0..float.len() {
		for j in i + 1..float.len() {
			sf.push(cosine(&float[i], &float[j]));
			sq.push(cosine(&quant[i], &quant[j]));
		}
	}
	Ok(Accuracy {
		mean: cos.iter().sum::<f64>() / cos.len().max(1) as f64,
		worst: cos.iter().cloned().fold(1.0, f64::min),
		spearman: spearman(&sf, &sq),
	})
}

/// Token ids padded (or refused if too long) to `seq` as the float graph's input.
pub fn pad_ids(ids: &[u32], seq: usize, pad: i32) -> Result<Vec<i32>, ImportError> {
	if ids.len() > seq {
		return Err(ImportError::Calibration(format!(
			"{} tokens, the model's sequence is {seq}",
			ids.len()
		)));
	}
	let mut v: Vec<i32> = ids.iter().map(|&i| i as i32).collect();
	v.resize(seq, pad);
	Ok(v)
}

/// A BERT encoder's files, read and checked.
#[derive(Clone, Debug)]
pub struct Bert {
	/// The configuration.
	pub config: BertConfig,
	/// The float weights.
	pub tensors: Tensors,
}

impl Bert {
	/// Read `config.json` and `model.safetensors` from `dir`.
	pub fn open(dir: &Path) -> Result<Self, ImportError> {
		let read = |name: &str| {
			std::fs::read(dir.join(name))
				.map_err(|e| ImportError::Parse(format!("{}: {e}", dir.join(name).display())))
		};
		let cfg = read("config.json")?;
		let config = BertConfig::parse(&String::from_utf8_lossy(&cfg))?;
		let tensors = Tensors::parse(&read("model.safetensors")?)?;
		Ok(Bert { config, tensors })
	}

	/// The float graph over `seq` tokens.
	pub fn float_graph(&self, seq: usize) -> Result<FGraph, ImportError> {
		Ok(float_graph(&self.config, &self.tensors, seq)?.0)
	}

	/// Import: the float graph over `seq` tokens, calibrated on `calibration` (token
	/// id sequences, each at most `seq` long), smoothed and quantized (fully connected
	/// weights per output channel).
	///
	/// Calibration runs each sample at its own length (no padding): padding rows are
	/// masked out of every result, so their values must not widen any range.
	pub fn import(&self, seq: usize, calibration: &[Vec<u32>]) -> Result<Model, ImportError> {
		let (mut g, plan) = float_graph(&self.config, &self.tensors, seq)?;
		if calibration.is_empty() {
			return Err(ImportError::Calibration("no calibration samples".into()));
		}
		for ids in calibration {
			if ids.is_empty() || ids.len() > seq {
				return Err(ImportError::Calibration(format!(
					"a calibration sample of {} tokens, the model's sequence is {seq}",
					ids.len()
				)));
			}
		}
		let input = |ids: &[u32]| ids.iter().map(|&v| v as f32).collect::<Vec<f32>>();
		// per-channel maxima of the smoothed nodes' outputs
		let mut channel_max: HashMap<Id, Vec<f32>> = HashMap::new();
		for ids in calibration {
			let (gl, _) = float_graph(&self.config, &self.tensors, ids.len())?;
			let t = gl.run(&input(ids));
			let ffn = plan.ffn.iter().map(|&(fc1, _, _)| fc1);
			for id in plan.smooth.iter().map(|(id, _)| *id).chain(ffn) {
				let c = *gl.shape(id).last().unwrap_or(&1);
				let m = channel_max.entry(id).or_insert_with(|| vec![0.0; c]);
				for row in t[id].chunks_exact(c.max(1)) {
					for (m, &v) in m.iter_mut().zip(row) {
						*m = m.max(v.abs());
					}
				}
			}
		}
		let factors = smoothing(&g, &plan, &channel_max);
		smooth(&mut g, &plan, &factors);
		// every tensor's range, smoothed
		let mut ranges = vec![0f32; g.nodes.len() + 1];
		for ids in calibration {
			let (mut gl, _) = float_graph(&self.config, &self.tensors, ids.len())?;
			smooth(&mut gl, &plan, &factors);
			for (r, t) in ranges.iter_mut().zip(gl.run(&input(ids))) {
				*r = t.iter().fold(*r, |m, v| m.max(v.abs()));
			}
		}
		quantize_wide(&g, &ranges, &plan.wide, true)
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	const CONFIG: &str = r#"{"model_type":"bert","vocab_size":30,"hidden_size":8,
		"num_hidden_layers":1,"num_attention_heads":2,"intermediate_size":16,
		"max_position_embeddings":16,"layer_norm_eps":1e-12,"pad_token_id":0,
		"hidden_act":"gelu"}"#;

	fn err(r: Result<impl std::fmt::Debug, ImportError>) -> String {
		r.expect_err("must fail").to_string()
	}

	#[test]
	fn a_config_parses_and_bad_ones_name_the_problem() {
		let c = BertConfig::parse(CONFIG).unwrap();
		assert_eq!(
			(c.hidden_size, c.num_attention_heads, c.pad_token_id),
			(8, 2, 0)
		);
		assert!(err(BertConfig::parse("{not json")).contains("config.json"));
		let e = err(BertConfig::parse(&CONFIG.replace("\"vocab_size\":30,", "")));
		assert!(e.contains("vocab_size"), "{e}");
		let e = err(BertConfig::parse(&CONFIG.replace("\"gelu\"", "\"relu\"")));
		assert!(e.contains("hidden_act `relu`"), "{e}");
		let e = err(BertConfig::parse(&CONFIG.replace("\"bert\"", "\"gpt2\"")));
		assert!(e.contains("model_type `gpt2`"), "{e}");
		let e = err(BertConfig::parse(
			&CONFIG.replace("\"num_attention_heads\":2", "\"num_attention_heads\":3"),
		));
		assert!(e.contains("multiple"), "{e}");
	}

	#[test]
	fn bad_weights_name_the_file_and_tensor() {
		assert!(err(Tensors::parse(b"garbage")).contains("model.safetensors"));
		let t = Tensors::default();
		let e = err(t.get("embeddings.word_embeddings.weight", &[30, 8]));
		assert!(
			e.contains("no tensor `embeddings.word_embeddings.weight`"),
			"{e}"
		);
		let cfg = BertConfig::parse(CONFIG).unwrap();
		let e = err(float_graph(&cfg, &t, 8).map(|_| ()));
		assert!(e.contains("no tensor"), "{e}");
		let e = err(float_graph(&cfg, &t, 17).map(|_| ()));
		assert!(e.contains("1 to 16"), "{e}");
		let e = err(Bert::open(Path::new("/nonexistent")).map(|_| ()));
		assert!(e.contains("/nonexistent/config.json"), "{e}");
	}

	#[test]
	fn a_text_longer_than_the_sequence_is_refused() {
		assert_eq!(
			pad_ids(&[101, 7, 102], 5, 0).unwrap(),
			vec![101, 7, 102, 0, 0]
		);
		let e = err(pad_ids(&[1; 6], 5, 0));
		assert!(e.contains("6 tokens, the model's sequence is 5"), "{e}");
	}

	#[test]
	fn spearman_and_cosine_examples() {
		assert!((spearman(&[1.0, 2.0, 3.0], &[10.0, 20.0, 35.0]) - 1.0).abs() < 1e-12);
		assert!((spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
		// ties share their mean rank
		assert!((spearman(&[1.0, 1.0, 2.0], &[5.0, 5.0, 9.0]) - 1.0).abs() < 1e-12);
		assert!((cosine(&[1.0, 0.0], &[0.0, 2.0])).abs() < 1e-12);
		assert_eq!(cosine(&[0.0, 0.0], &[1.0, 2.0]), 0.0);
	}

	#[test]
	fn half_floats_convert_exactly() {
		assert_eq!(f16_to_f32(0x3c00), 1.0);
		assert_eq!(f16_to_f32(0xc000), -2.0);
		assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
		assert_eq!(f16_to_f32(0x7bff), 65504.0);
		assert!(f16_to_f32(0x7c00).is_infinite());
	}
}
