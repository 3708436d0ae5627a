//! The finalized block number as an inherent (docs/security.md M3): each block notes
//! the finalized block its author (and, checking it, each importer) sees, so the
//! runtime stops the game clocks and windows while finality lags.

use opml_runtime::FINALITY_INHERENT;
use sp_inherents::{Error, InherentData, InherentDataProvider, InherentIdentifier};

/// Puts the local finalized block number into a block's inherent data.
pub struct Finalized(pub u64);

impl Finalized {
	/// The finalized block `client` knows now.
	pub fn of<C: sp_blockchain::HeaderBackend<opml_runtime::opaque::Block>>(client: &C) -> Self {
		Finalized(u64::from(client.info().finalized_number))
	}
}

#[async_trait::async_trait]
impl InherentDataProvider for Finalized {
	async fn provide_inherent_data(&self, data: &mut InherentData) -> Result<(), Error> {
		data.put_data(FINALITY_INHERENT, &self.0)
	}

	async fn try_handle_error(
		&self,
		id: &InherentIdentifier,
		error: &[u8],
	) -> Option<Result<(), Error>> {
		if *id != FINALITY_INHERENT {
			return None;
		}
		Some(Err(Error::Application(
			format!(
				"the block notes a finalized block more than the runtime's MaxFinalityLag past \
				 ours ({}): {error:?}",
				self.0
			)
			.into(),
		)))
	}
}
