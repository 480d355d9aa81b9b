//! The `observe` HTTP endpoint: `GET /metrics` and `GET /status`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{ALLOW, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;

use super::metrics::Metrics;
use super::status::StatusHub;

/// Connections served at once; more wait in the accept queue.
const MAX_CONNECTIONS: usize = 64;

/// How long a connection may take to send a request's headers, and how long an idle
/// keep-alive connection stays open. Short, so that connections that send nothing
/// (slowloris, a stuck scraper) cannot hold every slot for long: a request waiting in
/// the accept queue gets one well within `tandem status`' 5 s and a scraper's timeout.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(2);

/// The longest a connection is kept, whatever it does.
const CONNECTION_LIMIT: Duration = Duration::from_secs(20);

#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {addr} for observe: {source}{}", in_use_hint(.source))]
pub struct BindError {
    pub addr: SocketAddr,
    #[source]
    pub source: std::io::Error,
}

fn in_use_hint(e: &std::io::Error) -> &'static str {
    if e.kind() == std::io::ErrorKind::AddrInUse {
        " (another process listens there: another tandem with this config? `tandem status` asks it)"
    } else {
        ""
    }
}

/// A running endpoint; dropping it does not stop it, `stop` does.
pub struct Server {
    pub addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Server {
    /// Binds `addr` and serves until `stop`.
    pub async fn start(
        addr: SocketAddr,
        metrics: Metrics,
        status: StatusHub,
    ) -> Result<Server, BindError> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| BindError { addr, source })?;
        let bound = listener.local_addr().unwrap_or(addr);
        let (stop, mut stopped) = watch::channel(false);
        let state = Arc::new((metrics, status));
        let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        let task = tokio::spawn(async move {
            loop {
                let permit = tokio::select! {
                    _ = stopped.changed() => break,
                    p = permits.clone().acquire_owned() => match p {
                        Ok(p) => p,
                        Err(_) => break,
                    },
                };
                let accepted = tokio::select! {
                    _ = stopped.changed() => break,
                    a = listener.accept() => a,
                };
                let (stream, _) = match accepted {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::warn!("observe: accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let state = state.clone();
                tokio::spawn(async move {
                    let _permit = permit;
                    let svc = service_fn(move |req| {
                        let state = state.clone();
                        async move { Ok::<_, Infallible>(route(&req, &state.0, &state.1)) }
                    });
                    let conn = http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(HEADER_READ_TIMEOUT)
                        .keep_alive(true)
                        .serve_connection(TokioIo::new(stream), svc);
                    // A client that stalls mid-response is cut off.
                    let _ = tokio::time::timeout(CONNECTION_LIMIT, conn).await;
                });
            }
        });
        tracing::info!(listen = %bound, "observe endpoint listening on http://{bound} (/metrics, /status)");
        Ok(Server {
            addr: bound,
            stop,
            task,
        })
    }

    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

fn text(status: StatusCode, content_type: &str, body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    if let Ok(v) = content_type.parse() {
        r.headers_mut().insert(CONTENT_TYPE, v);
    }
    r
}

fn route(req: &Request<Incoming>, metrics: &Metrics, status: &StatusHub) -> Response<Full<Bytes>> {
    let path = req.uri().path();
    if !matches!(path, "/" | "/metrics" | "/status") {
        return text(
            StatusCode::NOT_FOUND,
            "text/plain",
            "not found: try /metrics or /status\n".into(),
        );
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = text(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain",
            "only GET\n".into(),
        );
        if let Ok(v) = "GET, HEAD".parse() {
            r.headers_mut().insert(ALLOW, v);
        }
        return r;
    }
    match path {
        "/metrics" => text(
            StatusCode::OK,
            "text/plain; version=0.0.4; charset=utf-8",
            metrics.render(),
        ),
        "/status" => {
            let mut body = serde_json::to_string_pretty(&status.snapshot()).unwrap_or_default();
            body.push('\n');
            text(StatusCode::OK, "application/json", body)
        }
        _ => text(
            StatusCode::OK,
            "text/plain",
            "tandem: GET /metrics (Prometheus), GET /status (JSON)\n".into(),
        ),
    }
}
