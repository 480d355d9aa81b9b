//! MyCat's heartbeat recorder: each heartbeat's response time, kept for a day, for
//! `show @@heartbeat` (EXECUTE_TIME: the averages over the last 1, 10 and 30 minutes) and
//! `show @@heartbeat.detail where name=...` (every record).

use std::collections::VecDeque;

/// How long records are kept (MyCat's SWAP_TIME).
const KEEP_MS: u64 = 24 * 60 * 60 * 1000;
/// At most this many records per host (a day of heartbeats every 10 s), so a short
/// `heartbeat_interval` cannot grow the memory without bound.
pub const MAX_RECORDS: usize = 8640;
/// The three averaging windows of EXECUTE_TIME (MyCat's AVG1/2/3_TIME).
const WINDOWS_MS: [u64; 3] = [60_000, 600_000, 1_800_000];

/// Heartbeats of one host: (ms since the epoch, response time in ms; `None` when the
/// heartbeat failed, shown as 0 as MyCat does).
#[derive(Debug, Default)]
pub struct HeartbeatRecorder {
    records: VecDeque<(u64, Option<u64>)>,
}

impl HeartbeatRecorder {
    /// Records a heartbeat at `now_ms`.
    pub fn record(&mut self, now_ms: u64, took_ms: Option<u64>) {
        while self
            .records
            .front()
            .is_some_and(|(t, _)| now_ms >= t.saturating_add(KEEP_MS))
        {
            self.records.pop_front();
        }
        if self.records.len() >= MAX_RECORDS {
            self.records.pop_front();
        }
        self.records.push_back((now_ms, took_ms));
    }

    /// `avg1,avg2,avg3`: the mean response time (ms) of the successful heartbeats of the
    /// last 1, 10 and 30 minutes before `now_ms` (0 when none).
    pub fn averages(&self, now_ms: u64) -> String {
        WINDOWS_MS
            .iter()
            .map(|w| {
                let since = now_ms.saturating_sub(*w);
                let (sum, n) = self
                    .records
                    .iter()
                    .rev()
                    .take_while(|(t, _)| *t >= since)
                    .filter_map(|(_, v)| *v)
                    .fold((0u64, 0u64), |(s, n), v| (s.saturating_add(v), n + 1));
                sum.checked_div(n).unwrap_or(0).to_string()
            })
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Every record, oldest first: (ms since the epoch, response time in ms, 0 for a
    /// failed heartbeat).
    pub fn all(&self) -> Vec<(u64, u64)> {
        self.records
            .iter()
            .map(|(t, v)| (*t, v.unwrap_or(0)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn averages_over_one_ten_and_thirty_minutes_and_a_day_of_records() {
        let mut r = HeartbeatRecorder::default();
        assert_eq!(r.averages(0), "0,0,0");
        let t0 = 10 * KEEP_MS;
        // 20 minutes ago 100 ms, 5 minutes ago 40 ms and a failure, 30 s ago 10 ms.
        r.record(t0 - 20 * 60_000, Some(100));
        r.record(t0 - 5 * 60_000, Some(40));
        r.record(t0 - 5 * 60_000 + 1, None);
        r.record(t0 - 30_000, Some(10));
        assert_eq!(r.averages(t0), "10,25,50");
        assert_eq!(r.all()[2], (t0 - 5 * 60_000 + 1, 0), "a failure shows as 0");
        // A day later the old ones are gone.
        r.record(t0 + KEEP_MS - 30_000, Some(7));
        assert_eq!(
            r.all(),
            [(t0 + KEEP_MS - 30_000, 7)],
            "records older than a day dropped"
        );
        // Bounded.
        for i in 0..(MAX_RECORDS as u64 + 5) {
            r.record(t0 + KEEP_MS + i, Some(1));
        }
        assert_eq!(r.all().len(), MAX_RECORDS);
    }
}
