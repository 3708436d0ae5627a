//! Running graph nodes inside the OPML VM (feature `vm`): the guest ELF, the memory
//! map of one node, and whole models node by node.

use crate::{
	commit::tensor_root,
	error::NnError,
	exec::Prepared,
	layout::{
		self, descriptor_bytes, ENTRY, HEAP_BASE, OUTPUT_BASE, OUTPUT_SLOT_INDEX, SLOT_HEIGHT,
	},
	types::*,
};
use opml_primitives_core::{merkle::SubtreeProof, Hash};
use opml_vm::{
	elf::{self, ElfError, Program},
	fast::FastVm,
	ExitStatus, VmState,
};

/// The guest ELF (built reproducibly by `primitives/guest/build.sh`).
pub const GUEST_ELF: &[u8] = include_bytes!("../../guest/elf/opml-guest.elf");

/// Why a node could not be run in the VM.
#[derive(Debug, PartialEq, Eq)]
pub enum VmRunError {
	/// The guest program is not a loadable ELF.
	Elf(ElfError),
	/// The guest's entry point is not [`layout::ENTRY`].
	WrongEntry(u32),
	/// A loadable segment of the guest lies outside the program part of region 0
	/// (below [`layout::HEAP_BASE`]): its memory would not be what the program root
	/// commits to, or would overlap the heap, the stack or the environment.
	SegmentOutsideProgram {
		/// The segment's first address.
		vaddr: u32,
		/// Its size in memory.
		mem_size: u32,
	},
	/// The node or its data is invalid.
	Node(NnError),
	/// The guest did not halt within the step limit.
	StepLimit(u64),
	/// The guest halted with a nonzero exit code or a fault.
	Failed(ExitStatus),
}

impl core::fmt::Display for VmRunError {
	fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
		match self {
			VmRunError::Elf(e) => write!(f, "guest ELF: {e}"),
			VmRunError::WrongEntry(e) => {
				write!(
					f,
					"guest entry point {e:#x} is not the memory map's {ENTRY:#x}"
				)
			}
			VmRunError::SegmentOutsideProgram { vaddr, mem_size } => write!(
				f,
				"guest segment {vaddr:#x}..+{mem_size:#x} is outside the program area \
				 (below {HEAP_BASE:#x})"
			),
			VmRunError::Node(e) => write!(f, "{e}"),
			VmRunError::StepLimit(n) => write!(f, "guest did not halt within {n} steps"),
			VmRunError::Failed(s) => write!(f, "guest failed: {s:?}"),
		}
	}
}

impl std::error::Error for VmRunError {}

/// The result of one node's execution in the VM.
#[derive(Clone, Debug)]
pub struct NodeRun {
	/// Steps until the guest halted.
	pub steps: u64,
	/// The output tensor.
	pub output: TensorData,
	/// The output tensor's root (natural depth).
	pub output_root: Hash,
	/// The halted final state.
	pub final_state: VmState,
}

/// The guest program, loaded once.
#[derive(Clone, Debug)]
pub struct Guest {
	program: Program,
	program_root: Hash,
}

/// Default step limit for one node.
pub const DEFAULT_MAX_STEPS: u64 = layout::MAX_NODE_STEPS;

impl Guest {
	/// The checked-in guest.
	pub fn builtin() -> Result<Self, VmRunError> {
		Self::new(GUEST_ELF)
	}

	/// A guest from ELF bytes.
	pub fn new(elf_bytes: &[u8]) -> Result<Self, VmRunError> {
		let program = elf::parse(elf_bytes).map_err(VmRunError::Elf)?;
		if program.entry != ENTRY {
			return Err(VmRunError::WrongEntry(program.entry));
		}
		// every loaded byte lies in the program area of region 0 (L12)
		for s in &program.segments {
			if u64::from(s.vaddr) + u64::from(s.mem_size) > u64::from(HEAP_BASE) {
				return Err(VmRunError::SegmentOutsideProgram {
					vaddr: s.vaddr,
					mem_size: s.mem_size,
				});
			}
		}
		let mut vm = program.load();
		let program_root = vm
			.mem
			.subtree_root(layout::REGION_HEIGHT, layout::PROGRAM_REGION);
		Ok(Guest {
			program,
			program_root,
		})
	}

	/// The program root: region 0's root after loading (registered with a model).
	pub fn program_root(&self) -> Hash {
		self.program_root
	}

	/// A machine at step 0 for `node` with `inputs` (canonical bytes, in the node's
	/// input order) in the environment.
	pub fn node_vm(&self, node: &Node, inputs: &[&[u8]]) -> Result<FastVm, VmRunError> {
		crate::check::check_node(node).map_err(VmRunError::Node)?;
		if inputs.len() != node.inputs.len() {
			return Err(VmRunError::Node(NnError::DataMismatch));
		}
		for (d, b) in node.inputs.iter().zip(inputs) {
			if d.desc.bytes() != Some(b.len()) {
				return Err(VmRunError::Node(NnError::DataMismatch));
			}
		}
		let mut vm = self.program.load();
		vm.mem
			.write_bytes(layout::env_slot(0), &descriptor_bytes(node));
		for (k, b) in inputs.iter().enumerate() {
			vm.mem.write_bytes(layout::env_slot(1 + k as u32), b);
		}
		Ok(vm)
	}

	/// The initial memory root of `node` computed as the chain does (from roots only).
	pub fn initial_memory_root(&self, node: &Node, inputs: &[&[u8]]) -> Result<Hash, VmRunError> {
		let roots: Vec<(Hash, u32)> = inputs.iter().map(|b| tensor_root(b)).collect();
		layout::initial_memory_root(self.program_root, &descriptor_bytes(node), &roots)
			.map_err(|_| VmRunError::Node(NnError::BadTensor))
	}

	/// Run `node` to completion in fast mode.
	pub fn run_node(
		&self,
		node: &Node,
		inputs: &[&[u8]],
		max_steps: u64,
	) -> Result<NodeRun, VmRunError> {
		let mut vm = self.node_vm(node, inputs)?;
		vm.run_until(max_steps);
		finish(vm, node, max_steps)
	}

	/// Run every node of `model` on an int8 `input` in the VM, one machine per node,
	/// each fed the previous nodes' VM outputs.
	pub fn run_model(
		&self,
		model: &Prepared,
		input: &[i8],
		max_steps: u64,
	) -> Result<Vec<NodeRun>, VmRunError> {
		self.run_model_data(model, &TensorData::I8(input.to_vec()), max_steps)
	}

	/// [`Guest::run_model`] for an input of any type.
	pub fn run_model_data(
		&self,
		model: &Prepared,
		input: &TensorData,
		max_steps: u64,
	) -> Result<Vec<NodeRun>, VmRunError> {
		let g = &model.model.graph;
		if Some(input.len()) != g.input.elements() || input.dtype() != g.input.dtype {
			return Err(VmRunError::Node(NnError::DataMismatch));
		}
		let mut runs: Vec<NodeRun> = Vec::with_capacity(g.nodes.len());
		for node in &g.nodes {
			let bytes = model.input_bytes(node, |s| match s {
				0 => input,
				s => &runs[s as usize - 1].output,
			});
			let refs: Vec<&[u8]> = bytes.iter().map(|b| b.as_ref()).collect();
			let run = self.run_node(node, &refs, max_steps)?;
			runs.push(run);
		}
		Ok(runs)
	}
}

fn finish(mut vm: FastVm, node: &Node, max_steps: u64) -> Result<NodeRun, VmRunError> {
	match vm.cpu.exit {
		ExitStatus::Running => return Err(VmRunError::StepLimit(max_steps)),
		ExitStatus::Exited(0) => {}
		s => return Err(VmRunError::Failed(s)),
	}
	let n = node.output.bytes().unwrap_or(0);
	let bytes = vm.mem.read_bytes(OUTPUT_BASE, n);
	let output_root = tensor_root(&bytes).0;
	let output = TensorData::from_bytes(node.output.dtype, &bytes)
		.ok_or(VmRunError::Node(NnError::DataMismatch))?;
	Ok(NodeRun {
		steps: vm.cpu.step,
		output,
		output_root,
		final_state: vm.state(),
	})
}

/// A proof of the output slot's root in a machine's memory (what the defender posts at
/// the handoff), with that root.
pub fn output_slot_proof(vm: &mut FastVm) -> (Hash, SubtreeProof) {
	let root = vm.mem.subtree_root(SLOT_HEIGHT, OUTPUT_SLOT_INDEX);
	(root, vm.mem.subtree_proof(SLOT_HEIGHT, OUTPUT_SLOT_INDEX))
}
