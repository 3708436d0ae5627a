//! Fault injection (`--inject-fault`, for tests and drills only): a provider that
//! reports a wrong result, so that verifiers and the dispute game can be exercised.

use anyhow::{anyhow, Result};
use opml_nn::Execution;

/// The same execution with one byte of the last node's output changed.
pub fn corrupt(exec: Execution) -> Result<Execution> {
	let mut outputs = exec.outputs;
	let last = outputs
		.last_mut()
		.ok_or_else(|| anyhow!("a model without nodes"))?;
	if let Some(b) = last.first_mut() {
		*b = b.wrapping_add(1);
	}
	Execution::new(exec.input, outputs).map_err(|e| anyhow!("{e}"))
}
