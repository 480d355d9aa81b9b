//! HAVING evaluation with MySQL's types and three-valued logic.

use std::cmp::Ordering;

use super::value::{ColKind, Collation, Dec, parse_f64, str_key};
use super::{BinOp, Expr, Func, Row};

/// A value during evaluation.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Null,
    /// Integers and decimals (integers have scale 0).
    Exact(Dec),
    Float(f64),
    /// Text with its column's collation, or None for a literal (which yields to the
    /// column's collation, like MySQL's coercibility rules).
    Str(Vec<u8>, Option<Collation>),
    /// DATE/DATETIME/TIMESTAMP/TIME text.
    Temporal(Vec<u8>),
    /// A merged AVG of exact numbers: its DECIMAL quotient (with MariaDB's internal
    /// digits), and the double MariaDB computes for it where a DOUBLE is wanted (sum /
    /// count in doubles: `AVG(x) * 1e0` is 6.777777777777778 where `(AVG(x) + 0) * 1e0`
    /// is 6.777777777).
    Quotient {
        exact: Dec,
        real: f64,
    },
}

impl Val {
    /// The value as a DECIMAL-typed expression passes it on (functions over AVG, and
    /// IF/IFNULL/COALESCE/NULLIF whose arguments are all exact, take its DECIMAL).
    fn decimal(self) -> Val {
        match self {
            Val::Quotient { exact, .. } => Val::Exact(exact),
            v => v,
        }
    }
}

/// True when `e` holds for `row` (MySQL: not NULL and not zero).
pub fn holds(e: &Expr, row: &Row, kinds: &[ColKind]) -> bool {
    holds_in(e, row, kinds, &[])
}

/// [`holds`], with `vals[i]` (when Some) the value of column `i` instead of its text.
pub fn holds_in(e: &Expr, row: &Row, kinds: &[ColKind], vals: &[Option<Val>]) -> bool {
    truth(&eval_in(e, row, kinds, vals)) == Some(true)
}

#[cfg(test)]
pub fn eval(e: &Expr, row: &Row, kinds: &[ColKind]) -> Val {
    eval_in(e, row, kinds, &[])
}

/// Evaluates `e`; a column `i` with `vals[i]` set has that value (a merged aggregate's
/// full value: AVG's quotient has more digits than its text).
pub fn eval_in(e: &Expr, row: &Row, kinds: &[ColKind], vals: &[Option<Val>]) -> Val {
    let eval = |x: &Expr, row: &Row, kinds: &[ColKind]| eval_in(x, row, kinds, vals);
    match e {
        Expr::Col(i) if vals.get(*i).is_some_and(Option::is_some) => {
            vals.get(*i).cloned().flatten().unwrap_or(Val::Null)
        }
        Expr::Col(i) => {
            let Some(v) = row.get(*i).and_then(|v| v.as_deref()) else {
                return Val::Null;
            };
            match kinds
                .get(*i)
                .copied()
                .unwrap_or(ColKind::Str(Collation::Binary))
            {
                ColKind::Exact => Val::Exact(Dec::parse(v)),
                ColKind::Float => Val::Float(parse_f64(v)),
                ColKind::Time | ColKind::Temporal => Val::Temporal(v.to_vec()),
                ColKind::Str(c) => Val::Str(v.to_vec(), Some(c)),
            }
        }
        Expr::Null => Val::Null,
        Expr::Int(i) => Val::Exact(Dec::from_i128(i128::from(*i))),
        Expr::Dec(s) => {
            // MySQL: a literal with an exponent is a DOUBLE, otherwise exact.
            if s.bytes().any(|b| b == b'e' || b == b'E') {
                Val::Float(parse_f64(s.as_bytes()))
            } else {
                Val::Exact(Dec::parse(s.as_bytes()))
            }
        }
        Expr::Str(s) => Val::Str(s.as_bytes().to_vec(), None),
        Expr::Not(a) => match truth(&eval(a, row, kinds)) {
            None => Val::Null,
            Some(t) => bool_val(!t),
        },
        Expr::Neg(a) => match eval(a, row, kinds) {
            Val::Null => Val::Null,
            Val::Exact(d) => Val::Exact(d.negate()),
            Val::Float(f) => Val::Float(-f),
            Val::Str(s, _) => Val::Float(-parse_f64(&s)),
            Val::Temporal(t) => Val::Exact(Dec::from_temporal(&t).negate()),
            Val::Quotient { exact, .. } => Val::Exact(exact.negate()),
        },
        Expr::IsNull(a, negated) => {
            let null = eval(a, row, kinds) == Val::Null;
            bool_val(null != *negated)
        }
        Expr::Bin(a, op, b) => {
            let (a, b) = (eval(a, row, kinds), eval(b, row, kinds));
            match op {
                BinOp::And => match (truth(&a), truth(&b)) {
                    (Some(false), _) | (_, Some(false)) => bool_val(false),
                    (Some(true), Some(true)) => bool_val(true),
                    _ => Val::Null,
                },
                BinOp::Or => match (truth(&a), truth(&b)) {
                    (Some(true), _) | (_, Some(true)) => bool_val(true),
                    (Some(false), Some(false)) => bool_val(false),
                    _ => Val::Null,
                },
                BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                    let Some(o) = compare(&a, &b) else {
                        return Val::Null;
                    };
                    bool_val(match op {
                        BinOp::Eq => o == Ordering::Equal,
                        BinOp::Ne => o != Ordering::Equal,
                        BinOp::Lt => o == Ordering::Less,
                        BinOp::Le => o != Ordering::Greater,
                        BinOp::Gt => o == Ordering::Greater,
                        _ => o != Ordering::Less,
                    })
                }
                BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::IntDiv | BinOp::Mod => {
                    arith(&a, *op, &b)
                }
            }
        }
        Expr::Func(f, args) => {
            let v: Vec<Val> = args.iter().map(|a| eval(a, row, kinds)).collect();
            func(*f, v)
        }
    }
}

/// A [`Func`] over evaluated arguments (MySQL semantics; a missing argument is NULL).
fn func(f: Func, mut v: Vec<Val>) -> Val {
    let arg = |v: &mut Vec<Val>, i: usize| {
        v.get_mut(i)
            .map_or(Val::Null, |x| std::mem::replace(x, Val::Null))
    };
    // IF/IFNULL/COALESCE's type is DOUBLE when one of its choices is; then MariaDB
    // reads the chosen AVG as a double, else as its DECIMAL.
    let chosen = |x: Val, choices: &[Val]| match x {
        Val::Quotient { real, .. } if choices.iter().any(|c| matches!(c, Val::Float(_))) => {
            Val::Float(real)
        }
        x => x.decimal(),
    };
    match f {
        Func::IfNull | Func::Coalesce => {
            let x = v.iter().find(|x| **x != Val::Null).cloned();
            x.map_or(Val::Null, |x| chosen(x, &v))
        }
        Func::NullIf => {
            let (a, b) = (arg(&mut v, 0), arg(&mut v, 1));
            if compare(&a, &b) == Some(Ordering::Equal) {
                Val::Null
            } else {
                a.decimal()
            }
        }
        Func::If => {
            let c = arg(&mut v, 0);
            let choices = v.get(1..).unwrap_or_default().to_vec();
            let x = if truth(&c) == Some(true) {
                arg(&mut v, 1)
            } else {
                arg(&mut v, 2)
            };
            chosen(x, &choices)
        }
        Func::Round | Func::Truncate => {
            let x = arg(&mut v, 0);
            let d = match v.get(1) {
                None => 0,
                Some(Val::Null) => return Val::Null,
                Some(Val::Exact(d)) => d.to_text(0).parse::<i64>().unwrap_or(0),
                Some(other) => float(other) as i64,
            };
            let trunc = f == Func::Truncate;
            match x {
                Val::Null => Val::Null,
                Val::Float(x) => Val::Float(double_round(x, d, trunc)),
                Val::Str(s, _) => Val::Float(double_round(parse_f64(&s), d, trunc)),
                other => match exact(&other) {
                    Some(x) => Val::Exact(x.round_to(d, trunc)),
                    None => Val::Null,
                },
            }
        }
        Func::Floor | Func::Ceil => match arg(&mut v, 0) {
            Val::Null => Val::Null,
            Val::Float(x) => Val::Float(if f == Func::Ceil { x.ceil() } else { x.floor() }),
            Val::Str(s, _) => {
                let x = parse_f64(&s);
                Val::Float(if f == Func::Ceil { x.ceil() } else { x.floor() })
            }
            other => match exact(&other) {
                Some(x) => Val::Exact(x.floor_ceil(f == Func::Ceil)),
                None => Val::Null,
            },
        },
        Func::Abs => match arg(&mut v, 0) {
            Val::Null => Val::Null,
            Val::Float(x) => Val::Float(x.abs()),
            Val::Str(s, _) => Val::Float(parse_f64(&s).abs()),
            other => match exact(&other) {
                Some(x) => Val::Exact(x.abs()),
                None => Val::Null,
            },
        },
        Func::Greatest | Func::Least => {
            if v.contains(&Val::Null) {
                return Val::Null;
            }
            // Mixed exact and approximate numbers compare (and come out) as doubles.
            let approx = v.iter().any(|x| matches!(x, Val::Float(_)))
                && v.iter()
                    .all(|x| !matches!(x, Val::Str(..) | Val::Temporal(_)));
            let mut best: Option<Val> = None;
            for x in v {
                let x = if approx { Val::Float(float(&x)) } else { x };
                best = Some(match best {
                    None => x,
                    Some(b) => {
                        let o = compare(&x, &b);
                        let better = if f == Func::Greatest {
                            o == Some(Ordering::Greater)
                        } else {
                            o == Some(Ordering::Less)
                        };
                        if better { x } else { b }
                    }
                });
            }
            best.unwrap_or(Val::Null)
        }
    }
}

/// MySQL's ROUND/TRUNCATE of a double (`my_double_round`): to nearest even (`rint`)
/// or toward zero, at `d` digits (negative: tens, hundreds...).
fn double_round(x: f64, d: i64, truncate: bool) -> f64 {
    let k = i32::try_from(d.unsigned_abs().min(400)).unwrap_or(400);
    let p = 10f64.powi(k);
    let op = |t: f64| {
        if truncate {
            t.trunc()
        } else {
            t.round_ties_even()
        }
    };
    let r = if d >= 0 {
        if !p.is_finite() {
            return x;
        }
        let t = x * p;
        if !t.is_finite() {
            return x;
        }
        op(t) / p
    } else {
        if !p.is_finite() {
            return 0.0;
        }
        op(x / p) * p
    };
    if r.is_finite() { r } else { x }
}

fn bool_val(b: bool) -> Val {
    Val::Exact(Dec::from_i128(i128::from(b)))
}

/// MySQL truth: NULL is unknown, numbers are true when not zero, text is converted to a
/// number first.
pub fn truth(v: &Val) -> Option<bool> {
    match v {
        Val::Null => None,
        Val::Exact(d) => Some(!d.is_zero()),
        Val::Float(f) => Some(*f != 0.0),
        Val::Str(s, _) => Some(parse_f64(s) != 0.0),
        Val::Temporal(t) => Some(!Dec::from_temporal(t).is_zero()),
        Val::Quotient { exact, .. } => Some(!exact.is_zero()),
    }
}

/// The exact value of a number or date/time; None for text and doubles.
fn exact(v: &Val) -> Option<Dec> {
    match v {
        Val::Exact(d) | Val::Quotient { exact: d, .. } => Some(d.clone()),
        Val::Temporal(t) => Some(Dec::from_temporal(t)),
        _ => None,
    }
}

fn float(v: &Val) -> f64 {
    match v {
        Val::Null => 0.0,
        Val::Exact(d) => d.to_f64(),
        Val::Float(f) => *f,
        Val::Str(s, _) => parse_f64(s),
        Val::Temporal(t) => Dec::from_temporal(t).to_f64(),
        Val::Quotient { real, .. } => *real,
    }
}

/// MySQL's comparison rules: text with text by collation (a column's collation beats a
/// literal's; binary beats `_bin` beats `_ci`), dates with dates or text as text, exact
/// numbers exactly, anything else (a double, or text against a number) as doubles.
pub fn compare(a: &Val, b: &Val) -> Option<Ordering> {
    match (a, b) {
        (Val::Null, _) | (_, Val::Null) => None,
        (Val::Str(x, cx), Val::Str(y, cy)) => {
            let c = pick(*cx, *cy);
            Some(str_key(x, c).cmp(&str_key(y, c)))
        }
        (Val::Temporal(x), Val::Temporal(y))
        | (Val::Temporal(x), Val::Str(y, _))
        | (Val::Str(x, _), Val::Temporal(y)) => Some(x.cmp(y)),
        _ => match (exact(a), exact(b)) {
            (Some(x), Some(y)) => Some(x.cmp_num(&y)),
            _ => float(a).partial_cmp(&float(b)),
        },
    }
}

fn pick(a: Option<Collation>, b: Option<Collation>) -> Collation {
    match (a, b) {
        (Some(c), None) | (None, Some(c)) => c,
        (None, None) => Collation::GeneralCi,
        (Some(x), Some(y)) => {
            let rank = |c: Collation| match c {
                Collation::Binary => 4,
                Collation::BinNoPad => 3,
                Collation::Bin => 2,
                Collation::GeneralCiNoPad => 1,
                Collation::GeneralCi => 0,
            };
            if rank(y) > rank(x) { y } else { x }
        }
    }
}

/// Arithmetic: exact when both sides are exact (division: with MariaDB's internal
/// digits, see [`Dec::div_mysql`]; `DIV` truncates to an integer; `%` has the
/// dividend's sign), else double; NULL propagates, division by zero is NULL.
fn arith(a: &Val, op: BinOp, b: &Val) -> Val {
    if *a == Val::Null || *b == Val::Null {
        return Val::Null;
    }
    if let (Some(x), Some(y)) = (exact(a), exact(b)) {
        return match op {
            BinOp::Add => Val::Exact(x.add(&y)),
            BinOp::Sub => Val::Exact(x.sub(&y)),
            BinOp::Mul => Val::Exact(x.mul(&y)),
            BinOp::IntDiv => x.div_trunc(&y, 0).map_or(Val::Null, Val::Exact),
            BinOp::Mod => match x.div_trunc(&y, 0) {
                Some(q) => Val::Exact(x.sub(&q.mul(&y))),
                None => Val::Null,
            },
            _ => x.div_mysql(&y).map_or(Val::Null, Val::Exact),
        };
    }
    let (x, y) = (float(a), float(b));
    let r = match op {
        BinOp::Add => x + y,
        BinOp::Sub => x - y,
        BinOp::Mul => x * y,
        _ if y == 0.0 => return Val::Null,
        BinOp::Mod => x % y,
        BinOp::IntDiv => {
            let q = (x / y).trunc();
            return if q.is_finite() {
                Val::Exact(Dec::parse(format!("{q:.0}").as_bytes()))
            } else {
                Val::Null
            };
        }
        _ => x / y,
    };
    if r.is_finite() {
        Val::Float(r)
    } else {
        Val::Null
    }
}
