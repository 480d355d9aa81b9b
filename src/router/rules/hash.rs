//! The hashing functions: string-hash (PartitionByString), murmur (PartitionByMurmurHash),
//! hash-mod (PartitionByHashMod) and jump-consistent-hash (PartitionByJumpConsistentHash).

use std::collections::BTreeMap;
use std::path::Path;

use super::java::{Murmur3Stream, hash_code, murmur3_32, parse_int_str, string_hash, trim, utf16};
use super::numeric::Segments;
use super::{BuildError, int_prop};
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
    let text = String::from_utf8_lossy(&bytes);
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
        if let Some(file) = &f.weight_map_file {
            for (node, w) in read_weights(&base_dir.join(file), &file.display().to_string())? {
                weights.insert(node, w);
            }
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
