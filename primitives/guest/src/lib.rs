//! # opml-guest
//!
//! The program the OPML VM runs to execute **one graph node** (DESIGN.md §5): it reads
//! the node descriptor and the input tensors from the environment region of the fixed
//! memory map ([`opml_nn::layout`]), runs opml-nn's reference kernels (the same source
//! as native execution) and writes the output tensor to the output slot, then exits
//! with a code from [`opml_nn::layout::exit`].
//!
//! The logic is [`run`], generic over a [`NodeEnv`] so that it is tested natively; on
//! RISC-V the binary gives it the raw memory map ([`rv`]).
#![cfg_attr(not(test), no_std)]

extern crate alloc;

use alloc::vec::Vec;
use opml_nn::{kernels, layout::exit, wire::decode_node, DType, TensorData, TensorRef};

/// Access to one node's environment.
pub trait NodeEnv {
	/// The descriptor slot's bytes after the length prefix (`SCALE(Node)`), or `None`
	/// if the length prefix exceeds the bound.
	fn descriptor(&self) -> Option<&[u8]>;
	/// The first `len` bytes of input slot `k`.
	fn input(&self, k: usize, len: usize) -> &[u8];
	/// The first `len` bytes of the output slot.
	fn output(&mut self, len: usize) -> &mut [u8];
}

/// Run the node in `env`; returns the exit code.
pub fn run<E: NodeEnv>(env: &mut E) -> u32 {
	let Some(desc) = env.descriptor() else {
		return exit::BAD_DESCRIPTOR;
	};
	let node = match decode_node(desc) {
		Ok(n) => n,
		Err(opml_nn::NnError::Decode) | Err(opml_nn::NnError::TooLarge) => {
			return exit::BAD_DESCRIPTOR
		}
		Err(_) => return exit::BAD_NODE,
	};
	// i32 inputs are decoded into aligned vectors (small: biases and tables); int8
	// inputs are used in place.
	let mut wide: Vec<Vec<i32>> = Vec::new();
	for (k, i) in node.inputs.iter().enumerate() {
		if i.desc.dtype == DType::I32 {
			let n = i.desc.elements().unwrap_or(0);
			let b = env.input(k, n * 4);
			wide.push(
				b.chunks_exact(4)
					.map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
					.collect(),
			);
		}
	}
	let mut inputs: Vec<TensorRef> = Vec::with_capacity(node.inputs.len());
	let mut w = wide.iter();
	for (k, i) in node.inputs.iter().enumerate() {
		let n = i.desc.elements().unwrap_or(0);
		inputs.push(match i.desc.dtype {
			DType::I8 => TensorRef::I8(as_i8(env.input(k, n))),
			DType::I32 => TensorRef::I32(w.next().map(|v| v.as_slice()).unwrap_or(&[])),
		});
	}
	// Inputs borrow `env` immutably and the output slot would borrow it mutably: the
	// output is computed into a buffer and copied, so no aliasing is needed.
	let out = match kernels::run_node_data(&node, &inputs) {
		Ok(out) => out,
		Err(_) => return exit::BAD_NODE,
	};
	drop(inputs);
	match &out {
		TensorData::I8(v) => env.output(v.len()).copy_from_slice(as_u8(v)),
		TensorData::I32(v) => {
			for (o, x) in env.output(v.len() * 4).chunks_exact_mut(4).zip(v) {
				o.copy_from_slice(&x.to_le_bytes());
			}
		}
	}
	exit::OK
}

fn as_u8(b: &[i8]) -> &[u8] {
	// SAFETY: i8 and u8 have the same size and alignment.
	unsafe { core::slice::from_raw_parts(b.as_ptr() as *const u8, b.len()) }
}

fn as_i8(b: &[u8]) -> &[i8] {
	// SAFETY: i8 and u8 have the same size and alignment.
	unsafe { core::slice::from_raw_parts(b.as_ptr() as *const i8, b.len()) }
}

#[cfg(target_arch = "riscv32")]
pub mod rv;

#[cfg(test)]
mod tests {
	use super::*;
	use opml_nn::{layout::descriptor_bytes, types::*};

	struct VecEnv {
		desc: Vec<u8>,
		inputs: Vec<Vec<u8>>,
		out: Vec<u8>,
	}

	impl NodeEnv for VecEnv {
		fn descriptor(&self) -> Option<&[u8]> {
			let len = u32::from_le_bytes(self.desc[..4].try_into().ok()?) as usize;
			self.desc.get(4..4 + len)
		}
		fn input(&self, k: usize, len: usize) -> &[u8] {
			&self.inputs[k][..len]
		}
		fn output(&mut self, len: usize) -> &mut [u8] {
			self.out.resize(len, 0);
			&mut self.out
		}
	}

	#[test]
	fn runs_a_fully_connected_node_like_the_kernels() {
		let node = Node {
			op: Op::FullyConnected {
				requant: Requant {
					multiplier: 1 << 30,
					shift: 33,
				},
				relu: false,
			},
			inputs: vec![
				NodeInput {
					source: Source::Slot(0),
					desc: TensorDesc::i8(&[1, 3], 1.0),
				},
				NodeInput {
					source: Source::Weight(0),
					desc: TensorDesc::i8(&[2, 3], 1.0),
				},
				NodeInput {
					source: Source::Weight(1),
					desc: TensorDesc::i32(&[2]),
				},
			],
			output: TensorDesc::i8(&[1, 2], 1.0),
		};
		let x = [10i8, -20, 30];
		let w = [1i8, 2, 3, -4, 5, -6];
		let b = [100i32, -7];
		let mut env = VecEnv {
			desc: descriptor_bytes(&node),
			inputs: vec![
				i8_bytes(&x),
				i8_bytes(&w),
				b.iter().flat_map(|v| v.to_le_bytes()).collect(),
			],
			out: vec![],
		};
		assert_eq!(run(&mut env), exit::OK);
		let mut want = [0i8; 2];
		kernels::run_node(
			&node,
			&[TensorRef::I8(&x), TensorRef::I8(&w), TensorRef::I32(&b)],
			&mut want,
		)
		.unwrap();
		assert_eq!(env.out, i8_bytes(&want));
	}

	#[test]
	fn bad_descriptors_give_exit_codes() {
		let mut env = VecEnv {
			desc: vec![3, 0, 0, 0, 1, 2, 3],
			inputs: vec![],
			out: vec![],
		};
		assert_eq!(run(&mut env), exit::BAD_DESCRIPTOR);
		let node = Node {
			op: Op::Relu,
			inputs: vec![],
			output: TensorDesc::i8(&[1], 1.0),
		};
		let mut env = VecEnv {
			desc: descriptor_bytes(&node),
			inputs: vec![],
			out: vec![],
		};
		assert_eq!(run(&mut env), exit::BAD_NODE);
	}
}
