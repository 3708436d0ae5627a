//! The combinatorial double auction (DESIGN.md §7, Oasis.AI §4 after COUSTIC), as a
//! pure, deterministic, `no_std` computation over plain integers, so it is tested on
//! its own and the pallet only feeds it and applies its outcome.
//!
//! ## Densities (fixed point, scale `S = 2^16`)
//! Values are normalized into `(0, 1]` by `norm(x) = (x·S / (max + 1) + 1) / S`, the max
//! taken over the round.
//! - Task `i` (demand `d_i` units of one task type, valuation `v_i`):
//!   `bd_i² = norm(d_i)² + norm(v_i)²` (the demand vector is one-hot: a task needs one
//!   model).
//! - Provider `j`: the whitepaper's `bd_j = sqrt(Σ_t 1/s_jt² + Σ Ψ_j)` is read with
//!   `s_jt` the provider's normalized **unit cost** for each type `t` it serves, so
//!   cheaper providers and providers serving more types rank higher, and `Ψ_j` its
//!   normalized power term (capacity benchmark), which breaks near-ties:
//!   `bd_j² = n_types · (1/norm(q_j))² + norm(Ψ_j)`.
//!
//! Only the order matters, so squares are compared (no square roots). Ties: tasks by
//! re-auction priority (higher first), then by the tie hash; providers by tie hash.
//!
//! ## Allocation
//! Tasks in density order. A task's *candidates* are the providers that have `d_i`
//! units of the task's type left and whose unit cost is at most the task's unit price
//! `p_i = v_i / (d_i · r)`. Its `r` seats are **drawn** among them, weighted by stake
//! (the provider's bond), without replacement, from the round's seed and the task's tie
//! hash (all `r` or none; capacity is only taken when all `r` are found). So a cheap or
//! high-density provider cannot take every seat of every pool, and an actor that splits
//! its stake over many accounts draws no more seats in expectation than with one (it
//! can hold several seats of one pool only through several accounts, and then fills a
//! whole pool of `r` with probability about `f^r` for its stake share `f`: the residual
//! bias, docs/security.md H2). Density orders the tasks, and the candidates of equal
//! weight.
//!
//! ## Prices
//! - [`Mode::Midpoint`]: pair price per unit `(p_i + q_j) / 2`, in `[q_j, p_i]` by the
//!   eligibility rule: provider `j` receives `floor((v_i + q_j·d_i·r) / 2r)`; the
//!   requester pays the sum (never more than `v_i`). Budget balanced exactly.
//! - [`Mode::McAfee`] (trade reduction): repeatedly drop the winning task with the
//!   lowest unit price `p_d` until the highest unit cost `q*` among the remaining trades
//!   is at most `p_d`; every remaining requester pays `p_d` per unit and provider, every
//!   remaining provider receives `q*` per unit. Individually rational and weakly budget
//!   balanced (the surplus goes to the configured destination); dropped tasks stay open
//!   for the next round.

use alloc::vec::Vec;
use core::cmp::Reverse;

/// Fixed-point scale of the normalized values.
pub const SCALE: u128 = 1 << 16;

/// A task's bid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskBid {
	/// Task type (model).
	pub task_type: u32,
	/// Units of work per provider.
	pub demand: u32,
	/// The most the requester pays for all `redundancy` providers together.
	pub valuation: u128,
	/// Number of distinct providers wanted (≥ 1).
	pub redundancy: u32,
	/// Re-auction priority (ahead of equal density when higher).
	pub priority: u32,
	/// Tie-break hash (e.g. of the task id): lower first.
	pub tie: [u8; 32],
}

/// A provider's ask.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderAsk {
	/// `(task type, units)` capacity for this round.
	pub capacity: Vec<(u32, u32)>,
	/// Unit cost `q_j`.
	pub unit_cost: u128,
	/// Power term `Ψ_j`.
	pub power: u32,
	/// Tie-break hash: lower first.
	pub tie: [u8; 32],
	/// Stake (bond): the provider's weight in seat draws (at least 1 is used).
	pub stake: u128,
}

/// Pricing rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
	/// Midpoint pair prices.
	Midpoint,
	/// McAfee-style trade reduction.
	McAfee,
}

/// A won task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Win {
	/// Index of the task in the input.
	pub task: usize,
	/// `(provider index, payment to it)`, `redundancy` distinct providers.
	pub providers: Vec<(usize, u128)>,
	/// What the requester pays in total (≤ valuation).
	pub price: u128,
}

/// The result of a round.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Outcome {
	/// Won tasks, in allocation order.
	pub wins: Vec<Win>,
	/// Paid by requesters and not received by providers (McAfee only).
	pub surplus: u128,
}

fn norm(x: u128, max: u128) -> u128 {
	x.saturating_mul(SCALE) / max.saturating_add(1) + 1
}

/// Squared task density (see the module docs), in units of `1/S²`.
pub fn task_density(t: &TaskBid, max_demand: u128, max_value: u128) -> u128 {
	let c = norm(t.demand as u128, max_demand);
	let v = norm(t.valuation, max_value);
	c * c + v * v
}

/// Squared provider density (see the module docs), in units of `1/S²`.
pub fn provider_density(p: &ProviderAsk, max_cost: u128, max_power: u128) -> u128 {
	let q = norm(p.unit_cost, max_cost); // in [1, S]
	let inv = SCALE * SCALE / q; // 1/q̂ in units of 1/S: [S, S²]
	let psi = norm(p.power as u128, max_power) * SCALE; // Ψ̂ in units of 1/S²
	(p.capacity.len() as u128)
		.saturating_mul(inv * inv)
		.saturating_add(psi)
}

/// A clearing in progress: sorted once, then advanced a bounded number of tasks at a
/// time (the pallet spreads a big round over several blocks).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Clearing {
	/// Task indices in density order.
	pub task_order: Vec<u32>,
	/// Provider indices in density order.
	pub provider_order: Vec<u32>,
	/// Remaining capacity per provider: `(type, units)`.
	pub remaining: Vec<Vec<(u32, u32)>>,
	/// Next position in `task_order`.
	pub cursor: u32,
	/// Tentative wins: `(task, providers)`.
	pub wins: Vec<(u32, Vec<u32>)>,
	/// The round's seed for seat draws.
	pub seed: [u8; 32],
}

/// A draw in `0..total` from `seed`, the task's tie hash and the seat `k`.
fn draw(seed: &[u8; 32], tie: &[u8; 32], k: u32, total: u128) -> u128 {
	let mut pre = [0u8; 68];
	pre[..32].copy_from_slice(seed);
	pre[32..64].copy_from_slice(tie);
	pre[64..].copy_from_slice(&k.to_le_bytes());
	let h = sp_io::hashing::blake2_256(&pre);
	let mut x = [0u8; 16];
	x.copy_from_slice(&h[..16]);
	u128::from_le_bytes(x) % total.max(1)
}

impl Clearing {
	/// Sort tasks and providers by density; seats are drawn from `seed`.
	pub fn new(tasks: &[TaskBid], providers: &[ProviderAsk], seed: [u8; 32]) -> Self {
		let max_d = tasks.iter().map(|t| t.demand as u128).max().unwrap_or(0);
		let max_v = tasks.iter().map(|t| t.valuation).max().unwrap_or(0);
		let max_q = providers.iter().map(|p| p.unit_cost).max().unwrap_or(0);
		let max_p = providers.iter().map(|p| p.power as u128).max().unwrap_or(0);
		// densities computed once per bidder; ties as documented above
		let mut task_order: Vec<u32> = (0..tasks.len() as u32).collect();
		task_order.sort_by_cached_key(|&i| {
			let t = &tasks[i as usize];
			(
				Reverse(task_density(t, max_d, max_v)),
				Reverse(t.priority),
				t.tie,
				i,
			)
		});
		let mut provider_order: Vec<u32> = (0..providers.len() as u32).collect();
		provider_order.sort_by_cached_key(|&j| {
			let p = &providers[j as usize];
			(Reverse(provider_density(p, max_q, max_p)), p.tie, j)
		});
		Clearing {
			task_order,
			provider_order,
			remaining: providers.iter().map(|p| p.capacity.clone()).collect(),
			cursor: 0,
			wins: Vec::new(),
			seed,
		}
	}

	/// Whether every task has been considered.
	pub fn done(&self) -> bool {
		self.cursor as usize >= self.task_order.len()
	}

	/// Allocate the next `budget` tasks; returns how many were considered.
	pub fn advance(
		&mut self,
		tasks: &[TaskBid],
		providers: &[ProviderAsk],
		budget: usize,
	) -> usize {
		let mut n = 0;
		while n < budget && !self.done() {
			let ti = self.task_order[self.cursor as usize];
			self.cursor += 1;
			n += 1;
			let t = &tasks[ti as usize];
			let r = t.redundancy.max(1) as usize;
			let mut candidates: Vec<u32> = Vec::new();
			for &pj in &self.provider_order {
				let p = &providers[pj as usize];
				// q_j ≤ p_i  ⇔  q_j · d_i · r ≤ v_i
				let ask = p
					.unit_cost
					.saturating_mul(t.demand as u128)
					.saturating_mul(r as u128);
				if ask > t.valuation {
					continue;
				}
				let has = self.remaining[pj as usize]
					.iter()
					.any(|&(ty, u)| ty == t.task_type && u >= t.demand);
				if has {
					candidates.push(pj);
				}
			}
			let mut chosen: Vec<u32> = Vec::with_capacity(r);
			if candidates.len() >= r {
				let weight = |pj: u32| providers[pj as usize].stake.max(1);
				for k in 0..r as u32 {
					let total = candidates
						.iter()
						.fold(0u128, |s, &pj| s.saturating_add(weight(pj)));
					let mut x = draw(&self.seed, &t.tie, k, total);
					let mut at = candidates.len().saturating_sub(1);
					for (i, &pj) in candidates.iter().enumerate() {
						if x < weight(pj) {
							at = i;
							break;
						}
						x = x.saturating_sub(weight(pj));
					}
					chosen.push(candidates.remove(at));
				}
			}
			if chosen.len() == r {
				for &pj in &chosen {
					// the entry `has` found above (the first of the type with enough units)
					if let Some(c) = self.remaining[pj as usize]
						.iter_mut()
						.find(|c| c.0 == t.task_type && c.1 >= t.demand)
					{
						c.1 -= t.demand;
					}
				}
				self.wins.push((ti, chosen));
			}
		}
		n
	}

	/// Prices for the tentative wins.
	pub fn finish(self, tasks: &[TaskBid], providers: &[ProviderAsk], mode: Mode) -> Outcome {
		match mode {
			Mode::Midpoint => Outcome {
				wins: self
					.wins
					.into_iter()
					.map(|(ti, ps)| {
						let t = &tasks[ti as usize];
						let r = t.redundancy.max(1) as u128;
						let providers: Vec<(usize, u128)> = ps
							.iter()
							.map(|&pj| {
								let q = providers[pj as usize].unit_cost;
								let pay = (t.valuation + q * t.demand as u128 * r) / (2 * r);
								(pj as usize, pay)
							})
							.collect();
						let price = providers.iter().map(|p| p.1).sum();
						Win {
							task: ti as usize,
							providers,
							price,
						}
					})
					.collect(),
				surplus: 0,
			},
			Mode::McAfee => mcafee(self.wins, tasks, providers),
		}
	}
}

/// `a/b < c/d` for unit prices given as (numerator, denominator).
fn lt(a: (u128, u128), c: (u128, u128)) -> bool {
	a.0.saturating_mul(c.1) < c.0.saturating_mul(a.1)
}

fn mcafee(wins: Vec<(u32, Vec<u32>)>, tasks: &[TaskBid], providers: &[ProviderAsk]) -> Outcome {
	let unit = |ti: u32| {
		let t = &tasks[ti as usize];
		(t.valuation, t.demand as u128 * t.redundancy.max(1) as u128)
	};
	let mut w = wins;
	loop {
		if w.len() < 2 {
			return Outcome::default();
		}
		// the lowest unit price; ties: the later winner
		let mut d = 0;
		for k in 1..w.len() {
			if !lt(unit(w[d].0), unit(w[k].0)) {
				d = k;
			}
		}
		let (pd_num, pd_den) = unit(w[d].0);
		w.remove(d);
		let q_star = w
			.iter()
			.flat_map(|(_, ps)| ps.iter().map(|&pj| providers[pj as usize].unit_cost))
			.max()
			.unwrap_or(0);
		// q* ≤ p_d
		if q_star.saturating_mul(pd_den) <= pd_num {
			let mut surplus = 0u128;
			let wins = w
				.into_iter()
				.map(|(ti, ps)| {
					let t = &tasks[ti as usize];
					let units = t.demand as u128 * t.redundancy.max(1) as u128;
					let price = units.saturating_mul(pd_num) / pd_den.max(1);
					let each = q_star * t.demand as u128;
					surplus += price.saturating_sub(each * ps.len() as u128);
					Win {
						task: ti as usize,
						providers: ps.iter().map(|&pj| (pj as usize, each)).collect(),
						price,
					}
				})
				.collect();
			return Outcome { wins, surplus };
		}
	}
}

/// Clear a whole round at once (seats drawn from `seed`).
pub fn clear(tasks: &[TaskBid], providers: &[ProviderAsk], mode: Mode, seed: [u8; 32]) -> Outcome {
	let mut c = Clearing::new(tasks, providers, seed);
	c.advance(tasks, providers, usize::MAX);
	c.finish(tasks, providers, mode)
}

/// Gains from trade of an outcome: `Σ (v_i − Σ_j q_j · d_i)` over won tasks.
pub fn welfare(o: &Outcome, tasks: &[TaskBid], providers: &[ProviderAsk]) -> i128 {
	o.wins
		.iter()
		.map(|w| {
			let t = &tasks[w.task];
			let cost: u128 = w
				.providers
				.iter()
				.map(|&(pj, _)| providers[pj].unit_cost * t.demand as u128)
				.sum();
			t.valuation as i128 - cost as i128
		})
		.sum()
}
