//! The integer arithmetic every kernel shares: requantization, rounding shifts and
//! divisions, integer square root. One definition, used natively, in the VM guest and
//! mirrored by the GPU shaders.

use crate::types::Requant;

/// Clamp to `[-128, 127]`.
#[inline(always)]
pub fn sat8(x: i64) -> i8 {
	x.clamp(-128, 127) as i8
}

/// Clamp to the i32 range.
#[inline(always)]
pub fn sat32(x: i64) -> i32 {
	x.clamp(i32::MIN as i64, i32::MAX as i64) as i32
}

/// `floor((x + 2^(s-1)) / 2^s)` for `s >= 1`, `x` for `s = 0` (round half up).
/// `s <= 62` and `|x| < 2^62` (callers guarantee it).
#[inline(always)]
pub fn round_shift(x: i64, s: u32) -> i64 {
	if s == 0 {
		x
	} else {
		(x + (1i64 << (s - 1))) >> s
	}
}

/// The requantization rule (see [`Requant`]): `sat8(round_shift(acc × m, shift))`.
#[inline(always)]
pub fn requant(acc: i32, rq: Requant) -> i8 {
	sat8(round_shift(
		acc as i64 * rq.multiplier as i64,
		rq.shift as u32,
	))
}

/// Whether `rq` is within the rule's bounds (`0 <= m < 2^31`, `shift <= 62`).
pub fn requant_ok(rq: Requant) -> bool {
	rq.multiplier >= 0 && rq.shift <= 62
}

/// `floor((2x + n) / 2n)` = `x / n` rounded half up (`n >= 1`).
#[inline(always)]
pub fn div_round(x: i64, n: i64) -> i64 {
	(2 * x + n).div_euclid(2 * n)
}

/// `floor(sqrt(v))`, bit by bit (exact, no floats).
pub fn isqrt(v: u64) -> u64 {
	let mut rem = v;
	let mut root = 0u64;
	let mut bit = 1u64 << 62;
	while bit > v {
		bit >>= 2;
	}
	while bit != 0 {
		if rem >= root + bit {
			rem -= root + bit;
			root = (root >> 1) + bit;
		} else {
			root >>= 1;
		}
		bit >>= 2;
	}
	root
}

/// `floor(sqrt(v))` of a `u128`, bit by bit (exact, no floats).
pub fn isqrt128(v: u128) -> u128 {
	let mut rem = v;
	let mut root = 0u128;
	let mut bit = 1u128 << 126;
	while bit > v {
		bit >>= 2;
	}
	while bit != 0 {
		if rem >= root + bit {
			rem -= root + bit;
			root = (root >> 1) + bit;
		} else {
			root >>= 1;
		}
		bit >>= 2;
	}
	root
}

/// Choose a [`Requant`] approximating the real multiplier `r > 0` (off-chain, at
/// quantization time): `m = round(r · 2^shift)` with `m` in `[2^30, 2^31)` when
/// possible.
#[cfg(feature = "std")]
pub fn requant_for(r: f64) -> Requant {
	if !(r.is_finite() && r > 0.0) {
		return Requant {
			multiplier: 0,
			shift: 0,
		};
	}
	// shift such that r·2^shift is in [2^30, 2^31)
	let e = r.log2().floor() as i32; // 2^e <= r < 2^(e+1)
	let mut shift = (30 - e).clamp(0, 62);
	let mut m = (r * (2f64).powi(shift)).round();
	if m >= 2147483648.0 {
		if shift > 0 {
			shift -= 1;
			m = (r * (2f64).powi(shift)).round();
		}
		if m >= 2147483648.0 {
			m = 2147483647.0;
		}
	}
	Requant {
		multiplier: m as i32,
		shift: shift as u8,
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use proptest::prelude::*;

	#[test]
	fn round_shift_rounds_half_up() {
		assert_eq!(round_shift(5, 1), 3); // 2.5 -> 3
		assert_eq!(round_shift(-5, 1), -2); // -2.5 -> -2
		assert_eq!(round_shift(-6, 2), -1); // -1.5 -> -1
		assert_eq!(round_shift(7, 0), 7);
	}

	#[test]
	fn div_round_examples() {
		assert_eq!(div_round(5, 2), 3);
		assert_eq!(div_round(-5, 2), -2);
		assert_eq!(div_round(4, 3), 1);
		assert_eq!(div_round(-4, 3), -1);
	}

	#[test]
	fn requant_for_is_close() {
		for r in [1e-6, 0.003, 0.5, 1.0, 3.7, 1000.0] {
			let q = requant_for(r);
			let back = q.multiplier as f64 / (2f64).powi(q.shift as i32);
			assert!((back - r).abs() / r < 1e-6, "{r} {q:?}");
			assert!(requant_ok(q));
		}
	}

	proptest! {
		#[test]
		fn isqrt_is_floor_sqrt(v in any::<u64>()) {
			let r = isqrt(v) as u128;
			prop_assert!(r * r <= v as u128);
			prop_assert!((r + 1) * (r + 1) > v as u128);
		}

		#[test]
		fn isqrt128_is_floor_sqrt(v in any::<u128>()) {
			let r = isqrt128(v);
			prop_assert!(r.checked_mul(r).is_some_and(|s| s <= v));
			prop_assert!((r + 1).checked_mul(r + 1).is_none_or(|s| s > v));
		}

		#[test]
		fn requant_matches_rational_rounding(acc in any::<i32>(), m in 0i32..i32::MAX, s in 0u8..=62) {
			let exact = acc as i128 * m as i128;
			let want = if s == 0 { exact } else {
				// floor(exact / 2^s + 1/2)
				(exact + (1i128 << (s - 1))).div_euclid(1i128 << s)
			};
			let want = want.clamp(-128, 127) as i8;
			prop_assert_eq!(requant(acc, Requant { multiplier: m, shift: s }), want);
		}
	}
}
