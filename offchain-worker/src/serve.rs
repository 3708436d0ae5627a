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
	/// Take uploads of models only if this account declared capacity for them (a
	/// provider's store keeps what it serves); otherwise any registered model (a
	/// requester's or a mirror's store, `opml-worker serve`).
	pub only_capacity: bool,
}

/// Connections a store serves at once (more wait to be accepted).
pub const MAX_CONNECTIONS: usize = 64;

/// File transfers (a body read from disk or taken from an upload) in memory at once.
pub const MAX_TRANSFERS: usize = 4;

/// How long a client has to send a request's headers.
const HEADER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Serve `store` on `addr` in the background; returns the address bound (port 0
/// picks one).
pub async fn serve(addr: SocketAddr, store: Store) -> Result<SocketAddr> {
	let listener = tokio::net::TcpListener::bind(addr)
		.await
		.with_context(|| format!("binding the file store to {addr}"))?;
	let bound = listener.local_addr()?;
	tracing::info!(%bound, dir = %store.files.dir().display(), "serving the file store");
	let connections = std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
	let transfers = std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_TRANSFERS));
	tokio::spawn(async move {
		loop {
			let Ok(permit) = connections.clone().acquire_owned().await else {
				return;
			};
			let (sock, peer) = match listener.accept().await {
				Ok(s) => s,
				Err(e) => {
					tracing::warn!("file store: accept: {e}");
					tokio::time::sleep(std::time::Duration::from_millis(100)).await;
					continue;
				}
			};
			let (store, transfers) = (store.clone(), transfers.clone());
			tokio::spawn(async move {
				let _permit = permit;
				let svc = hyper::service::service_fn(move |req| {
					let (store, transfers) = (store.clone(), transfers.clone());
					async move {
						Ok::<_, std::convert::Infallible>(handle(&store, &transfers, req).await)
					}
				});
				if let Err(e) = hyper::server::conn::http1::Builder::new()
					.timer(hyper_util::rt::TokioTimer::new())
					.header_read_timeout(HEADER_TIMEOUT)
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

async fn handle(
	store: &Store,
	transfers: &tokio::sync::Semaphore,
	req: Request<hyper::body::Incoming>,
) -> Response<Body> {
	let Some(file) = FileId::parse(req.uri().path().trim_start_matches('/')) else {
		return reply(StatusCode::NOT_FOUND, "not a file of this store\n");
	};
	match *req.method() {
		Method::GET | Method::HEAD => {
			let path = store.files.path(&file);
			if !store.files.has(&file) {
				return reply(StatusCode::NOT_FOUND, format!("{file} is not here\n"));
			}
			let Ok(_permit) = transfers.acquire().await else {
				return reply(StatusCode::SERVICE_UNAVAILABLE, "shutting down\n");
			};
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
		Method::PUT => match take(store, transfers, file, req).await {
			Ok(code) => reply(code, ""),
			Err((code, why)) => {
				tracing::warn!(%file, "upload refused: {why}");
				reply(code, format!("{why}\n"))
			}
		},
		_ => reply(StatusCode::METHOD_NOT_ALLOWED, "GET or PUT\n"),
	}
}

/// Take an uploaded file: referred to by the chain record its query names (for a
/// provider's store, a model it declared capacity for), announced with its length
/// within the size limit, matching its root. Cheap checks come first: the length and
/// whether the file is here already, then the chain, then the body.
async fn take(
	store: &Store,
	transfers: &tokio::sync::Semaphore,
	file: FileId,
	req: Request<hyper::body::Incoming>,
) -> Result<StatusCode, (StatusCode, String)> {
	let Some(reference) = req.uri().query().and_then(Reference::parse) else {
		return Err((
			StatusCode::BAD_REQUEST,
			"name the chain record that refers to the file: ?model=N, ?task=N or ?job=N".into(),
		));
	};
	let Some(len) = req
		.headers()
		.get(hyper::header::CONTENT_LENGTH)
		.and_then(|v| v.to_str().ok())
		.and_then(|v| v.parse::<u64>().ok())
	else {
		return Err((
			StatusCode::LENGTH_REQUIRED,
			"an upload names its length (Content-Length)".into(),
		));
	};
	let max = file.max_bytes(&store.files.limits());
	if len > max {
		return Err((
			StatusCode::PAYLOAD_TOO_LARGE,
			format!("{len} bytes: more than the {max} this store takes"),
		));
	}
	match reference.file(&store.client).await {
		Ok(Some(f)) if f == file => {}
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
	if let (true, Reference::Model(m)) = (store.only_capacity, reference) {
		let mine = store
			.client
			.fetch(
				crate::chain::api::storage().providers().providers(),
				(store.client.account(),),
			)
			.await
			.map_err(|e| {
				(
					StatusCode::SERVICE_UNAVAILABLE,
					format!("reading the chain: {e:#}"),
				)
			})?;
		if !mine.is_some_and(|p| p.capacity.0.iter().any(|c| c.task_type == m)) {
			return Err((
				StatusCode::FORBIDDEN,
				format!("this provider's store keeps only the models it serves, not model {m}"),
			));
		}
	}
	let Ok(_permit) = transfers.acquire().await else {
		return Err((StatusCode::SERVICE_UNAVAILABLE, "shutting down".into()));
	};
	let collect = Limited::new(req.into_body(), max as usize).collect();
	let body = tokio::time::timeout(store.files.limits().timeout, collect)
		.await
		.map_err(|_| {
			(
				StatusCode::REQUEST_TIMEOUT,
				"the body came too slowly".into(),
			)
		})?
		.map_err(|e| {
			if e.is::<http_body_util::LengthLimitError>() {
				(
					StatusCode::PAYLOAD_TOO_LARGE,
					format!("more than the {max} bytes this store takes"),
				)
			} else {
				// the uploader went away or sent less than it announced
				(
					StatusCode::BAD_REQUEST,
					format!("the body was cut short: {e}"),
				)
			}
		})?
		.to_bytes();
	if body.len() as u64 != len {
		return Err((
			StatusCode::BAD_REQUEST,
			format!("truncated: {} of {len} bytes", body.len()),
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
