//! Values as MariaDB compares and prints them: an exact decimal, collation-aware sort
//! keys, MySQL's lenient text-to-number conversions and MariaDB's double formatting.

use std::cmp::Ordering;

use super::ColumnMeta;
use super::fold;

/// MariaDB's `DECIMAL_MAX_SCALE`: the most digits after the point a decimal result has.
pub const MAX_DEC_SCALE: u32 = 38;
/// MariaDB's `FLOATING_POINT_DECIMALS`: a double's `decimals` when it has no fixed scale.
pub const FLOAT_NOT_FIXED: u8 = 31;
/// MariaDB's `div_precision_increment` default: digits a division (and AVG) adds.
pub const DIV_INCREMENT: u32 = 4;

// ---- exact decimal ----------------------------------------------------------------------

/// An exact decimal number: sign, coefficient digits and scale (value = digits × 10^-scale).
///
/// Arbitrary precision, so DECIMAL(65,30) sums and products cannot overflow. The scale is
/// kept as given (`1.50` has scale 2), which is what SUM's output formatting needs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Dec {
    neg: bool,
    /// Big-endian digits 0..=9, no leading zeros; empty for zero.
    digits: Vec<u8>,
    scale: u32,
}

impl Dec {
    fn new(neg: bool, mut digits: Vec<u8>, scale: u32) -> Dec {
        let lead = digits.iter().take_while(|d| **d == 0).count();
        digits.drain(..lead);
        Dec {
            neg: neg && !digits.is_empty(),
            digits,
            scale,
        }
    }

    pub fn zero() -> Dec {
        Dec::default()
    }

    pub fn from_i128(v: i128) -> Dec {
        let digits = v
            .unsigned_abs()
            .to_string()
            .bytes()
            .map(|b| b - b'0')
            .collect();
        Dec::new(v < 0, digits, 0)
    }

    /// MySQL's text-to-decimal conversion: leading white space, a sign, digits, a point
    /// and digits; it stops at the first other byte, and text without digits is 0.
    pub fn parse(s: &[u8]) -> Dec {
        let mut i = s.iter().take_while(|c| c.is_ascii_whitespace()).count();
        let mut neg = false;
        if let Some(&c) = s.get(i)
            && (c == b'-' || c == b'+')
        {
            neg = c == b'-';
            i += 1;
        }
        let mut digits = Vec::with_capacity(s.len().saturating_sub(i));
        while let Some(&c) = s.get(i).filter(|c| c.is_ascii_digit()) {
            digits.push(c - b'0');
            i += 1;
        }
        let mut scale = 0u32;
        if s.get(i) == Some(&b'.') {
            i += 1;
            while let Some(&c) = s.get(i).filter(|c| c.is_ascii_digit()) {
                digits.push(c - b'0');
                scale = scale.saturating_add(1);
                i += 1;
            }
        }
        Dec::new(neg, digits, scale)
    }

    /// The numeric value of a date/time text as MySQL uses it in arithmetic
    /// (`2020-01-02 03:04:05.5` → 20200102030405.5, `-01:00:00` → -10000).
    pub fn from_temporal(s: &[u8]) -> Dec {
        let neg = s.iter().find(|c| !c.is_ascii_whitespace()) == Some(&b'-');
        let mut digits = Vec::with_capacity(s.len());
        let mut scale = 0u32;
        let mut frac = false;
        for &c in s {
            if c.is_ascii_digit() {
                digits.push(c - b'0');
                if frac {
                    scale += 1;
                }
            } else if c == b'.' {
                frac = true;
            }
        }
        Dec::new(neg, digits, scale)
    }

    pub fn is_zero(&self) -> bool {
        self.digits.is_empty()
    }

    pub fn scale(&self) -> u32 {
        self.scale
    }

    /// The same number with trailing fractional zeros removed (equal numbers, equal values).
    pub fn normalized(mut self) -> Dec {
        while self.scale > 0 && self.digits.last() == Some(&0) {
            self.digits.pop();
            self.scale -= 1;
        }
        if self.digits.is_empty() {
            self.scale = 0;
        }
        self
    }

    /// Numeric comparison, whatever the scales.
    pub fn cmp_num(&self, o: &Dec) -> Ordering {
        match (self.neg, o.neg) {
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
            (false, false) => cmp_mag(self, o),
            (true, true) => cmp_mag(o, self),
        }
    }

    /// The coefficient digits at scale `s` (`s` >= self.scale).
    fn aligned(&self, s: u32) -> Vec<u8> {
        let mut d = self.digits.clone();
        if !d.is_empty() {
            d.resize(d.len() + (s - self.scale) as usize, 0);
        }
        d
    }

    pub fn add(&self, o: &Dec) -> Dec {
        let s = self.scale.max(o.scale);
        let (a, b) = (self.aligned(s), o.aligned(s));
        if self.neg == o.neg {
            return Dec::new(self.neg, add_mag(&a, &b), s);
        }
        match cmp_int(&a, &b) {
            Ordering::Less => Dec::new(o.neg, sub_mag(&b, &a), s),
            _ => Dec::new(self.neg, sub_mag(&a, &b), s),
        }
    }

    pub fn negate(&self) -> Dec {
        Dec::new(!self.neg, self.digits.clone(), self.scale)
    }

    pub fn sub(&self, o: &Dec) -> Dec {
        self.add(&o.negate())
    }

    /// The exact product (scale = sum of the scales), rounded to at most
    /// 38 digits after the point (`MAX_DEC_SCALE`) like MariaDB.
    pub fn mul(&self, o: &Dec) -> Dec {
        let scale = self.scale.saturating_add(o.scale);
        let p = Dec::new(self.neg != o.neg, mul_mag(&self.digits, &o.digits), scale);
        if scale > MAX_DEC_SCALE {
            p.round(MAX_DEC_SCALE)
        } else {
            p
        }
    }

    /// `self / o` rounded half away from zero to `scale` digits; None when `o` is 0.
    pub fn div(&self, o: &Dec, scale: u32) -> Option<Dec> {
        // The quotient with one more digit, truncated; its last digit decides.
        let mut q = self.div_digits(o, scale.saturating_add(1))?;
        let last = q.pop().unwrap_or(0);
        if last >= 5 {
            q = add_mag(&q, &[1]);
        }
        Some(Dec::new(self.neg != o.neg, q, scale))
    }

    /// The digits of |self / o| at `scale`, truncated; None when `o` is 0.
    fn div_digits(&self, o: &Dec, scale: u32) -> Option<Vec<u8>> {
        if o.is_zero() {
            return None;
        }
        // q = A·10^-sa / (B·10^-sb) · 10^scale = A·10^(sb+scale-sa) / B, truncated.
        let e = i64::from(o.scale) + i64::from(scale) - i64::from(self.scale);
        let mut n = self.digits.clone();
        let mut d = o.digits.clone();
        let pad = usize::try_from(e.unsigned_abs()).unwrap_or(usize::MAX);
        if e >= 0 {
            if !n.is_empty() {
                n.resize(n.len().saturating_add(pad), 0);
            }
        } else {
            d.resize(d.len().saturating_add(pad), 0);
        }
        Some(div_int(&n, &d))
    }

    /// Rounded half away from zero (or zero-padded) to exactly `scale` digits.
    pub fn round(&self, scale: u32) -> Dec {
        if scale >= self.scale {
            return Dec {
                neg: self.neg,
                digits: self.aligned(scale),
                scale,
            };
        }
        let drop = (self.scale - scale) as usize;
        if drop > self.digits.len() {
            return Dec {
                neg: false,
                digits: Vec::new(),
                scale,
            };
        }
        let keep = self.digits.len() - drop;
        let mut kept = self.digits[..keep].to_vec();
        if self.digits[keep] >= 5 {
            kept = add_mag(&kept, &[1]);
        }
        Dec::new(self.neg, kept, scale)
    }

    /// Truncated toward zero (or zero-padded) to exactly `scale` digits.
    pub fn truncate(&self, scale: u32) -> Dec {
        if scale >= self.scale {
            return self.round(scale);
        }
        let drop = (self.scale - scale) as usize;
        let keep = self.digits.len().saturating_sub(drop);
        Dec::new(self.neg, self.digits[..keep].to_vec(), scale)
    }

    /// MySQL's ROUND(x, d) / TRUNCATE(x, d) of an exact value: half away from zero (or
    /// toward zero), `d` < 0 rounding to tens, hundreds...; the scale is `max(d, 0)`.
    pub fn round_to(&self, d: i64, truncate: bool) -> Dec {
        if d >= 0 {
            let s = u32::try_from(d).unwrap_or(u32::MAX).min(MAX_DEC_SCALE + 30);
            return if truncate {
                self.truncate(s)
            } else {
                self.round(s)
            };
        }
        let k = u32::try_from(d.unsigned_abs()).unwrap_or(u32::MAX).min(200);
        let shifted = Dec {
            neg: self.neg,
            digits: self.digits.clone(),
            scale: self.scale.saturating_add(k),
        };
        let n = if truncate {
            shifted.truncate(0)
        } else {
            shifted.round(0)
        };
        let mut digits = n.digits;
        if !digits.is_empty() {
            digits.resize(digits.len() + k as usize, 0);
        }
        Dec::new(n.neg, digits, 0)
    }

    /// FLOOR (`up` false) or CEILING (`up` true): the integer below or above.
    pub fn floor_ceil(&self, up: bool) -> Dec {
        let t = self.truncate(0);
        if t.cmp_num(self) == Ordering::Equal {
            return t;
        }
        match (self.neg, up) {
            (true, false) => t.sub(&Dec::from_i128(1)),
            (false, true) => t.add(&Dec::from_i128(1)),
            _ => t,
        }
    }

    /// The absolute value.
    pub fn abs(&self) -> Dec {
        Dec::new(false, self.digits.clone(), self.scale)
    }

    /// MariaDB's decimal division (`do_div_mod`): the quotient keeps the operands'
    /// fractions rounded up to 9-digit words plus what is left of
    /// `div_precision_increment`, rounded up to a word again, and is truncated there
    /// (`1/7` is 0.142857142 inside, printed 0.1429); None when `o` is 0.
    pub fn div_mysql(&self, o: &Dec) -> Option<Dec> {
        let words = |f: u32| f.div_ceil(9) * 9;
        let (f1, f2) = (words(self.scale), words(o.scale));
        let pad = i64::from(f1 - self.scale) + i64::from(f2 - o.scale);
        let incr = u32::try_from((i64::from(DIV_INCREMENT) - pad).max(0)).unwrap_or(0);
        let scale = words(f1 + f2 + incr).min(81);
        self.div_trunc(o, scale)
    }

    /// `self / o` truncated toward zero to `scale` digits; None when `o` is 0.
    pub fn div_trunc(&self, o: &Dec, scale: u32) -> Option<Dec> {
        let q = self.div_digits(o, scale)?;
        Some(Dec::new(self.neg != o.neg, q, scale))
    }

    /// Whether the value is an integer that fits `i64` (or `u64` when `unsigned`).
    pub fn fits_int(&self, unsigned: bool) -> bool {
        let t = self.truncate(0);
        if t.cmp_num(self) != Ordering::Equal {
            return false;
        }
        let text = t.to_text(0);
        if unsigned {
            text.parse::<u64>().is_ok()
        } else {
            text.parse::<i64>().is_ok()
        }
    }

    /// The number printed with exactly `scale` digits after the point, as MariaDB prints
    /// a DECIMAL of that scale (`-0.50`, `3`, `0.000`).
    pub fn to_text(&self, scale: u32) -> String {
        let r = self.round(scale);
        let s = scale as usize;
        let mut out = String::with_capacity(r.digits.len() + s + 3);
        if r.neg {
            out.push('-');
        }
        let body: String = r.digits.iter().map(|d| char::from(b'0' + d)).collect();
        let body = if body.len() <= s {
            format!("{}{}", "0".repeat(s + 1 - body.len()), body)
        } else {
            body
        };
        let (int, frac) = body.split_at(body.len() - s);
        out.push_str(int);
        if s > 0 {
            out.push('.');
            out.push_str(frac);
        }
        out
    }

    pub fn to_f64(&self) -> f64 {
        self.to_text(self.scale).parse().unwrap_or(0.0)
    }
}

/// Compares |a| and |b|.
fn cmp_mag(a: &Dec, b: &Dec) -> Ordering {
    match (a.digits.is_empty(), b.digits.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Less,
        (false, true) => return Ordering::Greater,
        _ => {}
    }
    // Where the leading digit sits relative to the point decides first.
    let ea = a.digits.len() as i64 - i64::from(a.scale);
    let eb = b.digits.len() as i64 - i64::from(b.scale);
    if ea != eb {
        return ea.cmp(&eb);
    }
    let n = a.digits.len().max(b.digits.len());
    for i in 0..n {
        let x = a.digits.get(i).copied().unwrap_or(0);
        let y = b.digits.get(i).copied().unwrap_or(0);
        if x != y {
            return x.cmp(&y);
        }
    }
    Ordering::Equal
}

/// Compares two digit strings as integers (leading zeros allowed).
fn cmp_int(a: &[u8], b: &[u8]) -> Ordering {
    let a = &a[a.iter().take_while(|d| **d == 0).count()..];
    let b = &b[b.iter().take_while(|d| **d == 0).count()..];
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

fn add_mag(a: &[u8], b: &[u8]) -> Vec<u8> {
    let n = a.len().max(b.len());
    let mut out = Vec::with_capacity(n + 1);
    let mut carry = 0u8;
    for i in 0..n {
        let x = if i < a.len() { a[a.len() - 1 - i] } else { 0 };
        let y = if i < b.len() { b[b.len() - 1 - i] } else { 0 };
        let s = x + y + carry;
        out.push(s % 10);
        carry = s / 10;
    }
    if carry > 0 {
        out.push(carry);
    }
    out.reverse();
    out
}

/// a - b for a >= b (as integers).
fn sub_mag(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(a.len());
    let mut borrow = 0i8;
    for i in 0..a.len() {
        let x = a[a.len() - 1 - i] as i8;
        let y = if i < b.len() {
            b[b.len() - 1 - i] as i8
        } else {
            0
        };
        let mut d = x - y - borrow;
        borrow = 0;
        if d < 0 {
            d += 10;
            borrow = 1;
        }
        out.push(d as u8);
    }
    out.reverse();
    let lead = out.iter().take_while(|d| **d == 0).count();
    out.drain(..lead);
    out
}

fn mul_mag(a: &[u8], b: &[u8]) -> Vec<u8> {
    if a.is_empty() || b.is_empty() {
        return Vec::new();
    }
    let mut acc = vec![0u64; a.len() + b.len()];
    for (i, x) in a.iter().rev().enumerate() {
        for (j, y) in b.iter().rev().enumerate() {
            acc[i + j] += u64::from(*x) * u64::from(*y);
        }
    }
    let mut carry = 0u64;
    for v in acc.iter_mut() {
        let t = *v + carry;
        *v = t % 10;
        carry = t / 10;
    }
    let mut out: Vec<u8> = acc.iter().rev().map(|d| *d as u8).collect();
    let lead = out.iter().take_while(|d| **d == 0).count();
    out.drain(..lead);
    out
}

/// Truncated integer quotient n / d (d without leading zeros, non-empty).
fn div_int(n: &[u8], d: &[u8]) -> Vec<u8> {
    let mut q = Vec::with_capacity(n.len());
    let mut rem: Vec<u8> = Vec::with_capacity(d.len() + 1);
    for &digit in n {
        if !(rem.is_empty() && digit == 0) {
            rem.push(digit);
        }
        let mut k = 0u8;
        while cmp_int(&rem, d) != Ordering::Less {
            rem = sub_mag(&rem, d);
            k += 1;
        }
        q.push(k);
    }
    q
}

// ---- text to double ---------------------------------------------------------------------

/// MySQL's text-to-double conversion: the longest numeric prefix (`'12abc'` → 12,
/// `'1e3x'` → 1000, `'abc'` → 0).
pub fn parse_f64(s: &[u8]) -> f64 {
    let start = s.iter().take_while(|c| c.is_ascii_whitespace()).count();
    let mut i = start;
    if matches!(s.get(i), Some(b'-' | b'+')) {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let from = *i;
        while s.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - from
    };
    let mut n = digits(&mut i);
    if s.get(i) == Some(&b'.') {
        i += 1;
        n += digits(&mut i);
    }
    if n == 0 {
        return 0.0;
    }
    if matches!(s.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(s.get(j), Some(b'-' | b'+')) {
            j += 1;
        }
        if digits(&mut j) > 0 {
            i = j;
        }
    }
    let v = std::str::from_utf8(&s[start..i])
        .ok()
        .and_then(|t| t.parse::<f64>().ok())
        .unwrap_or(0.0);
    if v.is_finite() {
        v
    } else if v < 0.0 {
        f64::MIN
    } else {
        f64::MAX
    }
}

/// A double as MariaDB prints it; None for a non-finite value (MariaDB raises an error
/// where this would happen; the merger shows NULL).
///
/// With `decimals` < 31 (a DOUBLE(M,D) column, or AVG of one) it is fixed-point with
/// exactly that many digits (see [`fixed_double`]). Otherwise MariaDB's `my_gcvt` is followed: the shortest
/// digits that read back as the same double, written positionally when the decimal
/// exponent (the position of the point after the first digit, `decpt`) is in -14..=15
/// or the digits reach past the point, and in exponent form otherwise: `1e15`,
/// `1.2345678901234568e16`, `100000000000000`, `0.000000000000001`, `1e-16`,
/// `0.30000000000000004`, `-1e20`. Negative zero prints as `0`. (Checked on MariaDB
/// 10.11.)
pub fn fmt_double(v: f64, decimals: u8) -> Option<String> {
    if !v.is_finite() {
        return None;
    }
    let v = if v == 0.0 { 0.0 } else { v };
    if decimals < FLOAT_NOT_FIXED {
        return Some(fixed_double(v, usize::from(decimals)));
    }
    let e = format!("{v:e}");
    let (mant, exp) = e.split_once('e').unwrap_or((e.as_str(), "0"));
    let exp: i64 = exp.parse().unwrap_or(0);
    let len = mant.bytes().filter(u8::is_ascii_digit).count() as i64;
    let decpt = exp + 1;
    if decpt >= -14 && (decpt <= 15 || len > decpt) {
        Some(format!("{v}"))
    } else {
        Some(e)
    }
}

/// A double with `d` decimals as MariaDB prints it (`my_fcvt`): rounded (half to even,
/// from the binary value) when its shortest digits reach past `d` decimals; otherwise
/// those shortest digits padded with zeros, not the binary value's further digits
/// (`3460317458874.143` with 4 decimals is `3460317458874.1430`, `1.7308730158729424e26`
/// is `173087301587294240000000000.0000`).
fn fixed_double(v: f64, d: usize) -> String {
    let e = format!("{v:e}");
    let (mant, exp) = e.split_once('e').unwrap_or((e.as_str(), "0"));
    let exp: i64 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(char::is_ascii_digit).collect();
    let n = digits.len() as i64;
    let decpt = exp + 1;
    if n - decpt > d as i64 {
        return format!("{v:.d$}");
    }
    let (int, frac) = if decpt <= 0 {
        (
            "0".to_string(),
            format!("{}{digits}", "0".repeat((-decpt) as usize)),
        )
    } else if decpt >= n {
        (
            format!("{digits}{}", "0".repeat((decpt - n) as usize)),
            String::new(),
        )
    } else {
        let (a, b) = digits.split_at(decpt as usize);
        (a.to_string(), b.to_string())
    };
    let sign = if v < 0.0 { "-" } else { "" };
    if d == 0 {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac:0<d$}")
    }
}

// ---- collations and column kinds --------------------------------------------------------

/// How text of a string column compares (see [`Collation::from_meta`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Collation {
    /// `binary` (charset 63: BINARY, VARBINARY, BLOB): bytes as they are.
    Binary,
    /// A `_bin` collation: bytes, trailing spaces ignored (PAD SPACE: `'a' = 'a '`).
    Bin,
    /// A MariaDB `_nopad_bin` collation: bytes as they are.
    BinNoPad,
    /// Case- and accent-insensitive by the `utf8mb4_general_ci` weights, trailing spaces
    /// ignored: `'a' = 'A '`, `'é' = 'E'`.
    GeneralCi,
    /// `_general_nopad_ci`: the same weights, trailing spaces significant.
    GeneralCiNoPad,
}

/// `BINARY_FLAG` of a column definition: set on string columns whose collation sorts
/// by bytes (`_bin` or binary).
pub const BINARY_FLAG: u16 = 0x0080;
/// `ENUM_FLAG` of a column definition: an ENUM column (sorts by member position).
pub const ENUM_FLAG: u16 = 0x0100;
/// `SET_FLAG` of a column definition: a SET column (sorts by its bits as a number).
pub const SET_FLAG: u16 = 0x0800;

/// The `_bin` collation ids of MariaDB 10.11 (information_schema.COLLATIONS), plus MySQL's
/// gb18030_bin (249).
const BIN_IDS: [u16; 40] = [
    43, 46, 47, 50, 53, 55, 58, 61, 62, 64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 77, 78, 79,
    80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 93, 96, 98, 249,
];

impl Collation {
    /// The comparison for a string column.
    ///
    /// MariaDB (and MySQL) report the character_set_results collation (33, 45, ...) for
    /// text columns, not the column's own, so the id alone rarely tells `_bin` from
    /// `_ci`; `BINARY_FLAG` does (the server sets it for byte-sorting collations).
    /// Charset 63 means binary. MariaDB's NO PAD collations are ids 1024 + base;
    /// MySQL 8's `utf8mb4_0900_*` (255..=308) are treated as general_ci without padding
    /// and `utf8mb4_0900_bin` (309) as nopad bin. Every other collation is approximated
    /// by utf8mb4_general_ci.
    pub fn from_meta(m: &ColumnMeta) -> Collation {
        let id = m.charset;
        if id == 63 {
            return Collation::Binary;
        }
        let nopad = (1024..2048).contains(&id) || (255..=309).contains(&id);
        let base = if (1024..2048).contains(&id) {
            id - 1024
        } else {
            id
        };
        let bin = m.flags & BINARY_FLAG != 0 || BIN_IDS.contains(&base) || id == 309;
        match (bin, nopad) {
            (true, false) => Collation::Bin,
            (true, true) => Collation::BinNoPad,
            (false, false) => Collation::GeneralCi,
            (false, true) => Collation::GeneralCiNoPad,
        }
    }

    fn pads(self) -> bool {
        matches!(self, Collation::Bin | Collation::GeneralCi)
    }

    fn folds(self) -> bool {
        matches!(self, Collation::GeneralCi | Collation::GeneralCiNoPad)
    }
}

/// How values of a column compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColKind {
    /// Integers, YEAR and DECIMAL: exact numeric.
    Exact,
    /// FLOAT and DOUBLE: as f64.
    Float,
    /// TIME: as a signed duration (`-01:00:00` < `00:00:00` < `100:00:00`).
    Time,
    /// DATE, DATETIME, TIMESTAMP: as text (the formats sort lexically).
    Temporal,
    /// Everything else: text under a collation.
    Str(Collation),
}

impl ColKind {
    pub fn from_meta(m: &ColumnMeta) -> ColKind {
        match m.ty {
            0x00 | 0x01 | 0x02 | 0x03 | 0x08 | 0x09 | 0x0d | 0xf6 => ColKind::Exact,
            0x04 | 0x05 => ColKind::Float,
            0x0b | 0x13 => ColKind::Time,
            0x07 | 0x0a | 0x0c | 0x0e | 0x11 | 0x12 => ColKind::Temporal,
            // NULL, BIT: bytes.
            0x06 | 0x10 => ColKind::Str(Collation::Binary),
            _ => ColKind::Str(Collation::from_meta(m)),
        }
    }
}

// ---- keys -------------------------------------------------------------------------------

/// A value reduced to what comparisons see: equal keys are equal values (GROUP BY,
/// DISTINCT), and `Ord` is MySQL's ascending order with NULL first.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Key {
    Null,
    /// Normalized (no trailing fractional zeros), so derived equality is numeric.
    Num(Dec),
    /// f64 bits mapped to an order-preserving u64 (-0 folded into 0).
    Float(u64),
    /// Compared byte by byte.
    Bytes(Vec<u8>),
    /// Trailing spaces removed; compared as if the shorter were padded with spaces.
    Padded(Vec<u8>),
    /// A data node's `WEIGHT_STRING` of the value (its collation's sort key), with the
    /// weight of a space for PAD SPACE collations (empty for NO PAD): trailing space
    /// weights removed, compared as if the shorter were padded with space weights.
    Weights(Vec<u8>, Vec<u8>),
}

impl Key {
    fn rank(&self) -> u8 {
        match self {
            Key::Null => 0,
            Key::Num(_) => 1,
            Key::Float(_) => 2,
            Key::Bytes(_) => 3,
            Key::Padded(_) => 4,
            Key::Weights(..) => 5,
        }
    }

    pub fn of(v: Option<&[u8]>, kind: ColKind) -> Key {
        let Some(v) = v else { return Key::Null };
        match kind {
            ColKind::Exact => Key::Num(Dec::parse(v).normalized()),
            ColKind::Float => Key::Float(float_bits(parse_f64(v))),
            ColKind::Time => Key::Num(Dec::from_temporal(v).normalized()),
            ColKind::Temporal => Key::Bytes(v.to_vec()),
            ColKind::Str(c) => str_key(v, c),
        }
    }
}

pub(super) fn float_bits(f: f64) -> u64 {
    let f = if f == 0.0 { 0.0 } else { f };
    let b = f.to_bits();
    if b >> 63 == 1 { !b } else { b | 1 << 63 }
}

/// The comparison key of text under collation `c`.
pub fn str_key(v: &[u8], c: Collation) -> Key {
    let mut k = if c.folds() {
        let mut k = Vec::with_capacity(v.len());
        for chunk in v.utf8_chunks() {
            for ch in chunk.valid().chars() {
                let mut buf = [0u8; 4];
                k.extend_from_slice(fold::weight(ch).encode_utf8(&mut buf).as_bytes());
            }
            k.extend_from_slice(chunk.invalid());
        }
        k
    } else {
        v.to_vec()
    };
    if c.pads() {
        let keep = k.len() - k.iter().rev().take_while(|b| **b == b' ').count();
        k.truncate(keep);
        Key::Padded(k)
    } else {
        Key::Bytes(k)
    }
}

/// PAD SPACE comparison of two space-trimmed byte strings.
fn pad_cmp(a: &[u8], b: &[u8]) -> Ordering {
    pad_cmp_unit(a, b, b" ")
}

/// Compares `a` and `b` as if the shorter were padded with copies of `unit` (plain
/// byte order when `unit` is empty).
fn pad_cmp_unit(a: &[u8], b: &[u8], unit: &[u8]) -> Ordering {
    let n = a.len().min(b.len());
    match a[..n].cmp(&b[..n]) {
        Ordering::Equal => {}
        o => return o,
    }
    if unit.is_empty() {
        return a.len().cmp(&b.len());
    }
    let pad = |i: usize| unit[i % unit.len()];
    for (i, &x) in a[n..].iter().enumerate() {
        if x != pad(i) {
            return x.cmp(&pad(i));
        }
    }
    for (i, &y) in b[n..].iter().enumerate() {
        if y != pad(i) {
            return pad(i).cmp(&y);
        }
    }
    Ordering::Equal
}

/// The sort key a data node computed for a value (the planner's hidden
/// [`helper_sql`] column): `index:pad:weights`, where `index` is the value in numeric
/// context (an ENUM's position in its definition, a SET's bits), `pad` the hex weight of
/// a space in the value's collation when it pads (empty for NO PAD) and `weights` its
/// `WEIGHT_STRING`. `enum_or_set` picks the index, else the weights. None when the
/// helper is missing or malformed (the caller then compares the value itself).
pub fn helper_key(h: Option<&[u8]>, enum_or_set: bool) -> Option<Key> {
    let Some(h) = h else { return Some(Key::Null) };
    let c1 = h.iter().position(|b| *b == b':')?;
    let (index, rest) = (&h[..c1], &h[c1 + 1..]);
    if enum_or_set {
        // A SET with its 64th member prints as a negative (signed) number; it sorts
        // as unsigned.
        let mut v = parse_f64(index);
        if v < 0.0 {
            v += 18_446_744_073_709_551_616.0;
        }
        return Some(Key::Float(float_bits(v)));
    }
    let c2 = rest.iter().position(|b| *b == b':')?;
    let unit = unhex(&rest[..c2])?;
    let mut w = rest[c2 + 1..].to_vec();
    if !unit.is_empty() {
        while w.len() >= unit.len() && w.len().is_multiple_of(unit.len()) && w.ends_with(&unit) {
            w.truncate(w.len() - unit.len());
        }
    }
    Some(Key::Weights(w, unit))
}

fn unhex(h: &[u8]) -> Option<Vec<u8>> {
    if !h.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| char::from(c).to_digit(16);
    h.chunks(2)
        .map(|p| Some((digit(p[0])? * 16 + digit(p[1])?) as u8))
        .collect()
}

/// The hidden select item whose value [`helper_key`] reads, for a sort or group key
/// that is the column (or column expression) `x`. Every part is valid for any column
/// type (`x+0` is not: INET6, UUID and geometry refuse it; `ELT(1, x)` passes `x` on in
/// numeric context unchanged).
pub fn helper_sql(x: &str) -> String {
    format!(
        "CONCAT(ELT(1,{x})+0,':',HEX(IF(CONCAT(LEFT({x},0),'a')=CONCAT(LEFT({x},0),'a '),WEIGHT_STRING(CONCAT(LEFT({x},0),' ')),'')),':',WEIGHT_STRING({x}))"
    )
}

/// [`helper_sql`] without the ENUM/SET index (empty): for a sort or group key that is an
/// expression, whose text weights in its own collation are all the merge needs.
pub fn text_helper_sql(x: &str) -> String {
    format!(
        "CONCAT(':',HEX(IF(CONCAT(LEFT({x},0),'a')=CONCAT(LEFT({x},0),'a '),WEIGHT_STRING(CONCAT(LEFT({x},0),' ')),'')),':',WEIGHT_STRING({x}))"
    )
}

impl Ord for Key {
    fn cmp(&self, o: &Key) -> Ordering {
        match (self, o) {
            (Key::Null, Key::Null) => Ordering::Equal,
            (Key::Num(a), Key::Num(b)) => a.cmp_num(b),
            (Key::Float(a), Key::Float(b)) => a.cmp(b),
            (Key::Bytes(a), Key::Bytes(b)) => a.cmp(b),
            (Key::Padded(a), Key::Padded(b)) => pad_cmp(a, b),
            (Key::Weights(a, unit), Key::Weights(b, _)) => pad_cmp_unit(a, b, unit),
            _ => self.rank().cmp(&o.rank()),
        }
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, o: &Key) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
