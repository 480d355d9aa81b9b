//! The `observe` HTTP endpoint: `GET /metrics`, `GET /status`, `GET /health/router`, and the balancer's
//! statistics page (haproxy's `stats uri`, see [`super::stats_page`]).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{
    ALLOW, AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, LOCATION, WWW_AUTHENTICATE,
};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;

use super::metrics::Metrics;
use super::stats_page::{self, Format, Outcome, PageRequest};
use super::status::StatusHub;
use crate::admin::Targets;
use crate::config::model::StatsPageConfig;

/// The largest form the stats page reads (haproxy's answer beyond it: `EXCD`).
const MAX_FORM: usize = 64 * 1024;

/// What the endpoint serves from.
struct State {
    metrics: Metrics,
    status: StatusHub,
    targets: Targets,
    stats: Arc<RwLock<StatsPageConfig>>,
}

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
    stats: Arc<RwLock<StatsPageConfig>>,
}

impl Server {
    /// Binds `addr` and serves until `stop`; `targets` are what the stats page shows
    /// and changes.
    pub async fn start(
        addr: SocketAddr,
        metrics: Metrics,
        status: StatusHub,
        targets: Targets,
        stats: StatsPageConfig,
    ) -> Result<Server, BindError> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| BindError { addr, source })?;
        let bound = listener.local_addr().unwrap_or(addr);
        let (stop, mut stopped) = watch::channel(false);
        let stats = Arc::new(RwLock::new(stats));
        let state = Arc::new(State {
            metrics,
            status,
            targets,
            stats: stats.clone(),
        });
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
                        async move { Ok::<_, Infallible>(route(req, &state).await) }
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
        tracing::info!(listen = %bound, "observe endpoint listening on http://{bound} (/metrics, /status, /health/router, the stats page)");
        Ok(Server {
            addr: bound,
            stop,
            task,
            stats,
        })
    }

    /// A reloaded `observe.stats`, for the next requests.
    pub fn set_stats(&self, cfg: &StatsPageConfig) {
        if let Ok(mut s) = self.stats.write() {
            *s = cfg.clone();
        }
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

fn method_not_allowed(allow: &str) -> Response<Full<Bytes>> {
    let mut r = text(
        StatusCode::METHOD_NOT_ALLOWED,
        "text/plain",
        format!("only {allow}\n"),
    );
    if let Ok(v) = allow.parse() {
        r.headers_mut().insert(ALLOW, v);
    }
    r
}

async fn route(req: Request<Incoming>, state: &State) -> Response<Full<Bytes>> {
    let path = req.uri().path();
    if !matches!(path, "/" | "/metrics" | "/status" | "/health/router") {
        let stats = state.stats.read().map(|s| s.clone()).unwrap_or_default();
        let target = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or(path);
        return match stats_page::parse_target(target, &stats.uri, stats.refresh.is_some()) {
            Some(page) => stats_request(req, page, &stats, state).await,
            None => text(
                StatusCode::NOT_FOUND,
                "text/plain",
                format!(
                    "not found: try /metrics, /status, /health/router or {}\n",
                    stats.uri
                ),
            ),
        };
    }
    // haproxy's `option httpchk /health/router` (a URI without a method) sends OPTIONS.
    if path == "/health/router" && req.method() == Method::OPTIONS {
        return router_health(&state.status);
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return method_not_allowed("GET, HEAD");
    }
    let (metrics, status) = (&state.metrics, &state.status);
    match path {
        "/metrics" => text(
            StatusCode::OK,
            "text/plain; version=0.0.4; charset=utf-8",
            metrics.render(),
        ),
        "/health/router" => router_health(status),
        "/status" => {
            let mut body = serde_json::to_string_pretty(&status.snapshot()).unwrap_or_default();
            body.push('\n');
            text(StatusCode::OK, "application/json", body)
        }
        _ => text(
            StatusCode::OK,
            "text/plain",
            format!(
                "tandem: GET /metrics (Prometheus), GET /status (JSON), GET /health/router (200 online, 404 offline), GET {} (statistics page)\n",
                state
                    .stats
                    .read()
                    .map(|s| s.uri.clone())
                    .unwrap_or_default()
            ),
        ),
    }
}

/// `GET /health/router`, for a balancer's http check in place of the xinetd script
/// MyCat setups run on port 48700: 200 while the router runs and is online, 404 while
/// the admin command `offline` holds it out of service (with `disable_on_404`, haproxy's
/// `http-check disable-on-404`, the balancer drains it: no new connections, sessions
/// stay), 503 when this box runs no router.
fn router_health(status: &StatusHub) -> Response<Full<Bytes>> {
    let mut r = match status.subsystem("router") {
        None => text(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain",
            "no router runs on this box\n".into(),
        ),
        Some(v) if v.get("online").and_then(|o| o.as_bool()) == Some(false) => text(
            StatusCode::NOT_FOUND,
            "text/plain",
            "router offline (admin command `offline`; `online` ends it)\n".into(),
        ),
        Some(_) => text(StatusCode::OK, "text/plain", "router online\n".into()),
    };
    no_cache(&mut r);
    r
}

/// A stats page request: authentication, then the page (GET, HEAD) or a form (POST).
async fn stats_request(
    req: Request<Incoming>,
    page: PageRequest,
    cfg: &StatsPageConfig,
    state: &State,
) -> Response<Full<Bytes>> {
    let auth = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if !stats_page::authorized(auth, cfg) {
        let mut r = text(
            StatusCode::UNAUTHORIZED,
            "text/html",
            "<html><body><h1>401 Unauthorized</h1>\nYou need a valid user and password to access this content.\n</body></html>\n".into(),
        );
        no_cache(&mut r);
        if let Ok(v) = format!("Basic realm=\"{}\"", cfg.realm).parse() {
            r.headers_mut().insert(WWW_AUTHENTICATE, v);
        }
        return r;
    }
    let user = auth.and_then(basic_user).unwrap_or_default();
    match *req.method() {
        Method::GET | Method::HEAD => stats_body(&page, cfg, &state.targets),
        Method::POST => {
            let header = |n: hyper::header::HeaderName| {
                req.headers()
                    .get(n)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            };
            let (origin, referer, host) = (
                header(hyper::header::ORIGIN),
                header(hyper::header::REFERER),
                header(hyper::header::HOST),
            );
            let same = stats_page::same_origin(origin.as_deref(), referer.as_deref(), host.as_deref())
                // Without a password, only a request that names the endpoint by its
                // address: a name could be an attacker's pointed at this box.
                && (!cfg.auth.is_empty() || stats_page::host_is_an_address(host.as_deref()));
            let outcome = if !cfg.admin {
                Outcome::Deny
            } else if !same {
                tracing::warn!(
                    user,
                    "stats page: a form from {} (host {}) refused (not this page: another site may be using the operator's browser)",
                    origin.or(referer).unwrap_or_default(),
                    host.unwrap_or_default()
                );
                Outcome::Deny
            } else {
                match Limited::new(req.into_body(), MAX_FORM).collect().await {
                    Ok(b) => apply_form(&b.to_bytes(), &state.targets, &user),
                    Err(_) => Outcome::Excd,
                }
            };
            let mut r = text(StatusCode::SEE_OTHER, "text/plain", String::new());
            no_cache(&mut r);
            if let Ok(v) = stats_page::redirect(&cfg.uri, &page, outcome).parse() {
                r.headers_mut().insert(LOCATION, v);
            }
            r
        }
        _ => method_not_allowed("GET, HEAD, POST"),
    }
}

fn no_cache(r: &mut Response<Full<Bytes>>) {
    if let Ok(v) = "no-cache".parse() {
        r.headers_mut().insert(CACHE_CONTROL, v);
    }
}

/// The user name of a basic `Authorization` header already accepted (for the log).
fn basic_user(h: &str) -> Option<String> {
    let (_, cred) = h.trim().split_once(' ')?;
    stats_page::basic_credentials(cred.trim()).map(|(u, _)| u)
}

/// The page in the asked format.
fn stats_body(
    page: &PageRequest,
    cfg: &StatsPageConfig,
    targets: &Targets,
) -> Response<Full<Bytes>> {
    // The three filter words "every proxy, type and server" first: with three or more
    // words after `stat`, `show stat` reads the first three as the filter.
    let args = format!(" -1 -1 -1{}", page.stat_args(cfg));
    let run = |cmd: &str| crate::admin::run_one(targets, cmd);
    let (content_type, body) = match page.format {
        Format::Csv => ("text/plain", run(&format!("show stat{args}"))),
        Format::Typed => ("text/plain", run(&format!("show stat{args} typed"))),
        Format::Json => ("application/json", run(&format!("show stat{args} json"))),
        Format::JsonSchema => ("application/json", run("show schema json")),
        Format::Html => {
            let rows = run(&format!("show stat{args}"))
                .map(|csv| stats_page::parse_csv(&csv))
                .unwrap_or_default();
            let info = run("show info")
                .map(|t| stats_page::parse_info(&t))
                .unwrap_or_default();
            let html = stats_page::render_html(&stats_page::Page {
                cfg,
                req: page,
                rows: &rows,
                info: &info,
                version: env!("CARGO_PKG_VERSION"),
            });
            ("text/html; charset=utf-8", Ok(html))
        }
    };
    let mut r = match body {
        Ok(b) => text(StatusCode::OK, content_type, b),
        Err(e) => text(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain",
            format!("{e}\n"),
        ),
    };
    no_cache(&mut r);
    if let Some(refresh) = cfg.refresh
        && !page.norefresh
        && let Ok(v) = refresh.get().as_secs().to_string().parse()
    {
        r.headers_mut().insert("refresh", v);
    }
    r
}

/// Carries out a POSTed form: each checked server's command through the admin
/// commands, logged.
fn apply_form(body: &[u8], targets: &Targets, user: &str) -> Outcome {
    let form = stats_page::parse_form(body);
    let rows = crate::admin::run_one(targets, "show stat")
        .map(|csv| stats_page::parse_csv(&csv))
        .unwrap_or_default();
    let (cmds, asked) = match stats_page::form_commands(&form, &rows) {
        Ok(c) => c,
        Err(o) => return o,
    };
    let mut done = 0;
    for c in &cmds {
        match crate::admin::run_one(targets, c) {
            Ok(_) => {
                done += 1;
                tracing::info!(user, command = %c, "stats page: `{c}` by {user}");
            }
            Err(e) => {
                tracing::warn!(user, command = %c, "stats page: `{c}` by {user} refused: {e}")
            }
        }
    }
    stats_page::outcome(done, asked)
}
