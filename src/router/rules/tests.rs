//! Documented MyCat behaviours, one by one (the golden vectors cover them in bulk).

use std::path::Path;

use super::*;
use crate::config::router::{Function, FunctionType as T, IntList, KeyType};

fn build(f: Function) -> Partition {
    match Partition::build(&f, Path::new(".")) {
        Ok(p) => p,
        Err(e) => panic!("{f:?}: {e}"),
    }
}

fn func(kind: T) -> Function {
    Function {
        kind: Some(kind),
        ..Default::default()
    }
}

fn map(kind: T, lines: &[&str]) -> Function {
    Function {
        map: lines.iter().map(|s| s.to_string()).collect(),
        ..func(kind)
    }
}

fn node(p: &Partition, v: &str) -> Option<i64> {
    match p.calculate(v) {
        Ok(n) => n,
        Err(e) => panic!("{v:?}: {e}"),
    }
}

#[test]
fn range_long_first_match_wins_and_ends_are_inclusive() {
    let p = build(Function {
        default_node: Some(-1),
        ..map(
            T::RangeLong,
            &["0-500M=0", "500M-1000M=1", "# comment", "", "// also"],
        )
    });
    assert_eq!(node(&p, "5000000"), Some(0));
    assert_eq!(node(&p, "5000001"), Some(1));
    assert_eq!(node(&p, "10000000"), Some(1));
    assert_eq!(node(&p, "10000001"), None);
    assert_eq!(node(&p, "-1"), None);
    assert_eq!(
        p.calculate("abc").unwrap_err().to_string(),
        "`abc` is not a whole number (range-long)"
    );
    assert!(p.calculate(" 12").is_err());
    assert_eq!(node(&p, "１２"), Some(0));
    assert_eq!(p.max_node(), Some(1));

    let p = build(Function {
        default_node: Some(7),
        ..map(T::RangeLong, &["0-10=0", "5-20=1", "2K-3K=2"])
    });
    assert_eq!(node(&p, "7"), Some(0));
    assert_eq!(node(&p, "11"), Some(1));
    assert_eq!(node(&p, "2500"), Some(2));
    assert_eq!(node(&p, "50"), Some(7));
    assert_eq!(p.max_node(), Some(7));
    // BETWEEN: the ranges the span reaches, plus the default for the gaps.
    assert_eq!(p.calculate_range("1", "4"), Some(vec![0]));
    assert_eq!(p.calculate_range("'8'", "12"), Some(vec![0, 1]));
    assert_eq!(p.calculate_range("8", "2100"), Some(vec![0, 1, 2, 7]));
    assert_eq!(p.calculate_range("9", "1"), None);
    assert_eq!(p.calculate_range("x", "1"), None);
}

#[test]
fn range_map_errors_name_the_entry() {
    let e = Partition::build_located(&map(T::RangeLong, &["0-10=0", "10-abc=1"]), Path::new("."))
        .unwrap_err();
    assert_eq!(e.key, "map[1]");
    assert_eq!(
        e.message,
        "map entry 1 (`10-abc=1`): `abc` is not a whole number"
    );
    let e = Partition::build_located(&map(T::RangeLong, &["-5-10=0"]), Path::new(".")).unwrap_err();
    assert_eq!(e.key, "map[0]");
    let e = Partition::build(&func(T::RangeLong), Path::new(".")).unwrap_err();
    assert!(e.contains("needs `map` or `map_file`"), "{e}");
}

#[test]
fn file_map_int_keys_skip_the_default_node_line() {
    let lines = &["10000=0", "10010=1", "DEFAULT_NODE=0"];
    let p = build(map(T::FileMap, lines));
    assert_eq!(node(&p, "10000"), Some(0));
    assert_eq!(node(&p, "10010"), Some(1));
    assert_eq!(node(&p, "10086"), None);
    assert!(matches!(
        p.calculate("2147483648"),
        Err(PartitionError::NotAnInt { .. })
    ));
    let p = build(Function {
        default_node: Some(0),
        ..map(T::FileMap, lines)
    });
    assert_eq!(node(&p, "10086"), Some(0));
    assert_eq!(node(&p, "+10010"), Some(1));
}

#[test]
fn file_map_string_keys_are_exact_and_a_default_line_counts() {
    let p = build(Function {
        key_type: Some(KeyType::String),
        ..map(
            T::FileMap,
            &["bj=0", "sh=1", "gz=2", "sh=3", "DEFAULT_NODE=4"],
        )
    });
    assert_eq!(node(&p, "bj"), Some(0));
    // A later line for the same key wins (a Java HashMap).
    assert_eq!(node(&p, "sh"), Some(3));
    assert_eq!(node(&p, "BJ"), Some(4));
    assert_eq!(node(&p, " bj"), Some(4));
    assert_eq!(p.max_node(), Some(4));
}

#[test]
fn mod_long_falls_back_to_the_string_hash() {
    let p = build(Function {
        count: Some(3),
        ..func(T::ModLong)
    });
    assert_eq!(node(&p, "-7"), Some(1));
    assert_eq!(node(&p, "99999999999999999999"), Some(0));
    // hashCode("polygenelubricants") = Integer.MIN_VALUE: MyCat main takes the abs as a
    // long, 2^31 mod 3 = 2 (the 1.6.76 tag's int abs would stay negative).
    assert_eq!(node(&p, "polygenelubricants"), Some(2));
    assert_eq!(node(&p, "Aa"), node(&p, "BB"));
    assert_eq!(node(&p, "abc"), Some(i64::from(96354 % 3)));
    assert_eq!(p.calculate_range("1", "2"), None);
    // When count divides 2^31 both forms give 0.
    let p = build(Function {
        count: Some(4),
        ..func(T::ModLong)
    });
    assert_eq!(node(&p, "polygenelubricants"), Some(0));
}

#[test]
fn long_xor_high_bits_selects_the_mycat_version() {
    let f = |xor: Option<bool>| {
        build(Function {
            partition_count: Some(IntList(vec![2])),
            partition_length: Some(IntList(vec![512])),
            xor_high_bits: xor,
            ..func(T::Long)
        })
    };
    let (new, default, old) = (f(Some(true)), f(None), f(Some(false)));
    // 0 <= v < 2^32: the same node either way.
    for v in ["0", "511", "512", "1023", "4294967295"] {
        assert_eq!(node(&new, v), node(&old, v), "{v}");
    }
    // -1: (v >>> 32) ^ v = 0xFFFFFFFF_00000000, slot 0; raw, slot 1023.
    assert_eq!(node(&new, "-1"), Some(0));
    assert_eq!(node(&old, "-1"), Some(1));
    // 2^32 + 600: slot 600 ^ 1 = 601 (node 1) either way; 2^32 + 512 * 2^32 folds 512 in.
    assert_eq!(node(&new, "4294967896"), Some(1));
    let v = (513i64 << 32).to_string();
    assert_eq!(node(&new, &v), Some(1));
    assert_eq!(node(&old, &v), Some(0));
    // A snowflake id (ms << 22 | ...): the high bits decide the node in the new form.
    let id = "1234567890123456789";
    let raw = 1234567890123456789i64;
    assert_eq!(node(&old, id), Some(i64::from((raw & 1023) >= 512)));
    assert_eq!(
        node(&new, id),
        Some(i64::from((((raw as u64 >> 32) as i64 ^ raw) & 1023) >= 512))
    );
    assert_eq!(node(&default, id), node(&new, id));
    // Ranges walk the values with the same key.
    assert_eq!(old.calculate_range("-3", "-1"), Some(vec![1]));
    assert_eq!(new.calculate_range("-3", "-1"), Some(vec![0]));
}

#[test]
fn long_and_string_share_1024_slots() {
    let p = build(Function {
        partition_count: Some(IntList(vec![2, 1])),
        partition_length: Some(IntList(vec![256, 512])),
        ..func(T::Long)
    });
    assert_eq!(node(&p, "255"), Some(0));
    assert_eq!(node(&p, "256"), Some(1));
    assert_eq!(node(&p, "511"), Some(1));
    assert_eq!(node(&p, "512"), Some(2));
    assert_eq!(node(&p, "1024"), Some(0));
    assert_eq!(p.max_node(), Some(2));
    assert_eq!(p.calculate_range("200", "300"), Some(vec![0, 1]));
    // Wrapping around the slots: MyCat would say [1] only.
    assert_eq!(p.calculate_range("1000", "1030"), Some(vec![0, 2]));
    assert_eq!(p.calculate_range("0", "5000"), Some(vec![0, 1, 2]));

    let bad = Partition::build_located(
        &Function {
            partition_count: Some(IntList(vec![2])),
            partition_length: Some(IntList(vec![256])),
            ..func(T::Long)
        },
        Path::new("."),
    )
    .unwrap_err();
    assert_eq!(bad.key, "partition_length");
    assert!(bad.message.contains("1024"), "{}", bad.message);
}

#[test]
fn string_hash_slices() {
    let mk = |slice: &str| {
        build(Function {
            partition_count: Some(IntList(vec![1024])),
            partition_length: Some(IntList(vec![1])),
            hash_slice: Some(slice.into()),
            ..func(T::StringHash)
        })
    };
    // With 1024 nodes of one slot, the node is the hash & 1023.
    let h = |s: &str| -> i64 {
        s.encode_utf16()
            .fold(0i64, |h, c| h.wrapping_mul(31).wrapping_add(i64::from(c)))
            & 1023
    };
    let p = mk("0:2");
    assert_eq!(node(&p, "abcdef"), Some(h("ab")));
    assert_eq!(node(&p, "a"), Some(h("a")));
    let p = mk("-4:0");
    assert_eq!(node(&p, "abcdef"), Some(h("cdef")));
    assert_eq!(node(&p, "ab"), Some(h("ab")));
    let p = mk(":");
    assert_eq!(node(&p, "abcdef"), Some(h("abcdef")));
    let p = mk("1:-1");
    assert_eq!(node(&p, "abcdef"), Some(h("bcde")));
    let p = mk("3");
    assert_eq!(node(&p, "abcdef"), Some(h("abc")));
    // Non-BMP characters count as two UTF-16 units.
    let p = mk("0:1");
    assert_eq!(node(&p, "😀"), Some(0xD83D & 1023));
}

#[test]
fn hash_functions_are_total() {
    for (ty, f) in [
        (
            T::Murmur,
            Function {
                count: Some(5),
                ..func(T::Murmur)
            },
        ),
        (
            T::HashMod,
            Function {
                count: Some(4),
                ..func(T::HashMod)
            },
        ),
        (
            T::JumpConsistentHash,
            Function {
                total_buckets: Some(5),
                ..func(T::JumpConsistentHash)
            },
        ),
    ] {
        let p = build(f);
        let max = p.max_node().unwrap();
        for v in [
            "",
            "a",
            "😀",
            "polygenelubricants",
            "-1",
            "12345678901234567890",
        ] {
            let n = node(&p, v).unwrap();
            assert!((0..=max).contains(&n), "{ty} {v:?} -> {n}");
        }
        assert_eq!(p.calculate_range("1", "2"), None);
    }
}

#[test]
fn substring_passes_negatives_through() {
    let p = build(Function {
        start_index: Some(0),
        size: Some(2),
        partition_count: Some(IntList(vec![8])),
        default_partition: Some(0),
        ..func(T::Substring)
    });
    assert_eq!(node(&p, "05abc"), Some(5));
    assert_eq!(node(&p, "12"), Some(0));
    assert_eq!(node(&p, "-1"), Some(-1));
    assert_eq!(node(&p, "-512"), Some(-5));
    assert!(matches!(
        p.calculate("7"),
        Err(PartitionError::TooShort { .. })
    ));
    assert!(matches!(
        p.calculate("ab"),
        Err(PartitionError::NotANumber { .. })
    ));
    assert_eq!(p.max_node(), Some(7));
}

#[test]
fn range_mod_groups() {
    let p = build(Function {
        default_node: Some(32),
        ..map(
            T::RangeMod,
            &[
                "0-200M=5",
                "200M-400M=6",
                "400M-600M=6",
                "600M-800M=8",
                "800M-1000M=7",
            ],
        )
    });
    assert_eq!(node(&p, "2000000"), Some(0));
    assert_eq!(node(&p, "2000001"), Some(5 + 2000001 % 6));
    assert_eq!(node(&p, "10000001"), Some(32));
    assert_eq!(p.max_node(), Some(32));
    assert_eq!(p.calculate_range("0", "3"), Some(vec![0, 1, 2, 3]));
    assert_eq!(p.calculate_range("0", "100"), Some(vec![0, 1, 2, 3, 4]));
    assert_eq!(
        p.calculate_range("1999999", "2000003"),
        Some(vec![0, 4, 8, 9, 10])
    );
    assert_eq!(p.calculate_range("-5", "-1"), Some(vec![32]));
}

#[test]
fn pattern_defaults_non_digits_and_can_return_no_node() {
    let p = build(Function {
        pattern_value: Some(256),
        default_node: Some(2),
        ..map(
            T::Pattern,
            &["1-32=0", "33-64=1", "65-96=2", "97-128=3", "128-256=4"],
        )
    });
    assert_eq!(node(&p, "1"), Some(0));
    assert_eq!(node(&p, "128"), Some(3));
    assert_eq!(node(&p, "256"), None);
    assert_eq!(node(&p, "-1"), Some(2));
    assert_eq!(node(&p, "１２"), Some(2));
    assert!(p.calculate("").is_err());
    assert!(p.calculate("9223372036854775808").is_err());
    assert_eq!(p.calculate_range("1", "2"), None);
}

#[test]
fn dates() {
    let p = build(Function {
        date_format: Some("yyyy-MM-dd".into()),
        begin_date: Some("2014-01-01".into()),
        partition_day: Some(10),
        end_date: Some("2014-03-01".into()),
        ..func(T::Date)
    });
    assert_eq!(node(&p, "2014-01-10"), Some(0));
    assert_eq!(node(&p, "2014-01-11"), Some(1));
    assert_eq!(node(&p, "2013-12-23"), Some(0));
    assert_eq!(node(&p, "2013-12-22"), Some(-1));
    assert_eq!(node(&p, "2014-03-11"), Some(0));
    assert_eq!(p.max_node(), Some(5));
    assert_eq!(
        p.calculate_range("2014-01-05", "2014-01-25"),
        Some(vec![0, 1, 2])
    );
    assert_eq!(
        p.calculate_range("2014-02-25", "2014-03-15"),
        Some(vec![0, 1, 5])
    );
    assert_eq!(p.calculate_range("2014-02-25", "2014-01-15"), None);
    assert_eq!(
        p.calculate("2014/01/01").unwrap_err().to_string(),
        "`2014/01/01` is not a date in the format `yyyy-MM-dd` (date)"
    );

    // natural_day: the day of the month, unless end_date gives fewer than 28 days.
    let nat = |end: Option<&str>| {
        build(Function {
            date_format: Some("yyyy-MM-dd".into()),
            begin_date: Some("2014-01-01".into()),
            end_date: end.map(Into::into),
            partition_day: Some(10),
            natural_day: Some(true),
            ..func(T::Date)
        })
    };
    let p = nat(None);
    assert_eq!(node(&p, "2014-05-31"), Some(30));
    assert_eq!(p.max_node(), Some(30));
    assert_eq!(
        p.calculate_range("2014-02-27", "2014-03-02"),
        Some(vec![0, 1, 26, 27])
    );
    let p = nat(Some("2014-01-20"));
    assert_eq!(node(&p, "2014-05-31"), Some(1));

    // MyCat's `sNaturalDay=1` alone: no begin_date or partition_day needed.
    let only = |begin: Option<&str>, end: Option<&str>| {
        Partition::build(
            &Function {
                date_format: Some("yyyy-MM-dd".into()),
                begin_date: begin.map(Into::into),
                end_date: end.map(Into::into),
                natural_day: Some(true),
                ..func(T::Date)
            },
            Path::new("."),
        )
    };
    let p = only(None, None).expect("natural days alone");
    assert_eq!(node(&p, "2014-01-01"), Some(0));
    assert_eq!(node(&p, "2014-01-20"), Some(19));
    assert_eq!(node(&p, "2014-03-01"), Some(0));
    assert_eq!(node(&p, "2018-03-31"), Some(30));
    assert_eq!(p.max_node(), Some(30));
    assert_eq!(
        p.calculate_range("2014-02-27", "2014-03-02"),
        Some(vec![0, 1, 26, 27])
    );
    // Without begin_date MyCat does not read end_date: still natural days.
    let p = only(None, Some("2014-01-20")).expect("end_date ignored");
    assert_eq!(node(&p, "2014-05-31"), Some(30));
    let p = only(Some("2014-01-02"), None).expect("begin_date alone");
    assert_eq!(node(&p, "2014-01-20"), Some(19));
    // A short end_date turns natural days off; then partition_day is needed.
    let e = only(Some("2014-01-01"), Some("2014-01-20")).unwrap_err();
    assert!(e.contains("needs `partition_day`"), "{e}");
    // Natural days off: both are needed, as before.
    let e = Partition::build(
        &Function {
            date_format: Some("yyyy-MM-dd".into()),
            natural_day: Some(false),
            partition_day: Some(1),
            ..func(T::Date)
        },
        Path::new("."),
    )
    .unwrap_err();
    assert!(e.contains("needs `begin_date`"), "{e}");

    let p = build(Function {
        date_format: Some("yyyy-MM-dd".into()),
        begin_date: Some("2014-01-01".into()),
        end_date: Some("2014-12-01".into()),
        ..func(T::Month)
    });
    assert_eq!(node(&p, "2015-02-01"), Some(1));
    assert_eq!(node(&p, "2013-12-31"), Some(11));
    assert_eq!(p.max_node(), Some(11));
    assert_eq!(
        p.calculate_range("2014-11-15", "2015-01-02"),
        Some(vec![0, 10, 11])
    );
    let p = build(Function {
        date_format: Some("yyyy-MM-dd".into()),
        begin_date: Some("2014-01-01".into()),
        ..func(T::Month)
    });
    assert_eq!(node(&p, "2013-12-31"), Some(0));
    assert_eq!(p.max_node(), None);
    assert_eq!(
        p.calculate_range("2013-11-15", "2014-02-02"),
        Some(vec![0, 1])
    );
}

#[test]
fn latest_month() {
    let p = build(Function {
        split_one_day: Some(24),
        ..func(T::LatestMonth)
    });
    assert_eq!(node(&p, "2014050100"), Some(0));
    assert_eq!(node(&p, "2014053123"), Some(743));
    assert_eq!(node(&p, "2014050124"), Some(24));
    assert!(matches!(
        p.calculate("123"),
        Err(PartitionError::TooShort { .. })
    ));
    assert_eq!(p.max_node(), Some(743));
    assert_eq!(
        p.calculate_range("2014050222", "2014050301"),
        Some(vec![46, 47, 48, 49])
    );
    assert_eq!(p.calculate_range("2014041000", "2014052000"), None);
    let p = build(Function {
        split_one_day: Some(12),
        ..func(T::LatestMonth)
    });
    assert_eq!(node(&p, "2014050223"), Some(23));
}

#[test]
fn config_check_builds_every_rule() {
    let head = "\
router:
  users: [{ name: app, password: x, schemas: [s] }]
  schemas: [{ name: s, tables: [{ name: t, data_nodes: \"dn$0-1\", rule: r }] }]
  data_nodes: [{ name: dn$0-1, data_host: h, database: d$0-1 }]
  data_hosts: [{ name: h, write_hosts: [{ host: M, url: \"127.0.0.1:3306\", user: u }] }]
  rules:
    - name: r
      column: id
";
    let errors = |function: &str| -> Vec<String> {
        crate::config::check_str(&format!("{head}{function}"), "t.yaml", Path::new("."))
            .errors()
            .iter()
            .map(|d| d.to_string())
            .collect()
    };
    assert_eq!(
        errors("      function: { type: range-long, map: [\"0-500M=0\", \"500M-x=1\"] }\n"),
        vec![
            "t.yaml:9:55: router.rules[0].function.map[1]: map entry 1 (`500M-x=1`): `x` is not a whole number"
        ]
    );
    assert_eq!(
        errors(
            "      function: { type: long, partition_count: \"2,1\", partition_length: \"256,256\" }\n"
        ),
        vec![
            "t.yaml:9:73: router.rules[0].function.partition_length: the nodes must share exactly 1024 slots, but 2×256 + 1×256 = 768"
        ]
    );
    assert_eq!(
        errors("      function: { type: mod-long, count: 3 }\n"),
        vec![
            "t.yaml:3:72: router.schemas[0].tables[0].rule: rule `r` can place rows on node index 2 but table `t` has only 2 data nodes"
        ]
    );
    assert_eq!(
        errors(
            "      function: { type: date, date_format: yyyy-MM-dd, begin_date: \"2014/01/01\", partition_day: 1 }\n"
        ),
        vec![
            "t.yaml:9:68: router.rules[0].function.begin_date: `2014/01/01` is not a date in the format `yyyy-MM-dd`"
        ]
    );
    // Problems the decoder reports are not repeated.
    assert_eq!(
        errors("      function: { type: mod-long }\n"),
        vec!["t.yaml:9:19: router.rules[0].function: a `mod-long` function needs `count`"]
    );
    assert!(errors("      function: { type: mod-long, count: 2 }\n").is_empty());
    assert!(errors("      function: { type: date, date_format: yyyy-MM-dd, begin_date: \"2014-01-01\", partition_day: 1 }\n").is_empty());
    // Natural days need neither begin_date nor partition_day, but 31 nodes; the error
    // says what MyCat does with such a table.
    assert_eq!(
        errors("      function: { type: date, date_format: yyyy-MM-dd, natural_day: true }\n"),
        vec![
            "t.yaml:3:72: router.schemas[0].tables[0].rule: rule `r` can place rows on node index 30 but table `t` has only 2 data nodes: `natural_day: true` puts a row on node (day of the month - 1), so the table needs 31 data nodes. MyCat 1.6 loads such a table (it checks the node count of a date rule only when it has `end_date`) and then fails every statement dated from the 3rd to the 31st of a month (node index 2 and up does not exist), so only rows dated up to the 2nd can exist there; tandem refuses the rule instead of routing some dates nowhere: give the table 31 data nodes, or use `begin_date` with `partition_day`"
        ]
    );
    assert_eq!(
        errors("      function: { type: date, date_format: yyyy-MM-dd, natural_day: false }\n"),
        vec![
            "t.yaml:9:19: router.rules[0].function: a `date` function needs `begin_date` (or `natural_day: true`: the node of a row is then its day of the month - 1)",
            "t.yaml:9:19: router.rules[0].function: a `date` function needs `partition_day` (or `natural_day: true`: the node of a row is then its day of the month - 1)"
        ]
    );
    assert_eq!(
        errors(
            "      function: { type: date, date_format: yyyy-MM-dd, natural_day: true, begin_date: \"2014-01-01\", end_date: \"2014-01-10\" }\n"
        ),
        vec![
            "t.yaml:9:19: router.rules[0].function: `end_date` is fewer than 28 days after `begin_date`, which turns `natural_day` off (as in MyCat); then the function needs `partition_day`"
        ]
    );
}

/// `calculate_range` against brute force: exactly the nodes of the values in between.
#[test]
fn ranges_are_exact_for_numbers() {
    let fns = [
        build(Function {
            default_node: Some(9),
            ..map(
                T::RangeLong,
                &["0-100=0", "101-200=2", "300-400=1", "150-350=3"],
            )
        }),
        build(map(T::RangeLong, &["0-100=0", "101-200=2", "300-400=1"])),
        build(Function {
            default_node: Some(20),
            ..map(
                T::RangeMod,
                &["0-100=3", "101-300=2", "350-1000=4", "50-500=1"],
            )
        }),
        build(map(T::RangeMod, &["0-100=3", "101-300=2", "350-1000=4"])),
        build(Function {
            partition_count: Some(IntList(vec![2, 1])),
            partition_length: Some(IntList(vec![256, 512])),
            ..func(T::Long)
        }),
    ];
    let mut s: u64 = 42;
    let mut next = move || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        s >> 33
    };
    for p in &fns {
        for _ in 0..400 {
            let b = (next() % 1400) as i64 - 200;
            let e = b + (next() % 600) as i64;
            let brute: Vec<i64> = {
                let mut v: Vec<i64> = (b..=e)
                    .filter_map(|x| p.calculate(&x.to_string()).ok().flatten())
                    .collect();
                v.sort_unstable();
                v.dedup();
                v
            };
            let got = p.calculate_range(&b.to_string(), &e.to_string());
            let want = (!brute.is_empty()).then_some(brute);
            assert_eq!(got, want, "{p:?} {b}..{e}");
        }
    }
}

#[test]
fn partitions_can_be_shared_between_threads() {
    fn shared<T: Send + Sync + 'static>() {}
    shared::<Partition>();
    shared::<PartitionError>();
}

#[test]
fn month_without_begin_date_is_the_month_of_the_year() {
    // MyCat's PartitionByMonth with neither sBeginDate nor sEndDate: 12 nodes, January
    // on node 0; a range wraps through the months it covers.
    let p = build(Function {
        date_format: Some("yyyy-MM-dd".into()),
        ..func(T::Month)
    });
    assert_eq!(node(&p, "2014-01-31"), Some(0));
    assert_eq!(node(&p, "2014-03-15"), Some(2));
    assert_eq!(node(&p, "2015-12-01"), Some(11));
    assert!(p.calculate("15/03/2014").is_err());
    assert_eq!(
        p.calculate_range("2014-11-02", "2015-02-01"),
        Some(vec![0, 1, 10, 11])
    );
    assert_eq!(
        p.calculate_range("2014-01-01", "2014-12-31"),
        Some((0..12).collect())
    );
    // A pattern rule without pattern_value takes MyCat's 1024.
    let p = build(map(T::Pattern, &["0-511=0", "512-1023=1"]));
    assert_eq!(node(&p, "1024"), Some(0));
    assert_eq!(node(&p, "1536"), Some(1));
}

#[test]
fn crc32slot_default_split_and_slot_maps() {
    // The CRC-32 check value.
    assert_eq!(super::hash::crc32(b"123456789"), 0xCBF4_3926);
    let slot = |v: &str| super::hash::crc32(v.as_bytes()) as usize % super::hash::CRC32_SLOTS;
    // MyCat's first-start file for 7 nodes: 14628 slots each, the rest on the last.
    let p = build(Function {
        count: Some(7),
        ..func(T::Crc32Slot)
    });
    assert_eq!(p.max_node(), Some(6));
    for v in ["0", "1", "abc", "北京", "😀", ""] {
        let s = slot(v);
        assert_eq!(node(&p, v), Some((s / 14628).min(6) as i64), "{v}");
    }
    // The same table written as MyCat's ruledata file (hash-table order).
    let file = build(Function {
        count: Some(7),
        ..map(
            T::Crc32Slot,
            &[
                "#WARNING   !!!Please do not modify or delete this file!!!",
                "6=87768-102399",
                "5=73140-87767",
                "4=58512-73139",
                "3=43884-58511",
                "2=29256-43883",
                "1=14628-29255",
                "0=0-14627",
            ],
        )
    });
    for i in 0..2000 {
        let v = format!("k{i}");
        assert_eq!(node(&file, &v), node(&p, &v), "{v}");
    }
    let with_count = |lines: &[&str], count: u32| {
        Partition::build_located(
            &Function {
                count: Some(count),
                ..map(T::Crc32Slot, lines)
            },
            Path::new("."),
        )
    };
    let migrated = match with_count(&["0=0-100", "1=50-60,200", "2= 55 - 56 "], 3) {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    };
    let by_slot = |p: &Partition, s: usize| -> i64 {
        // A value that lands on slot `s`.
        let v = (0u64..)
            .map(|i| i.to_string())
            .find(|v| slot(v) == s)
            .unwrap_or_default();
        node(p, &v).unwrap_or(-1)
    };
    assert_eq!(by_slot(&migrated, 10), 0);
    // Later nodes overwrite earlier ones; a single number is one slot.
    assert_eq!(by_slot(&migrated, 50), 1);
    assert_eq!(by_slot(&migrated, 55), 2);
    assert_eq!(by_slot(&migrated, 200), 1);
    // A slot no line covers is on node 0, as in MyCat.
    assert_eq!(by_slot(&migrated, 300), 0);
    assert_eq!(migrated.max_node(), Some(2));
    // MyCat refuses to start with these.
    let err = |lines: &[&str], count: u32| match with_count(lines, count) {
        Ok(_) => panic!("{lines:?} builds"),
        Err(e) => (e.key, e.message),
    };
    assert_eq!(
        err(&["0=0-51199", "1=51200-102399"], 3),
        (
            "count".to_string(),
            "the slot map lists 2 node(s) but `count` is 3: MyCat does not start unless its ruledata file has one line per data node of the table".to_string()
        )
    );
    assert!(err(&["0=0-102400"], 1).1.contains("outside 0-102399"));
    assert!(err(&["0=x-5"], 1).1.contains("`x` is not a slot number"));
    // Guava's splitter drops empty parts: `-1-5` is slots 1-5, as in MyCat.
    assert!(with_count(&["0=-1-5"], 1).is_ok());
    assert!(err(&["0=1-2-3"], 1).1.contains("not a slot range"));
    assert!(err(&["0=1", "0=2"], 1).1.contains("node 0 is listed twice"));
    assert!(err(&["a=1"], 1).1.contains("`a` is not a node index"));
    // More nodes than slots: MyCat's generated `0--1` lines read back as slots 0-1, and
    // the last node takes every slot.
    let p = build(Function {
        count: Some(102_401),
        ..func(T::Crc32Slot)
    });
    assert_eq!(node(&p, "x"), Some(102_400));
    assert_eq!(p.calculate_range("1", "2"), None);
}

#[test]
fn prefix_pattern_sums_the_first_units() {
    let p = build(Function {
        prefix_length: Some(3),
        pattern_value: Some(32),
        ..map(T::PrefixPattern, &["0-7=0", "8-15=1", "16-23=2", "24-30=3"])
    });
    // 'a' + 'b' + 'c' = 294, mod 32 = 6.
    assert_eq!(node(&p, "abcdef"), Some(0));
    // Shorter than the prefix: all of it ('A' = 65 → 1).
    assert_eq!(node(&p, "A"), Some(0));
    assert_eq!(node(&p, ""), Some(0));
    // UTF-16 units: 😀 is two (0xD83D + 0xDE00 = 111165, mod 32 = 29) → 3.
    assert_eq!(node(&p, "😀"), Some(3));
    // 'z' * 3 = 366, mod 32 = 14 → 1; '~' * 3 = 378 → 26 → 3; residue 31: no node.
    assert_eq!(node(&p, "zzz"), Some(1));
    assert_eq!(node(&p, "~~~x"), Some(3));
    assert_eq!(node(&p, "\u{1f}\u{0}\u{0}"), None);
    assert_eq!(p.max_node(), Some(3));
    assert_eq!(p.calculate_range("a", "b"), None);
    // pattern_value defaults to 1024; K = 1000 in the map.
    let p = build(Function {
        prefix_length: Some(2),
        ..map(T::PrefixPattern, &["0-255=0", "256-1K=1"])
    });
    assert_eq!(
        node(&p, "北京"),
        Some(i64::from(0x5317 + 0x4eac) % 1024).map(|h| i64::from(h > 255))
    );
    assert_eq!(node(&p, "\u{3ff}"), None);
    let e = Partition::build_located(&map(T::PrefixPattern, &["0-1=0"]), Path::new("."));
    assert!(e.is_err_and(|e| e.message.contains("needs `prefix_length`")));
}

#[test]
fn range_date_hash_groups_days_and_hashes_the_time() {
    use super::dates::guava_consistent_hash as ch;
    // Guava's consistent hash: 0 for one bucket, always in range, and moving a key only
    // to the new bucket when one is added.
    for input in [0i64, 1, -1, 1_388_534_400_000, i64::MAX, i64::MIN] {
        assert_eq!(ch(input, 1), 0);
        for b in 1..40 {
            let (x, y) = (ch(input, b), ch(input, b + 1));
            assert!((0..b).contains(&x));
            assert!(y == x || y == b, "{input} {b}: {x} → {y}");
        }
    }
    let p = build(Function {
        date_format: Some("yyyy-MM-dd".into()),
        begin_date: Some("2014-01-01".into()),
        partition_day: Some(10),
        group_partition_size: Some(4),
        ..func(T::RangeDateHash)
    });
    // 2014-01-15 is in group 1 (days 10-19): nodes 4..=7, chosen by the time's hash.
    let t = 1_389_744_000_000i64; // 2014-01-15T00:00:00Z
    assert_eq!(node(&p, "2014-01-15"), Some(4 + i64::from(ch(t, 4))));
    // Before begin_date: Java's division truncates, then the group can go negative.
    let n = node(&p, "2013-12-15").unwrap_or(0);
    assert!((-4..0).contains(&n), "{n}");
    assert!(p.calculate("15/01/2014").is_err());
    assert_eq!(p.max_node(), None);
    // BETWEEN: every node of the groups in between (exact).
    assert_eq!(
        p.calculate_range("2014-01-05", "2014-01-15"),
        Some((0..8).collect())
    );
    assert_eq!(p.calculate_range("2014-01-15", "2014-01-05"), None);
    let e = Partition::build_located(
        &Function {
            group_partition_size: None,
            ..Function {
                date_format: Some("yyyy-MM-dd".into()),
                begin_date: Some("2014-01-01".into()),
                partition_day: Some(10),
                ..func(T::RangeDateHash)
            }
        },
        Path::new("."),
    );
    assert!(e.is_err_and(|e| e.message.contains("needs `group_partition_size`")));
}

#[test]
fn month_history_keeps_negative_months() {
    let f = |end: Option<&str>| {
        build(Function {
            date_format: Some("yyyy-MM-dd".into()),
            begin_date: Some("2014-01-01".into()),
            end_date: end.map(String::from),
            ..func(T::MonthHistory)
        })
    };
    let open = f(None);
    assert_eq!(node(&open, "2014-03-10"), Some(2));
    // Unlike `month`, a month before begin_date stays negative (no data node).
    assert_eq!(node(&open, "2013-11-30"), Some(-2));
    assert_eq!(open.max_node(), None);
    assert_eq!(
        open.calculate_range("2013-11-01", "2014-01-31"),
        Some(vec![-2, -1, 0])
    );
    let year = f(Some("2014-12-01"));
    assert_eq!(node(&year, "2013-11-30"), Some(10));
    assert_eq!(node(&year, "2015-02-01"), Some(1));
    assert_eq!(year.max_node(), Some(11));
    assert_eq!(
        year.calculate_range("2014-11-01", "2015-01-31"),
        Some(vec![0, 10, 11])
    );
    let e = Partition::build_located(
        &Function {
            date_format: Some("yyyy-MM-dd".into()),
            ..func(T::MonthHistory)
        },
        Path::new("."),
    );
    assert!(e.is_err_and(|e| e.message.contains("needs `begin_date`")));
}

#[test]
fn murmur_weights_inline_or_from_a_file() {
    let dir = std::env::temp_dir().join(format!("tandem-weights-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("w.properties"), "# weights\n0=3\n1 = 1\n").expect("write");
    let base = Function {
        count: Some(2),
        ..func(T::Murmur)
    };
    let from_file = Partition::build(
        &Function {
            weight_map_file: Some("w.properties".into()),
            ..base.clone()
        },
        &dir,
    );
    let inline = Partition::build(
        &Function {
            weight_map: vec!["# weights".into(), "0=3".into(), "1 = 1".into()],
            ..base.clone()
        },
        &dir,
    );
    let plain = build(base.clone());
    let (Ok(from_file), Ok(inline)) = (from_file, inline) else {
        panic!("weights do not build");
    };
    let mut differs = false;
    for i in 0..500 {
        let v = i.to_string();
        assert_eq!(node(&from_file, &v), node(&inline, &v), "{v}");
        differs |= node(&plain, &v) != node(&inline, &v);
    }
    assert!(differs, "the weights change the ring");
    let both = Partition::build_located(
        &Function {
            weight_map_file: Some("w.properties".into()),
            weight_map: vec!["0=3".into()],
            ..base
        },
        &dir,
    );
    assert!(both.is_err_and(|e| e.key == "weight_map"));
    let _ = std::fs::remove_dir_all(&dir);
}
