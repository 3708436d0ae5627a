//! Fixed-depth binary Merkle trees (BMT) over raw 32-byte leaves (DESIGN.md §3).
//!
//! A tree of depth `d` has `2^d` leaf slots. Leaves are raw 32-byte chunks (data is
//! zero padded to a multiple of 32 bytes); an inner node is [`hash_pair`]`(left, right)`;
//! absent leaves are zero, so an all-zero subtree of height `h` has the precomputed root
//! [`zero_root`]`(h)`. The same code serves VM memory (depth 27), tensors, graph states
//! and model commitments.
//!
//! Proofs:
//! - [`SubtreeProof`]: that the subtree of height `h` at position `i` has a given root;
//!   with `h = 0` it is a leaf inclusion proof. It also proves a one-node update.
//! - [`MultiProof`]: several leaves at once, with the minimal set of helper hashes, and
//!   the update of all of them (old root → new root).
//! - [`extend_root`]: the root of a tree moved into slot 0 of a deeper tree.
//!
//! Every verifier takes attacker-supplied proofs: all errors are typed, nothing panics.

use crate::hash::{hash_pair, Hash, ZERO_HASH};
use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;

/// The deepest tree any proof may claim (a bound on verifier work).
pub const MAX_DEPTH: u32 = 64;

/// Why a Merkle operation or proof was rejected.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Encode, Decode, TypeInfo, MaxEncodedLen)]
pub enum MerkleError {
	/// The depth is larger than [`MAX_DEPTH`].
	DepthTooLarge,
	/// More leaves than the tree has slots.
	TooManyLeaves,
	/// An index is outside the tree (or the level it addresses).
	IndexOutOfRange,
	/// A subtree height larger than the tree's depth.
	HeightAboveDepth,
	/// The number of sibling hashes does not match `depth - height`.
	WrongSiblingCount,
	/// Multi-proof indices are not strictly increasing.
	IndicesNotSorted,
	/// A multi-proof was given a different number of leaves than it has indices.
	LeafCountMismatch,
	/// A multi-proof ran out of helper hashes.
	HelpersMissing,
	/// A multi-proof has helper hashes left over (non-canonical proof).
	HelpersUnused,
	/// A multi-proof with no indices.
	Empty,
	/// The proof does not lead to the expected root.
	RootMismatch,
}

impl core::fmt::Display for MerkleError {
	fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
		core::fmt::Debug::fmt(self, f)
	}
}

#[cfg(feature = "std")]
impl std::error::Error for MerkleError {}

/// Root of an all-zero subtree of height `height` (`zero_root(0)` is the zero leaf).
pub fn zero_root(height: u32) -> Hash {
	let mut z = ZERO_HASH;
	for _ in 0..height {
		z = hash_pair(&z, &z);
	}
	z
}

/// The zero-subtree roots of heights `0..=max_height`, computed once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZeroHashes(Vec<Hash>);

impl ZeroHashes {
	/// Precompute heights `0..=max_height` (clamped to [`MAX_DEPTH`]).
	pub fn new(max_height: u32) -> Self {
		let max_height = max_height.min(MAX_DEPTH);
		let mut v = Vec::with_capacity(max_height as usize + 1);
		let mut z = ZERO_HASH;
		v.push(z);
		for _ in 0..max_height {
			z = hash_pair(&z, &z);
			v.push(z);
		}
		ZeroHashes(v)
	}

	/// The root of an all-zero subtree of height `h` (computed if beyond the table).
	pub fn get(&self, h: u32) -> Hash {
		match self.0.get(h as usize) {
			Some(z) => *z,
			None => zero_root(h),
		}
	}
}

/// The depth a tree needs for `n` leaves: `ceil(log2(n))`, 0 for `n <= 1`.
pub fn depth_for(n: u64) -> u32 {
	if n <= 1 {
		0
	} else {
		64 - (n - 1).leading_zeros()
	}
}

/// Split bytes into 32-byte leaves, zero padding the last one.
pub fn chunk_bytes(bytes: &[u8]) -> Vec<Hash> {
	bytes
		.chunks(32)
		.map(|c| {
			let mut leaf = ZERO_HASH;
			leaf[..c.len()].copy_from_slice(c);
			leaf
		})
		.collect()
}

/// Root of a depth-`depth` tree whose first leaves are `leaves` and the rest zero.
pub fn root(leaves: &[Hash], depth: u32) -> Result<Hash, MerkleError> {
	subtrees_root(leaves, depth, 0)
}

/// Root of a tree of `depth` levels above subtrees of height `height`, whose first
/// subtrees have the roots `roots` and the rest are all zero: the root at depth
/// `height + depth` of bytes cut into aligned pieces of `32 · 2^height` bytes.
pub fn subtrees_root(roots: &[Hash], depth: u32, height: u32) -> Result<Hash, MerkleError> {
	if depth.saturating_add(height) > MAX_DEPTH {
		return Err(MerkleError::DepthTooLarge);
	}
	if depth < 64 && roots.len() as u128 > (1u128 << depth) {
		return Err(MerkleError::TooManyLeaves);
	}
	let zeros = ZeroHashes::new(depth + height);
	let mut level: Vec<Hash> = roots.to_vec();
	for h in height..height + depth {
		if level.is_empty() {
			return Ok(zeros.get(depth + height));
		}
		let z = zeros.get(h);
		level = level
			.chunks(2)
			.map(|p| hash_pair(&p[0], p.get(1).unwrap_or(&z)))
			.collect();
	}
	Ok(level.first().copied().unwrap_or(ZERO_HASH))
}

/// Root and depth of a byte string's tree at its natural depth `ceil(log2(leaves))`
/// (the *tensor root* of DESIGN.md §3).
pub fn bytes_root(bytes: &[u8]) -> (Hash, u32) {
	let leaves = chunk_bytes(bytes);
	let depth = depth_for(leaves.len() as u64);
	// `depth_for` guarantees the leaves fit; an empty byte string is the zero leaf.
	(root(&leaves, depth).unwrap_or(ZERO_HASH), depth)
}

/// The tensor root and depth of a byte string given as pieces: `pieces` are the
/// tensor roots and natural depths ([`bytes_root`]) of consecutive pieces, each but the
/// last of exactly `32 · 2^height` bytes (so of depth `height`). Equals
/// `bytes_root(concatenation)`; what a chain computes from a payload revealed in
/// chunks without holding it.
pub fn pieces_root(pieces: &[(Hash, u32)], height: u32) -> Result<(Hash, u32), MerkleError> {
	let Some((&(last, last_depth), full)) = pieces.split_last() else {
		return Ok(bytes_root(&[]));
	};
	if full.is_empty() {
		return Ok((last, last_depth));
	}
	if last_depth > height || full.iter().any(|&(_, d)| d != height) {
		return Err(MerkleError::HeightAboveDepth);
	}
	let mut roots: Vec<Hash> = full.iter().map(|&(r, _)| r).collect();
	roots.push(extend_root(last, last_depth, height)?);
	let depth = depth_for(roots.len() as u64);
	Ok((subtrees_root(&roots, depth, height)?, height + depth))
}

/// The root of a deeper tree that holds the depth-`from` tree with root `root` in its
/// first slot and zeros elsewhere: so a tensor root equals the root of the aligned
/// memory region that holds it.
pub fn extend_root(root: Hash, from: u32, to: u32) -> Result<Hash, MerkleError> {
	if to > MAX_DEPTH {
		return Err(MerkleError::DepthTooLarge);
	}
	if from > to {
		return Err(MerkleError::HeightAboveDepth);
	}
	let mut r = root;
	let mut z = zero_root(from);
	for _ in from..to {
		r = hash_pair(&r, &z);
		z = hash_pair(&z, &z);
	}
	Ok(r)
}

/// The root reached from `node` at position `index` by hashing with `siblings`
/// (bottom first): the one path computation behind every single-path proof.
pub fn fold_path(node: &Hash, index: u64, siblings: &[Hash]) -> Hash {
	let mut acc = *node;
	let mut idx = index;
	for s in siblings {
		acc = if idx & 1 == 0 {
			hash_pair(&acc, s)
		} else {
			hash_pair(s, &acc)
		};
		idx >>= 1;
	}
	acc
}

/// A proof that the subtree of height `height` at position `index` of a depth-`depth`
/// tree has a given root. `height = 0` makes it a leaf inclusion proof.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo)]
pub struct SubtreeProof {
	/// Depth of the whole tree.
	pub depth: u32,
	/// Height of the proven subtree (0 = one leaf).
	pub height: u32,
	/// Position of the subtree among the `2^(depth - height)` subtrees of its height.
	pub index: u64,
	/// Sibling hashes from the subtree's level up to the root's children, bottom first.
	pub siblings: Vec<Hash>,
}

impl SubtreeProof {
	fn check_shape(&self) -> Result<(), MerkleError> {
		if self.depth > MAX_DEPTH {
			return Err(MerkleError::DepthTooLarge);
		}
		if self.height > self.depth {
			return Err(MerkleError::HeightAboveDepth);
		}
		let levels = self.depth - self.height;
		if levels < 64 && self.index >= (1u64 << levels) {
			return Err(MerkleError::IndexOutOfRange);
		}
		if self.siblings.len() != levels as usize {
			return Err(MerkleError::WrongSiblingCount);
		}
		Ok(())
	}

	/// The root implied by this proof if the subtree's root is `node`.
	pub fn compute_root(&self, node: &Hash) -> Result<Hash, MerkleError> {
		self.check_shape()?;
		Ok(fold_path(node, self.index, &self.siblings))
	}

	/// Whether `node` is the subtree's root under `root`.
	pub fn verify(&self, root: &Hash, node: &Hash) -> bool {
		self.compute_root(node).map(|r| &r == root).unwrap_or(false)
	}

	/// Check `old` against `old_root`, then return the root with the subtree replaced by `new`.
	pub fn update(&self, old_root: &Hash, old: &Hash, new: &Hash) -> Result<Hash, MerkleError> {
		if &self.compute_root(old)? != old_root {
			return Err(MerkleError::RootMismatch);
		}
		self.compute_root(new)
	}

	/// Whether everything to the right of the proven subtree is zero: every sibling
	/// on the right of the path (where the path goes left) is a zero subtree. With
	/// [`verify`](Self::verify), this proves the subtree is the last non-zero one —
	/// e.g. that a graph state's slot holds the output of the graph's last node.
	pub fn right_is_zero(&self) -> bool {
		if self.check_shape().is_err() {
			return false;
		}
		let mut z = zero_root(self.height);
		let mut idx = self.index;
		for s in &self.siblings {
			if idx & 1 == 0 && *s != z {
				return false;
			}
			z = hash_pair(&z, &z);
			idx >>= 1;
		}
		true
	}

	/// Encoded size in bytes (for proof-size budgets).
	pub fn size(&self) -> usize {
		self.encoded_size()
	}
}

/// A proof for several leaves of one tree at once, sharing the hashes they have in
/// common: the helpers are exactly the siblings that cannot be computed from the
/// proven leaves, in the canonical order (level by level, bottom first, left to right).
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo)]
pub struct MultiProof {
	/// Depth of the tree.
	pub depth: u32,
	/// Leaf indices, strictly increasing.
	pub indices: Vec<u64>,
	/// Helper hashes in canonical order.
	pub helpers: Vec<Hash>,
}

impl MultiProof {
	/// The root implied by this proof for the given leaves (one per index).
	pub fn compute_root(&self, leaves: &[Hash]) -> Result<Hash, MerkleError> {
		if self.depth > MAX_DEPTH {
			return Err(MerkleError::DepthTooLarge);
		}
		if self.indices.is_empty() {
			return Err(MerkleError::Empty);
		}
		if leaves.len() != self.indices.len() {
			return Err(MerkleError::LeafCountMismatch);
		}
		for w in self.indices.windows(2) {
			if w[0] >= w[1] {
				return Err(MerkleError::IndicesNotSorted);
			}
		}
		if let Some(last) = self.indices.last() {
			if self.depth < 64 && *last >= (1u64 << self.depth) {
				return Err(MerkleError::IndexOutOfRange);
			}
		}
		let mut level: Vec<(u64, Hash)> = self
			.indices
			.iter()
			.copied()
			.zip(leaves.iter().copied())
			.collect();
		let mut helpers = self.helpers.iter();
		for _ in 0..self.depth {
			let mut next = Vec::with_capacity(level.len());
			let mut i = 0;
			while i < level.len() {
				let (idx, h) = level[i];
				let parent = if idx & 1 == 0 {
					match level.get(i + 1) {
						Some((j, right)) if *j == idx + 1 => {
							i += 1;
							hash_pair(&h, right)
						}
						_ => hash_pair(&h, helpers.next().ok_or(MerkleError::HelpersMissing)?),
					}
				} else {
					hash_pair(helpers.next().ok_or(MerkleError::HelpersMissing)?, &h)
				};
				next.push((idx >> 1, parent));
				i += 1;
			}
			level = next;
		}
		if helpers.next().is_some() {
			return Err(MerkleError::HelpersUnused);
		}
		level.first().map(|(_, h)| *h).ok_or(MerkleError::Empty)
	}

	/// Whether `leaves` sit at `indices` under `root`.
	pub fn verify(&self, root: &Hash, leaves: &[Hash]) -> bool {
		self.compute_root(leaves)
			.map(|r| &r == root)
			.unwrap_or(false)
	}

	/// Check the old leaves against `old_root`, then return the root with every proven
	/// leaf replaced by its new value.
	pub fn update(
		&self,
		old_root: &Hash,
		old_leaves: &[Hash],
		new_leaves: &[Hash],
	) -> Result<Hash, MerkleError> {
		if &self.compute_root(old_leaves)? != old_root {
			return Err(MerkleError::RootMismatch);
		}
		self.compute_root(new_leaves)
	}
}

/// A materialised tree (all non-zero levels kept) for building proofs off chain and
/// for small on-chain trees. Slots after the given leaves are zero.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MerkleTree {
	depth: u32,
	/// `levels[h]` holds the nodes of height `h` that are not known-zero padding.
	levels: Vec<Vec<Hash>>,
	zeros: ZeroHashes,
}

impl MerkleTree {
	/// Build a depth-`depth` tree over `leaves` (zero padded).
	pub fn new(leaves: Vec<Hash>, depth: u32) -> Result<Self, MerkleError> {
		if depth > MAX_DEPTH {
			return Err(MerkleError::DepthTooLarge);
		}
		if depth < 64 && leaves.len() as u128 > (1u128 << depth) {
			return Err(MerkleError::TooManyLeaves);
		}
		let zeros = ZeroHashes::new(depth);
		let mut levels = Vec::with_capacity(depth as usize + 1);
		levels.push(leaves);
		for h in 0..depth as usize {
			let z = zeros.get(h as u32);
			let next: Vec<Hash> = levels[h]
				.chunks(2)
				.map(|p| hash_pair(&p[0], p.get(1).unwrap_or(&z)))
				.collect();
			levels.push(next);
		}
		Ok(MerkleTree {
			depth,
			levels,
			zeros,
		})
	}

	/// Build the tree of a byte string at depth `depth`.
	pub fn from_bytes(bytes: &[u8], depth: u32) -> Result<Self, MerkleError> {
		Self::new(chunk_bytes(bytes), depth)
	}

	/// The tree's depth.
	pub fn depth(&self) -> u32 {
		self.depth
	}

	/// The root.
	pub fn root(&self) -> Hash {
		self.node(self.depth, 0)
	}

	/// The node of height `h` at position `i` (zero padding included).
	pub fn node(&self, h: u32, i: u64) -> Hash {
		self.levels
			.get(h as usize)
			.and_then(|l| usize::try_from(i).ok().and_then(|i| l.get(i)))
			.copied()
			.unwrap_or_else(|| self.zeros.get(h))
	}

	/// A proof for the subtree of height `height` at position `index`.
	pub fn subtree_proof(&self, height: u32, index: u64) -> Result<SubtreeProof, MerkleError> {
		if height > self.depth {
			return Err(MerkleError::HeightAboveDepth);
		}
		let levels = self.depth - height;
		if levels < 64 && index >= (1u64 << levels) {
			return Err(MerkleError::IndexOutOfRange);
		}
		let siblings = (0..levels)
			.map(|k| self.node(height + k, (index >> k) ^ 1))
			.collect();
		Ok(SubtreeProof {
			depth: self.depth,
			height,
			index,
			siblings,
		})
	}

	/// A leaf inclusion proof.
	pub fn proof(&self, index: u64) -> Result<SubtreeProof, MerkleError> {
		self.subtree_proof(0, index)
	}

	/// A multi-leaf proof for `indices` (sorted and deduplicated here).
	pub fn multi_proof(&self, indices: &[u64]) -> Result<MultiProof, MerkleError> {
		let mut idx: Vec<u64> = indices.to_vec();
		idx.sort_unstable();
		idx.dedup();
		if idx.is_empty() {
			return Err(MerkleError::Empty);
		}
		if let Some(last) = idx.last() {
			if self.depth < 64 && *last >= (1u64 << self.depth) {
				return Err(MerkleError::IndexOutOfRange);
			}
		}
		let mut helpers = Vec::new();
		let mut level = idx.clone();
		for h in 0..self.depth {
			let mut next = Vec::with_capacity(level.len());
			let mut i = 0;
			while i < level.len() {
				let x = level[i];
				if x & 1 == 0 && level.get(i + 1) == Some(&(x + 1)) {
					i += 1;
				} else {
					helpers.push(self.node(h, x ^ 1));
				}
				next.push(x >> 1);
				i += 1;
			}
			level = next;
		}
		Ok(MultiProof {
			depth: self.depth,
			indices: idx,
			helpers,
		})
	}

	/// The leaf at `index` (zero beyond the stored leaves).
	pub fn leaf(&self, index: u64) -> Hash {
		self.node(0, index)
	}

	/// Replace the leaf at `index` and rehash its path. Leaves past the stored ones
	/// extend the stored prefix with zeros.
	pub fn set_leaf(&mut self, index: u64, leaf: Hash) -> Result<(), MerkleError> {
		if self.depth < 64 && index >= (1u64 << self.depth) {
			return Err(MerkleError::IndexOutOfRange);
		}
		let index = usize::try_from(index).map_err(|_| MerkleError::IndexOutOfRange)?;
		let mut i = index;
		for h in 0..=self.depth as usize {
			let z = self.zeros.get(h as u32);
			let level = &mut self.levels[h];
			if level.len() <= i {
				level.resize(i + 1, z);
			}
			if h == 0 {
				level[i] = leaf;
			} else {
				let below = &self.levels[h - 1];
				let zb = self.zeros.get(h as u32 - 1);
				let l = below.get(2 * i).copied().unwrap_or(zb);
				let r = below.get(2 * i + 1).copied().unwrap_or(zb);
				self.levels[h][i] = hash_pair(&l, &r);
			}
			i >>= 1;
		}
		Ok(())
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use proptest::prelude::*;

	fn leaf(n: u8) -> Hash {
		[n; 32]
	}

	#[test]
	fn small_tree_by_hand() {
		let l = [leaf(1), leaf(2), leaf(3)];
		let z = ZERO_HASH;
		let expect = hash_pair(&hash_pair(&l[0], &l[1]), &hash_pair(&l[2], &z));
		assert_eq!(root(&l, 2).unwrap(), expect);
		assert_eq!(MerkleTree::new(l.to_vec(), 2).unwrap().root(), expect);
		assert_eq!(root(&[], 3).unwrap(), zero_root(3));
		assert_eq!(root(&l, 1), Err(MerkleError::TooManyLeaves));
		assert_eq!(root(&l, 65), Err(MerkleError::DepthTooLarge));
	}

	#[test]
	fn depth_for_is_ceil_log2() {
		assert_eq!(depth_for(0), 0);
		assert_eq!(depth_for(1), 0);
		assert_eq!(depth_for(2), 1);
		assert_eq!(depth_for(3), 2);
		assert_eq!(depth_for(4), 2);
		assert_eq!(depth_for(5), 3);
		assert_eq!(depth_for(1 << 40), 40);
	}

	#[test]
	fn bytes_root_pads_with_zeros() {
		let (r, d) = bytes_root(&[7u8; 40]);
		assert_eq!(d, 1);
		let mut second = ZERO_HASH;
		second[..8].copy_from_slice(&[7u8; 8]);
		assert_eq!(r, hash_pair(&[7u8; 32], &second));
	}

	fn leaves_strategy() -> impl Strategy<Value = (Vec<Hash>, u32)> {
		(0u32..8).prop_flat_map(|depth| {
			let max = 1usize << depth;
			(
				proptest::collection::vec(any::<[u8; 32]>(), 0..=max),
				Just(depth),
			)
		})
	}

	proptest! {
		#[test]
		fn pieces_root_is_the_bytes_root(
			bytes in proptest::collection::vec(any::<u8>(), 0..2000),
			height in 0u32..4,
		) {
			let piece = 32usize << height;
			let pieces: Vec<(Hash, u32)> = bytes.chunks(piece).map(bytes_root).collect();
			prop_assert_eq!(pieces_root(&pieces, height), Ok(bytes_root(&bytes)));
		}

		/// `right_is_zero` holds exactly when every leaf after the proven one is zero.
		#[test]
		fn right_is_zero_iff_later_leaves_are_zero(
			(mut leaves, depth) in leaves_strategy(), i in any::<u64>(), zero_tail in any::<bool>(),
		) {
			prop_assume!(!leaves.is_empty());
			let i = (i % leaves.len() as u64) as usize;
			if zero_tail {
				for l in &mut leaves[i + 1..] {
					*l = ZERO_HASH;
				}
			}
			let expect = leaves[i + 1..].iter().all(|l| *l == ZERO_HASH);
			let t = MerkleTree::new(leaves, depth).unwrap();
			let p = t.proof(i as u64).unwrap();
			prop_assert_eq!(p.right_is_zero(), expect);
		}

		#[test]
		fn tree_root_matches_root_fn((leaves, depth) in leaves_strategy()) {
			let t = MerkleTree::new(leaves.clone(), depth).unwrap();
			prop_assert_eq!(t.root(), root(&leaves, depth).unwrap());
		}

		#[test]
		fn subtree_proofs_verify_and_reject_tampering(
			(leaves, depth) in leaves_strategy(), h in 0u32..8, i in any::<u64>(),
			flip in any::<(usize, u8)>(),
		) {
			let t = MerkleTree::new(leaves, depth).unwrap();
			let h = h % (depth + 1);
			let i = i % (1u64 << (depth - h));
			let p = t.subtree_proof(h, i).unwrap();
			let node = t.node(h, i);
			prop_assert!(p.verify(&t.root(), &node));
			// A wrong node is rejected.
			let mut bad = node; bad[0] ^= 1;
			prop_assert!(!p.verify(&t.root(), &bad));
			// A tampered sibling is rejected.
			if !p.siblings.is_empty() {
				let mut q = p.clone();
				let k = flip.0 % q.siblings.len();
				q.siblings[k][(flip.1 % 32) as usize] ^= 0x80;
				prop_assert!(!q.verify(&t.root(), &node));
				// A truncated proof is a shape error.
				let mut q = p.clone();
				q.siblings.pop();
				prop_assert_eq!(q.compute_root(&node), Err(MerkleError::WrongSiblingCount));
			}
		}

		#[test]
		fn subtree_update_matches_rebuild(
			(leaves, depth) in leaves_strategy(), i in any::<u64>(), new in any::<[u8; 32]>(),
		) {
			let mut t = MerkleTree::new(leaves, depth).unwrap();
			let i = i % (1u64 << depth);
			let p = t.proof(i).unwrap();
			let old_root = t.root();
			let mut wrong = t.leaf(i);
			wrong[31] ^= 1;
			prop_assert_eq!(p.update(&old_root, &wrong, &new), Err(MerkleError::RootMismatch));
			let got = p.update(&old_root, &t.leaf(i), &new).unwrap();
			t.set_leaf(i, new).unwrap();
			prop_assert_eq!(got, t.root());
		}

		#[test]
		fn multi_proofs_verify_update_and_reject_tampering(
			(leaves, depth) in leaves_strategy(),
			picks in proptest::collection::vec(any::<u64>(), 1..6),
			news in proptest::collection::vec(any::<[u8; 32]>(), 6),
			tamper in any::<(usize, u8)>(),
		) {
			let t = MerkleTree::new(leaves, depth).unwrap();
			let idx: Vec<u64> = picks.iter().map(|x| x % (1u64 << depth)).collect();
			let p = t.multi_proof(&idx).unwrap();
			let vals: Vec<Hash> = p.indices.iter().map(|i| t.leaf(*i)).collect();
			prop_assert!(p.verify(&t.root(), &vals));
			// Update equals setting each leaf.
			let new_vals: Vec<Hash> = news[..vals.len()].to_vec();
			let got = p.update(&t.root(), &vals, &new_vals).unwrap();
			let mut t2 = t.clone();
			for (i, v) in p.indices.iter().zip(&new_vals) { t2.set_leaf(*i, *v).unwrap(); }
			prop_assert_eq!(got, t2.root());
			// Tampered helper or leaf: rejected.
			if !p.helpers.is_empty() {
				let mut q = p.clone();
				let k = tamper.0 % q.helpers.len();
				q.helpers[k][(tamper.1 % 32) as usize] ^= 1;
				prop_assert!(!q.verify(&t.root(), &vals));
				let mut q = p.clone();
				q.helpers.push(ZERO_HASH);
				prop_assert_eq!(q.compute_root(&vals), Err(MerkleError::HelpersUnused));
				let mut q = p.clone();
				q.helpers.pop();
				prop_assert_eq!(q.compute_root(&vals), Err(MerkleError::HelpersMissing));
			}
			let mut bad = vals.clone();
			bad[0][0] ^= 1;
			prop_assert!(!p.verify(&t.root(), &bad));
			prop_assert_eq!(p.compute_root(&vals[1..]), Err(MerkleError::LeafCountMismatch));
			if p.indices.len() > 1 {
				let mut q = p.clone();
				q.indices.swap(0, 1);
				prop_assert_eq!(q.compute_root(&vals), Err(MerkleError::IndicesNotSorted));
			}
		}

		#[test]
		fn extension_equals_deeper_tree((leaves, depth) in leaves_strategy(), extra in 0u32..5) {
			let r = root(&leaves, depth).unwrap();
			prop_assert_eq!(extend_root(r, depth, depth + extra).unwrap(), root(&leaves, depth + extra).unwrap());
		}
	}

	#[test]
	fn malformed_shapes_are_errors() {
		let p = SubtreeProof {
			depth: 70,
			height: 0,
			index: 0,
			siblings: vec![],
		};
		assert_eq!(p.compute_root(&ZERO_HASH), Err(MerkleError::DepthTooLarge));
		let p = SubtreeProof {
			depth: 2,
			height: 3,
			index: 0,
			siblings: vec![],
		};
		assert_eq!(
			p.compute_root(&ZERO_HASH),
			Err(MerkleError::HeightAboveDepth)
		);
		let p = SubtreeProof {
			depth: 2,
			height: 0,
			index: 4,
			siblings: vec![ZERO_HASH; 2],
		};
		assert_eq!(
			p.compute_root(&ZERO_HASH),
			Err(MerkleError::IndexOutOfRange)
		);
		let m = MultiProof {
			depth: 2,
			indices: vec![],
			helpers: vec![],
		};
		assert_eq!(m.compute_root(&[]), Err(MerkleError::Empty));
		let m = MultiProof {
			depth: 2,
			indices: vec![4],
			helpers: vec![],
		};
		assert_eq!(
			m.compute_root(&[ZERO_HASH]),
			Err(MerkleError::IndexOutOfRange)
		);
		assert_eq!(
			extend_root(ZERO_HASH, 3, 2),
			Err(MerkleError::HeightAboveDepth)
		);
	}
}
