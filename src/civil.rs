//! Calendar dates from day counts, for log timestamps and SQL literals (no time zone
//! database needed: everything here is UTC).

/// The proleptic Gregorian date `(year, month 1..=12, day 1..=31)` of `days` since
/// 1970-01-01 (Howard Hinnant's `civil_from_days`).
pub fn from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m as u32, d as u32)
}

/// `yyyy-MM-dd HH:mm:ss` (UTC) of `secs` since the Unix epoch.
pub fn utc_datetime(secs: u64) -> String {
    let (y, m, d) = from_days((secs / 86_400) as i64);
    let t = secs % 86_400;
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        t / 3600,
        t / 60 % 60,
        t % 60
    )
}

#[cfg(test)]
mod tests {
    use super::from_days;

    #[test]
    fn known_dates() {
        assert_eq!(from_days(0), (1970, 1, 1));
        assert_eq!(from_days(-1), (1969, 12, 31));
        assert_eq!(from_days(11_016), (2000, 2, 29));
        assert_eq!(from_days(20_780), (2026, 11, 23));
        assert_eq!(from_days(-719_468), (0, 3, 1));
    }
}
