//! Cross-shard result merging (pure, streaming, sans-IO).
//!
//! The router sends one rewritten SELECT to several data nodes; [`Merger`] combines their
//! text-protocol result sets into what one MariaDB holding all the rows would return.
//! The planner describes the rewrite in a [`MergeSpec`]; the IO layer feeds rows with
//! [`Merger::push`]/[`Merger::end`], asks [`Merger::want`] which source to read next and
//! writes out what [`Merger::next_row`] returns.
//!
//! Three shapes:
//! - **concatenation** (no grouping, aggregates or ORDER BY): rows pass through as they
//!   arrive, after HAVING/DISTINCT/OFFSET/LIMIT;
//! - **sorted merge** (ORDER BY without grouping): every node ran the ORDER BY, so a k-way
//!   heap merge emits a row once each unfinished source has a row buffered; memory is
//!   the buffered rows only;
//! - **grouping** (GROUP BY or aggregates): hash aggregation over all rows, then HAVING,
//!   ORDER BY (default: the GROUP BY keys ascending, MariaDB's implicit order),
//!   DISTINCT, OFFSET/LIMIT.
//!
//! Values compare the way MariaDB compares them (see [`ColKind`] and [`Collation`]); the
//! column kinds come from the column definitions given to [`Merger::new`]:
//! - NULL sorts first ascending, last descending; integers, YEAR and DECIMAL compare
//!   exactly (arbitrary precision), FLOAT/DOUBLE as f64, TIME as a signed duration,
//!   other date/time types as text;
//! - text: charset 63 compares bytes; `BINARY_FLAG` (the server sets it for `_bin`
//!   collations, whose id it does not report) compares bytes ignoring trailing spaces;
//!   anything else uses the `utf8mb4_general_ci` weights (case- and accent-insensitive,
//!   trailing spaces ignored). GROUP BY, DISTINCT, MIN/MAX and ORDER BY all use this one
//!   comparison; a group shows the first value seen.
//! - sort/group keys with a helper column ([`MergeSpec::helpers`]): an ENUM/SET compares
//!   by member position/bits, text by the node's `WEIGHT_STRING` in the column's own
//!   collation (PAD SPACE or NO PAD as the node says); a server orders an ENUM/SET key
//!   without a helper by a member order the router cannot know: [`Merger::refusal`].
//! - text that is not a number in a numeric column counts as its numeric prefix (or 0),
//!   like MySQL; nothing derived from row data can panic.
//!
//! What the planner must send (see also [`AggFn`]):
//! - sorted merge: every node orders by the same keys; keys that are not selected go in
//!   hidden columns after the `visible` ones. `LIMIT o,n` becomes `LIMIT 0,o+n`.
//! - grouping: nodes return every (partial) group — no LIMIT, no HAVING, no ORDER BY
//!   needed; COUNT merges by adding, so COUNT(DISTINCT x) is only mergeable when x places
//!   rows (the shard key). AVG(x) is sent as SUM(x) in the AVG's place plus a hidden
//!   COUNT(x) named by `count_col`; the client's column definition must then announce
//!   AVG's scale ([`Merger::output_columns`], [`patch_column_def`]), and the SUM should be
//!   aliased to the name the client expects.

pub mod binary;
mod expr;
mod fold;
mod value;

#[cfg(test)]
mod tests;

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};

pub use binary::encode_binary_row;
pub use value::{
    BINARY_FLAG, ColKind, Collation, Dec, ENUM_FLAG, SET_FLAG, fmt_double, helper_sql,
    text_helper_sql,
};
use value::{DIV_INCREMENT, FLOAT_NOT_FIXED, Key, MAX_DEC_SCALE, helper_key, parse_f64};

use super::wire::{Reader, SqlError, put_lenenc_str};

/// One row as text-protocol values (None = SQL NULL), in the node's column order.
pub type Row = Vec<Option<Vec<u8>>>;

#[derive(Debug, Clone, PartialEq)]
pub struct ColumnMeta {
    pub name: String,
    /// MySQL field type code, e.g. 0x03 LONG, 0xf6 NEWDECIMAL, 0xfd VAR_STRING.
    pub ty: u8,
    pub flags: u16,
    pub decimals: u8,
    /// Collation id; 63 = binary.
    pub charset: u16,
}

/// Parses a protocol-41 column definition packet payload (catalog, schema, table,
/// org_table, name, org_name lenenc strings, 0x0c, charset u16, length u32, type u8,
/// flags u16, decimals u8, 2 filler). MariaDB's extended metadata (one more lenenc
/// string before the 0x0c) is skipped.
pub fn parse_column_def(p: &[u8]) -> Option<ColumnMeta> {
    let mut r = Reader::new(p);
    let mut name = None;
    for i in 0..6 {
        let s = r.lenenc_str()?;
        if i == 4 {
            name = Some(String::from_utf8_lossy(s.unwrap_or_default()).into_owned());
        }
    }
    let at = r.pos;
    if r.lenenc_int()? < 10 || r.remaining() < 10 {
        // MARIADB_CLIENT_EXTENDED_METADATA: a lenenc string precedes the fixed fields.
        r.pos = at;
        r.lenenc_str()?;
        if r.lenenc_int()? < 10 || r.remaining() < 10 {
            return None;
        }
    }
    let charset = r.u16()?;
    r.u32()?;
    let ty = r.u8()?;
    let flags = r.u16()?;
    let decimals = r.u8()?;
    Some(ColumnMeta {
        name: name.unwrap_or_default(),
        ty,
        flags,
        decimals,
        charset,
    })
}

/// A column definition payload with `m`'s charset, type, flags and decimals written over
/// the original's (names and length kept); None when `p` does not parse. For the IO
/// layer to announce [`Merger::output_columns`] (AVG's scale differs from the SUM a node
/// returns).
pub fn patch_column_def(p: &[u8], m: &ColumnMeta) -> Option<Vec<u8>> {
    parse_column_def(p)?;
    let mut r = Reader::new(p);
    for _ in 0..6 {
        r.lenenc_str()?;
    }
    let at = r.pos;
    if r.lenenc_int()? < 10 || r.remaining() < 10 {
        r.pos = at;
        r.lenenc_str()?;
        r.lenenc_int()?;
    }
    let f = r.pos;
    let mut out = p.to_vec();
    out.get_mut(f..f + 2)?
        .copy_from_slice(&m.charset.to_le_bytes());
    *out.get_mut(f + 6)? = m.ty;
    out.get_mut(f + 7..f + 9)?
        .copy_from_slice(&m.flags.to_le_bytes());
    *out.get_mut(f + 9)? = m.decimals;
    Some(out)
}

/// Decodes a text-protocol row packet with `n` columns (lenenc strings, 0xfb = NULL).
/// None when the payload does not hold exactly `n` values.
pub fn parse_text_row(p: &[u8], n: usize) -> Option<Row> {
    let mut r = Reader::new(p);
    let mut row = Vec::with_capacity(n);
    for _ in 0..n {
        row.push(r.lenenc_str()?.map(<[u8]>::to_vec));
    }
    (r.remaining() == 0).then_some(row)
}

/// Encodes a row as a text-protocol row packet payload.
pub fn encode_text_row(r: &Row) -> Vec<u8> {
    let mut p = Vec::with_capacity(
        r.iter()
            .map(|v| v.as_ref().map_or(1, |v| v.len() + 9))
            .sum(),
    );
    for v in r {
        match v {
            None => p.push(0xfb),
            Some(v) => put_lenenc_str(&mut p, v),
        }
    }
    p
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SortKey {
    pub col: usize,
    pub desc: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AggFn {
    Count,
    Sum,
    Min,
    Max,
    /// `col` holds the node's SUM(x); `count_col` the node's COUNT(x) (a hidden column).
    Avg {
        count_col: usize,
    },
    /// COUNT(DISTINCT): the nodes grouped by the arguments too, which they return in
    /// `n` columns from `first`; the merge counts distinct non-NULL tuples of them
    /// (compared as GROUP BY compares, collation helpers included).
    CountDistinct {
        first: usize,
        n: usize,
    },
    /// SUM(DISTINCT x) (or AVG(DISTINCT x) with `avg`): the nodes grouped by x too,
    /// returned in column `key`, whose distinct values are added up. Exact
    /// values only (a DOUBLE sum depends on the order: [`Merger::refusal`]).
    SumDistinct {
        key: usize,
        avg: bool,
    },
    /// GROUP_CONCAT: [`MergeSpec::concats`]`[i]` says what the nodes returned.
    GroupConcat(usize),
}

/// A row of `SHOW WARNINGS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub level: String,
    pub code: u16,
    pub message: String,
}

/// The warnings a merge adds itself ([`Merger::own_warnings`]).
#[derive(Debug, Clone, Default)]
pub struct OwnWarnings {
    pub rows: Vec<Warning>,
}

/// What the nodes return for one GROUP_CONCAT, and how the merge builds its value.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Concat {
    /// The separator (`,` unless `SEPARATOR` says otherwise).
    pub sep: Vec<u8>,
    /// The column with the node's `@@group_concat_max_len`: the value is cut to that
    /// many bytes (at a character boundary) and each cut row counts one warning 1260.
    pub max_len: usize,
    pub how: ConcatHow,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ConcatHow {
    /// No DISTINCT, no ORDER BY inside: the aggregate column holds each node's own
    /// GROUP_CONCAT of its rows (elements in any order is what one server promises),
    /// joined with the separator in node order. `len` holds the node's
    /// `SUM(LENGTH(CONCAT(args, separator)))`: a node whose full value is longer than
    /// the limit cut its own, and that cut value is then the answer.
    Parts { len: usize },
    /// DISTINCT or ORDER BY inside: the nodes grouped by the arguments and the order
    /// keys too, so each row is one element: its arguments in `args` (concatenated;
    /// a NULL one skips the row), its order keys (compared by collation helpers, see
    /// [`MergeSpec::helpers`]), and, without DISTINCT, how many rows it stands for in
    /// `count` (the nodes then also grouped by the arguments' bytes). DISTINCT keeps
    /// the first element of each distinct argument tuple (compared by collation).
    Elems {
        args: Vec<usize>,
        order: Vec<SortKey>,
        count: Option<usize>,
        distinct: bool,
    },
}

impl Default for ConcatHow {
    fn default() -> Self {
        ConcatHow::Parts { len: 0 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Agg {
    pub col: usize,
    pub func: AggFn,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Col(usize),
    Null,
    Int(i64),
    /// Decimal literal text (with an exponent it is a DOUBLE literal, as in MySQL).
    Dec(String),
    Str(String),
    Bin(Box<Expr>, BinOp, Box<Expr>),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    /// `IS NULL`, or `IS NOT NULL` when the flag (negated) is set.
    IsNull(Box<Expr>, bool),
    /// A function of merged values (see [`Func`]).
    Func(Func, Vec<Expr>),
}

/// The functions the merge evaluates over merged aggregates, with MySQL's semantics.
/// `If` also stands for CASE (nested), `Round`/`Truncate` take a constant second
/// argument.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Func {
    IfNull,
    Coalesce,
    NullIf,
    If,
    Round,
    Truncate,
    Floor,
    Ceil,
    Abs,
    Greatest,
    Least,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BinOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
    Add,
    Sub,
    Mul,
    Div,
    /// `DIV`: integer division.
    IntDiv,
    /// `%` / `MOD`.
    Mod,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct MergeSpec {
    /// Columns the client sees: the first `visible` of each node row (the planner appends
    /// hidden columns after them, e.g. AVG's count or ORDER BY keys not selected).
    /// 0 is taken as "all columns".
    pub visible: usize,
    /// GROUP BY columns. Empty with non-empty `aggregates` = one group over all rows
    /// (SELECT COUNT(*) FROM t): exactly one row when at least one source produced a row.
    pub group_by: Vec<usize>,
    /// Every aggregate column; other non-group columns take the first value seen in the
    /// group.
    pub aggregates: Vec<Agg>,
    pub distinct: bool,
    /// With `distinct`: `(column, n)`, rows whose integer in that column is above `n`
    /// are not deduplicated (a UNION's SELECTs after its last UNION DISTINCT; the
    /// column holds the SELECT's number).
    pub distinct_through: Option<(usize, u64)>,
    /// The aggregates come from several SELECTs of a UNION sharing a column: a SUM
    /// (or COUNT) column that arrives as DOUBLE/FLOAT may hold exact sums (of DECIMAL
    /// or integers) turned into doubles, which one server adds up exactly first.
    pub union_sums: bool,
    /// Grouping: a group's non-aggregate values are those of its row with the least
    /// integer in this column (the first SELECT of an INTERSECT / EXCEPT that has it),
    /// not of the first row seen.
    pub first_by: Option<usize>,
    /// Evaluated on merged (grouped) rows, before DISTINCT/ORDER/LIMIT; a row is kept only
    /// when it is TRUE (not NULL, not 0). Without grouping it filters the merged stream.
    pub having: Option<Expr>,
    pub order_by: Vec<SortKey>,
    pub offset: u64,
    pub limit: Option<u64>,
    /// `(value column, helper column)`: a hidden [`helper_sql`] column the nodes computed
    /// for a sort/group key that is a plain column. When the value column arrives as an
    /// ENUM or SET, keys compare by its position/bits; when it is text, by the node's
    /// `WEIGHT_STRING` in the column's own collation (which column definitions do not
    /// reveal). Other columns ignore their helper.
    pub helpers: Vec<(usize, usize)>,
    /// `(value column, helper column)`: a hidden [`text_helper_sql`] column for a
    /// sort/group key that is an expression (`LOWER(name)`, `CONCAT(a, b)`): when the
    /// value arrives as text, keys compare by the node's `WEIGHT_STRING` in the
    /// expression's collation. Never an ENUM/SET position (an expression's result is
    /// not the column's member list), so such keys stay refused.
    pub text_helpers: Vec<(usize, usize)>,
    /// Helper columns of `text_helpers` whose text before the first `:` names the
    /// collation their weights are in (the SELECTs of a UNION each compute them in their
    /// own): when their value column is text, every row must name the same collation,
    /// else the merge stops with [`Merger::failure`] instead of comparing weights of
    /// different collations.
    pub same_collation: Vec<usize>,
    /// `(column, expression)`: after grouping, the column's value is `expression`
    /// evaluated over the merged aggregates (hidden columns), written as the column's
    /// definition says (DECIMAL scale, DOUBLE text, integer range). The nodes computed
    /// the same expression over their own rows: their value is replaced, their column
    /// definition kept (it is what one server sends).
    pub computed: Vec<(usize, Expr)>,
    /// No GROUP BY, but the nodes were given one (COUNT(DISTINCT)): one row of empty
    /// aggregates when no node returns a row, as one server answers.
    pub one_row: bool,
    /// The GROUP_CONCATs ([`AggFn::GroupConcat`] indexes them).
    pub concats: Vec<Concat>,
    /// The data nodes are MariaDB, whose GROUP_CONCAT(... ORDER BY k) sorts an element
    /// with a NULL `k` as if `k` were its type's zero value (0, '', 0000-00-00) rather
    /// than first, as ORDER BY does: the merge then does the same (the session sets it
    /// from the nodes' versions).
    pub concat_null_keys_as_zero: bool,
    /// The rows go out in the binary protocol, which carries a DOUBLE/FLOAT's full value
    /// whatever the column's `decimals` (the text protocol prints it rounded to them):
    /// merged and computed doubles are then kept whole (the session sets it).
    pub binary_rows: bool,
}

/// Where a column's comparison key comes from, when not from its own value.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Via {
    /// An ENUM/SET: the helper's numeric part.
    Index(usize),
    /// Text: the helper's collation weights.
    Weights(usize),
}

/// How to turn a row's cells into comparison keys.
struct Keyer {
    kinds: Vec<ColKind>,
    via: Vec<Option<Via>>,
}

impl Keyer {
    fn key(&self, row: &Row, col: usize) -> Key {
        let helped = match self.via.get(col).copied().flatten() {
            Some(Via::Index(h)) => helper_key(cell(row, h), true),
            Some(Via::Weights(h)) => helper_key(cell(row, h), false),
            None => None,
        };
        match helped {
            // A NULL helper for a non-NULL value (not text after all): the value decides.
            Some(Key::Null) if cell(row, col).is_some() => {
                Key::of(cell(row, col), kind(&self.kinds, col))
            }
            Some(k) => k,
            None => Key::of(cell(row, col), kind(&self.kinds, col)),
        }
    }

    /// The key of `col`'s type's zero value: 0, '', the zero date, an ENUM's index 0
    /// (see [`MergeSpec::concat_null_keys_as_zero`]).
    fn zero_key(&self, col: usize) -> Key {
        match self.via.get(col).copied().flatten() {
            Some(Via::Index(_)) => Key::Float(value::float_bits(0.0)),
            // The weights of '' (nothing to pad).
            Some(Via::Weights(_)) => Key::Weights(Vec::new(), Vec::new()),
            None => {
                let k = kind(&self.kinds, col);
                let zero: &[u8] = match k {
                    ColKind::Exact | ColKind::Float => b"0",
                    ColKind::Time => b"00:00:00",
                    ColKind::Temporal => b"0000-00-00",
                    ColKind::Str(_) => b"",
                };
                Key::of(Some(zero), k)
            }
        }
    }

    /// The helper column that decides how `col` compares, if any.
    fn helper_col(&self, col: usize) -> Option<usize> {
        match self.via.get(col).copied().flatten() {
            Some(Via::Index(h) | Via::Weights(h)) => Some(h),
            None => None,
        }
    }

    fn sort_keys(&self, row: &Row, order: &[SortKey]) -> Vec<Dir> {
        order
            .iter()
            .map(|k| Dir(self.key(row, k.col), k.desc))
            .collect()
    }
}

/// A sort key value with its direction (descending reverses, so NULL comes last).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Dir(Key, bool);

impl Ord for Dir {
    fn cmp(&self, o: &Dir) -> Ordering {
        let c = self.0.cmp(&o.0);
        if self.1 { c.reverse() } else { c }
    }
}

impl PartialOrd for Dir {
    fn partial_cmp(&self, o: &Dir) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

fn cell(row: &Row, col: usize) -> Option<&[u8]> {
    row.get(col).and_then(|v| v.as_deref())
}

fn kind(kinds: &[ColKind], col: usize) -> ColKind {
    kinds
        .get(col)
        .copied()
        .unwrap_or(ColKind::Str(Collation::Binary))
}

/// The current first row of one source in the sorted merge.
struct Head {
    keys: Vec<Dir>,
    src: usize,
    row: Row,
}

impl Ord for Head {
    /// Reversed, so the max-heap pops the smallest (ties: lowest source first).
    fn cmp(&self, o: &Head) -> Ordering {
        o.keys.cmp(&self.keys).then_with(|| o.src.cmp(&self.src))
    }
}

impl PartialOrd for Head {
    fn partial_cmp(&self, o: &Head) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

impl PartialEq for Head {
    fn eq(&self, o: &Head) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}

impl Eq for Head {}

/// One aggregate's running state within a group.
enum AggState {
    Count(Dec),
    SumExact(Option<Dec>),
    SumFloat(Option<f64>),
    /// MIN/MAX: the best key, its value and its helper cell (text compared by the
    /// node's collation weights, see [`MergeSpec::text_helpers`]).
    Best {
        max: bool,
        best: Option<(Key, Vec<u8>, Option<Vec<u8>>)>,
    },
    AvgExact {
        sum: Option<Dec>,
        count: Dec,
    },
    AvgFloat {
        sum: Option<f64>,
        count: Dec,
    },
    Distinct(HashSet<Vec<Key>>),
    SumDistinct {
        seen: HashSet<Key>,
        sum: Option<Dec>,
        avg: bool,
    },
    Concat(Box<ConcatState>),
}

/// A GROUP_CONCAT's running state within a group (see [`Concat`]).
struct ConcatState {
    spec: Concat,
    /// [`MergeSpec::concat_null_keys_as_zero`].
    null_keys_as_zero: bool,
    /// The limit, from the first row.
    max_len: Option<u64>,
    /// `Parts`: the nodes' values; the first one its node had to cut.
    parts: Vec<Vec<u8>>,
    cut: Option<Vec<u8>>,
    /// `Elems`: (order keys, text, rows it stands for).
    elems: Vec<(Vec<Dir>, Vec<u8>, u64)>,
    seen: HashSet<Vec<Key>>,
}

impl ConcatState {
    fn add(&mut self, col: usize, row: &Row, keyer: &Keyer) {
        if self.max_len.is_none() {
            self.max_len = cell(row, self.spec.max_len)
                .and_then(|v| std::str::from_utf8(v).ok())
                .and_then(|v| v.parse().ok());
        }
        match &self.spec.how {
            ConcatHow::Parts { len } => {
                let Some(v) = cell(row, col) else { return };
                // The node's full length: its elements and one separator each.
                let full = cell(row, *len)
                    .and_then(|v| std::str::from_utf8(v).ok())
                    .and_then(|v| v.parse::<u64>().ok())
                    .map(|n| n.saturating_sub(self.spec.sep.len() as u64));
                if self.cut.is_none()
                    && let (Some(f), Some(m)) = (full, self.max_len)
                    && f > m
                {
                    self.cut = Some(v.to_vec());
                }
                self.parts.push(v.to_vec());
            }
            ConcatHow::Elems {
                args,
                order,
                count,
                distinct,
            } => {
                let mut text = Vec::new();
                for &a in args {
                    match cell(row, a) {
                        Some(v) => text.extend_from_slice(v),
                        None => return,
                    }
                }
                if *distinct {
                    let key: Vec<Key> = args.iter().map(|&a| keyer.key(row, a)).collect();
                    if !self.seen.insert(key) {
                        return;
                    }
                }
                let n = match count {
                    Some(c) => cell(row, *c)
                        .and_then(|v| std::str::from_utf8(v).ok())
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(1),
                    None => 1,
                };
                let mut keys = keyer.sort_keys(row, order);
                if self.null_keys_as_zero {
                    for (k, o) in keys.iter_mut().zip(order) {
                        if k.0 == Key::Null {
                            k.0 = keyer.zero_key(o.col);
                        }
                    }
                }
                self.elems.push((keys, text, n));
            }
        }
    }

    /// The value, and whether it was cut.
    fn finish(mut self, meta: Option<&ColumnMeta>) -> (Option<Vec<u8>>, bool) {
        let max = usize::try_from(self.max_len.unwrap_or(1_048_576)).unwrap_or(usize::MAX);
        let bytes_only = meta.is_some_and(|m| m.charset == 63);
        if let Some(c) = self.cut.take() {
            return (Some(c), true);
        }
        let sep = std::mem::take(&mut self.spec.sep);
        let mut out: Vec<u8> = Vec::new();
        let mut any = false;
        let mut push = |t: &[u8], out: &mut Vec<u8>| -> bool {
            if any {
                out.extend_from_slice(&sep);
            }
            any = true;
            out.extend_from_slice(t);
            out.len() > max
        };
        match self.spec.how {
            ConcatHow::Parts { .. } => {
                for p in &self.parts {
                    if push(p, &mut out) {
                        break;
                    }
                }
            }
            ConcatHow::Elems { .. } => {
                // Stable: elements of equal keys keep the nodes' order.
                self.elems.sort_by(|a, b| a.0.cmp(&b.0));
                'all: for (_, t, n) in &self.elems {
                    for _ in 0..*n {
                        if push(t, &mut out) {
                            break 'all;
                        }
                        if t.is_empty() && sep.is_empty() {
                            break;
                        }
                    }
                }
            }
        }
        if !any {
            return (None, false);
        }
        if out.len() <= max {
            return (Some(out), false);
        }
        out.truncate(well_formed_prefix(&out, max, bytes_only));
        (Some(out), true)
    }
}

/// The length of the longest prefix of `s` of at most `max` bytes that ends on a
/// character boundary (MariaDB's `Well_formed_prefix`): UTF-8 text is cut before a
/// character the limit splits; binary strings (and text that is not UTF-8) anywhere.
fn well_formed_prefix(s: &[u8], max: usize, bytes_only: bool) -> usize {
    let max = max.min(s.len());
    match std::str::from_utf8(s) {
        Ok(t) if !bytes_only => {
            let mut n = max;
            while n > 0 && !t.is_char_boundary(n) {
                n -= 1;
            }
            n
        }
        _ => max,
    }
}

impl AggState {
    fn new(a: &Agg, kinds: &[ColKind], spec: &MergeSpec) -> AggState {
        let exact = kind(kinds, a.col) == ColKind::Exact;
        if let AggFn::GroupConcat(i) = a.func {
            return AggState::Concat(Box::new(ConcatState {
                spec: spec.concats.get(i).cloned().unwrap_or_default(),
                null_keys_as_zero: spec.concat_null_keys_as_zero,
                max_len: None,
                parts: Vec::new(),
                cut: None,
                elems: Vec::new(),
                seen: HashSet::new(),
            }));
        }
        match (a.func, exact) {
            (AggFn::Count, _) => AggState::Count(Dec::zero()),
            (AggFn::Sum, true) => AggState::SumExact(None),
            (AggFn::Sum, false) => AggState::SumFloat(None),
            (AggFn::Min | AggFn::Max, _) => AggState::Best {
                max: a.func == AggFn::Max,
                best: None,
            },
            (AggFn::Avg { .. }, true) => AggState::AvgExact {
                sum: None,
                count: Dec::zero(),
            },
            (AggFn::Avg { .. }, false) => AggState::AvgFloat {
                sum: None,
                count: Dec::zero(),
            },
            (AggFn::CountDistinct { .. }, _) => AggState::Distinct(HashSet::new()),
            (AggFn::SumDistinct { avg, .. }, _) => AggState::SumDistinct {
                seen: HashSet::new(),
                sum: None,
                avg,
            },
            (AggFn::GroupConcat(_), _) => AggState::Count(Dec::zero()),
        }
    }

    fn add(&mut self, a: &Agg, row: &Row, keyer: &Keyer) {
        let v = cell(row, a.col);
        let count = match a.func {
            AggFn::Avg { count_col } => cell(row, count_col).map(Dec::parse),
            _ => None,
        };
        let add_dec = |s: &mut Option<Dec>| {
            if let Some(v) = v {
                let d = Dec::parse(v);
                *s = Some(match s.take() {
                    Some(acc) => acc.add(&d),
                    None => d,
                });
            }
        };
        let add_f64 = |s: &mut Option<f64>| {
            if let Some(v) = v {
                let f = parse_f64(v);
                *s = Some(s.map_or(f, |acc| acc + f));
            }
        };
        match self {
            AggState::Concat(c) => c.add(a.col, row, keyer),
            AggState::SumDistinct { seen, sum, .. } => {
                if let AggFn::SumDistinct { key, .. } = a.func {
                    // x itself (its own scale, which MariaDB's AVG divides with).
                    let k = keyer.key(row, key);
                    if k != Key::Null
                        && let Some(v) = cell(row, key)
                        && seen.insert(k)
                    {
                        let d = Dec::parse(v);
                        *sum = Some(match sum.take() {
                            Some(acc) => acc.add(&d),
                            None => d,
                        });
                    }
                }
            }
            AggState::Distinct(seen) => {
                if let AggFn::CountDistinct { first, n } = a.func {
                    let key: Vec<Key> = (first..first.saturating_add(n))
                        .map(|c| keyer.key(row, c))
                        .collect();
                    if !key.contains(&Key::Null) {
                        seen.insert(key);
                    }
                }
            }
            AggState::Count(c) => {
                if let Some(v) = v {
                    *c = c.add(&Dec::parse(v));
                }
            }
            AggState::SumExact(s) => add_dec(s),
            AggState::SumFloat(s) => add_f64(s),
            AggState::AvgExact { sum, count: n } => {
                add_dec(sum);
                if let Some(c) = count {
                    *n = n.add(&c);
                }
            }
            AggState::AvgFloat { sum, count: n } => {
                add_f64(sum);
                if let Some(c) = count {
                    *n = n.add(&c);
                }
            }
            AggState::Best { max, best } => {
                if let Some(v) = v {
                    let k = keyer.key(row, a.col);
                    let better = best
                        .as_ref()
                        .is_none_or(|(b, _, _)| if *max { k > *b } else { k < *b });
                    if better {
                        let helper = keyer
                            .helper_col(a.col)
                            .and_then(|h| cell(row, h).map(<[u8]>::to_vec));
                        *best = Some((k, v.to_vec(), helper));
                    }
                }
            }
        }
    }

    /// The merged value as MariaDB prints it.
    fn finish(self, meta: Option<&ColumnMeta>) -> Option<Vec<u8>> {
        // The scale of a decimal SUM: the declared one, else the largest seen.
        let scale = |seen: u32| match meta {
            Some(m) if u32::from(m.decimals) <= MAX_DEC_SCALE => u32::from(m.decimals),
            _ => seen,
        };
        let decimals = meta.map_or(FLOAT_NOT_FIXED, |m| m.decimals);
        let text = match self {
            AggState::Concat(c) => return c.finish(meta).0,
            AggState::Count(c) => c.to_text(0),
            AggState::Distinct(seen) => seen.len().to_string(),
            AggState::SumDistinct { seen, sum, avg } => {
                let s = sum?;
                let sc = scale(s.scale());
                if avg {
                    let n = Dec::from_i128(i128::try_from(seen.len()).unwrap_or(0));
                    s.div(&n, sc)?.to_text(sc)
                } else {
                    s.to_text(sc)
                }
            }
            AggState::SumExact(s) => {
                let s = s?;
                s.to_text(scale(s.scale()))
            }
            AggState::SumFloat(s) => fmt_double(s?, decimals)?,
            AggState::Best { best, .. } => return best.map(|(_, v, _)| v),
            AggState::AvgExact { sum, count } => {
                let s = sum?;
                let out = scale(s.scale())
                    .saturating_add(DIV_INCREMENT)
                    .min(MAX_DEC_SCALE);
                s.div(&count, out)?.to_text(out)
            }
            AggState::AvgFloat { sum, count } => {
                if count.is_zero() {
                    return None;
                }
                let d = decimals
                    .saturating_add(DIV_INCREMENT as u8)
                    .min(FLOAT_NOT_FIXED);
                fmt_double(sum? / count.to_f64(), d)?
            }
        };
        Some(text.into_bytes())
    }

    /// The merged value as the server holds it inside an expression (AVG's quotient
    /// with MariaDB's internal digits, not its printed scale; with `avg_real` also the
    /// double it reads where a DOUBLE is wanted, see [`quotient`]); None: read its text.
    fn value(&self, meta: Option<&ColumnMeta>, avg_real: bool) -> Option<expr::Val> {
        let quotient = |s: &Dec, n: &Dec| {
            let v = quotient(s, n);
            match v {
                expr::Val::Quotient { exact, .. } if !avg_real => expr::Val::Exact(exact),
                v => v,
            }
        };
        let scaled = |s: &Dec| match meta {
            Some(m) if u32::from(m.decimals) <= MAX_DEC_SCALE => s.round(u32::from(m.decimals)),
            _ => s.clone(),
        };
        Some(match self {
            AggState::Count(c) => expr::Val::Exact(c.clone()),
            AggState::Distinct(seen) => {
                expr::Val::Exact(Dec::from_i128(i128::try_from(seen.len()).unwrap_or(0)))
            }
            AggState::SumDistinct { seen, sum, avg } => match sum {
                None => expr::Val::Null,
                Some(s) if *avg => {
                    let n = Dec::from_i128(i128::try_from(seen.len()).unwrap_or(0));
                    quotient(s, &n)
                }
                Some(s) => expr::Val::Exact(scaled(s)),
            },
            AggState::SumExact(s) => s
                .as_ref()
                .map_or(expr::Val::Null, |s| expr::Val::Exact(scaled(s))),
            AggState::SumFloat(s) => s.map_or(expr::Val::Null, expr::Val::Float),
            AggState::Best { .. } | AggState::Concat(_) => return None,
            AggState::AvgExact { sum, count } => match sum {
                Some(s) => quotient(&scaled(s), count),
                None => expr::Val::Null,
            },
            AggState::AvgFloat { sum, count } => match sum {
                Some(s) if !count.is_zero() => expr::Val::Float(s / count.to_f64()),
                _ => expr::Val::Null,
            },
        })
    }

    /// MIN/MAX's helper cell for the best value (for a later ORDER BY of the column).
    fn best_helper(&self) -> Option<Vec<u8>> {
        match self {
            AggState::Best {
                best: Some((_, _, h)),
                ..
            } => h.clone(),
            _ => None,
        }
    }

    /// AVG's merged count, to show in its (hidden) count column.
    fn avg_count(&self) -> Option<&Dec> {
        match self {
            AggState::AvgExact { count, .. } | AggState::AvgFloat { count, .. } => Some(count),
            _ => None,
        }
    }
}

/// A merged AVG's value inside an expression: the DECIMAL quotient with MariaDB's
/// internal digits, and the double sum / count MariaDB uses where a DOUBLE is wanted.
/// MariaDB reads that double from the running AVG itself: without GROUP BY, and when
/// it groups sorted rows (a DISTINCT aggregate or GROUP_CONCAT in the statement, or an
/// index in group order); groups kept in a temporary table hold AVG as a DECIMAL, and
/// then the double is that DECIMAL's (`(AVG(x) + 0) * 1e0`'s 6.777777777 where sorted
/// groups give 6.777777777777778; checked on MariaDB 10.11.19). The merge takes the
/// first two cases; a GROUP BY that one server would read along an index is taken as
/// a temporary table's.
fn quotient(sum: &Dec, count: &Dec) -> expr::Val {
    match sum.div_mysql(count) {
        Some(exact) => expr::Val::Quotient {
            exact,
            real: sum.to_f64() / count.to_f64(),
        },
        None => expr::Val::Null,
    }
}

struct Group {
    /// The group's first row: group keys and non-aggregate columns as first seen.
    row: Row,
    aggs: Vec<AggState>,
}

enum Mode {
    Concat,
    Sorted {
        heads: BinaryHeap<Head>,
        /// Rows behind each source's head.
        bufs: Vec<VecDeque<Row>>,
        has_head: Vec<bool>,
        /// Unfinished sources without a head: the merge waits for them.
        missing: usize,
    },
    Grouped {
        index: HashMap<Vec<Key>, usize>,
        groups: Vec<Group>,
        finished: bool,
    },
}

/// The streaming merger of several sources' result rows. See the module documentation.
pub struct Merger {
    spec: MergeSpec,
    cols: Vec<ColumnMeta>,
    /// How merged and computed values are written: `cols`, with DOUBLE/FLOAT columns
    /// unrounded for binary rows ([`MergeSpec::binary_rows`]).
    fmt: Vec<ColumnMeta>,
    kinds: Vec<ColKind>,
    keyer: Keyer,
    refusal: Option<String>,
    visible: usize,
    mode: Mode,
    ended: Vec<bool>,
    open: usize,
    out: VecDeque<Row>,
    seen: HashSet<Vec<Key>>,
    skipped: u64,
    emitted: u64,
    /// `(value column, helper column, collation seen first)` per checked helper.
    tags: Vec<(usize, usize, Option<Vec<u8>>)>,
    failed: Option<String>,
    /// An error found while computing the rows (an integer out of range): the IO
    /// layer sends it instead of the rows ([`Merger::error`]).
    error: Option<SqlError>,
    /// Warnings one server would count (GROUP_CONCAT values cut).
    warnings: u64,
    /// The output rows (from 1) whose GROUP_CONCAT value the merge cut.
    cut_rows: Vec<u64>,
}

/// What a HAVING operand is before any row arrives.
#[derive(Clone, Copy, PartialEq)]
enum Operand {
    /// Text: a column's (with its name's position) or a literal (None).
    Text(Option<(usize, Collation)>),
    Other,
}

/// Why HAVING cannot be evaluated by the router: it compares text with text in a
/// case-insensitive collation. Column definitions report the connection's collation,
/// not the column's (`utf8mb4_unicode_ci`'s 'ß' = 'ss', `latin1_swedish_ci`'s 'Å' after
/// 'Z', NO PAD trailing spaces), so such a comparison could keep the wrong groups.
/// Binary and `_bin` text compare by bytes (code points) whatever the collation.
fn having_text_comparison(e: &Expr, cols: &[ColumnMeta], kinds: &[ColKind]) -> Option<String> {
    fn walk(e: &Expr, kinds: &[ColKind], bad: &mut Option<usize>) -> Operand {
        match e {
            Expr::Col(i) => match kinds.get(*i) {
                Some(ColKind::Str(c)) => Operand::Text(Some((*i, *c))),
                _ => Operand::Other,
            },
            Expr::Str(_) => Operand::Text(None),
            Expr::Null | Expr::Int(_) | Expr::Dec(_) => Operand::Other,
            Expr::Not(a) | Expr::Neg(a) | Expr::IsNull(a, _) => {
                walk(a, kinds, bad);
                Operand::Other
            }
            Expr::Func(f, args) => {
                let ops: Vec<Operand> = args.iter().map(|a| walk(a, kinds, bad)).collect();
                // A function that may pass text through is text (unknown collation).
                let passes = matches!(
                    f,
                    Func::IfNull
                        | Func::Coalesce
                        | Func::NullIf
                        | Func::If
                        | Func::Greatest
                        | Func::Least
                );
                match ops.iter().find(|o| matches!(o, Operand::Text(_))) {
                    Some(t) if passes => *t,
                    _ => Operand::Other,
                }
            }
            Expr::Bin(a, op, b) => {
                let (x, y) = (walk(a, kinds, bad), walk(b, kinds, bad));
                let cmp = matches!(
                    op,
                    BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge
                );
                if cmp && let (Operand::Text(p), Operand::Text(q)) = (x, y) {
                    let exact = |o: Option<(usize, Collation)>| {
                        o.is_some_and(|(_, c)| {
                            matches!(c, Collation::Binary | Collation::Bin | Collation::BinNoPad)
                        })
                    };
                    if !exact(p) && !exact(q) && bad.is_none() {
                        *bad = Some(p.or(q).map_or(usize::MAX, |(i, _)| i));
                    }
                }
                Operand::Other
            }
        }
    }
    let mut bad = None;
    walk(e, kinds, &mut bad);
    bad.map(|i| {
        let what = cols
            .get(i)
            .map_or("two text literals".to_string(), |m| format!("column `{}`", m.name));
        format!(
            "HAVING compares text ({what}) across data nodes: the router cannot see the collation the server compares it in (utf8mb4_unicode_ci, latin1_swedish_ci, NO PAD...), so it could keep the wrong groups; filter a grouped column in WHERE instead, or route the statement to one node"
        )
    })
}

/// Why the router cannot compute column `c` (expression `e` over merged aggregates),
/// if it cannot. A number is computed with MySQL's rules. A text result is computed
/// only when every value it can take is text or NULL as it is (`IFNULL(MAX(city),
/// 'none')`, `COALESCE(GROUP_CONCAT(x), '')`, `IF(COUNT(*) > 1, MAX(a), MIN(a))`): a
/// number turned into text would need the server's display digits, a comparison of
/// text its collation (which the column definitions do not reveal); and only when
/// nothing sorts, filters or deduplicates by it afterwards, which would compare it.
fn computed_refusal(
    c: usize,
    e: &Expr,
    spec: &MergeSpec,
    cols: &[ColumnMeta],
    kinds: &[ColKind],
) -> Option<String> {
    fn text_only(e: &Expr, kinds: &[ColKind]) -> bool {
        match e {
            Expr::Col(i) => matches!(kinds.get(*i), Some(ColKind::Str(_))),
            Expr::Str(_) | Expr::Null => true,
            Expr::Func(Func::IfNull | Func::Coalesce, args) => {
                args.iter().all(|a| text_only(a, kinds))
            }
            Expr::Func(Func::If, args) => args.iter().skip(1).all(|a| text_only(a, kinds)),
            _ => false,
        }
    }
    fn uses(e: &Expr, c: usize) -> bool {
        match e {
            Expr::Col(i) => *i == c,
            Expr::Bin(a, _, b) => uses(a, c) || uses(b, c),
            Expr::Not(a) | Expr::Neg(a) | Expr::IsNull(a, _) => uses(a, c),
            Expr::Func(_, args) => args.iter().any(|a| uses(a, c)),
            Expr::Null | Expr::Int(_) | Expr::Dec(_) | Expr::Str(_) => false,
        }
    }
    let m = cols.get(c)?;
    let what = |why: &str| {
        Some(format!(
            "column {} (`{}`) is an expression over aggregates whose result is text {why}; select the aggregate itself",
            c + 1,
            m.name
        ))
    };
    match kinds.get(c) {
        Some(ColKind::Exact | ColKind::Float) => None,
        Some(ColKind::Str(_)) => {
            if !text_only(e, kinds) {
                what(
                    "and may be a number or date turned into text: the router recomputes text results only from text values (IFNULL, COALESCE, IF, CASE over text aggregates and literals)",
                )
            } else if spec.order_by.iter().any(|k| k.col == c)
                || spec.distinct
                || spec.having.as_ref().is_some_and(|h| uses(h, c))
            {
                what(
                    "and the statement sorts, filters or deduplicates by it: the router cannot see the collation the server compares it in",
                )
            } else {
                having_text_comparison(e, cols, kinds).map(|_| {
                    format!(
                        "column {} (`{}`) compares text across data nodes: the router cannot see the collation the server compares it in; select the aggregates themselves",
                        c + 1,
                        m.name
                    )
                })
            }
        }
        _ => Some(format!(
            "column {} (`{}`) is an expression over aggregates whose result is not a number or text: the router recomputes only numeric and text results across data nodes; select the aggregate itself",
            c + 1,
            m.name
        )),
    }
}

/// Why HAVING cannot be evaluated by the router: it compares a DATE / DATETIME /
/// TIMESTAMP column with a text literal that is not that type's canonical text. The
/// merge compares temporal values as text; one server reads the literal as a date
/// first (`'2020-1-5'` is 2020-01-05, `'b'` is no date and compares as zero), so only
/// `'YYYY-MM-DD'` against a DATE and `'YYYY-MM-DD hh:mm:ss'` against a DATETIME or
/// TIMESTAMP without fractions compare the same way.
fn having_date_literal(e: &Expr, cols: &[ColumnMeta], kinds: &[ColKind]) -> Option<String> {
    fn canonical(s: &str, m: &ColumnMeta) -> bool {
        let b = s.as_bytes();
        let digits = |r: std::ops::Range<usize>| r.clone().all(|i| b[i].is_ascii_digit());
        let date = b.len() >= 10
            && digits(0..4)
            && b[4] == b'-'
            && digits(5..7)
            && b[7] == b'-'
            && digits(8..10)
            && (b"01".as_slice()..=b"12".as_slice()).contains(&&b[5..7])
            && (b"01".as_slice()..=b"31".as_slice()).contains(&&b[8..10]);
        match m.ty {
            0x0a | 0x0e => date && b.len() == 10,
            0x07 | 0x0c | 0x11 | 0x12 => {
                m.decimals == 0
                    && date
                    && b.len() == 19
                    && b[10] == b' '
                    && digits(11..13)
                    && b[13] == b':'
                    && digits(14..16)
                    && b[16] == b':'
                    && digits(17..19)
            }
            _ => false,
        }
    }
    fn walk(e: &Expr, cols: &[ColumnMeta], kinds: &[ColKind]) -> Option<String> {
        match e {
            Expr::Col(_) | Expr::Str(_) | Expr::Null | Expr::Int(_) | Expr::Dec(_) => None,
            Expr::Not(a) | Expr::Neg(a) | Expr::IsNull(a, _) => walk(a, cols, kinds),
            Expr::Func(_, args) => args.iter().find_map(|a| walk(a, cols, kinds)),
            Expr::Bin(a, op, b) => {
                let cmp = matches!(
                    op,
                    BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge
                );
                if cmp {
                    for (x, y) in [(a, b), (b, a)] {
                        if let (Expr::Col(i), Expr::Str(s)) = (x.as_ref(), y.as_ref())
                            && matches!(kinds.get(*i), Some(ColKind::Temporal))
                            && let Some(m) = cols.get(*i)
                            && !canonical(s, m)
                        {
                            return Some(format!(
                                "HAVING compares the date/time column `{}` with the text '{s}' across data nodes: the server reads the text as a date first, the router compares canonical text only; write it as 'YYYY-MM-DD' (DATE) or 'YYYY-MM-DD hh:mm:ss' (DATETIME), or route the statement to one node",
                                m.name
                            ));
                        }
                    }
                }
                walk(a, cols, kinds).or_else(|| walk(b, cols, kinds))
            }
        }
    }
    walk(e, cols, kinds)
}

impl Merger {
    pub fn new(spec: MergeSpec, cols: Vec<ColumnMeta>, sources: usize) -> Merger {
        let kinds: Vec<ColKind> = cols.iter().map(ColKind::from_meta).collect();
        let (keyer, refusal) = Merger::keyer(&spec, &cols, &kinds);
        let refusal = refusal.or_else(|| {
            spec.having.as_ref().and_then(|h| {
                having_text_comparison(h, &cols, &kinds)
                    .or_else(|| having_date_literal(h, &cols, &kinds))
            })
        });
        let refusal = refusal.or_else(|| {
            spec.aggregates.iter().find_map(|a| {
                let AggFn::SumDistinct { avg, .. } = a.func else {
                    return None;
                };
                (kind(&kinds, a.col) != ColKind::Exact).then(|| {
                    format!(
                        "{}(DISTINCT ...) of an approximate (DOUBLE/FLOAT) value over several data nodes is not merged: its sum depends on the order of addition",
                        if avg { "AVG" } else { "SUM" }
                    )
                })
            })
        });
        let refusal = refusal.or_else(|| {
            spec.computed
                .iter()
                .find_map(|(c, e)| computed_refusal(*c, e, &spec, &cols, &kinds))
        });
        let refusal = refusal.or_else(|| {
            spec.aggregates
                .iter()
                .filter(|_| spec.union_sums)
                .find(|a| {
                    matches!(a.func, AggFn::Sum | AggFn::Count)
                        && kind(&kinds, a.col) == ColKind::Float
                })
                .map(|a| {
                    let name = cols.get(a.col).map_or("", |m| m.name.as_str());
                    format!(
                        "column {} (`{name}`) of this UNION adds up sums that the UNION turns into DOUBLE: one server adds exact sums (DECIMAL, integers) exactly before that, which the router cannot see across data nodes; CAST each SUM AS DECIMAL(...) in every SELECT, or run the SELECTs separately",
                        a.col + 1
                    )
                })
        });
        let visible = if spec.visible == 0 {
            cols.len()
        } else {
            spec.visible
        };
        let mode = if !spec.group_by.is_empty() || !spec.aggregates.is_empty() {
            Mode::Grouped {
                index: HashMap::new(),
                groups: Vec::new(),
                finished: false,
            }
        } else if !spec.order_by.is_empty() {
            Mode::Sorted {
                heads: BinaryHeap::with_capacity(sources),
                bufs: (0..sources).map(|_| VecDeque::new()).collect(),
                has_head: vec![false; sources],
                missing: sources,
            }
        } else {
            Mode::Concat
        };
        // Only text compared by its weights needs one collation.
        let tags = spec
            .text_helpers
            .iter()
            .filter(|(c, h)| {
                spec.same_collation.contains(h)
                    && keyer.via.get(*c).copied().flatten() == Some(Via::Weights(*h))
            })
            .map(|&(c, h)| (c, h, None))
            .collect();
        let fmt = cols
            .iter()
            .zip(&kinds)
            .map(|(m, k)| {
                let mut m = m.clone();
                if spec.binary_rows && *k == ColKind::Float {
                    m.decimals = FLOAT_NOT_FIXED;
                }
                m
            })
            .collect();
        let mut m = Merger {
            fmt,
            spec,
            cols,
            kinds,
            keyer,
            refusal,
            visible,
            mode,
            ended: vec![false; sources],
            open: sources,
            out: VecDeque::new(),
            seen: HashSet::new(),
            skipped: 0,
            emitted: 0,
            tags,
            failed: None,
            error: None,
            warnings: 0,
            cut_rows: Vec::new(),
        };
        if sources == 0 {
            m.finalize();
        }
        m
    }

    /// How sort and group keys compare (see [`MergeSpec::helpers`]), and why the merge
    /// must be refused: an ENUM or SET sort/group key without a helper (a position into
    /// `*`, an expression) sorts by member position on a server, which the router cannot
    /// know. MIN()/MAX() of an ENUM compare as text on the server too: no refusal.
    fn keyer(spec: &MergeSpec, cols: &[ColumnMeta], kinds: &[ColKind]) -> (Keyer, Option<String>) {
        let mut via = vec![None; cols.len()];
        for &(c, h) in &spec.helpers {
            let (Some(m), true) = (cols.get(c), h < cols.len()) else {
                continue;
            };
            if m.flags & (ENUM_FLAG | SET_FLAG) != 0 {
                via[c] = Some(Via::Index(h));
            } else if matches!(kinds.get(c), Some(ColKind::Str(cl)) if *cl != Collation::Binary) {
                via[c] = Some(Via::Weights(h));
            }
        }
        for &(c, h) in &spec.text_helpers {
            if via.get(c) == Some(&None)
                && h < cols.len()
                && cols
                    .get(c)
                    .is_some_and(|m| m.flags & (ENUM_FLAG | SET_FLAG) == 0)
                && matches!(kinds.get(c), Some(ColKind::Str(cl)) if *cl != Collation::Binary)
            {
                via[c] = Some(Via::Weights(h));
            }
        }
        let aggregate = |c: usize| spec.aggregates.iter().any(|a| a.col == c);
        let refusal = spec
            .order_by
            .iter()
            .map(|k| k.col)
            .chain(spec.group_by.iter().copied())
            .find(|&c| {
                cols.get(c)
                    .is_some_and(|m| m.flags & (ENUM_FLAG | SET_FLAG) != 0)
                    && via[c].is_none()
                    && !aggregate(c)
            })
            .map(|c| {
                let name = cols.get(c).map_or("", |m| m.name.as_str());
                format!(
                    "column {} (`{name}`) is an ENUM or SET: a server orders it by member position, which the router cannot see across data nodes for a position into `*` or an expression; ORDER BY / GROUP BY the column by its name",
                    c + 1
                )
            });
        // Text keys without a helper (a position into `*`, an expression the nodes
        // cannot evaluate twice) in a case-insensitive collation: the column definition
        // reports the connection's collation, not the column's (utf8mb4_unicode_ci's
        // 'ß' = 'ss', latin1_swedish_ci's 'Å' after 'Z'), so the merged order or the
        // groups could differ from one server's. Bytes (binary, `_bin`) are safe.
        let visible = if spec.visible == 0 {
            cols.len()
        } else {
            spec.visible
        };
        let distinct = (0..visible).filter(|_| spec.distinct);
        let refusal = refusal.or_else(|| {
            spec.order_by
                .iter()
                .map(|k| k.col)
                .chain(spec.group_by.iter().copied())
                .chain(distinct)
                .find(|&c| {
                    matches!(
                        kinds.get(c),
                        Some(ColKind::Str(Collation::GeneralCi | Collation::GeneralCiNoPad))
                    ) && via.get(c) == Some(&None)
                        && !aggregate(c)
                })
                .map(|c| {
                    let name = cols.get(c).map_or("", |m| m.name.as_str());
                    format!(
                        "column {} (`{name}`) is text sorted or grouped without its collation's weights (a position into `*`, or an expression the nodes cannot evaluate twice): the router cannot see which collation the server compares it in, across data nodes; ORDER BY / GROUP BY the column by its name",
                        c + 1
                    )
                })
        });
        (
            Keyer {
                kinds: kinds.to_vec(),
                via,
            },
            refusal,
        )
    }

    /// Why this merge cannot give the order one server would (see [`MergeSpec::helpers`]).
    /// The IO layer must check it right after [`Merger::new`], before any column
    /// definition goes out, and answer with this error instead of the rows.
    pub fn refusal(&self) -> Option<SqlError> {
        self.refusal
            .as_ref()
            .map(|m| SqlError::new(1105, "HY000", m.clone()))
    }

    /// An error that replaces the rows (e.g. an integer result out of range), once
    /// [`Merger::done`]; the column definitions may have gone out (as on a server).
    pub fn error(&self) -> Option<SqlError> {
        self.error.clone()
    }

    /// Overrides how column `col` compares (before the first push): for text whose
    /// collation the column definition does not reveal (e.g. a `_nopad_` one).
    pub fn set_collation(&mut self, col: usize, c: Collation) {
        if let Some(k) = self.kinds.get_mut(col) {
            *k = ColKind::Str(c);
        }
        if let Some(k) = self.keyer.kinds.get_mut(col) {
            *k = ColKind::Str(c);
        }
        if let Some(v) = self.keyer.via.get_mut(col) {
            *v = None;
        }
    }

    /// The warning count one server would report with the rows (each GROUP_CONCAT value
    /// cut at `group_concat_max_len` is one warning 1260), once [`Merger::done`].
    pub fn warnings(&self) -> u16 {
        u16::try_from(self.warnings).unwrap_or(u16::MAX)
    }

    /// The merge's own warnings, as one server lists them: a 1260 for each output row
    /// whose GROUP_CONCAT it cut (numbered by the merged rows, where a server numbers
    /// the rows it read).
    pub fn own_warnings(&self) -> OwnWarnings {
        OwnWarnings {
            rows: self
                .cut_rows
                .iter()
                .map(|r| Warning {
                    level: "Warning".into(),
                    code: 1260,
                    message: format!("Row {r} was cut by GROUP_CONCAT()"),
                })
                .collect(),
        }
    }

    /// How each column compares (from the column definitions).
    pub fn kinds(&self) -> &[ColKind] {
        &self.kinds
    }

    /// The column definitions the client should see: the first `visible` ones, with
    /// AVG columns' `decimals` raised from the node's SUM to MariaDB's AVG scale
    /// (DECIMAL: +4, at most 38; DOUBLE: +4, at most 31).
    pub fn output_columns(&self) -> Vec<ColumnMeta> {
        let mut out: Vec<ColumnMeta> = self.cols.iter().take(self.visible).cloned().collect();
        for a in &self.spec.aggregates {
            if let (AggFn::Avg { .. }, Some(m)) = (a.func, out.get_mut(a.col)) {
                m.decimals = if ColKind::from_meta(m) == ColKind::Exact {
                    (u32::from(m.decimals) + DIV_INCREMENT).min(MAX_DEC_SCALE) as u8
                } else {
                    m.decimals
                        .saturating_add(DIV_INCREMENT as u8)
                        .min(FLOAT_NOT_FIXED)
                };
            }
        }
        out
    }

    pub fn push(&mut self, src: usize, row: Row) {
        if self.ended.get(src) != Some(&false) || self.limit_reached() {
            return;
        }
        self.check_collations(&row);
        if self.failed.is_some() {
            return;
        }
        if matches!(self.mode, Mode::Concat) {
            if let Some(r) = self.offer(row) {
                self.out.push_back(r);
            }
            return;
        }
        let Merger {
            spec,
            kinds,
            keyer,
            mode,
            ..
        } = self;
        match mode {
            Mode::Concat => {}
            Mode::Sorted {
                heads,
                bufs,
                has_head,
                missing,
            } => {
                if has_head[src] {
                    bufs[src].push_back(row);
                } else {
                    heads.push(Head {
                        keys: keyer.sort_keys(&row, &spec.order_by),
                        src,
                        row,
                    });
                    has_head[src] = true;
                    *missing -= 1;
                }
            }
            Mode::Grouped { index, groups, .. } => {
                let key: Vec<Key> = spec.group_by.iter().map(|&c| keyer.key(&row, c)).collect();
                let at = match index.get(&key) {
                    Some(&i) => i,
                    None => {
                        groups.push(Group {
                            row: row.clone(),
                            aggs: spec
                                .aggregates
                                .iter()
                                .map(|a| AggState::new(a, kinds, spec))
                                .collect(),
                        });
                        index.insert(key, groups.len() - 1);
                        groups.len() - 1
                    }
                };
                let g = &mut groups[at];
                for (st, a) in g.aggs.iter_mut().zip(&spec.aggregates) {
                    st.add(a, &row, keyer);
                }
                if let Some(c) = spec.first_by {
                    let n = |r: &Row| {
                        cell(r, c)
                            .and_then(|v| std::str::from_utf8(v).ok())
                            .and_then(|v| v.parse::<u64>().ok())
                            .unwrap_or(u64::MAX)
                    };
                    if n(&row) < n(&g.row) {
                        g.row = row;
                    }
                }
            }
        }
    }

    /// Records the collation each checked helper of `row` names; a second one fails
    /// the merge (see [`MergeSpec::same_collation`]).
    fn check_collations(&mut self, row: &Row) {
        // MIN/MAX of text compare by their helper's weights: a value without one was
        // not text in its SELECT (a number under a UNION's text column), and one server
        // compares it in the UNION's type.
        for a in &self.spec.aggregates {
            if !matches!(a.func, AggFn::Min | AggFn::Max)
                || !matches!(self.kinds.get(a.col), Some(ColKind::Str(_)))
            {
                continue;
            }
            let Some(h) = self.keyer.helper_col(a.col) else {
                continue;
            };
            if cell(row, a.col).is_some() && cell(row, h).is_none() {
                let name = self.cols.get(a.col).map_or("", |m| m.name.as_str());
                self.failed = Some(format!(
                    "column {} (`{name}`) is a MIN/MAX that is text in the result but not in every SELECT: one server compares the values in the result's type, which the router cannot see across data nodes; make the SELECTs agree (CAST), or route the statement to one node",
                    a.col + 1
                ));
                return;
            }
        }
        for (c, h, first) in &mut self.tags {
            let Some(v) = cell(row, *h) else {
                // No weights for a value: not text in its SELECT (a number or a date
                // under a text column of a UNION). One server compares it as text in
                // the UNION's collation; the router cannot.
                if cell(row, *c).is_some() && matches!(self.kinds.get(*c), Some(ColKind::Str(_))) {
                    let name = self.cols.get(*c).map_or("", |m| m.name.as_str());
                    self.failed = Some(format!(
                        "column {} (`{name}`) of this UNION is text, but a number or date in some of its SELECTs: one server compares them as text in the UNION's collation, which the router cannot across data nodes; make the SELECTs agree (CAST(... AS CHAR) in each), or route the statement to one node",
                        *c + 1
                    ));
                    return;
                }
                continue;
            };
            let tag = same_weights(v.split(|b| *b == b':').next().unwrap_or_default());
            match first {
                None => *first = Some(tag.clone()),
                Some(t) if *t == tag => {}
                Some(t) => {
                    let name = self.cols.get(*c).map_or("", |m| m.name.as_str());
                    self.failed = Some(format!(
                        "column {} (`{name}`) of this UNION is text in different collations in its SELECTs ({} and {}): one server compares it in the collation the UNION derives, which the router cannot see across data nodes; make the SELECTs agree (CONVERT(... USING ...) COLLATE ...), or route the statement to one node",
                        *c + 1,
                        String::from_utf8_lossy(t),
                        String::from_utf8_lossy(&tag)
                    ));
                    return;
                }
            }
        }
    }

    /// Why the merge stopped part way (see [`MergeSpec::same_collation`]): the IO layer
    /// sends it after the rows already out.
    pub fn failure(&self) -> Option<SqlError> {
        self.failed
            .as_ref()
            .map(|m| SqlError::new(1105, "HY000", m.clone()))
    }

    /// Source `src` sent its last row.
    pub fn end(&mut self, src: usize) {
        if self.ended.get(src) != Some(&false) {
            return;
        }
        self.ended[src] = true;
        self.open -= 1;
        if let Mode::Sorted {
            has_head, missing, ..
        } = &mut self.mode
            && !has_head[src]
        {
            *missing -= 1;
        }
        if self.open == 0 {
            self.finalize();
        }
    }

    /// The next output row (truncated to `visible` columns) when it is certain, else None.
    pub fn next_row(&mut self) -> Option<Row> {
        if self.failed.is_some() {
            return None;
        }
        loop {
            if let Some(r) = self.out.pop_front() {
                return Some(r);
            }
            if self.limit_reached() {
                self.release();
                return None;
            }
            let Merger {
                spec,
                keyer,
                mode,
                ended,
                ..
            } = self;
            let Mode::Sorted {
                heads,
                bufs,
                has_head,
                missing,
            } = mode
            else {
                return None;
            };
            if *missing > 0 {
                return None;
            }
            let head = heads.pop()?;
            let src = head.src;
            match bufs[src].pop_front() {
                Some(row) => heads.push(Head {
                    keys: keyer.sort_keys(&row, &spec.order_by),
                    src,
                    row,
                }),
                None => {
                    has_head[src] = false;
                    if !ended[src] {
                        *missing += 1;
                    }
                }
            }
            if let Some(r) = self.offer(head.row) {
                return Some(r);
            }
        }
    }

    /// The source that must deliver (or end) before more output is possible; None when
    /// output is possible now or everything ended. Concatenation and grouping ask for the
    /// lowest unfinished source; the sorted merge for the lowest unfinished source with
    /// no buffered row.
    pub fn want(&self) -> Option<usize> {
        if self.failed.is_some() || !self.out.is_empty() || self.done() {
            return None;
        }
        let unfinished = |s: &usize| !self.ended[*s];
        match &self.mode {
            Mode::Sorted {
                has_head, missing, ..
            } => {
                if *missing == 0 {
                    return None;
                }
                (0..self.ended.len()).find(|s| unfinished(s) && !has_head[*s])
            }
            _ => (0..self.ended.len()).find(unfinished),
        }
    }

    /// True once every output row has been returned (all sources ended, or the LIMIT is
    /// reached — the caller then stops reading and discards the rest).
    pub fn done(&self) -> bool {
        if self.failed.is_some() {
            return true;
        }
        if !self.out.is_empty() {
            return false;
        }
        if self.limit_reached() {
            return true;
        }
        match &self.mode {
            Mode::Concat => self.open == 0,
            Mode::Sorted { heads, .. } => self.open == 0 && heads.is_empty(),
            Mode::Grouped { finished, .. } => *finished,
        }
    }

    fn limit_reached(&self) -> bool {
        self.spec.limit.is_some_and(|l| self.emitted >= l)
    }

    /// Drops buffered input once the LIMIT is reached.
    fn release(&mut self) {
        match &mut self.mode {
            Mode::Sorted { heads, bufs, .. } => {
                heads.clear();
                bufs.iter_mut().for_each(VecDeque::clear);
            }
            Mode::Grouped { index, groups, .. } => {
                index.clear();
                groups.clear();
            }
            Mode::Concat => {}
        }
        self.seen.clear();
    }

    /// HAVING (outside grouping, where it ran already), the visible width, DISTINCT,
    /// OFFSET and LIMIT; Some(row) when the row is output.
    fn offer(&mut self, mut row: Row) -> Option<Row> {
        if self.limit_reached() {
            return None;
        }
        if !matches!(self.mode, Mode::Grouped { .. })
            && let Some(h) = &self.spec.having
            && !expr::holds(h, &row, &self.kinds)
        {
            return None;
        }
        let kept_as_is = self.spec.distinct_through.is_some_and(|(c, n)| {
            row.get(c)
                .and_then(Option::as_deref)
                .and_then(|v| std::str::from_utf8(v).ok())
                .and_then(|v| v.parse::<u64>().ok())
                .is_some_and(|b| b > n)
        });
        if self.spec.distinct && !kept_as_is {
            let key: Vec<Key> = (0..self.visible).map(|i| self.keyer.key(&row, i)).collect();
            if !self.seen.insert(key) {
                return None;
            }
        }
        row.resize(self.visible, None);
        if self.skipped < self.spec.offset {
            self.skipped += 1;
            return None;
        }
        self.emitted += 1;
        Some(row)
    }

    /// Every source ended: grouping produces its rows.
    fn finalize(&mut self) {
        let Mode::Grouped {
            index,
            groups,
            finished,
        } = &mut self.mode
        else {
            return;
        };
        if *finished {
            return;
        }
        *finished = true;
        if self.spec.one_row && groups.is_empty() {
            groups.push(Group {
                row: vec![None; self.cols.len()],
                aggs: self
                    .spec
                    .aggregates
                    .iter()
                    .map(|a| AggState::new(a, &self.kinds, &self.spec))
                    .collect(),
            });
            index.insert(Vec::new(), 0);
        }
        let mut order: Vec<(Vec<Key>, usize)> = std::mem::take(index).into_iter().collect();
        order.sort();
        let mut groups: Vec<Option<Group>> = std::mem::take(groups).into_iter().map(Some).collect();
        let mut rows = Vec::with_capacity(order.len());
        for (_, i) in order {
            let Some(g) = groups.get_mut(i).and_then(Option::take) else {
                continue;
            };
            let mut row = g.row;
            // The aggregates' full values, for expressions and HAVING over them (one
            // server compares AVG's internal quotient, not its printed digits).
            let mut vals: Vec<Option<expr::Val>> = Vec::new();
            if !self.spec.computed.is_empty() || self.spec.having.is_some() {
                let avg_real = self.spec.group_by.is_empty()
                    || self.spec.aggregates.iter().any(|a| {
                        matches!(
                            a.func,
                            AggFn::CountDistinct { .. }
                                | AggFn::SumDistinct { .. }
                                | AggFn::GroupConcat(_)
                        )
                    });
                vals.resize(row.len().max(self.cols.len()), None);
                for (st, a) in g.aggs.iter().zip(&self.spec.aggregates) {
                    if let Some(v) = vals.get_mut(a.col) {
                        *v = st.value(self.cols.get(a.col), avg_real);
                    }
                }
            }
            for (st, a) in g.aggs.into_iter().zip(&self.spec.aggregates) {
                if let AggFn::Avg { count_col } = a.func
                    && !self.spec.aggregates.iter().any(|b| b.col == count_col)
                    && let Some(n) = st.avg_count()
                {
                    if count_col >= row.len() {
                        row.resize(count_col + 1, None);
                    }
                    row[count_col] = Some(n.to_text(0).into_bytes());
                }
                if let Some(h) = self.keyer.helper_col(a.col)
                    && h < row.len()
                {
                    row[h] = st.best_helper();
                }
                let v = match st {
                    AggState::Concat(c) => {
                        let (v, cut) = c.finish(self.fmt.get(a.col));
                        // One server's warning 1260 for each row it cut.
                        if cut {
                            self.warnings = self.warnings.saturating_add(1);
                            self.cut_rows.push(rows.len() as u64 + 1);
                        }
                        v
                    }
                    st => st.finish(self.fmt.get(a.col)),
                };
                if a.col >= row.len() {
                    row.resize(a.col + 1, None);
                }
                row[a.col] = v;
            }
            for (c, e) in &self.spec.computed {
                let v = expr::eval_in(e, &row, &self.kinds, &vals);
                let Some(m) = self.fmt.get(*c) else { continue };
                match computed_text(&v, m) {
                    Ok(t) => {
                        if *c >= row.len() {
                            row.resize(c + 1, None);
                        }
                        row[*c] = t;
                    }
                    Err(e) => {
                        self.error = Some(e);
                        self.out.clear();
                        return;
                    }
                }
                if let Some(slot) = vals.get_mut(*c) {
                    *slot = Some(v);
                }
            }
            if let Some(h) = &self.spec.having
                && !expr::holds_in(h, &row, &self.kinds, &vals)
            {
                continue;
            }
            rows.push(row);
        }
        if !self.spec.order_by.is_empty() {
            let mut keyed: Vec<(Vec<Dir>, Row)> = rows
                .into_iter()
                .map(|r| (self.keyer.sort_keys(&r, &self.spec.order_by), r))
                .collect();
            keyed.sort_by(|a, b| a.0.cmp(&b.0));
            rows = keyed.into_iter().map(|(_, r)| r).collect();
        }
        for row in rows {
            match self.offer(row) {
                Some(r) => self.out.push_back(r),
                None if self.limit_reached() => break,
                None => {}
            }
        }
    }
}

/// A collation name for [`Merger::check_collations`], with the collations whose
/// weights are the same written alike: a `_ci` collation of utf8mb3 (`utf8` before
/// MariaDB 10.6) weighs text as its utf8mb4 twin (utf8mb3 holds no character the other
/// weighs differently), and a server compares the two in the utf8mb4 one (a text
/// literal of a utf8mb3 connection next to a utf8mb4 column). `_bin` weights differ.
fn same_weights(tag: &[u8]) -> Vec<u8> {
    let t = String::from_utf8_lossy(tag);
    let twin = t
        .strip_prefix("utf8mb3_")
        .or_else(|| t.strip_prefix("utf8_"))
        .filter(|rest| rest.ends_with("_ci"));
    match twin {
        Some(rest) => format!("utf8mb4_{rest}").into_bytes(),
        None => tag.to_vec(),
    }
}

/// MySQL field types of the integer kinds.
fn integer_type(ty: u8) -> bool {
    matches!(ty, 0x01 | 0x02 | 0x03 | 0x08 | 0x09)
}

/// The text of a recomputed value, as a server writes it for column definition `m`:
/// DECIMAL rounded half away from zero to its scale, integers in their range (else
/// MariaDB's error 1690), DOUBLE as MariaDB prints doubles.
fn computed_text(v: &expr::Val, m: &ColumnMeta) -> Result<Option<Vec<u8>>, SqlError> {
    use expr::Val;
    const UNSIGNED_FLAG: u16 = 0x20;
    let exact = |v: &Val| -> Option<Dec> {
        match v {
            Val::Null => None,
            Val::Exact(d) | Val::Quotient { exact: d, .. } => Some(d.clone()),
            Val::Float(f) => Some(Dec::parse(fmt_double(*f, FLOAT_NOT_FIXED)?.as_bytes())),
            Val::Str(s, _) => Some(Dec::parse(s)),
            Val::Temporal(t) => Some(Dec::from_temporal(t)),
        }
    };
    match ColKind::from_meta(m) {
        // Text from text values only (see `computed_refusal`).
        ColKind::Str(_) => Ok(match v {
            Val::Null => None,
            Val::Str(s, _) | Val::Temporal(s) => Some(s.clone()),
            Val::Exact(d) | Val::Quotient { exact: d, .. } => {
                Some(d.to_text(d.scale()).into_bytes())
            }
            Val::Float(f) => fmt_double(*f, FLOAT_NOT_FIXED).map(String::into_bytes),
        }),
        ColKind::Float => {
            let f = match v {
                Val::Null => return Ok(None),
                Val::Float(f) | Val::Quotient { real: f, .. } => *f,
                Val::Exact(d) => d.to_f64(),
                Val::Str(s, _) => parse_f64(s),
                Val::Temporal(t) => Dec::from_temporal(t).to_f64(),
            };
            Ok(fmt_double(f, m.decimals).map(String::into_bytes))
        }
        _ => {
            let Some(d) = exact(v) else { return Ok(None) };
            if integer_type(m.ty) {
                let d = d.round(0);
                if !d.fits_int(m.flags & UNSIGNED_FLAG != 0) {
                    return Err(SqlError::new(
                        1690,
                        "22003",
                        format!(
                            "{} value is out of range in '{}'",
                            if m.flags & UNSIGNED_FLAG != 0 {
                                "BIGINT UNSIGNED"
                            } else {
                                "BIGINT"
                            },
                            m.name
                        ),
                    ));
                }
                return Ok(Some(d.to_text(0).into_bytes()));
            }
            let scale = u32::from(m.decimals).min(MAX_DEC_SCALE);
            Ok(Some(d.to_text(scale).into_bytes()))
        }
    }
}
