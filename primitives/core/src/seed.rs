//! Round seeds (docs/security.md H2): the market draws a round's seats from a seed
//! that mixes the runtime's randomness at the round's snapshot with a secret of every
//! provider in the round. Each provider commits to its secret before the round
//! ([`commitment`]) and reveals it after the snapshot; nobody knows the seed before
//! the last secret is in, and a provider can only steer it by withholding its secret,
//! which the market slashes. The worker derives its secrets from its key
//! ([`derive_secret`]) so it stores none.

use crate::hash::{hash_tagged, tags, Hash};

/// The commitment to `secret`: `H("opml/seed-cmt", secret)`.
pub fn commitment(secret: &Hash) -> Hash {
	hash_tagged(tags::SEED_COMMITMENT, &[secret])
}

/// Secret number `index` of private `key` material: `H("opml/seed-secret", key,
/// index_le)`. Unpredictable without the key; the same after a restart.
pub fn derive_secret(key: &[u8], index: u32) -> Hash {
	hash_tagged(tags::SEED_SECRET, &[key, &index.to_le_bytes()])
}

/// Add `secret` into the XOR of a round's revealed secrets (order does not matter).
pub fn mix(acc: &mut Hash, secret: &Hash) {
	for (a, s) in acc.iter_mut().zip(secret.iter()) {
		*a ^= s;
	}
}

/// The seed of round `round`: `H("opml/round-seed", randomness, mix, round_le)`.
pub fn round_seed(randomness: &Hash, mix: &Hash, round: u32) -> Hash {
	hash_tagged(tags::ROUND_SEED, &[randomness, mix, &round.to_le_bytes()])
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn the_mix_is_order_free_and_every_secret_changes_the_seed() {
		let s: [Hash; 3] = [[1; 32], [2; 32], [7; 32]];
		let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
		for x in &s {
			mix(&mut a, x);
		}
		for x in s.iter().rev() {
			mix(&mut b, x);
		}
		assert_eq!(a, b);
		let r = [9u8; 32];
		let seed = round_seed(&r, &a, 4);
		let mut c = a;
		mix(&mut c, &[1; 32]); // one secret withheld
		assert_ne!(round_seed(&r, &c, 4), seed);
		assert_ne!(round_seed(&r, &a, 5), seed);
		assert_ne!(round_seed(&[8; 32], &a, 4), seed);
	}

	#[test]
	fn derived_secrets_differ_by_key_and_index_and_open_their_commitments() {
		let a = derive_secret(b"//Alice", 0);
		assert_ne!(a, derive_secret(b"//Alice", 1));
		assert_ne!(a, derive_secret(b"//Bob", 0));
		assert_eq!(a, derive_secret(b"//Alice", 0));
		assert_ne!(commitment(&a), a);
		assert_ne!(commitment(&a), commitment(&derive_secret(b"//Alice", 1)));
	}
}
