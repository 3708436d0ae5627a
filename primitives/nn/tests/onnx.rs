//! ONNX import end to end on real models (fixtures made by fixtures/make_fixtures.py):
//! the float graph matches tract on the same file; the quantized digits MLP and CNN
//! keep their float accuracy within 1 percentage point; the quantized transformer
//! block stays within the stated tolerance of tract's float output; imported models
//! run node by node in the VM with the native roots; unsupported ops are named.

mod common;

use opml_nn::{
	cpu::Cpu,
	onnx::{self, quantize, ImportError},
	vm::{Guest, DEFAULT_MAX_STEPS},
	Prepared,
};
use std::path::{Path, PathBuf};
use tract_onnx::prelude::*;

fn fixture(name: &str) -> PathBuf {
	Path::new(
		std::env::var("CARGO_MANIFEST_DIR")
			.expect("cargo sets CARGO_MANIFEST_DIR")
			.as_str(),
	)
	.join("fixtures")
	.join(name)
}

/// Images scaled to [0, 1], and labels.
type Split = (Vec<Vec<f32>>, Vec<u8>);

/// The calibration and test splits.
fn digits() -> (Split, Split) {
	let b = std::fs::read(fixture("digits.bin")).unwrap();
	let nc = u32::from_le_bytes(b[0..4].try_into().unwrap()) as usize;
	let nt = u32::from_le_bytes(b[4..8].try_into().unwrap()) as usize;
	let rec = |i: usize| {
		let r = &b[8 + i * 65..8 + (i + 1) * 65];
		(
			r[..64]
				.iter()
				.map(|&p| p as f32 / 16.0)
				.collect::<Vec<f32>>(),
			r[64],
		)
	};
	let split = |lo: usize, n: usize| {
		let v: Vec<_> = (lo..lo + n).map(rec).collect();
		(
			v.iter().map(|r| r.0.clone()).collect(),
			v.iter().map(|r| r.1).collect(),
		)
	};
	(split(0, nc), split(nc, nt))
}

fn tract_model(path: &Path) -> std::sync::Arc<TypedRunnableModel> {
	tract_onnx::onnx()
		.model_for_path(path)
		.unwrap()
		.into_optimized()
		.unwrap()
		.into_runnable()
		.unwrap()
}

fn tract_run(m: &std::sync::Arc<TypedRunnableModel>, shape: &[usize], x: &[f32]) -> Vec<f32> {
	let t = Tensor::from_shape(shape, x).unwrap();
	let out = m.run(tvec!(t.into())).unwrap();
	out[0]
		.to_plain_array_view::<f32>()
		.unwrap()
		.iter()
		.copied()
		.collect()
}

fn argmax<T: PartialOrd + Copy>(v: &[T]) -> usize {
	(0..v.len()).fold(0, |b, i| if v[i] > v[b] { i } else { b })
}

fn check_digits(file: &str, shape: &[usize]) {
	let ((calib, _), (test, labels)) = digits();
	let path = fixture(file);
	let proto = onnx::read(&path).unwrap();
	let fg = onnx::parse(&proto).unwrap();
	let reference = tract_model(&path);
	let model = onnx::import(&path, &calib).unwrap();
	let p = Prepared::new(model.clone()).unwrap();
	let (mut float_ok, mut quant_ok) = (0, 0);
	for (x, &y) in test.iter().zip(&labels) {
		let tf = tract_run(&reference, shape, x);
		let ours = fg.run(x).pop().unwrap();
		for (a, b) in tf.iter().zip(&ours) {
			assert!(
				(a - b).abs() < 1e-3,
				"{file}: float graph differs from tract: {a} vs {b}"
			);
		}
		float_ok += (argmax(&tf) == y as usize) as usize;
		let e = p.run(&Cpu, &quantize::quantize_input(&model, x)).unwrap();
		quant_ok += (argmax(e.output()) == y as usize) as usize;
	}
	let n = test.len() as f64;
	let (fa, qa) = (float_ok as f64 / n * 100.0, quant_ok as f64 / n * 100.0);
	println!(
		"{file}: float accuracy {fa:.2}%, quantized {qa:.2}% on {} test images",
		test.len()
	);
	assert!(fa > 90.0, "{file}: the float model itself is poor ({fa}%)");
	assert!(
		qa >= fa - 1.0,
		"{file}: quantized accuracy {qa}% is more than 1 point below float {fa}%"
	);
	// an imported model also runs node by node in the VM with the native roots
	let guest = Guest::builtin().unwrap();
	for x in test.iter().take(3) {
		let input = quantize::quantize_input(&model, x);
		let native = p.run(&Cpu, &input).unwrap();
		let runs = guest.run_model(&p, &input, DEFAULT_MAX_STEPS).unwrap();
		common::assert_vm_roots_native(file, &runs, &native);
	}
}

#[test]
fn digits_mlp_quantized_within_one_point() {
	check_digits("digits_mlp.onnx", &[1, 64]);
}

#[test]
fn digits_cnn_quantized_within_one_point() {
	check_digits("digits_cnn.onnx", &[1, 1, 8, 8]);
}

/// Stated tolerance of the quantized transformer block against tract's float output,
/// on inputs not used for calibration. Outputs are layer-normalized (standard deviation
/// about 1, |max| about 3.3, one int8 step about 0.03): mean absolute error ≤ 0.05 and
/// max absolute error ≤ 0.75 (measured: 0.025 and 0.53; the max is a value beyond the
/// calibrated range, clipped).
const TRANSFORMER_MEAN_ABS: f32 = 0.05;
const TRANSFORMER_MAX_ABS: f32 = 0.75;

#[test]
fn transformer_block_within_tolerance_of_float() {
	let path = fixture("transformer.onnx");
	let raw = std::fs::read(fixture("transformer_inputs.bin")).unwrap();
	let vals: Vec<f32> = raw
		.chunks_exact(4)
		.map(|c| f32::from_le_bytes(c.try_into().unwrap()))
		.collect();
	let inputs: Vec<Vec<f32>> = vals.chunks(8 * 16).map(|c| c.to_vec()).collect();
	let (calib, eval) = inputs.split_at(8);
	let reference = tract_model(&path);
	let fg = onnx::parse(&onnx::read(&path).unwrap()).unwrap();
	let model = onnx::import(&path, calib).unwrap();
	let ops: Vec<&str> = model.graph.nodes.iter().map(|n| n.op.name()).collect();
	for want in [
		"FullyConnected",
		"MatMul",
		"Softmax",
		"LayerNorm",
		"Lut",
		"Add",
		"Transpose",
	] {
		assert!(
			ops.contains(&want),
			"the imported block has no {want}: {ops:?}"
		);
	}
	let p = Prepared::new(model.clone()).unwrap();
	let (mut sum, mut max, mut count, mut sq, mut peak) = (0f32, 0f32, 0usize, 0f32, 0f32);
	for x in eval {
		let tf = tract_run(&reference, &[8, 16], x);
		let ours = fg.run(x).pop().unwrap();
		for (a, b) in tf.iter().zip(&ours) {
			assert!(
				(a - b).abs() < 1e-3,
				"float graph differs from tract: {a} vs {b}"
			);
		}
		let e = p.run(&Cpu, &quantize::quantize_input(&model, x)).unwrap();
		let q = quantize::dequantize(&model.graph.nodes.last().unwrap().output, e.output());
		for (a, b) in tf.iter().zip(&q) {
			sum += (a - b).abs();
			sq += a * a;
			peak = peak.max(a.abs());
			max = max.max((a - b).abs());
			count += 1;
		}
	}
	let mean = sum / count as f32;
	println!(
		"transformer block: mean |error| {mean:.4}, max |error| {max:.4} over {count} outputs \
		 (float output rms {:.3}, max |value| {peak:.3})",
		(sq / count as f32).sqrt()
	);
	assert!(
		mean <= TRANSFORMER_MEAN_ABS && max <= TRANSFORMER_MAX_ABS,
		"mean {mean}, max {max}"
	);
}

#[test]
fn unsupported_ops_and_shapes_are_named() {
	use tract_onnx::pb;
	let mut proto = onnx::read(&fixture("digits_mlp.onnx")).unwrap();
	let g = proto.graph.as_mut().unwrap();
	g.node[1].op_type = "Sin".into();
	match onnx::parse(&proto) {
		Err(e @ ImportError::UnsupportedOp { .. }) => {
			let msg = e.to_string();
			assert!(msg.contains("`Sin`") && msg.contains("relu1"), "{msg}");
		}
		other => panic!("expected UnsupportedOp, got {other:?}"),
	}
	// a dynamic batch dimension
	let mut proto = onnx::read(&fixture("digits_mlp.onnx")).unwrap();
	let g = proto.graph.as_mut().unwrap();
	if let Some(pb::type_proto::Value::TensorType(t)) =
		g.input[0].r#type.as_mut().and_then(|t| t.value.as_mut())
	{
		t.shape.as_mut().unwrap().dim[0].value = Some(
			pb::tensor_shape_proto::dimension::Value::DimParam("batch".into()),
		);
	}
	let e = onnx::parse(&proto).unwrap_err();
	assert!(e.to_string().contains("dynamic dimension"), "{e}");
	// a file that is not ONNX
	let e = onnx::read(&fixture("digits.bin")).unwrap_err();
	assert!(matches!(e, ImportError::Parse(_)), "{e}");
	// calibration samples of the wrong size
	let e = onnx::import(&fixture("digits_mlp.onnx"), &[vec![0.0; 3]]).unwrap_err();
	assert!(matches!(e, ImportError::Calibration(_)), "{e}");
}
