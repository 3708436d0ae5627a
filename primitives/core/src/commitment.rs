//! Commit-reveal commitments and the rolling hash of chunked reveals (DESIGN.md §3).
//!
//! Both the runtime and the worker call these functions, so the bytes a provider
//! commits are exactly the bytes the chain checks.

use crate::hash::{blake2_256, hash_tagged, tags, Hash};
use codec::Encode;

/// The result commitment `H(tag, task_id, account, result_root, salt)`.
///
/// Binding the account means provider B cannot commit provider A's revealed result
/// as its own: B's commitment over A's root would need A's account.
pub fn result_commitment<AccountId: Encode>(
	task_id: u64,
	account: &AccountId,
	result_root: &Hash,
	salt: &[u8; 32],
) -> Hash {
	hash_tagged(
		tags::RESULT_COMMITMENT,
		&[&task_id.to_le_bytes(), &account.encode(), result_root, salt],
	)
}

/// The seed `h_0 = H(tag, task_id)` of a chunked reveal.
///
/// Unlike DESIGN.md's first draft, the seed does not bind the account: the final
/// rolling hash is the identity of the revealed payload, and a redundancy pool votes
/// on it, so equal payloads must give equal hashes. Copying is still impossible: the
/// commitment ([`result_commitment`] over the final hash) binds the account and is
/// closed before any chunk is revealed.
pub fn chunked_reveal_seed(task_id: u64) -> Hash {
	hash_tagged(tags::CHUNKED_REVEAL, &[&task_id.to_le_bytes()])
}

/// One step of the rolling hash: `h_k = H(h_{k-1} || chunk_k)`.
pub fn chunked_reveal_step(prev: &Hash, chunk: &[u8]) -> Hash {
	let mut buf = alloc::vec::Vec::with_capacity(32 + chunk.len());
	buf.extend_from_slice(prev);
	buf.extend_from_slice(chunk);
	blake2_256(&buf)
}

/// The final rolling hash of a payload cut into chunks of `chunk_size` bytes (the last
/// one may be shorter: the canonical cut the chain enforces, every chunk but the last
/// full). `chunk_size = 0` is treated as one chunk holding everything.
pub fn chunked_reveal_hash(task_id: u64, payload: &[u8], chunk_size: usize) -> Hash {
	let mut h = chunked_reveal_seed(task_id);
	if chunk_size == 0 {
		return chunked_reveal_step(&h, payload);
	}
	for c in payload.chunks(chunk_size) {
		h = chunked_reveal_step(&h, c);
	}
	h
}

#[cfg(test)]
mod tests {
	use super::*;
	use proptest::prelude::*;

	#[test]
	fn commitment_binds_every_field() {
		let base = result_commitment(1, &[1u8; 32], &[2u8; 32], &[3u8; 32]);
		assert_ne!(
			base,
			result_commitment(2, &[1u8; 32], &[2u8; 32], &[3u8; 32])
		);
		assert_ne!(
			base,
			result_commitment(1, &[9u8; 32], &[2u8; 32], &[3u8; 32])
		);
		assert_ne!(
			base,
			result_commitment(1, &[1u8; 32], &[9u8; 32], &[3u8; 32])
		);
		assert_ne!(
			base,
			result_commitment(1, &[1u8; 32], &[2u8; 32], &[9u8; 32])
		);
	}

	proptest! {
		#[test]
		fn rolling_hash_is_incremental(payload in proptest::collection::vec(any::<u8>(), 0..2000), cs in 1usize..300) {
			let mut h = chunked_reveal_seed(5);
			for c in payload.chunks(cs) { h = chunked_reveal_step(&h, c); }
			prop_assert_eq!(h, chunked_reveal_hash(5, &payload, cs));
		}
	}
}
