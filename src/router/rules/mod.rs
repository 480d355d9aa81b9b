//! MyCat partition functions (pure): the function types of MyCat 1.6.7.x
//! (`io.mycat.route.function`), reimplemented to place every value on the node MyCat's
//! own Java code places it — including its quirks with odd input, which the golden
//! vectors in `tests/data/mycat-vectors/` pin down. All of them but PartitionByHotDate,
//! whose node depends on the clock at the time of each statement (see the README).
//!
//! * [`Partition::calculate`] is MyCat `calculate(String)`: a node, no node (`null`), or
//!   an error where MyCat throws.
//! * [`Partition::calculate_range`] is MyCat `calculateRange(begin, end)` for BETWEEN, for
//!   the functions that override it; where MyCat's answer could leave out a node that
//!   holds matching rows, the answer here is widened (never narrowed) to be safe.
//! * [`Partition::max_node`] bounds the node indexes for config validation.

mod calendar;
mod dates;
mod hash;
mod java;
mod numeric;

use std::fmt;
use std::path::Path;

use crate::config::router::{Function, FunctionType};

/// Why MyCat's `calculate` throws for a value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PartitionError {
    /// `NumberFormatException`, possibly wrapped in `IllegalArgumentException`.
    #[error("`{value}` is not a whole number ({function})")]
    NotANumber {
        value: String,
        function: &'static str,
    },
    /// `Integer.valueOf` of a whole number outside the 32-bit range.
    #[error("`{value}` is not a 32-bit whole number ({function})")]
    NotAnInt {
        value: String,
        function: &'static str,
    },
    /// `ParseException` from `SimpleDateFormat`.
    #[error("`{value}` is not a date in the format `{format}` ({function})")]
    NotADate {
        value: String,
        format: String,
        function: &'static str,
    },
    /// `StringIndexOutOfBoundsException` from `substring`.
    #[error("`{value}` is too short: {function} reads characters {start}..{end} of it")]
    TooShort {
        value: String,
        start: i64,
        end: i64,
        function: &'static str,
    },
}

/// A build failure, with the function key it is about (`map`, `map[2]`, `map_file`,
/// `partition_count`, ... or empty for the function as a whole).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildError {
    pub key: String,
    pub message: String,
}

impl BuildError {
    pub(crate) fn new(key: impl Into<String>, message: impl Into<String>) -> BuildError {
        BuildError {
            key: key.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

enum Kind {
    RangeLong(numeric::RangeLong),
    FileMap(numeric::FileMap),
    ModLong(numeric::ModLong),
    Long(numeric::ByLong),
    StringHash(hash::StringHash),
    Murmur(hash::Murmur),
    HashMod(hash::HashMod),
    Jump(hash::Jump),
    Date(dates::ByDate),
    Month(dates::ByMonth),
    LatestMonth(dates::LatestMonth),
    Substring(numeric::Substring),
    RangeMod(numeric::RangeMod),
    Pattern(numeric::Pattern),
    Crc32Slot(hash::Crc32Slot),
    PrefixPattern(hash::PrefixPattern),
    RangeDateHash(dates::RangeDateHash),
    MonthHistory(dates::ByMonth),
}

/// One built partition function; immutable, so it can be shared in an `Arc`.
pub struct Partition {
    ty: FunctionType,
    kind: Kind,
}

impl fmt::Debug for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Partition({})", self.ty)
    }
}

impl Partition {
    /// Builds from config; `base_dir` resolves `map_file`/`weight_map_file`.
    pub fn build(f: &Function, base_dir: &Path) -> Result<Partition, String> {
        Partition::build_located(f, base_dir).map_err(|e| e.message)
    }

    /// [`Partition::build`], saying which key of the function a failure is about.
    pub fn build_located(f: &Function, base_dir: &Path) -> Result<Partition, BuildError> {
        let Some(ty) = f.kind else {
            return Err(BuildError::new("type", "the function has no `type`"));
        };
        use FunctionType as T;
        let kind = match ty {
            T::RangeLong => Kind::RangeLong(numeric::RangeLong::build(f, base_dir)?),
            T::FileMap => Kind::FileMap(numeric::FileMap::build(f, base_dir)?),
            T::ModLong => Kind::ModLong(numeric::ModLong::build(f)?),
            T::Long => Kind::Long(numeric::ByLong::build(f)?),
            T::StringHash => Kind::StringHash(hash::StringHash::build(f)?),
            T::Murmur => Kind::Murmur(hash::Murmur::build(f, base_dir)?),
            T::HashMod => Kind::HashMod(hash::HashMod::build(f)?),
            T::JumpConsistentHash => Kind::Jump(hash::Jump::build(f)?),
            T::Date => Kind::Date(dates::ByDate::build(f)?),
            T::Month => Kind::Month(dates::ByMonth::build(f)?),
            T::LatestMonth => Kind::LatestMonth(dates::LatestMonth::build(f)?),
            T::Substring => Kind::Substring(numeric::Substring::build(f)?),
            T::RangeMod => Kind::RangeMod(numeric::RangeMod::build(f, base_dir)?),
            T::Pattern => Kind::Pattern(numeric::Pattern::build(f, base_dir)?),
            T::Crc32Slot => Kind::Crc32Slot(hash::Crc32Slot::build(f, base_dir)?),
            T::PrefixPattern => Kind::PrefixPattern(hash::PrefixPattern::build(f, base_dir)?),
            T::RangeDateHash => Kind::RangeDateHash(dates::RangeDateHash::build(f)?),
            T::MonthHistory => Kind::MonthHistory(dates::ByMonth::build_history(f)?),
        };
        Ok(Partition { ty, kind })
    }

    /// The function's type.
    pub fn function_type(&self) -> FunctionType {
        self.ty
    }

    /// MyCat `calculate(String)`: `Ok(Some(node))`, `Ok(None)` where MyCat returns
    /// `null` (no node), `Err` where MyCat throws.
    pub fn calculate(&self, value: &str) -> Result<Option<i64>, PartitionError> {
        let name = self.ty.as_str();
        match &self.kind {
            Kind::RangeLong(p) => p.calculate(value, name),
            Kind::FileMap(p) => p.calculate(value, name),
            Kind::ModLong(p) => Ok(Some(p.calculate(value))),
            Kind::Long(p) => p.calculate(value, name).map(Some),
            Kind::StringHash(p) => Ok(Some(p.calculate(value))),
            Kind::Murmur(p) => Ok(p.calculate(value)),
            Kind::HashMod(p) => Ok(Some(p.calculate(value))),
            Kind::Jump(p) => Ok(Some(p.calculate(value))),
            Kind::Date(p) => p.calculate(value, name).map(Some),
            Kind::Month(p) => p.calculate(value, name).map(Some),
            Kind::LatestMonth(p) => p.calculate(value, name).map(Some),
            Kind::Substring(p) => p.calculate(value, name).map(Some),
            Kind::RangeMod(p) => p.calculate(value, name),
            Kind::Pattern(p) => p.calculate(value, name),
            Kind::Crc32Slot(p) => Ok(Some(p.calculate(value))),
            Kind::PrefixPattern(p) => Ok(p.calculate(value)),
            Kind::RangeDateHash(p) => p.calculate(value, name).map(Some),
            Kind::MonthHistory(p) => p.calculate(value, name).map(Some),
        }
    }

    /// MyCat `calculateRange(begin, end)` for `BETWEEN begin AND end`: the nodes (sorted,
    /// distinct) where MyCat computes a range — range-long, long, date, month,
    /// month-history, latest-month, range-mod and range-date-hash — and `None` where MyCat
    /// routes to every node (the
    /// other functions, values it cannot parse, `end < begin`, spans too wide to list).
    pub fn calculate_range(&self, begin: &str, end: &str) -> Option<Vec<i64>> {
        let nodes = match &self.kind {
            Kind::RangeLong(p) => p.calculate_range(begin, end),
            Kind::Long(p) => p.calculate_range(begin, end),
            Kind::Date(p) => p.calculate_range(begin, end),
            Kind::Month(p) => p.calculate_range(begin, end),
            Kind::LatestMonth(p) => p.calculate_range(begin, end),
            Kind::RangeMod(p) => p.calculate_range(begin, end),
            Kind::MonthHistory(p) => p.calculate_range(begin, end),
            Kind::RangeDateHash(p) => p.calculate_range(begin, end),
            _ => None,
        }?;
        let mut nodes = nodes;
        nodes.sort_unstable();
        nodes.dedup();
        (!nodes.is_empty()).then_some(nodes)
    }

    /// The highest node index the function can return, when the config bounds it.
    pub fn max_node(&self) -> Option<i64> {
        match &self.kind {
            Kind::RangeLong(p) => p.max_node(),
            Kind::FileMap(p) => p.max_node(),
            Kind::ModLong(p) => p.max_node(),
            Kind::Long(p) => p.max_node(),
            Kind::StringHash(p) => p.max_node(),
            Kind::Murmur(p) => p.max_node(),
            Kind::HashMod(p) => p.max_node(),
            Kind::Jump(p) => p.max_node(),
            Kind::Date(p) => p.max_node(),
            Kind::Month(p) => p.max_node(),
            Kind::LatestMonth(p) => p.max_node(),
            Kind::Substring(p) => p.max_node(),
            Kind::RangeMod(p) => p.max_node(),
            Kind::Pattern(p) => p.max_node(),
            Kind::Crc32Slot(p) => p.max_node(),
            Kind::PrefixPattern(p) => p.max_node(),
            Kind::RangeDateHash(_) => None,
            Kind::MonthHistory(p) => p.max_node(),
        }
    }
}

/// One line of map data, Java-trimmed, with where it came from.
pub(crate) struct MapLine {
    /// The function key to report a problem at (`map[3]`, `map_file`).
    pub key: String,
    /// Where, for messages (`map entry 3`, `line 7 of ranges.txt`).
    pub place: String,
    pub text: String,
}

impl MapLine {
    pub(crate) fn error(&self, msg: impl fmt::Display) -> BuildError {
        BuildError::new(
            self.key.clone(),
            format!("{} (`{}`): {msg}", self.place, self.text),
        )
    }
}

/// The map lines of a map-based function, as MyCat reads its map file: `BufferedReader`
/// lines, `String.trim()`, lines starting with `#` or `//` skipped. Lines without `=`
/// are dropped too (every MyCat map reader skips them).
pub(crate) fn map_lines(f: &Function, base_dir: &Path) -> Result<Vec<MapLine>, BuildError> {
    if !f.map.is_empty() && f.map_file.is_some() {
        return Err(BuildError::new("map", "give `map` or `map_file`, not both"));
    }
    let mut sources: Vec<(String, String, String)> = Vec::new();
    if let Some(file) = &f.map_file {
        let full = base_dir.join(file);
        let bytes = std::fs::read(&full).map_err(|e| {
            BuildError::new("map_file", format!("cannot read {}: {e}", full.display()))
        })?;
        let text = String::from_utf8_lossy(&bytes);
        let name = file.display().to_string();
        for (n, line) in java_lines(&text).into_iter().enumerate() {
            sources.push((
                "map_file".into(),
                format!("line {} of {name}", n + 1),
                line.to_string(),
            ));
        }
    } else if !f.map.is_empty() {
        for (i, entry) in f.map.iter().enumerate() {
            for line in java_lines(entry) {
                sources.push((
                    format!("map[{i}]"),
                    format!("map entry {i}"),
                    line.to_string(),
                ));
            }
        }
    } else {
        return Err(BuildError::new(
            "",
            format!(
                "a `{}` function needs `map` or `map_file`",
                f.kind.map_or("", |k| k.as_str())
            ),
        ));
    }
    Ok(sources
        .into_iter()
        .filter_map(|(key, place, line)| {
            let text = java::trim(&line).to_string();
            let skip = text.starts_with('#') || text.starts_with("//") || !text.contains('=');
            (!skip).then_some(MapLine { key, place, text })
        })
        .collect())
}

/// `BufferedReader.readLine` splitting: `\n`, `\r` or `\r\n` end a line.
fn java_lines(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\n' || b[i] == b'\r' {
            out.push(&s[start..i]);
            if b[i] == b'\r' && b.get(i + 1) == Some(&b'\n') {
                i += 1;
            }
            start = i + 1;
        }
        i += 1;
    }
    if start < b.len() {
        out.push(&s[start..]);
    }
    out
}

/// An `int` property (MyCat's setters take Java ints).
pub(crate) fn int_prop(key: &str, v: i64) -> Result<i32, BuildError> {
    i32::try_from(v).map_err(|_| BuildError::new(key, format!("{v} does not fit a 32-bit int")))
}

#[cfg(test)]
mod tests;
