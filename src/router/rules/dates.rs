//! The date functions: date (PartitionByDate), month (PartitionByMonth), month-history
//! (PartitionByMonthAndHistory), latest-month (LatestMonthPartion) and range-date-hash
//! (PartitionByRangeDateHash). Times are computed in UTC (MyCat uses the JVM's zone; with UTC
//! and Asia/Shanghai the results are the same, see the vectors' README).

use super::calendar::{DateFormat, ONE_DAY, calendar_fields};
use super::java::{parse_int, remove_backquote, utf16};
use super::{BuildError, PartitionError};
use crate::config::router::Function;

/// The most partitions or days a BETWEEN is walked through before giving up (scatter).
const MAX_WALK: i64 = 100_000;

fn compile(f: &Function, default: Option<&str>) -> Result<(DateFormat, String), BuildError> {
    let pattern = match (&f.date_format, default) {
        (Some(p), _) => p.clone(),
        (None, Some(d)) => d.to_string(),
        (None, None) => {
            return Err(BuildError::new(
                "",
                format!(
                    "a `{}` function needs `date_format`",
                    f.kind.map_or("", |k| k.as_str())
                ),
            ));
        }
    };
    let fmt = DateFormat::new(&pattern).map_err(|e| BuildError::new("date_format", e))?;
    Ok((fmt, pattern))
}

fn parse_prop(fmt: &DateFormat, pattern: &str, key: &str, v: &str) -> Result<i64, BuildError> {
    fmt.parse(v).ok_or_else(|| {
        BuildError::new(
            key,
            format!("`{v}` is not a date in the format `{pattern}`"),
        )
    })
}

fn not_a_date(value: &str, pattern: &str, function: &'static str) -> PartitionError {
    PartitionError::NotADate {
        value: value.to_string(),
        format: pattern.to_string(),
        function,
    }
}

/// PartitionByDate: `(int)((t - begin) / (partition_day days))`; after `end_date`, modulo
/// the number of partitions up to it. With `natural_day`, the day of the month - 1 (unless
/// `end_date` gives fewer than 28 days, which turns it off, as in MyCat). Natural days need
/// neither `begin_date` nor `partition_day` (MyCat's `sNaturalDay=1` alone); without
/// `begin_date`, `end_date` is not read (MyCat's begin is then 0).
#[derive(Debug)]
pub(crate) struct ByDate {
    fmt: DateFormat,
    pattern: String,
    begin: i64,
    partition_time: i64,
    end: i64,
    n_count: i32,
    natural: bool,
}

impl ByDate {
    pub(crate) fn build(f: &Function) -> Result<ByDate, BuildError> {
        let (fmt, pattern) = compile(f, None)?;
        let mut natural = f.natural_day == Some(true);
        let day = match f.partition_day {
            Some(d) if d < 1 => {
                return Err(BuildError::new("partition_day", "must be at least 1"));
            }
            Some(d) => Some(i64::from(d)),
            None if natural => None,
            None => {
                return Err(BuildError::new(
                    "",
                    "a `date` function needs `partition_day`",
                ));
            }
        };
        let mut partition_time = match day {
            Some(d) if !natural => d * ONE_DAY,
            _ => ONE_DAY,
        };
        let begin_s = f.begin_date.as_deref().unwrap_or("");
        let begin = if begin_s.is_empty() {
            if !natural {
                return Err(BuildError::new("", "a `date` function needs `begin_date`"));
            }
            0
        } else {
            parse_prop(&fmt, &pattern, "begin_date", begin_s)?
        };
        let mut end = 0;
        let mut n_count = 0;
        // MyCat reads end_date only when begin_date is after 1970-01-01.
        if let Some(e) = f.end_date.as_deref().filter(|e| !e.is_empty())
            && begin > 0
        {
            end = parse_prop(&fmt, &pattern, "end_date", e)?;
            n_count = ((end.wrapping_sub(begin) / partition_time) as i32).wrapping_add(1);
            if natural && n_count < 28 {
                // MyCat then falls back to partition_day (and fails without it).
                let Some(day) = day else {
                    return Err(BuildError::new(
                        "",
                        "`end_date` is fewer than 28 days after `begin_date`, which turns `natural_day` off (as in MyCat); then the function needs `partition_day`",
                    ));
                };
                natural = false;
                partition_time = day * ONE_DAY;
                n_count = ((end.wrapping_sub(begin) / partition_time) as i32).wrapping_add(1);
            }
        }
        Ok(ByDate {
            fmt,
            pattern,
            begin,
            partition_time,
            end,
            n_count,
            natural,
        })
    }

    fn node_at(&self, t: i64) -> i64 {
        if self.natural {
            return i64::from(calendar_fields(t).day) - 1;
        }
        let mut target = (t.wrapping_sub(self.begin) / self.partition_time) as i32;
        if t > self.end && self.n_count != 0 {
            target = target.wrapping_rem(self.n_count);
        }
        target.into()
    }

    pub(crate) fn calculate(&self, value: &str, name: &'static str) -> Result<i64, PartitionError> {
        let t = self
            .fmt
            .parse(value)
            .ok_or_else(|| not_a_date(value, &self.pattern, name))?;
        Ok(self.node_at(t))
    }

    /// MyCat walks the days from begin to end, formatting and re-reading each; with a
    /// format that has a time that misses the end's partition. Here: every partition the
    /// span touches, each on both sides of `end_date` when it straddles it.
    pub(crate) fn calculate_range(&self, begin: &str, end: &str) -> Option<Vec<i64>> {
        let b = self.fmt.parse(begin)?;
        let e = self.fmt.parse(end)?;
        if e < b {
            return None;
        }
        if self.natural {
            let (d0, d1) = (b.div_euclid(ONE_DAY), e.div_euclid(ONE_DAY));
            if d1 - d0 > 400 {
                return Some((0..31).collect());
            }
            return Some((d0..=d1).map(|d| self.node_at(d * ONE_DAY)).collect());
        }
        let (b, e, begin, pt) = (
            i128::from(b),
            i128::from(e),
            i128::from(self.begin),
            i128::from(self.partition_time),
        );
        let (r0, r1) = ((b - begin) / pt, (e - begin) / pt);
        if r1 - r0 > i128::from(MAX_WALK) {
            return None;
        }
        let end_date = i128::from(self.end);
        let mut nodes = Vec::new();
        for r in r0..=r1 {
            // The times whose truncated quotient is r.
            let (lo, hi) = match r {
                0 => (begin - pt + 1, begin + pt - 1),
                r if r > 0 => (begin + r * pt, begin + (r + 1) * pt - 1),
                r => (begin + (r - 1) * pt + 1, begin + r * pt),
            };
            let (lo, hi) = (lo.max(b), hi.min(e));
            let mut probe = vec![lo, hi];
            if lo <= end_date && end_date < hi {
                probe.extend([end_date, end_date + 1]);
            }
            for t in probe {
                nodes.push(self.node_at(t as i64));
            }
        }
        Some(nodes)
    }

    pub(crate) fn max_node(&self) -> Option<i64> {
        if self.natural {
            Some(30)
        } else if self.n_count > 0 {
            Some(i64::from(self.n_count) - 1)
        } else {
            None
        }
    }
}

/// PartitionByMonth: months since `begin_date`; with `end_date`, wrapped into the months
/// from begin to end; without, negative results become 0 (MyCat 1.6.7.5 and later; up to
/// 1.6.7.4 they stayed negative: no node). With neither date, the month of the year
/// (0..=11). PartitionByMonthAndHistory (`month-history`) is the same without the month
/// of the year and without the clamping: a month before `begin_date` gets a negative node
/// when there is no `end_date`.
#[derive(Debug)]
pub(crate) struct ByMonth {
    fmt: DateFormat,
    pattern: String,
    month_of_year: bool,
    /// Negative offsets become 0 (`month`; not `month-history`).
    clamp: bool,
    begin_year: i32,
    begin_month: i32,
    /// Months from begin to end, or -1 without `end_date`.
    n_partition: i32,
}

impl ByMonth {
    pub(crate) fn build(f: &Function) -> Result<ByMonth, BuildError> {
        ByMonth::build_as(f, true)
    }

    /// `month-history` (PartitionByMonthAndHistory).
    pub(crate) fn build_history(f: &Function) -> Result<ByMonth, BuildError> {
        ByMonth::build_as(f, false)
    }

    fn build_as(f: &Function, month: bool) -> Result<ByMonth, BuildError> {
        let (fmt, pattern) = if month {
            compile(f, Some("yyyy-MM-dd"))?
        } else {
            compile(f, None)?
        };
        let begin_s = f.begin_date.as_deref().unwrap_or("");
        let end_s = f.end_date.as_deref().unwrap_or("");
        if !month && begin_s.is_empty() {
            return Err(BuildError::new(
                "",
                "a `month-history` function needs `begin_date`",
            ));
        }
        if begin_s.is_empty() && end_s.is_empty() {
            return Ok(ByMonth {
                fmt,
                pattern,
                month_of_year: true,
                clamp: true,
                begin_year: 0,
                begin_month: 0,
                n_partition: 12,
            });
        }
        if begin_s.is_empty() {
            return Err(BuildError::new(
                "",
                "a `month` function with `end_date` needs `begin_date`",
            ));
        }
        let b = calendar_fields(parse_prop(&fmt, &pattern, "begin_date", begin_s)?);
        let mut n_partition = -1;
        if !end_s.is_empty() {
            let e = calendar_fields(parse_prop(&fmt, &pattern, "end_date", end_s)?);
            n_partition = e
                .year
                .wrapping_sub(b.year)
                .wrapping_mul(12)
                .wrapping_add(e.month)
                .wrapping_sub(b.month)
                .wrapping_add(1);
            if n_partition <= 0 {
                return Err(BuildError::new(
                    "end_date",
                    format!("`{end_s}` is not after begin_date `{begin_s}` (by month)"),
                ));
            }
        }
        Ok(ByMonth {
            fmt,
            pattern,
            month_of_year: false,
            clamp: month,
            begin_year: b.year,
            begin_month: b.month,
            n_partition,
        })
    }

    /// Months since begin (Calendar.YEAR is the year of the era, as in MyCat).
    fn offset(&self, t: i64) -> i32 {
        let c = calendar_fields(t);
        c.year
            .wrapping_sub(self.begin_year)
            .wrapping_mul(12)
            .wrapping_add(c.month)
            .wrapping_sub(self.begin_month)
    }

    fn wrap(&self, mut t: i32) -> i32 {
        let n = self.n_partition;
        if n == -1 {
            return t;
        }
        if t < 0 {
            t = n.wrapping_sub(t.wrapping_neg().wrapping_rem(n));
        }
        if t >= n {
            t = t.wrapping_rem(n);
        }
        t
    }

    pub(crate) fn calculate(&self, value: &str, name: &'static str) -> Result<i64, PartitionError> {
        let t = self
            .fmt
            .parse(value)
            .ok_or_else(|| not_a_date(value, &self.pattern, name))?;
        if self.month_of_year {
            return Ok(calendar_fields(t).month.into());
        }
        let mut target = self.offset(t);
        if self.n_partition > 0 {
            target = self.wrap(target);
        }
        if self.clamp {
            target = target.max(0);
        }
        Ok(target.into())
    }

    /// MyCat: the months from begin's to end's, each wrapped like `calculate`.
    pub(crate) fn calculate_range(&self, begin: &str, end: &str) -> Option<Vec<i64>> {
        let b = self.fmt.parse(begin)?;
        let e = self.fmt.parse(end)?;
        let (cb, ce) = (calendar_fields(b), calendar_fields(e));
        if cb.bc || ce.bc {
            // Era years run backwards before year 1: no sequence.
            return None;
        }
        let (s, t) = if self.month_of_year {
            let m = |c: &super::calendar::CalFields| i64::from(c.year) * 12 + i64::from(c.month);
            (m(&cb), m(&ce))
        } else {
            (i64::from(self.offset(b)), i64::from(self.offset(e)))
        };
        if s > t {
            return None;
        }
        if self.month_of_year {
            if t - s >= 11 {
                return Some((0..12).collect());
            }
            return Some((s..=t).map(|k| k.rem_euclid(12)).collect());
        }
        let n = i64::from(self.n_partition);
        if n > 0 && t - s + 1 >= n {
            return Some((0..n).collect());
        }
        let (s, t) = if n > 0 || !self.clamp {
            (s, t)
        } else {
            (s.max(0), t.max(0))
        };
        if t - s > MAX_WALK {
            return None;
        }
        Some((s..=t).map(|k| i64::from(self.wrap(k as i32))).collect())
    }

    pub(crate) fn max_node(&self) -> Option<i64> {
        (self.n_partition > 0).then(|| i64::from(self.n_partition) - 1)
    }
}

/// LatestMonthPartion: `yyyyMMddHH` values; the node is `(dd-1) * split_one_day +
/// HH / (24 / split_one_day)`, read from the last four characters, unchecked.
#[derive(Debug)]
pub(crate) struct LatestMonth {
    split: i32,
    hour_span: i32,
}

impl LatestMonth {
    pub(crate) fn build(f: &Function) -> Result<LatestMonth, BuildError> {
        let split = f.split_one_day.map_or(24, |s| s as i32);
        if !(1..=24).contains(&split) {
            return Err(BuildError::new(
                "split_one_day",
                format!("{split} is out of range: must be between 1 and 24"),
            ));
        }
        Ok(LatestMonth {
            split,
            hour_span: 24 / split,
        })
    }

    pub(crate) fn calculate(&self, value: &str, name: &'static str) -> Result<i64, PartitionError> {
        let u = utf16(value);
        let len = u.len();
        if len < 4 {
            return Err(PartitionError::TooShort {
                value: value.to_string(),
                start: len as i64 - 4,
                end: len as i64 - 2,
                function: name,
            });
        }
        let num = |s: &[u16]| {
            parse_int(s).ok_or_else(|| PartitionError::NotANumber {
                value: String::from_utf16_lossy(s),
                function: name,
            })
        };
        let day = num(&u[len - 4..len - 2])?;
        let hour = num(&u[len - 2..])?;
        Ok(day
            .wrapping_sub(1)
            .wrapping_mul(self.split)
            .wrapping_add(hour / self.hour_span)
            .into())
    }

    /// MyCat: the nodes from begin's to end's, which is only right within one month.
    /// Here: that, when both values have the same `yyyyMM` and begin's node is not after
    /// end's; otherwise every node.
    pub(crate) fn calculate_range(&self, begin: &str, end: &str) -> Option<Vec<i64>> {
        let (b, e) = (remove_backquote(begin), remove_backquote(end));
        let (ub, ue) = (utf16(b), utf16(e));
        if ub.len() < 4 || ub.len() != ue.len() || ub[..ub.len() - 4] != ue[..ue.len() - 4] {
            return None;
        }
        let nb = self.calculate(b, "latest-month").ok()?;
        let ne = self.calculate(e, "latest-month").ok()?;
        (nb <= ne).then(|| (nb..=ne).collect())
    }

    pub(crate) fn max_node(&self) -> Option<i64> {
        Some(i64::from(30 * self.split + 23 / self.hour_span))
    }
}

/// Guava `Hashing.consistentHash(input, buckets)`: a jump hash driven by a 64-bit LCG
/// whose `nextDouble` is `((int) (state >>> 33) + 1) / 2^31`, the `+ 1` in `int`
/// arithmetic.
pub(crate) fn guava_consistent_hash(input: i64, buckets: i32) -> i32 {
    let mut state = input;
    let mut candidate: i32 = 0;
    loop {
        state = state
            .wrapping_mul(2_862_933_555_777_941_757)
            .wrapping_add(1);
        let d = f64::from((((state as u64) >> 33) as i32).wrapping_add(1)) / 2_147_483_648.0;
        // Java's `(int)` of a double: saturating, NaN → 0, as Rust's `as`.
        let next = (f64::from(candidate.wrapping_add(1)) / d) as i32;
        if next >= 0 && next < buckets {
            candidate = next;
        } else {
            return candidate;
        }
    }
}

/// PartitionByRangeDateHash: groups of `group_partition_size` nodes, one group per
/// `partition_day` days since `begin_date`; within the group, Guava's consistent hash of
/// the time in milliseconds. Node = group × size + hash, in Java `int`s (a date before
/// `begin_date` gets a negative node: no data node).
#[derive(Debug)]
pub(crate) struct RangeDateHash {
    fmt: DateFormat,
    pattern: String,
    begin: i64,
    partition_time: i64,
    group: i32,
}

impl RangeDateHash {
    pub(crate) fn build(f: &Function) -> Result<RangeDateHash, BuildError> {
        let (fmt, pattern) = compile(f, None)?;
        let need =
            |k: &str| BuildError::new("", format!("a `range-date-hash` function needs `{k}`"));
        let begin_s = f.begin_date.as_deref().ok_or_else(|| need("begin_date"))?;
        let begin = parse_prop(&fmt, &pattern, "begin_date", begin_s)?;
        let day = f.partition_day.ok_or_else(|| need("partition_day"))?;
        if day < 1 {
            return Err(BuildError::new("partition_day", "must be at least 1"));
        }
        let group = f
            .group_partition_size
            .ok_or_else(|| need("group_partition_size"))?;
        let group = i32::try_from(group)
            .ok()
            .filter(|g| *g >= 1)
            .ok_or_else(|| {
                BuildError::new("group_partition_size", "must be between 1 and 2147483647")
            })?;
        Ok(RangeDateHash {
            fmt,
            pattern,
            begin,
            partition_time: i64::from(day) * ONE_DAY,
            group,
        })
    }

    fn group_of(&self, t: i64) -> i32 {
        (t.wrapping_sub(self.begin) / self.partition_time) as i32
    }

    pub(crate) fn calculate(&self, value: &str, name: &'static str) -> Result<i64, PartitionError> {
        let t = self
            .fmt
            .parse(value)
            .ok_or_else(|| not_a_date(value, &self.pattern, name))?;
        let inner = guava_consistent_hash(t, self.group);
        Ok(self
            .group_of(t)
            .wrapping_mul(self.group)
            .wrapping_add(inner)
            .into())
    }

    /// MyCat: every node of the groups from begin's to end's (exact). Here the same, as
    /// long as the list is short.
    pub(crate) fn calculate_range(&self, begin: &str, end: &str) -> Option<Vec<i64>> {
        let b = self.fmt.parse(begin)?;
        let e = self.fmt.parse(end)?;
        if e < b {
            return None;
        }
        let (g0, g1) = (self.group_of(b), self.group_of(e));
        if g1 < g0 || (i64::from(g1) - i64::from(g0) + 1) * i64::from(self.group) > MAX_WALK {
            return None;
        }
        let mut nodes = Vec::new();
        for g in g0..=g1 {
            for k in 0..self.group {
                nodes.push(i64::from(g.wrapping_mul(self.group).wrapping_add(k)));
            }
        }
        Some(nodes)
    }
}
