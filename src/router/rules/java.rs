//! The Java behaviours MyCat's partition functions inherit: number parsing, string
//! hashes over UTF-16 code units, `String.trim`, and MurmurHash3 as Guava computes it.
//!
//! Java strings are sequences of UTF-16 code units, and every index, length and hash in
//! MyCat is over those units, so the functions here take `&[u16]`.

/// The code points of the BMP digit zeros of Unicode general category Nd (as of the
/// Unicode version of Java 17); each is followed by the nine other digits.
const ND_ZEROS: [u16; 37] = [
    0x0030, 0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6,
    0x0D66, 0x0DE6, 0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80,
    0x1A90, 0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0,
    0xFF10,
];

pub(crate) fn utf16(s: &str) -> Vec<u16> {
    s.encode_utf16().collect()
}

/// `Character.digit(c, 10)`: any Unicode decimal digit of the BMP (`１` and `٣` too).
pub(crate) fn decimal_digit(c: u16) -> Option<u32> {
    ND_ZEROS
        .iter()
        .find(|z| c >= **z && c - **z < 10)
        .map(|z| u32::from(c - z))
}

/// `Character.isDigit(char)`.
pub(crate) fn is_digit(c: u16) -> bool {
    decimal_digit(c).is_some()
}

/// `Long.parseLong`/`Integer.parseInt` within `min..=max`: an optional `+` or `-`, then
/// one or more decimal digits, nothing else (no spaces).
fn parse_bounded(s: &[u16], min: i128, max: i128) -> Option<i128> {
    let (neg, digits) = match s.first() {
        Some(&c) if c == u16::from(b'-') => (true, &s[1..]),
        Some(&c) if c == u16::from(b'+') => (false, &s[1..]),
        Some(_) => (false, s),
        None => return None,
    };
    if digits.is_empty() {
        return None;
    }
    let mut acc: i128 = 0;
    for &c in digits {
        acc = acc * 10 + i128::from(decimal_digit(c)?);
        if acc > max + 1 {
            return None;
        }
    }
    let v = if neg { -acc } else { acc };
    (min..=max).contains(&v).then_some(v)
}

/// `Long.parseLong(s)`; `None` where Java throws `NumberFormatException`.
pub(crate) fn parse_long(s: &[u16]) -> Option<i64> {
    parse_bounded(s, i64::MIN.into(), i64::MAX.into()).and_then(|v| i64::try_from(v).ok())
}

/// `Integer.parseInt(s)` (and `Integer.valueOf(s)`).
pub(crate) fn parse_int(s: &[u16]) -> Option<i32> {
    parse_bounded(s, i32::MIN.into(), i32::MAX.into()).and_then(|v| i32::try_from(v).ok())
}

pub(crate) fn parse_long_str(s: &str) -> Option<i64> {
    parse_long(&utf16(s))
}

pub(crate) fn parse_int_str(s: &str) -> Option<i32> {
    parse_int(&utf16(s))
}

/// `new BigInteger(s).abs().mod(BigInteger.valueOf(m))` for `m >= 1`; `None` where the
/// constructor throws (`BigInteger` takes one optional leading sign, then digits).
pub(crate) fn bigint_abs_mod(s: &[u16], m: u64) -> Option<u64> {
    let digits = match s.first() {
        Some(&c) if c == u16::from(b'-') || c == u16::from(b'+') => &s[1..],
        _ => s,
    };
    if digits.is_empty() || m == 0 {
        return None;
    }
    let m = u128::from(m);
    let mut r: u128 = 0;
    for &c in digits {
        r = (r * 10 + u128::from(decimal_digit(c)?)) % m;
    }
    u64::try_from(r).ok()
}

/// `String.hashCode()`.
pub(crate) fn hash_code(s: &[u16]) -> i32 {
    s.iter()
        .fold(0i32, |h, &c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
}

/// MyCat `StringUtil.hash(s, start, end)`: `h = 31*h + c` in 64 bits over the units in
/// `[max(start, 0), min(end, len))`.
pub(crate) fn string_hash(s: &[u16], start: i32, end: i32) -> i64 {
    let start = usize::try_from(start.max(0)).unwrap_or(0);
    let end = usize::try_from(end).unwrap_or(0).min(s.len());
    if start >= end {
        return 0;
    }
    s[start..end].iter().fold(0i64, |h, &c| {
        (h << 5).wrapping_sub(h).wrapping_add(i64::from(c))
    })
}

/// Java `String.trim()`: strips every char `<= ' '` at both ends.
pub(crate) fn trim(s: &str) -> &str {
    s.trim_matches(|c: char| c <= ' ')
}

/// MyCat `StringUtil.removeBackquote`: trims, then strips one pair of enclosing
/// backquotes or single quotes.
pub(crate) fn remove_backquote(s: &str) -> &str {
    let s = trim(s);
    if s.len() >= 2
        && ((s.starts_with('`') && s.ends_with('`')) || (s.starts_with('\'') && s.ends_with('\'')))
    {
        return &s[1..s.len() - 1];
    }
    s
}

/// Java `String.split(String.valueOf(sep))` for a plain separator: trailing empty
/// strings are removed.
pub(crate) fn split(s: &str, sep: char) -> Vec<&str> {
    let mut parts: Vec<&str> = s.split(sep).collect();
    while parts.len() > 1 && parts.last().is_some_and(|p| p.is_empty()) {
        parts.pop();
    }
    if parts.len() == 1 && parts[0].is_empty() && !s.is_empty() {
        parts.clear();
    }
    parts
}

const C1: u32 = 0xcc9e_2d51;
const C2: u32 = 0x1b87_3593;

fn mix_k1(k1: u32) -> u32 {
    k1.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2)
}

fn mix_h1(h1: u32, k1: u32) -> u32 {
    (h1 ^ k1)
        .rotate_left(13)
        .wrapping_mul(5)
        .wrapping_add(0xe654_6b64)
}

fn fmix(mut h1: u32, len_bytes: u32) -> u32 {
    h1 ^= len_bytes;
    h1 ^= h1 >> 16;
    h1 = h1.wrapping_mul(0x85eb_ca6b);
    h1 ^= h1 >> 13;
    h1 = h1.wrapping_mul(0xc2b2_ae35);
    h1 ^ (h1 >> 16)
}

/// MurmurHash3 x86_32 over the UTF-16LE bytes of a string that only grows, as Guava's
/// `murmur3_32(seed).hashUnencodedChars` computes it; `hash` costs O(1) however long
/// the string is.
pub(crate) struct Murmur3Stream {
    h1: u32,
    pending: Option<u16>,
    len: u32,
}

impl Murmur3Stream {
    pub(crate) fn new(seed: i32) -> Murmur3Stream {
        Murmur3Stream {
            h1: seed as u32,
            pending: None,
            len: 0,
        }
    }

    pub(crate) fn push(&mut self, units: &[u16]) {
        for &c in units {
            self.len = self.len.wrapping_add(1);
            match self.pending.take() {
                Some(lo) => {
                    let k1 = u32::from(lo) | (u32::from(c) << 16);
                    self.h1 = mix_h1(self.h1, mix_k1(k1));
                }
                None => self.pending = Some(c),
            }
        }
    }

    pub(crate) fn push_str(&mut self, s: &str) {
        self.push(&utf16(s));
    }

    pub(crate) fn hash(&self) -> i32 {
        let mut h1 = self.h1;
        if let Some(c) = self.pending {
            h1 ^= mix_k1(u32::from(c));
        }
        fmix(h1, self.len.wrapping_mul(2)) as i32
    }
}

/// Guava `Hashing.murmur3_32(seed).hashUnencodedChars(s).asInt()`.
pub(crate) fn murmur3_32(s: &[u16], seed: i32) -> i32 {
    let mut m = Murmur3Stream::new(seed);
    m.push(s);
    m.hash()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Vec<u16> {
        utf16(s)
    }

    #[test]
    fn parse_long_is_java() {
        assert_eq!(parse_long(&u("+5")), Some(5));
        assert_eq!(parse_long(&u("-0")), Some(0));
        assert_eq!(parse_long(&u("00012")), Some(12));
        assert_eq!(parse_long(&u("１２")), Some(12));
        assert_eq!(parse_long(&u("٣")), Some(3));
        assert_eq!(parse_long(&u("-9223372036854775808")), Some(i64::MIN));
        assert_eq!(parse_long(&u("9223372036854775808")), None);
        for bad in [
            "", "-", "+", " 12", "12 ", "1.5", "0x10", "1e3", "+-1", "12a",
        ] {
            assert_eq!(parse_long(&u(bad)), None, "{bad:?}");
        }
        assert_eq!(parse_int(&u("2147483647")), Some(i32::MAX));
        assert_eq!(parse_int(&u("2147483648")), None);
        assert_eq!(parse_int(&u("-2147483648")), Some(i32::MIN));
    }

    #[test]
    fn bigint_mod() {
        assert_eq!(bigint_abs_mod(&u("-7"), 3), Some(1));
        assert_eq!(
            bigint_abs_mod(&u("99999999999999999999"), 7),
            Some(99999999999999999999u128.rem_euclid(7) as u64)
        );
        assert_eq!(bigint_abs_mod(&u("+12"), 5), Some(2));
        assert_eq!(bigint_abs_mod(&u("-"), 5), None);
        assert_eq!(bigint_abs_mod(&u("1-2"), 5), None);
        assert_eq!(bigint_abs_mod(&u(""), 5), None);
    }

    #[test]
    fn hashes() {
        assert_eq!(hash_code(&u("polygenelubricants")), i32::MIN);
        assert_eq!(hash_code(&u("Aa")), hash_code(&u("BB")));
        assert_eq!(hash_code(&u("")), 0);
        // Known MurmurHash3 x86_32 values (seed 0) of the UTF-16LE bytes.
        assert_eq!(murmur3_32(&[], 0), 0);
        let mut s = Murmur3Stream::new(0);
        s.push_str("SHARD-0-NODE-0");
        let whole = murmur3_32(&u("SHARD-0-NODE-0"), 0);
        assert_eq!(s.hash(), whole);
        s.push_str("-NODE-1");
        assert_eq!(s.hash(), murmur3_32(&u("SHARD-0-NODE-0-NODE-1"), 0));
    }

    #[test]
    fn java_split_and_trim() {
        assert_eq!(split("0-500M", '-'), vec!["0", "500M"]);
        assert_eq!(split("5-", '-'), vec!["5"]);
        assert_eq!(split("-5-10", '-'), vec!["", "5", "10"]);
        assert_eq!(split("", '-'), vec![""]);
        assert_eq!(trim("\t x \u{1}"), "x");
        assert_eq!(remove_backquote(" '12' "), "12");
        assert_eq!(remove_backquote("`a`"), "a");
        assert_eq!(remove_backquote("'a`"), "'a`");
        assert_eq!(remove_backquote("'"), "'");
    }
}
