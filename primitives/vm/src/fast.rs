//! Fast execution: flat paged memory, no hashing per step.
//!
//! Memory is a table of 4 KiB copy-on-write pages (`Arc`), so a checkpoint is a cheap
//! clone of the table. Writes mark their page dirty; [`PagedMemory::root`] rehashes
//! only dirty pages and combines the cached page roots in a sparse upper tree. Proofs
//! of any leaf are built from the same data, and [`Trace`] keeps checkpoints so that the
//! witness of any step of a long run is one short re-run away.

use crate::{
	exec::{self, Memory},
	state::{Cpu, VmState},
	witness::{MemProof, StepWitness},
	LEAF_BYTES, MEM_DEPTH,
};
use opml_primitives_core::{
	hash_pair,
	merkle::{MerkleTree, SubtreeProof, ZeroHashes},
	Hash,
};
use std::{collections::BTreeMap, convert::Infallible, sync::Arc};

/// Bits of a page offset.
pub const PAGE_BITS: u32 = 12;
/// Bytes per page.
pub const PAGE_SIZE: usize = 1 << PAGE_BITS;
/// Height of a page's subtree (128 leaves of 32 bytes).
pub const PAGE_HEIGHT: u32 = PAGE_BITS - 5;
/// Depth of the tree of pages.
pub const PAGE_TREE_DEPTH: u32 = MEM_DEPTH - PAGE_HEIGHT;
const NUM_PAGES: usize = 1 << (32 - PAGE_BITS);

/// A page as little-endian words (word reads need no byte assembly or bounds checks).
type Page = [u32; PAGE_SIZE / 4];
const EMPTY_PAGE: Page = [0u32; PAGE_SIZE / 4];

/// Pages per second-level table (and second-level tables in the top level).
const SUB_BITS: u32 = 10;
const SUB_LEN: usize = 1 << SUB_BITS;
const TOP_LEN: usize = NUM_PAGES >> SUB_BITS;

/// A second-level table of pages.
type SubTable = [Option<Arc<Page>>; SUB_LEN];

/// A two-level page table: 1024 tables of 1024 pages, both allocated on first write
/// and shared copy-on-write, so creating and cloning memory costs 8 KiB, not the
/// 8 MiB of a flat table.
#[derive(Clone)]
struct PageTable(Vec<Option<Arc<SubTable>>>);

impl PageTable {
	fn new() -> Self {
		PageTable(vec![None; TOP_LEN])
	}

	#[inline(always)]
	fn get(&self, page: usize) -> Option<&Arc<Page>> {
		match &self.0[page >> SUB_BITS] {
			Some(sub) => sub[page & (SUB_LEN - 1)].as_ref(),
			None => None,
		}
	}

	/// The page, created empty if absent, unshared for writing.
	#[inline(always)]
	fn get_mut(&mut self, page: usize) -> &mut Page {
		let sub = self.0[page >> SUB_BITS]
			.get_or_insert_with(|| Arc::new(core::array::from_fn(|_| None)));
		let p =
			Arc::make_mut(sub)[page & (SUB_LEN - 1)].get_or_insert_with(|| Arc::new(EMPTY_PAGE));
		Arc::make_mut(p)
	}
}

/// Flat, paged, copy-on-write memory with lazily Merkleized pages.
pub struct PagedMemory {
	pages: PageTable,
	dirty: Vec<u64>,
	page_roots: BTreeMap<u32, Hash>,
	zeros: Arc<ZeroHashes>,
}

impl Clone for PagedMemory {
	fn clone(&self) -> Self {
		PagedMemory {
			pages: self.pages.clone(),
			dirty: self.dirty.clone(),
			page_roots: self.page_roots.clone(),
			zeros: self.zeros.clone(),
		}
	}
}

impl Default for PagedMemory {
	fn default() -> Self {
		Self::new()
	}
}

impl PagedMemory {
	/// Empty (all-zero) memory.
	pub fn new() -> Self {
		PagedMemory {
			pages: PageTable::new(),
			dirty: vec![0; NUM_PAGES / 64],
			page_roots: BTreeMap::new(),
			zeros: Arc::new(ZeroHashes::new(MEM_DEPTH)),
		}
	}

	#[inline(always)]
	fn mark_dirty(&mut self, page: usize) {
		self.dirty[page >> 6] |= 1 << (page & 63);
	}

	/// Read one byte.
	pub fn read_u8(&self, addr: u32) -> u8 {
		match self.pages.get((addr >> PAGE_BITS) as usize) {
			Some(p) => (p[((addr as usize) & (PAGE_SIZE - 1)) >> 2] >> ((addr & 3) * 8)) as u8,
			None => 0,
		}
	}

	/// Write bytes at `addr` (wrapping at the end of the address space).
	pub fn write_bytes(&mut self, addr: u32, bytes: &[u8]) {
		let mut a = addr;
		for chunk in bytes.chunks(PAGE_SIZE) {
			for &b in chunk {
				let page = (a >> PAGE_BITS) as usize;
				let w = &mut self.pages.get_mut(page)[((a as usize) & (PAGE_SIZE - 1)) >> 2];
				let sh = (a & 3) * 8;
				*w = (*w & !(0xff << sh)) | ((b as u32) << sh);
				self.mark_dirty(page);
				a = a.wrapping_add(1);
			}
		}
	}

	/// Zero `len` bytes from `addr`, touching only pages that exist (absent pages are zero).
	pub fn zero_range(&mut self, addr: u32, len: u32) {
		let mut a = addr as u64;
		let end = addr as u64 + len as u64;
		while a < end {
			let page = (a >> PAGE_BITS) as usize;
			let page_end = ((page as u64 + 1) << PAGE_BITS).min(end);
			if page < NUM_PAGES && self.pages.get(page).is_some() {
				let data = self.pages.get_mut(page);
				for x in a..page_end {
					let w = &mut data[((x as usize) & (PAGE_SIZE - 1)) >> 2];
					*w &= !(0xff << ((x & 3) * 8));
				}
				self.mark_dirty(page);
			}
			a = page_end;
		}
	}

	/// Read bytes.
	pub fn read_bytes(&self, addr: u32, len: usize) -> Vec<u8> {
		(0..len)
			.map(|i| self.read_u8(addr.wrapping_add(i as u32)))
			.collect()
	}

	/// The 32-byte leaf with index `leaf`.
	pub fn leaf(&self, leaf: u32) -> [u8; 32] {
		let mut out = [0u8; 32];
		let addr = leaf.wrapping_mul(LEAF_BYTES);
		if let Some(p) = self.pages.get((addr >> PAGE_BITS) as usize) {
			let off = ((addr as usize) & (PAGE_SIZE - 1)) >> 2;
			for (k, w) in p[off..off + 8].iter().enumerate() {
				out[4 * k..4 * k + 4].copy_from_slice(&w.to_le_bytes());
			}
		}
		out
	}

	fn page_tree(&self, page: u32) -> Option<MerkleTree> {
		self.pages.get(page as usize).and_then(|p| {
			let leaves = p
				.chunks(8)
				.map(|c| {
					let mut l = [0u8; 32];
					for (k, w) in c.iter().enumerate() {
						l[4 * k..4 * k + 4].copy_from_slice(&w.to_le_bytes());
					}
					l
				})
				.collect();
			// 128 leaves always fit a depth-7 tree, so this never yields `None`.
			MerkleTree::new(leaves, PAGE_HEIGHT).ok()
		})
	}

	/// Rehash dirty pages into the page-root cache.
	fn flush(&mut self) {
		for w in 0..self.dirty.len() {
			let mut bits = self.dirty[w];
			if bits == 0 {
				continue;
			}
			self.dirty[w] = 0;
			while bits != 0 {
				let b = bits.trailing_zeros() as usize;
				bits &= bits - 1;
				let page = (w * 64 + b) as u32;
				match self.page_tree(page) {
					Some(t) => {
						let r = t.root();
						if r == self.zeros.get(PAGE_HEIGHT) {
							self.page_roots.remove(&page);
						} else {
							self.page_roots.insert(page, r);
						}
					}
					None => {
						self.page_roots.remove(&page);
					}
				}
			}
		}
	}

	/// Root of the subtree of the page tree at `height` (in pages) and `index`.
	fn page_node(&self, height: u32, index: u32) -> Hash {
		let lo = (index as u64) << height;
		let hi = lo + (1u64 << height);
		let entries: Vec<(u32, Hash)> = self
			.page_roots
			.range(lo as u32..=((hi - 1).min(u32::MAX as u64) as u32))
			.map(|(k, v)| (*k, *v))
			.collect();
		self.sparse(&entries, height, lo)
	}

	fn sparse(&self, entries: &[(u32, Hash)], height: u32, lo: u64) -> Hash {
		if entries.is_empty() {
			return self.zeros.get(PAGE_HEIGHT + height);
		}
		if height == 0 {
			return entries[0].1;
		}
		let mid = lo + (1u64 << (height - 1));
		let split = entries.partition_point(|(k, _)| (*k as u64) < mid);
		let l = self.sparse(&entries[..split], height - 1, lo);
		let r = self.sparse(&entries[split..], height - 1, mid);
		hash_pair(&l, &r)
	}

	/// The memory root (rehashes dirty pages first).
	pub fn root(&mut self) -> Hash {
		self.flush();
		self.page_node(PAGE_TREE_DEPTH, 0)
	}

	/// Root of the aligned subtree with `height` levels (at least [`PAGE_HEIGHT`], at
	/// most [`MEM_DEPTH`]) at position `index` among the subtrees of that height: e.g.
	/// the root of a memory region. Heights outside that range are clamped.
	pub fn subtree_root(&mut self, height: u32, index: u32) -> Hash {
		self.flush();
		let height = height.clamp(PAGE_HEIGHT, MEM_DEPTH);
		self.page_node(height - PAGE_HEIGHT, index)
	}

	/// A proof of the subtree [`Self::subtree_root`]`(height, index)` against
	/// [`Self::root`].
	pub fn subtree_proof(&mut self, height: u32, index: u32) -> SubtreeProof {
		self.flush();
		let height = height.clamp(PAGE_HEIGHT, MEM_DEPTH);
		let siblings = (height..MEM_DEPTH)
			.map(|k| self.page_node(k - PAGE_HEIGHT, (index >> (k - height)) ^ 1))
			.collect();
		SubtreeProof {
			depth: MEM_DEPTH,
			height,
			index: index as u64,
			siblings,
		}
	}

	/// A proof of leaf `leaf` against [`Self::root`].
	pub fn proof(&mut self, leaf: u32) -> MemProof {
		self.flush();
		let leaf = leaf & ((1 << MEM_DEPTH) - 1);
		let page = leaf >> PAGE_HEIGHT;
		let mut siblings = [[0u8; 32]; MEM_DEPTH as usize];
		let in_page = leaf & ((1 << PAGE_HEIGHT) - 1);
		match self.page_tree(page) {
			Some(t) => {
				for k in 0..PAGE_HEIGHT {
					siblings[k as usize] = t.node(k, ((in_page >> k) ^ 1) as u64);
				}
			}
			None => {
				for k in 0..PAGE_HEIGHT {
					siblings[k as usize] = self.zeros.get(k);
				}
			}
		}
		for k in 0..PAGE_TREE_DEPTH {
			siblings[(PAGE_HEIGHT + k) as usize] = self.page_node(k, (page >> k) ^ 1);
		}
		MemProof {
			leaf_index: leaf,
			leaf: self.leaf(leaf),
			siblings,
		}
	}
}

impl Memory for PagedMemory {
	type Error = Infallible;

	#[inline(always)]
	fn read_word(&mut self, addr: u32) -> Result<u32, Infallible> {
		Ok(match self.pages.get((addr >> PAGE_BITS) as usize) {
			Some(p) => p[((addr as usize) & (PAGE_SIZE - 1)) >> 2],
			None => 0,
		})
	}

	#[inline(always)]
	fn write_word(&mut self, addr: u32, value: u32) -> Result<(), Infallible> {
		let page = (addr >> PAGE_BITS) as usize;
		self.pages.get_mut(page)[((addr as usize) & (PAGE_SIZE - 1)) >> 2] = value;
		self.mark_dirty(page);
		Ok(())
	}
}

/// Records the leaves a step reads and defers its writes, so proofs can be taken
/// from the pre-step memory.
struct Recorder<'a> {
	mem: &'a PagedMemory,
	leaves: Vec<u32>,
}

impl Memory for Recorder<'_> {
	type Error = Infallible;
	fn read_word(&mut self, addr: u32) -> Result<u32, Infallible> {
		self.leaves.push(addr / LEAF_BYTES);
		let l = self.mem.leaf(addr / LEAF_BYTES);
		let o = (addr % LEAF_BYTES) as usize;
		Ok(u32::from_le_bytes([l[o], l[o + 1], l[o + 2], l[o + 3]]))
	}
	fn write_word(&mut self, _addr: u32, _value: u32) -> Result<(), Infallible> {
		Ok(())
	}
}

/// A machine in fast mode.
#[derive(Clone)]
pub struct FastVm {
	/// CPU state.
	pub cpu: Cpu,
	/// Memory.
	pub mem: PagedMemory,
}

impl FastVm {
	/// A machine at `pc` over `mem`.
	pub fn new(cpu: Cpu, mem: PagedMemory) -> Self {
		FastVm { cpu, mem }
	}

	/// Execute one step.
	#[inline]
	pub fn step(&mut self) {
		let Ok(()) = exec::step(&mut self.cpu, &mut self.mem);
	}

	/// Run until halted or until the step counter reaches `until_step`; returns the
	/// number of steps executed.
	pub fn run_until(&mut self, until_step: u64) -> u64 {
		let start = self.cpu.step;
		while self.cpu.step < until_step && !self.cpu.exit.is_halted() {
			let Ok(()) = exec::step(&mut self.cpu, &mut self.mem);
		}
		self.cpu.step - start
	}

	/// The full state (Merkleizes dirty pages).
	pub fn state(&mut self) -> VmState {
		let root = self.mem.root();
		VmState::from_cpu(&self.cpu, root)
	}

	/// The witness of the next step (does not execute it).
	pub fn witness(&mut self) -> StepWitness {
		let pre = self.state();
		let mut cpu = self.cpu;
		let mut rec = Recorder {
			mem: &self.mem,
			leaves: Vec::new(),
		};
		let Ok(()) = exec::step(&mut cpu, &mut rec);
		let leaves = rec.leaves;
		let proofs = leaves.into_iter().map(|l| self.mem.proof(l)).collect();
		StepWitness { pre, proofs }
	}
}

/// Most checkpoints a [`Trace`] keeps: beyond, it drops every other one and doubles its
/// interval, so its memory does not grow with the steps of the run (a node of 10^9
/// steps keeps the same number of machines as one of 10^6; docs/security.md H4).
pub const MAX_CHECKPOINTS: usize = 256;

/// A run with checkpoints every `interval` steps, for states and witnesses at any step
/// without keeping the trace. At most [`MAX_CHECKPOINTS`] (+1) checkpoints are kept: a
/// long run ends with a longer interval (a multiple of the one asked for), so a state
/// costs at most `interval` steps of recomputation.
pub struct Trace {
	interval: u64,
	checkpoints: Vec<FastVm>,
	/// The step at which the machine halted, or the step limit reached.
	pub final_step: u64,
}

impl Trace {
	/// Run `vm` to completion (or `max_steps`), keeping a checkpoint every `interval`
	/// steps (every `interval · 2^j` steps once more than [`MAX_CHECKPOINTS`] would be
	/// kept).
	pub fn record(vm: FastVm, interval: u64, max_steps: u64) -> Self {
		Self::record_bounded(vm, interval, max_steps, MAX_CHECKPOINTS)
	}

	/// [`Self::record`] keeping at most `max_checkpoints` (at least 2) checkpoints.
	pub fn record_bounded(
		vm: FastVm,
		interval: u64,
		max_steps: u64,
		max_checkpoints: usize,
	) -> Self {
		let mut interval = interval.max(1);
		let max_checkpoints = max_checkpoints.max(2);
		let mut vm = vm;
		let mut checkpoints = vec![vm.clone()];
		loop {
			let target = (vm.cpu.step / interval + 1)
				.saturating_mul(interval)
				.min(max_steps);
			vm.run_until(target);
			if vm.cpu.exit.is_halted() || vm.cpu.step >= max_steps {
				break;
			}
			checkpoints.push(vm.clone());
			if checkpoints.len() > max_checkpoints {
				// keep the checkpoints at multiples of the doubled interval
				let mut i = 0usize;
				checkpoints.retain(|_| {
					let keep = i.is_multiple_of(2);
					i += 1;
					keep
				});
				interval = interval.saturating_mul(2);
			}
		}
		let final_step = vm.cpu.step;
		Trace {
			interval,
			checkpoints,
			final_step,
		}
	}

	/// The interval between the checkpoints kept.
	pub fn interval(&self) -> u64 {
		self.interval
	}

	/// The number of checkpoints kept.
	pub fn checkpoints(&self) -> usize {
		self.checkpoints.len()
	}

	/// The machine at step `n` (a halted machine stays at its last step).
	pub fn vm_at(&self, n: u64) -> FastVm {
		let i = ((n / self.interval) as usize).min(self.checkpoints.len().saturating_sub(1));
		let mut vm = self.checkpoints[i].clone();
		vm.run_until(n);
		vm
	}

	/// The state at step `n`.
	pub fn state_at(&self, n: u64) -> VmState {
		self.vm_at(n).state()
	}

	/// The witness of the step from `n` to `n + 1`.
	pub fn witness_at(&self, n: u64) -> StepWitness {
		self.vm_at(n).witness()
	}
}
