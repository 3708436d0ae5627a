//! The bond of a challenge against a defender with strikes (docs/security.md M8): the
//! arbitration pallet requires it and the worker computes what to hold with the same
//! function.

/// Strikes left of `count` recorded at block `at`, at block `now`, when one is
/// forgotten every `decay` blocks (`decay = 0`: never).
pub fn strikes_now(count: u32, at: u64, now: u64, decay: u64) -> u32 {
	if decay == 0 {
		return count;
	}
	let forgotten = now.saturating_sub(at) / decay;
	count.saturating_sub(u32::try_from(forgotten).unwrap_or(u32::MAX))
}

/// The factor of the base bond for `strikes`: `2^min(strikes, max_doublings)`
/// (saturating at `u32::MAX`).
pub fn bond_factor(strikes: u32, max_doublings: u32) -> u32 {
	1u32.checked_shl(strikes.min(max_doublings))
		.unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn strikes_decay_and_the_factor_is_capped() {
		assert_eq!(strikes_now(3, 100, 100, 50), 3);
		assert_eq!(strikes_now(3, 100, 149, 50), 3);
		assert_eq!(strikes_now(3, 100, 150, 50), 2);
		assert_eq!(strikes_now(3, 100, 10_000, 50), 0);
		assert_eq!(strikes_now(3, 100, 10_000, 0), 3);
		// a block number before `at` (cannot happen on chain) forgets nothing
		assert_eq!(strikes_now(3, 100, 0, 50), 3);
		assert_eq!(bond_factor(0, 3), 1);
		assert_eq!(bond_factor(2, 3), 4);
		assert_eq!(bond_factor(9, 3), 8);
		assert_eq!(bond_factor(40, 40), u32::MAX);
	}
}
