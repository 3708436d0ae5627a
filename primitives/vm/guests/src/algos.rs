//! The guests' computations, target-independent.

/// Insertion sort of 48 pseudo-random words and a checksum over every M-extension
/// operation; 255 if the sort is wrong.
pub fn sort_checksum() -> u32 {
	let mut v = [0i32; 48];
	let mut bytes = [0u8; 48];
	let mut halves = [0i16; 48];
	let mut seed: u32 = 0xdead_beef;
	for i in 0..v.len() {
		seed = seed.wrapping_mul(1664525).wrapping_add(1013904223);
		v[i] = seed as i32;
		bytes[i] = (seed >> 7) as u8;
		halves[i] = (seed >> 3) as i16;
	}
	for i in 1..v.len() {
		let x = v[i];
		let mut j = i;
		while j > 0 && v[j - 1] > x {
			v[j] = v[j - 1];
			j -= 1;
		}
		v[j] = x;
	}
	let mut acc: u32 = 0;
	for i in 0..v.len() {
		let a = v[i];
		let b = (halves[i] as i32) | 1;
		let q = core::hint::black_box(a).wrapping_div(core::hint::black_box(b));
		let r = a.wrapping_rem(b);
		let uq = (a as u32) / (bytes[i] as u32 + 1);
		let ur = (a as u32) % (bytes[i] as u32 + 1);
		let hi = ((a as i64 * b as i64) >> 32) as u32;
		let hu = ((a as u32 as u64 * bytes[i] as u64) >> 32) as u32;
		acc = acc.rotate_left(3) ^ (q as u32) ^ (r as u32) ^ uq ^ ur ^ hi ^ hu;
	}
	for i in 1..v.len() {
		if v[i - 1] > v[i] {
			return 255;
		}
	}
	acc & 0x7f
}

/// Repeated 32×32 int32 matrix products; a checksum of the results.
pub fn matmul_checksum(rounds: u32) -> u32 {
	const N: usize = 32;
	let mut a = [[0i32; N]; N];
	let mut b = [[0i32; N]; N];
	let mut c = [[0i32; N]; N];
	let mut seed: u32 = 12345;
	for i in 0..N {
		for j in 0..N {
			seed = seed.wrapping_mul(1103515245).wrapping_add(12345);
			a[i][j] = ((seed >> 16) & 0xff) as i32 - 128;
			seed = seed.wrapping_mul(1103515245).wrapping_add(12345);
			b[i][j] = ((seed >> 16) & 0xff) as i32 - 128;
		}
	}
	let mut check: u32 = 0;
	for r in 0..rounds {
		for i in 0..N {
			for j in 0..N {
				let mut acc: i32 = r as i32;
				for k in 0..N {
					acc = acc.wrapping_add(a[i][k].wrapping_mul(b[k][j]));
				}
				c[i][j] = acc;
			}
		}
		for i in 0..N {
			check = check.rotate_left(5) ^ (c[i][(i + r as usize) % N] as u32);
		}
	}
	check & 0xff
}
