//! MyCat 1.6.7.x golden vectors: every row of every TSV in tests/data/mycat-vectors/ (what
//! MyCat's own Java code returns, see its README.md) must come out of `Partition` the same.
//! `CLASS.tsv` holds the newest release's behaviour (tandem's defaults), `CLASS.TAG.tsv` an
//! older release's, reproduced with a function option (`xor_high_bits: false`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use tandem::config::decode::{Ctx, Decode};
use tandem::config::router::Function;
use tandem::config::{self, yaml};
use tandem::router::rules::{Partition, PartitionError};

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/mycat-vectors")
}

/// Every config-id of the README's table, as a `function:` of tandem's config.
const CONFIGS: &[(&str, &str)] = &[
    (
        "autolong_500M_dn-1",
        "{ type: range-long, map_file: maps/autopartition-long-500M.txt, default_node: -1 }",
    ),
    (
        "autolong_10M_dn-1",
        "{ type: range-long, map_file: maps/autopartition-long-10M.txt }",
    ),
    (
        "filemap_int_dn0",
        "{ type: file-map, map_file: maps/partition-hash-int.txt, key_type: int, default_node: 0 }",
    ),
    (
        "filemap_int_dn-1",
        "{ type: file-map, map_file: maps/partition-hash-int.txt, key_type: int }",
    ),
    ("mod_2", "{ type: mod-long, count: 2 }"),
    ("mod_3", "{ type: mod-long, count: 3 }"),
    (
        "long_c2_l512",
        "{ type: long, partition_count: \"2\", partition_length: \"512\" }",
    ),
    (
        "long_c2,1_l256,512",
        "{ type: long, partition_count: \"2,1\", partition_length: \"256,512\" }",
    ),
    (
        "string_c2_l512_slice0:2",
        "{ type: string-hash, partition_length: 512, partition_count: 2, hash_slice: \"0:2\" }",
    ),
    (
        "string_c2_l512_slice-4:0",
        "{ type: string-hash, partition_length: [512], partition_count: [2], hash_slice: \"-4:0\" }",
    ),
    (
        "murmur_seed0_count2_vbt160",
        "{ type: murmur, seed: 0, count: 2, virtual_bucket_times: 160 }",
    ),
    (
        "murmur_seed0_count5_vbt160",
        "{ type: murmur, seed: 0, count: 5, virtual_bucket_times: 160 }",
    ),
    (
        "date_begin20140101_day10",
        "{ type: date, date_format: yyyy-MM-dd, begin_date: \"2014-01-01\", partition_day: 10 }",
    ),
    (
        "date_begin20140101_day10_end20140301",
        "{ type: date, date_format: yyyy-MM-dd, begin_date: \"2014-01-01\", partition_day: 10, end_date: \"2014-03-01\" }",
    ),
    (
        "month_begin20140101",
        "{ type: month, date_format: yyyy-MM-dd, begin_date: \"2014-01-01\" }",
    ),
    (
        "month_begin20140101_end20141201",
        "{ type: month, date_format: yyyy-MM-dd, begin_date: \"2014-01-01\", end_date: \"2014-12-01\" }",
    ),
    (
        "substr_start0_size2_pc8_dp0",
        "{ type: substring, start_index: 0, size: 2, partition_count: 8, default_partition: 0 }",
    ),
    (
        "rangemod_doc_dn32",
        "{ type: range-mod, map_file: maps/partition-range-mod.txt, default_node: 32 }",
    ),
    (
        "pattern_pv256_dn2",
        "{ type: pattern, pattern_value: 256, default_node: 2, map_file: maps/partition-pattern.txt }",
    ),
    ("hashmod_4", "{ type: hash-mod, count: 4 }"),
    ("hashmod_5", "{ type: hash-mod, count: 5 }"),
    (
        "jump_totalBuckets4",
        "{ type: jump-consistent-hash, total_buckets: 4 }",
    ),
    (
        "jump_totalBuckets5",
        "{ type: jump-consistent-hash, total_buckets: 5 }",
    ),
    (
        "latestmonth_split24",
        "{ type: latest-month, split_one_day: 24 }",
    ),
    (
        "latestmonth_split12",
        "{ type: latest-month, split_one_day: 12 }",
    ),
    (
        "long_c2_l512_raw",
        "{ type: long, partition_count: \"2\", partition_length: \"512\", xor_high_bits: false }",
    ),
    (
        "long_c2,1_l256,512_raw",
        "{ type: long, partition_count: \"2,1\", partition_length: \"256,512\", xor_high_bits: false }",
    ),
    ("crc32slot_n1", "{ type: crc32slot, count: 1 }"),
    ("crc32slot_n2", "{ type: crc32slot, count: 2 }"),
    ("crc32slot_n3", "{ type: crc32slot, count: 3 }"),
    ("crc32slot_n7", "{ type: crc32slot, count: 7 }"),
    ("crc32slot_n100", "{ type: crc32slot, count: 100 }"),
    (
        "crc32slot_migrated",
        "{ type: crc32slot, count: 3, map_file: maps/crc32slot-migrated.properties }",
    ),
    (
        "prefix_len5_pv32",
        "{ type: prefix-pattern, prefix_length: 5, pattern_value: 32, map_file: maps/partition-prefix-pattern.txt }",
    ),
    (
        "prefix_len2_pv1024",
        "{ type: prefix-pattern, prefix_length: 2, map_file: maps/partition-prefix-1k.txt }",
    ),
    (
        "rdh_begin20140101_day10_g4",
        "{ type: range-date-hash, date_format: yyyy-MM-dd, begin_date: \"2014-01-01\", partition_day: 10, group_partition_size: 4 }",
    ),
    (
        "rdh_hms_begin20140101_day1_g5",
        "{ type: range-date-hash, date_format: \"yyyy-MM-dd HH:mm:ss\", begin_date: \"2014-01-01 00:00:00\", partition_day: 1, group_partition_size: 5 }",
    ),
    (
        "rdh_hms_begin20140101_day7_g1",
        "{ type: range-date-hash, date_format: \"yyyy-MM-dd HH:mm:ss\", begin_date: \"2014-01-01 00:00:00\", partition_day: 7, group_partition_size: 1 }",
    ),
    (
        "monthhist_begin20140101",
        "{ type: month-history, date_format: yyyy-MM-dd, begin_date: \"2014-01-01\" }",
    ),
    (
        "monthhist_begin20140101_end20141201",
        "{ type: month-history, date_format: yyyy-MM-dd, begin_date: \"2014-01-01\", end_date: \"2014-12-01\" }",
    ),
    (
        "monthhist_begin20140315_end20140601",
        "{ type: month-history, date_format: yyyy-MM-dd, begin_date: \"2014-03-15\", end_date: \"2014-06-01\" }",
    ),
];

/// The TSV files: one per MyCat class (newest release), plus older releases' files.
const FILES: &[&str] = &[
    "AutoPartitionByLong.tsv",
    "LatestMonthPartion.tsv",
    "PartitionByCRC32PreSlot.tsv",
    "PartitionByDate.tsv",
    "PartitionByFileMap.tsv",
    "PartitionByHashMod.tsv",
    "PartitionByJumpConsistentHash.tsv",
    "PartitionByLong.1.6.5-RELEASE.tsv",
    "PartitionByLong.tsv",
    "PartitionByMod.tsv",
    "PartitionByMonth.tsv",
    "PartitionByMonthAndHistory.tsv",
    "PartitionByMurmurHash.tsv",
    "PartitionByPattern.tsv",
    "PartitionByPrefixPattern.tsv",
    "PartitionByRangeDateHash.tsv",
    "PartitionByRangeMod.tsv",
    "PartitionByString.tsv",
    "PartitionDirectBySubString.tsv",
];

/// Decodes a `function:` mapping through the config decoder.
fn decode_function(src: &str) -> Function {
    let node = yaml::parse(src).unwrap_or_else(|e| panic!("{src}: {}", e.message));
    let mut cx = Ctx::new("function.yaml");
    let f = Function::decode(&node, &mut cx);
    assert!(!cx.has_errors(), "{src}: {:?}", cx.diags);
    f.unwrap_or_else(|| panic!("{src}: not decoded"))
}

fn partitions() -> HashMap<&'static str, Partition> {
    CONFIGS
        .iter()
        .map(|(id, src)| {
            let f = decode_function(src);
            let p = Partition::build(&f, &data_dir()).unwrap_or_else(|e| panic!("{id}: {e}"));
            (*id, p)
        })
        .collect()
}

struct Row {
    file: String,
    line: usize,
    function: String,
    config: String,
    input: String,
    node: String,
}

fn rows() -> Vec<Row> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(data_dir())
        .expect("read tests/data/mycat-vectors")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "tsv"))
        .collect();
    files.sort();
    let names: Vec<String> = files
        .iter()
        .filter_map(|p| p.file_name().map(|f| f.to_string_lossy().to_string()))
        .collect();
    assert_eq!(names, FILES, "the TSVs of the README");
    let mut out = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).expect("read a TSV");
        let file = path
            .file_name()
            .map(|f| f.to_string_lossy().to_string())
            .unwrap_or_default();
        let mut lines = text.split('\n');
        assert_eq!(
            lines.next(),
            Some("function\tconfig\tinput\tnode"),
            "{file}"
        );
        for (i, line) in lines.enumerate() {
            if line.is_empty() {
                continue;
            }
            let f: Vec<&str> = line.split('\t').collect();
            assert_eq!(f.len(), 4, "{file}:{}: {line:?}", i + 2);
            out.push(Row {
                file: file.clone(),
                line: i + 2,
                function: f[0].to_string(),
                config: f[1].to_string(),
                input: f[2].to_string(),
                node: f[3].to_string(),
            });
        }
    }
    out
}

/// Whether our error is the kind of exception Java threw.
fn error_matches(java: &str, e: &PartitionError) -> bool {
    use PartitionError::*;
    match java {
        "StringIndexOutOfBoundsException" => matches!(e, TooShort { .. }),
        "NumberFormatException" => matches!(e, NotANumber { .. } | NotAnInt { .. }),
        "IllegalArgumentException" => {
            matches!(e, NotANumber { .. } | NotAnInt { .. } | NotADate { .. })
        }
        _ => false,
    }
}

fn check_rows(parts: &HashMap<&str, Partition>, rows: &[Row]) -> (usize, Vec<String>) {
    let mut checked = 0;
    let mut bad = Vec::new();
    for r in rows {
        let Some(p) = parts.get(r.config.as_str()) else {
            bad.push(format!(
                "{}:{}: unknown config-id `{}` ({})",
                r.file, r.line, r.config, r.function
            ));
            continue;
        };
        checked += 1;
        let got = p.calculate(&r.input);
        let ok = match (r.node.as_str(), &got) {
            ("NULL", Ok(None)) => true,
            (n, Err(e)) if n.starts_with("ERR:") => error_matches(&n[4..], e),
            (n, Ok(Some(v))) => n.parse::<i64>().is_ok_and(|x| x == *v),
            _ => false,
        };
        if !ok {
            bad.push(format!(
                "{}:{}: {} {:?}: MyCat {} but got {:?}",
                r.file, r.line, r.config, r.input, r.node, got
            ));
        }
    }
    (checked, bad)
}

#[test]
fn every_row_matches_mycat() {
    let parts = partitions();
    let rows = rows();
    let (checked, bad) = check_rows(&parts, &rows);
    let total_lines: usize = rows.len();
    assert!(
        bad.is_empty(),
        "{} of {} rows differ from MyCat; the first 20:\n{}",
        bad.len(),
        total_lines,
        bad.iter().take(20).cloned().collect::<Vec<_>>().join("\n")
    );
    assert_eq!(checked, total_lines, "every row is checked");
    // Every config of the README's table has rows.
    for (id, _) in CONFIGS {
        assert!(rows.iter().any(|r| r.config == *id), "no rows for `{id}`");
    }
    eprintln!("{checked} MyCat vector rows checked, 0 mismatches");
}

/// The same functions as rules of a whole router config, checked by `tandem check`'s
/// loader (map files relative to the config's directory), then run against the vectors.
#[test]
fn rules_from_a_router_config_match_mycat() {
    let ids = [
        "autolong_500M_dn-1",
        "filemap_int_dn0",
        "rangemod_doc_dn32",
        "pattern_pv256_dn2",
        "long_c2,1_l256,512",
        "date_begin20140101_day10_end20140301",
        "long_c2_l512_raw",
        "crc32slot_migrated",
        "prefix_len5_pv32",
        "rdh_begin20140101_day10_g4",
        "monthhist_begin20140101_end20141201",
    ];
    let mut rules = String::new();
    let mut tables = String::new();
    for (i, id) in ids.iter().enumerate() {
        let src = CONFIGS
            .iter()
            .find(|(c, _)| c == id)
            .map(|(_, s)| *s)
            .unwrap_or_else(|| panic!("{id}"));
        rules.push_str(&format!(
            "    - {{ name: r{i}, column: id, function: {src} }}\n"
        ));
        tables.push_str(&format!(
            "        - {{ name: t{i}, data_nodes: \"dn$0-32\", rule: r{i} }}\n"
        ));
    }
    let src = format!(
        "router:\n  users: [{{ name: app, password: x, schemas: [s] }}]\n  schemas:\n    - name: s\n      tables:\n{tables}  data_nodes: [{{ name: dn$0-32, data_host: h, database: d$0-32 }}]\n  data_hosts: [{{ name: h, write_hosts: [{{ host: M, url: \"127.0.0.1:3306\", user: u }}] }}]\n  rules:\n{rules}"
    );
    let checked = config::check_str(&src, "t.yaml", &data_dir());
    let errors: Vec<String> = checked.errors().iter().map(|d| d.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}\n{src}");
    let cfg = checked.config.expect("a valid config");
    let router = cfg.router.expect("a router section");
    let mut parts = HashMap::new();
    for (i, id) in ids.iter().enumerate() {
        let rule = &router.rules[i];
        assert_eq!(rule.name, format!("r{i}"));
        let p =
            Partition::build(&rule.function, &data_dir()).unwrap_or_else(|e| panic!("{id}: {e}"));
        parts.insert(*id, p);
    }
    let rows: Vec<Row> = rows()
        .into_iter()
        .filter(|r| ids.contains(&r.config.as_str()))
        .collect();
    assert!(rows.len() > 5000, "{}", rows.len());
    let (checked, bad) = check_rows(&parts, &rows);
    assert!(
        bad.is_empty(),
        "{} mismatches:\n{}",
        bad.len(),
        bad.iter().take(20).cloned().collect::<Vec<_>>().join("\n")
    );
    assert_eq!(checked, rows.len());
}

/// The map files the README lists, byte for byte.
#[test]
fn map_files_are_the_readme_ones() {
    let expect = [
        ("autopartition-long-500M.txt", "0-500M=0\n500M-1000M=1\n"),
        (
            "autopartition-long-10M.txt",
            "0-10000000=0\n10000001-20000000=1\n20000001-30000000=2\n",
        ),
        (
            "partition-hash-int.txt",
            "10000=0\n10010=1\nDEFAULT_NODE=0\n",
        ),
        ("partition-hash-str.txt", "bj=0\nsh=1\ngz=2\n"),
        (
            "partition-prefix-pattern.txt",
            "0-7=0\n8-15=1\n16-23=2\n24-30=3\n",
        ),
        (
            "partition-prefix-1k.txt",
            "# prefix sums mod 1024\n0-255=0\n256-1K=1\n",
        ),
        (
            "crc32slot-migrated.properties",
            "#WARNING   !!!Please do not modify or delete this file!!!\n#Thu Nov 20 10:00:00 UTC 2025\n0=0-30000,60000-60000, 30100 - 30200 \n1=30001-59999,90000-102399\n2=60001-89000,40000-40010\n",
        ),
        (
            "partition-range-mod.txt",
            "0-200M=5\n200M-400M=6\n400M-600M=6\n600M-800M=8\n800M-1000M=7\n",
        ),
        (
            "partition-pattern.txt",
            "1-32=0\n33-64=1\n65-96=2\n97-128=3\n128-256=4\n",
        ),
    ];
    for (name, text) in expect {
        let got = std::fs::read_to_string(data_dir().join("maps").join(name)).expect(name);
        assert_eq!(got, text, "{name}");
    }
}
