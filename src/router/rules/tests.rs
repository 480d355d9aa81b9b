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
    // hashCode("polygenelubricants") = Integer.MIN_VALUE; abs as a long = 2^31.
    assert_eq!(node(&p, "polygenelubricants"), Some((1i64 << 31) % 3));
    assert_eq!(p.calculate_range("1", "2"), None);
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
    // Natural days need neither begin_date nor partition_day, but 31 nodes.
    assert_eq!(
        errors("      function: { type: date, date_format: yyyy-MM-dd, natural_day: true }\n"),
        vec![
            "t.yaml:3:72: router.schemas[0].tables[0].rule: rule `r` can place rows on node index 30 but table `t` has only 2 data nodes"
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
