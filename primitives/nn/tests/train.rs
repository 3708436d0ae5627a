//! Training as graphs: a round of SGD on an MLP and federated averaging give the same
//! bits natively, on the CPU backend and in the VM; the fixed-point step tracks the
//! floating-point one; federated rounds on the digits set reduce the loss.

use opml_nn::{
	cpu::Cpu,
	fl::{self, Shard, TrainSpec},
	train::{from_q16, to_q16},
	vm::{Guest, DEFAULT_MAX_STEPS},
	Prepared, Reference, TensorData,
};

fn digits() -> Shard {
	let dir = std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo");
	let bytes = std::fs::read(format!("{dir}/../../examples/digits/digits.u8"))
		.expect("examples/digits/digits.u8");
	fl::digits_shard(&bytes).expect("a whole number of records")
}

fn round(spec: &TrainSpec, shard: &Shard, params: &[i32]) -> Vec<i32> {
	let model = Prepared::new(fl::training_model(spec, shard).unwrap()).unwrap();
	let exec = model
		.run_data(&Reference, TensorData::I32(params.to_vec()))
		.unwrap();
	exec.output_data().unwrap().as_i32().unwrap().to_vec()
}

#[test]
fn a_round_has_the_same_bits_natively_on_cpu_and_in_the_vm() {
	let spec = TrainSpec {
		sizes: vec![64, 12, 10],
		batch: 4,
		steps: 2,
		lr: to_q16(0.5),
	};
	let shard = digits().rows_range(0, 8);
	let model = Prepared::new(fl::training_model(&spec, &shard).unwrap()).unwrap();
	let params = TensorData::I32(fl::pad(&fl::init_params(&spec.sizes, 3)));
	let native = model.run_data(&Reference, params.clone()).unwrap();
	let cpu = model.run_data(&Cpu, params.clone()).unwrap();
	assert_eq!(native.outputs, cpu.outputs);
	let vm = Guest::builtin()
		.unwrap()
		.run_model_data(&model, &params, DEFAULT_MAX_STEPS)
		.unwrap();
	assert_eq!(vm.len(), native.outputs.len());
	for (j, (run, out)) in vm.iter().zip(&native.outputs).enumerate() {
		assert_eq!(&run.output, out, "node {}", j + 1);
	}
	// the output is a parameter vector of the same length, and it moved
	let new = native.output_data().unwrap().as_i32().unwrap();
	assert_eq!(new.len(), fl::padded_len(fl::param_count(&spec.sizes)));
	// the padding is carried through
	assert!(new[fl::param_count(&spec.sizes)..].iter().all(|&v| v == 0));
	assert_ne!(Some(new), params.as_i32());
}

/// One SGD step of a 2-layer MLP in f64, for comparison.
fn float_step(sizes: &[u32], p: &[f64], x: &[f64], y: &[i32], lr: f64) -> Vec<f64> {
	let (k, h, c) = (sizes[0] as usize, sizes[1] as usize, sizes[2] as usize);
	let b = y.len();
	let (w1, rest) = p.split_at(h * k);
	let (b1, rest) = rest.split_at(h);
	let (w2, b2) = rest.split_at(c * h);
	let mut g = vec![0.0; p.len()];
	for r in 0..b {
		let xr = &x[r * k..(r + 1) * k];
		let a1: Vec<f64> = (0..h)
			.map(|j| (b1[j] + (0..k).map(|q| w1[j * k + q] * xr[q]).sum::<f64>()).max(0.0))
			.collect();
		let z: Vec<f64> = (0..c)
			.map(|j| b2[j] + (0..h).map(|q| w2[j * h + q] * a1[q]).sum::<f64>())
			.collect();
		let m = z.iter().cloned().fold(f64::MIN, f64::max);
		let s: f64 = z.iter().map(|v| (v - m).exp()).sum();
		let dz: Vec<f64> = (0..c)
			.map(|j| ((z[j] - m).exp() / s - (y[r] as usize == j) as u8 as f64) / b as f64)
			.collect();
		let off2 = h * k + h;
		for j in 0..c {
			for q in 0..h {
				g[off2 + j * h + q] += dz[j] * a1[q];
			}
			g[off2 + c * h + j] += dz[j];
		}
		for q in 0..h {
			let da =
				(0..c).map(|j| dz[j] * w2[j * h + q]).sum::<f64>() * (a1[q] > 0.0) as u8 as f64;
			for t in 0..k {
				g[q * k + t] += da * xr[t];
			}
			g[h * k + q] += da;
		}
	}
	p.iter().zip(&g).map(|(v, d)| v - lr * d).collect()
}

#[test]
fn the_fixed_point_step_tracks_the_float_step() {
	let spec = TrainSpec {
		sizes: vec![64, 16, 10],
		batch: 16,
		steps: 1,
		lr: to_q16(0.25),
	};
	let shard = digits().rows_range(100, 16);
	let p0 = fl::pad(&fl::init_params(&spec.sizes, 11));
	let got = round(&spec, &shard, &p0);
	let n = fl::param_count(&spec.sizes);
	let pf: Vec<f64> = p0[..n].iter().map(|&v| from_q16(v) as f64).collect();
	let xf: Vec<f64> = shard.x.iter().map(|&v| from_q16(v) as f64).collect();
	let want = float_step(&spec.sizes, &pf, &xf, &shard.y, 0.25);
	let mut worst = 0.0f64;
	for (g, w) in got.iter().zip(&want) {
		worst = worst.max((from_q16(*g) as f64 - w).abs());
	}
	// Q16 resolution is 1.5e-5; rounding of gradients and products stays far below
	// the size of an update
	assert!(worst < 2e-3, "largest difference {worst}");
	let moved = p0.iter().zip(&got).filter(|(a, b)| a != b).count();
	assert!(moved > n / 2, "only {moved} parameters moved");
}

#[test]
fn federated_rounds_on_digits_reduce_the_loss() {
	let all = digits();
	// two pools with disjoint shards; the last 297 examples held out
	let pools = [all.rows_range(0, 750), all.rows_range(750, 750)];
	let test = all.rows_range(1500, 297);
	let spec = TrainSpec {
		sizes: vec![64, 32, 10],
		batch: 30,
		steps: 20,
		lr: to_q16(0.5),
	};
	let init = fl::pad(&fl::init_params(&spec.sizes, 5));
	let (mut loss, acc0) = fl::evaluate(&spec.sizes, &init, &test);
	let first = loss;
	let rounds = fl::run_job(&Reference, &spec, &pools, &init, 5).unwrap();
	for (r, params) in rounds.iter().enumerate() {
		let (l, acc) = fl::evaluate(&spec.sizes, params, &test);
		eprintln!("round {r}: held-out loss {l:.4}, accuracy {acc:.3}");
		assert!(l < loss, "round {r}: loss {l} did not decrease from {loss}");
		loss = l;
	}
	let (_, acc) = fl::evaluate(&spec.sizes, &rounds[4], &test);
	assert!(loss < first / 3.0, "loss {first} -> {loss}");
	assert!(acc > 0.85 && acc > acc0, "accuracy {acc0} -> {acc}");
}

/// `fl::run_job` (the offline reference a requester compares the chain's job with)
/// is the rounds computed graph by graph.
#[test]
fn run_job_is_the_rounds_graph_by_graph() {
	let all = digits();
	let shards = [all.rows_range(0, 40), all.rows_range(40, 40)];
	let spec = TrainSpec {
		sizes: vec![64, 8, 10],
		batch: 10,
		steps: 4,
		lr: to_q16(0.5),
	};
	let n = fl::padded_len(fl::param_count(&spec.sizes));
	let init = fl::pad(&fl::init_params(&spec.sizes, 3));
	let got = fl::run_job(&Reference, &spec, &shards, &init, 3).unwrap();
	let avg = Prepared::new(fl::fedavg_model(2, n as u32).unwrap()).unwrap();
	let mut params = init;
	for (r, after) in got.iter().enumerate() {
		let updates: Vec<i32> = shards
			.iter()
			.flat_map(|s| round(&spec, s, &params))
			.collect();
		let exec = avg.run_data(&Reference, TensorData::I32(updates)).unwrap();
		params = exec.output_data().unwrap().as_i32().unwrap().to_vec();
		assert_eq!(after, &params, "round {r}");
	}
	assert_eq!(got.len(), 3);
	// a parameter vector of the wrong length is an error, not a panic
	assert!(fl::run_job(&Reference, &spec, &shards, &[0; 8], 1).is_err());
}

#[test]
fn the_stacked_updates_root_is_computed_from_the_update_roots() {
	use opml_nn::commit::{stacked_root, tensor_root};
	for (pools, n) in [(1usize, 8usize), (2, 8), (3, 64), (5, 1024)] {
		let ups: Vec<Vec<u8>> = (0..pools)
			.map(|p| {
				let v: Vec<i32> = (0..n as i32).map(|i| i * 7 - p as i32).collect();
				TensorData::I32(v).to_bytes()
			})
			.collect();
		let roots: Vec<_> = ups.iter().map(|u| tensor_root(u)).collect();
		let height = roots[0].1;
		assert!(roots.iter().all(|r| r.1 == height));
		let want = tensor_root(&ups.concat()).0;
		let got = stacked_root(&roots.iter().map(|r| r.0).collect::<Vec<_>>(), height);
		assert_eq!(got, Ok(want), "{pools} pools of {n}");
	}
}

#[test]
fn fedavg_of_equal_updates_is_the_update_and_rounds_half_up() {
	let m = Prepared::new(fl::fedavg_model(3, 4).unwrap()).unwrap();
	let u = [5, -7, 0, i32::MAX];
	let x: Vec<i32> = u.iter().chain(&u).chain(&u).copied().collect();
	let out = m.run_data(&Reference, TensorData::I32(x)).unwrap();
	assert_eq!(out.output_data().unwrap().as_i32().unwrap(), &u);
	let out = m
		.run_data(
			&Reference,
			TensorData::I32(vec![1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2]),
		)
		.unwrap();
	// (1 + 2 + 2) / 3 = 1.67 -> 2
	assert_eq!(out.output_data().unwrap().as_i32().unwrap(), &[2, 2, 2, 2]);
}

#[test]
fn bad_round_specifications_are_rejected() {
	let shard = digits().rows_range(0, 10);
	let ok = TrainSpec {
		sizes: vec![64, 8, 10],
		batch: 5,
		steps: 1,
		lr: to_q16(0.1),
	};
	assert!(fl::training_model(&ok, &shard).is_ok());
	for bad in [
		TrainSpec {
			batch: 11,
			..ok.clone()
		},
		TrainSpec {
			batch: 0,
			..ok.clone()
		},
		TrainSpec {
			steps: 0,
			..ok.clone()
		},
		TrainSpec {
			steps: 1000,
			..ok.clone()
		},
		TrainSpec {
			sizes: vec![63, 8, 10],
			..ok.clone()
		},
		TrainSpec {
			sizes: vec![64],
			..ok.clone()
		},
		TrainSpec {
			lr: -1,
			..ok.clone()
		},
	] {
		assert!(fl::training_model(&bad, &shard).is_err(), "{bad:?}");
	}
	// the largest round fits the node bound
	let most = TrainSpec {
		steps: fl::max_steps(2) as u32,
		..ok.clone()
	};
	assert!(fl::training_model(&most, &shard).is_ok());
	assert!(fl::training_model(
		&TrainSpec {
			steps: most.steps + 1,
			..most
		},
		&shard
	)
	.is_err());
}

#[test]
fn a_training_round_is_an_ordinary_model_file_and_commitment() {
	use opml_nn::{commit::model_commitment, decode_model, encode_model};
	let spec = TrainSpec {
		sizes: vec![64, 16, 10],
		batch: 10,
		steps: 3,
		lr: to_q16(0.5),
	};
	let shard = digits().rows_range(0, 30);
	let m = fl::training_model(&spec, &shard).unwrap();
	let file = encode_model(&m);
	assert_eq!(decode_model(&file).unwrap(), m);
	// the shard is bound by the commitment: another shard, another model
	let other = fl::training_model(&spec, &digits().rows_range(30, 30)).unwrap();
	assert_ne!(
		model_commitment(&m).unwrap(),
		model_commitment(&other).unwrap()
	);
	let avg = fl::fedavg_model(2, 4096).unwrap();
	assert_eq!(decode_model(&encode_model(&avg)).unwrap(), avg);
}
