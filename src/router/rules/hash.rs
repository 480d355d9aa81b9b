//! The hashing functions: string-hash (PartitionByString), murmur (PartitionByMurmurHash),
//! hash-mod (PartitionByHashMod), jump-consistent-hash (PartitionByJumpConsistentHash),
//! crc32slot (PartitionByCRC32PreSlot) and prefix-pattern (PartitionByPrefixPattern).

use std::collections::BTreeMap;
use std::path::Path;

use super::java::{Murmur3Stream, hash_code, murmur3_32, parse_int_str, string_hash, trim, utf16};
use super::numeric::{LongRange, Segments, parse_ranges};
use super::{BuildError, MapLine, int_prop, map_lines};
use crate::config::router::Function;

/// PartitionByString: `segment[hash(s[start..end]) & 1023]`, the hash being
/// `31*h + c` over UTF-16 units in 64 bits.
#[derive(Debug)]
pub(crate) struct StringHash {
    seg: Segments,
    slice_start: i32,
    slice_end: i32,
}

/// MyCat `PartitionByString.sequenceSlicing`: `"2"` = (0, 2), `"-2"` = (-2, 0), `"1:"` =
/// (1, 0), `":-1"` = (0, -1), `":"` = (0, 0).
fn sequence_slicing(slice: &str) -> Option<(i32, i32)> {
    match slice.find(':') {
        None => {
            let i = parse_int_str(trim(slice))?;
            Some(if i >= 0 { (0, i) } else { (i, 0) })
        }
        Some(ind) => {
            let side = |s: &str| {
                let s = trim(s);
                if s.is_empty() {
                    Some(0)
                } else {
                    parse_int_str(s)
                }
            };
            Some((side(&slice[..ind])?, side(&slice[ind + 1..])?))
        }
    }
}

impl StringHash {
    pub(crate) fn build(f: &Function) -> Result<StringHash, BuildError> {
        let (slice_start, slice_end) = match &f.hash_slice {
            None => (0, 8),
            Some(s) => sequence_slicing(s).ok_or_else(|| {
                BuildError::new(
                    "hash_slice",
                    format!("`{s}` is not a slice such as \"0:2\", \"-4:0\", \"2\" or \":\""),
                )
            })?,
        };
        Ok(StringHash {
            seg: Segments::build(f, "string-hash")?,
            slice_start,
            slice_end,
        })
    }

    pub(crate) fn calculate(&self, value: &str) -> i64 {
        let u = utf16(value);
        let len = i32::try_from(u.len()).unwrap_or(i32::MAX);
        let start = if self.slice_start >= 0 {
            self.slice_start
        } else {
            len.wrapping_add(self.slice_start)
        };
        let end = if self.slice_end > 0 {
            self.slice_end
        } else {
            len.wrapping_add(self.slice_end)
        };
        self.seg.partition(string_hash(&u, start, end))
    }

    pub(crate) fn max_node(&self) -> Option<i64> {
        self.seg.max_node()
    }
}

/// The most virtual nodes a murmur ring may have.
const MAX_RING: i64 = 10_000_000;

/// PartitionByMurmurHash: a consistent-hash ring of `virtual_bucket_times × weight`
/// points per node.
#[derive(Debug)]
pub(crate) struct Murmur {
    seed: i32,
    count: i32,
    ring: BTreeMap<i32, i32>,
}

/// The node weights of a Java properties file (`node=weight`); weights below 1 count as 1.
fn read_weights(path: &Path, shown: &str) -> Result<Vec<(i32, i32)>, BuildError> {
    let key = "weight_map_file";
    let bytes = std::fs::read(path)
        .map_err(|e| BuildError::new(key, format!("cannot read {}: {e}", path.display())))?;
    parse_weights(&String::from_utf8_lossy(&bytes), key, shown)
}

/// `node=weight` lines as `Properties.load` reads them (comments `#` and `!`).
fn parse_weights(text: &str, key: &str, shown: &str) -> Result<Vec<(i32, i32)>, BuildError> {
    let mut out = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim_start_matches([' ', '\t', '\u{c}']);
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let cut = line
            .find(['=', ':', ' ', '\t', '\u{c}'])
            .unwrap_or(line.len());
        let k = &line[..cut];
        let mut rest = line[cut..].trim_start_matches([' ', '\t', '\u{c}']);
        if let Some(r) = rest.strip_prefix(['=', ':']) {
            rest = r;
        }
        let v = rest.trim();
        let bad = |what: &str| {
            BuildError::new(
                key,
                format!("line {} of {shown} (`{}`): {what}", n + 1, raw.trim()),
            )
        };
        let node = parse_int_str(k).ok_or_else(|| bad(&format!("`{k}` is not a node index")))?;
        let weight =
            parse_int_str(v).ok_or_else(|| bad(&format!("`{v}` is not a whole-number weight")))?;
        out.push((node, weight.max(1)));
    }
    Ok(out)
}

impl Murmur {
    pub(crate) fn build(f: &Function, base_dir: &Path) -> Result<Murmur, BuildError> {
        let count = int_prop(
            "count",
            f.count
                .map(i64::from)
                .ok_or_else(|| BuildError::new("", "a `murmur` function needs `count`"))?,
        )?;
        if count < 1 {
            return Err(BuildError::new("count", "must be at least 1"));
        }
        let seed = int_prop("seed", f.seed.unwrap_or(0))?;
        let vbt = int_prop(
            "virtual_bucket_times",
            f.virtual_bucket_times.map_or(160, i64::from),
        )?;
        let mut weights: std::collections::HashMap<i32, i32> = Default::default();
        let listed = match (&f.weight_map_file, f.weight_map.is_empty()) {
            (Some(_), false) => {
                return Err(BuildError::new(
                    "weight_map",
                    "give `weight_map` or `weight_map_file`, not both",
                ));
            }
            (Some(file), true) => read_weights(&base_dir.join(file), &file.display().to_string())?,
            (None, false) => parse_weights(&f.weight_map.join("\n"), "weight_map", "weight_map")?,
            (None, true) => Vec::new(),
        };
        for (node, w) in listed {
            weights.insert(node, w);
        }
        let points: i64 = (0..count)
            .map(|i| i64::from(vbt.wrapping_mul(*weights.get(&i).unwrap_or(&1)).max(0)))
            .sum();
        if points > MAX_RING {
            return Err(BuildError::new(
                "virtual_bucket_times",
                format!(
                    "the ring would have {points} points (count × virtual_bucket_times × weights); at most {MAX_RING}"
                ),
            ));
        }
        let mut ring = BTreeMap::new();
        for i in 0..count {
            // One label per node that keeps growing: SHARD-i-NODE-0-NODE-1-...
            let mut label = Murmur3Stream::new(seed);
            label.push_str(&format!("SHARD-{i}"));
            let shards = vbt.wrapping_mul(*weights.get(&i).unwrap_or(&1));
            for n in 0..shards.max(0) {
                label.push_str(&format!("-NODE-{n}"));
                ring.insert(label.hash(), i);
            }
        }
        if ring.is_empty() {
            return Err(BuildError::new(
                "virtual_bucket_times",
                "the ring has no points",
            ));
        }
        Ok(Murmur { seed, count, ring })
    }

    pub(crate) fn calculate(&self, value: &str) -> Option<i64> {
        let h = murmur3_32(&utf16(value), self.seed);
        self.ring
            .range(h..)
            .next()
            .or_else(|| self.ring.iter().next())
            .map(|(_, n)| i64::from(*n))
    }

    pub(crate) fn max_node(&self) -> Option<i64> {
        Some(i64::from(self.count) - 1)
    }
}

/// PartitionByHashMod: the Wang/Jenkins hash of `s.hashCode()`, then `abs` and
/// `& (count-1)` for a power of two, `mod count` otherwise.
#[derive(Debug)]
pub(crate) struct HashMod {
    count: i32,
}

fn wang(mut key: i32) -> i32 {
    key = (!key).wrapping_add(key << 21);
    key ^= key >> 24;
    key = key.wrapping_add(key << 3).wrapping_add(key << 8);
    key ^= key >> 14;
    key = key.wrapping_add(key << 2).wrapping_add(key << 4);
    key ^= key >> 28;
    key.wrapping_add(key << 31)
}

impl HashMod {
    pub(crate) fn build(f: &Function) -> Result<HashMod, BuildError> {
        let count = int_prop(
            "count",
            f.count
                .map(i64::from)
                .ok_or_else(|| BuildError::new("", "a `hash-mod` function needs `count`"))?,
        )?;
        if count < 1 {
            return Err(BuildError::new("count", "must be at least 1"));
        }
        Ok(HashMod { count })
    }

    pub(crate) fn calculate(&self, value: &str) -> i64 {
        let abs = i64::from(wang(hash_code(&utf16(value)))).abs();
        if self.count & (self.count - 1) == 0 {
            i64::from((abs as i32) & (self.count - 1))
        } else {
            abs % i64::from(self.count)
        }
    }

    pub(crate) fn max_node(&self) -> Option<i64> {
        Some(i64::from(self.count) - 1)
    }
}

/// PartitionByJumpConsistentHash: Google's jump hash of `(long) s.hashCode()`.
#[derive(Debug)]
pub(crate) struct Jump {
    buckets: i32,
}

impl Jump {
    pub(crate) fn build(f: &Function) -> Result<Jump, BuildError> {
        let buckets = int_prop(
            "total_buckets",
            f.total_buckets.map(i64::from).ok_or_else(|| {
                BuildError::new(
                    "",
                    "a `jump-consistent-hash` function needs `total_buckets`",
                )
            })?,
        )?;
        if buckets < 1 {
            return Err(BuildError::new("total_buckets", "must be at least 1"));
        }
        Ok(Jump { buckets })
    }

    pub(crate) fn calculate(&self, value: &str) -> i64 {
        const MUL: i64 = 2_862_933_555_777_941_757;
        const JUMP: f64 = (1u64 << 31) as f64;
        let mut k = i64::from(hash_code(&utf16(value)));
        let mut b: i64 = -1;
        let mut j: i64 = 0;
        while j < i64::from(self.buckets) {
            b = j;
            k = k.wrapping_mul(MUL).wrapping_add(1);
            let d = (((k as u64) >> 33) + 1) as f64;
            j = ((b + 1) as f64 * (JUMP / d)) as i64;
        }
        b
    }

    pub(crate) fn max_node(&self) -> Option<i64> {
        Some(i64::from(self.buckets) - 1)
    }
}

/// The slots of PartitionByCRC32PreSlot (`DEFAULT_SLOTS_NUM`).
pub(crate) const CRC32_SLOTS: usize = 102_400;

/// The CRC-32 (IEEE 802.3, as `java.util.zip.CRC32` and MyCat's `PureJavaCrc32`) table.
const CRC32_TABLE: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
};

/// CRC-32 of `bytes`.
pub(crate) fn crc32(bytes: &[u8]) -> u32 {
    !bytes.iter().fold(!0u32, |c, &b| {
        CRC32_TABLE[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8)
    })
}

/// PartitionByCRC32PreSlot: `slot = crc32(UTF-8 bytes) mod 102400`, and a slot → node
/// table. MyCat writes that table to `conf/ruledata/<rule>_<schema>_<TABLE>.properties`
/// at its first start (one line per node, `node=start-end[,start-end...]`), an even split
/// over the table's data nodes, and reads it back from then on; its migration commands
/// rewrite it. Without `map`, the table here is that first-start split of `count` nodes;
/// with `map`, it is the file's lines. A slot no line covers is on node 0, as in MyCat.
#[derive(Debug)]
pub(crate) struct Crc32Slot {
    /// The slot table as runs: `(first slot, node)`, ascending, the first at slot 0.
    runs: Vec<(u32, i32)>,
}

/// MyCat `genarateProperties`: node i gets `i*size .. (i+1)*size-1` of the slots, the last
/// node up to the end, `size` being `102400 / count`.
fn crc32_default_lines(count: u32) -> Vec<String> {
    let slots = CRC32_SLOTS as i64;
    let count = i64::from(count);
    let size = slots / count;
    (0..count)
        .map(|i| {
            let end = if i == count - 1 {
                slots - 1
            } else {
                (i + 1) * size - 1
            };
            format!("{i}={}-{end}", i * size)
        })
        .collect()
}

/// Guava `Splitter.on(c).omitEmptyStrings().trimResults()`.
fn split_trim(s: &str, c: char) -> Vec<&str> {
    s.split(c)
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect()
}

impl Crc32Slot {
    pub(crate) fn build(f: &Function, base_dir: &Path) -> Result<Crc32Slot, BuildError> {
        let Some(count) = f.count else {
            return Err(BuildError::new("", "a `crc32slot` function needs `count`"));
        };
        let default = f.map.is_empty() && f.map_file.is_none();
        if default && count as usize > CRC32_SLOTS {
            // Every middle line MyCat generates is `0--1` (slots 0-1) and the last one
            // `0-102399`, which overwrites them all.
            return Ok(Crc32Slot {
                runs: vec![(0, i32::try_from(count - 1).unwrap_or(i32::MAX))],
            });
        }
        let lines: Vec<MapLine> = if default {
            crc32_default_lines(count)
                .into_iter()
                .enumerate()
                .map(|(i, text)| MapLine {
                    key: "count".into(),
                    place: format!("generated line {}", i + 1),
                    text,
                })
                .collect()
        } else {
            map_lines(f, base_dir)?
        };
        // MyCat `convertToMap`: `Integer.parseInt` of the key; the value split at `,`,
        // each part at `-` (empty parts dropped): two numbers a range, one a single slot.
        let mut nodes: BTreeMap<i32, Vec<(i32, i32)>> = BTreeMap::new();
        for line in &lines {
            let Some(ind) = line.text.find('=') else {
                continue;
            };
            let k = trim(&line.text[..ind]);
            let node =
                parse_int_str(k).ok_or_else(|| line.error(format!("`{k}` is not a node index")))?;
            let mut ranges = Vec::new();
            for part in split_trim(&line.text[ind + 1..], ',') {
                let ends = split_trim(part, '-');
                let num = |s: &str| {
                    parse_int_str(s).ok_or_else(|| {
                        line.error(format!("`{s}` is not a slot number (0 to 102399)"))
                    })
                };
                let (a, b) = match ends.as_slice() {
                    [a, b] => (num(a)?, num(b)?),
                    [a] => {
                        let a = num(a)?;
                        (a, a)
                    }
                    _ => {
                        return Err(line.error(format!(
                            "`{part}` is not a slot range `start-end` (MyCat: \"load crc32slot datafile error\")"
                        )));
                    }
                };
                if a <= b && (a < 0 || b >= CRC32_SLOTS as i32) {
                    return Err(line.error(format!(
                        "slots {a}-{b} are outside 0-{} (MyCat does not start with this file)",
                        CRC32_SLOTS - 1
                    )));
                }
                ranges.push((a, b));
            }
            if nodes.insert(node, ranges).is_some() {
                return Err(line.error(format!(
                    "node {node} is listed twice (MyCat keeps only one of the lines)"
                )));
            }
        }
        if nodes.len() != count as usize {
            return Err(BuildError::new(
                "count",
                format!(
                    "the slot map lists {} node(s) but `count` is {count}: MyCat does not start unless its ruledata file has one line per data node of the table",
                    nodes.len()
                ),
            ));
        }
        // MyCat `hack()`: nodes in ascending order, a later one overwriting an earlier.
        let mut slot = vec![0i32; CRC32_SLOTS];
        for (node, ranges) in &nodes {
            for (a, b) in ranges {
                for s in *a..=*b {
                    // In range: checked above.
                    if let Some(x) = slot.get_mut(s as usize) {
                        *x = *node;
                    }
                }
            }
        }
        let mut runs: Vec<(u32, i32)> = Vec::new();
        for (s, n) in slot.into_iter().enumerate() {
            if runs.last().is_none_or(|(_, last)| *last != n) {
                runs.push((s as u32, n));
            }
        }
        Ok(Crc32Slot { runs })
    }

    pub(crate) fn calculate(&self, value: &str) -> i64 {
        let s = crc32(value.as_bytes()) % CRC32_SLOTS as u32;
        // The last run starting at or before the slot (the first starts at 0).
        let i = self.runs.partition_point(|(start, _)| *start <= s);
        self.runs
            .get(i.saturating_sub(1))
            .map_or(0, |(_, n)| i64::from(*n))
    }

    pub(crate) fn max_node(&self) -> Option<i64> {
        self.runs.iter().map(|(_, n)| i64::from(*n)).max()
    }
}

/// PartitionByPrefixPattern: the sum of the first `prefix_length` UTF-16 units of the
/// value (fewer when it is shorter), modulo `pattern_value`, looked up in `start-end=node`
/// ranges (`K`/`M` units, first match); no range: no node.
#[derive(Debug)]
pub(crate) struct PrefixPattern {
    prefix_length: i32,
    pattern_value: i32,
    ranges: Vec<LongRange>,
}

impl PrefixPattern {
    pub(crate) fn build(f: &Function, base_dir: &Path) -> Result<PrefixPattern, BuildError> {
        let Some(prefix) = f.prefix_length else {
            return Err(BuildError::new(
                "",
                "a `prefix-pattern` function needs `prefix_length`",
            ));
        };
        let pattern_value = int_prop("pattern_value", f.pattern_value.map_or(1024, i64::from))?;
        if pattern_value < 1 {
            return Err(BuildError::new("pattern_value", "must be at least 1"));
        }
        Ok(PrefixPattern {
            prefix_length: int_prop("prefix_length", i64::from(prefix))?,
            pattern_value,
            ranges: parse_ranges(&map_lines(f, base_dir)?, true)?,
        })
    }

    pub(crate) fn calculate(&self, value: &str) -> Option<i64> {
        let u = utf16(value);
        let n = usize::try_from(self.prefix_length)
            .unwrap_or(0)
            .min(u.len());
        let sum = u[..n]
            .iter()
            .fold(0i32, |s, &c| s.wrapping_add(i32::from(c)));
        let h = i64::from(sum % self.pattern_value);
        self.ranges
            .iter()
            .find(|r| h >= r.start && h <= r.end)
            .map(|r| i64::from(r.value))
    }

    pub(crate) fn max_node(&self) -> Option<i64> {
        self.ranges.iter().map(|r| i64::from(r.value)).max()
    }
}
