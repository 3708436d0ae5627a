//! Domain-tagged BLAKE2b-256.
//!
//! Every hashed *record* starts with a 16-byte [`Tag`], so that a hash of one kind of
//! record can never be replayed as a hash of another kind. Merkle inner nodes are the
//! one exception (DESIGN.md §3): `node = H(left || right)`, untagged, because the tree
//! has a fixed depth and its leaves are raw data, never hashes of records.

/// A 32-byte BLAKE2b-256 digest.
pub type Hash = [u8; 32];

/// The all-zero 32-byte value (an empty Merkle leaf).
pub const ZERO_HASH: Hash = [0u8; 32];

/// A domain tag: 16 bytes, ASCII, zero padded. Each record kind has its own.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Tag(pub [u8; 16]);

impl Tag {
	/// Build a tag from an ASCII name of at most 16 bytes (zero padded).
	///
	/// A longer name is a compile-time error when used in a `const`.
	pub const fn new(name: &str) -> Self {
		let b = name.as_bytes();
		assert!(b.len() <= 16, "tag names are at most 16 bytes");
		let mut out = [0u8; 16];
		let mut i = 0;
		while i < b.len() {
			out[i] = b[i];
			i += 1;
		}
		Tag(out)
	}
}

/// Tags of every record kind hashed by the OPML protocol. Never reuse one.
pub mod tags {
	use super::Tag;
	/// A VM state (`H(tag, SCALE(state))`).
	pub const VM_STATE: Tag = Tag::new("opml/vm-state");
	/// A result commitment of commit-reveal.
	pub const RESULT_COMMITMENT: Tag = Tag::new("opml/result-cmt");
	/// A graph-node descriptor.
	pub const NODE_DESCRIPTOR: Tag = Tag::new("opml/node-desc");
	/// A provider's commitment to a round-seed secret.
	pub const SEED_COMMITMENT: Tag = Tag::new("opml/seed-cmt");
	/// A round-seed secret derived from key material.
	pub const SEED_SECRET: Tag = Tag::new("opml/seed-secret");
	/// A round's seed.
	pub const ROUND_SEED: Tag = Tag::new("opml/round-seed");
}

/// BLAKE2b-256 of `data`.
#[inline]
pub fn blake2_256(data: &[u8]) -> Hash {
	sp_crypto_hashing::blake2_256(data)
}

/// `H(tag || part_0 || part_1 || ...)`.
pub fn hash_tagged(tag: Tag, parts: &[&[u8]]) -> Hash {
	let len = 16 + parts.iter().map(|p| p.len()).sum::<usize>();
	let mut buf = alloc::vec::Vec::with_capacity(len);
	buf.extend_from_slice(&tag.0);
	for p in parts {
		buf.extend_from_slice(p);
	}
	blake2_256(&buf)
}

/// A Merkle inner node: `H(left || right)`.
#[inline]
pub fn hash_pair(left: &Hash, right: &Hash) -> Hash {
	let mut buf = [0u8; 64];
	buf[..32].copy_from_slice(left);
	buf[32..].copy_from_slice(right);
	blake2_256(&buf)
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn tags_are_distinct_and_domain_separate() {
		let all = [
			tags::VM_STATE,
			tags::RESULT_COMMITMENT,
			tags::NODE_DESCRIPTOR,
			tags::SEED_COMMITMENT,
			tags::SEED_SECRET,
			tags::ROUND_SEED,
		];
		for (i, a) in all.iter().enumerate() {
			for b in &all[i + 1..] {
				assert_ne!(a, b);
				assert_ne!(hash_tagged(*a, &[b"x"]), hash_tagged(*b, &[b"x"]));
			}
		}
	}

	#[test]
	fn blake2_known_vector() {
		// BLAKE2b-256("") from the reference implementation.
		let h = blake2_256(b"");
		assert_eq!(h[..8], [0x0e, 0x57, 0x51, 0xc0, 0x26, 0xe5, 0x43, 0xb2]);
	}

	#[test]
	fn tagged_is_concatenation() {
		let t = tags::VM_STATE;
		let mut buf = t.0.to_vec();
		buf.extend_from_slice(b"abc");
		assert_eq!(hash_tagged(t, &[b"a", b"bc"]), blake2_256(&buf));
	}
}
