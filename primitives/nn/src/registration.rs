//! What a model's registration carries and what the chain checks of it (docs/security.md
//! H4, M10): the graph descriptor, `SCALE(Graph)`, and the graph root's siblings in the
//! model commitment (leaf 0, [`MODEL_DEPTH`]). The chain does not see the weights, but
//! from the graph alone it checks the format ([`check_graph_structure`]) and that every
//! node's static VM step bound ([`node_steps_bound`]) is within its `MaxNodeSteps`: so a
//! dispute over any node of a registered model can be handed off and re-executed, and no
//! one can register a model whose results honest verifiers could not contest.

use crate::{
	check::check_graph_structure,
	commit::{graph_root, model_proof, MODEL_DEPTH},
	cost::node_steps_bound,
	types::{Graph, Model},
	NnError,
};
use alloc::vec::Vec;
use codec::{DecodeAll, Encode};
use opml_primitives_core::{
	merkle::{MerkleError, SubtreeProof},
	Hash,
};

/// Why a registration's graph is refused.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum RegistrationError {
	/// The bytes are not exactly one SCALE-encoded [`Graph`].
	Decode,
	/// The graph fails the format's checks.
	Format(NnError),
	/// The graph's root is not leaf 0 of the commitment under the siblings given.
	NotCommitted,
	/// Node `node` (1-based) may take `bound` VM steps, more than the chain's bound.
	TooHeavy {
		/// 1-based node index.
		node: usize,
		/// Its [`node_steps_bound`].
		bound: u64,
	},
}

/// A model's registration: `SCALE(graph)` and the graph root's siblings in the model
/// commitment, bottom first.
pub fn graph_registration(model: &Model) -> Result<(Vec<u8>, Vec<Hash>), MerkleError> {
	Ok((model.graph.encode(), model_proof(model, 0)?.siblings))
}

/// Check a registration against `commitment` and a step bound: decodes the graph (all
/// of `graph`), checks its format, proves its root is leaf 0 of `commitment` and every
/// node's step bound within `max_node_steps`. Returns the graph. Work: linear in
/// `graph.len()` (decoding, checking and hashing each node once) plus `MODEL_DEPTH`
/// hashes.
pub fn verify_graph_registration(
	commitment: &Hash,
	graph: &[u8],
	siblings: &[Hash],
	max_node_steps: u64,
) -> Result<Graph, RegistrationError> {
	let g = Graph::decode_all(&mut &graph[..]).map_err(|_| RegistrationError::Decode)?;
	check_graph_structure(&g).map_err(RegistrationError::Format)?;
	let root = graph_root(&g).map_err(|_| RegistrationError::Format(NnError::GraphSize))?;
	let proof = SubtreeProof {
		depth: MODEL_DEPTH,
		height: 0,
		index: 0,
		siblings: siblings.to_vec(),
	};
	if !proof.verify(commitment, &root) {
		return Err(RegistrationError::NotCommitted);
	}
	for (i, node) in g.nodes.iter().enumerate() {
		let bound = node_steps_bound(node);
		if bound > max_node_steps {
			return Err(RegistrationError::TooHeavy { node: i + 1, bound });
		}
	}
	Ok(g)
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::{commit::model_commitment, types::*, zoo};

	#[test]
	fn a_model_registers_with_its_graph_and_nothing_else_does() {
		let m = zoo::mlp(&[64, 32, 10], 1);
		let c = model_commitment(&m).unwrap();
		let (g, s) = graph_registration(&m).unwrap();
		assert_eq!(s.len(), MODEL_DEPTH as usize);
		assert_eq!(
			verify_graph_registration(&c, &g, &s, u64::MAX),
			Ok(m.graph.clone())
		);
		// another model's commitment, wrong siblings, trailing or missing bytes
		let other = model_commitment(&zoo::mlp(&[64, 32, 10], 2)).unwrap();
		assert_eq!(
			verify_graph_registration(&other, &g, &s, u64::MAX),
			Err(RegistrationError::NotCommitted)
		);
		let mut bad = s.clone();
		bad[3][0] ^= 1;
		assert_eq!(
			verify_graph_registration(&c, &g, &bad, u64::MAX),
			Err(RegistrationError::NotCommitted)
		);
		assert_eq!(
			verify_graph_registration(&c, &g, &s[1..], u64::MAX),
			Err(RegistrationError::NotCommitted)
		);
		let mut long = g.clone();
		long.push(0);
		assert_eq!(
			verify_graph_registration(&c, &long, &s, u64::MAX),
			Err(RegistrationError::Decode)
		);
		assert_eq!(
			verify_graph_registration(&c, &g[..g.len() - 1], &s, u64::MAX),
			Err(RegistrationError::Decode)
		);
		// the heaviest node decides
		let bounds: Vec<u64> = m.graph.nodes.iter().map(node_steps_bound).collect();
		let (j, &max) = bounds.iter().enumerate().max_by_key(|(_, b)| **b).unwrap();
		assert_eq!(
			verify_graph_registration(&c, &g, &s, max).map(|_| ()),
			Ok(())
		);
		assert_eq!(
			verify_graph_registration(&c, &g, &s, max - 1),
			Err(RegistrationError::TooHeavy {
				node: j + 1,
				bound: max
			})
		);
	}

	#[test]
	fn a_committed_graph_that_breaks_the_format_is_refused() {
		// a node reading a later slot, committed honestly: the format refuses it
		let mut m = zoo::mlp(&[64, 32, 10], 1);
		m.graph.nodes[0].inputs[0].source = Source::Slot(2);
		let c = model_commitment(&m).unwrap();
		let (g, s) = graph_registration(&m).unwrap();
		assert_eq!(
			verify_graph_registration(&c, &g, &s, u64::MAX),
			Err(RegistrationError::Format(NnError::BadSource { node: 1 }))
		);
		// a weight index past MAX_WEIGHTS
		let mut m = zoo::mlp(&[64, 32, 10], 1);
		let w = m.graph.nodes[0]
			.inputs
			.iter_mut()
			.find(|i| matches!(i.source, Source::Weight(_)))
			.unwrap();
		w.source = Source::Weight(MAX_WEIGHTS as u16);
		let c = model_commitment(&m).unwrap();
		let (g, s) = graph_registration(&m).unwrap();
		assert_eq!(
			verify_graph_registration(&c, &g, &s, u64::MAX),
			Err(RegistrationError::Format(NnError::BadSource { node: 1 }))
		);
	}
}
