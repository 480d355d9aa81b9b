//! Random input never panics the loader, and the loader's verdict is consistent.

use std::path::Path;

use proptest::prelude::*;
use tandem::config;

const KEYS: &[&str] = &[
    "node",
    "log",
    "level",
    "format",
    "observe",
    "listen",
    "allow_remote",
    "stats",
    "uri",
    "auth",
    "realm",
    "refresh",
    "admin",
    "show_legends",
    "maxconnrate",
    "maxsessrate",
    "rate_limit_sessions",
    "queue",
    "agent",
    "track",
    "observe",
    "on_error",
    "disable_on_404",
    "send",
    "inter",
    "port",
    "track_scripts",
    "command",
    "interval",
    "timeout",
    "rise",
    "fall",
    "weight",
    "shell",
    "vrrp",
    "instances",
    "name",
    "interface",
    "virtual_router_id",
    "priority",
    "advert_int",
    "version",
    "nopreempt",
    "preempt_delay",
    "unicast_src_ip",
    "unicast_peers",
    "auth_pass",
    "virtual_ipaddresses",
    "track_interfaces",
    "track_listeners",
    "track_router",
    "garp",
    "notify",
    "sync_groups",
    "balancer",
    "listeners",
    "bind",
    "balance",
    "servers",
    "address",
    "check",
    "type",
    "router",
    "users",
    "schemas",
    "tables",
    "data_nodes",
    "data_hosts",
    "rules",
    "function",
    "map",
    "data_node",
    "data_host",
    "database",
    "write_hosts",
    "url",
    "user",
    "password",
    "<<",
];

const SCALARS: &[&str] = &[
    "1",
    "0",
    "-1",
    "256",
    "1s",
    "100ms",
    "true",
    "false",
    "yes",
    "~",
    "",
    "eth0",
    "VI_1",
    "198.18.0.1",
    "198.18.0.100/24",
    "127.0.0.1:9188",
    "[::1]:1",
    "dn$1-2",
    "dn$0-99999",
    "\"1111\"",
    "'x'",
    "*anchor",
    "&anchor a",
    "!!str 5",
    "|\n  block",
    "{}",
    "[]",
    "3.5",
    "roundrobin",
    "range-long",
    "0-500M=0",
    "2001:db8::1/64",
];

/// A random YAML document built from the config vocabulary, nested a few levels.
fn doc() -> impl Strategy<Value = String> {
    let leaf = prop::sample::select(SCALARS).prop_map(|s| s.to_string());
    let tree = leaf.prop_recursive(4, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4)
                .prop_map(|items| format!("[{}]", items.join(", "))),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..6).prop_map(|kv| {
                let body: Vec<String> = kv.iter().map(|(k, v)| format!("{k}: {v}")).collect();
                format!("{{{}}}", body.join(", "))
            }),
        ]
    });
    prop::collection::vec((prop::sample::select(KEYS), tree), 0..8).prop_map(|kv| {
        kv.iter()
            .map(|(k, v)| format!("{k}: {v}\n"))
            .collect::<String>()
    })
}

fn consistent(src: &str) {
    let c = config::check_str(src, "f.yaml", Path::new("."));
    // Valid exactly when there are no errors; every error has a position or is whole-file.
    assert_eq!(c.is_valid(), c.errors().is_empty(), "{src}");
    for d in c.diagnostics() {
        assert!(d.to_string().starts_with("f.yaml"), "{d}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, .. ProptestConfig::default() })]

    #[test]
    fn structured_random_yaml(src in doc()) {
        consistent(&src);
    }

    #[test]
    fn arbitrary_text(src in "\\PC{0,300}") {
        consistent(&src);
    }

    #[test]
    fn arbitrary_bytes_as_text(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        consistent(&String::from_utf8_lossy(&bytes));
    }

    /// Mutations of a real example: delete, duplicate or replace a slice.
    #[test]
    fn mutated_example(cut in 0usize..4000, len in 0usize..40, insert in "\\PC{0,20}") {
        let base = include_str!("../config/two-box/box-a.yaml");
        let start = base.char_indices().map(|(i, _)| i).nth(cut % base.chars().count()).unwrap_or(0);
        let end = base[start..].char_indices().map(|(i, _)| start + i).nth(len).unwrap_or(base.len());
        let src = format!("{}{}{}", &base[..start], insert, &base[end..]);
        consistent(&src);
    }
}
