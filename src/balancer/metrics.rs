//! Balancer metrics.

use prometheus::{
    HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry,
};

#[derive(Clone)]
pub struct BalancerMetrics {
    pub connections: IntCounterVec,
    pub active: IntGaugeVec,
    pub server_active: IntGaugeVec,
    pub bytes: IntCounterVec,
    pub connect_duration: HistogramVec,
    pub server_up: IntGaugeVec,
    pub check_failures: IntCounterVec,
    pub transitions: IntCounterVec,
    pub agent_errors: IntCounterVec,
    pub retries: IntCounterVec,
    pub redispatches: IntCounterVec,
    pub connect_errors: IntCounterVec,
    pub accept_errors: IntCounterVec,
    pub rate_limited: IntCounterVec,
    pub no_server: IntCounterVec,
    pub proxy_errors: IntCounterVec,
    pub log_dropped: IntCounter,
}

impl BalancerMetrics {
    pub fn register(r: &Registry) -> prometheus::Result<BalancerMetrics> {
        let m = BalancerMetrics {
            connections: IntCounterVec::new(
                Opts::new(
                    "tandem_balancer_connections_total",
                    "Client connections, by the server they went to.",
                ),
                &["listener", "server"],
            )?,
            active: IntGaugeVec::new(
                Opts::new(
                    "tandem_balancer_active_connections",
                    "Client connections open now.",
                ),
                &["listener"],
            )?,
            server_active: IntGaugeVec::new(
                Opts::new(
                    "tandem_balancer_server_active_connections",
                    "Connections open to each server now.",
                ),
                &["listener", "server"],
            )?,
            bytes: IntCounterVec::new(
                Opts::new(
                    "tandem_balancer_bytes_total",
                    "Bytes relayed: in = client to server, out = server to client.",
                ),
                &["listener", "direction"],
            )?,
            connect_duration: HistogramVec::new(
                HistogramOpts::new(
                    "tandem_balancer_connect_duration_seconds",
                    "Time to connect to the server (successful attempts).",
                )
                .buckets(vec![
                    0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0,
                ]),
                &["listener"],
            )?,
            server_up: IntGaugeVec::new(
                Opts::new(
                    "tandem_balancer_server_up",
                    "1 while the server is up per its health checks and its agent.",
                ),
                &["listener", "server"],
            )?,
            check_failures: IntCounterVec::new(
                Opts::new(
                    "tandem_balancer_check_failures_total",
                    "Failed health checks that took health away (haproxy's chkfail: none while the server is fully down).",
                ),
                &["listener", "server"],
            )?,
            transitions: IntCounterVec::new(
                Opts::new(
                    "tandem_balancer_server_transitions_total",
                    "Servers marked UP or DOWN by their health checks or agents (one per UP/DOWN log line).",
                ),
                &["listener", "server", "to"],
            )?,
            agent_errors: IntCounterVec::new(
                Opts::new(
                    "tandem_balancer_agent_errors_total",
                    "Agent checks that could not ask the agent (refused, timed out, reset): the server keeps its state.",
                ),
                &["listener", "server"],
            )?,
            retries: IntCounterVec::new(
                Opts::new(
                    "tandem_balancer_retries_total",
                    "Failed connection attempts retried on the same server (one that moves to another server counts as a redispatch, as haproxy's wretr/wredis).",
                ),
                &["listener"],
            )?,
            redispatches: IntCounterVec::new(
                Opts::new(
                    "tandem_balancer_redispatches_total",
                    "Retries sent to another server.",
                ),
                &["listener"],
            )?,
            connect_errors: IntCounterVec::new(
                Opts::new(
                    "tandem_balancer_connect_errors_total",
                    "Failed connection attempts to servers.",
                ),
                &["listener", "server"],
            )?,
            accept_errors: IntCounterVec::new(
                Opts::new(
                    "tandem_balancer_accept_errors_total",
                    "accept() failures (EMFILE, ENFILE, ...).",
                ),
                &["listener", "error"],
            )?,
            rate_limited: IntCounterVec::new(
                Opts::new(
                    "tandem_balancer_rate_limited_total",
                    "Times a listener stopped accepting for a while because a rate limit was reached.",
                ),
                &["listener", "limit"],
            )?,
            no_server: IntCounterVec::new(
                Opts::new(
                    "tandem_balancer_no_server_total",
                    "Connections closed because no server could take them.",
                ),
                &["listener"],
            )?,
            proxy_errors: IntCounterVec::new(
                Opts::new(
                    "tandem_balancer_proxy_header_errors_total",
                    "Client connections closed because their PROXY header was malformed, incomplete or late (accept_proxy).",
                ),
                &["listener"],
            )?,
            log_dropped: IntCounter::new(
                "tandem_balancer_log_lines_dropped_total",
                "Connection log lines dropped because the log sink was slow.",
            )?,
        };
        r.register(Box::new(m.connections.clone()))?;
        r.register(Box::new(m.active.clone()))?;
        r.register(Box::new(m.server_active.clone()))?;
        r.register(Box::new(m.bytes.clone()))?;
        r.register(Box::new(m.connect_duration.clone()))?;
        r.register(Box::new(m.server_up.clone()))?;
        r.register(Box::new(m.check_failures.clone()))?;
        r.register(Box::new(m.transitions.clone()))?;
        r.register(Box::new(m.agent_errors.clone()))?;
        r.register(Box::new(m.retries.clone()))?;
        r.register(Box::new(m.redispatches.clone()))?;
        r.register(Box::new(m.connect_errors.clone()))?;
        r.register(Box::new(m.accept_errors.clone()))?;
        r.register(Box::new(m.rate_limited.clone()))?;
        r.register(Box::new(m.no_server.clone()))?;
        r.register(Box::new(m.proxy_errors.clone()))?;
        r.register(Box::new(m.log_dropped.clone()))?;
        r.register(Box::new(SpliceFallbacks::new()?))?;
        Ok(m)
    }
}

/// `tandem_balancer_splice_fallbacks_total`, read from the relay's counter at scrape time.
struct SpliceFallbacks {
    desc: prometheus::core::Desc,
}

const SPLICE_FALLBACKS: &str = "tandem_balancer_splice_fallbacks_total";
const SPLICE_FALLBACKS_HELP: &str =
    "Session directions relayed with buffers because splice(2) could not be used.";

impl SpliceFallbacks {
    fn new() -> prometheus::Result<SpliceFallbacks> {
        Ok(SpliceFallbacks {
            desc: prometheus::core::Desc::new(
                SPLICE_FALLBACKS.into(),
                SPLICE_FALLBACKS_HELP.into(),
                Vec::new(),
                std::collections::HashMap::new(),
            )?,
        })
    }
}

impl prometheus::core::Collector for SpliceFallbacks {
    fn desc(&self) -> Vec<&prometheus::core::Desc> {
        vec![&self.desc]
    }

    fn collect(&self) -> Vec<prometheus::proto::MetricFamily> {
        let mut c = prometheus::proto::Counter::default();
        c.set_value(super::relay::splice_fallbacks() as f64);
        let mut m = prometheus::proto::Metric::default();
        m.set_counter(c);
        let mut f = prometheus::proto::MetricFamily::default();
        f.set_name(SPLICE_FALLBACKS.into());
        f.set_help(SPLICE_FALLBACKS_HELP.into());
        f.set_field_type(prometheus::proto::MetricType::COUNTER);
        f.set_metric(vec![m]);
        vec![f]
    }
}

/// A listener's series, looked up once (not per connection).
#[derive(Clone)]
pub struct ListenerMetrics {
    pub active: prometheus::IntGauge,
    pub bytes_in: prometheus::IntCounter,
    pub bytes_out: prometheus::IntCounter,
    pub connect: prometheus::Histogram,
    pub retries: prometheus::IntCounter,
    pub redispatches: prometheus::IntCounter,
    pub no_server: prometheus::IntCounter,
    pub proxy_errors: prometheus::IntCounter,
}

/// A server's series.
#[derive(Clone, Debug)]
pub struct ServerMetrics {
    pub connections: prometheus::IntCounter,
    pub active: prometheus::IntGauge,
    pub connect_errors: prometheus::IntCounter,
}

impl BalancerMetrics {
    pub fn listener(&self, l: &str) -> ListenerMetrics {
        ListenerMetrics {
            active: self.active.with_label_values(&[l]),
            bytes_in: self.bytes.with_label_values(&[l, "in"]),
            bytes_out: self.bytes.with_label_values(&[l, "out"]),
            connect: self.connect_duration.with_label_values(&[l]),
            retries: self.retries.with_label_values(&[l]),
            redispatches: self.redispatches.with_label_values(&[l]),
            no_server: self.no_server.with_label_values(&[l]),
            proxy_errors: self.proxy_errors.with_label_values(&[l]),
        }
    }

    pub fn server(&self, l: &str, s: &str) -> ServerMetrics {
        ServerMetrics {
            connections: self.connections.with_label_values(&[l, s]),
            active: self.server_active.with_label_values(&[l, s]),
            connect_errors: self.connect_errors.with_label_values(&[l, s]),
        }
    }
}
