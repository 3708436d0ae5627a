//! A hand-written SCALE decoder of [`Node`] descriptors.
//!
//! The VM guest cannot build parity-scale-codec (riscv32im has no atomics, and the
//! codec's `Arc` impls assume them), so it decodes its descriptor with this. It
//! accepts exactly what the codec accepts for these types (canonical compact
//! integers, booleans 0/1, known variant indices, no trailing bytes): the tests in
//! `tests/wire.rs` compare the two on random and mutated encodings.

use crate::{check::check_node, error::NnError, types::*};
use alloc::vec::Vec;

struct Reader<'a> {
	b: &'a [u8],
}

type R<T> = Result<T, NnError>;

impl<'a> Reader<'a> {
	fn take(&mut self, n: usize) -> R<&'a [u8]> {
		if self.b.len() < n {
			return Err(NnError::Decode);
		}
		let (h, t) = self.b.split_at(n);
		self.b = t;
		Ok(h)
	}
	fn u8(&mut self) -> R<u8> {
		Ok(self.take(1)?[0])
	}
	fn u16(&mut self) -> R<u16> {
		let b = self.take(2)?;
		Ok(u16::from_le_bytes([b[0], b[1]]))
	}
	fn u32(&mut self) -> R<u32> {
		let b = self.take(4)?;
		Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
	}
	fn i32(&mut self) -> R<i32> {
		Ok(self.u32()? as i32)
	}
	fn u64(&mut self) -> R<u64> {
		let lo = self.u32()? as u64;
		let hi = self.u32()? as u64;
		Ok(lo | hi << 32)
	}
	fn bool(&mut self) -> R<bool> {
		match self.u8()? {
			0 => Ok(false),
			1 => Ok(true),
			_ => Err(NnError::Decode),
		}
	}
	fn arr<const N: usize>(&mut self) -> R<[u8; N]> {
		let b = self.take(N)?;
		let mut a = [0u8; N];
		a.copy_from_slice(b);
		Ok(a)
	}
	/// SCALE `Compact<u32>` (vector lengths), canonical only.
	fn compact(&mut self) -> R<u32> {
		let b0 = self.u8()?;
		match b0 & 3 {
			0 => Ok((b0 >> 2) as u32),
			1 => {
				let v = ((self.u8()? as u32) << 8 | b0 as u32) >> 2;
				if v > 0x3f {
					Ok(v)
				} else {
					Err(NnError::Decode)
				}
			}
			2 => {
				let rest = self.take(3)?;
				let v = u32::from_le_bytes([b0, rest[0], rest[1], rest[2]]) >> 2;
				if v > 0x3fff {
					Ok(v)
				} else {
					Err(NnError::Decode)
				}
			}
			_ => {
				// big-integer mode: (b0 >> 2) + 4 bytes follow; for u32 exactly 4 bytes
				if b0 >> 2 != 0 {
					return Err(NnError::Decode);
				}
				let v = self.u32()?;
				if v > 0x3fff_ffff {
					Ok(v)
				} else {
					Err(NnError::Decode)
				}
			}
		}
	}
	fn len(&mut self, max: usize) -> R<usize> {
		let n = self.compact()? as usize;
		if n > max || n > self.b.len() {
			return Err(NnError::Decode);
		}
		Ok(n)
	}
	fn requant(&mut self) -> R<Requant> {
		Ok(Requant {
			multiplier: self.i32()?,
			shift: self.u8()?,
		})
	}
	fn desc(&mut self) -> R<TensorDesc> {
		let n = self.len(MAX_DESCRIPTOR_BYTES)?;
		let mut shape = Vec::with_capacity(n);
		for _ in 0..n {
			shape.push(self.u32()?);
		}
		let dtype = match self.u8()? {
			0 => DType::I8,
			1 => DType::I32,
			_ => return Err(NnError::Decode),
		};
		Ok(TensorDesc {
			shape,
			dtype,
			scale: self.u32()?,
		})
	}
	fn op(&mut self) -> R<Op> {
		Ok(match self.u8()? {
			0 => Op::FullyConnected {
				requant: self.requant()?,
				relu: self.bool()?,
			},
			1 => Op::MatMul {
				transpose_b: self.bool()?,
				requant: self.requant()?,
			},
			2 => Op::Add {
				a_mult: self.i32()?,
				b_mult: self.i32()?,
				shift: self.u8()?,
				relu: self.bool()?,
			},
			3 => Op::Relu,
			4 => Op::Conv2d {
				stride: self.arr()?,
				pad: self.arr()?,
				requant: self.requant()?,
				relu: self.bool()?,
			},
			5 => Op::MaxPool {
				kernel: self.arr()?,
				stride: self.arr()?,
				pad: self.arr()?,
			},
			6 => Op::AvgPool {
				kernel: self.arr()?,
				stride: self.arr()?,
			},
			7 => Op::Reshape,
			8 => {
				let n = self.len(MAX_DESCRIPTOR_BYTES)?;
				Op::Transpose {
					perm: self.take(n)?.to_vec(),
				}
			}
			9 => Op::Softmax,
			10 => Op::LayerNorm {
				eps: self.u64()?,
				requant: self.requant()?,
			},
			11 => Op::Lut,
			12 => Op::Slice {
				offset: self.u32()?,
			},
			13 => Op::Concat,
			14 => Op::Dense { relu: self.bool()? },
			15 => Op::SoftmaxXentGrad,
			16 => Op::DenseGradInput { relu: self.bool()? },
			17 => Op::SgdWeight { lr: self.i32()? },
			18 => Op::SgdBias { lr: self.i32()? },
			19 => Op::MeanRows,
			20 => Op::Gather,
			21 => Op::MaskedSoftmax {
				pad: self.i32()?,
				shift: self.u8()?,
			},
			22 => Op::PoolNormalize {
				pad: self.i32()?,
				multiplier: self.i32()?,
			},
			23 => Op::GroupConv2d {
				groups: self.u32()?,
				stride: self.arr()?,
				pad: self.arr()?,
				requant: self.requant()?,
				relu: self.bool()?,
			},
			24 => Op::Mul {
				requant: self.requant()?,
			},
			25 => Op::Lrn { size: self.u8()? },
			_ => return Err(NnError::Decode),
		})
	}
}

/// Decode `SCALE(Node)` exactly (no trailing bytes), without checking it.
pub fn decode_node_unchecked(bytes: &[u8]) -> Result<Node, NnError> {
	if bytes.len() > MAX_DESCRIPTOR_BYTES {
		return Err(NnError::TooLarge);
	}
	let mut r = Reader { b: bytes };
	let op = r.op()?;
	let n = r.len(MAX_DESCRIPTOR_BYTES)?;
	let mut inputs = Vec::with_capacity(n);
	for _ in 0..n {
		let source = match r.u8()? {
			0 => Source::Slot(r.u16()?),
			1 => Source::Weight(r.u16()?),
			_ => return Err(NnError::Decode),
		};
		inputs.push(NodeInput {
			source,
			desc: r.desc()?,
		});
	}
	let output = r.desc()?;
	if !r.b.is_empty() {
		return Err(NnError::Decode);
	}
	Ok(Node { op, inputs, output })
}

/// Decode a node descriptor (the bytes after the descriptor slot's length prefix) and
/// check it ([`check_node`]).
pub fn decode_node(bytes: &[u8]) -> Result<Node, NnError> {
	let node = decode_node_unchecked(bytes)?;
	check_node(&node)?;
	Ok(node)
}
