//! Whole models: reference == CPU backend (every node), every node's VM output root ==
//! the native output root, graph states and commitments consistent, model files
//! round-trip, bad files rejected with typed errors.

mod common;

use opml_nn::{
	commit::{self, GraphStates},
	cpu::Cpu,
	decode_model, encode_model,
	vm::{Guest, DEFAULT_MAX_STEPS},
	zoo, Model, NnError, Prepared, Reference,
};

fn models() -> Vec<(&'static str, Model)> {
	vec![
		("mlp", zoo::mlp(&[64, 32, 10], 1)),
		("lenet5", zoo::lenet5(2)),
		("transformer", zoo::transformer_block(8, 16, 2, 32, 3)),
		("mobile block", zoo::mobile_block(8, 10, 4, 4)),
	]
}

fn input_for(m: &Model, seed: u64) -> Vec<i8> {
	zoo::Rng(seed).i8s(m.graph.input.elements().unwrap())
}

#[test]
fn every_node_vm_root_equals_native_root() {
	let guest = Guest::builtin().unwrap();
	for (name, m) in models() {
		let p = Prepared::new(m.clone()).unwrap();
		let input = input_for(&m, 9);
		let native = p.run(&Reference, &input).unwrap();
		let cpu = p.run(&Cpu, &input).unwrap();
		assert_eq!(native.outputs, cpu.outputs, "{name}: CPU backend differs");
		assert_eq!(native.states, cpu.states);
		let runs = guest.run_model(&p, &input, DEFAULT_MAX_STEPS).unwrap();
		assert_eq!(runs.len(), m.graph.nodes.len());
		common::assert_vm_roots_native(name, &runs, &native);
		assert!(runs.iter().all(|run| run.final_state.exit.is_halted()));
		// the output is not trivially constant
		let out = native.output();
		assert!(
			out.iter().any(|&v| v != out[0]),
			"{name}: degenerate output {out:?}"
		);
	}
}

#[test]
fn graph_states_and_commitments() {
	let (_, m) = models().remove(0);
	let p = Prepared::new(m.clone()).unwrap();
	let e = p.run(&Reference, &input_for(&m, 1)).unwrap();
	let n = m.graph.nodes.len();
	let g = e.states.all();
	assert_eq!(g.len(), n + 1);
	// G_i differs from G_{i-1} exactly by slot i: an update proof takes one to the other
	for i in 1..=n {
		let proof = e.states.slot_proof(i - 1, i).unwrap();
		let next = proof
			.update(
				&g[i - 1],
				&opml_primitives_core::ZERO_HASH,
				&e.states.slots()[i],
			)
			.unwrap();
		assert_eq!(next, g[i]);
	}
	assert_eq!(e.result_root(), g[n]);
	// the model commitment opens to the graph root and every weight root
	let c = commit::model_commitment(&m).unwrap();
	let graph_root = commit::graph_root(&m.graph).unwrap();
	assert!(commit::model_proof(&m, 0).unwrap().verify(&c, &graph_root));
	for (i, w) in m.weights.iter().enumerate() {
		let r = commit::tensor_root(&w.data).0;
		assert!(commit::model_proof(&m, i + 1).unwrap().verify(&c, &r));
		assert_eq!(
			commit::model_proof(&m, i + 1).unwrap().siblings.len(),
			commit::MODEL_DEPTH as usize
		);
	}
	for j in 1..=n {
		let leaf = commit::node_leaf(&m.graph.nodes[j - 1]);
		assert!(commit::node_proof(&m.graph, j)
			.unwrap()
			.verify(&graph_root, &leaf));
	}
	// states of too many slots are refused
	assert!(GraphStates::new(vec![[0; 32]; opml_nn::MAX_NODES + 2]).is_err());
}

#[test]
fn model_files_round_trip_and_bad_files_fail_typed() {
	for (_, m) in models() {
		let f = encode_model(&m);
		assert_eq!(decode_model(&f).unwrap(), m);
		// truncated anywhere: a typed error, no panic
		for cut in [0, 3, 8, 9, f.len() / 2, f.len() - 1] {
			assert!(decode_model(&f[..cut]).is_err());
		}
		let mut bad = f.clone();
		bad[0] ^= 1;
		assert_eq!(decode_model(&bad), Err(NnError::BadMagic));
		let mut trailing = f.clone();
		trailing.push(0);
		assert_eq!(decode_model(&trailing), Err(NnError::Decode));
	}
	// shape mismatch: a node whose declared input type differs from its source
	let mut m = zoo::mlp(&[8, 4, 2], 5);
	m.graph.nodes[1].inputs[0].desc.shape = vec![1, 5];
	assert_eq!(
		decode_model(&encode_model(&m)),
		Err(NnError::TypeMismatch { node: 2 })
	);
	// weight bytes that do not match the weight's type
	let mut m = zoo::mlp(&[8, 4, 2], 5);
	m.weights[0].data.pop();
	assert_eq!(
		decode_model(&encode_model(&m)),
		Err(NnError::WeightLength { weight: 0 })
	);
	// a tensor above the size bound
	let mut m = zoo::mlp(&[8, 4, 2], 5);
	m.graph.input.shape = vec![1 << 13, 1 << 12];
	assert_eq!(decode_model(&encode_model(&m)), Err(NnError::BadTensor));
	// a forward reference
	let mut m = zoo::mlp(&[8, 4, 2], 5);
	m.graph.nodes[0].inputs[0].source = opml_nn::Source::Slot(2);
	assert_eq!(
		decode_model(&encode_model(&m)),
		Err(NnError::BadSource { node: 1 })
	);
	// wrong input length at run time
	let p = Prepared::new(zoo::mlp(&[8, 4, 2], 5)).unwrap();
	assert_eq!(
		p.run(&Reference, &[0; 7]).unwrap_err(),
		NnError::DataMismatch
	);
}

/// The output proof accepts exactly the graph's output under its result root: not a
/// tampered output, not an earlier node's output (even with a valid slot proof), not
/// another root.
#[test]
fn output_proofs_prove_the_last_nodes_output() {
	use opml_nn::types::i8_bytes;
	for (name, m) in models() {
		let p = Prepared::new(m.clone()).unwrap();
		let exec = p.run(&Cpu, &input_for(&m, 5)).unwrap();
		let root = exec.result_root();
		let out = i8_bytes(exec.output());
		let proof = exec.states.output_proof().unwrap();
		assert!(commit::verify_output(&root, &out, &proof), "{name}");
		let mut bad = out.clone();
		bad[0] ^= 1;
		assert!(!commit::verify_output(&root, &bad, &proof), "{name}");
		let other = p.run(&Cpu, &input_for(&m, 6)).unwrap().result_root();
		assert!(!commit::verify_output(&other, &out, &proof), "{name}");
		// an earlier node's output is in G_N but is not the last slot
		let n = exec.states.nodes();
		let early = exec.states.slot_proof(n, n - 1).unwrap();
		let early_out = exec.outputs[n - 2].to_bytes();
		assert!(
			early.verify(&root, &commit::tensor_root(&early_out).0),
			"{name}"
		);
		assert!(!commit::verify_output(&root, &early_out, &early), "{name}");
		// the input (slot 0) is not an output
		let input = exec.states.slot_proof(n, 0).unwrap();
		assert!(
			!commit::verify_output(&root, &exec.input.to_bytes(), &input),
			"{name}"
		);
	}
}

/// M6/L7: the output's slot and length are proven from the model commitment, so
/// same-root impostors (the 32-byte root as its own tensor, a level of inner nodes,
/// zero padding) are caught by their length and an earlier slot by its index.
#[test]
fn output_shapes_are_proven_from_the_commitment() {
	use codec::Encode;
	use opml_nn::types::i8_bytes;
	for (name, m) in models() {
		let c = commit::model_commitment(&m).unwrap();
		let proof = commit::output_proof(&m).unwrap();
		let shape = commit::verify_output_shape(&c, &proof).expect(name);
		let p = Prepared::new(m.clone()).unwrap();
		let exec = p.run(&Cpu, &input_for(&m, 5)).unwrap();
		let out = i8_bytes(exec.output());
		assert_eq!(shape.bytes, out.len() as u64, "{name}");
		assert_eq!(shape.index as usize, exec.states.nodes(), "{name}");
		// the impostors of the review have other lengths
		let root = commit::tensor_root(&out).0;
		assert_eq!(commit::tensor_root(&root).0, root);
		let mut padded = out.clone();
		padded.resize(out.len().next_multiple_of(32) + 32, 0);
		for fake in [root.to_vec(), padded] {
			if fake.len() as u64 == shape.bytes {
				assert_eq!(fake, out, "{name}");
			}
		}
		// another model's commitment, an earlier node, a tampered node: no shape
		let other = commit::model_commitment(&zoo::mlp(&[8, 4, 2], 9)).unwrap();
		assert!(
			commit::verify_output_shape(&other, &proof).is_none(),
			"{name}"
		);
		let n = m.graph.nodes.len();
		let mut early = proof.clone();
		early.index = (n - 1) as u32;
		early.node = m.graph.nodes[n - 2].encode();
		early.node_siblings = commit::node_proof(&m.graph, n - 1).unwrap().siblings;
		assert!(
			commit::verify_output_shape(&c, &early).is_none(),
			"{name}: an earlier node passed as the last"
		);
		let mut tampered = proof.clone();
		tampered.node[0] ^= 1;
		assert!(
			commit::verify_output_shape(&c, &tampered).is_none(),
			"{name}"
		);
	}
}

#[test]
fn the_builtin_guest_root_constant_is_the_elfs() {
	let guest = Guest::builtin().unwrap();
	assert_eq!(
		guest.program_root(),
		opml_nn::layout::BUILTIN_GUEST_ROOT,
		"primitives/guest/elf changed: update layout::BUILTIN_GUEST_ROOT"
	);
}

/// L12: a guest whose loadable segment lies outside the program area of region 0 (in
/// the heap, the stack or another region) is refused: its memory would not be what the
/// program root commits to.
#[test]
fn l12_a_guest_segment_outside_the_program_area_is_refused() {
	use opml_nn::{layout::HEAP_BASE, vm::VmRunError, vm::GUEST_ELF};
	let u32_at = |b: &[u8], o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap());
	let phoff = u32_at(GUEST_ELF, 28) as usize;
	let phnum = u16::from_le_bytes([GUEST_ELF[44], GUEST_ELF[45]]) as usize;
	let load = (0..phnum)
		.map(|i| phoff + 32 * i)
		.find(|&ph| u32_at(GUEST_ELF, ph) == 1)
		.expect("a PT_LOAD segment");
	for vaddr in [HEAP_BASE, HEAP_BASE - 4, opml_nn::layout::ENV_BASE] {
		let mut elf = GUEST_ELF.to_vec();
		elf[load + 8..load + 12].copy_from_slice(&vaddr.to_le_bytes());
		match Guest::new(&elf) {
			Err(VmRunError::SegmentOutsideProgram { vaddr: v, .. }) => assert_eq!(v, vaddr),
			other => panic!("vaddr {vaddr:#x}: {:?}", other.map(|g| g.program_root())),
		}
	}
	assert!(Guest::new(GUEST_ELF).is_ok());
}
