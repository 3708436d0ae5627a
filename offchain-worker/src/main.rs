//! `opml-worker`: see the library docs.

fn main() -> anyhow::Result<()> {
	let gpu = opml_worker::gpu::Gpu::new()?;
	println!("GPU adapter: {}", gpu.adapter_name());
	Ok(())
}
