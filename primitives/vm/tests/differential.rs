//! Fast execution vs witnessed execution, step by step.

mod common;
use common::*;
use opml_vm::{
	fast::{FastVm, PagedMemory, Trace},
	state::Cpu,
	verify_step,
	witness::{verify_transition, StepWitness, WitnessError},
	ExitStatus, Fault,
};
use proptest::prelude::*;

/// Run `vm` to the end comparing each fast step with the verified witness.
fn lockstep(mut vm: FastVm, max: u64) -> FastVm {
	for _ in 0..max {
		let w = vm.witness();
		let pre_hash = w.pre.hash();
		let post = verify_step(&w).expect("witness of a fast step verifies");
		vm.step();
		assert_eq!(
			post,
			vm.state(),
			"fast and witnessed disagree at step {}",
			w.pre.step
		);
		assert_eq!(verify_transition(&pre_hash, &w).unwrap(), post.hash());
		assert!(w.encode_len() <= 4096);
		if vm.cpu.exit.is_halted() {
			break;
		}
	}
	vm
}

trait Len {
	fn encode_len(&self) -> usize;
}
impl Len for StepWitness {
	fn encode_len(&self) -> usize {
		codec::Encode::encoded_size(self)
	}
}

fn program(code: &[u32], at: u32) -> FastVm {
	let mut mem = PagedMemory::new();
	mem.write_bytes(at, &bytes(code));
	FastVm::new(Cpu::new(at), mem)
}

/// sum = 0; for i in 1..=n { sum += i*i; mem[0x2000 + 4*(i%8)] = sum }; exit(sum & 0xff)
fn sum_squares(n: i32) -> Vec<u32> {
	vec![
		addi(10, 0, 0), // a0 = 0
		addi(5, 0, 1),  // t0 = 1
		addi(6, 0, n),  // t1 = n
		lui(2, 7),      // t2 = 0x2000
		// loop:
		mul(28, 5, 5),            // t3 = t0*t0
		add(10, 10, 28),          // a0 += t3
		i(7, 5, 7, 29, 0x13),     // t4 = t0 & 7
		i(2, 29, 1, 29, 0x13),    // t4 <<= 2
		add(29, 29, 7),           // t4 += 0x2000
		sw(10, 29, 0),            // [t4] = a0
		lw(30, 29, 0),            // t5 = [t4]
		b(8, 30, 10, 0),          // beq a0, t5, +8
		ecall(),                  // (never) exit with garbage a7 -> fault
		addi(5, 5, 1),            // t0 += 1
		b(-40, 5, 6, 5),          // bge t1, t0, loop  (t0 <= t1)
		i(0xff, 10, 7, 10, 0x13), // a0 &= 0xff
		addi(17, 0, 93),          // a7 = exit
		ecall(),
	]
}

#[test]
fn a_real_loop_agrees_on_every_step() {
	let vm = lockstep(program(&sum_squares(20), 0x1000), 10_000);
	let expect: u32 = (1..=20u32).map(|i| i * i).sum::<u32>() & 0xff;
	assert_eq!(vm.cpu.exit, ExitStatus::Exited(expect));
}

#[test]
fn halted_state_steps_to_itself() {
	let mut vm = program(&[addi(17, 0, 93), addi(10, 0, 7), ecall()], 0x100);
	vm.run_until(100);
	assert_eq!(vm.cpu.exit, ExitStatus::Exited(7));
	let before = vm.state();
	let w = vm.witness();
	assert!(w.proofs.is_empty());
	assert_eq!(verify_step(&w).unwrap(), before);
	vm.step();
	assert_eq!(vm.state(), before);
}

#[test]
fn faults_halt_without_panic() {
	// Illegal instruction.
	let mut vm = program(&[0xffff_ffff], 0x100);
	vm.step();
	assert_eq!(
		vm.cpu.exit,
		ExitStatus::Faulted(Fault::IllegalInstruction {
			pc: 0x100,
			word: 0xffff_ffff
		})
	);
	// Misaligned load.
	let mut vm = program(&[addi(5, 0, 3), lw(6, 5, 0)], 0x100);
	vm.run_until(10);
	assert_eq!(
		vm.cpu.exit,
		ExitStatus::Faulted(Fault::MisalignedAccess { pc: 0x104, addr: 3 })
	);
	// Unknown syscall.
	let mut vm = program(&[addi(17, 0, 64), ecall()], 0x100);
	vm.run_until(10);
	assert_eq!(
		vm.cpu.exit,
		ExitStatus::Faulted(Fault::UnknownSyscall {
			pc: 0x104,
			number: 64
		})
	);
	// Jump to a misaligned target.
	let mut vm = program(&[i(2, 0, 0, 0, 0x67)], 0x100);
	vm.run_until(10);
	assert_eq!(
		vm.cpu.exit,
		ExitStatus::Faulted(Fault::MisalignedFetch { pc: 2 })
	);
	// CSR access is illegal.
	let mut vm = program(&[0x3400_2073], 0x100);
	vm.run_until(10);
	assert!(matches!(
		vm.cpu.exit,
		ExitStatus::Faulted(Fault::IllegalInstruction { .. })
	));
}

#[test]
fn self_modifying_code_is_seen_after_fence_i() {
	// Overwrite the instruction at 0x110 with `addi a0, zero, 42`, fence.i, then run it.
	let patched = addi(10, 0, 42);
	let code = vec![
		lui(patched >> 12, 5),
		addi(5, 5, ((patched & 0xfff) as i32) << 20 >> 20),
		sw(5, 0, 0x110),
		0x0000_100f,    // fence.i
		addi(10, 0, 1), // replaced
		addi(17, 0, 93),
		ecall(),
	];
	// `lui` + sign-extended `addi` rebuilds the word exactly.
	let vm = lockstep(program(&code, 0x100), 100);
	assert_eq!(vm.cpu.exit, ExitStatus::Exited(42));
}

#[test]
fn malformed_witnesses_are_rejected_with_typed_errors() {
	let mut vm = program(&sum_squares(3), 0x1000);
	vm.run_until(9); // at the `sw`
	let w = vm.witness();
	assert_eq!(w.proofs.len(), 2);
	let good = verify_step(&w).unwrap();
	// Tampered leaf.
	let mut bad = w.clone();
	bad.proofs[1].leaf[0] ^= 1;
	assert_eq!(verify_step(&bad), Err(WitnessError::InvalidProof));
	// Tampered sibling.
	let mut bad = w.clone();
	bad.proofs[0].siblings[20][3] ^= 1;
	assert_eq!(verify_step(&bad), Err(WitnessError::InvalidProof));
	// Proof for the wrong leaf.
	let mut bad = w.clone();
	bad.proofs.swap(0, 1);
	assert_eq!(verify_step(&bad), Err(WitnessError::WrongLeaf));
	// Missing / extra proofs.
	let mut bad = w.clone();
	bad.proofs.pop();
	assert_eq!(verify_step(&bad), Err(WitnessError::MissingProof));
	let mut bad = w.clone();
	bad.proofs.push(w.proofs[0].clone());
	assert_eq!(verify_step(&bad), Err(WitnessError::TooManyProofs));
	// Wrong pre-state hash.
	assert_eq!(
		verify_transition(&[0u8; 32], &w),
		Err(WitnessError::PreStateMismatch)
	);
	// Bytes: truncated, trailing, oversized.
	let enc = codec::Encode::encode(&w);
	assert_eq!(StepWitness::decode_bounded(&enc).unwrap(), w);
	assert_eq!(
		StepWitness::decode_bounded(&enc[..enc.len() - 1]),
		Err(WitnessError::Malformed)
	);
	let mut t = enc.clone();
	t.push(0);
	assert_eq!(
		StepWitness::decode_bounded(&t),
		Err(WitnessError::Malformed)
	);
	assert_eq!(
		StepWitness::decode_bounded(&vec![0u8; 5000]),
		Err(WitnessError::TooLarge)
	);
	// The good one still gives the same post-state.
	assert_eq!(verify_step(&w).unwrap(), good);
}

#[test]
fn checkpoints_reproduce_states_and_witnesses() {
	let vm = program(&sum_squares(50), 0x1000);
	let trace = Trace::record(vm.clone(), 37, 1_000_000);
	let mut reference = vm;
	for n in 0..trace.final_step {
		let w = trace.witness_at(n);
		assert_eq!(w.pre, reference.state());
		reference.step();
		assert_eq!(verify_step(&w).unwrap(), reference.state());
	}
	assert_eq!(trace.state_at(trace.final_step + 10), reference.state());
}

/// H4: a trace keeps a bounded number of checkpoints (thinning them as the run grows)
/// and still reproduces every state and witness.
#[test]
fn a_bounded_trace_reproduces_states_and_witnesses() {
	let vm = program(&sum_squares(50), 0x1000);
	let full = Trace::record(vm.clone(), 1, 1_000_000);
	for max in [2usize, 3, 5, 16] {
		let trace = Trace::record_bounded(vm.clone(), 1, 1_000_000, max);
		assert!(
			trace.checkpoints() <= max,
			"{} > {max}",
			trace.checkpoints()
		);
		assert!(trace.interval().is_power_of_two());
		assert_eq!(trace.final_step, full.final_step);
		let mut reference = vm.clone();
		for n in 0..trace.final_step {
			let w = trace.witness_at(n);
			assert_eq!(w.pre, reference.state(), "max {max}, step {n}");
			reference.step();
			assert_eq!(verify_step(&w).unwrap(), reference.state());
		}
	}
}

fn arb_state() -> impl Strategy<Value = (u32, [u32; 32], Vec<(u32, u32)>)> {
	(
		any::<u32>(),
		proptest::array::uniform32(prop_oneof![
			any::<u32>(),
			0u32..64,
			Just(0x2000u32),
			(0u32..16).prop_map(|x| 0x2000 + x)
		]),
		proptest::collection::vec((0u32..64, any::<u32>()), 0..16),
	)
}

proptest! {
	#![proptest_config(ProptestConfig { cases: 2000, .. ProptestConfig::default() })]

	/// Random instruction words from random states: both modes agree (and never panic).
	#[test]
	fn random_instructions_agree(word in any::<u32>(), (pc_seed, regs, data) in arb_state(), opcode in prop_oneof![
		Just(0x03u32), Just(0x13), Just(0x17), Just(0x23), Just(0x33), Just(0x37), Just(0x63),
		Just(0x67), Just(0x6f), Just(0x0f), Just(0x73), any::<u32>()]) {
		let word = (word & !0x7f) | (opcode & 0x7f);
		let pc = 0x2000 + (pc_seed % 64) * 4;
		let mut mem = PagedMemory::new();
		for (k, v) in &data {
			mem.write_bytes(0x2000 + k * 4, &v.to_le_bytes());
		}
		mem.write_bytes(pc, &word.to_le_bytes());
		let mut cpu = Cpu::new(pc);
		cpu.regs = regs;
		cpu.regs[0] = 0;
		let mut vm = FastVm::new(cpu, mem);
		let w = vm.witness();
		let post = verify_step(&w);
		vm.step();
		prop_assert_eq!(post, Ok(vm.state()));
		prop_assert_eq!(vm.cpu.regs[0], 0);
	}
}
