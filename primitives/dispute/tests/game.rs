//! The rules played by a referee (no chain): honest parties win against liars at
//! every random fault position, in both roles; the handoff rejects tampered data with
//! its own error; split and round counts.

use opml_dispute::{party::Party, *};
use opml_nn::{
	commit::{model_commitment, tensor_root},
	vm::Guest,
	zoo::{self, Rng},
	Prepared, TensorData,
};
use opml_primitives_core::Hash;
use proptest::prelude::*;

const K: u32 = 16;

#[derive(Debug, PartialEq)]
enum Winner {
	Defender,
	Challenger,
}

struct Setup {
	guest: Guest,
	model: Prepared,
	commitment: Hash,
	input: TensorData,
}

fn setup(seed: u64) -> Setup {
	// small models of several ops: an MLP, and a transformer block (matmul of two
	// slots, add, layer norm, softmax, GELU)
	let m = if seed.is_multiple_of(2) {
		zoo::mlp(&[24, 16, 8, 4], seed)
	} else {
		zoo::transformer_block(4, 8, 2, 16, seed)
	};
	let commitment = model_commitment(&m).unwrap();
	let model = Prepared::new(m).unwrap();
	let n = model.model.graph.input.elements().unwrap();
	let input = TensorData::I8(Rng(seed).i8s(n));
	Setup {
		guest: Guest::builtin().unwrap(),
		model,
		commitment,
		input,
	}
}

/// A federated-learning round (2 SGD steps of a small MLP on a random shard, i32 Q16
/// tensors, training ops) whose input is the parameter vector.
fn training_setup(seed: u64) -> Setup {
	use opml_nn::fl::{self, Shard, TrainSpec};
	let mut r = Rng(seed);
	let spec = TrainSpec {
		sizes: vec![6, 5, 3],
		batch: 2,
		steps: 2,
		lr: 1 << 15,
	};
	let shard = Shard {
		x: (0..4 * 6)
			.map(|_| (r.next_u64() % (1 << 17)) as i32 - (1 << 16))
			.collect(),
		y: (0..4).map(|_| (r.next_u64() % 3) as i32).collect(),
		features: 6,
	};
	let m = fl::training_model(&spec, &shard).unwrap();
	Setup {
		guest: Guest::builtin().unwrap(),
		commitment: model_commitment(&m).unwrap(),
		model: Prepared::new(m).unwrap(),
		input: TensorData::I32(fl::pad(&fl::init_params(&spec.sizes, seed))),
	}
}

/// A liar's outputs: true up to node `j - 1`, node `j` with one byte changed.
fn wrong_outputs(honest: &Party, j: usize, rng: &mut Rng) -> Vec<TensorData> {
	let mut out = honest.outputs().to_vec();
	let o = &mut out[j - 1];
	let at = (rng.next_u64() % o.len() as u64) as usize;
	o.perturb(at, (1 + rng.next_u64() % 255) as i32);
	out
}

/// Play a whole game by the rules; the challenger disputes the defender's result.
fn play(s: &Setup, def: &Party, chal: &Party) -> Winner {
	let input_root = tensor_root(&s.input.to_bytes()).0;
	let (mut a, mut b) = (0u64, GRAPH_LAST);
	let (mut ha, mut hb) = (graph_state_0(&input_root), def.result_root());
	assert_eq!(ha, def.graph_hash(0));
	while b > a + 1 {
		let pts = split(a, b, K).unwrap();
		let posted = def.graph_hashes(a, b, K);
		assert_eq!(posted.len(), pts.len() - 2);
		let c = chal.choose_graph(a, b, K, &posted) as usize;
		let m = pts.len() - 1;
		ha = if c == 0 { ha } else { posted[c - 1] };
		hb = if c + 1 == m { hb } else { posted[c] };
		(a, b) = (pts[c], pts[c + 1]);
	}
	let i = b;
	let mut game = (i <= def.nodes()).then(|| def.node_game(i).unwrap());
	let handoff = def.handoff(i, game.as_mut()).unwrap();
	let program_root = s.guest.program_root();
	let (initial, final_hash, steps) =
		match verify_handoff(&s.commitment, &program_root, i, &ha, &hb, &handoff) {
			Err(_) => return Winner::Challenger,
			Ok(HandoffOutcome::NoNode) => return Winner::Defender,
			Ok(HandoffOutcome::Vm {
				initial,
				final_hash,
				steps,
			}) => (initial, final_hash, steps),
		};
	let mut dg = game.unwrap();
	let mut cg = chal.node_game(i).unwrap();
	assert_eq!(
		initial,
		cg.state_hash(0),
		"the chain's initial state is the VM's"
	);
	let (mut a, mut b, mut ha, mut hb) = (0u64, steps, initial, final_hash);
	while b > a + 1 {
		let pts = split(a, b, K).unwrap();
		let posted = dg.hashes(a, b, K);
		let c = cg.choose(a, b, K, &posted) as usize;
		let m = pts.len() - 1;
		ha = if c == 0 { ha } else { posted[c - 1] };
		hb = if c + 1 == m { hb } else { posted[c] };
		(a, b) = (pts[c], pts[c + 1]);
	}
	match one_step(&ha, &cg.witness(a)) {
		Ok(post) if post == hb => Winner::Defender,
		Ok(_) => Winner::Challenger,
		// a witness that does not start from the agreed state: the challenger's
		// move is rejected and its clock runs out
		Err(_) => Winner::Defender,
	}
}

#[test]
fn honest_parties_win_at_every_fault_position() {
	// seeds 40.. are training rounds (the same game covers training)
	for seed in 0..52u64 {
		let s = if seed < 40 {
			setup(seed)
		} else {
			training_setup(seed)
		};
		let honest = Party::honest(&s.guest, &s.model, &s.input).unwrap();
		let mut rng = Rng(seed ^ 0x5eed);
		let n = honest.nodes() as usize;
		let j = 1 + (rng.next_u64() % n as u64) as usize;
		let steps = honest.node_game(j as u64).unwrap().steps();
		let liar = |rng: &mut Rng| {
			let p =
				Party::with_outputs(&s.guest, &s.model, &s.input, wrong_outputs(&honest, j, rng))
					.unwrap();
			// half the liars also lie about the trajectory from a random step
			if rng.next_u64().is_multiple_of(2) {
				p.lying_from_step(1 + rng.next_u64() % steps)
			} else {
				p
			}
		};
		let l = liar(&mut rng);
		assert_eq!(
			play(&s, &l, &honest),
			Winner::Challenger,
			"seed {seed}: liar defended node {j}"
		);
		let l = liar(&mut rng);
		assert_eq!(
			play(&s, &honest, &l),
			Winner::Defender,
			"seed {seed}: liar challenged node {j}"
		);
	}
}

#[test]
fn the_handoff_rejects_tampered_data_with_its_own_error() {
	let s = setup(0);
	let p = Party::honest(&s.guest, &s.model, &s.input).unwrap();
	let pr = s.guest.program_root();
	let i = 2u64;
	let (g_prev, g_i) = (p.graph_hash(i - 1), p.graph_hash(i));
	let mut game = p.node_game(i).unwrap();
	let good = p.handoff(i, Some(&mut game)).unwrap();
	let v = |h: &Handoff| verify_handoff(&s.commitment, &pr, i, &g_prev, &g_i, h);
	assert!(matches!(v(&good), Ok(HandoffOutcome::Vm { .. })));
	let tamper = |f: &dyn Fn(&mut Handoff)| {
		let mut h = good.clone();
		f(&mut h);
		v(&h)
	};
	use DisputeError::*;
	let Handoff::Node { .. } = good else { panic!() };
	assert_eq!(
		tamper(&|h| if let Handoff::Node { graph_root, .. } = h {
			graph_root[0] ^= 1
		}),
		Err(BadGraphProof)
	);
	assert_eq!(
		tamper(&|h| if let Handoff::Node { node, .. } = h {
			node.push(0)
		}),
		Err(Malformed)
	);
	assert_eq!(
		tamper(&|h| if let Handoff::Node { node_proof, .. } = h {
			node_proof.siblings[0][0] ^= 1
		}),
		Err(BadNodeProof)
	);
	assert_eq!(
		tamper(&|h| if let Handoff::Node { inputs, .. } = h {
			inputs.pop();
		}),
		Err(InputCount)
	);
	assert_eq!(
		tamper(&|h| if let Handoff::Node { inputs, .. } = h {
			let (InputProof::Slot { root, .. } | InputProof::Weight { root, .. }) = &mut inputs[0];
			root[0] ^= 1;
		}),
		Err(BadInputProof)
	);
	assert_eq!(
		tamper(&|h| if let Handoff::Node { inputs, .. } = h {
			inputs[0] = match inputs[0].clone() {
				InputProof::Slot { root, proof } => InputProof::Weight { root, proof },
				InputProof::Weight { root, proof } => InputProof::Slot { root, proof },
			}
		}),
		Err(BadInputSource)
	);
	assert_eq!(
		tamper(&|h| if let Handoff::Node { output_root, .. } = h {
			output_root[0] ^= 1
		}),
		Err(BadOutputProof)
	);
	assert_eq!(
		tamper(&|h| if let Handoff::Node { final_state, .. } = h {
			final_state.exit = opml_vm::state::ExitStatus::Running
		}),
		Err(NotHalted)
	);
	// a final state whose output region does not hold the output (wrong memory)
	assert_eq!(
		tamper(&|h| if let Handoff::Node { final_state, .. } = h {
			final_state.mem_root[0] ^= 1
		}),
		Err(BadFinalOutput)
	);
	// wrong agreed state: the claimed G_i is not G_{i-1} plus this output
	assert_eq!(
		verify_handoff(&s.commitment, &pr, i, &g_prev, &g_prev, &good),
		Err(BadOutputProof)
	);
	// a no-node claim where a node exists
	let no = p.handoff(i, None).unwrap();
	assert_eq!(
		verify_handoff(&s.commitment, &pr, i, &g_prev, &g_i, &no),
		Err(NodeExists)
	);
	// past the last node: accepted only if G_i = G_{i-1}
	let last = p.nodes() + 1;
	let no = p.handoff(last, None).unwrap();
	let g = p.graph_hash(last);
	assert_eq!(
		verify_handoff(&s.commitment, &pr, last, &g, &g, &no),
		Ok(HandoffOutcome::NoNode)
	);
	assert_eq!(
		verify_handoff(&s.commitment, &pr, last, &g, &g_i, &no),
		Err(ChangedWithoutNode)
	);
	assert_eq!(decode_handoff(&[1, 2, 3]), Err(Malformed));
	assert_eq!(decode_handoff(&codec::Encode::encode(&good)), Ok(good));
}

#[test]
fn rounds_for_a_billion_steps_with_k_16_are_8() {
	assert_eq!(rounds(1_000_000_000, 16), 8);
	// the graph phase: 4096 slots (4095 nodes), three rounds
	assert_eq!(rounds(GRAPH_LAST, 16), 3);
	assert_eq!(rounds(1, 16), 0);
	assert_eq!(rounds(16, 16), 1);
	assert_eq!(rounds(17, 16), 2);
}

proptest! {
	#[test]
	fn split_points_are_strictly_increasing_and_cover_the_interval(
		a in 0u64..1 << 40, len in 2u64..1 << 40, k in 2u32..64,
	) {
		let b = a + len;
		let p = split(a, b, k).unwrap();
		prop_assert_eq!(p[0], a);
		prop_assert_eq!(*p.last().unwrap(), b);
		prop_assert_eq!(p.len() as u64 - 1, len.min(k as u64));
		prop_assert!(p.windows(2).all(|w| w[0] < w[1]));
		// every sub-interval shrinks enough: ceil(len / m)
		let m = p.len() as u64 - 1;
		prop_assert!(p.windows(2).all(|w| w[1] - w[0] <= len.div_ceil(m)));
	}

	#[test]
	fn split_rejects_unsplittable_intervals(a in 0u64..1000, k in 0u32..64) {
		prop_assert_eq!(split(a, a + 1, k), Err(DisputeError::BadSplit));
		prop_assert_eq!(split(a, a, k), Err(DisputeError::BadSplit));
		if k < 2 {
			prop_assert_eq!(split(a, a + 10, k), Err(DisputeError::BadSplit));
		}
	}
}
