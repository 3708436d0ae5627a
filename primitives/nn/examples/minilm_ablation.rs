//! Where the MiniLM int8 error comes from (docs/benchmarks.md): for each category of
//! nodes (the GELU tables, the query/key/value projections, ...), the smoothed float
//! graph runs with only those nodes replaced by their int8 versions (inputs quantized
//! from the float tensors as the model's descriptors say); the cosine of the result
//! with the float embedding is that category's error alone. `ALL` replaces every node
//! (close to the int8 model).
//!
//! `SEQ=72 N=30 cargo run --release -p opml-nn --example minilm_ablation` (SEQ: the
//! imported sequence, every sentence used must fit; N: evaluation sentences; CATS: a
//! comma-separated subset of the categories). Needs `./scripts/prereqs`.
use opml_nn::{
	bert::{cosine, float_graph, models_dir, pad_ids, smooth, smoothing, Bert},
	cpu::Cpu,
	exec::Backend,
	onnx::float::{FOp, Id},
	DType, Prepared, Source, TensorData,
};
use std::collections::HashMap;

fn main() {
	let seq: usize = std::env::var("SEQ")
		.ok()
		.and_then(|s| s.parse().ok())
		.unwrap_or(48);
	let n_eval: usize = std::env::var("N")
		.ok()
		.and_then(|s| s.parse().ok())
		.unwrap_or(20);
	let dir = models_dir("all-minilm-l6-v2");
	let bert = Bert::open(&dir).unwrap();
	let mut tok = tokenizers::Tokenizer::from_file(dir.join("tokenizer.json")).unwrap();
	tok.with_padding(None);
	tok.with_truncation(None).unwrap();
	let ids = |t: &str| tok.encode(t, true).unwrap().get_ids().to_vec();
	let s: Vec<String> = std::fs::read_to_string(
		std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/minilm/sentences.txt"),
	)
	.unwrap()
	.lines()
	.map(str::to_string)
	.collect();
	let calib: Vec<Vec<u32>> = s[200..240].iter().map(|t| ids(t)).collect();
	let eval: Vec<Vec<u32>> = s[..200]
		.iter()
		.map(|t| ids(t))
		.filter(|v| v.len() <= seq)
		.take(n_eval)
		.collect();
	let model = bert.import(seq, &calib).unwrap();
	let p = Prepared::new(model.clone()).unwrap();
	// the smoothed float graph (as import does)
	let (mut g, plan) = float_graph(&bert.config, &bert.tensors, seq).unwrap();
	let mut channel_max: HashMap<Id, Vec<f32>> = HashMap::new();
	for c in &calib {
		let (gl, _) = float_graph(&bert.config, &bert.tensors, c.len()).unwrap();
		let t = gl.run(&c.iter().map(|&v| v as f32).collect::<Vec<_>>());
		let ffn = plan.ffn.iter().map(|&(fc1, _, _)| fc1);
		for id in plan.smooth.iter().map(|(id, _)| *id).chain(ffn) {
			let cc = *gl.shape(id).last().unwrap();
			let m = channel_max.entry(id).or_insert_with(|| vec![0.0; cc]);
			for row in t[id].chunks_exact(cc) {
				for (m, &v) in m.iter_mut().zip(row) {
					*m = m.max(v.abs());
				}
			}
		}
	}
	let f = smoothing(&g, &plan, &channel_max);
	smooth(&mut g, &plan, &f);
	assert_eq!(g.nodes.len(), model.graph.nodes.len());
	// categories
	let cat = |id: Id| -> &'static str {
		let n = &g.nodes[id - 1];
		let wide = plan.wide.contains(&id);
		match &n.op {
			FOp::Gather { .. } => "gather",
			FOp::AddConst { .. } => "addconst",
			FOp::LayerNorm { .. } if wide => "ln_wide",
			FOp::LayerNorm { .. } => "ln_int8",
			FOp::Fc { .. } if n.name.contains("self.") => "fc_qkv",
			FOp::Fc { .. } if n.name.contains("attention.output") => "fc_attn_out",
			FOp::Fc { .. } if n.name.contains("intermediate") => "fc1",
			FOp::Fc { .. } => "fc2",
			FOp::ScaledUnary { .. } => "gelu",
			FOp::MatMul {
				transpose_b: true, ..
			} => "scores",
			FOp::MatMul { .. } => "pv",
			FOp::MaskedSoftmax { .. } => "softmax",
			FOp::Add { .. } => "add",
			FOp::PoolNormalize { .. } => "pool",
			_ => "move",
		}
	};
	let cats: Vec<&str> = std::env::var("CATS")
		.map(|v| {
			v.split(",")
				.map(|s| Box::leak(s.to_string().into_boxed_str()) as &str)
				.collect()
		})
		.unwrap_or(vec![
			"gather",
			"addconst",
			"ln_wide",
			"ln_int8",
			"fc_qkv",
			"fc_attn_out",
			"fc1",
			"gelu",
			"fc2",
			"scores",
			"softmax",
			"pv",
			"add",
			"move",
			"pool",
			"ALL",
		]);
	let inputs: Vec<Vec<f32>> = eval
		.iter()
		.map(|v| {
			pad_ids(v, seq, bert.config.pad_token_id)
				.unwrap()
				.into_iter()
				.map(|x| x as f32)
				.collect()
		})
		.collect();
	let float: Vec<Vec<f32>> = inputs.iter().map(|x| g.run(x).pop().unwrap()).collect();
	for c in cats {
		let mut cos = Vec::new();
		for (x, fl) in inputs.iter().zip(&float) {
			let out = g.run_with(x, |id, t| {
				if c != "ALL" && cat(id) != c {
					return None;
				}
				let node = &model.graph.nodes[id - 1];
				let data: Vec<TensorData> = node
					.inputs
					.iter()
					.map(|i| match i.source {
						Source::Slot(s) => {
							let sc = i.desc.scale_f32();
							match i.desc.dtype {
								DType::I8 => TensorData::I8(
									t[s as usize]
										.iter()
										.map(|&v| (v / sc).round().clamp(-128.0, 127.0) as i8)
										.collect(),
								),
								DType::I32 => TensorData::I32(
									t[s as usize]
										.iter()
										.map(|&v| {
											(v as f64 / sc as f64).round().clamp(-2e9, 2e9) as i32
										})
										.collect(),
								),
							}
						}
						Source::Weight(w) => p.weight(w as usize).unwrap().clone(),
					})
					.collect();
				let refs: Vec<_> = data.iter().map(|d| d.as_ref()).collect();
				let mut out = TensorData::zeros(node.output.dtype, node.output.elements().unwrap());
				Cpu.run_node_data(node, &refs, &mut out);
				Some(opml_nn::onnx::quantize::dequantize_data(&node.output, &out))
			});
			cos.push(cosine(out.last().unwrap(), fl));
		}
		let mean = cos.iter().sum::<f64>() / cos.len() as f64;
		let worst = cos.iter().cloned().fold(1.0, f64::min);
		println!(
			"{c:12} mean {mean:.5} worst {worst:.5}  (1-mean {:.5})",
			1.0 - mean
		);
	}
}
