//! Java's lenient `SimpleDateFormat.parse` and `GregorianCalendar` arithmetic, as MyCat's
//! date functions use them, in UTC: Julian calendar before 1582-10-15, out-of-range
//! fields rolling over, leading spaces skipped and trailing text ignored.
//!
//! Supported pattern letters: `y M L d D H k K h a m s S` and quoted or literal text;
//! any other Java pattern letter is refused when the function is built.

use super::java::{decimal_digit, is_digit, utf16};

pub(crate) const ONE_DAY: i64 = 86_400_000;
/// Fixed date (days since 0001-01-01 Gregorian = 1) of 1970-01-01.
const EPOCH_OFFSET: i64 = 719_163;
/// Fixed date of 1582-10-15, the first Gregorian day.
const CUTOVER_FIXED: i64 = 577_736;
const CUTOVER_YEAR: i32 = 1582;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Letter {
    Year,
    Month,
    MonthText,
    Day,
    DayOfYear,
    /// `H`
    HourOfDay0,
    /// `k` (24 means 0)
    HourOfDay1,
    /// `K`
    Hour0,
    /// `h` (12 means 0)
    Hour1,
    AmPm,
    Minute,
    Second,
    Milli,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Literal(Vec<u16>),
    Field(Letter, usize),
}

// Calendar field slots.
const YEAR: usize = 0;
const MONTH: usize = 1;
const DAY_OF_MONTH: usize = 2;
const DAY_OF_YEAR: usize = 3;
const HOUR_OF_DAY: usize = 4;
const HOUR: usize = 5;
const AM_PM: usize = 6;
const MINUTE: usize = 7;
const SECOND: usize = 8;
const MILLISECOND: usize = 9;
const NFIELDS: usize = 10;

const LONG_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const SHORT_MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const AM_PM_NAMES: [&str; 2] = ["AM", "PM"];

/// A compiled `SimpleDateFormat` pattern (lenient, en_US symbols, UTC).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DateFormat {
    items: Vec<Item>,
}

/// The calendar fields a parse set, with the order they were set in (Java's stamps).
#[derive(Debug, Clone, Default)]
struct Fields {
    value: [i32; NFIELDS],
    stamp: [u32; NFIELDS],
    next: u32,
}

impl Fields {
    fn set(&mut self, f: usize, v: i32) {
        self.next += 1;
        self.value[f] = v;
        self.stamp[f] = self.next;
    }
    fn is_set(&self, f: usize) -> bool {
        self.stamp[f] != 0
    }
}

impl DateFormat {
    /// Compiles a pattern as `new SimpleDateFormat(pattern)` does.
    pub(crate) fn new(pattern: &str) -> Result<DateFormat, String> {
        let p = utf16(pattern);
        let mut items: Vec<Item> = Vec::new();
        let mut lit: Vec<u16> = Vec::new();
        let mut field: Option<(u16, usize)> = None;
        let mut in_quote = false;
        let quote = u16::from(b'\'');
        let is_letter = |c: u16| c < 128 && (c as u8).is_ascii_alphabetic();
        let flush_field = |field: &mut Option<(u16, usize)>,
                           items: &mut Vec<Item>,
                           lit: &mut Vec<u16>|
         -> Result<(), String> {
            if let Some((c, n)) = field.take() {
                if !lit.is_empty() {
                    items.push(Item::Literal(std::mem::take(lit)));
                }
                items.push(Item::Field(letter(c, n)?, n));
            }
            Ok(())
        };
        let mut i = 0;
        while i < p.len() {
            let c = p[i];
            if c == quote {
                if p.get(i + 1) == Some(&quote) {
                    flush_field(&mut field, &mut items, &mut lit)?;
                    lit.push(quote);
                    i += 2;
                    continue;
                }
                flush_field(&mut field, &mut items, &mut lit)?;
                in_quote = !in_quote;
                i += 1;
                continue;
            }
            if in_quote || !is_letter(c) {
                flush_field(&mut field, &mut items, &mut lit)?;
                lit.push(c);
                i += 1;
                continue;
            }
            match field {
                Some((f, ref mut n)) if f == c => *n += 1,
                _ => {
                    flush_field(&mut field, &mut items, &mut lit)?;
                    field = Some((c, 1));
                }
            }
            i += 1;
        }
        if in_quote {
            return Err(format!("date format `{pattern}` has an unterminated quote"));
        }
        flush_field(&mut field, &mut items, &mut lit)?;
        if !lit.is_empty() {
            items.push(Item::Literal(lit));
        }
        Ok(DateFormat { items })
    }

    /// `SimpleDateFormat.parse(String)`: the time in milliseconds since the epoch (UTC),
    /// or `None` where Java throws `ParseException`.
    pub(crate) fn parse(&self, text: &str) -> Option<i64> {
        let text = utf16(text);
        let mut fields = Fields::default();
        let mut ambiguous_year = false;
        let mut pos = 0usize;
        for (k, item) in self.items.iter().enumerate() {
            match item {
                Item::Literal(l) => {
                    if text.len() < pos + l.len() || text[pos..pos + l.len()] != l[..] {
                        return None;
                    }
                    pos += l.len();
                }
                Item::Field(letter, count) => {
                    let obey = match self.items.get(k + 1) {
                        Some(Item::Field(next, next_count)) => obey_count(*next, *next_count),
                        _ => false,
                    };
                    pos = sub_parse(
                        &text,
                        pos,
                        *letter,
                        *count,
                        obey,
                        &mut ambiguous_year,
                        &mut fields,
                    )?;
                }
            }
        }
        // DateFormat.parse(String) fails when nothing was consumed.
        if pos == 0 {
            return None;
        }
        let mut millis = compute_time(&fields);
        if ambiguous_year {
            let (start, _) = century_start();
            if millis < start {
                fields.value[YEAR] = fields.value[YEAR].wrapping_add(100);
                millis = compute_time(&fields);
            }
        }
        Some(millis)
    }
}

fn letter(c: u16, count: usize) -> Result<Letter, String> {
    let ch = char::from_u32(u32::from(c)).unwrap_or('?');
    Ok(match ch {
        'y' => Letter::Year,
        'M' | 'L' if count <= 2 => Letter::Month,
        'M' | 'L' => Letter::MonthText,
        'd' => Letter::Day,
        'D' => Letter::DayOfYear,
        'H' => Letter::HourOfDay0,
        'k' => Letter::HourOfDay1,
        'K' => Letter::Hour0,
        'h' => Letter::Hour1,
        'a' => Letter::AmPm,
        'm' => Letter::Minute,
        's' => Letter::Second,
        'S' => Letter::Milli,
        'G' | 'E' | 'F' | 'w' | 'W' | 'z' | 'Z' | 'Y' | 'u' | 'X' => {
            return Err(format!(
                "date format letter `{ch}` is not supported (use y M d D H k K h a m s S)"
            ));
        }
        _ => return Err(format!("`{ch}` is not a date format letter")),
    })
}

/// Java `SimpleDateFormat.shouldObeyCount` for the field that follows.
fn obey_count(next: Letter, _count: usize) -> bool {
    !matches!(next, Letter::MonthText | Letter::AmPm)
}

fn sub_parse(
    text: &[u16],
    start: usize,
    letter: Letter,
    count: usize,
    obey: bool,
    ambiguous_year: &mut bool,
    fields: &mut Fields,
) -> Option<usize> {
    // Skip spaces and tabs; hitting the end fails.
    let mut p = start;
    loop {
        let c = *text.get(p)?;
        if c != u16::from(b' ') && c != u16::from(b'\t') {
            break;
        }
        p += 1;
    }
    let actual_start = p;
    match letter {
        Letter::MonthText => {
            let (idx, np) = match_names(text, start, &LONG_MONTHS)
                .or_else(|| match_names(text, start, &SHORT_MONTHS))?;
            fields.set(MONTH, idx as i32);
            Some(np)
        }
        Letter::AmPm => {
            let (idx, np) = match_names(text, start, &AM_PM_NAMES)?;
            fields.set(AM_PM, idx as i32);
            Some(np)
        }
        _ => {
            // A field followed by another number field reads at most `count` units
            // (counted from before the skipped spaces).
            let limit = if obey { start + count } else { text.len() };
            if limit > text.len() {
                return None;
            }
            let (mut value, np) = parse_number(&text[..limit], p)?;
            match letter {
                Letter::Year => {
                    if count <= 2
                        && np - actual_start == 2
                        && is_digit(text[actual_start])
                        && is_digit(text[actual_start + 1])
                    {
                        let (_, start_year) = century_start();
                        let amb = start_year.rem_euclid(100);
                        *ambiguous_year = value == amb;
                        value = value
                            .wrapping_add(start_year.div_euclid(100) * 100)
                            .wrapping_add(if value < amb { 100 } else { 0 });
                    }
                    fields.set(YEAR, value);
                }
                Letter::Month => fields.set(MONTH, value.wrapping_sub(1)),
                Letter::HourOfDay1 => fields.set(HOUR_OF_DAY, if value == 24 { 0 } else { value }),
                Letter::Hour1 => fields.set(HOUR, if value == 12 { 0 } else { value }),
                Letter::Day => fields.set(DAY_OF_MONTH, value),
                Letter::DayOfYear => fields.set(DAY_OF_YEAR, value),
                Letter::HourOfDay0 => fields.set(HOUR_OF_DAY, value),
                Letter::Hour0 => fields.set(HOUR, value),
                Letter::Minute => fields.set(MINUTE, value),
                Letter::Second => fields.set(SECOND, value),
                Letter::Milli => fields.set(MILLISECOND, value),
                Letter::MonthText | Letter::AmPm => {}
            }
            Some(np)
        }
    }
}

/// Java `String.regionMatches(true, ...)` of each name at `start`; the longest wins.
fn match_names(text: &[u16], start: usize, names: &[&str]) -> Option<(usize, usize)> {
    let fold = |c: u16| -> u16 {
        match c {
            0x0131 => u16::from(b'i'),
            0x017F => u16::from(b's'),
            0x212A => u16::from(b'k'),
            c if c < 128 => u16::from((c as u8).to_ascii_lowercase()),
            c => c,
        }
    };
    let mut best: Option<(usize, usize)> = None;
    for (i, name) in names.iter().enumerate() {
        let n = utf16(name);
        if best.is_some_and(|(_, len)| n.len() <= len) || text.len() < start + n.len() {
            continue;
        }
        if text[start..start + n.len()]
            .iter()
            .zip(&n)
            .all(|(a, b)| fold(*a) == fold(*b))
        {
            best = Some((i, n.len()));
        }
    }
    best.map(|(i, len)| (i, start + len))
}

fn starts_with(text: &[u16], pos: usize, s: &str) -> bool {
    let s = utf16(s);
    text.len() >= pos + s.len() && text[pos..pos + s.len()] == s[..]
}

/// `DecimalFormat` (the integer instance SimpleDateFormat uses: en_US, no grouping)
/// `parse(text, pos).intValue()`, and where parsing stopped.
fn parse_number(text: &[u16], pos: usize) -> Option<(i32, usize)> {
    if pos > text.len() {
        return None;
    }
    if starts_with(text, pos, "NaN") {
        return Some((0, pos + 3));
    }
    let negative = text.get(pos) == Some(&u16::from(b'-'));
    let mut p = pos + usize::from(negative);
    if starts_with(text, p, "\u{221e}") {
        return Some((if negative { i32::MIN } else { i32::MAX }, p + 1));
    }
    let mut digits: Vec<u8> = Vec::new();
    let mut digit_count: i64 = 0;
    let mut saw_digit = false;
    let mut exponent: i64 = 0;
    while p < text.len() {
        let c = text[p];
        match decimal_digit(c) {
            Some(0) => {
                saw_digit = true;
                if !digits.is_empty() {
                    digit_count += 1;
                    digits.push(0);
                }
            }
            Some(d) => {
                saw_digit = true;
                digit_count += 1;
                digits.push(d as u8);
            }
            None => {
                if c == u16::from(b'E')
                    && let Some((e, np)) = parse_exponent(text, p + 1)
                {
                    exponent = e;
                    p = np;
                }
                break;
            }
        }
        p += 1;
    }
    if !saw_digit {
        return None;
    }
    let decimal_at = (digit_count + exponent).clamp(i32::MIN.into(), i32::MAX.into());
    while digits.last() == Some(&0) {
        digits.pop();
    }
    let count = digits.len() as i64;
    let as_long = |digits: &[u8], scale: i64| -> i128 {
        let mut v: i128 = 0;
        for d in digits {
            v = v * 10 + i128::from(*d);
        }
        for _ in 0..scale {
            v *= 10;
        }
        v
    };
    let value: i32 = if count == 0 {
        0
    } else if decimal_at < count || decimal_at > 19 {
        // A double: 0.DIGITS x 10^decimal_at; intValue() saturates.
        let s: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
        let mut f: f64 = format!("0.{s}e{decimal_at}").parse().unwrap_or(0.0);
        if negative {
            f = -f;
        }
        f as i32
    } else {
        let v = as_long(&digits, decimal_at - count);
        let max = i128::from(i64::MAX);
        if v > max + 1 || (v == max + 1 && !negative) {
            // Does not fit a long: a double, saturated by intValue().
            if negative { i32::MIN } else { i32::MAX }
        } else {
            let v = if negative { -v } else { v };
            // Long.intValue() keeps the low 32 bits.
            (v as i64) as i32
        }
    };
    Some((value, p))
}

/// The exponent after `E`: an optional `-` and digits that fit a long.
fn parse_exponent(text: &[u16], pos: usize) -> Option<(i64, usize)> {
    let negative = text.get(pos) == Some(&u16::from(b'-'));
    let mut p = pos + usize::from(negative);
    let mut v: i128 = 0;
    let mut saw = false;
    while let Some(d) = text.get(p).and_then(|c| decimal_digit(*c)) {
        saw = true;
        v = (v * 10 + i128::from(d)).min(i128::from(u64::MAX));
        p += 1;
    }
    if !saw || v > i128::from(i64::MAX) {
        return None;
    }
    let v = v as i64;
    // (int) of the long exponent
    let e = i64::from(v as i32);
    Some((if negative { -e } else { e }, p))
}

/// (Java's default two-digit-year century start in ms, its year): now minus 80 years.
fn century_start() -> (i64, i32) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let day = now.div_euclid(ONE_DAY);
    let tod = now.rem_euclid(ONE_DAY);
    let (y, m, d) = gregorian_from_fixed(day + EPOCH_OFFSET);
    let y = y - 80;
    let d = d.min(month_length(y, m, false));
    let fixed = fixed_date(y, m, d, false);
    ((fixed - EPOCH_OFFSET) * ONE_DAY + tod, y as i32)
}

fn is_leap(y: i64, julian: bool) -> bool {
    if julian {
        y.rem_euclid(4) == 0
    } else {
        y.rem_euclid(4) == 0 && (y.rem_euclid(100) != 0 || y.rem_euclid(400) == 0)
    }
}

fn month_length(y: i64, m: i64, julian: bool) -> i64 {
    match m {
        2 if is_leap(y, julian) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The fixed date of y-m-d (`m` in 1..=12, `d` any offset) in the Gregorian or the
/// Julian calendar, astronomical years (0 = 1 BC), as `sun.util.calendar` computes it.
fn fixed_date(y: i64, m: i64, d: i64, julian: bool) -> i64 {
    let py = y - 1;
    let mut days = d + 365 * py + (367 * m - 362).div_euclid(12);
    if julian {
        days += -2 + py.div_euclid(4);
    } else {
        days += py.div_euclid(4) - py.div_euclid(100) + py.div_euclid(400);
    }
    if m > 2 {
        days -= if is_leap(y, julian) { 1 } else { 2 };
    }
    days
}

fn ymd_from_fixed(fd: i64, julian: bool) -> (i64, i64, i64) {
    let year_len = if julian { 365.25 } else { 365.2425 };
    let mut y = (fd as f64 / year_len).floor() as i64 + 1;
    while fixed_date(y + 1, 1, 1, julian) <= fd {
        y += 1;
    }
    while fixed_date(y, 1, 1, julian) > fd {
        y -= 1;
    }
    let mut m = 12;
    while m > 1 && fixed_date(y, m, 1, julian) > fd {
        m -= 1;
    }
    (y, m, fd - fixed_date(y, m, 1, julian) + 1)
}

fn gregorian_from_fixed(fd: i64) -> (i64, i64, i64) {
    ymd_from_fixed(fd, false)
}

/// A time's calendar date as `Calendar.get` reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CalFields {
    /// YEAR: the year of the era (1 BC is 1, not 0).
    pub year: i32,
    /// MONTH, 0..=11.
    pub month: i32,
    /// DAY_OF_MONTH.
    pub day: i32,
    /// ERA is BC.
    pub bc: bool,
}

/// The calendar date of a time (UTC): Julian before the cutover, Gregorian after.
pub(crate) fn calendar_fields(millis: i64) -> CalFields {
    let fd = millis.div_euclid(ONE_DAY) + EPOCH_OFFSET;
    let (y, m, d) = ymd_from_fixed(fd, fd < CUTOVER_FIXED);
    CalFields {
        year: if y <= 0 { 1 - y } else { y } as i32,
        month: (m - 1) as i32,
        day: d as i32,
        bc: y <= 0,
    }
}

/// `GregorianCalendar.computeTime()` (lenient, UTC) after `clear()` and the parsed sets.
fn compute_time(f: &Fields) -> i64 {
    let year: i32 = if f.is_set(YEAR) { f.value[YEAR] } else { 1970 };
    let st = &f.stamp;
    // Calendar.selectFields: which group gives the day.
    // DAY_OF_YEAR when it was set after DAY_OF_MONTH; otherwise MONTH + DAY_OF_MONTH
    // (MONTH alone, or nothing, counts as that too).
    let use_doy = st[DAY_OF_YEAR] > st[DAY_OF_MONTH];
    let month_mode = !use_doy;
    // Time of day: HOUR_OF_DAY, or HOUR (+ AM_PM), whichever was set last.
    let hour_stamp = if st[HOUR] != 0 && st[AM_PM] != 0 {
        st[HOUR].max(st[AM_PM])
    } else {
        0
    };
    let mut best = hour_stamp.max(st[HOUR_OF_DAY]);
    if best == 0 {
        best = st[HOUR].max(st[AM_PM]);
    }
    let mut tod: i64 = 0;
    if best != 0 {
        if best == st[HOUR_OF_DAY] {
            tod += i64::from(f.value[HOUR_OF_DAY]);
        } else {
            tod += i64::from(f.value[HOUR]);
            if st[AM_PM] != 0 {
                tod += 12 * i64::from(f.value[AM_PM]);
            }
        }
    }
    tod = tod * 60 + i64::from(f.value[MINUTE]);
    tod = tod * 60 + i64::from(f.value[SECOND]);
    tod = tod * 1000 + i64::from(f.value[MILLISECOND]);
    let mut fixed = tod / ONE_DAY;
    tod %= ONE_DAY;
    while tod < 0 {
        tod += ONE_DAY;
        fixed -= 1;
    }

    let base = |julian: bool| -> i64 {
        let mut y = year;
        let mut fd;
        if month_mode {
            let mut month = f.value[MONTH];
            if month > 11 {
                y = y.wrapping_add(month / 12);
                month %= 12;
            } else if month < 0 {
                y = y.wrapping_add(month.div_euclid(12));
                month = month.rem_euclid(12);
            }
            fd = fixed_date(i64::from(y), i64::from(month) + 1, 1, julian);
            if f.is_set(DAY_OF_MONTH) {
                fd += i64::from(f.value[DAY_OF_MONTH]) - 1;
            }
        } else {
            fd = fixed_date(i64::from(y), 1, 1, julian);
            fd += i64::from(f.value[DAY_OF_YEAR]) - 1;
        }
        fd
    };

    let fixed = 'calc: {
        let (jfd, gfd);
        if year > CUTOVER_YEAR {
            let g = fixed + base(false);
            if g >= CUTOVER_FIXED {
                break 'calc g;
            }
            gfd = g;
            jfd = fixed + base(true);
        } else if year < CUTOVER_YEAR {
            let j = fixed + base(true);
            if j < CUTOVER_FIXED {
                break 'calc j;
            }
            jfd = j;
            gfd = j;
        } else {
            jfd = fixed + base(true);
            gfd = fixed + base(false);
        }
        if use_doy {
            // gregorianCutoverYear == gregorianCutoverYearJulian
            break 'calc jfd;
        }
        if gfd >= CUTOVER_FIXED {
            // jfd < cutover here would be the "overlap"; Java takes gfd after a
            // Gregorian computation, which is what a fresh parse did last.
            gfd
        } else {
            // Before the cutover, or in the missing days: the Julian date.
            jfd
        }
    };
    (fixed - EPOCH_OFFSET)
        .wrapping_mul(ONE_DAY)
        .wrapping_add(tod)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ymd(millis: i64) -> (i32, i32, i32) {
        let c = calendar_fields(millis);
        (c.year, c.month, c.day)
    }

    #[test]
    fn fixed_dates() {
        assert_eq!(fixed_date(1970, 1, 1, false), EPOCH_OFFSET);
        assert_eq!(fixed_date(1582, 10, 15, false), CUTOVER_FIXED);
        assert_eq!(fixed_date(1582, 10, 5, true), CUTOVER_FIXED);
        assert_eq!(fixed_date(1, 1, 1, false), 1);
        assert_eq!(fixed_date(1, 1, 1, true), -1);
        for fd in [-800_000, -1, 0, 1, 577_735, 577_736, 735_234, 3_000_000] {
            for julian in [false, true] {
                let (y, m, d) = ymd_from_fixed(fd, julian);
                assert_eq!(fixed_date(y, m, d, julian), fd);
            }
        }
    }

    #[test]
    fn lenient_parse() {
        let f = DateFormat::new("yyyy-MM-dd").unwrap();
        let day = |s: &str| f.parse(s).map(ymd);
        assert_eq!(day("2014-01-01"), Some((2014, 0, 1)));
        assert_eq!(day("2014-13-01"), Some((2015, 0, 1)));
        assert_eq!(day("2014-02-30"), Some((2014, 2, 2)));
        assert_eq!(day(" 2014-01-01"), Some((2014, 0, 1)));
        assert_eq!(day("2014-01-01x"), Some((2014, 0, 1)));
        assert_eq!(day("２０１４-01-01"), Some((2014, 0, 1)));
        assert_eq!(day("2014-1-5"), Some((2014, 0, 5)));
        assert_eq!(day("2014/01/01"), None);
        assert_eq!(day("+2014-01-01"), None);
        assert_eq!(day(""), None);
        assert_eq!(day("2014-01"), None);
        // Julian before the cutover: Julian 1582-10-04 is followed by Gregorian 10-15.
        let a = f.parse("1582-10-04").unwrap();
        let b = f.parse("1582-10-15").unwrap();
        assert_eq!(b - a, ONE_DAY);
        assert_eq!(day("0000-01-01"), Some((1, 0, 1)));
    }

    #[test]
    fn abutting_fields_obey_counts() {
        let f = DateFormat::new("yyyyMMdd").unwrap();
        assert_eq!(f.parse("20140305").map(ymd), Some((2014, 2, 5)));
        let f = DateFormat::new("yyyy-MM-dd HH:mm:ss").unwrap();
        let t = f.parse("2014-01-01 25:00:00").unwrap();
        assert_eq!(ymd(t), (2014, 0, 2));
        assert_eq!(t.rem_euclid(ONE_DAY), 3_600_000);
        assert!(DateFormat::new("yyyy-MM-dd'T'HH").is_ok());
        assert!(DateFormat::new("EEE yyyy").is_err());
        assert!(DateFormat::new("yyyy 'x").is_err());
    }
}
