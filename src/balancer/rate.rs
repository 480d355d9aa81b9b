//! Per-second event rates as haproxy's `freq_ctr` computes them (`show stat` rate,
//! rate_max, conn_rate, conn_rate_max; `show info` ConnRate, SessRate and their maxima).
//!
//! A counter holds the events of the current one-second period and of the previous one.
//! The rate read at a moment is the current period's count plus the previous period's,
//! weighted by the part of the current second still to come; the maximum is the highest
//! count one period reached. Counting an event is one atomic add on the counter's word
//! (a compare-and-swap once a second when the period turns over), so it stays cheap on
//! the accept path.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Instant;

/// The period, in ms (haproxy's `MS_TO_TICKS(1000)`).
const PERIOD: u32 = 1000;

/// Milliseconds on the process's clock (haproxy's `now_ms`): wraps after 49 days, read
/// with wrapping arithmetic. It starts two periods in, so a new counter (period start 0)
/// opens its first period at its first event, as haproxy's do.
pub fn now_ms() -> u32 {
    static START: OnceLock<Instant> = OnceLock::new();
    let ms = START.get_or_init(Instant::now).elapsed().as_millis();
    // Truncation is the wrap.
    (ms as u32).wrapping_add(2 * PERIOD)
}

/// One per-second counter and the highest count a period reached.
#[derive(Debug, Default)]
pub struct FreqCtr {
    /// The current period's start (ms, high half) and its events (low half).
    curr: AtomicU64,
    /// The previous period's events.
    prev: AtomicU32,
    max: AtomicU32,
}

fn unpack(v: u64) -> (u32, u32) {
    ((v >> 32) as u32, v as u32)
}

impl FreqCtr {
    /// Counts one event at `now` (from [`now_ms`]).
    pub fn add(&self, now: u32) {
        self.add_n(now, 1);
    }

    /// Counts `n` events at `now` (bytes, say).
    pub fn add_n(&self, now: u32, n: u32) {
        let n = self.update(now, n);
        if n > self.max.load(Ordering::Relaxed) {
            self.max.fetch_max(n, Ordering::Relaxed);
        }
    }

    /// haproxy's `update_freq_ctr`: adds `inc` to the current period, turning the
    /// period over first when it is past; returns the current period's count.
    fn update(&self, now: u32, inc: u32) -> u32 {
        let mut v = self.curr.load(Ordering::Relaxed);
        loop {
            let (tick, count) = unpack(v);
            if now.wrapping_sub(tick) < PERIOD {
                // An event racing a turnover lands in the new period: no harm.
                let before = self.curr.fetch_add(u64::from(inc), Ordering::Relaxed);
                return unpack(before).1.wrapping_add(inc);
            }
            let mut next = tick.wrapping_add(PERIOD);
            let mut prev = count;
            if now.wrapping_sub(next) >= PERIOD {
                // Two periods or more went by without an event.
                prev = 0;
                next = now;
            }
            let new = (u64::from(next) << 32) | u64::from(inc);
            match self
                .curr
                .compare_exchange_weak(v, new, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => {
                    self.prev.store(prev, Ordering::Relaxed);
                    return inc;
                }
                Err(seen) => v = seen,
            }
        }
    }

    /// Events per second at `now` (haproxy's `read_freq_ctr`): the current period's
    /// count plus the previous one's weighted by what is left of the current period;
    /// a lone event per second reads 1, not 0 and 1 in turn.
    pub fn rate(&self, now: u32) -> u32 {
        let (tick, curr) = unpack(self.curr.load(Ordering::Relaxed));
        rate_of(tick, curr, self.prev.load(Ordering::Relaxed), now)
    }

    /// How long (ms) until the rate falls below `limit` if nothing else is counted: 0
    /// when it already is, or when `limit` is 0 (no limit). Where haproxy's listener
    /// waits under `rate-limit sessions` or `maxconnrate` (its `next_event_delay`).
    pub fn wait_ms(&self, limit: u32, now: u32) -> u32 {
        if limit == 0 {
            return 0;
        }
        let (tick, curr) = unpack(self.curr.load(Ordering::Relaxed));
        let prev = self.prev.load(Ordering::Relaxed);
        // The exact total, as haproxy's `next_event_delay` (not the display rule that
        // keeps a lone event at 1 for two periods).
        let below = |dt: u32| {
            total_of(tick, curr, prev, now.wrapping_add(dt)).0
                < u64::from(limit) * u64::from(PERIOD)
        };
        if below(0) {
            return 0;
        }
        // The rate only falls while nothing is counted, and is 0 two periods on: the
        // first moment below the limit, by bisection.
        let (mut lo, mut hi) = (0u32, 2 * PERIOD);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if below(mid) {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        hi
    }

    /// The most events one period counted.
    pub fn max(&self) -> u32 {
        self.max.load(Ordering::Relaxed)
    }

    /// Forgets the maximum (haproxy's `clear counters`).
    pub fn clear_max(&self) {
        self.max.store(0, Ordering::Relaxed);
    }

    /// Forgets everything (haproxy's `clear counters all`).
    pub fn clear(&self) {
        self.curr.store(0, Ordering::Relaxed);
        self.prev.store(0, Ordering::Relaxed);
        self.max.store(0, Ordering::Relaxed);
    }
}

/// The events weighing on `now`, in event-milliseconds: the current period's count for
/// a whole period plus the previous period's for what is left of the current one (the
/// state: the period's start `tick`, its count `curr`, the previous period's `prev`).
/// `(total, curr, past)` after turning periods over as of `now`.
fn total_of(tick: u32, curr: u32, prev: u32, now: u32) -> (u64, u64, u64) {
    // Unsigned age, so that a counter idle for weeks reads 0 (a signed difference turns
    // positive again after 25 days, the half of the clock's 49.7-day wrap); a start at
    // most two periods after `now` (another thread's event just now) is the current
    // period.
    let age = now.wrapping_sub(tick);
    let age = if age > u32::MAX - 2 * PERIOD { 0 } else { age };
    if age >= 2 * PERIOD {
        return (0, 0, 0);
    }
    let (curr, past, remain) = if age < PERIOD {
        (u64::from(curr), u64::from(prev), u64::from(PERIOD - age))
    } else {
        // The period is over: it is the previous one now.
        (0, u64::from(curr), u64::from(2 * PERIOD - age))
    };
    (past * remain + curr * u64::from(PERIOD), curr, past)
}

/// haproxy's `read_freq_ctr` on a counter's state: [`total_of`] per period, where a lone
/// event reads 1 for its two periods.
fn rate_of(tick: u32, curr: u32, prev: u32, now: u32) -> u32 {
    let (total, curr, past) = total_of(tick, curr, prev, now);
    if curr == 0 && past <= 1 {
        return past as u32;
    }
    u32::try_from(total / u64::from(PERIOD)).unwrap_or(u32::MAX)
}

/// The process-wide counters of `show info`: connections accepted (ConnRate) and
/// sessions started (SessRate) on every listener.
#[derive(Debug, Default)]
pub struct GlobalRates {
    pub conn: FreqCtr,
    pub sess: FreqCtr,
    /// Bytes sent to clients (BytesOutRate).
    pub bytes_out: FreqCtr,
    /// Bytes sent to clients since start (TotalBytesOut).
    pub total_bytes_out: std::sync::atomic::AtomicU64,
    /// Connections accepted since start (CumConns, CumReq).
    pub cum_conns: std::sync::atomic::AtomicU64,
    /// `maxconnrate` in force (0: none): the configured one or `set rate-limit
    /// connections global`.
    pub conn_limit: AtomicU32,
    /// `maxsessrate` in force (0: none).
    pub sess_limit: AtomicU32,
    /// The configured `maxconnrate` and `maxsessrate` (0: none): a reload that changes
    /// one replaces the operator's `set rate-limit`, one that does not keeps it.
    pub conn_limit_cfg: AtomicU32,
    pub sess_limit_cfg: AtomicU32,
}

impl GlobalRates {
    /// Takes the configured global rate limits (at start and on reload).
    pub fn configure(&self, maxconnrate: Option<u32>, maxsessrate: Option<u32>) {
        for (cfg, live, want) in [
            (&self.conn_limit_cfg, &self.conn_limit, maxconnrate),
            (&self.sess_limit_cfg, &self.sess_limit, maxsessrate),
        ] {
            let want = want.unwrap_or(0);
            if cfg.swap(want, Ordering::Relaxed) != want {
                live.store(want, Ordering::Relaxed);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_in_one_period_is_its_maximum_and_fades_over_the_next() {
        let c = FreqCtr::default();
        let t0 = 50_000;
        assert_eq!(c.rate(t0), 0);
        for i in 0..10 {
            c.add(t0 + i * 50);
        }
        // All ten in the first period, which opened at the first event.
        assert_eq!(c.max(), 10);
        assert_eq!(c.rate(t0 + 600), 10);
        // A quarter into the next period, 3/4 of the last one still counts.
        assert_eq!(c.rate(t0 + 1250), 7);
        assert_eq!(c.rate(t0 + 1999), 0);
        // Two periods later nothing is left.
        assert_eq!(c.rate(t0 + 2000), 0);
        assert_eq!(c.rate(t0 + 5000), 0);
        assert_eq!(c.max(), 10);
    }

    #[test]
    fn periods_follow_on_and_the_maximum_is_per_period() {
        let c = FreqCtr::default();
        let t0 = 7_000;
        for i in 0..4 {
            c.add(t0 + i);
        }
        // The next period starts a second after the first one did.
        for i in 0..6 {
            c.add(t0 + 1000 + i);
        }
        assert_eq!(c.max(), 6);
        // Half into the second period: 6 + 4/2.
        assert_eq!(c.rate(t0 + 1500), 8);
        // After a gap of two periods or more, a new one opens at the event.
        c.add(t0 + 9_300);
        c.add(t0 + 10_200);
        assert_eq!(c.max(), 6);
        assert_eq!(c.rate(t0 + 10_250), 2);
    }

    #[test]
    fn a_lone_event_reads_one_until_it_is_two_periods_old() {
        let c = FreqCtr::default();
        c.add(3_000);
        assert_eq!(c.rate(3_000), 1);
        assert_eq!(c.rate(3_999), 1);
        assert_eq!(c.rate(4_500), 1);
        assert_eq!(c.rate(5_001), 0);
    }

    #[test]
    fn the_clock_wrap_is_harmless() {
        let c = FreqCtr::default();
        let t0 = u32::MAX - 300;
        for i in 0..5 {
            c.add(t0.wrapping_add(i * 100));
        }
        assert_eq!(c.max(), 5);
        assert_eq!(c.rate(t0.wrapping_add(500)), 5);
        assert_eq!(c.rate(t0.wrapping_add(3_000)), 0);
    }

    #[test]
    fn wait_until_the_rate_falls_below_a_limit() {
        let c = FreqCtr::default();
        let t0 = 80_000;
        // No limit, or below it: no wait.
        assert_eq!(c.wait_ms(0, t0), 0);
        assert_eq!(c.wait_ms(4, t0), 0);
        for i in 0..4 {
            c.add(t0 + i);
        }
        // Four in this period: the rate reads 4 until the period ends; then the past
        // period counts by the part of the new one still to come, rounded down (3).
        let w = c.wait_ms(4, t0 + 10);
        assert!(c.rate(t0 + 10 + w) < 4);
        assert!(c.rate(t0 + 10 + w - 1) >= 4);
        assert_eq!(t0 + 10 + w, t0 + 1001, "{w}");
        // A limit of 1 after 4: the previous period must weigh less than a quarter.
        let w1 = c.wait_ms(1, t0 + 10);
        assert_eq!(c.rate(t0 + 10 + w1), 0);
        assert!(c.rate(t0 + 10 + w1 - 1) >= 1);
        // Waiting never goes past two periods.
        assert!(w1 <= 2 * PERIOD);
        assert_eq!(c.wait_ms(4, t0 + 1001), 0);
    }

    #[test]
    fn a_counter_idle_for_weeks_reads_zero() {
        let c = FreqCtr::default();
        let t0 = 10_000;
        for i in 0..5 {
            c.add(t0 + i);
        }
        for idle_days in [1u32, 24, 25, 30, 48, 49] {
            let now = t0.wrapping_add(idle_days * 86_400_000);
            assert_eq!(c.rate(now), 0, "{idle_days} days");
            assert_eq!(c.wait_ms(1, now), 0, "{idle_days} days");
        }
    }

    #[test]
    fn a_limit_of_one_waits_one_period() {
        let c = FreqCtr::default();
        let t0 = 90_000;
        c.add(t0);
        // The one event of this period weighs until the period ends, then fades.
        let w = c.wait_ms(1, t0);
        assert_eq!(w, PERIOD + 1, "{w}");
    }

    #[test]
    fn a_runtime_limit_stays_until_the_configured_one_changes() {
        let g = GlobalRates::default();
        g.configure(Some(100), None);
        assert_eq!(g.conn_limit.load(Ordering::Relaxed), 100);
        assert_eq!(g.sess_limit.load(Ordering::Relaxed), 0);
        // `set rate-limit connections global 5`, then a reload with the same config.
        g.conn_limit.store(5, Ordering::Relaxed);
        g.configure(Some(100), None);
        assert_eq!(g.conn_limit.load(Ordering::Relaxed), 5);
        // A reload that changes it, or sets the other.
        g.configure(Some(200), Some(7));
        assert_eq!(g.conn_limit.load(Ordering::Relaxed), 200);
        assert_eq!(g.sess_limit.load(Ordering::Relaxed), 7);
        g.configure(None, Some(7));
        assert_eq!(g.conn_limit.load(Ordering::Relaxed), 0);
    }
}
