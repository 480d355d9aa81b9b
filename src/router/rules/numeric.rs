//! The number-keyed functions: range-long (AutoPartitionByLong), range-mod
//! (PartitionByRangeMod), pattern (PartitionByPattern), file-map (PartitionByFileMap),
//! mod-long (PartitionByMod), long (PartitionByLong) and substring
//! (PartitionDirectBySubString).

use std::collections::HashMap;
use std::path::Path;

use super::java::{
    bigint_abs_mod, hash_code, parse_int, parse_int_str, parse_long_str, remove_backquote, split,
    trim, utf16,
};
use super::{BuildError, MapLine, PartitionError, int_prop, map_lines};
use crate::config::router::{Function, KeyType};

/// Iterating a BETWEEN span value by value is done up to this many values.
const MAX_SPAN_WALK: i128 = 65_536;

fn not_a_number(value: &str, function: &'static str) -> PartitionError {
    PartitionError::NotANumber {
        value: value.to_string(),
        function,
    }
}

/// MyCat `NumberParseUtil.parseLong`: `500M` = 5,000,000 (M = 10,000), `2K` = 2,000,
/// `2M1` = 20,001; otherwise `Long.parseLong`.
fn parse_with_units(val: &str) -> Option<i64> {
    let up = val.to_uppercase();
    let (idx, plus) = match up.find('M') {
        Some(i) => (Some(i), 10_000i64),
        None => (up.find('K'), 1_000),
    };
    match idx {
        Some(i) if i > 0 => {
            let mut v = parse_long_str(&up[..i])?.wrapping_mul(plus);
            let remain = &up[i + 1..];
            if !remain.is_empty() {
                v = v.wrapping_add(i64::from(parse_int_str(remain)?));
            }
            Some(v)
        }
        _ => parse_long_str(&up),
    }
}

/// One `start-end=value` map line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LongRange {
    pub start: i64,
    pub end: i64,
    pub value: i32,
}

/// Reads `start-end=value` lines as MyCat does (`split("-")` of the trimmed key, the first
/// two parts used); `units` allows `K`/`M` (range-long, range-mod, not pattern).
pub(crate) fn parse_ranges(lines: &[MapLine], units: bool) -> Result<Vec<LongRange>, BuildError> {
    let mut out = Vec::new();
    for line in lines {
        let Some(ind) = line.text.find('=') else {
            continue;
        };
        let key = trim(&line.text[..ind]);
        let pairs = split(key, '-');
        if pairs.len() < 2 {
            return Err(line.error(format!(
                "`{key}` is not a range `start-end` of whole numbers{}",
                if units { " (K = 1000, M = 10000)" } else { "" }
            )));
        }
        let bound = |s: &str| -> Result<i64, BuildError> {
            let s = trim(s);
            let v = if units {
                parse_with_units(s)
            } else {
                parse_long_str(s)
            };
            v.ok_or_else(|| {
                if s.is_empty() {
                    line.error("a range bound is missing (negative bounds cannot be written)")
                } else {
                    line.error(format!("`{s}` is not a whole number"))
                }
            })
        };
        let start = bound(pairs[0])?;
        let end = bound(pairs[1])?;
        let v = trim(&line.text[ind + 1..]);
        let value = parse_int_str(v)
            .ok_or_else(|| line.error(format!("`{v}` is not a 32-bit whole number")))?;
        out.push(LongRange { start, end, value });
    }
    Ok(out)
}

/// For ranges tried in order (the first match wins): the part of `[b, e]` each range
/// gets as `(range index, lo, hi)`, and whether some of `[b, e]` matches no range.
fn first_match_cover(ranges: &[LongRange], b: i64, e: i64) -> (Vec<(usize, i64, i64)>, bool) {
    let mut rest: Vec<(i64, i64)> = vec![(b, e)];
    let mut hits = Vec::new();
    for (i, r) in ranges.iter().enumerate() {
        let mut next = Vec::new();
        for (lo, hi) in rest {
            let s = lo.max(r.start);
            let t = hi.min(r.end);
            if s <= t {
                hits.push((i, s, t));
                if lo < s {
                    next.push((lo, s - 1));
                }
                if t < hi {
                    next.push((t + 1, hi));
                }
            } else {
                next.push((lo, hi));
            }
        }
        rest = next;
    }
    (hits, !rest.is_empty())
}

/// The two ends of a BETWEEN as MyCat's sequence range reads them.
fn range_ends(begin: &str, end: &str) -> Option<(i64, i64)> {
    let b = parse_long_str(remove_backquote(begin))?;
    let e = parse_long_str(remove_backquote(end))?;
    (b <= e).then_some((b, e))
}

fn default_prop(f: &Function, class_default: i32) -> Result<i32, BuildError> {
    f.default_node
        .map_or(Ok(class_default), |d| int_prop("default_node", d))
}

/// AutoPartitionByLong.
#[derive(Debug)]
pub(crate) struct RangeLong {
    ranges: Vec<LongRange>,
    default_node: i32,
}

impl RangeLong {
    pub(crate) fn build(f: &Function, base_dir: &Path) -> Result<RangeLong, BuildError> {
        Ok(RangeLong {
            ranges: parse_ranges(&map_lines(f, base_dir)?, true)?,
            default_node: default_prop(f, -1)?,
        })
    }

    pub(crate) fn calculate(
        &self,
        value: &str,
        name: &'static str,
    ) -> Result<Option<i64>, PartitionError> {
        let v = parse_long_str(value).ok_or_else(|| not_a_number(value, name))?;
        if let Some(r) = self.ranges.iter().find(|r| v >= r.start && v <= r.end) {
            return Ok(Some(r.value.into()));
        }
        Ok((self.default_node >= 0).then_some(self.default_node.into()))
    }

    /// MyCat: `calculateSequenceRange` (the nodes from begin's to end's). Here: the nodes
    /// of every range that gets part of the span, plus the default node for a part no
    /// range covers — the same for maps whose nodes grow with the values, and correct
    /// for the others.
    pub(crate) fn calculate_range(&self, begin: &str, end: &str) -> Option<Vec<i64>> {
        let (b, e) = range_ends(begin, end)?;
        let (hits, uncovered) = first_match_cover(&self.ranges, b, e);
        let mut nodes: Vec<i64> = hits
            .iter()
            .map(|(i, _, _)| i64::from(self.ranges[*i].value))
            .collect();
        if uncovered && self.default_node >= 0 {
            nodes.push(self.default_node.into());
        }
        Some(nodes)
    }

    pub(crate) fn max_node(&self) -> Option<i64> {
        let d = (self.default_node >= 0).then_some(self.default_node);
        self.ranges
            .iter()
            .map(|r| r.value)
            .chain(d)
            .max()
            .map(i64::from)
    }
}

/// PartitionByRangeMod: a range picks a group of nodes, `|v| mod groupSize` the node in it.
#[derive(Debug)]
pub(crate) struct RangeMod {
    ranges: Vec<LongRange>,
    default_node: i32,
}

impl RangeMod {
    pub(crate) fn build(f: &Function, base_dir: &Path) -> Result<RangeMod, BuildError> {
        let lines = map_lines(f, base_dir)?;
        let ranges = parse_ranges(&lines, true)?;
        for (r, line) in ranges.iter().zip(&lines) {
            if r.value < 1 {
                return Err(line.error(format!(
                    "the group size {} must be at least 1 (it is the number of nodes of the range)",
                    r.value
                )));
            }
        }
        Ok(RangeMod {
            ranges,
            default_node: default_prop(f, -1)?,
        })
    }

    fn group_base(&self, i: usize) -> i64 {
        self.ranges[..i].iter().map(|r| i64::from(r.value)).sum()
    }

    pub(crate) fn calculate(
        &self,
        value: &str,
        name: &'static str,
    ) -> Result<Option<i64>, PartitionError> {
        let v = parse_long_str(value).ok_or_else(|| not_a_number(value, name))?;
        let mut base: i32 = 0;
        for r in &self.ranges {
            if v >= r.start && v <= r.end {
                let inner = (i128::from(v).abs() % i128::from(r.value)) as i32;
                return Ok(Some(base.wrapping_add(inner).into()));
            }
            base = base.wrapping_add(r.value);
        }
        Ok((self.default_node >= 0).then_some(self.default_node.into()))
    }

    /// MyCat: from the first node of begin's group to the last node of end's group. Here:
    /// the nodes the values of each range's part of the span fall on, plus the default
    /// node for a part no range covers.
    pub(crate) fn calculate_range(&self, begin: &str, end: &str) -> Option<Vec<i64>> {
        let (b, e) = range_ends(begin, end)?;
        let (hits, uncovered) = first_match_cover(&self.ranges, b, e);
        let mut nodes = Vec::new();
        for (i, lo, hi) in hits {
            let base = self.group_base(i);
            let g = i128::from(self.ranges[i].value);
            let span = i128::from(hi) - i128::from(lo) + 1;
            if span >= 2 * g {
                if g > MAX_SPAN_WALK {
                    return None;
                }
                nodes.extend((0..g as i64).map(|k| base + k));
            } else if span <= MAX_SPAN_WALK {
                nodes.extend((lo..=hi).map(|v| base + (i128::from(v).abs() % g) as i64));
            } else {
                return None;
            }
        }
        if uncovered && self.default_node >= 0 {
            nodes.push(self.default_node.into());
        }
        Some(nodes)
    }

    pub(crate) fn max_node(&self) -> Option<i64> {
        let total = self.group_base(self.ranges.len());
        let d = (self.default_node >= 0).then_some(i64::from(self.default_node));
        (total > 0).then_some(total - 1).into_iter().chain(d).max()
    }
}

/// PartitionByPattern: non-digit input goes to the default node; digits are reduced
/// modulo `pattern_value` and looked up in the ranges.
#[derive(Debug)]
pub(crate) struct Pattern {
    pattern_value: i64,
    ranges: Vec<LongRange>,
    default_node: i32,
}

impl Pattern {
    pub(crate) fn build(f: &Function, base_dir: &Path) -> Result<Pattern, BuildError> {
        let pv = int_prop("pattern_value", f.pattern_value.map_or(1024, i64::from))?;
        if pv < 1 {
            return Err(BuildError::new("pattern_value", "must be at least 1"));
        }
        Ok(Pattern {
            pattern_value: pv.into(),
            ranges: parse_ranges(&map_lines(f, base_dir)?, false)?,
            default_node: default_prop(f, 0)?,
        })
    }

    pub(crate) fn calculate(
        &self,
        value: &str,
        name: &'static str,
    ) -> Result<Option<i64>, PartitionError> {
        // `[0-9]*` (ASCII digits; the empty string matches).
        if !value.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(Some(self.default_node.into()));
        }
        let v = parse_long_str(value).ok_or_else(|| not_a_number(value, name))?;
        let h = v % self.pattern_value;
        Ok(self
            .ranges
            .iter()
            .find(|r| h >= r.start && h <= r.end)
            .map(|r| r.value.into()))
    }

    pub(crate) fn max_node(&self) -> Option<i64> {
        self.ranges
            .iter()
            .map(|r| r.value)
            .chain([self.default_node])
            .max()
            .map(i64::from)
    }
}

const DEFAULT_NODE_KEY: &str = "DEFAULT_NODE";

/// PartitionByFileMap: an enumeration of keys (ints or strings) to nodes.
#[derive(Debug)]
pub(crate) struct FileMap {
    int_keys: bool,
    ints: HashMap<i32, i32>,
    /// String keys, and the `DEFAULT_NODE` entry for either key type.
    strs: HashMap<String, i32>,
}

impl FileMap {
    pub(crate) fn build(f: &Function, base_dir: &Path) -> Result<FileMap, BuildError> {
        let int_keys = f.key_type != Some(KeyType::String);
        let mut ints = HashMap::new();
        let mut strs = HashMap::new();
        // MyCat skips a line it cannot read (for int keys, the `DEFAULT_NODE` line too);
        // a later line for the same key replaces an earlier one.
        for line in map_lines(f, base_dir)? {
            let Some(ind) = line.text.find('=') else {
                continue;
            };
            let key = trim(&line.text[..ind]);
            let Some(node) = parse_int_str(trim(&line.text[ind + 1..])) else {
                continue;
            };
            if int_keys {
                if let Some(k) = parse_int_str(key) {
                    ints.insert(k, node);
                }
            } else {
                strs.insert(key.to_string(), node);
            }
        }
        let d = default_prop(f, -1)?;
        if d >= 0 {
            strs.insert(DEFAULT_NODE_KEY.to_string(), d);
        }
        Ok(FileMap {
            int_keys,
            ints,
            strs,
        })
    }

    pub(crate) fn calculate(
        &self,
        value: &str,
        name: &'static str,
    ) -> Result<Option<i64>, PartitionError> {
        let hit = if self.int_keys {
            let u = utf16(value);
            let Some(k) = parse_int(&u) else {
                return Err(if parse_long_str(value).is_some() {
                    PartitionError::NotAnInt {
                        value: value.to_string(),
                        function: name,
                    }
                } else {
                    not_a_number(value, name)
                });
            };
            self.ints.get(&k)
        } else {
            self.strs.get(value)
        };
        Ok(hit
            .or_else(|| self.strs.get(DEFAULT_NODE_KEY))
            .map(|n| i64::from(*n)))
    }

    pub(crate) fn max_node(&self) -> Option<i64> {
        self.ints
            .values()
            .chain(self.strs.values())
            .max()
            .map(|n| i64::from(*n))
    }
}

/// PartitionByMod: `|v| mod count`; input that is no integer falls back to
/// `abs((long) s.hashCode()) % count` (MyCat main since 2020-12, the placement of the
/// project's reference vectors). The 1.6.76 release tag computed `Math.abs` in an
/// `int`, which stays negative for a hash of `Integer.MIN_VALUE` (that string then got
/// no data node there); MyCat 1.6.7.5 and older throw for any input that is no integer.
#[derive(Debug)]
pub(crate) struct ModLong {
    count: u32,
}

impl ModLong {
    pub(crate) fn build(f: &Function) -> Result<ModLong, BuildError> {
        match f.count {
            Some(c) if c >= 1 && i32::try_from(c).is_ok() => Ok(ModLong { count: c }),
            Some(_) => Err(BuildError::new("count", "must be between 1 and 2147483647")),
            None => Err(BuildError::new("", "a `mod-long` function needs `count`")),
        }
    }

    pub(crate) fn calculate(&self, value: &str) -> i64 {
        let u = utf16(value);
        match bigint_abs_mod(&u, self.count.into()) {
            Some(r) => r as i64,
            None => i64::from(hash_code(&u)).abs() % i64::from(self.count),
        }
    }

    pub(crate) fn max_node(&self) -> Option<i64> {
        Some(i64::from(self.count) - 1)
    }
}

/// MyCat `PartitionUtil`: 1024 slots shared out by `count[i]` nodes of `length[i]` slots.
#[derive(Debug)]
pub(crate) struct Segments {
    slot: Vec<u32>,
    nodes: u32,
}

impl Segments {
    pub(crate) fn build(f: &Function, name: &str) -> Result<Segments, BuildError> {
        let (Some(count), Some(length)) = (&f.partition_count, &f.partition_length) else {
            return Err(BuildError::new(
                "",
                format!("a `{name}` function needs `partition_count` and `partition_length`"),
            ));
        };
        if count.0.len() != length.0.len() || count.0.is_empty() {
            return Err(BuildError::new(
                "partition_length",
                format!(
                    "partition_count has {} entries but partition_length has {}: they pair up",
                    count.0.len(),
                    length.0.len()
                ),
            ));
        }
        for (key, list) in [("partition_count", count), ("partition_length", length)] {
            if let Some(v) = list.0.iter().find(|v| !(0..=1024).contains(*v)) {
                return Err(BuildError::new(
                    key,
                    format!("{v} is out of range: must be between 0 and 1024"),
                ));
            }
        }
        let total: i64 = count.0.iter().zip(&length.0).map(|(c, l)| c * l).sum();
        if total != 1024 {
            let terms: Vec<String> = count
                .0
                .iter()
                .zip(&length.0)
                .map(|(c, l)| format!("{c}×{l}"))
                .collect();
            return Err(BuildError::new(
                "partition_length",
                format!(
                    "the nodes must share exactly 1024 slots, but {} = {total}",
                    terms.join(" + ")
                ),
            ));
        }
        let mut slot = Vec::with_capacity(1024);
        let mut node = 0u32;
        for (c, l) in count.0.iter().zip(&length.0) {
            for _ in 0..*c {
                slot.extend(std::iter::repeat_n(node, *l as usize));
                node += 1;
            }
        }
        Ok(Segments { slot, nodes: node })
    }

    /// `segment[hash & 1023]`.
    pub(crate) fn partition(&self, hash: i64) -> i64 {
        self.slot
            .get((hash & 1023) as usize)
            .map_or(0, |n| i64::from(*n))
    }

    pub(crate) fn max_node(&self) -> Option<i64> {
        (self.nodes > 0).then(|| i64::from(self.nodes) - 1)
    }
}

/// PartitionByLong: `segment[((v >>> 32) ^ v) & 1023]` (MyCat 1.6.7.4 and later), or
/// `segment[v & 1023]` with `xor_high_bits: false` (MyCat 1.6 to 1.6.7.3). The two agree
/// for 0 <= v < 2^32.
#[derive(Debug)]
pub(crate) struct ByLong {
    seg: Segments,
    xor_high_bits: bool,
}

impl ByLong {
    pub(crate) fn build(f: &Function) -> Result<ByLong, BuildError> {
        Ok(ByLong {
            seg: Segments::build(f, "long")?,
            xor_high_bits: f.xor_high_bits.unwrap_or(true),
        })
    }

    fn node(&self, v: i64) -> i64 {
        let key = if self.xor_high_bits {
            (((v as u64) >> 32) as i64) ^ v
        } else {
            v
        };
        self.seg.partition(key)
    }

    pub(crate) fn calculate(&self, value: &str, name: &'static str) -> Result<i64, PartitionError> {
        let v = parse_long_str(value).ok_or_else(|| not_a_number(value, name))?;
        Ok(self.node(v))
    }

    /// MyCat: the nodes from begin's to end's, which misses nodes whenever the span wraps
    /// around the 1024 slots. Here: the nodes of every value of a short span; a span of
    /// 2047 or more values holds a whole aligned block of 1024, so every node.
    pub(crate) fn calculate_range(&self, begin: &str, end: &str) -> Option<Vec<i64>> {
        let (b, e) = range_ends(begin, end)?;
        if i128::from(e) - i128::from(b) >= 2047 {
            return Some((0..i64::from(self.seg.nodes)).collect());
        }
        Some((b..=e).map(|v| self.node(v)).collect())
    }

    pub(crate) fn max_node(&self) -> Option<i64> {
        self.seg.max_node()
    }
}

/// PartitionDirectBySubString: the node is written in the value, at
/// `[start_index, start_index + size)`.
#[derive(Debug)]
pub(crate) struct Substring {
    start: i32,
    size: i32,
    partition_count: i32,
    default_partition: i32,
}

impl Substring {
    pub(crate) fn build(f: &Function) -> Result<Substring, BuildError> {
        let partition_count = match &f.partition_count {
            None => 0,
            Some(l) if l.0.len() == 1 => int_prop("partition_count", l.0[0])?,
            Some(_) => {
                return Err(BuildError::new(
                    "partition_count",
                    "a `substring` function takes one number of partitions",
                ));
            }
        };
        Ok(Substring {
            start: f.start_index.unwrap_or(0),
            size: int_prop("size", f.size.map_or(0, i64::from))?,
            partition_count,
            default_partition: f.default_partition.unwrap_or(0),
        })
    }

    pub(crate) fn calculate(&self, value: &str, name: &'static str) -> Result<i64, PartitionError> {
        let u = utf16(value);
        let end = self.start.wrapping_add(self.size);
        let (Ok(s), Ok(e)) = (usize::try_from(self.start), usize::try_from(end)) else {
            return Err(self.too_short(value, end, name));
        };
        if e > u.len() || s > e {
            return Err(self.too_short(value, end, name));
        }
        let sub = &u[s..e];
        let p = parse_int(sub).ok_or_else(|| not_a_number(&String::from_utf16_lossy(sub), name))?;
        Ok(if self.partition_count > 0 && p >= self.partition_count {
            self.default_partition.into()
        } else {
            p.into()
        })
    }

    fn too_short(&self, value: &str, end: i32, name: &'static str) -> PartitionError {
        PartitionError::TooShort {
            value: value.to_string(),
            start: self.start.into(),
            end: end.into(),
            function: name,
        }
    }

    pub(crate) fn max_node(&self) -> Option<i64> {
        (self.partition_count > 0)
            .then(|| i64::from(self.partition_count - 1).max(self.default_partition.into()))
    }
}
