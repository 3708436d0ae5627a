//! The format's limits: a model at `MAX_NODES` nodes and `MAX_WEIGHTS` weights commits,
//! proves its last node and weight and runs; one more of either is refused; a weight
//! of `MAX_WEIGHT_BYTES` (64 MiB) fills its VM slot and gives the native root, with
//! the initial memory root the chain computes; activations stay at `MAX_TENSOR_BYTES`.

use opml_nn::{
	check::{check_model, check_node},
	commit::{self, GraphStates},
	types::*,
	vm::{Guest, DEFAULT_MAX_STEPS},
	zoo, NnError, Prepared, Reference, TensorData,
};

fn relu_chain(nodes: usize, weights: usize) -> Model {
	zoo::relu_chain(&[8], nodes, weights)
}

#[test]
fn a_model_at_the_node_and_weight_limits_commits_proves_and_runs() {
	let m = relu_chain(MAX_NODES, MAX_WEIGHTS);
	let p = Prepared::new(m.clone()).unwrap();
	let input: Vec<i8> = vec![-3, 5, 0, 127, -128, 9, -1, 2];
	let e = p.run(&Reference, &input).unwrap();
	assert_eq!(e.states.all().len(), MAX_NODES + 1);
	assert_eq!(e.output(), &[0, 5, 0, 127, 0, 9, 0, 2]);
	// the last node's and the last weight's proofs, at the stated depths
	let c = commit::model_commitment(&m).unwrap();
	let last_w = commit::model_proof(&m, MAX_WEIGHTS).unwrap();
	assert_eq!(last_w.siblings.len(), commit::MODEL_DEPTH as usize);
	let r = commit::tensor_root(&m.weights[MAX_WEIGHTS - 1].data).0;
	assert!(last_w.verify(&c, &r));
	let graph_root = commit::graph_root(&m.graph).unwrap();
	let last_n = commit::node_proof(&m.graph, MAX_NODES).unwrap();
	assert_eq!(last_n.siblings.len(), commit::GRAPH_DEPTH as usize);
	assert!(last_n.verify(
		&graph_root,
		&commit::node_leaf(&m.graph.nodes[MAX_NODES - 1])
	));
	// the last graph state opens to the last node's output
	let s = e.states.slot_proof(MAX_NODES, MAX_NODES).unwrap();
	assert_eq!(s.siblings.len(), commit::STATE_DEPTH as usize);
	// the last node in the VM gives the native root
	let guest = Guest::builtin().unwrap();
	let bytes = e.outputs[MAX_NODES - 2].to_bytes();
	let run = guest
		.run_node(&m.graph.nodes[MAX_NODES - 1], &[&bytes], DEFAULT_MAX_STEPS)
		.unwrap();
	assert_eq!(run.output_root, e.states.slots()[MAX_NODES]);
	// one more node, or one more weight, is refused; so are states past the depth
	assert_eq!(
		check_model(&relu_chain(MAX_NODES + 1, 0)),
		Err(NnError::GraphSize)
	);
	assert_eq!(
		check_model(&relu_chain(1, MAX_WEIGHTS + 1)),
		Err(NnError::GraphSize)
	);
	assert!(GraphStates::new(vec![[0; 32]; MAX_NODES + 2]).is_err());
}

#[test]
fn a_64_mib_weight_fills_its_vm_slot_and_gives_the_native_root() {
	// an embedding table of 65 536 rows of 1024: exactly MAX_WEIGHT_BYTES
	let (v, d) = (65_536u32, 1024u32);
	assert_eq!((v * d) as usize, MAX_WEIGHT_BYTES);
	let table: Vec<u8> = (0..(v * d) as usize)
		.map(|i| (i as u32).wrapping_mul(2_654_435_761).rotate_right(13) as u8)
		.collect();
	let ids = TensorDesc::i32(&[4]);
	let node = Node {
		op: Op::Gather,
		inputs: vec![
			NodeInput {
				source: Source::Weight(0),
				desc: TensorDesc::i8(&[v, d], 0.05),
			},
			NodeInput {
				source: Source::Slot(0),
				desc: ids.clone(),
			},
		],
		output: TensorDesc::i8(&[4, d], 0.05),
	};
	let m = Model {
		graph: Graph {
			input: ids,
			nodes: vec![node.clone()],
		},
		weights: vec![Weight {
			desc: TensorDesc::i8(&[v, d], 0.05),
			data: table.clone(),
		}],
	};
	let p = Prepared::new(m.clone()).unwrap();
	let input = TensorData::I32(vec![0, 65_535, 31_337, 1]);
	let e = p.run_data(&Reference, input.clone()).unwrap();
	let out = e.outputs[0].as_i8().unwrap();
	let row = |r: usize| &table[r * d as usize..(r + 1) * d as usize];
	assert_eq!(
		out[1024..2048].iter().map(|&x| x as u8).collect::<Vec<_>>(),
		row(65_535)
	);

	// in the VM: the machine's initial root is the chain's, the output root the native
	let guest = Guest::builtin().unwrap();
	let id_bytes = input.to_bytes();
	let refs: [&[u8]; 2] = [&table, &id_bytes];
	let mut vm = guest.node_vm(&node, &refs).unwrap();
	assert_eq!(
		vm.mem.root(),
		guest.initial_memory_root(&node, &refs).unwrap()
	);
	let run = guest.run_node(&node, &refs, DEFAULT_MAX_STEPS).unwrap();
	assert_eq!(run.output_root, e.states.slots()[1]);

	// one more row is refused as a weight; an activation is held to MAX_TENSOR_BYTES
	let mut big = m.clone();
	big.weights[0].desc = TensorDesc::i8(&[v + 1, d], 0.05);
	big.weights[0].data.resize(((v + 1) * d) as usize, 0);
	assert_eq!(check_model(&big), Err(NnError::WeightLength { weight: 0 }));
	let mut wide_out = node.clone();
	wide_out.inputs[1].desc = TensorDesc::i32(&[16 * 1024 + 1]);
	wide_out.output = TensorDesc::i8(&[16 * 1024 + 1, d], 0.05);
	assert_eq!(check_node(&wide_out), Err(NnError::BadTensor));
}
