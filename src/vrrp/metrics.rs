//! VRRP metrics, registered once in the daemon's registry.

use prometheus::{IntCounterVec, IntGaugeVec, Opts, Registry};

#[derive(Clone)]
pub struct VrrpMetrics {
    pub state: IntGaugeVec,
    pub priority: IntGaugeVec,
    pub vips_held: IntGaugeVec,
    pub sent: IntCounterVec,
    pub received: IntCounterVec,
    pub dropped: IntCounterVec,
    pub transitions: IntCounterVec,
    pub send_errors: IntCounterVec,
    pub announcements: IntCounterVec,
    pub vips_restored: IntCounterVec,
}

fn gauge(r: &Registry, name: &str, help: &str, labels: &[&str]) -> prometheus::Result<IntGaugeVec> {
    let g = IntGaugeVec::new(Opts::new(name, help), labels)?;
    r.register(Box::new(g.clone()))?;
    Ok(g)
}

fn counter(
    r: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> prometheus::Result<IntCounterVec> {
    let c = IntCounterVec::new(Opts::new(name, help), labels)?;
    r.register(Box::new(c.clone()))?;
    Ok(c)
}

impl VrrpMetrics {
    pub fn register(r: &Registry) -> prometheus::Result<VrrpMetrics> {
        let m = VrrpMetrics {
            state: gauge(
                r,
                "tandem_vrrp_state",
                "VRRP state: 0 init, 1 backup, 2 master, 3 fault.",
                &["instance"],
            )?,
            priority: gauge(
                r,
                "tandem_vrrp_priority",
                "Effective priority (configured priority plus tracker weights).",
                &["instance"],
            )?,
            vips_held: gauge(
                r,
                "tandem_vrrp_vips_held",
                "Virtual addresses this box holds now.",
                &["instance"],
            )?,
            sent: counter(
                r,
                "tandem_vrrp_adverts_sent_total",
                "Advertisements sent.",
                &["instance"],
            )?,
            received: counter(
                r,
                "tandem_vrrp_adverts_received_total",
                "Advertisements received for the instance's VRID (accepted or dropped).",
                &["instance"],
            )?,
            dropped: counter(
                r,
                "tandem_vrrp_adverts_dropped_total",
                "VRRP packets dropped, by reason.",
                &["reason"],
            )?,
            transitions: counter(
                r,
                "tandem_vrrp_transitions_total",
                "State transitions, by the state entered.",
                &["instance", "to"],
            )?,
            send_errors: counter(
                r,
                "tandem_vrrp_send_errors_total",
                "Advertisements the kernel refused to send.",
                &["instance"],
            )?,
            announcements: counter(
                r,
                "tandem_vrrp_announcements_sent_total",
                "Gratuitous ARP and unsolicited NA packets sent.",
                &["instance"],
            )?,
            vips_restored: counter(
                r,
                "tandem_vrrp_vips_restored_total",
                "VIPs added back (and announced) after something other than tandem removed them while MASTER.",
                &["instance"],
            )?,
        };
        m.zero_drop_reasons();
        Ok(m)
    }

    /// Forgets an instance's series (it was removed by a reload).
    pub fn forget(&self, instance: &str) {
        let _ = self.state.remove_label_values(&[instance]);
        let _ = self.priority.remove_label_values(&[instance]);
        let _ = self.vips_held.remove_label_values(&[instance]);
        let _ = self.sent.remove_label_values(&[instance]);
        let _ = self.received.remove_label_values(&[instance]);
        let _ = self.send_errors.remove_label_values(&[instance]);
        let _ = self.announcements.remove_label_values(&[instance]);
        let _ = self.vips_restored.remove_label_values(&[instance]);
        for to in ["INIT", "BACKUP", "MASTER", "FAULT"] {
            let _ = self.transitions.remove_label_values(&[instance, to]);
        }
    }

    /// Creates every drop reason's series at 0 (called once the counter is registered),
    /// so that an alert on `increase(...) > 0` sees the first drop.
    fn zero_drop_reasons(&self) {
        for reason in DROP_REASONS {
            self.dropped.with_label_values(&[reason]);
        }
    }

    pub fn drop_reason(&self, reason: &str) {
        self.dropped.with_label_values(&[reason]).inc();
    }
}

/// The `reason` labels of `tandem_vrrp_adverts_dropped_total` (README: "Dropped packets").
pub const DROP_REASONS: [&str; 16] = [
    "bad_length",
    "bad_version",
    "bad_type",
    "bad_checksum",
    "bad_interval",
    "wrong_vrid",
    "ttl",
    "version",
    "mode_mismatch",
    "unknown_peer",
    "auth_type",
    "auth",
    "interval",
    "own_address",
    "vip_mismatch",
    "queue_full",
];
