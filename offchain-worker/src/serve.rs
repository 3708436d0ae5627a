//! A daemon's file store, served read-only over HTTP (`--serve-files ADDR`;
//! docs/distribution.md): `GET /<hex>.opml` and `GET /<hex>.input` answer the store's
//! files. `PUT /<hex>.<ext>?model=N` (or `task=N`, `job=N`) takes a file a requester
//! uploads, only if that chain record refers to it and the bytes match its root: a
//! store's disk is never free space for anyone.

use crate::{
	chain::Client,
	distribution::{FileId, Reference},
	models::Files,
};
use anyhow::{Context, Result};
use http_body_util::{BodyExt, Full, Limited};
use hyper::{body::Bytes, Method, Request, Response, StatusCode};
use std::net::SocketAddr;

type Body = Full<Bytes>;

/// What a store serves and takes.
#[derive(Clone)]
pub struct Store {
	/// The files.
	pub files: Files,
	/// The chain an upload is checked against.
	pub client: Client,
}

/// Serve `store` on `addr` in the background; returns the address bound (port 0
/// picks one).
pub async fn serve(addr: SocketAddr, store: Store) -> Result<SocketAddr> {
	let listener = tokio::net::TcpListener::bind(addr)
		.await
		.with_context(|| format!("binding the file store to {addr}"))?;
	let bound = listener.local_addr()?;
	tracing::info!(%bound, dir = %store.files.dir().display(), "serving the file store");
	tokio::spawn(async move {
		loop {
			let (sock, peer) = match listener.accept().await {
				Ok(s) => s,
				Err(e) => {
					tracing::warn!("file store: accept: {e}");
					tokio::time::sleep(std::time::Duration::from_millis(100)).await;
					continue;
				}
			};
			let store = store.clone();
			tokio::spawn(async move {
				let svc = hyper::service::service_fn(move |req| {
					let store = store.clone();
					async move { Ok::<_, std::convert::Infallible>(handle(&store, req).await) }
				});
				if let Err(e) = hyper::server::conn::http1::Builder::new()
					.serve_connection(hyper_util::rt::TokioIo::new(sock), svc)
					.await
				{
					tracing::debug!(%peer, "file store connection: {e}");
				}
			});
		}
	});
	Ok(bound)
}

fn reply(code: StatusCode, body: impl Into<Bytes>) -> Response<Body> {
	let mut r = Response::new(Full::new(body.into()));
	*r.status_mut() = code;
	r
}

async fn handle(store: &Store, req: Request<hyper::body::Incoming>) -> Response<Body> {
	let Some(file) = FileId::parse(req.uri().path().trim_start_matches('/')) else {
		return reply(StatusCode::NOT_FOUND, "not a file of this store\n");
	};
	match *req.method() {
		Method::GET | Method::HEAD => {
			let path = store.files.path(&file);
			match tokio::fs::read(&path).await {
				Ok(bytes) => {
					crate::metrics::get()
						.served_bytes
						.inc_by(bytes.len() as u64);
					let mut r = reply(StatusCode::OK, bytes);
					r.headers_mut().insert(
						hyper::header::CONTENT_TYPE,
						hyper::header::HeaderValue::from_static("application/octet-stream"),
					);
					r
				}
				Err(_) => reply(StatusCode::NOT_FOUND, format!("{file} is not here\n")),
			}
		}
		Method::PUT => match take(store, file, req).await {
			Ok(code) => reply(code, ""),
			Err((code, why)) => {
				tracing::warn!(%file, "upload refused: {why}");
				reply(code, format!("{why}\n"))
			}
		},
		_ => reply(StatusCode::METHOD_NOT_ALLOWED, "GET or PUT\n"),
	}
}

/// Take an uploaded file: referred to by the chain record its query names, within
/// the size limit, matching its root.
async fn take(
	store: &Store,
	file: FileId,
	req: Request<hyper::body::Incoming>,
) -> Result<StatusCode, (StatusCode, String)> {
	let Some(reference) = req.uri().query().and_then(Reference::parse) else {
		return Err((
			StatusCode::BAD_REQUEST,
			"name the chain record that refers to the file: ?model=N, ?task=N or ?job=N".into(),
		));
	};
	match reference.resolve(&store.client).await {
		Ok(Some((f, _))) if f == file => {}
		Ok(_) => {
			return Err((
				StatusCode::FORBIDDEN,
				format!("{reference:?} on chain does not refer to {file}"),
			))
		}
		Err(e) => {
			return Err((
				StatusCode::SERVICE_UNAVAILABLE,
				format!("reading the chain: {e:#}"),
			))
		}
	}
	if store.files.has(&file) {
		return Ok(StatusCode::OK);
	}
	let len: Option<u64> = req
		.headers()
		.get(hyper::header::CONTENT_LENGTH)
		.and_then(|v| v.to_str().ok())
		.and_then(|v| v.parse().ok());
	if len.is_some_and(|l| l > store.files.limits().max_bytes) {
		return Err((
			StatusCode::PAYLOAD_TOO_LARGE,
			format!(
				"more than the {} bytes this store takes",
				store.files.limits().max_bytes
			),
		));
	}
	let max = store.files.limits().max_bytes;
	let body = Limited::new(req.into_body(), max as usize)
		.collect()
		.await
		.map_err(|e| {
			(
				StatusCode::PAYLOAD_TOO_LARGE,
				format!("the body (at most {max} bytes): {e}"),
			)
		})?
		.to_bytes();
	if len.is_some_and(|l| l != body.len() as u64) {
		return Err((
			StatusCode::BAD_REQUEST,
			format!("truncated: {} of {:?} bytes", body.len(), len),
		));
	}
	let files = store.files.clone();
	tokio::task::spawn_blocking(move || files.put_checked(&file, &body))
		.await
		.map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}")))?
		.map_err(|e| (StatusCode::UNPROCESSABLE_ENTITY, format!("{e:#}")))?;
	tracing::info!(%file, "upload taken");
	Ok(StatusCode::CREATED)
}
