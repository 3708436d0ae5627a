//! The guest's hand-written SCALE decoder of node descriptors accepts exactly what
//! parity-scale-codec accepts and decodes the same values.

mod common;

use codec::{Decode, Encode};
use common::{random_case, OPS};
use opml_nn::{types::Node, wire::decode_node_unchecked};
use proptest::prelude::*;

fn codec_decode(bytes: &[u8]) -> Option<Node> {
	let mut input = bytes;
	let n = Node::decode(&mut input).ok()?;
	input.is_empty().then_some(n)
}

proptest! {
	#![proptest_config(ProptestConfig::with_cases(500))]
	#[test]
	fn round_trips_every_op(op in 0..OPS.len(), seed in any::<u64>()) {
		let node = random_case(OPS[op], seed).node;
		let bytes = node.encode();
		prop_assert_eq!(decode_node_unchecked(&bytes).ok(), Some(node));
	}

	#[test]
	fn agrees_with_codec_on_mutated_encodings(
		op in 0..OPS.len(),
		seed in any::<u64>(),
		edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4),
		cut in any::<Option<usize>>(),
	) {
		let mut bytes = random_case(OPS[op], seed).node.encode();
		for (i, v) in edits {
			let i = i % bytes.len();
			bytes[i] = v;
		}
		if let Some(c) = cut {
			bytes.truncate(c % (bytes.len() + 1));
		}
		prop_assert_eq!(decode_node_unchecked(&bytes).ok(), codec_decode(&bytes));
	}

	#[test]
	fn agrees_with_codec_on_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
		prop_assert_eq!(decode_node_unchecked(&bytes).ok(), codec_decode(&bytes));
	}
}

#[test]
fn non_canonical_compact_lengths_are_rejected_like_the_codec() {
	let node = random_case("relu", 1).node;
	let bytes = node.encode();
	// inputs length 1 as a two-byte compact (0b01 mode): non-canonical
	let mut b = vec![bytes[0]];
	b.extend_from_slice(&[0x05, 0x00]);
	b.extend_from_slice(&bytes[2..]);
	assert!(decode_node_unchecked(&b).is_err());
	assert!(codec_decode(&b).is_none());
}
