//! Every class of config error, with its exact `FILE:LINE:COL: key.path: message`.

use std::path::Path;

use tandem::config::{self, Severity};

fn check(src: &str) -> config::Checked {
    config::check_str(src, "t.yaml", Path::new("."))
}

/// Every diagnostic line.
fn lines(src: &str) -> Vec<String> {
    check(src)
        .diagnostics()
        .iter()
        .map(|d| d.to_string())
        .collect()
}

fn errors(src: &str) -> Vec<String> {
    check(src).errors().iter().map(|d| d.to_string()).collect()
}

fn warnings(src: &str) -> Vec<String> {
    check(src)
        .warnings()
        .iter()
        .map(|d| d.to_string())
        .collect()
}

const VRRP_HEAD: &str = "vrrp:\n  instances:\n    - name: VI_1\n      interface: eth0\n";

#[test]
fn unknown_key_with_suggestion() {
    let src = format!("{VRRP_HEAD}      virtual_router_id: 51\n      advret_int: 1s\n");
    assert_eq!(
        errors(&src),
        vec![
            "t.yaml:6:7: vrrp.instances[0].advret_int: unknown key `advret_int`; did you mean `advert_int`?"
        ]
    );
}

#[test]
fn unknown_key_without_close_match_lists_known_keys() {
    let e = errors("observe:\n  zzz: 1\n");
    assert_eq!(e.len(), 1);
    assert!(
        e[0].starts_with(
            "t.yaml:2:3: observe.zzz: unknown key `zzz`; known keys here: allow_remote, listen, stats"
        ),
        "{e:?}"
    );
}

#[test]
fn unknown_top_level_section() {
    assert_eq!(
        errors("routr:\n  listen: 127.0.0.1:1\n"),
        vec!["t.yaml:1:1: routr: unknown key `routr`; did you mean `router`?"]
    );
}

#[test]
fn wrong_types() {
    let src = format!(
        "{VRRP_HEAD}      virtual_router_id: fifty\n      nopreempt: yes\n      unicast_peers: 198.18.0.2\n      garp: 5\n"
    );
    assert_eq!(
        errors(&src),
        vec![
            "t.yaml:5:26: vrrp.instances[0].virtual_router_id: expected a whole number, found `fifty`",
            "t.yaml:6:18: vrrp.instances[0].nopreempt: expected true or false, found `yes`; write `true` or `false`",
            "t.yaml:7:22: vrrp.instances[0].unicast_peers: expected a list, found `198.18.0.2`; write a list: [198.18.0.2]",
            "t.yaml:8:13: vrrp.instances[0].garp: expected a mapping of keys to values, found `5`",
        ]
    );
}

#[test]
fn quoted_number_gets_a_hint() {
    let src = format!("{VRRP_HEAD}      virtual_router_id: \"51\"\n");
    assert_eq!(
        errors(&src),
        vec![
            "t.yaml:5:26: vrrp.instances[0].virtual_router_id: expected a whole number, found the string \"51\"; remove the quotes"
        ]
    );
}

#[test]
fn virtual_router_id_out_of_range() {
    for (v, col) in [("0", 26), ("256", 26)] {
        let src = format!("{VRRP_HEAD}      virtual_router_id: {v}\n");
        assert_eq!(
            errors(&src),
            vec![format!(
                "t.yaml:5:{col}: vrrp.instances[0].virtual_router_id: {v} is out of range: must be between 1 and 255"
            )]
        );
    }
}

#[test]
fn priority_zero() {
    let src = format!("{VRRP_HEAD}      virtual_router_id: 51\n      priority: 0\n");
    assert_eq!(
        errors(&src),
        vec![
            "t.yaml:6:17: vrrp.instances[0].priority: 0 is out of range: must be between 1 and 255"
        ]
    );
}

#[test]
fn v2_advert_int_limits() {
    let short = format!("{VRRP_HEAD}      virtual_router_id: 51\n      advert_int: 500ms\n");
    assert_eq!(
        errors(&short),
        vec![
            "t.yaml:6:19: vrrp.instances[0].advert_int: 500ms is too short for VRRPv2: at least 1s (use `version: 3` for sub-second adverts)"
        ]
    );
    let frac = format!("{VRRP_HEAD}      virtual_router_id: 51\n      advert_int: 1500ms\n");
    assert_eq!(
        errors(&frac),
        vec!["t.yaml:6:19: vrrp.instances[0].advert_int: 1500ms: VRRPv2 adverts are whole seconds"]
    );
    let long = format!("{VRRP_HEAD}      virtual_router_id: 51\n      advert_int: 5m\n");
    assert_eq!(
        errors(&long),
        vec![
            "t.yaml:6:19: vrrp.instances[0].advert_int: 5m is too long: VRRPv2 allows at most 255s"
        ]
    );
    let ok = format!("{VRRP_HEAD}      virtual_router_id: 51\n      advert_int: 2s\n");
    assert!(errors(&ok).is_empty());
}

#[test]
fn v3_advert_int_limits() {
    let short = format!(
        "{VRRP_HEAD}      virtual_router_id: 51\n      version: 3\n      advert_int: 5ms\n"
    );
    assert_eq!(
        errors(&short),
        vec![
            "t.yaml:7:19: vrrp.instances[0].advert_int: 5ms is too short: VRRPv3 allows at least 10ms"
        ]
    );
    let odd = format!(
        "{VRRP_HEAD}      virtual_router_id: 51\n      version: 3\n      advert_int: 15ms\n"
    );
    assert_eq!(
        errors(&odd),
        vec![
            "t.yaml:7:19: vrrp.instances[0].advert_int: 15ms: VRRPv3 adverts are whole centiseconds (multiples of 10ms)"
        ]
    );
    let ok = format!(
        "{VRRP_HEAD}      virtual_router_id: 51\n      version: 3\n      advert_int: 100ms\n      virtual_ipaddresses: [198.18.0.100/24]\n"
    );
    assert!(lines(&ok).is_empty(), "{:?}", lines(&ok));
}

#[test]
fn version_must_be_2_or_3() {
    let src = format!("{VRRP_HEAD}      virtual_router_id: 51\n      version: 4\n");
    assert_eq!(
        errors(&src),
        vec![
            "t.yaml:6:16: vrrp.instances[0].version: VRRP version 4 does not exist: use 2 (RFC 3768) or 3 (RFC 5798)"
        ]
    );
}

#[test]
fn durations_need_units() {
    let src =
        "track_scripts:\n  chk:\n    command: [/bin/true]\n    interval: 2\n    timeout: 1x\n";
    assert_eq!(
        errors(src),
        vec![
            "t.yaml:4:15: track_scripts.chk.interval: `2` has no unit: write e.g. `2s` or `2ms` (units: ms, s, m, h, d)",
            "t.yaml:5:14: track_scripts.chk.timeout: `1x`: unknown unit `x` (units: us, ms, s, m, h, d)",
        ]
    );
}

#[test]
fn addresses_and_cidrs_are_typed() {
    let src = format!(
        "{VRRP_HEAD}      virtual_router_id: 51\n      unicast_src_ip: 198.18.0.300\n      virtual_ipaddresses: [198.18.0.100/40]\nobserve:\n  listen: 127.0.0.1\n"
    );
    assert_eq!(
        errors(&src),
        vec![
            "t.yaml:6:23: vrrp.instances[0].unicast_src_ip: `198.18.0.300` is not an IP address",
            "t.yaml:7:29: vrrp.instances[0].virtual_ipaddresses[0]: `198.18.0.100/40` is not an address with optional prefix, such as 198.18.0.100/24",
            "t.yaml:9:11: observe.listen: `127.0.0.1` has no port: write `127.0.0.1:PORT` (IPv6: `[127.0.0.1]:PORT`)",
        ]
    );
}

#[test]
fn missing_required_keys() {
    let src = "vrrp:\n  instances:\n    - name: VI_1\n";
    assert_eq!(
        errors(src),
        vec![
            "t.yaml:3:7: vrrp.instances[0]: missing required key `interface`",
            "t.yaml:3:7: vrrp.instances[0]: missing required key `virtual_router_id`",
        ]
    );
}

#[test]
fn enum_values_suggest_spelling() {
    let src = "balancer:\n  listeners:\n    - name: l\n      bind: 127.0.0.1:3306\n      balance: roundrobn\n      servers: [{ name: a, address: \"127.0.0.1:1\" }]\n";
    assert_eq!(
        errors(src),
        vec![
            "t.yaml:5:16: balancer.listeners[0].balance: unknown value `roundrobn`: expected one of roundrobin, static-rr, leastconn, source, first; did you mean `roundrobin`?"
        ]
    );
}

#[test]
fn yaml_syntax_error_has_position() {
    let e = errors("vrrp:\n  instances: [\n    {name: a\n");
    assert_eq!(e.len(), 1);
    assert!(e[0].starts_with("t.yaml:4:1: YAML syntax error:"), "{e:?}");
}

#[test]
fn duplicate_keys_are_errors() {
    let e = errors("node: a\nnode: b\n");
    assert_eq!(
        e,
        vec![
            "t.yaml:2:1: node: duplicate key `node` (first given at line 1, column 1); remove one of them"
        ]
    );
}

#[test]
fn duplicate_keys_do_not_hide_other_errors() {
    // Every duplicate, with its key path, and the errors after it, in one run.
    let src = "\
node: a
node: b
log: { formt: text }
vrrp:
  instances:
    - name: VI_1
      interface: eth0
      virtual_router_id: 51
      priority: 100
      priority: 200
      virtual_ipaddresses: [198.18.0.100/24]
      advert_int: 10
";
    assert_eq!(
        errors(src),
        vec![
            "t.yaml:2:1: node: duplicate key `node` (first given at line 1, column 1); remove one of them",
            "t.yaml:3:8: log.formt: unknown key `formt`; did you mean `format`?",
            "t.yaml:10:7: vrrp.instances[0].priority: duplicate key `priority` (first given at line 9, column 7); remove one of them",
            "t.yaml:12:19: vrrp.instances[0].advert_int: `10` has no unit: write e.g. `10s` or `10ms` (units: ms, s, m, h, d)",
        ]
    );
    assert!(!check(src).is_valid());
}

#[test]
fn non_utf8_byte_has_line_and_column() {
    let dir = std::env::temp_dir().join(format!("tandem-cfg-utf8-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("bad.yaml");
    std::fs::write(&path, b"node: a\nlog: { level: \"inf\xe9\" }\n").expect("write");
    let c = config::check_file(&path);
    let e: Vec<String> = c.errors().iter().map(|d| d.to_string()).collect();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        e,
        vec![format!(
            "{}:2:19: not UTF-8 text: invalid byte 0xe9 (byte offset 26); save the file as UTF-8",
            path.display()
        )]
    );
}

#[test]
fn tab_in_indentation_points_at_the_tab() {
    assert_eq!(
        errors("node: a\n\tlog: {}\n"),
        vec![
            "t.yaml:2:1: YAML syntax error: a tab in the indentation: YAML indents with spaces only"
        ]
    );
    assert_eq!(
        errors("log:\n  format: text\n \tlevel: info\n"),
        vec![
            "t.yaml:3:2: YAML syntax error: a tab in the indentation: YAML indents with spaces only"
        ]
    );
}

#[test]
fn empty_names_are_errors() {
    let src = "\
track_scripts:
  \"\": { command: [/bin/true] }
vrrp:
  instances:
    - { name: \"\", interface: eth0, virtual_router_id: 51, virtual_ipaddresses: [198.18.0.100] }
  sync_groups: [{ name: \" \", instances: [a, b] }]
balancer:
  listeners:
    - { name: \"\", bind: 127.0.0.1:3306, servers: [{ name: \"\", address: \"127.0.0.1:1\" }] }
router:
  users: [{ name: \"\", password: x, schemas: [s] }]
  schemas: [{ name: s, data_node: dn1, tables: [{ name: \"\", data_nodes: dn1 }] }]
  data_nodes: [{ name: dn1, data_host: h, database: \"\" }]
  data_hosts: [{ name: h, write_hosts: [{ host: \"\", url: \"127.0.0.1:3306\", user: u }] }]
";
    assert_eq!(
        errors(src),
        vec![
            "t.yaml:2:3: track_scripts: a name must not be empty",
            "t.yaml:5:15: vrrp.instances[0].name: must not be empty",
            "t.yaml:6:25: vrrp.sync_groups[0].name: must not be empty",
            "t.yaml:9:15: balancer.listeners[0].name: must not be empty",
            "t.yaml:9:59: balancer.listeners[0].servers[0].name: must not be empty",
            "t.yaml:11:19: router.users[0].name: must not be empty",
            "t.yaml:12:57: router.schemas[0].tables[0].name: must not be empty",
            "t.yaml:13:53: router.data_nodes[0].database: must not be empty",
            "t.yaml:14:49: router.data_hosts[0].write_hosts[0].host: must not be empty",
        ]
    );
}

#[test]
fn vip_that_is_a_unicast_peer_or_our_own_address() {
    let src = |vip: &str, prio: u8| {
        format!(
            "{VRRP_HEAD}      virtual_router_id: 51\n      priority: {prio}\n      unicast_src_ip: 198.18.0.1\n      unicast_peers: [198.18.0.2]\n      virtual_ipaddresses: [{vip}]\n"
        )
    };
    assert_eq!(
        errors(&src("198.18.0.2/24", 100)),
        vec![
            "t.yaml:9:29: vrrp.instances[0].virtual_ipaddresses[0]: 198.18.0.2 is also listed in unicast_peers: a peer's own address cannot be a virtual address (this box would take it when it becomes master)"
        ]
    );
    assert_eq!(
        errors(&src("198.18.0.1/24", 100)),
        vec![
            "t.yaml:9:29: vrrp.instances[0].virtual_ipaddresses[0]: 198.18.0.1 is also this box's unicast_src_ip: a virtual address must be an extra address, or this box loses its own address when it is not master; use a free address for the VIP (only an address owner, priority 255, may use its own)"
        ]
    );
    // An address owner (priority 255) may carry its own address.
    assert!(errors(&src("198.18.0.1/24", 255)).is_empty());
    assert!(errors(&src("198.18.0.100/24", 100)).is_empty());
}

#[test]
fn tracker_listed_twice() {
    let src = "\
track_scripts:
  chk: { command: [/bin/true], weight: -20 }
vrrp:
  instances:
    - name: VI_1
      interface: eth0
      virtual_router_id: 51
      virtual_ipaddresses: [198.18.0.100/24]
      track_scripts: [chk, { name: chk, weight: -30 }]
      track_listeners: [l, l]
balancer:
  listeners:
    - { name: l, bind: 127.0.0.1:3306, servers: [{ name: a, address: \"127.0.0.1:1\" }] }
";
    assert_eq!(
        errors(src),
        vec![
            "t.yaml:9:30: vrrp.instances[0].track_scripts[1]: `chk` is listed twice",
            "t.yaml:10:28: vrrp.instances[0].track_listeners[1]: `l` is listed twice",
        ]
    );
}

#[test]
fn listen_addresses_must_not_clash_across_sections() {
    let src = "\
observe: { listen: 127.0.0.1:9066 }
balancer:
  listeners:
    - { name: a, bind: 0.0.0.0:3306, servers: [{ name: s, address: \"127.0.0.1:1\" }] }
    - { name: b, bind: 198.18.0.100:3306, servers: [{ name: s, address: \"127.0.0.1:1\" }] }
    - { name: c, bind: 198.18.0.100:3307, servers: [{ name: s, address: \"127.0.0.1:1\" }] }
    - { name: d, bind: \"[::]:3306\", servers: [{ name: s, address: \"127.0.0.1:1\" }] }
router:
  listen: 198.18.0.100:3307
  users: [{ name: app, password: x, schemas: [s] }]
  schemas: [{ name: s, data_node: dn1 }]
  data_nodes: [{ name: dn1, data_host: h, database: d }]
  data_hosts: [{ name: h, write_hosts: [{ host: M, url: \"127.0.0.1:3306\", user: u }] }]
";
    assert_eq!(
        errors(src),
        vec![
            "t.yaml:5:24: balancer.listeners[1].bind: 198.18.0.100:3306 overlaps 0.0.0.0:3306 of balancer listener `a` (line 4): a wildcard address takes port 3306 on every address",
            // admin_listen is not written: its default clashes, and the message says so.
            "t.yaml:9:3: router.admin_listen: 127.0.0.1:9066 is also where observe.listen listens (line 1): two sockets cannot listen on one address; 127.0.0.1:9066 is the default of router.admin_listen: set router.admin_listen to another address",
            "t.yaml:9:11: router.listen: 198.18.0.100:3307 is also where balancer listener `c` listens (line 6): two sockets cannot listen on one address",
        ]
    );
}

#[test]
fn server_port_zero() {
    let src = "balancer:\n  listeners:\n    - { name: l, bind: 127.0.0.1:3306, servers: [{ name: a, address: \"127.0.0.1:0\" }] }\n";
    assert_eq!(
        errors(src),
        vec![
            "t.yaml:3:70: balancer.listeners[0].servers[0].address: `127.0.0.1:0`: port 0 cannot be connected to; write the server's port"
        ]
    );
}

#[test]
fn duplicate_names_say_where_the_first_one_is() {
    let src = "\
vrrp:
  instances:
    - { name: VI_1, interface: eth0, virtual_router_id: 51, virtual_ipaddresses: [198.18.0.100] }
    - { name: VI_1, interface: eth0, virtual_router_id: 52, virtual_ipaddresses: [198.18.0.101] }
";
    assert_eq!(
        errors(src),
        vec![
            "t.yaml:4:15: vrrp.instances[1].name: duplicate instance name `VI_1` (also at line 3, vrrp.instances[0].name)"
        ]
    );
}

#[test]
fn observe_refuses_non_loopback_unless_allowed() {
    assert_eq!(
        errors("observe: { listen: 198.18.0.1:9188 }\n"),
        vec![
            "t.yaml:1:20: observe.listen: 198.18.0.1:9188 is not a loopback address; the endpoint has no authentication, so set `observe.allow_remote: true` to expose it on purpose"
        ]
    );
    assert!(errors("observe: { listen: 198.18.0.1:9188, allow_remote: true }\n").is_empty());
    assert!(errors("observe: { listen: \"[::1]:9188\" }\n").is_empty());
}

#[test]
fn stats_page_settings_are_checked() {
    assert_eq!(
        errors(
            "observe:\n  stats:\n    uri: stats\n    auth: [\"admin\"]\n    refresh: 100ms\n    realm: \"a\\\"b\"\n"
        ),
        vec![
            "t.yaml:3:10: observe.stats.uri: `stats` must start with `/`",
            "t.yaml:4:11: observe.stats.auth: `admin`: write `user:password`",
            "t.yaml:5:14: observe.stats.refresh: 100ms is too short: at least 1s",
            "t.yaml:6:12: observe.stats.realm: a realm is a non-empty text without `\"`",
        ]
    );
    for uri in ["/", "/status", "/metrics/x", "/s"] {
        let e = errors(&format!("observe: {{ stats: {{ uri: \"{uri}\" }} }}\n"));
        assert_eq!(e.len(), 1, "{uri}: {e:?}");
    }
    // The form changes servers: not open to anyone on a non-loopback address.
    let e = errors(
        "observe:\n  listen: 198.18.0.1:9188\n  allow_remote: true\n  stats: { admin: true }\n",
    );
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].starts_with("t.yaml:4:19: observe.stats.admin: `admin: true` on a non-loopback endpoint without `auth`"),
        "{e:?}"
    );
    assert!(errors("observe:\n  listen: 198.18.0.1:9188\n  allow_remote: true\n  stats: { admin: true, auth: [\"a:b\"] }\n").is_empty());
    assert!(errors("observe: { stats: { admin: true } }\n").is_empty());
    assert!(
        errors(
            "observe: { stats: { uri: \"/haproxy?stats\", refresh: 10s, show_legends: true } }\n"
        )
        .is_empty()
    );
}

#[test]
fn every_error_is_reported_at_once() {
    let src = "\
log: { level: verbose }
observe: { listen: 0.0.0.0:9188 }
vrrp:
  instances:
    - name: VI_1
      interface: eth0
      virtual_router_id: 300
      priority: 0
      advret_int: 1s
      version: 3
      auth_pass: secret
balancer:
  listeners:
    - { name: l, bind: 127.0.0.1:1, balance: rr, servers: [] }
";
    let e = errors(src);
    let locs: Vec<&str> = e
        .iter()
        .map(|l| l.split(": ").next().unwrap_or(""))
        .collect();
    assert_eq!(
        locs,
        vec![
            "t.yaml:1:15",
            "t.yaml:2:20",
            "t.yaml:7:26",
            "t.yaml:8:17",
            "t.yaml:9:7",
            "t.yaml:11:18",
            "t.yaml:14:46",
        ],
        "{e:#?}"
    );
    assert!(e[5].contains("VRRPv3 has no authentication"), "{}", e[5]);
}

// ---- semantic lints ----

#[test]
fn auth_pass_with_version_3() {
    let src = format!(
        "{VRRP_HEAD}      virtual_router_id: 51\n      version: 3\n      auth_pass: \"1111\"\n      virtual_ipaddresses: [198.18.0.100/24]\n"
    );
    assert_eq!(
        errors(&src),
        vec![
            "t.yaml:7:18: vrrp.instances[0].auth_pass: VRRPv3 has no authentication (RFC 5798 removed it); remove auth_pass, or use `version: 2`"
        ]
    );
}

#[test]
fn same_vrid_twice_on_one_interface() {
    let src = "\
vrrp:
  instances:
    - { name: A, interface: eth0, virtual_router_id: 51, virtual_ipaddresses: [198.18.0.100] }
    - { name: B, interface: eth0, virtual_router_id: 51, virtual_ipaddresses: [198.18.0.101] }
    - { name: C, interface: eth1, virtual_router_id: 51, virtual_ipaddresses: [198.18.0.102] }
";
    assert_eq!(
        errors(src),
        vec![
            "t.yaml:4:54: vrrp.instances[1].virtual_router_id: instance `B` uses virtual_router_id 51 on eth0 like instance `A`: one VRID per interface"
        ]
    );
}

#[test]
fn nopreempt_on_a_node_that_is_not_highest() {
    let src = format!(
        "{VRRP_HEAD}      virtual_router_id: 51\n      priority: 100\n      nopreempt: true\n      unicast_src_ip: 198.18.0.2\n      unicast_peers: [{{ address: 198.18.0.1, priority: 150 }}]\n      virtual_ipaddresses: [198.18.0.100/24]\n"
    );
    let c = check(&src);
    assert!(c.is_valid(), "a warning, not an error");
    assert_eq!(
        warnings(&src),
        vec![
            "t.yaml:7:18: warning: vrrp.instances[0].nopreempt: has no effect on a node that is not the highest priority (peer 198.18.0.1 has 150, this node 100): set nopreempt on the highest-priority node to keep it from taking the VIP back"
        ]
    );
}

#[test]
fn track_weight_that_can_never_flip_the_election() {
    let src = "\
track_scripts:
  chk: { command: [/bin/true], weight: -20 }
vrrp:
  instances:
    - name: VI_1
      interface: eth0
      virtual_router_id: 51
      priority: 150
      unicast_src_ip: 198.18.0.1
      unicast_peers: [{ address: 198.18.0.2, priority: 100 }]
      virtual_ipaddresses: [198.18.0.100/24]
      track_scripts: [chk]
";
    let flip = |w: Vec<String>| -> Vec<String> {
        w.into_iter()
            .filter(|l| !l.contains("is not part of this build yet"))
            .collect()
    };
    assert_eq!(
        flip(warnings(src)),
        vec![
            "t.yaml:8:17: warning: vrrp.instances[0].priority: weight -20 of track script `chk` can never move mastership: this node stays above peer 198.18.0.2 (100) either way (effective priority 150 when healthy, 130 when failing)"
        ]
    );
    // -60 does flip it: 90 < 100.
    assert!(flip(warnings(&src.replace("weight: -20", "weight: -60"))).is_empty());
    // reverse: -60 is added while failing (210) and nothing while ok (150): never flips.
    assert_eq!(
        flip(warnings(
            &src.replace("weight: -20", "weight: -60, reverse: true")
        )),
        vec![
            "t.yaml:8:17: warning: vrrp.instances[0].priority: weight -60 reverse of track script `chk` can never move mastership: this node stays above peer 198.18.0.2 (100) either way (effective priority 150 when healthy, 210 when failing)"
        ]
    );
    // reverse +60 is subtracted while ok (90 < 100): it flips.
    assert!(
        flip(warnings(
            &src.replace("weight: -20", "weight: 60, reverse: true")
        ))
        .is_empty()
    );
}

#[test]
fn undefined_balancer_listener_and_data_host() {
    let src = "\
vrrp:
  instances:
    - name: VI_1
      interface: eth0
      virtual_router_id: 51
      virtual_ipaddresses: [198.18.0.100/24]
      track_listeners: [mysq]
balancer:
  listeners:
    - { name: mysql, bind: 127.0.0.1:3306, servers: [{ name: r1, address: \"127.0.0.1:8067\" }] }
router:
  users: [{ name: app, password: x, schemas: [shop] }]
  schemas: [{ name: shop, data_node: dn1 }]
  data_nodes: [{ name: dn1, data_host: db2, database: shop }]
  data_hosts:
    - { name: db1, write_hosts: [{ host: M1, url: \"127.0.0.1:3306\", user: root }] }
";
    assert_eq!(
        errors(src),
        vec![
            "t.yaml:7:25: vrrp.instances[0].track_listeners[0]: balancer listener `mysq` is not defined; did you mean `mysql`?",
            "t.yaml:14:40: router.data_nodes[0].data_host: data host `db2` of data node `dn1` is not defined in router.data_hosts; did you mean `db1`?",
        ]
    );
}

#[test]
fn tracking_a_subsystem_that_is_not_configured() {
    let src = format!(
        "{VRRP_HEAD}      virtual_router_id: 51\n      virtual_ipaddresses: [198.18.0.100/24]\n      track_listeners: [mysql]\n      track_router: true\n"
    );
    assert_eq!(
        errors(&src),
        vec![
            "t.yaml:7:25: vrrp.instances[0].track_listeners[0]: tracks balancer listener `mysql`, but the balancer is not configured",
            "t.yaml:8:21: vrrp.instances[0].track_router: tracks the router, but the router is not configured",
        ]
    );
}

#[test]
fn undefined_track_script() {
    let src = "\
track_scripts:
  chk_router: { command: [/bin/true] }
vrrp:
  instances:
    - name: VI_1
      interface: eth0
      virtual_router_id: 51
      virtual_ipaddresses: [198.18.0.100/24]
      track_scripts: [chk_routr]
";
    assert_eq!(
        lines(src),
        vec![
            "t.yaml:2:17: warning: track_scripts.chk_router: defined but no VRRP instance tracks it; it will not run",
            "t.yaml:9:23: vrrp.instances[0].track_scripts[0]: track script `chk_routr` is not defined in track_scripts; did you mean `chk_router`?",
        ]
    );
}

#[test]
fn router_references() {
    let src = "\
router:
  users: [{ name: app, password: x, schemas: [shp], default_schema: shop }]
  schemas:
    - name: shop
      tables:
        - { name: t, data_nodes: \"dn$1-3\", rule: by-id }
        - { name: g, data_nodes: \"dn1,dn2\", type: global, rule: by-id }
  data_nodes: [{ name: dn$1-2, data_host: db1, database: shop_$1-2 }]
  data_hosts:
    - { name: db1, write_hosts: [{ host: M1, url: \"127.0.0.1:3306\", user: root }] }
  rules:
    - { name: by_id, column: id, function: { type: mod-long, count: 2 } }
";
    assert_eq!(
        errors(src),
        vec![
            "t.yaml:2:47: router.users[0].schemas[0]: schema `shp` is not defined in router.schemas; did you mean `shop`?",
            "t.yaml:2:69: router.users[0].default_schema: `shop` is not one of this user's schemas",
            "t.yaml:6:34: router.schemas[0].tables[0].data_nodes: data node `dn3` is not defined in router.data_nodes; did you mean `dn1`?",
            "t.yaml:6:50: router.schemas[0].tables[0].rule: rule `by-id` is not defined in router.rules; did you mean `by_id`?",
            "t.yaml:7:65: router.schemas[0].tables[1].rule: a global table has a copy on every data node; it takes no rule",
            "t.yaml:7:65: router.schemas[0].tables[1].rule: rule `by-id` is not defined in router.rules; did you mean `by_id`?",
        ]
    );
}

#[test]
fn function_properties_must_fit_the_type() {
    let src = "\
router:
  users: [{ name: app, password: x, schemas: [s] }]
  schemas: [{ name: s, tables: [{ name: t, data_nodes: dn1, rule: r }] }]
  data_nodes: [{ name: dn1, data_host: h, database: d }]
  data_hosts: [{ name: h, write_hosts: [{ host: M, url: \"127.0.0.1:3306\", user: u }] }]
  rules:
    - name: r
      column: id
      function: { type: mod-long, total_buckets: 4 }
";
    assert_eq!(
        errors(src),
        vec![
            "t.yaml:9:19: router.rules[0].function: a `mod-long` function needs `count`",
            "t.yaml:9:50: router.rules[0].function.total_buckets: `total_buckets` does not apply to a `mod-long` function; `mod-long` takes: count",
        ]
    );
}

#[test]
fn vips_and_unicast_consistency() {
    let src = format!(
        "{VRRP_HEAD}      virtual_router_id: 51\n      virtual_ipaddresses: [\"2001:db8::1/64\"]\n      unicast_src_ip: 198.18.0.1\n"
    );
    assert_eq!(
        errors(&src),
        vec![
            "t.yaml:6:29: vrrp.instances[0].virtual_ipaddresses[0]: VRRPv2 carries only IPv4 addresses; use `version: 3` for IPv6",
            "t.yaml:7:23: vrrp.instances[0].unicast_src_ip: unicast_src_ip without unicast_peers: list the peers, or remove it for multicast",
            "t.yaml:7:23: vrrp.instances[0].unicast_src_ip: 198.18.0.1 is not of the instance's address family",
        ]
    );
}

#[test]
fn a_warning_does_not_invalidate() {
    let c = check("observe: {}\n");
    assert!(c.is_valid());
    let w = c.warnings();
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].severity, Severity::Warning);
    assert!(w[0].message.contains("no subsystem is configured"));
    assert!(w[0].message.ends_with("tandem will only serve `observe`"));
    // Without `observe` either, nothing at all would run.
    let w = check("node: a\n").warnings();
    assert_eq!(w.len(), 1);
    assert!(
        w[0].message
            .ends_with("tandem will do nothing (there is no `observe` section either)"),
        "{}",
        w[0].message
    );
}

#[test]
fn tcp_keepalive_errors_in_both_forms() {
    let src = |ka: &str| {
        format!(
            "balancer:\n  listeners:\n    - name: l\n      bind: 127.0.0.1:3306\n      tcp_keepalive: {ka}\n      servers: [{{ name: a, address: \"127.0.0.1:1\" }}]\n"
        )
    };
    assert!(errors(&src("true")).is_empty());
    assert!(
        errors(&src(
            "{ client: true, server: false, idle: 7s, interval: 3s, count: 4 }"
        ))
        .is_empty()
    );
    assert_eq!(
        errors(&src("on")),
        vec![
            "t.yaml:5:22: balancer.listeners[0].tcp_keepalive: expected true or false, found `on`; write `true` or `false`"
        ]
    );
    assert_eq!(
        errors(&src(
            "{ client: true, idle: 500ms, count: 0, intervall: 3s }"
        )),
        vec![
            "t.yaml:5:44: balancer.listeners[0].tcp_keepalive.idle: 500ms: TCP keepalive times are whole seconds",
            "t.yaml:5:58: balancer.listeners[0].tcp_keepalive.count: 0 is out of range: must be between 1 and 127",
            "t.yaml:5:61: balancer.listeners[0].tcp_keepalive.intervall: unknown key `intervall`; did you mean `interval`?",
        ]
    );
}

#[test]
fn intervals_of_periodic_work_are_at_least_10ms_and_durations_at_most_3650d() {
    let src = "\
track_scripts:
  chk: { command: [/bin/true], interval: 5ns }
balancer:
  listeners:
    - name: l
      bind: 127.0.0.1:3306
      timeouts: { tunnel: 4000d }
      check: { type: tcp, inter: 1ms }
      servers: [{ name: a, address: \"127.0.0.1:3307\" }]
";
    assert_eq!(
        errors(src),
        vec![
            "t.yaml:2:42: track_scripts.chk.interval: 5ns is too short: at least 10ms",
            "t.yaml:7:27: balancer.listeners[0].timeouts.tunnel: `4000d` is too large: at most 3650d",
            "t.yaml:8:34: balancer.listeners[0].check.inter: 1ms is too short: at least 10ms",
        ]
    );
}

#[test]
fn notify_fifo_must_be_an_absolute_path() {
    for (fifo, col) in [("notify.fifo", 16), ("\"\"", 16)] {
        let src = format!("vrrp:\n  notify_fifo: {fifo}\n");
        let e = errors(&src);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].starts_with(&format!("t.yaml:2:{col}: vrrp.notify_fifo:"))
                && e[0].contains("not an absolute path"),
            "{e:?}"
        );
    }
    assert!(errors("vrrp:\n  notify_fifo: /run/tandem/notify.fifo\n").is_empty());
}

#[test]
fn names_with_control_characters_are_refused() {
    let src = "node: \"box\\ta\"\ntrack_scripts:\n  \"chk\\n\": { command: [/bin/true] }\nbalancer:\n  listeners:\n    - { name: \"l\\u001b[31m\", bind: 127.0.0.1:3306, servers: [{ name: a, address: \"127.0.0.1:1\" }] }\n";
    assert_eq!(
        errors(src),
        vec![
            "t.yaml:1:7: node: must not contain control characters (found '\\t')",
            "t.yaml:3:3: track_scripts: a name must not contain control characters (found '\\n')",
            "t.yaml:6:15: balancer.listeners[0].name: must not contain control characters (found '\\u{1b}')",
        ]
    );
}

#[test]
fn vip_on_a_broadcast_address_is_refused_and_on_a_network_address_warned() {
    let src = format!(
        "{VRRP_HEAD}      virtual_router_id: 51\n      virtual_ipaddresses: [198.18.0.255/24, 198.18.1.0/24, 198.18.2.0/31, 198.18.3.255/32]\n"
    );
    assert_eq!(
        errors(&src),
        vec![
            "t.yaml:6:29: vrrp.instances[0].virtual_ipaddresses[0]: 198.18.0.255 is the broadcast address of 198.18.0.0/24: packets to it go to every host on the subnet; use a host address of the subnet, or a /32",
        ]
    );
    let w = warnings(&src);
    assert!(
        w.iter().any(|w| w
            == "t.yaml:6:46: warning: vrrp.instances[0].virtual_ipaddresses[1]: 198.18.1.0 is the network address of 198.18.1.0/24: some hosts and routers treat it as a broadcast address and will not reach it"),
        "{w:?}"
    );
    assert!(
        !w.iter().any(|w| w.contains("[2]") || w.contains("[3]")),
        "{w:?}"
    );
}

#[test]
fn two_servers_with_one_address_are_warned() {
    let src = "balancer:\n  listeners:\n    - name: l\n      bind: 127.0.0.1:3306\n      servers:\n        - { name: a, address: \"127.0.0.1:1\" }\n        - { name: b, address: \"127.0.0.1:2\" }\n        - { name: c, address: \"127.0.0.1:1\" }\n";
    let c = check(src);
    assert!(c.is_valid());
    assert_eq!(
        warnings(src),
        vec![
            "t.yaml:8:31: warning: balancer.listeners[0].servers[2].address: 127.0.0.1:1 is also server `a`'s address: both get their own share and health check but reach the same process (to give it more traffic, raise its weight)"
        ]
    );
}

const ROUTER_MIN: &str = "router:
  state_dir: state
  users: [{ name: app, password: x, schemas: [s] }]
  schemas: [{ name: s, data_node: dn1 }]
  data_nodes: [{ name: dn1, data_host: h, database: d }]
  data_hosts:
    - name: h
      idle_timeout: 0s
      borrow_timeout: 0s
      write_hosts: [{ host: M, url: \"127.0.0.1:3306\", user: u }]
";

#[test]
fn pool_timeouts_of_zero_are_refused() {
    assert_eq!(
        errors(ROUTER_MIN),
        vec![
            "t.yaml:8:21: router.data_hosts[0].idle_timeout: must be greater than zero",
            "t.yaml:9:23: router.data_hosts[0].borrow_timeout: must be greater than zero",
        ]
    );
}

/// A relative `state_dir` is taken from the config file's directory (as map files are),
/// not from wherever the daemon was started.
#[test]
fn a_relative_state_dir_is_taken_from_the_config_files_directory() {
    let src = ROUTER_MIN.replace("      idle_timeout: 0s\n      borrow_timeout: 0s\n", "");
    let c = config::check_str(&src, "/etc/tandem/tandem.yaml", Path::new("/etc/tandem"));
    let cfg = c.config.expect("valid");
    let r = cfg.router.expect("router");
    assert_eq!(r.state_dir, Path::new("/etc/tandem/state"));
}

/// MyCat's `<dataNode name="dn$0-3" dataHost="h$1-2" database="db$0-1">`: every database
/// on every host, host by host.
#[test]
fn data_nodes_expand_over_data_hosts_and_databases_as_mycat_does() {
    let src = |nodes: &str| {
        format!(
            "router:
  users: [{{ name: app, password: x, schemas: [s] }}]
  schemas: [{{ name: s, data_node: dn0 }}]
  data_nodes: [{nodes}]
  data_hosts:
    - {{ name: h1, write_hosts: [{{ host: M1, url: \"127.0.0.1:3306\", user: u }}] }}
    - {{ name: h2, write_hosts: [{{ host: M2, url: \"127.0.0.1:3307\", user: u }}] }}
"
        )
    };
    let c = check(&src("{ name: dn$0-3, data_host: h$1-2, database: db$0-1 }"));
    assert!(c.is_valid(), "{:?}", c.diagnostics());
    let nodes: Vec<(String, String, String)> = c
        .config
        .expect("valid")
        .router
        .expect("router")
        .data_nodes
        .into_iter()
        .map(|n| (n.name, n.data_host, n.database))
        .collect();
    let t = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());
    assert_eq!(
        nodes,
        vec![
            t("dn0", "h1", "db0"),
            t("dn1", "h1", "db1"),
            t("dn2", "h2", "db0"),
            t("dn3", "h2", "db1"),
        ]
    );
    assert_eq!(
        errors(&src("{ name: dn$0-2, data_host: h$1-2, database: db$0-1 }")),
        vec![
            "t.yaml:4:18: router.data_nodes[0]: `dn$0-2` names 3 data nodes but `db$0-1` names 2 databases on the 2 data hosts of `h$1-2` (data nodes = data hosts × databases)"
        ]
    );
}

/// `on_marked_up: shutdown_backup_sessions` closes backup servers' sessions: without a
/// backup server it does nothing, which is warned.
#[test]
fn on_marked_up_without_a_backup_server_is_warned() {
    let src = "balancer:\n  listeners:\n    - name: l\n      bind: 127.0.0.1:3306\n      on_marked_up: shutdown_backup_sessions\n      servers: [{ name: a, address: \"127.0.0.1:1\" }]\n";
    assert!(errors(src).is_empty(), "{:?}", errors(src));
    assert_eq!(
        warnings(src),
        vec![
            "t.yaml:5:21: warning: balancer.listeners[0].on_marked_up: the listener has no backup server: `shutdown_backup_sessions` has nothing to close"
        ]
    );
    let with_backup = src.replace(
        "servers: [{ name: a, address: \"127.0.0.1:1\" }]",
        "servers: [{ name: a, address: \"127.0.0.1:1\" }, { name: b, address: \"127.0.0.1:2\", backup: true }]",
    );
    assert!(
        warnings(&with_backup).is_empty(),
        "{:?}",
        warnings(&with_backup)
    );
    assert!(errors(&src.replace("shutdown_backup_sessions", "shutdown_sessions")).len() == 1);
}

/// A router with sequence `seq` (flow YAML), on port `port`.
fn router_with_sequence(port: u16, seq: &str) -> String {
    format!(
        "router:
  listen: 127.0.0.1:{port}
  sequence: {seq}
  users: [{{ name: app, password: x, schemas: [s] }}]
  schemas: [{{ name: s, data_node: dn1 }}]
  data_nodes: [{{ name: dn1, data_host: h, database: d }}]
  data_hosts: [{{ name: h, write_hosts: [{{ host: M, url: \"127.0.0.1:3306\", user: u }}] }}]
"
    )
}

/// `tandem check -c DIR/a.yaml -c DIR/b.yaml` with `a` and `b` as the files: each file's
/// diagnostics of `severity`.
fn cluster_diags(dir: &Path, a: &str, b: &str, severity: Severity) -> Vec<Vec<String>> {
    let pa = dir.join("a.yaml");
    let pb = dir.join("b.yaml");
    std::fs::write(&pa, a).expect("write a");
    std::fs::write(&pb, b).expect("write b");
    config::check_cluster(&[pa, pb])
        .iter()
        .map(|c| {
            c.diagnostics()
                .iter()
                .filter(|d| d.severity == severity)
                .map(|d| d.to_string())
                .collect()
        })
        .collect()
}

/// `tandem check -c a.yaml -c b.yaml`: two routers with `time` sequences (snowflake ids)
/// and the same `worker_id`/`datacenter_id` pair hand out the same ids, which is an error
/// (once per pair of files, in the first); another pair, another handler, or one file
/// alone is not.
#[test]
fn two_routers_with_the_same_time_sequence_pair_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cluster = |a: &str, b: &str| cluster_diags(dir.path(), a, b, Severity::Error);
    let time = |w: u8, d: u8| {
        router_with_sequence(
            3307,
            &format!("{{ handler: time, worker_id: {w}, datacenter_id: {d} }}"),
        )
    };
    let b_file = dir.path().join("b.yaml").to_string_lossy().into_owned();
    let a_file = dir.path().join("a.yaml").to_string_lossy().into_owned();
    assert_eq!(
        cluster(&time(1, 1), &time(1, 1)),
        vec![
            vec![format!(
                "{a_file}:3:41: router.sequence.worker_id: worker_id 1 with datacenter_id 1 is also the `time` sequence pair of {b_file}: both routers would hand out the same ids (duplicate keys for `auto_increment` tables and `next value for MYCATSEQ_...`); give each router its own pair, e.g. worker_id 1 here and 2 there"
            )],
            vec![],
        ]
    );
    let none: Vec<Vec<String>> = vec![vec![], vec![]];
    assert_eq!(cluster(&time(1, 1), &time(2, 1)), none);
    assert_eq!(cluster(&time(1, 1), &time(1, 2)), none);
    let db = router_with_sequence(3307, "{ handler: database, data_node: dn1 }");
    assert_eq!(cluster(&time(1, 1), &db), none);
    // One file: nothing to compare with.
    assert!(errors(&time(1, 1)).is_empty(), "{:?}", errors(&time(1, 1)));
}

/// `tandem check -c a.yaml -c b.yaml`: the two routers behind one VIP with different TLS
/// rules are warned (a failover would change what clients may do).
#[test]
fn two_routers_with_different_tls_rules_are_warned() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cluster = |a: &str, b: &str| cluster_diags(dir.path(), a, b, Severity::Warning);
    let with = |tls: &str| {
        router_with_sequence(3307, "{ handler: local_file }").replace(
            "  sequence: { handler: local_file }\n",
            &format!("  tls: {tls}\n"),
        )
    };
    let b_file = dir.path().join("b.yaml").to_string_lossy().into_owned();
    let a_file = dir.path().join("a.yaml").to_string_lossy().into_owned();
    assert_eq!(
        cluster(&with("off"), &with("on")),
        vec![
            vec![format!(
                "{a_file}:3:8: warning: router.tls: TLS is off here and on in {b_file}: after a failover, clients that ask for TLS (MariaDB 11.4+ clients always do) are refused by the router without it"
            )],
            vec![],
        ]
    );
    assert_eq!(
        cluster(&with("on"), &with("{ require_secure_transport: true }")),
        vec![
            vec![format!(
                "{a_file}:3:8: warning: router.tls.require_secure_transport: require_secure_transport is false here and true in {b_file}: clients without TLS work on one box and are refused on the other"
            )],
            vec![],
        ]
    );
    let none: Vec<Vec<String>> = vec![vec![], vec![]];
    assert_eq!(cluster(&with("on"), &with("on")), none);
}

/// `router.local_infile`: a boolean (default true); two routers behind one VIP that
/// disagree are warned (a bulk load would work through one and fail through the other).
#[test]
fn router_local_infile_is_a_boolean_and_pairs_are_warned() {
    let with = |v: &str| {
        router_with_sequence(3307, "{ handler: local_file }").replace(
            "  sequence: { handler: local_file }\n",
            &format!("  local_infile: {v}\n"),
        )
    };
    assert!(
        errors(&with("false")).is_empty(),
        "{:?}",
        errors(&with("false"))
    );
    assert!(
        errors(&with("true")).is_empty(),
        "{:?}",
        errors(&with("true"))
    );
    assert_eq!(
        errors(&with("on")),
        vec![
            "t.yaml:3:17: router.local_infile: expected true or false, found `on`; write `true` or `false`"
                .to_string()
        ]
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let b_file = dir.path().join("b.yaml").to_string_lossy().into_owned();
    let a_file = dir.path().join("a.yaml").to_string_lossy().into_owned();
    assert_eq!(
        cluster_diags(dir.path(), &with("false"), &with("true"), Severity::Warning),
        vec![
            vec![format!(
                "{a_file}:3:17: warning: router.local_infile: local_infile is false here and true in {b_file}: LOAD DATA LOCAL INFILE works through one router and gets error 4166 from the other, so a bulk load fails after a failover"
            )],
            vec![],
        ]
    );
    let none: Vec<Vec<String>> = vec![vec![], vec![]];
    assert_eq!(
        cluster_diags(dir.path(), &with("true"), &with("true"), Severity::Warning),
        none
    );
}

#[test]
fn router_tls_settings() {
    let with = |tls: &str, user_extra: &str| {
        format!(
            "\
router:
  tls: {tls}
  users: [{{ name: app, password: x, schemas: [shop]{user_extra} }}]
  schemas: [{{ name: shop, data_node: dn1 }}]
  data_nodes: [{{ name: dn1, data_host: db1, database: shop }}]
  data_hosts:
    - {{ name: db1, write_hosts: [{{ host: M1, url: \"127.0.0.1:3306\", user: root }}] }}
"
        )
    };
    // The default (on, self-signed) and its spellings are valid.
    for tls in ["on", "true", "off", "{ require_secure_transport: true }"] {
        assert_eq!(lines(&with(tls, "")), Vec::<String>::new(), "tls: {tls}");
    }
    assert_eq!(
        errors(&with("maybe", "")),
        vec![
            "t.yaml:2:8: router.tls: `maybe` is not a TLS setting; off, on, or a map { cert, key, require_secure_transport }"
        ]
    );
    assert_eq!(
        errors(&with("{ cert: /nonexistent/router.pem }", "")),
        vec![
            "t.yaml:2:10: router.tls: needs both `cert` and `key`; `key` is missing; give both, or neither for a self-signed certificate made at start"
        ]
    );
    assert_eq!(
        errors(&with(
            "{ cert: /nonexistent/router.pem, key: /nonexistent/router.key }",
            ""
        )),
        vec![
            "t.yaml:2:16: router.tls.cert: cannot read /nonexistent/router.pem: No such file or directory"
        ]
    );
    assert_eq!(
        errors(&with("off", ", require_tls: true")),
        vec![
            "t.yaml:3:67: router.users[0].require_tls: this user must use TLS, but router.tls is off; turn router.tls on (the default), or drop require_tls"
        ]
    );
}

#[test]
fn a_balancer_check_login_is_warned_where_the_router_requires_tls() {
    let src = "\
balancer:
  listeners:
    - name: mysql
      bind: 127.0.0.1:3306
      check: { type: mysql, user: haproxy }
      servers: [{ name: r1, address: \"127.0.0.1:8067\" }]
router:
  listen: 127.0.0.1:8067
  tls: { require_secure_transport: true }
  users: [{ name: app, password: x, schemas: [shop] }]
  schemas: [{ name: shop, data_node: dn1 }]
  data_nodes: [{ name: dn1, data_host: db1, database: shop }]
  data_hosts:
    - { name: db1, write_hosts: [{ host: M1, url: \"127.0.0.1:3306\", user: root }] }
";
    assert_eq!(
        warnings(src),
        vec![
            "t.yaml:5:35: warning: balancer.listeners[0].check.user: this check logs in without TLS, and a tandem router on port 8067 with router.tls.require_secure_transport refuses it (error 3159): the server would be marked DOWN; drop `user` (the greeting alone shows the router is up)"
        ]
    );
    assert!(
        warnings(&src.replace(
            "require_secure_transport: true",
            "require_secure_transport: false"
        ))
        .is_empty()
    );
}

#[test]
fn data_host_tls_settings() {
    let with = |tls: &str| {
        format!(
            "\
router:
  users: [{{ name: app, password: x, schemas: [shop] }}]
  schemas: [{{ name: shop, data_node: dn1 }}]
  data_nodes: [{{ name: dn1, data_host: db1, database: shop }}]
  data_hosts:
    - {{ name: db1, tls: {tls}, write_hosts: [{{ host: M1, url: \"127.0.0.1:3306\", user: root }}] }}
"
        )
    };
    for tls in ["off", "preferred", "required", "{ mode: required }"] {
        assert_eq!(lines(&with(tls)), Vec::<String>::new(), "tls: {tls}");
    }
    assert_eq!(
        errors(&with("verify_identity")),
        vec![
            "t.yaml:6:25: router.data_hosts[0].tls: mode verify_identity needs `ca`; { mode: ..., ca: FILE }, FILE the PEM certificate of the CA that signed the servers' certificates"
        ]
    );
    assert_eq!(
        errors(&with("{ mode: required, ca: ca.pem }")),
        vec![
            "t.yaml:6:27: router.data_hosts[0].tls: `ca` is only used by verify_ca and verify_identity, not required; mode: verify_ca (the chain) or verify_identity (the chain and the host name)"
        ]
    );
    assert_eq!(
        errors(&with("{ mode: verify_ca, ca: /nonexistent/ca.pem }")),
        vec![
            "t.yaml:6:48: router.data_hosts[0].tls.ca: cannot read /nonexistent/ca.pem: No such file or directory"
        ]
    );
    assert_eq!(
        errors(&with("sometimes")),
        vec![
            "t.yaml:6:25: router.data_hosts[0].tls: unknown value `sometimes`: expected one of off, preferred, required, verify_ca, verify_identity"
        ]
    );
}

#[test]
fn stick_errors_name_the_key() {
    let src = |st: &str| {
        format!(
            "balancer:\n  listeners:\n    - name: l\n      bind: 127.0.0.1:3306\n      stick: {st}\n      servers: [{{ name: a, address: \"127.0.0.1:1\" }}]\n"
        )
    };
    assert!(errors(&src("{ on: dst }")).is_empty());
    assert!(errors(&src("{ on: src, expire: 30m, size: 1 }")).is_empty());
    assert_eq!(
        errors(&src("{ on: sni, expire: 0s, size: 0 }")),
        vec![
            "t.yaml:5:20: balancer.listeners[0].stick.on: unknown value `sni`: expected one of src, dst; did you mean `src`?",
            "t.yaml:5:33: balancer.listeners[0].stick.expire: must be greater than zero",
            "t.yaml:5:43: balancer.listeners[0].stick.size: 0 is out of range: must be between 1 and 100000000",
        ]
    );
    assert_eq!(
        errors(&src("{ expire: 1m }")),
        vec!["t.yaml:5:16: balancer.listeners[0].stick: missing required key `on`"]
    );
}

#[test]
fn tcp_check_expect_must_say_something() {
    let src = |c: &str| {
        format!(
            "balancer:\n  listeners:\n    - name: l\n      bind: 127.0.0.1:3306\n      check: {c}\n      servers: [{{ name: a, address: \"127.0.0.1:1\" }}]\n"
        )
    };
    assert!(
        errors(&src(
            "{ type: tcp, send: \"x\\r\\n\", expect: \"MySQL master\" }"
        ))
        .is_empty()
    );
    assert_eq!(
        errors(&src("{ type: tcp, expect: \"\" }")),
        vec![
            "t.yaml:5:35: balancer.listeners[0].check.expect: an empty `expect` matches anything; leave it out"
        ]
    );
}

#[test]
fn server_check_timing_errors_name_the_key() {
    let src = |c: &str| {
        format!(
            "balancer:\n  listeners:\n    - name: l\n      bind: 127.0.0.1:3306\n      check: {{ type: tcp }}\n      servers: [{{ name: a, address: \"127.0.0.1:1\", check: {c} }}]\n"
        )
    };
    assert!(errors(&src("false")).is_empty());
    assert!(errors(&src("{ fall: 1, rise: 10, inter: 5s, port: 9200 }")).is_empty());
    let e = errors(&src("{ fall: 0, type: http }"));
    assert_eq!(e.len(), 2, "{e:?}");
    assert!(
        e[0].contains("servers[0].check.fall: 0 is out of range"),
        "{e:?}"
    );
    assert!(
        e[1].contains("servers[0].check.type: unknown key `type`"),
        "{e:?}"
    );
    assert!(e.iter().all(|m| m.starts_with("t.yaml:6:")), "{e:?}");
}

/// A router config with one data host `h` holding `key` (a `key: value` line) and write
/// host M1, plus M2 when `extra_writer`.
fn one_data_host(key: &str, extra_writer: bool) -> String {
    let m2 = if extra_writer {
        ", { host: M2, url: \"127.0.0.1:3307\", user: root }"
    } else {
        ""
    };
    format!(
        "router:
  users: [{{ name: app, password: x, schemas: [s] }}]
  schemas: [{{ name: s, data_node: dn1 }}]
  data_nodes: [{{ name: dn1, data_host: h, database: d }}]
  data_hosts:
    - name: h
      {key}
      write_hosts: [{{ host: M1, url: \"127.0.0.1:3306\", user: root }}{m2}]
"
    )
}

#[test]
fn read_balance_without_read_hosts_is_served_by_the_write_host() {
    let src = |balance: u8, extra_writer: bool| {
        one_data_host(&format!("balance: {balance}"), extra_writer)
    };
    assert!(errors(&src(3, false)).is_empty());
    assert_eq!(
        warnings(&src(3, false)),
        vec![
            "t.yaml:7:16: warning: router.data_hosts[0].balance: balance 3 reads from read hosts, and this data host has no host besides its write host: the write host serves every read, as with balance 0"
        ]
    );
    // balance 3 never reads from a standby write host.
    assert_eq!(warnings(&src(3, true)).len(), 1);
    assert_eq!(
        warnings(&src(1, false)),
        vec![
            "t.yaml:7:16: warning: router.data_hosts[0].balance: balance 1 reads from read hosts and standby write hosts, and this data host has no host besides its write host: the write host serves every read, as with balance 0"
        ]
    );
    // A standby write host takes reads under balance 1 and 2.
    assert!(warnings(&src(1, true)).is_empty());
    assert!(warnings(&src(2, true)).is_empty());
    assert!(warnings(&src(0, false)).is_empty());
}

#[test]
fn stop_replication_on_switch_with_one_write_host_is_warned() {
    let src = |extra_writer: bool| one_data_host("stop_replication_on_switch: true", extra_writer);
    assert!(errors(&src(false)).is_empty());
    assert_eq!(
        warnings(&src(false)),
        vec![
            "t.yaml:7:35: warning: router.data_hosts[0].stop_replication_on_switch: this data host has one write host, so there is no switch and nothing to stop: list the replica that takes over as a second write host"
        ]
    );
    assert!(warnings(&src(true)).is_empty());
}

#[test]
fn rule_required_and_need_add_limit() {
    let src = "\
router:
  users: [{ name: app, password: x, schemas: [s] }]
  schemas:
    - name: s
      sql_max_limit: 100
      tables:
        - name: t
          data_nodes: \"dn1,dn2\"
          rule: r
          rule_required: true
          need_add_limit: false
          children: [{ name: c, join_key: t_id, parent_key: id, need_add_limit: false }]
        - { name: one, data_nodes: dn1, rule_required: true }
        - { name: g, data_nodes: \"dn1,dn2\", type: global, rule_required: true }
  data_nodes: [{ name: dn$1-2, data_host: h, database: d$1-2 }]
  data_hosts: [{ name: h, write_hosts: [{ host: M, url: \"127.0.0.1:3306\", user: u }] }]
  rules: [{ name: r, column: id, function: { type: mod-long, count: 2 } }]
";
    assert_eq!(
        errors(src),
        vec![
            "t.yaml:13:56: router.schemas[0].tables[1].rule_required: rule_required needs a rule: without a sharding column every statement on this table would be refused",
        ]
    );
    let bad = src.replace(
        "        - { name: g,",
        "        - { name: bad, data_nodes: dn1, rule_required: yes, need_add_limit: 0 }\n        - { name: g,",
    );
    assert_eq!(
        errors(&bad),
        vec![
            "t.yaml:14:56: router.schemas[0].tables[2].rule_required: expected true or false, found `yes`; write `true` or `false`",
            "t.yaml:14:77: router.schemas[0].tables[2].need_add_limit: expected true or false, found `0`",
        ]
    );
    assert_eq!(
        warnings(src),
        vec![
            "t.yaml:14:74: warning: router.schemas[0].tables[2].rule_required: a global table has no sharding column: rule_required does nothing here (as in MyCat)"
        ]
    );
    // rule_required is MyCat's <table> attribute only, not <childTable>'s.
    let child = src.replace(
        "need_add_limit: false }]",
        "need_add_limit: false, rule_required: true }]",
    );
    assert!(
        errors(&child)
            .iter()
            .any(|e| e.contains("children[0].rule_required: unknown key")),
        "{:?}",
        errors(&child)
    );
}

#[test]
fn whitelist_patterns_admit_every_user() {
    let src = "\
router:
  users: [{ name: app, password: x }, { name: ops, password: y }]
  firewall:
    whitelist:
      - { host: \"127.0.0.1,192.168.1.*\", users: [app] }
      - { host: \"198.18.0.0/15\", users: [ops] }
      - { host: \"172.16.%\" }
";
    assert!(errors(src).is_empty(), "{:?}", errors(src));
    assert_eq!(
        warnings(src)
            .into_iter()
            .filter(|w| w.contains("whitelist"))
            .collect::<Vec<_>>(),
        vec![
            "t.yaml:5:49: warning: router.firewall.whitelist[0].users: `127.0.0.1,192.168.1.*` has a pattern (`*` or `%`), which admits every user, as in MyCat: these users are not checked for it"
        ]
    );
}

/// `track_files`: a relative path, `init_overwrite` without `init_file`, an undefined
/// reference, and a definition no instance tracks.
#[test]
fn track_file_errors() {
    let src = format!(
        "track_files:\n  rel:\n    file: relative/weight\n  over:\n    file: /run/x\n    init_overwrite: true\n  idle:\n    file: /run/idle\n{VRRP_HEAD}      virtual_router_id: 51\n      track_files: [rel, over, mnaual]\n"
    );
    let got = lines(&src);
    for want in [
        "track_files.rel.file: `relative/weight` is not an absolute path",
        "track_files.over: `init_overwrite` needs `init_file` (the value to write)",
    ] {
        assert!(got.iter().any(|l| l.contains(want)), "{want}: {got:?}");
    }
    let src = format!(
        "track_files:\n  manual:\n    file: /run/m\n  idle:\n    file: /run/idle\n{VRRP_HEAD}      virtual_router_id: 51\n      track_files: [manual, mnaual]\n"
    );
    let got = lines(&src);
    for want in [
        "warning: track_files.idle: defined but no VRRP instance tracks it; it will not be watched",
        "vrrp.instances[0].track_files[1]: track file `mnaual` is not defined in track_files; did you mean `manual`?",
    ] {
        assert!(got.iter().any(|l| l.contains(want)), "{want}: {got:?}");
    }
}

/// `track_processes`: a name the kernel would cut, a quorum above quorum_max, an
/// undefined or repeated reference, and a definition no instance tracks.
#[test]
fn track_process_errors() {
    let src = format!(
        "track_processes:\n  db:\n    process: mariadbd-long-name\n    quorum: 3\n    quorum_max: 2\n  idle:\n    process: sleep\n  full:\n    process: /usr/sbin/mariadbd-long-path\n    full_command: true\n    interval: 50ms\n{VRRP_HEAD}      virtual_router_id: 51\n      track_processes: [db, dbb, {{ name: db, weight: -20 }}, full]\n"
    );
    assert_eq!(
        errors(&src),
        vec![
            "t.yaml:11:15: track_processes.full.interval: 50ms is too short: at least 100ms (every interval reads /proc)",
            // The undefined `dbb` waits until track_processes decodes.
            "t.yaml:17:36: vrrp.instances[0].track_processes[2]: `db` is listed twice",
        ]
    );
    let src = src.replace("    interval: 50ms\n", "");
    assert_eq!(
        lines(&src),
        vec![
            "t.yaml:3:14: track_processes.db.process: `mariadbd-long-name` is 18 bytes long, but the kernel keeps only the first 15 bytes of a process name, so it would never match; write the name as `ps -o comm` shows it (`mariadbd-long-n`), or set `full_command: true` to match the command line",
            "t.yaml:4:13: track_processes.db.quorum: quorum 3 is more than quorum_max 2",
            "t.yaml:7:5: warning: track_processes.idle: defined but no VRRP instance tracks it; it will not be watched",
            "t.yaml:13:7: warning: vrrp.instances[0].virtual_ipaddresses: no virtual addresses: the election runs but nothing moves",
            "t.yaml:16:29: vrrp.instances[0].track_processes[1]: track process `dbb` is not defined in track_processes; did you mean `db`?",
            "t.yaml:16:36: vrrp.instances[0].track_processes[2]: `db` is listed twice",
        ]
    );
}

/// An agent check needs a port; its other settings are checked where they are written.
#[test]
fn agent_check_settings_are_checked() {
    let l = "balancer:\n  listeners:\n    - name: k\n      bind: 127.0.0.1:3306\n";
    let e = errors(&format!(
        "{l}      agent: {{ inter: 0s, send: 5 }}\n      servers:\n        - {{ name: a, address: 127.0.0.1:3307 }}\n"
    ));
    assert!(
        e.iter()
            .any(|x| x.contains("balancer.listeners[0].agent.inter")),
        "{e:?}"
    );
    let e = errors(&format!(
        "{l}      agent: {{ inter: 1s }}\n      servers:\n        - {{ name: a, address: 127.0.0.1:3307 }}\n"
    ));
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].contains(
            "balancer.listeners[0].agent: the agent check of server `a` has no port to ask"
        ),
        "{e:?}"
    );
    let e = errors(&format!(
        "{l}      servers:\n        - {{ name: a, address: 127.0.0.1:3307, agent: {{ address: \"not an address\" }} }}\n"
    ));
    assert!(
        e.iter()
            .any(|x| x.contains("balancer.listeners[0].servers[0].agent.address")),
        "{e:?}"
    );
    // A server's own port, or `agent: false` on the one without.
    assert!(errors(&format!(
        "{l}      agent: {{ inter: 1s }}\n      servers:\n        - {{ name: a, address: 127.0.0.1:3307, agent: {{ port: 9 }} }}\n        - {{ name: b, address: 127.0.0.1:3308, agent: false }}\n"
    ))
    .is_empty());
    assert!(errors(&format!(
        "{l}      agent: {{ port: 9, address: 127.0.0.2, send: \"x\\n\", timeout: 1s }}\n      servers:\n        - {{ name: a, address: 127.0.0.1:3307 }}\n"
    ))
    .is_empty());
}

/// `track`: the tracked server exists, the chain ends at a checked server without a
/// loop, and a tracking server has no check timing of its own.
#[test]
fn track_settings_are_checked() {
    let head = "balancer:\n  listeners:\n    - name: rw\n      bind: 127.0.0.1:3306\n      check: { type: tcp }\n      servers:\n        - { name: a, address: 127.0.0.1:3307 }\n    - name: ro\n      bind: 127.0.0.1:3308\n      servers:\n";
    assert!(
        errors(&format!(
            "{head}        - {{ name: a, address: 127.0.0.1:3307, track: rw/a }}\n"
        ))
        .is_empty()
    );
    let e = errors(&format!(
        "{head}        - {{ name: a, address: 127.0.0.1:3307, track: rw/zz }}\n"
    ));
    assert!(
        e.len() == 1
            && e[0].contains(
                "balancer.listeners[1].servers[0].track: `rw/zz` is not a server of this balancer"
            ),
        "{e:?}"
    );
    let e = errors(&format!(
        "{head}        - {{ name: a, address: 127.0.0.1:3307, track: b }}\n        - {{ name: b, address: 127.0.0.1:3309, track: a }}\n"
    ));
    assert!(
        e.iter().all(|x| x.contains("in a loop")) && e.len() == 2,
        "{e:?}"
    );
    // The end of the chain has no check: nothing to follow.
    let e = errors(&format!(
        "{head}        - {{ name: a, address: 127.0.0.1:3307 }}\n        - {{ name: b, address: 127.0.0.1:3309, track: a }}\n"
    ));
    assert!(e.len() == 1 && e[0].contains("neither checked"), "{e:?}");
    let e = errors(&format!(
        "{head}        - {{ name: a, address: 127.0.0.1:3307, track: rw/a, check: {{ fall: 1 }} }}\n"
    ));
    assert!(
        e.len() == 1 && e[0].contains("has no check of its own"),
        "{e:?}"
    );
    let e = errors(&format!(
        "{head}        - {{ name: a, address: 127.0.0.1:3307, track: \"a/b/c\" }}\n"
    ));
    assert!(e.len() == 1 && e[0].contains("write `server`"), "{e:?}");
}

/// `disable_on_404` is a boolean of `http` checks: another type warns, a non-boolean is
/// an error at its position.
#[test]
fn disable_on_404_belongs_to_http_checks() {
    let l = "balancer:\n  listeners:\n    - name: k\n      bind: 127.0.0.1:3306\n";
    let srv = "      servers:\n        - { name: a, address: 127.0.0.1:3307 }\n";
    assert!(
        errors(&format!(
            "{l}      check: {{ type: http, port: 9200, disable_on_404: true }}\n{srv}"
        ))
        .is_empty()
    );
    assert!(
        warnings(&format!(
            "{l}      check: {{ type: http, port: 9200, disable_on_404: true }}\n{srv}"
        ))
        .is_empty()
    );
    let w = warnings(&format!(
        "{l}      check: {{ type: tcp, disable_on_404: true }}\n{srv}"
    ));
    assert!(
        w.iter().any(|x| x.contains(
            "balancer.listeners[0].check: `path`, `expect_status` and `disable_on_404` only apply to `type: http`"
        )),
        "{w:?}"
    );
    let e = errors(&format!(
        "{l}      check: {{ type: http, disable_on_404: sometimes }}\n{srv}"
    ));
    assert!(
        e.iter()
            .any(|x| x.contains("t.yaml:5:44") && x.contains("disable_on_404")),
        "{e:?}"
    );
}
