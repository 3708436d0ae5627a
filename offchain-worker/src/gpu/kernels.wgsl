// OPML int8 kernels on the GPU: FullyConnected, MatMul, Conv2d.
//
// Bit-identical to the CPU backend (primitives/nn): i32 accumulation wraps (WGSL
// integer arithmetic is two's complement and wrapping, and wrapping addition is
// associative, so the summation order does not matter), and requantization is the one
// rule `sat8(round_shift(acc * m, shift))` computed in exact 64-bit arithmetic built
// from u32 halves (WGSL has no 64-bit integers).

struct Params {
	v: array<vec4<u32>, 4>,
}

@group(0) @binding(0) var<storage, read> a: array<u32>;
@group(0) @binding(1) var<storage, read> b: array<u32>;
@group(0) @binding(2) var<storage, read> bias: array<i32>;
@group(0) @binding(3) var<storage, read_write> out: array<i32>;
@group(0) @binding(4) var<uniform> params: Params;

fn p(i: u32) -> u32 {
	return params.v[i / 4u][i % 4u];
}

// Signed bytes packed little-endian, four per word.
fn la(i: u32) -> i32 {
	return extractBits(i32(a[i >> 2u]), (i & 3u) * 8u, 8u);
}

fn lb(i: u32) -> i32 {
	return extractBits(i32(b[i >> 2u]), (i & 3u) * 8u, 8u);
}

// x * m as a 64-bit two's complement value (lo, hi).
fn mul64(x: i32, m: i32) -> vec2<u32> {
	let neg = (x < 0) != (m < 0);
	let ux = select(u32(x), ~u32(x) + 1u, x < 0);
	let um = select(u32(m), ~u32(m) + 1u, m < 0);
	let x0 = ux & 0xffffu;
	let x1 = ux >> 16u;
	let m0 = um & 0xffffu;
	let m1 = um >> 16u;
	let p00 = x0 * m0;
	let p01 = x0 * m1;
	let p10 = x1 * m0;
	let p11 = x1 * m1;
	let mid = (p00 >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
	var lo = (p00 & 0xffffu) | (mid << 16u);
	var hi = p11 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u);
	if (neg) {
		lo = ~lo + 1u;
		hi = ~hi + select(0u, 1u, lo == 0u);
	}
	return vec2<u32>(lo, hi);
}

// Clamp a 64-bit value to [-128, 127].
fn sat8(v: vec2<u32>) -> i32 {
	let hi = i32(v.y);
	let lo = v.x;
	if (hi > 0 || (hi == 0 && lo > 127u)) {
		return 127;
	}
	if (hi < -1 || (hi == -1 && lo < 0xffffff80u)) {
		return -128;
	}
	return i32(lo);
}

// sat8(round_shift(acc * m, s)), round half up, s in 0..=62.
fn requant(acc: i32, m: i32, s: u32) -> i32 {
	var v = mul64(acc, m);
	if (s == 0u) {
		return sat8(v);
	}
	let r = s - 1u;
	if (r < 32u) {
		let lo = v.x + (1u << r);
		v = vec2<u32>(lo, v.y + select(0u, 1u, lo < v.x));
	} else {
		v = vec2<u32>(v.x, v.y + (1u << (r - 32u)));
	}
	var lo: u32;
	var hi: i32;
	if (s < 32u) {
		lo = (v.x >> s) | (v.y << (32u - s));
		hi = i32(v.y) >> s;
	} else {
		lo = u32(i32(v.y) >> (s - 32u));
		hi = i32(v.y) >> 31u;
	}
	return sat8(vec2<u32>(lo, u32(hi)));
}

fn index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
	return gid.x + gid.y * nwg.x * 64u;
}

// x [M, K], w [N, K], bias [N] -> out [M, N].
// params: M, N, K, multiplier, shift, relu.
@compute @workgroup_size(64)
fn fc(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
	let idx = index(gid, nwg);
	let n_out = p(1u);
	let k_len = p(2u);
	if (idx >= p(0u) * n_out) {
		return;
	}
	let row = idx / n_out;
	let n = idx % n_out;
	var acc = bias[n];
	for (var k = 0u; k < k_len; k++) {
		acc = acc + la(row * k_len + k) * lb(n * k_len + k);
	}
	var y = requant(acc, i32(p(3u)), p(4u));
	if (p(5u) != 0u) {
		y = max(y, 0);
	}
	out[idx] = y;
}

// a [B, M, K], b [B, K, N] (or [B, N, K] transposed) -> out [B, M, N].
// params: B, M, N, K, transpose_b, multiplier, shift.
@compute @workgroup_size(64)
fn matmul(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
	let idx = index(gid, nwg);
	let m_len = p(1u);
	let n_len = p(2u);
	let k_len = p(3u);
	if (idx >= p(0u) * m_len * n_len) {
		return;
	}
	let bb = idx / (m_len * n_len);
	let r = idx % (m_len * n_len);
	let i = r / n_len;
	let j = r % n_len;
	let tb = p(4u) != 0u;
	var acc = 0;
	for (var k = 0u; k < k_len; k++) {
		let x = la((bb * m_len + i) * k_len + k);
		var y: i32;
		if (tb) {
			y = lb((bb * n_len + j) * k_len + k);
		} else {
			y = lb((bb * k_len + k) * n_len + j);
		}
		acc = acc + x * y;
	}
	out[idx] = requant(acc, i32(p(5u)), p(6u));
}

// x [N, C, H, W], w [O, C, KH, KW], bias [O] -> out [N, O, OH, OW].
// params: N, C, H, W, O, KH, KW, OH, OW, stride_h, stride_w, pad_top, pad_left,
// multiplier, shift, relu.
@compute @workgroup_size(64)
fn conv(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
	let idx = index(gid, nwg);
	let c_len = p(1u);
	let h_len = p(2u);
	let w_len = p(3u);
	let o_len = p(4u);
	let kh_len = p(5u);
	let kw_len = p(6u);
	let oh_len = p(7u);
	let ow_len = p(8u);
	if (idx >= p(0u) * o_len * oh_len * ow_len) {
		return;
	}
	let ow = idx % ow_len;
	let t1 = idx / ow_len;
	let oh = t1 % oh_len;
	let t2 = t1 / oh_len;
	let o = t2 % o_len;
	let n = t2 / o_len;
	var acc = bias[o];
	for (var c = 0u; c < c_len; c++) {
		for (var kh = 0u; kh < kh_len; kh++) {
			let ih = i32(oh * p(9u) + kh) - i32(p(11u));
			if (ih < 0 || ih >= i32(h_len)) {
				continue;
			}
			for (var kw = 0u; kw < kw_len; kw++) {
				let iw = i32(ow * p(10u) + kw) - i32(p(12u));
				if (iw < 0 || iw >= i32(w_len)) {
					continue;
				}
				let xi = ((n * c_len + c) * h_len + u32(ih)) * w_len + u32(iw);
				let wi = ((o * c_len + c) * kh_len + kh) * kw_len + kw;
				acc = acc + la(xi) * lb(wi);
			}
		}
	}
	var y = requant(acc, i32(p(13u)), p(14u));
	if (p(15u) != 0u) {
		y = max(y, 0);
	}
	out[idx] = y;
}
