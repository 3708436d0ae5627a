//! The wgpu backend: WGSL compute shaders for the multiply-accumulate kernels
//! (`FullyConnected`, `MatMul`, `Conv2d`, where the work is), bit-identical to the CPU
//! backend; the cheap element-wise and data-movement ops run on the CPU backend (the
//! transfer would cost more than the op). Works on any Vulkan adapter, including
//! Mesa's CPU driver (lavapipe), which is how CI tests it.

use anyhow::{anyhow, Context, Result};
use opml_nn::{
	cpu::Cpu,
	types::{Node, Op, Requant, TensorRef},
	Backend,
};
use std::sync::mpsc;
use wgpu::util::DeviceExt;

const SHADER: &str = include_str!("kernels.wgsl");
const WORKGROUP: u32 = 64;

/// A GPU device with the kernels compiled.
pub struct Gpu {
	device: wgpu::Device,
	queue: wgpu::Queue,
	info: wgpu::AdapterInfo,
	fc: wgpu::ComputePipeline,
	matmul: wgpu::ComputePipeline,
	conv: wgpu::ComputePipeline,
}

impl Gpu {
	/// Open the first GPU adapter (any Vulkan device, including lavapipe) and compile
	/// the kernels. Fails with a clear message when there is none.
	pub fn new() -> Result<Self> {
		let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
			backends: wgpu::Backends::VULKAN,
			..wgpu::InstanceDescriptor::new_without_display_handle()
		});
		let adapter = pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
			power_preference: wgpu::PowerPreference::HighPerformance,
			..Default::default()
		}))
		.map_err(|e| {
			anyhow!(
				"no GPU adapter found ({e}); install a Vulkan driver (on Debian, \
				 `mesa-vulkan-drivers` provides a CPU one) or use `--backend cpu`"
			)
		})?;
		let info = adapter.get_info();
		let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
			label: Some("opml"),
			required_limits: adapter.limits(),
			..Default::default()
		}))
		.with_context(|| format!("opening GPU device {}", info.name))?;
		let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
			label: Some("opml kernels"),
			source: wgpu::ShaderSource::Wgsl(SHADER.into()),
		});
		let pipeline = |entry: &str| {
			device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
				label: Some(entry),
				layout: None,
				module: &module,
				entry_point: Some(entry),
				compilation_options: Default::default(),
				cache: None,
			})
		};
		let (fc, matmul, conv) = (pipeline("fc"), pipeline("matmul"), pipeline("conv"));
		Ok(Gpu {
			device,
			queue,
			info,
			fc,
			matmul,
			conv,
		})
	}

	/// The adapter's name and backend (e.g. `llvmpipe (LLVM 15.0.6, 256 bits) (Vulkan)`).
	pub fn adapter_name(&self) -> String {
		format!("{} ({:?})", self.info.name, self.info.backend)
	}

	/// Run one kernel over `outputs` elements: `a`, `b` packed i8, `bias` i32 (if the
	/// kernel uses it), 16 parameters. Returns the i32 outputs (each in `[-128, 127]`).
	fn dispatch(
		&self,
		pipeline: &wgpu::ComputePipeline,
		a: &[i8],
		b: &[i8],
		bias: Option<&[i32]>,
		params: [u32; 16],
		outputs: usize,
	) -> Vec<i32> {
		let d = &self.device;
		let packed = |x: &[i8]| {
			let mut bytes: Vec<u8> = x.iter().map(|&v| v as u8).collect();
			bytes.resize(bytes.len().div_ceil(4).max(1) * 4, 0);
			bytes
		};
		let storage = |label, contents: &[u8]| {
			d.create_buffer_init(&wgpu::util::BufferInitDescriptor {
				label: Some(label),
				contents,
				usage: wgpu::BufferUsages::STORAGE,
			})
		};
		let a_buf = storage("a", &packed(a));
		let b_buf = storage("b", &packed(b));
		let size = (outputs.max(1) * 4) as u64;
		let out_buf = d.create_buffer(&wgpu::BufferDescriptor {
			label: Some("out"),
			size,
			usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
			mapped_at_creation: false,
		});
		let read_buf = d.create_buffer(&wgpu::BufferDescriptor {
			label: Some("read"),
			size,
			usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
			mapped_at_creation: false,
		});
		let params_buf = d.create_buffer_init(&wgpu::util::BufferInitDescriptor {
			label: Some("params"),
			contents: bytemuck::cast_slice(&params),
			usage: wgpu::BufferUsages::UNIFORM,
		});
		let bias_buf = bias.map(|bias| {
			let v = if bias.is_empty() {
				vec![0i32]
			} else {
				bias.to_vec()
			};
			storage("bias", bytemuck::cast_slice(&v))
		});
		let mut entries = vec![
			wgpu::BindGroupEntry {
				binding: 0,
				resource: a_buf.as_entire_binding(),
			},
			wgpu::BindGroupEntry {
				binding: 1,
				resource: b_buf.as_entire_binding(),
			},
			wgpu::BindGroupEntry {
				binding: 3,
				resource: out_buf.as_entire_binding(),
			},
			wgpu::BindGroupEntry {
				binding: 4,
				resource: params_buf.as_entire_binding(),
			},
		];
		if let Some(bias_buf) = &bias_buf {
			entries.push(wgpu::BindGroupEntry {
				binding: 2,
				resource: bias_buf.as_entire_binding(),
			});
		}
		let bind = d.create_bind_group(&wgpu::BindGroupDescriptor {
			label: None,
			layout: &pipeline.get_bind_group_layout(0),
			entries: &entries,
		});
		let groups = (outputs as u32).div_ceil(WORKGROUP).max(1);
		let x = groups.min(65_535);
		let y = groups.div_ceil(x);
		let mut enc = d.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
		{
			let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
			pass.set_pipeline(pipeline);
			pass.set_bind_group(0, &bind, &[]);
			pass.dispatch_workgroups(x, y, 1);
		}
		enc.copy_buffer_to_buffer(&out_buf, 0, &read_buf, 0, size);
		self.queue.submit([enc.finish()]);
		let (tx, rx) = mpsc::channel();
		read_buf.map_async(wgpu::MapMode::Read, .., move |r| {
			let _ = tx.send(r);
		});
		self.device
			.poll(wgpu::PollType::wait_indefinitely())
			.expect("GPU poll");
		rx.recv()
			.expect("map callback")
			.expect("mapping the output buffer");
		let view = read_buf.get_mapped_range(..).expect("mapped");
		let mut res: Vec<i32> = bytemuck::cast_slice(&view).to_vec();
		drop(view);
		read_buf.unmap();
		res.truncate(outputs);
		res
	}
}

fn rq(r: &Requant) -> (u32, u32) {
	(r.multiplier as u32, u32::from(r.shift))
}

fn i8s<'a>(t: &TensorRef<'a>) -> &'a [i8] {
	t.as_i8().unwrap_or(&[])
}

impl Backend for Gpu {
	fn run_node(&self, node: &Node, inputs: &[TensorRef], out: &mut [i8]) {
		let ds: Vec<&[u32]> = node.inputs.iter().map(|i| &i.desc.shape[..]).collect();
		let n_out = out.len();
		let res = match &node.op {
			Op::FullyConnected { .. } if inputs.len() == 4 || inputs[0].as_i8().is_none() => {
				// per-channel multipliers or a wide input: not in the shader
				return Cpu.run_node(node, inputs, out);
			}
			Op::FullyConnected { requant, relu } => {
				let (n, k) = (ds[1][0], ds[1][1]);
				let m = (n_out as u32) / n.max(1);
				let (mult, shift) = rq(requant);
				let mut p = [0u32; 16];
				p[..6].copy_from_slice(&[m, n, k, mult, shift, u32::from(*relu)]);
				let bias = inputs[2].as_i32().unwrap_or(&[]);
				self.dispatch(
					&self.fc,
					i8s(&inputs[0]),
					i8s(&inputs[1]),
					Some(bias),
					p,
					n_out,
				)
			}
			Op::MatMul {
				transpose_b,
				requant,
			} => {
				let r = ds[0].len();
				let batch = if r == 3 { ds[0][0] } else { 1 };
				let (m, k) = (ds[0][r - 2], ds[0][r - 1]);
				let n = node.output.shape[r - 1];
				let (mult, shift) = rq(requant);
				let mut p = [0u32; 16];
				p[..7].copy_from_slice(&[batch, m, n, k, u32::from(*transpose_b), mult, shift]);
				self.dispatch(
					&self.matmul,
					i8s(&inputs[0]),
					i8s(&inputs[1]),
					None,
					p,
					n_out,
				)
			}
			Op::Conv2d {
				stride,
				pad,
				requant,
				relu,
			} => {
				let (x, w, o) = (ds[0], ds[1], &node.output.shape);
				let (mult, shift) = rq(requant);
				let p = [
					x[0],
					x[1],
					x[2],
					x[3],
					w[0],
					w[2],
					w[3],
					o[2],
					o[3],
					u32::from(stride[0]),
					u32::from(stride[1]),
					u32::from(pad[0]),
					u32::from(pad[1]),
					mult,
					shift,
					u32::from(*relu),
				];
				let bias = inputs[2].as_i32().unwrap_or(&[]);
				self.dispatch(
					&self.conv,
					i8s(&inputs[0]),
					i8s(&inputs[1]),
					Some(bias),
					p,
					n_out,
				)
			}
			_ => return Cpu.run_node(node, inputs, out),
		};
		for (o, v) in out.iter_mut().zip(res) {
			*o = v as i8;
		}
	}
}
