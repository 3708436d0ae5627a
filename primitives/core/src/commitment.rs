//! Commit-reveal commitments (DESIGN.md §3). A chunked reveal needs nothing more: the
//! chain checks its chunks against the revealed result root with tensor roots
//! ([`crate::merkle::pieces_root`]).
//!
//! Both the runtime and the worker call these functions, so the bytes a provider
//! commits are exactly the bytes the chain checks.

use crate::hash::{hash_tagged, tags, Hash};
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

#[cfg(test)]
mod tests {
	use super::*;

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
}
