//! The off-chain side of the game (`std`): a [`Party`] holds one execution of a model
//! on an input — honest, or with an injected fault for tests and fault drills — and
//! answers every query the game asks: graph-state hashes at dissection points, which
//! sub-interval to dispute, the handoff at a node, VM state hashes, step witnesses.
//!
//! The defender posts [`Party::graph_hashes`] / [`NodeGame::hashes`] and
//! [`Party::handoff`]; the challenger answers with [`choose`] and ends the game with
//! [`NodeGame::witness`].

use crate::rules::{split, Handoff, InputProof, GRAPH_LAST};
use codec::Encode;
use opml_nn::{
	commit::{data_root, graph_root, model_proof, node_proof, tensor_root, GraphStates},
	layout::OUTPUT_BASE,
	types::Source,
	vm::{output_slot_proof, Guest, VmRunError, DEFAULT_MAX_STEPS},
	Prepared, TensorData,
};
use opml_primitives_core::{hash::blake2_256, Hash};
use opml_vm::{
	fast::{FastVm, Trace},
	state::VmState,
};

/// Steps between the checkpoints a [`NodeGame`] keeps.
pub const CHECKPOINT_INTERVAL: u64 = 4096;

/// Errors building a party's view.
#[derive(Debug)]
pub enum PartyError {
	/// Running a node in the VM failed.
	Vm(VmRunError),
	/// A Merkle computation failed (a model beyond the format's bounds).
	Merkle,
	/// The node index is not in `1..=N`, or outputs do not match the graph.
	BadIndex,
}

impl core::fmt::Display for PartyError {
	fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
		match self {
			PartyError::Vm(e) => write!(f, "VM: {e:?}"),
			PartyError::Merkle => write!(f, "Merkle computation failed"),
			PartyError::BadIndex => write!(f, "node index or outputs out of range"),
		}
	}
}

impl std::error::Error for PartyError {}

/// One party's execution of a model on an input: every node's claimed output and the
/// graph states `G_0..G_N` they give.
pub struct Party<'a> {
	guest: &'a Guest,
	model: &'a Prepared,
	input: TensorData,
	outputs: Vec<TensorData>,
	states: GraphStates,
	/// A liar's VM trajectory of its first wrong node departs from the truth at this
	/// step (`None`: only its claimed final state is wrong).
	vm_fault: Option<u64>,
}

impl<'a> Party<'a> {
	/// The honest party: every node run in the VM.
	pub fn honest(
		guest: &'a Guest,
		model: &'a Prepared,
		input: &TensorData,
	) -> Result<Self, PartyError> {
		let runs = guest
			.run_model_data(model, input, DEFAULT_MAX_STEPS)
			.map_err(PartyError::Vm)?;
		Self::with_outputs(
			guest,
			model,
			input,
			runs.into_iter().map(|r| r.output).collect(),
		)
	}

	/// A party claiming these node outputs (a liar if they differ from the VM's).
	pub fn with_outputs(
		guest: &'a Guest,
		model: &'a Prepared,
		input: &TensorData,
		outputs: Vec<TensorData>,
	) -> Result<Self, PartyError> {
		if outputs.len() != model.model.graph.nodes.len() {
			return Err(PartyError::BadIndex);
		}
		let mut slots = vec![data_root(input)];
		slots.extend(outputs.iter().map(data_root));
		let states = GraphStates::new(slots).map_err(|_| PartyError::Merkle)?;
		Ok(Party {
			guest,
			model,
			input: input.clone(),
			outputs,
			states,
			vm_fault: None,
		})
	}

	/// The same claims, but lying about the VM trajectory of the first wrong node from
	/// `step` on (as well as about its final state).
	pub fn lying_from_step(mut self, step: u64) -> Self {
		self.vm_fault = Some(step);
		self
	}

	/// The claimed node outputs.
	pub fn outputs(&self) -> &[TensorData] {
		&self.outputs
	}

	/// Number of nodes `N`.
	pub fn nodes(&self) -> u64 {
		self.states.nodes() as u64
	}

	/// The result root `G_N` (what is committed and revealed).
	pub fn result_root(&self) -> Hash {
		self.states.result_root()
	}

	/// `G_i` (for `i > N`, `G_N`).
	pub fn graph_hash(&self, i: u64) -> Hash {
		self.states.state(i as usize)
	}

	/// The graph-state hashes the defender posts for the split of `[a, b]`.
	pub fn graph_hashes(&self, a: u64, b: u64, k: u32) -> Vec<Hash> {
		let points = split(a, b, k).unwrap_or_default();
		points[1..points.len().saturating_sub(1)]
			.iter()
			.map(|&p| self.graph_hash(p))
			.collect()
	}

	/// The challenger's pick among the sub-intervals of `[a, b]` given the defender's
	/// posted hashes: the first whose end it disputes.
	pub fn choose_graph(&self, a: u64, b: u64, k: u32, posted: &[Hash]) -> u32 {
		let points = split(a, b, k).unwrap_or_default();
		choose(&points, posted, |p| self.graph_hash(p))
	}

	/// The inputs' canonical bytes of node `i` (1-based) in this party's execution.
	fn node_inputs(&self, i: u64) -> Result<Vec<Vec<u8>>, PartyError> {
		let node = self
			.model
			.model
			.graph
			.nodes
			.get((i as usize).wrapping_sub(1))
			.ok_or(PartyError::BadIndex)?;
		Ok(self
			.model
			.input_bytes(node, |s| match s {
				0 => &self.input,
				s => &self.outputs[s as usize - 1],
			})
			.into_iter()
			.map(|c| c.into_owned())
			.collect())
	}

	/// This party's view of node `i`'s VM game (`1 <= i <= N`).
	pub fn node_game(&self, i: u64) -> Result<NodeGame, PartyError> {
		let node = &self.model.model.graph.nodes[(i as usize)
			.checked_sub(1)
			.filter(|&j| j < self.outputs.len())
			.ok_or(PartyError::BadIndex)?];
		let inputs = self.node_inputs(i)?;
		let refs: Vec<&[u8]> = inputs.iter().map(|b| &b[..]).collect();
		let vm = self.guest.node_vm(node, &refs).map_err(PartyError::Vm)?;
		let trace = Trace::record(vm, CHECKPOINT_INTERVAL, DEFAULT_MAX_STEPS);
		let steps = trace.final_step;
		let mut final_vm = trace.vm_at(steps);
		let claimed = self.outputs[i as usize - 1].to_bytes();
		let true_output = final_vm.mem.read_bytes(OUTPUT_BASE, claimed.len());
		let lie_from = if true_output != claimed {
			final_vm.mem.write_bytes(OUTPUT_BASE, &claimed);
			Some(self.vm_fault.unwrap_or(steps).clamp(1, steps))
		} else {
			None
		};
		Ok(NodeGame {
			trace,
			steps,
			final_vm,
			lie_from,
		})
	}

	/// The handoff the defender posts at node `i` (`1 <= i <= GRAPH_LAST`), with its
	/// view `game` of the node (`None` past the last node).
	pub fn handoff(&self, i: u64, game: Option<&mut NodeGame>) -> Result<Handoff, PartyError> {
		let model = &self.model.model;
		let graph = &model.graph;
		let g_root = graph_root(graph).map_err(|_| PartyError::Merkle)?;
		let graph_proof = model_proof(model, 0).map_err(|_| PartyError::Merkle)?;
		if i == 0 || i > GRAPH_LAST {
			return Err(PartyError::BadIndex);
		}
		let Some(game) = game.filter(|_| i <= self.nodes()) else {
			return Ok(Handoff::NoNode {
				graph_root: g_root,
				graph_proof,
				empty_proof: node_proof(graph, i as usize).map_err(|_| PartyError::Merkle)?,
			});
		};
		let node = &graph.nodes[i as usize - 1];
		let mut inputs = Vec::with_capacity(node.inputs.len());
		for input in &node.inputs {
			inputs.push(match input.source {
				Source::Slot(s) => InputProof::Slot {
					root: self.states.slots()[s as usize],
					proof: self
						.states
						.slot_proof(i as usize - 1, s as usize)
						.map_err(|_| PartyError::Merkle)?,
				},
				Source::Weight(w) => InputProof::Weight {
					root: tensor_root(&model.weights[w as usize].data).0,
					proof: model_proof(model, 1 + w as usize).map_err(|_| PartyError::Merkle)?,
				},
			});
		}
		let (_, output_proof) = output_slot_proof(&mut game.final_vm);
		Ok(Handoff::Node {
			graph_root: g_root,
			graph_proof,
			node: node.encode(),
			node_proof: node_proof(graph, i as usize).map_err(|_| PartyError::Merkle)?,
			inputs,
			output_root: self.states.slots()[i as usize],
			slot_proof: self
				.states
				.slot_proof(i as usize, i as usize)
				.map_err(|_| PartyError::Merkle)?,
			final_state: game.final_state(),
			output_proof,
		})
	}
}

/// A party's view of one node's VM execution: state hashes at any step, its final
/// state, step witnesses.
pub struct NodeGame {
	trace: Trace,
	steps: u64,
	final_vm: FastVm,
	/// A liar's claims depart from the truth from this step on.
	lie_from: Option<u64>,
}

impl NodeGame {
	/// Steps of the (true) execution; the claimed final state is at this step.
	pub fn steps(&self) -> u64 {
		self.steps
	}

	/// The claimed final state (halted; for a liar, with its wrong output in memory).
	pub fn final_state(&mut self) -> VmState {
		self.final_vm.state()
	}

	/// The claimed state hash after `n` steps.
	pub fn state_hash(&mut self, n: u64) -> Hash {
		let truth = self.trace.state_at(n.min(self.steps)).hash();
		match self.lie_from {
			Some(_) if n >= self.steps => self.final_state().hash(),
			Some(s) if n >= s => blake2_256(&[&truth[..], b"lie"].concat()),
			_ => truth,
		}
	}

	/// The VM-state hashes the defender posts for the split of `[a, b]`.
	pub fn hashes(&mut self, a: u64, b: u64, k: u32) -> Vec<Hash> {
		let points = split(a, b, k).unwrap_or_default();
		points[1..points.len().saturating_sub(1)]
			.iter()
			.map(|&p| self.state_hash(p))
			.collect()
	}

	/// The challenger's pick among the sub-intervals of `[a, b]`.
	pub fn choose(&mut self, a: u64, b: u64, k: u32, posted: &[Hash]) -> u32 {
		let points = split(a, b, k).unwrap_or_default();
		choose(&points, posted, |p| self.state_hash(p))
	}

	/// The encoded witness of the (true) step from `n` to `n + 1`.
	pub fn witness(&self, n: u64) -> Vec<u8> {
		self.trace.witness_at(n).encode()
	}
}

/// The first sub-interval `[p_c, p_{c+1}]` whose end the chooser disputes, given the
/// split `points` (`p_0..p_m`), the defender's `posted` hashes at `p_1..p_{m-1}` and
/// the chooser's own hash at any point (the end `p_m` is disputed by definition).
pub fn choose(points: &[u64], posted: &[Hash], mut ours: impl FnMut(u64) -> Hash) -> u32 {
	let m = points.len().saturating_sub(1);
	for (c, &p) in points.iter().enumerate().take(m).skip(1) {
		if posted.get(c - 1) != Some(&ours(p)) {
			return (c - 1) as u32;
		}
	}
	m.saturating_sub(1) as u32
}
