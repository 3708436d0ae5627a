//! Fault injection (`--inject-fault`, for tests and drills only): a provider that
//! reports a wrong result, so that verifiers and the dispute game can be exercised.

use anyhow::{anyhow, Result};
use opml_nn::Execution;

/// A fault to inject.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Fault {
	/// The node (1-based) whose output is changed; `None`: the last node.
	pub node: Option<usize>,
}

/// The same execution with the first element of one node's output changed (the later nodes'
/// outputs are left as computed, so the graph states first differ at that node).
pub fn corrupt(exec: Execution, fault: Fault) -> Result<Execution> {
	let mut outputs = exec.outputs;
	let n = outputs.len();
	let j = fault.node.unwrap_or(n);
	if j == 0 || j > n {
		return Err(anyhow!("fault injection: no node {j} (the model has {n})"));
	}
	outputs[j - 1].perturb(0, 1);
	Execution::new(exec.input, outputs).map_err(|e| anyhow!("{e}"))
}
