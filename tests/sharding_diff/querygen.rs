//! A seeded random SELECT generator over the data set of `sharding_diff.rs`: single
//! tables, the ER parent/child join, co-located joins and joins with the global table;
//! select lists of columns, expressions, aliases and aggregates (also inside arithmetic and
//! IFNULL/COALESCE/ROUND/TRUNCATE/FLOOR/CEIL/ABS/GREATEST/LEAST/NULLIF/IF/CASE, text
//! results over text aggregates such as `IFNULL(MAX(city), 'none')`, and
//! COUNT/SUM/AVG(DISTINCT), GROUP_CONCAT with ORDER BY or DISTINCT inside), DISTINCT,
//! WHERE on the sharding key and other columns, GROUP BY (expressions, aliases,
//! positions), HAVING, ORDER BY (columns, aliases, positions, expressions, ASC/DESC),
//! LIMIT/OFFSET, IN subqueries over the global table, derived tables and UNION.
//!
//! Every statement has one right answer: an ORDER BY always ends with a unique key of the
//! rows (the tables' primary keys, or every GROUP BY / DISTINCT item), LIMIT comes only
//! with ORDER BY, and what a server may show for several equal values (a GROUP BY or
//! DISTINCT or MIN/MAX over `name`, which has `Alice` and `alice`, equal under the
//! collation) is only used through UPPER/LOWER/LENGTH. No floating-point values.

use super::Lcg;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Ty {
    Int,
    Dec,
    Str,
    Date,
}

/// How predicate values for a column are drawn.
#[derive(Clone, Copy)]
enum Vals {
    /// customer / my_order id (range-long, boundary 5,000,000).
    RangeId,
    /// order_item.order_id (the ER join key).
    OrderId,
    /// product.id (mod-long).
    SmallId,
    /// user_info.province_id (file-map).
    FileMap,
    Level,
    Province,
    Money,
    Stock,
    Score,
    Qty,
    Big,
    Date,
    Words(&'static [&'static str]),
}

#[derive(Clone, Copy)]
struct ColDef {
    name: &'static str,
    ty: Ty,
    nullable: bool,
    /// Values equal under the collation but spelled differently (`Alice`, `alice`).
    ci_dups: bool,
    vals: Vals,
}

const fn c(name: &'static str, ty: Ty, nullable: bool, vals: Vals) -> ColDef {
    ColDef {
        name,
        ty,
        nullable,
        ci_dups: false,
        vals,
    }
}

const NAME_DUPS: ColDef = ColDef {
    name: "name",
    ty: Ty::Str,
    nullable: false,
    ci_dups: true,
    vals: Vals::Words(super::NAMES),
};

struct TableDef {
    name: &'static str,
    alias: &'static str,
    cols: &'static [ColDef],
}

const CUSTOMER: TableDef = TableDef {
    name: "customer",
    alias: "c",
    cols: &[
        c("id", Ty::Int, false, Vals::RangeId),
        NAME_DUPS,
        c("city", Ty::Str, true, Vals::Words(super::CITIES)),
        c("province_id", Ty::Int, true, Vals::Province),
        c("level", Ty::Int, true, Vals::Level),
        c("balance", Ty::Dec, true, Vals::Money),
        c("created", Ty::Date, true, Vals::Date),
    ],
};
const MY_ORDER: TableDef = TableDef {
    name: "my_order",
    alias: "o",
    cols: &[
        c("id", Ty::Int, false, Vals::RangeId),
        c("customer_id", Ty::Int, false, Vals::RangeId),
        c("province_id", Ty::Int, true, Vals::Province),
        c("status", Ty::Str, false, Vals::Words(super::STATUSES)),
        c("total", Ty::Dec, true, Vals::Money),
        c("order_date", Ty::Date, false, Vals::Date),
    ],
};
const ORDER_ITEM: TableDef = TableDef {
    name: "order_item",
    alias: "i",
    cols: &[
        c("id", Ty::Int, false, Vals::SmallId),
        c("order_id", Ty::Int, false, Vals::OrderId),
        c("product_id", Ty::Int, false, Vals::SmallId),
        c("qty", Ty::Int, false, Vals::Qty),
        c("price", Ty::Dec, false, Vals::Money),
        c("note", Ty::Str, true, Vals::Words(super::NOTES)),
    ],
};
const PRODUCT: TableDef = TableDef {
    name: "product",
    alias: "p",
    cols: &[
        c("id", Ty::Int, false, Vals::SmallId),
        c("category", Ty::Str, true, Vals::Words(super::CATEGORIES)),
        c("price", Ty::Dec, false, Vals::Money),
        c("stock", Ty::Int, true, Vals::Stock),
        c("weight_g", Ty::Int, true, Vals::Big),
    ],
};
const USER_INFO: TableDef = TableDef {
    name: "user_info",
    alias: "u",
    cols: &[
        c("id", Ty::Int, false, Vals::SmallId),
        c("province_id", Ty::Int, false, Vals::FileMap),
        NAME_DUPS,
        c("score", Ty::Int, true, Vals::Score),
        c("birthday", Ty::Date, true, Vals::Date),
    ],
};
const PROVINCE: TableDef = TableDef {
    name: "province",
    alias: "g",
    cols: &[
        c("id", Ty::Int, false, Vals::Province),
        c("name", Ty::Str, false, Vals::Words(super::PROVINCES)),
        c("region", Ty::Str, true, Vals::Words(super::REGIONS)),
    ],
};

/// A column as the query names it.
#[derive(Clone)]
struct Col {
    text: String,
    def: ColDef,
}

/// The FROM clause and what it offers.
struct Src {
    from: String,
    cols: Vec<Col>,
    /// Expressions that together are unique per row.
    keys: Vec<String>,
}

fn cols_of(t: &TableDef, qualify: Option<&str>) -> Vec<Col> {
    t.cols
        .iter()
        .map(|d| Col {
            text: match qualify {
                Some(q) => format!("{q}.{}", d.name),
                None => d.name.to_string(),
            },
            def: *d,
        })
        .collect()
}

fn single(r: &mut Lcg, t: &TableDef) -> Src {
    if r.chance(25) {
        Src {
            from: format!("{} {}", t.name, t.alias),
            cols: cols_of(t, Some(t.alias)),
            keys: vec![format!("{}.id", t.alias)],
        }
    } else {
        Src {
            from: t.name.to_string(),
            cols: cols_of(t, None),
            keys: vec!["id".into()],
        }
    }
}

fn joined(a: &TableDef, b: &TableDef, join: &str, on: &str, keys: &[&str]) -> Src {
    let mut cols = cols_of(a, Some(a.alias));
    cols.extend(cols_of(b, Some(b.alias)));
    Src {
        from: format!(
            "{} {} {join} {} {} ON {on}",
            a.name, a.alias, b.name, b.alias
        ),
        cols,
        keys: keys.iter().map(|k| k.to_string()).collect(),
    }
}

fn source(r: &mut Lcg) -> Src {
    match r.below(14) {
        0..=3 => single(r, &CUSTOMER),
        4 => single(r, &MY_ORDER),
        5 => single(r, &ORDER_ITEM),
        6 => single(r, &PRODUCT),
        7 => single(r, &USER_INFO),
        8 => single(r, &PROVINCE),
        9 => joined(
            &MY_ORDER,
            &ORDER_ITEM,
            "JOIN",
            "o.id = i.order_id",
            &["i.id"],
        ),
        10 => joined(
            &MY_ORDER,
            &ORDER_ITEM,
            "LEFT JOIN",
            "o.id = i.order_id",
            &["o.id", "i.id"],
        ),
        11 => joined(
            &CUSTOMER,
            &PROVINCE,
            r.pick(&["JOIN", "LEFT JOIN"]),
            "c.province_id = g.id",
            &["c.id"],
        ),
        12 => joined(
            &MY_ORDER,
            &PROVINCE,
            "JOIN",
            "o.province_id = g.id",
            &["o.id"],
        ),
        _ => joined(
            &CUSTOMER,
            &MY_ORDER,
            r.pick(&["JOIN", "LEFT JOIN"]),
            "c.id = o.id",
            &["c.id"],
        ),
    }
}

fn lit(r: &mut Lcg, v: Vals) -> String {
    let s = lit_plain(r, v);
    // A sharding value spelled as a string, a decimal or an expression.
    if matches!(
        v,
        Vals::RangeId | Vals::OrderId | Vals::SmallId | Vals::FileMap
    ) {
        return match r.below(12) {
            0 => format!("'{s}'"),
            1 => format!("{s}.0"),
            2 => format!("{s} + 0"),
            3 => format!("' {s}'"),
            _ => s,
        };
    }
    s
}

fn lit_plain(r: &mut Lcg, v: Vals) -> String {
    match v {
        Vals::RangeId => match r.below(5) {
            0 => (1 + r.below(1450) * 3389).to_string(),
            1 => (5_000_100 + r.below(1450) * 3413).to_string(),
            2 => (4_999_940 + r.below(120)).to_string(),
            3 => r.wide(10_000_000).to_string(),
            _ => r
                .pick(&["1", "5000000", "5000001", "4999999", "10", "5000500"])
                .into(),
        },
        Vals::OrderId => match r.below(3) {
            0 => (10 + r.below(1000) * 4871).to_string(),
            1 => (5_000_500 + r.below(960) * 5101).to_string(),
            _ => (4_999_975 + r.below(50)).to_string(),
        },
        Vals::SmallId => (1 + r.below(2100)).to_string(),
        Vals::FileMap => r.pick(&["10000", "10010", "10001", "10086", "1"]).into(),
        Vals::Level => r.below(12).to_string(),
        Vals::Province => r.below(32).to_string(),
        Vals::Money => super::money(r.below(60_000) as i64 * 50 - 50_000),
        Vals::Stock => r.below(520).to_string(),
        Vals::Score => r.below(105).to_string(),
        Vals::Qty => (1 + r.below(10)).to_string(),
        Vals::Big => r.wide(5_000_000_000_000).to_string(),
        Vals::Date => super::date(-3_653 + r.below(22_000) as i64),
        Vals::Words(w) => {
            if r.chance(8) {
                "'nowhere'".into()
            } else {
                let s = r.pick(w);
                let s = match r.below(6) {
                    0 => s.to_ascii_uppercase(),
                    1 => s.to_ascii_lowercase(),
                    _ => s.to_string(),
                };
                super::quote(&s)
            }
        }
    }
}

/// A predicate on `col`.
fn predicate(r: &mut Lcg, col: &Col) -> String {
    let c = &col.text;
    let v = col.def.vals;
    match r.below(if col.def.nullable { 9 } else { 7 }) {
        0..=1 => format!("{c} = {}", lit(r, v)),
        2 => {
            let n = 1 + r.below(4);
            let mut items: Vec<String> = (0..n).map(|_| lit(r, v)).collect();
            if r.chance(10) {
                items.push("NULL".into());
            }
            let not = if r.chance(20) { "NOT " } else { "" };
            format!("{c} {not}IN ({})", items.join(", "))
        }
        3 => {
            let (a, b) = (lit(r, v), lit(r, v));
            format!("{c} BETWEEN {a} AND {b}")
        }
        4 => format!(
            "{c} {} {}",
            r.pick(&["<", "<=", ">", ">=", "<>"]),
            lit(r, v)
        ),
        5 => format!(
            "({c} {} {} AND {c} {} {})",
            r.pick(&[">", ">="]),
            lit(r, v),
            r.pick(&["<", "<="]),
            lit(r, v)
        ),
        6 => match r.below(3) {
            0 => format!("NOT ({c} = {})", lit(r, v)),
            1 => format!("{c} <=> {}", lit(r, v)),
            _ => format!("({c} = {}) IS NOT TRUE", lit(r, v)),
        },
        7 => format!("{c} IS NULL"),
        _ => format!("{c} IS NOT NULL"),
    }
}

fn where_clause(r: &mut Lcg, src: &Src) -> Option<String> {
    if r.chance(30) {
        return None;
    }
    // The sharding key (`id` first in each table) half of the time.
    let pick = |r: &mut Lcg| -> Col {
        if r.chance(45) {
            let ids: Vec<&Col> = src
                .cols
                .iter()
                .filter(|c| c.def.name == "id" || c.def.name == "order_id")
                .collect();
            ids[r.below(ids.len() as u64) as usize].clone()
        } else {
            src.cols[r.below(src.cols.len() as u64) as usize].clone()
        }
    };
    let first = pick(r);
    let mut w = predicate(r, &first);
    for _ in 0..r.below(3) {
        let op = r.pick(&["AND", "AND", "OR"]);
        let col = pick(r);
        w = format!("{w} {op} {}", predicate(r, &col));
    }
    if r.chance(10) {
        let col = src
            .cols
            .iter()
            .find(|c| c.def.name == "province_id" && !matches!(c.def.vals, Vals::FileMap));
        if let Some(col) = col {
            let region = lit(r, Vals::Words(super::REGIONS));
            w = format!(
                "({w}) AND {} IN (SELECT id FROM province WHERE region = {region})",
                col.text
            );
        }
    }
    Some(w)
}

/// An expression over `col` whose value is the same whichever of several equal values a
/// server keeps (`group_safe`), or any expression.
fn expr(r: &mut Lcg, col: &Col, group_safe: bool) -> String {
    let c = &col.text;
    if col.def.ci_dups && group_safe {
        return match r.below(3) {
            0 => format!("UPPER({c})"),
            1 => format!("LOWER({c})"),
            _ => format!("LENGTH({c})"),
        };
    }
    if r.chance(50) {
        return c.clone();
    }
    match col.def.ty {
        Ty::Int => match r.below(8) {
            7 => format!("CAST({c} AS CHAR)"),
            0 => format!("{c} + 1"),
            1 => format!("{c} * 2"),
            2 => format!("{c} % 3"),
            3 => format!("COALESCE({c}, 0)"),
            4 => format!("IF({c} > 5, 'hi', 'lo')"),
            5 => format!("-{c}"),
            _ => format!("{c} DIV 1000"),
        },
        Ty::Dec => match r.below(6) {
            5 => format!("CAST({c} AS CHAR)"),
            0 => format!("ROUND({c})"),
            1 => format!("{c} * 2"),
            2 => format!("ABS({c})"),
            3 => format!("FLOOR({c} / 1000)"),
            _ => format!("{c} - 100"),
        },
        Ty::Str => match r.below(6) {
            5 => format!("REVERSE({c})"),
            0 => format!("UPPER({c})"),
            1 => format!("LEFT({c}, 2)"),
            2 => format!("COALESCE({c}, 'none')"),
            3 => format!("CONCAT({c}, '!')"),
            _ => format!("LENGTH({c})"),
        },
        Ty::Date => match r.below(6) {
            5 => format!("DATE_FORMAT({c}, '%d/%m/%Y')"),
            0 => format!("YEAR({c})"),
            1 => format!("MONTH({c})"),
            2 => format!("DATE_FORMAT({c}, '%Y-%m')"),
            3 => format!("{c} + INTERVAL 1 DAY"),
            _ => format!("DATEDIFF({c}, '2020-01-01')"),
        },
    }
}

/// A GROUP_CONCAT with one right answer: DISTINCT over values shown one way (the
/// collation's equal spellings only through UPPER/LOWER/LENGTH), or every row's own
/// values ordered by keys ending with the rows' unique key; DESC keys, separators and
/// several arguments now and then.
fn group_concat(r: &mut Lcg, src: &Src, col: &Col) -> String {
    let dir = |r: &mut Lcg| if r.chance(30) { " DESC" } else { "" };
    let sep = match r.below(5) {
        0 => " SEPARATOR ''",
        1 => " SEPARATOR ' | '",
        2 => " SEPARATOR ';'",
        _ => "",
    };
    if r.chance(35) {
        let e = expr(r, col, true);
        let d = dir(r);
        return format!("GROUP_CONCAT(DISTINCT {e} ORDER BY {e}{d}{sep})");
    }
    let mut args = vec![expr(r, col, false)];
    if r.chance(30) {
        let other = pick_col(r, src);
        args.push("':'".to_string());
        args.push(expr(r, other, false));
    }
    let mut order = Vec::new();
    if r.chance(60) {
        let k = pick_col(r, src);
        order.push(format!("{}{}", expr(r, k, true), dir(r)));
    }
    for key in &src.keys {
        order.push(format!("{key}{}", dir(r)));
    }
    format!(
        "GROUP_CONCAT({} ORDER BY {}{sep})",
        args.join(", "),
        order.join(", ")
    )
}

fn pick_col<'a>(r: &mut Lcg, src: &'a Src) -> &'a Col {
    &src.cols[r.below(src.cols.len() as u64) as usize]
}

/// An aggregate call. `avg_double`: AVG may be read in a DOUBLE context (`AVG(x) *
/// 1e0`): not when the statement groups by an indexed column, which one server may read
/// along its index, getting the double the router cannot know it gets (a documented
/// limit).
fn aggregate(r: &mut Lcg, src: &Src, avg_double: bool) -> String {
    let col = pick_col(r, src);
    let numeric = matches!(col.def.ty, Ty::Int | Ty::Dec);
    let plain = match r.below(if numeric { 12 } else { 7 }) {
        0 => "COUNT(*)".into(),
        1 => format!("COUNT({})", col.text),
        2 => {
            if r.chance(40) {
                format!("COUNT(DISTINCT {})", expr(r, col, true))
            } else {
                format!("MIN(DISTINCT {})", expr(r, col, true))
            }
        }
        3 => format!("MIN({})", expr(r, col, true)),
        4 => format!("MAX({})", expr(r, col, true)),
        5 => {
            if r.chance(50) {
                group_concat(r, src, col)
            } else {
                format!("COUNT({})", expr(r, col, false))
            }
        }
        6 => {
            let other = pick_col(r, src);
            format!("SUM(CASE WHEN {} THEN 1 ELSE 0 END)", predicate(r, other))
        }
        7 | 8 => format!("SUM({})", numeric_expr(r, col)),
        9 => format!("AVG({})", numeric_expr(r, col)),
        10 => format!("MAX({})", numeric_expr(r, col)),
        _ => {
            if r.chance(15) {
                format!("SUM(DISTINCT {})", col.text)
            } else {
                format!("AVG({})", col.text)
            }
        }
    };
    // Now and then a function of the aggregate (the router recomputes it from the
    // merged aggregates), or arithmetic with another aggregate.
    if r.chance(70) {
        return plain;
    }
    // A text aggregate: now and then a text result over it (computed by the router).
    let text = matches!(col.def.ty, Ty::Str)
        && ["MIN(", "MAX(", "GROUP_CONCAT("]
            .iter()
            .any(|p| plain.starts_with(p));
    if text && r.chance(50) {
        return match r.below(4) {
            0 => format!("IFNULL({plain}, 'none')"),
            1 => format!("COALESCE({plain}, '')"),
            2 => format!("IF(COUNT(*) > 3, {plain}, 'few')"),
            _ => format!("CASE WHEN SUM(1) > 1 THEN {plain} ELSE NULL END"),
        };
    }
    let num = |r: &mut Lcg| {
        let c = pick_col(r, src);
        let c = match c.def.ty {
            Ty::Int | Ty::Dec => c.text.clone(),
            _ => format!("LENGTH({})", c.text),
        };
        match r.below(4) {
            0 => format!("AVG({c})"),
            1 => format!("MAX({c})"),
            2 => "COUNT(*)".to_string(),
            _ => format!("SUM({c})"),
        }
    };
    match r.below(25) {
        // Where a DOUBLE is wanted: AVG reads as sum / count in doubles when MariaDB
        // groups without a temporary table (the router follows the statement's form).
        22..=24 if !avg_double && plain.starts_with("AVG(") => format!("{plain} * 2"),
        22 => format!("{plain} * {}", r.pick(&["1e0", "0.5e0", "3e0"])),
        23 => format!("'{}' / {plain}", r.pick(&["7", "2020", "1.5"])),
        24 => format!("IFNULL({plain}, {})", r.pick(&["1e0", "0"])),
        0 => format!("{plain} * 2"),
        1 => format!("IFNULL({plain}, 0)"),
        2 => format!("COALESCE({plain}, -1)"),
        3 => format!(
            "ROUND({plain}, {})",
            r.pick(&["0", "1", "2", "-1", "-3", "6"])
        ),
        4 => format!("TRUNCATE({plain}, {})", r.pick(&["0", "1", "-2", "5"])),
        5 => format!("{plain} / COUNT(*)"),
        6 => format!("{plain} - {}", num(r)),
        7 => format!("{plain} + {}", num(r)),
        8 => format!("{plain} / {}", num(r)),
        9 => format!("ROUND({plain} / {}, {})", num(r), r.pick(&["1", "2", "4"])),
        10 => format!("FLOOR({plain})"),
        11 => format!("CEIL({plain} / 3)"),
        12 => format!("ABS({plain} - 100)"),
        13 => format!("{plain} DIV 3"),
        14 => format!("{plain} % 7"),
        15 => format!("GREATEST({plain}, {})", num(r)),
        16 => format!("LEAST({plain}, 100)"),
        17 => format!("NULLIF({plain}, 0)"),
        18 => format!("IF({plain} > 100, 1, 0)"),
        19 => format!(
            "CASE WHEN {plain} IS NULL THEN -1 WHEN {plain} > 10 THEN {plain} * 3 ELSE 0 END"
        ),
        20 => format!("-{plain}"),
        _ => format!("{plain} * {plain}"),
    }
}

fn numeric_expr(r: &mut Lcg, col: &Col) -> String {
    let c = &col.text;
    match r.below(6) {
        0 => format!("{c} * 2"),
        1 => format!("{c} - 1"),
        2 => format!("COALESCE({c}, 0)"),
        _ => c.clone(),
    }
}

/// A select item: its text, and the alias when it has one.
struct Item {
    expr: String,
    alias: Option<String>,
}

impl Item {
    fn render(&self) -> String {
        match &self.alias {
            Some(a) => format!("{} AS {a}", self.expr),
            None => self.expr.clone(),
        }
    }

    /// How ORDER BY / GROUP BY may name select item `pos` (from 1).
    fn reference(&self, r: &mut Lcg, pos: usize) -> String {
        match (r.below(3), &self.alias) {
            (0, Some(a)) => a.clone(),
            (1, _) => pos.to_string(),
            _ => self.expr.clone(),
        }
    }
}

fn dir(r: &mut Lcg) -> &'static str {
    r.pick(&["", "", " ASC", " DESC"])
}

fn limit(r: &mut Lcg) -> String {
    match r.below(6) {
        0 => String::new(),
        1 => format!(" LIMIT {}", r.below(30)),
        2 => format!(" LIMIT {}, {}", r.below(3100), 1 + r.below(40)),
        3 => format!(" LIMIT {} OFFSET {}", 1 + r.below(60), r.below(200)),
        4 => format!(" LIMIT {}", 1 + r.below(3)),
        _ => format!(" LIMIT {} OFFSET {}", 1 + r.below(20), 1400 + r.below(200)),
    }
}

/// Now and then renames an item after a column of the source (`SELECT level * 2 AS
/// level`), unless that name is part of `keep` (texts an ORDER BY relies on).
fn clash_aliases(r: &mut Lcg, src: &Src, items: &mut [Item], keep: &[String]) {
    for it in items.iter_mut() {
        if !r.chance(12) {
            continue;
        }
        let name = pick_col(r, src).def.name;
        let used = keep.iter().any(|k| {
            k.split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                .any(|w| w == name)
        });
        if name != "id" && name != "order_id" && !used {
            it.alias = Some(name.to_string());
        }
    }
}

fn aliased(r: &mut Lcg, n: usize, expr: String) -> Item {
    let alias = r.chance(40).then(|| format!("a{n}"));
    Item { expr, alias }
}

/// SELECT [DISTINCT] items without aggregates.
fn plain(r: &mut Lcg, src: &Src) -> String {
    let distinct = r.chance(20);
    let n = 1 + r.below(4) as usize;
    let mut constants = 0;
    let mut items: Vec<Item> = (0..n)
        .map(|k| {
            if r.chance(5) {
                constants += 1;
                let e = r.pick(&["'x'", "42", "NULL", "1.5"]).to_string();
                return aliased(r, k, e);
            }
            let col = pick_col(r, src);
            let e = expr(r, col, distinct);
            aliased(r, k, e)
        })
        .collect();
    clash_aliases(r, src, &mut items, &src.keys);
    let mut list: Vec<String> = items.iter().map(Item::render).collect();
    if !distinct && r.chance(6) {
        // `*` (or `t.*`) first: positions then count the table's columns first.
        let star = if src.from.contains(' ') {
            format!("{}.*", src.cols[0].text.split('.').next().unwrap_or("*"))
        } else {
            "*".to_string()
        };
        list.insert(0, star);
    }
    let mut sql = format!(
        "SELECT {}{} FROM {}",
        if distinct { "DISTINCT " } else { "" },
        list.join(", "),
        src.from
    );
    if let Some(w) = where_clause(r, src) {
        sql += &format!(" WHERE {w}");
    }
    if r.chance(60) {
        let mut order: Vec<String> = Vec::new();
        for _ in 0..r.below(3) {
            if distinct || r.chance(60) {
                let k = r.below(items.len() as u64) as usize;
                order.push(format!("{}{}", items[k].reference(r, k + 1), dir(r)));
            } else {
                let col = pick_col(r, src);
                order.push(format!("{}{}", expr(r, col, false), dir(r)));
            }
        }
        if distinct {
            // Every item: the rows are distinct, so that is a total order.
            for k in 0..items.len() {
                order.push(format!("{}{}", k + 1, dir(r)));
            }
        } else {
            for key in &src.keys {
                order.push(format!("{key}{}", dir(r)));
            }
        }
        sql += &format!(" ORDER BY {}", order.join(", "));
        // MariaDB 10.11 answers `SELECT DISTINCT <constants> ... LIMIT n OFFSET m` with
        // its one row whatever the offset (a server bug the router does not copy).
        if !(distinct && constants == n) {
            sql += &limit(r);
        }
    }
    sql
}

/// A HAVING condition over aggregates (or select aliases of them).
fn having(r: &mut Lcg, src: &Src, aggs: &[Item]) -> String {
    let one = |r: &mut Lcg| -> String {
        let (e, numeric) = match r.below(3) {
            0 if !aggs.is_empty() => {
                let a = &aggs[r.below(aggs.len() as u64) as usize];
                let numeric = !a.expr.starts_with("MIN")
                    && !a.expr.starts_with("MAX")
                    && !a.expr.starts_with("GROUP_CONCAT");
                let e = match (&a.alias, r.chance(50)) {
                    (Some(al), true) => al.clone(),
                    _ => a.expr.clone(),
                };
                (e, numeric)
            }
            1 => ("COUNT(*)".to_string(), true),
            _ => {
                let col = pick_col(r, src);
                if matches!(col.def.ty, Ty::Int | Ty::Dec) {
                    (format!("SUM({})", col.text), true)
                } else {
                    (format!("COUNT(DISTINCT {})", expr(r, col, true)), true)
                }
            }
        };
        if numeric {
            let v = match r.below(3) {
                0 => r.below(10).to_string(),
                1 => r.below(500).to_string(),
                _ => (r.below(100_000) * 10).to_string(),
            };
            format!("{e} {} {v}", r.pick(&[">", "<", ">=", "<>", "="]))
        } else if r.chance(50) {
            // MIN/MAX of text, dates or numbers against a literal of another type.
            let v = r.pick(&[
                "'M'",
                "'b'",
                "'2020-01-01'",
                "'2020-1-5'",
                "100",
                "'100'",
                "'Wuhan'",
                "'10'",
            ]);
            format!("{e} {} {v}", r.pick(&[">", "<", ">=", "=", "<>"]))
        } else {
            format!("{e} IS NOT NULL")
        }
    };
    let mut h = one(r);
    if r.chance(25) {
        h = format!("{h} {} {}", r.pick(&["AND", "OR"]), one(r));
    }
    h
}

/// SELECT with aggregates, with or without GROUP BY.
fn grouped(r: &mut Lcg, src: &Src) -> String {
    let nkeys = if r.chance(20) {
        0
    } else {
        1 + r.below(2) as usize
    };
    let keys: Vec<Item> = (0..nkeys)
        .map(|k| {
            let col = pick_col(r, src);
            let e = expr(r, col, true);
            aliased(r, k, e)
        })
        .collect();
    // A key on an indexed column (the tables' primary keys, order_item.order_id).
    let indexed = keys
        .iter()
        .any(|k| matches!(k.expr.rsplit('.').next(), Some("id" | "order_id")));
    let naggs = 1 + r.below(3) as usize;
    let mut aggs: Vec<Item> = (0..naggs)
        .map(|k| {
            let e = aggregate(r, src, !indexed);
            aliased(r, 10 + k, e)
        })
        .collect();
    let key_texts: Vec<String> = keys.iter().map(|k| k.expr.clone()).collect();
    // (Not on keys: `GROUP BY` a name that is also a column groups by the column, and
    // the key's own value would then be any row's.)
    clash_aliases(r, src, &mut aggs, &key_texts);
    // Keys are selected (usually first), aggregates after them.
    let shown: Vec<bool> = keys.iter().map(|_| r.chance(85)).collect();
    let mut items: Vec<&Item> = Vec::new();
    for (k, s) in keys.iter().zip(&shown) {
        if *s {
            items.push(k);
        }
    }
    if r.chance(80) {
        items.extend(aggs.iter());
    } else {
        let mut v: Vec<&Item> = aggs.iter().collect();
        v.extend(items);
        items = v;
    }
    let pos = |it: &Item| {
        items
            .iter()
            .position(|x| std::ptr::eq(*x, it))
            .map(|p| p + 1)
    };
    // How ORDER BY / GROUP BY / HAVING name a key.
    let key_ref = |r: &mut Lcg, k: &Item| match pos(k) {
        Some(p) => k.reference(r, p),
        None => k.expr.clone(),
    };
    let list: Vec<String> = items.iter().map(|i| i.render()).collect();
    let mut sql = format!("SELECT {} FROM {}", list.join(", "), src.from);
    if let Some(w) = where_clause(r, src) {
        sql += &format!(" WHERE {w}");
    }
    // GROUP BY k DESC without ORDER BY sorts the groups (on every key, so totally).
    let group_dirs = !keys.is_empty() && r.chance(10);
    if !keys.is_empty() {
        let g: Vec<String> = keys
            .iter()
            .map(|k| {
                let d = if group_dirs {
                    r.pick(&[" ASC", " DESC"])
                } else {
                    ""
                };
                format!("{}{d}", key_ref(r, k))
            })
            .collect();
        sql += &format!(" GROUP BY {}", g.join(", "));
    }
    if r.chance(30) {
        let mut h = having(r, src, &aggs);
        if !keys.is_empty() && r.chance(30) {
            let k = &keys[r.below(keys.len() as u64) as usize];
            let name = match (&k.alias, pos(k)) {
                (Some(a), Some(_)) if r.chance(50) => a.clone(),
                _ => k.expr.clone(),
            };
            h = format!("{h} {} {name} IS NOT NULL", r.pick(&["AND", "OR"]));
        }
        sql += &format!(" HAVING {h}");
    }
    if group_dirs {
        // (The harness reads GROUP BY directions only without subqueries.)
        if r.chance(50) && !sql.contains("(SELECT") {
            sql += &limit(r);
        }
    } else if !keys.is_empty() && r.chance(65) {
        let mut order: Vec<String> = Vec::new();
        for _ in 0..r.below(3) {
            match r.below(5) {
                0 | 1 => {
                    let a = &aggs[r.below(aggs.len() as u64) as usize];
                    let p = pos(a).unwrap_or(0);
                    order.push(format!("{}{}", a.reference(r, p), dir(r)));
                }
                2 => {
                    // An aggregate that is not selected.
                    order.push(format!("{}{}", aggregate(r, src, !indexed), dir(r)));
                }
                _ => {
                    let k = &keys[r.below(keys.len() as u64) as usize];
                    let e = key_ref(r, k);
                    order.push(format!("{e}{}", dir(r)));
                }
            }
        }
        // Every GROUP BY key: one row per group, so a total order.
        for k in &keys {
            let e = key_ref(r, k);
            order.push(format!("{e}{}", dir(r)));
        }
        sql += &format!(" ORDER BY {}", order.join(", "));
        sql += &limit(r);
    } else if keys.is_empty() && r.chance(10) {
        // One row (or none, after HAVING): ORDER BY and LIMIT still apply to it.
        sql += &format!(" ORDER BY 1{}", limit(r));
    }
    sql
}

/// A SELECT over a subquery in FROM, as MyBatis PageHelper and ORMs send them: the
/// inner SELECT gives the source's unique keys (`k0`, ...) and a few expressions
/// (`a0`, ...); the outer counts them (PageHelper's count), pages them (`SELECT * ...
/// ORDER BY ... LIMIT`), or groups them; or the inner SELECT groups by the first key
/// (node-local when that is a sharding column). Now and then the inner SELECT has its
/// own ORDER BY and LIMIT (only right on one node).
fn derived(r: &mut Lcg, src: &Src) -> String {
    let n = 1 + r.below(3) as usize;
    let mut items: Vec<String> = src
        .keys
        .iter()
        .enumerate()
        .map(|(k, e)| format!("{e} AS k{k}"))
        .collect();
    for k in 0..n {
        let col = pick_col(r, src);
        items.push(format!("{} AS a{k}", expr(r, col, true)));
    }
    let wh = where_clause(r, src).map_or(String::new(), |w| format!(" WHERE {w}"));
    let key_order: Vec<String> = (0..src.keys.len()).map(|k| format!("k{k}")).collect();
    let mut inner = format!("SELECT {} FROM {}{wh}", items.join(", "), src.from);
    if r.chance(10) {
        inner += &format!(
            " ORDER BY {} LIMIT {}",
            key_order.join(", "),
            1 + r.below(50)
        );
    }
    match r.below(5) {
        0 => format!("SELECT count(0) FROM ({inner}) tmp_count"),
        1 => {
            // A page: ORDER BY some columns, then every key (a total order).
            let mut order: Vec<String> = Vec::new();
            for _ in 0..r.below(2) {
                order.push(format!("t.a{}{}", r.below(n as u64), dir(r)));
            }
            for k in &key_order {
                order.push(format!("t.{k}{}", dir(r)));
            }
            format!(
                "SELECT * FROM ({inner}) t ORDER BY {}{}",
                order.join(", "),
                limit(r)
            )
        }
        2 => {
            // Grouped outside: one row per a0, ordered by it (a total order).
            let h = if r.chance(30) {
                format!(" HAVING COUNT(*) > {}", r.below(5))
            } else {
                String::new()
            };
            format!(
                "SELECT t.a0, COUNT(*) AS n, COUNT(t.a{}), MAX(t.k0) FROM ({inner}) t GROUP BY t.a0{h} ORDER BY t.a0{}, n{}",
                r.below(n as u64),
                dir(r),
                limit(r)
            )
        }
        3 => {
            // Grouped inside by the first key.
            let key = &src.keys[0];
            let col = pick_col(r, src);
            let m = if matches!(col.def.ty, Ty::Int | Ty::Dec) {
                format!("SUM({})", col.text)
            } else {
                format!("COUNT({})", col.text)
            };
            format!(
                "SELECT COUNT(*), SUM(g.n), MAX(g.m), MIN(g.k) FROM (SELECT {key} AS k, COUNT(*) AS n, {m} AS m FROM {}{wh} GROUP BY {key}) g",
                src.from
            )
        }
        _ => format!(
            "SELECT COUNT(*), COUNT(DISTINCT t.a0), SUM(t.k0) FROM ({inner}) t{}",
            if r.chance(50) {
                format!(" WHERE t.k0 > {}", r.below(6_000_000))
            } else {
                String::new()
            }
        ),
    }
}

/// One statement for the generator's state `r`.
pub fn statement(r: &mut Lcg) -> String {
    let src = source(r);
    match r.below(100) {
        0..=2 => {
            // UNION of two plain SELECTs over one source.
            let col = pick_col(r, &src);
            let e = expr(r, col, true);
            let w1 = where_clause(r, &src).unwrap_or_else(|| "1 = 1".into());
            let w2 = where_clause(r, &src).unwrap_or_else(|| "1 = 1".into());
            format!(
                "SELECT {e} AS u FROM {f} WHERE {w1} {} SELECT {e} FROM {f} WHERE {w2} ORDER BY 1",
                r.pick(&["UNION", "UNION ALL"]),
                f = src.from
            )
        }
        3..=5 => {
            // A derived table.
            let inner = plain(r, &src);
            let agg = r.pick(&["COUNT(*)", "COUNT(DISTINCT t.a0)"]);
            if inner.contains(" AS a0") {
                format!("SELECT {agg} FROM ({inner}) t")
            } else {
                format!("SELECT COUNT(*) FROM ({inner}) t")
            }
        }
        6..=11 => derived(r, &src),
        12..=45 => plain(r, &src),
        _ => grouped(r, &src),
    }
}

/// What a result column of a generated UNION is in every SELECT.
#[derive(Clone, Copy, PartialEq)]
enum UCol {
    /// A column (or literal) of this type; in an aggregating UNION, a GROUP BY key.
    Val(Ty),
    Count,
    /// SUM of an exact number.
    Sum,
    Min(Ty),
    Max(Ty),
}

/// A value of type `ty` from `src` (a column without case-variant duplicates), or a
/// literal of that type when it has none (or now and then anyway).
fn value_of(r: &mut Lcg, src: &Src, ty: Ty) -> String {
    let cols: Vec<&Col> = src
        .cols
        .iter()
        .filter(|c| c.def.ty == ty && !c.def.ci_dups)
        .collect();
    if cols.is_empty() || r.chance(10) {
        return match ty {
            Ty::Int => format!("{}", r.below(20)),
            Ty::Dec => format!("{}.{:02}", r.below(500), r.below(100)),
            Ty::Str => r.pick(&["'x'", "'Wuhan'", "'toys'", "'new'"]).to_string(),
            Ty::Date => format!("DATE '2024-0{}-1{}'", 1 + r.below(9), r.below(10)),
        };
    }
    cols[r.below(cols.len() as u64) as usize].text.clone()
}

/// A numeric column of `src` (exact), or `1`.
fn number_of(r: &mut Lcg, src: &Src) -> String {
    let cols: Vec<&Col> = src
        .cols
        .iter()
        .filter(|c| matches!(c.def.ty, Ty::Int | Ty::Dec))
        .collect();
    if cols.is_empty() {
        return "1".into();
    }
    cols[r.below(cols.len() as u64) as usize].text.clone()
}

/// One SELECT of a generated UNION: its text (parenthesised or not).
fn union_select(r: &mut Lcg, shape: &[UCol], aggregating: bool) -> String {
    // Single tables mostly: their ids order a parenthesised SELECT's own LIMIT.
    let src = if r.chance(75) {
        let t = [
            &CUSTOMER,
            &MY_ORDER,
            &ORDER_ITEM,
            &PRODUCT,
            &USER_INFO,
            &PROVINCE,
        ][r.below(6) as usize];
        single(r, t)
    } else {
        source(r)
    };
    let mut items = Vec::new();
    let mut keys = Vec::new();
    for u in shape {
        let item = match *u {
            UCol::Val(ty) => {
                let v = value_of(r, &src, ty);
                if aggregating
                    && !v.starts_with(['\'', 'D'])
                    && !v.chars().all(|c| c.is_ascii_digit() || c == '.')
                {
                    keys.push(v.clone());
                }
                v
            }
            UCol::Count => r.pick(&["COUNT(*)", "COUNT(*)"]).to_string(),
            UCol::Sum => format!("SUM({})", number_of(r, &src)),
            UCol::Min(ty) => format!("MIN({})", value_of(r, &src, ty)),
            UCol::Max(ty) => format!("MAX({})", value_of(r, &src, ty)),
        };
        items.push(item);
    }
    let mut s = format!("SELECT {} FROM {}", items.join(", "), src.from);
    if let Some(w) = where_clause(r, &src) {
        s.push_str(&format!(" WHERE {w}"));
    }
    if !keys.is_empty() {
        keys.dedup();
        s.push_str(&format!(" GROUP BY {}", keys.join(", ")));
    }
    if r.chance(30) {
        // Parenthesised; a plain one with its own ORDER BY (unique keys) and LIMIT
        // now and then (refused when its rows are on several nodes).
        if !aggregating && r.chance(50) {
            s = format!(
                "({s} ORDER BY {} LIMIT {})",
                src.keys.join(", "),
                1 + r.below(6)
            );
        } else {
            s = format!("({s})");
        }
    }
    s
}

/// A UNION of 2 to 4 SELECTs over the data set: plain ones (columns and literals of
/// one type per result column), or aggregating ones (GROUP BY keys or literals, COUNT,
/// SUM, MIN, MAX at the same positions), some parenthesised with their own ORDER BY
/// and LIMIT, joined by UNION and UNION ALL in any order (plain ones also by INTERSECT
/// and EXCEPT); an ORDER BY every column and a
/// LIMIT when no column is text (equal rows are then the same rows).
pub fn union_statement(r: &mut Lcg) -> String {
    let aggregating = r.chance(40);
    let tys = [Ty::Int, Ty::Dec, Ty::Str, Ty::Date];
    let width = 1 + r.below(3) as usize;
    let mut shape: Vec<UCol> = Vec::with_capacity(width);
    for i in 0..width {
        let ty = tys[r.below(4) as usize];
        shape.push(if !aggregating || (i == 0 && r.chance(70)) {
            UCol::Val(ty)
        } else {
            match r.below(4) {
                0 => UCol::Count,
                1 => UCol::Sum,
                2 => UCol::Min(ty),
                _ => UCol::Max(ty),
            }
        });
    }
    if aggregating && shape.iter().all(|u| matches!(u, UCol::Val(_))) {
        shape[width - 1] = UCol::Count;
    }
    let n = 2 + r.below(3);
    let mut sql = union_select(r, &shape, aggregating);
    for _ in 1..n {
        let op = if aggregating {
            r.pick(&["UNION", "UNION ALL", "UNION ALL"])
        } else {
            r.pick(&["UNION", "UNION ALL", "UNION ALL", "INTERSECT", "EXCEPT"])
        };
        sql = format!("{sql} {op} {}", union_select(r, &shape, aggregating));
    }
    let text = shape.iter().any(|u| {
        matches!(
            u,
            UCol::Val(Ty::Str) | UCol::Min(Ty::Str) | UCol::Max(Ty::Str)
        )
    });
    if !text && r.chance(50) {
        let keys: Vec<String> = (1..=width).map(|i| format!("{i}{}", dir(r))).collect();
        sql = format!("{sql} ORDER BY {}", keys.join(", "));
        if r.chance(60) {
            sql.push_str(&limit(r));
        }
    }
    sql
}
