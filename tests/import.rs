//! `tandem import`: the classic keepalived + haproxy + MyCat pair (tests/data/import/)
//! becomes one tandem YAML that validates, keeps every setting that has an equivalent,
//! warns with file:line about the rest, and places rows on the same shards as MyCat.

mod common;

use std::path::Path;

use common::{tandem, write};
use tandem::config::{self, Config};

fn data(name: &str) -> String {
    common::repo_root()
        .join("tests/data/import")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// The 1-based line of the first line of `file` that contains `needle`.
fn line_of(file: &str, needle: &str) -> usize {
    let text = std::fs::read_to_string(file).expect("fixture");
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("`{needle}` not in {file}"))
        + 1
}

/// Whether `err` has a warning `message` (its beginning) at the first line of `file`
/// containing `anchor`.
fn warned_at(err: &str, file: &str, anchor: &str, message: &str) -> bool {
    err.contains(&format!(
        "{file}:{}: warning: {message}",
        line_of(file, anchor)
    ))
}

/// Runs the import of all three fixtures: (exit code, YAML, stderr).
fn import_all() -> (i32, String, String) {
    import_set("")
}

/// Imports the keepalived.conf, haproxy.cfg and conf/ of fixture set `dir` ("" for the
/// classic set, "prod/", "admin/").
fn import_set(dir: &str) -> (i32, String, String) {
    tandem(&[
        "import",
        "--keepalived",
        &data(&format!("{dir}keepalived.conf")),
        "--haproxy",
        &data(&format!("{dir}haproxy.cfg")),
        "--mycat-dir",
        &data(&format!("{dir}conf")),
    ])
}

fn parse(yaml: &str) -> Config {
    match config::check_str(yaml, "imported.yaml", Path::new("/")).into_result() {
        Ok((c, _)) => c,
        Err(d) => panic!(
            "the imported YAML is invalid:\n{}\n{yaml}",
            d.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        ),
    }
}

#[test]
fn the_classic_setup_imports_and_passes_tandem_check() {
    let (code, out, err) = import_all();
    assert_eq!(code, 0, "{err}\n{out}");
    assert!(err.contains("the generated config is valid"), "{err}");
    let dir = tempfile::tempdir().expect("tempdir");
    let p = write(dir.path(), "imported.yaml", &out);
    let (code, check_out, check_err) = tandem(&["check", "-c", &p.to_string_lossy()]);
    assert_eq!(code, 0, "{check_out}{check_err}\n{out}");
}

/// keepalived.conf alone: its scripts stay track scripts (haproxy and MyCat may stay too),
/// see `haproxy_and_mycat_checks_become_built_in_trackers` for the whole setup.
#[test]
fn keepalived_settings_are_kept() {
    let (code, out, err) = tandem(&["import", "--keepalived", &data("keepalived.conf")]);
    assert_eq!(code, 0, "{err}");
    let c = parse(&out);
    assert_eq!(c.node, "mycat-a");
    assert!(c.script_security);
    let chk = c.track_script("chk_haproxy").expect("chk_haproxy");
    assert_eq!(chk.command.0, ["killall", "-0", "haproxy"]);
    assert!(!chk.shell);
    assert_eq!(chk.weight, -20);
    assert_eq!(chk.interval, config::types::Dur::secs(2));
    let mycat = c.track_script("chk_mycat").expect("chk_mycat");
    assert!(mycat.shell, "an `sh -c` snippet runs through the shell");
    assert_eq!(mycat.command.0.join(" "), "ss -ltn | grep -q :8066");
    assert_eq!((mycat.rise, mycat.fall, mycat.weight), (2, 3, -30));
    assert_eq!(mycat.timeout, config::types::Dur::secs(2));

    let v = c.vrrp.as_ref().expect("vrrp");
    let i = &v.instances[0];
    assert_eq!(i.name, "VI_1");
    assert_eq!(i.interface, "eth0");
    assert_eq!(i.virtual_router_id, 51);
    assert_eq!(i.priority, 150);
    // `state MASTER` + `nopreempt`: keepalived clears nopreempt ("nopreempt will not work
    // with initial state MASTER - clearing") and preempts, so the import does too.
    assert!(!i.nopreempt);
    assert!(
        err.contains("vrrp_instance VI_1: `nopreempt` has no effect with `state MASTER`"),
        "{err}"
    );
    assert_eq!(
        i.unicast_src_ip,
        Some("198.18.156.138".parse().expect("ip"))
    );
    let peers: Vec<String> = i
        .unicast_peers
        .iter()
        .map(|p| p.address.to_string())
        .collect();
    assert_eq!(peers, ["198.18.156.140"]);
    assert_eq!(i.auth_pass.as_deref(), Some("1111"));
    assert_eq!(i.virtual_ipaddresses.len(), 1);
    let vip = &i.virtual_ipaddresses[0];
    assert_eq!(vip.address.to_string(), "198.18.156.161/24");
    assert_eq!(vip.dev.as_deref(), Some("eth0"));
    assert_eq!(vip.label.as_deref(), Some("eth0:vip"));
    let tracks: Vec<(String, Option<i32>)> = i
        .track_scripts
        .iter()
        .map(|t| (t.name.clone(), t.weight))
        .collect();
    assert_eq!(
        tracks,
        [
            ("chk_haproxy".to_string(), None),
            ("chk_mycat".to_string(), Some(-40))
        ]
    );
    assert_eq!(i.track_interfaces[0].name, "eth1");
    assert_eq!(
        i.notify.master.as_ref().map(|c| c.0.join(" ")).as_deref(),
        Some("/etc/keepalived/notify.sh master")
    );
    assert_eq!(i.notify.user, None, "`script_user root` is not imported");
    assert!(c.track_scripts.iter().all(|s| s.user.is_none()));
    assert_eq!(i.garp.master_delay, config::types::Dur::secs(2));
    assert_eq!(i.garp.master_repeat, 3);
    assert_eq!(v.instances[1].name, "VI_2");
    assert!(!v.instances[1].nopreempt);
    assert_eq!(v.sync_groups[0].name, "VG_1");
    assert_eq!(v.sync_groups[0].instances, ["VI_1", "VI_2"]);
}

#[test]
fn haproxy_listeners_are_kept() {
    let (code, out, err) = import_all();
    assert_eq!(code, 0, "{err}");
    let c = parse(&out);
    let b = c.balancer.as_ref().expect("balancer");
    assert_eq!(b.maxconn, Some(4096));
    let names: Vec<&str> = b.listeners.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["mysql", "ro"], "the mode http frontend is skipped");
    let m = &b.listeners[0];
    assert_eq!(m.bind.to_string(), "198.18.156.161:3306");
    assert_eq!(m.balance.to_string(), "roundrobin");
    assert_eq!(m.timeouts.connect, config::types::Dur::secs(5), "5000 = ms");
    assert_eq!(m.timeouts.client, config::types::Dur::secs(8 * 3600));
    assert_eq!(m.timeouts.server, config::types::Dur::secs(8 * 3600));
    assert_eq!(m.retries, 3);
    assert!(m.redispatch);
    // haproxy checked MyCat through xinetd's `mycat_status` on 48700, which fails once
    // the router replaces MyCat: the router itself is checked instead.
    let chk = m.check.as_ref().expect("check");
    assert_eq!(chk.kind.to_string(), "mysql");
    assert_eq!(chk.port, None);
    let why = "listener mysql: haproxy checked its servers, the router's port 8066, on port 48700";
    assert!(
        warned_at(&err, &data("haproxy.cfg"), "listen mysql", why),
        "{err}"
    );
    assert_eq!(chk.inter, config::types::Dur::secs(2), "inter 2000 = ms");
    assert_eq!((chk.rise, chk.fall), (2, 3));
    let servers: Vec<(String, String)> = m
        .servers
        .iter()
        .map(|s| (s.name.clone(), s.address.to_string()))
        .collect();
    assert_eq!(
        servers,
        [
            ("s1".to_string(), "198.19.0.1:8066".to_string()),
            ("s2".to_string(), "198.19.0.2:8066".to_string())
        ]
    );
    assert!(m.servers.iter().all(|s| s.check));

    let ro = &b.listeners[1];
    assert_eq!(ro.balance.to_string(), "source");
    let chk = ro.check.as_ref().expect("check");
    assert_eq!(chk.kind.to_string(), "mysql");
    assert_eq!(chk.user.as_deref(), Some("haproxy"));
    assert_eq!(chk.inter, config::types::Dur::secs(3));
    assert_eq!(chk.timeout, Some(config::types::Dur::secs(1)));
    assert_eq!(ro.servers[0].weight, 2);
    assert!(ro.servers[1].backup);
}

#[test]
fn mycat_router_is_kept() {
    let (code, out, err) = import_all();
    assert_eq!(code, 0, "{err}");
    let c = parse(&out);
    let r = c.router.as_ref().expect("router");
    assert_eq!(r.listen.to_string(), "0.0.0.0:8066");
    assert_eq!(
        r.admin_listen.map(|a| a.to_string()).as_deref(),
        Some("127.0.0.1:9066")
    );
    let users: Vec<&str> = r.users.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(users, ["root", "app", "report"]);
    let app = &r.users[1];
    assert_eq!(app.password, "app_pw");
    assert_eq!(app.schemas, ["TESTDB"]);
    assert_eq!(app.default_schema.as_deref(), Some("TESTDB"));
    assert_eq!(r.users[0].default_schema, None);
    assert_eq!(app.max_connections, Some(500));
    assert_eq!(app.privileges[0].schema, "TESTDB");
    assert_eq!(String::from(app.privileges[0].dml), "1110");
    assert_eq!(app.privileges[0].tables[0].0, "company");
    assert_eq!(String::from(app.privileges[0].tables[0].1), "0010");
    assert!(r.users[2].read_only);
    let wl: Vec<(String, Vec<String>)> = r
        .firewall
        .whitelist
        .iter()
        .map(|e| (e.host.clone(), e.users.clone()))
        .collect();
    assert_eq!(
        wl[0],
        ("127.0.0.1".to_string(), vec!["root".into(), "app".into()])
    );
    assert_eq!(wl[1].0, "10.0.1.*");

    let s = &r.schemas[0];
    assert_eq!(s.name, "TESTDB");
    assert_eq!(s.sql_max_limit, Some(100));
    assert_eq!(s.data_node.as_deref(), Some("dn1"));
    let t = |n: &str| s.tables.iter().find(|t| t.name == n).expect(n);
    assert_eq!(
        t("travelrecord").rule.as_deref(),
        Some("auto-sharding-long")
    );
    assert_eq!(t("travelrecord").data_nodes, ["dn1", "dn2", "dn3"]);
    assert_eq!(t("company").kind.to_string(), "global");
    let orders = t("orders");
    assert_eq!(orders.data_nodes, ["dn1", "dn2", "dn3"], "dn$1-3 expanded");
    assert!(orders.auto_increment);
    assert_eq!(orders.children[0].name, "order_items");
    assert_eq!(orders.children[0].join_key, "order_id");
    assert_eq!(orders.children[0].children[0].name, "order_item_notes");

    let h = &r.data_hosts[0];
    assert_eq!((h.balance, h.switch_type, h.max_con), (1, 1, 1000));
    assert_eq!(h.write_hosts.len(), 2);
    assert_eq!(h.write_hosts[0].read_hosts[0].host, "hostS1");
    assert_eq!(h.write_hosts[0].read_hosts[0].weight, 2);

    let rule = |n: &str| r.rules.iter().find(|x| x.name == n).expect(n);
    let range = rule("auto-sharding-long");
    assert_eq!(range.column, "id");
    assert_eq!(
        range.function.map,
        ["0-500M=0", "500M-1000M=1", "1000M-1500M=2"]
    );
    assert!(range.function.map_file.is_none(), "the map is inline");
    assert_eq!(
        rule("sharding-by-intfile").function.map,
        ["10000=0", "10010=1"]
    );
    assert_eq!(rule("mod-long").function.count, Some(3));
    assert!(r.rules.iter().all(|x| x.name != "crc32slot"), "unused rule");
    let seq = r.sequence.as_ref().expect("sequence");
    assert_eq!(seq.handler.to_string(), "local_file");
    assert!(
        seq.file
            .as_ref()
            .expect("file")
            .ends_with("conf/sequence_conf.properties")
    );
}

#[test]
fn keywords_without_an_equivalent_are_warned_with_their_line() {
    let (code, _, err) = import_all();
    assert_eq!(code, 0, "{err}");
    let ka = data("keepalived.conf");
    let vs = line_of(&ka, "virtual_server 198.18.156.161");
    assert!(
        err.contains(&format!("{ka}:{vs}: warning: keyword `virtual_server`")),
        "{err}"
    );
    let smtp = line_of(&ka, "smtp_server");
    assert!(
        err.contains(&format!("{ka}:{smtp}: warning: keyword `smtp_server`")),
        "{err}"
    );
    let state = line_of(&ka, "state MASTER");
    assert!(
        err.contains(&format!(
            "{ka}:{state}: warning: vrrp_instance VI_1: `state MASTER`"
        )),
        "{err}"
    );
    // The killall check suggests the built-in tracker that replaces it.
    let killall = line_of(&ka, "killall -0 haproxy");
    let line = err
        .lines()
        .find(|l| l.starts_with(&format!("{ka}:{killall}:")))
        .unwrap_or_else(|| panic!("no warning for the killall script: {err}"));
    assert!(line.contains("track_listeners"), "{line}");

    let ha = data("haproxy.cfg");
    let http = line_of(&ha, "mode http");
    assert!(
        err.contains(&format!("{ha}:{http}: warning: frontend web: `mode http`")),
        "{err}"
    );
    let dontlog = line_of(&ha, "dontlognull");
    assert!(
        err.contains(&format!(
            "{ha}:{dontlog}: warning: keyword `option dontlognull`"
        )),
        "{err}"
    );

    let server = data("conf/server.xml");
    let processors = line_of(&server, "processors");
    assert!(
        err.contains(&format!(
            "{server}:{processors}: warning: keyword `system property processors`"
        )),
        "{err}"
    );
    assert!(
        !err.contains("defaultSchema"),
        "defaultSchema is imported: {err}"
    );
    let rules = data("conf/rule.xml");
    let crc = line_of(&rules, "tableRule name=\"crc32slot\"");
    assert!(
        err.contains(&format!("{rules}:{crc}: warning: tableRule crc32slot")),
        "{err}"
    );
}

/// The sorted `nodes` of `tandem explain`.
fn nodes(config: &str, sql: &str) -> Vec<String> {
    let (code, out, err) = tandem(&["explain", "-c", config, "--schema", "TESTDB", sql]);
    assert_eq!(code, 0, "explain {sql}: {out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let mut n: Vec<String> = v["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("no nodes: {v}"))
        .iter()
        .map(|x| x.as_str().expect("name").to_string())
        .collect();
    n.sort();
    n
}

#[test]
fn same_shard_for_the_same_key_as_the_hand_written_config() {
    let (code, out, err) = tandem(&["import", "--mycat-dir", &data("conf")]);
    assert_eq!(code, 0, "{err}\n{out}");
    let dir = tempfile::tempdir().expect("tempdir");
    let imported = write(dir.path(), "imported.yaml", &out);
    let imported = imported.to_string_lossy().into_owned();
    let expected = data("expected-router.yaml");
    // (statement, where MyCat puts it)
    let cases = [
        ("SELECT * FROM travelrecord WHERE id = 1", "dn1"),
        ("SELECT * FROM travelrecord WHERE id = 4999999", "dn1"),
        ("SELECT * FROM travelrecord WHERE id = 5000001", "dn2"),
        ("SELECT * FROM travelrecord WHERE id = 10000001", "dn3"),
        ("SELECT * FROM employee WHERE sharding_id = 10000", "dn1"),
        ("SELECT * FROM employee WHERE sharding_id = 10010", "dn2"),
        ("SELECT * FROM orders WHERE id = 3", "dn1"),
        ("SELECT * FROM orders WHERE id = 4", "dn2"),
        ("SELECT * FROM orders WHERE id = 5", "dn3"),
        ("SELECT * FROM order_items WHERE order_id = 4", "dn2"),
    ];
    for (sql, node) in cases {
        let got = nodes(&imported, sql);
        assert_eq!(got, nodes(&expected, sql), "{sql}");
        assert_eq!(got, [node], "{sql}");
    }
    // A global table is read from one node and written to all.
    assert_eq!(
        nodes(&imported, "INSERT INTO company (ID, name) VALUES (1, 'x')"),
        ["dn1", "dn2", "dn3"]
    );
}

/// Imports the fixture `tests/data/import/quirks/NAME` given with `flag` (and the `more`
/// arguments); it must succeed. (the file's path, the parsed output, stderr).
fn import_quirk(flag: &str, name: &str, more: &[&str]) -> (String, Config, String) {
    let file = data(&format!("quirks/{name}"));
    let mut args = vec!["import", flag, &file];
    args.extend(more);
    let (code, out, err) = tandem(&args);
    assert_eq!(code, 0, "{err}\n{out}");
    (file, parse(&out), err)
}

/// A `}` too many at the top level: keepalived reports it and reads on, so what follows
/// is imported too (it was dropped with "the rest of the file is ignored").
#[test]
fn an_extra_closing_brace_is_skipped_as_keepalived_does() {
    let (file, c, err) = import_quirk("--keepalived", "extra-brace.conf", &[]);
    let vrrp = c.vrrp.expect("vrrp imported");
    assert_eq!(vrrp.instances.len(), 1, "{err}");
    assert_eq!(vrrp.instances[0].name, "VI_1");
    assert_eq!(vrrp.instances[0].priority, 150);
    let warned = |line: usize| {
        err.contains(&format!(
            "{file}:{line}: warning: extra `}}` with no block to close; ignored"
        ))
    };
    assert!(warned(6) && warned(16), "{err}");
    assert!(!err.contains("rest of the file"), "{err}");
}

/// Server and bind addresses as haproxy reads them: an IPv6 address without brackets
/// (it was written as is, and `tandem check` then said it had no port) and `ipv4@`/`ipv6@`
/// prefixes.
#[test]
fn haproxy_ipv6_addresses_without_brackets_and_family_prefixes() {
    let (_, c, err) = import_quirk("--haproxy", "ipv6-servers.cfg", &[]);
    let l = &c.balancer.expect("balancer").listeners[0];
    assert_eq!(l.bind.to_string(), "198.18.0.100:3306");
    let servers: Vec<String> = l.servers.iter().map(|s| s.address.to_string()).collect();
    assert_eq!(
        servers,
        [
            "[2001:db8::1]:8066",
            "[2001:db8::2]:8066",
            "198.18.0.3:8066"
        ],
        "{err}"
    );
}

/// haproxy checked MyCat through xinetd's `mycat_status` (an HTTP probe on 48700, box b's
/// on 48701). Once the router replaces MyCat that probe fails, so the import checks the
/// router itself (`type: mysql` on the servers' port) instead of keeping a check that
/// would mark every server DOWN, and says so; the warnings about the probe's request go.
#[test]
fn a_mycat_status_probe_becomes_a_check_of_the_router() {
    let conf = data("conf");
    let (file, c, err) = import_quirk("--haproxy", "xinetd-httpchk.cfg", &["--mycat-dir", &conf]);
    let l = &c.balancer.expect("balancer").listeners[0];
    let chk = l.check.as_ref().expect("check");
    assert_eq!(chk.kind.to_string(), "mysql");
    assert_eq!(chk.port, None);
    assert_eq!((chk.rise, chk.fall), (2, 3));
    assert!(
        l.servers.iter().all(|s| s.check_tuning.port.is_none()),
        "{err}"
    );
    let why = "listener mycat_service: haproxy checked its servers, the router's port 8066, on port 48700";
    assert!(warned_at(&err, &file, "listen mycat_service", why), "{err}");
    // ... and names the check that drains a router taken `offline`.
    assert!(
        err.contains("`path: /health/router`, `disable_on_404: true`"),
        "{err}"
    );
    assert!(
        !err.contains("`option httpchk`") && !err.contains("GET <path>"),
        "{err}"
    );
}

/// MyCat's `subTables` (one table sharded over several tables of one database) has no
/// equivalent: the warning says where the rows are and what to do before migrating (it
/// was the generic "no tandem equivalent"), and the output keeps its error about the rule.
#[test]
fn mycat_sub_tables_are_explained() {
    let dir = data("quirks/subtables");
    let (code, out, err) = tandem(&["import", "--mycat-dir", &dir]);
    assert_eq!(code, 1, "{err}\n{out}");
    let why = "table orders: subTables=\"orders_$1-4\": MyCat (1.6.5+) shards this table over the tables orders_$1-4 inside its data node";
    assert!(
        warned_at(&err, &format!("{dir}/schema.xml"), "subTables=", why),
        "{err}"
    );
    assert!(
        err.contains("or merge them into `orders`; not imported"),
        "{err}"
    );
    assert!(
        err.contains(
            "rule `mod4` can place rows on node index 3 but table `orders` has only 1 data nodes"
        ),
        "{err}"
    );
}

#[test]
fn any_subset_imports_alone() {
    let (code, out, err) = tandem(&[
        "import",
        "--keepalived",
        &data("keepalived.conf"),
        "--node",
        "box-a",
    ]);
    assert_eq!(code, 0, "{err}");
    let c = parse(&out);
    assert_eq!(c.node, "box-a", "--node overrides router_id");
    assert!(c.vrrp.is_some() && c.balancer.is_none() && c.router.is_none());

    let (code, out, err) = tandem(&["import", "--haproxy", &data("haproxy.cfg")]);
    assert_eq!(code, 0, "{err}");
    let c = parse(&out);
    assert!(c.vrrp.is_none() && c.balancer.is_some() && c.router.is_none());
}

#[test]
fn unreadable_input_exits_2_and_an_invalid_result_exits_1() {
    let (code, _, err) = tandem(&["import"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = tandem(&["import", "--keepalived", "/nonexistent/keepalived.conf"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("/nonexistent/keepalived.conf"), "{err}");
    let (code, _, err) = tandem(&["import", "--mycat-dir", "/nonexistent"]);
    assert_eq!(code, 2, "{err}");

    // keepalived accepts nothing above 255 either: the checker says where.
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = write(
        dir.path(),
        "keepalived.conf",
        "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 300\n  virtual_ipaddress {\n    198.19.0.1/24\n  }\n}\n",
    );
    let (code, out, err) = tandem(&["import", "--keepalived", &bad.to_string_lossy()]);
    assert_eq!(code, 1, "{err}");
    assert!(out.contains("virtual_router_id: 300"), "{out}");
    assert!(
        err.contains("virtual_router_id") && err.contains("out of range"),
        "{err}"
    );
}

#[test]
fn haproxy_frontend_backend_pairs_become_one_listener() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write(
        dir.path(),
        "haproxy.cfg",
        "defaults\n  mode tcp\n  timeout connect 3s\n  timeout client 1m\n  timeout server 1m\n\n\
frontend db\n  bind :3306\n  maxconn 500\n  use_backend other if { src 198.19.0.0/16 }\n  default_backend pool\n\n\
backend pool\n  balance leastconn\n  option httpchk GET /health\n  http-check expect status 200\n  \
http-check disable-on-404\n  default-server inter 1s fall 2 rise 1\n  server a 198.19.0.1:3306 check port 9200 send-proxy-v2\n  \
server b 198.19.0.2:3306 check port 9200 maxconn 100 slowstart 10s\n\n\
backend other\n  server c 198.19.0.3:3306\n",
    );
    let (code, out, err) = tandem(&["import", "--haproxy", &cfg.to_string_lossy()]);
    assert_eq!(code, 0, "{err}\n{out}");
    let c = parse(&out);
    let l = &c.balancer.as_ref().expect("balancer").listeners[0];
    assert_eq!(l.name, "db");
    assert_eq!(l.bind.to_string(), "0.0.0.0:3306");
    assert_eq!(l.maxconn, 500);
    assert_eq!(l.balance.to_string(), "leastconn");
    let chk = l.check.as_ref().expect("check");
    assert_eq!(chk.kind.to_string(), "http");
    assert_eq!(chk.path, "/health");
    assert_eq!(chk.expect_status, Some(200));
    assert!(chk.disable_on_404, "{out}");
    assert_eq!((chk.port, chk.rise, chk.fall), (Some(9200), 1, 2));
    assert_eq!(chk.inter, config::types::Dur::secs(1));
    assert_eq!(
        l.servers[0]
            .send_proxy
            .as_ref()
            .map(|p| p.to_string())
            .as_deref(),
        Some("v2")
    );
    assert_eq!(l.servers[1].maxconn, Some(100));
    let file = cfg.to_string_lossy();
    assert!(
        err.contains(&format!("{file}:10: warning: keyword `use_backend")),
        "{err}"
    );
    assert_eq!(
        l.servers[1].slowstart,
        Some(config::types::Dur::secs(10)),
        "{out}"
    );
    assert!(
        err.contains("backend other is not the default_backend"),
        "{err}"
    );
}

/// A keepalived pair imported with `tandem import`, run in network namespaces, elects the
/// same master and fails over like the hand-written tandem configs of the same pair.
#[test]
fn imported_keepalived_pair_behaves_like_the_hand_written_one() {
    use common::netns::Lab;
    use std::time::Duration;
    let imported = |b: &str| {
        let (code, yaml, err) = tandem(&[
            "import",
            "--keepalived",
            &data(&format!("lab/keepalived-{b}.conf")),
        ]);
        assert_eq!(code, 0, "{err}");
        format!("observe: {{ listen: 127.0.0.1:9188 }}\n{yaml}")
    };
    let hand = |b: &str, me: &str, peer: &str, prio: u8| {
        format!(
            "node: box-{b}
observe: {{ listen: 127.0.0.1:9188 }}
track_scripts:
  chk_alive: {{ command: [\"/bin/true\"], interval: 1s, weight: -60, fall: 2, rise: 1, user: root }}
vrrp:
  instances:
    - name: VI_1
      interface: eth0
      virtual_router_id: 51
      priority: {prio}
      advert_int: 1s
      unicast_src_ip: {me}
      unicast_peers: [{peer}]
      auth_pass: \"lab\"
      virtual_ipaddresses: [\"198.18.0.100/24\"]
      track_scripts: [chk_alive]
"
        )
    };
    let vip = "198.18.0.100/24";
    let run = |a_cfg: String, b_cfg: String| -> (Vec<String>, Vec<String>) {
        let lab = Lab::new(&["a", "b"]);
        let da = lab.tandem(0, &a_cfg);
        let db = lab.tandem(1, &b_cfg);
        assert!(lab.wait_state(0, "VI_1", "MASTER"), "{}", da.logs());
        assert!(
            lab.wait_state(1, "VI_1", "BACKUP"),
            "a:\n{}\nb:\n{}",
            da.logs(),
            db.logs()
        );
        let before = common::wait_for(Duration::from_secs(20), || {
            let h = lab.holders(vip);
            (h.len() == 1).then_some(h)
        })
        .unwrap_or_default();
        da.signal(nix::sys::signal::Signal::SIGKILL);
        assert!(lab.wait_state(1, "VI_1", "MASTER"));
        let after = common::wait_for(Duration::from_secs(20), || {
            let h = lab.holders(vip);
            (h == vec!["b".to_string()]).then_some(h)
        })
        .unwrap_or_default();
        (before, after)
    };
    let from_import = run(imported("a"), imported("b"));
    let by_hand = run(
        hand("a", "198.18.0.1", "198.18.0.2", 150),
        hand("b", "198.18.0.2", "198.18.0.1", 100),
    );
    assert_eq!(from_import.0, vec!["a".to_string()]);
    assert_eq!(from_import, by_hand);
}

/// `option tcpka`/`clitcpka`/`srvtcpka` and `clitcpka-*`/`srvtcpka-*` become
/// `tcp_keepalive`: per side, `tcpka` in a frontend or backend covering only its side,
/// the client side from the frontend and the server side from the backend.
#[test]
fn haproxy_tcp_keepalive_options_map_per_side() {
    use tandem::config::balancer::TcpKeepalive;
    use tandem::config::types::Dur;
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write(
        dir.path(),
        "haproxy.cfg",
        "defaults\n  mode tcp\n  timeout connect 3s\n  timeout client 1m\n  timeout server 1m\n\n\
listen both\n  bind :3306\n  option tcpka\n  clitcpka-idle 45s\n  srvtcpka-idle 30\n  clitcpka-intvl 5\n  clitcpka-cnt 4\n  server a 198.19.0.1:3306\n\n\
listen legacy\n  bind :3307\n  option tcpka\n  server a 198.19.0.1:3306\n\n\
listen cli\n  bind :3308\n  option clitcpka\n  srvtcpka-idle 30\n  server a 198.19.0.1:3306\n\n\
listen off\n  bind :3309\n  option tcpka\n  no option tcpka\n  server a 198.19.0.1:3306\n\n\
frontend fe\n  bind :3310\n  option tcpka\n  clitcpka-idle 1500ms\n  default_backend be\n\n\
backend be\n  option srvtcpka\n  srvtcpka-cnt 300\n  server a 198.19.0.1:3306\n\n\
frontend fe2\n  bind :3311\n  default_backend be2\n\n\
backend be2\n  option tcpka\n  srvtcpka-intvl 10\n  server a 198.19.0.1:3306\n",
    );
    let (code, out, err) = tandem(&["import", "--haproxy", &cfg.to_string_lossy()]);
    assert_eq!(code, 0, "{err}\n{out}");
    let c = parse(&out);
    let ka = |name: &str| -> TcpKeepalive {
        c.balancer
            .as_ref()
            .expect("balancer")
            .listeners
            .iter()
            .find(|l| l.name == name)
            .unwrap_or_else(|| panic!("listener {name}:\n{out}"))
            .tcp_keepalive
    };
    let tuned =
        |client, server, idle: u64, interval: Option<u64>, count: Option<u32>| TcpKeepalive {
            client,
            server,
            idle: Dur::secs(idle),
            interval: interval.map(Dur::secs),
            count,
        };
    assert_eq!(ka("both"), tuned(true, true, 45, Some(5), Some(4)));
    assert_eq!(ka("legacy"), TcpKeepalive::BOTH);
    assert!(
        out.contains("tcp_keepalive: true"),
        "the untuned form stays a bool:\n{out}"
    );
    assert_eq!(ka("cli"), tuned(true, false, 60, None, None));
    assert_eq!(ka("off"), TcpKeepalive::OFF);
    assert_eq!(ka("fe"), tuned(true, true, 2, None, None));
    assert_eq!(ka("fe2"), tuned(false, true, 60, Some(10), None));

    let file = cfg.to_string_lossy().into_owned();
    assert!(
        err.contains(&format!(
            "{file}:{}: warning: listener both: `clitcpka-idle 45s` and `srvtcpka-idle 30s` differ",
            line_of(&file, "clitcpka-idle 45s")
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{file}:{}: warning: `clitcpka-idle 1500ms`: keepalive times are whole seconds; using 2s",
            line_of(&file, "clitcpka-idle 1500ms")
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{file}:{}: warning: `srvtcpka-cnt 300`: not a probe count from 1 to 127; ignored",
            line_of(&file, "srvtcpka-cnt 300")
        )),
        "{err}"
    );
    assert!(
        !err.contains("SO_KEEPALIVE on both sides"),
        "no more both-sides warning: {err}"
    );
}

/// A conf/ directory with one user, one table on `nodes` data nodes using `rule`, and
/// `rule_xml` as rule.xml.
fn mycat_dir(dir: &Path, user_props: &str, nodes: usize, rule: &str, rule_xml: &str) -> String {
    write(
        dir,
        "server.xml",
        &format!(
            "<?xml version=\"1.0\"?>\n<mycat:server xmlns:mycat=\"http://io.mycat/\">\n\
<user name=\"app\">\n<property name=\"password\">pw</property>\n{user_props}</user>\n</mycat:server>\n"
        ),
    );
    write(
        dir,
        "schema.xml",
        &format!(
            "<?xml version=\"1.0\"?>\n<mycat:schema xmlns:mycat=\"http://io.mycat/\">\n\
<schema name=\"TESTDB\" dataNode=\"dn1\">\n\
<table name=\"logs\" dataNode=\"dn$1-{nodes}\" rule=\"{rule}\" />\n</schema>\n\
<dataNode name=\"dn$1-{nodes}\" dataHost=\"h\" database=\"db$1-{nodes}\" />\n\
<dataHost name=\"h\" maxCon=\"10\" minCon=\"1\" balance=\"0\" writeType=\"0\" dbType=\"mysql\" dbDriver=\"native\" switchType=\"1\">\n\
<heartbeat>select user()</heartbeat>\n\
<writeHost host=\"M\" url=\"198.19.0.11:3306\" user=\"root\" password=\"pw\" />\n</dataHost>\n\
</mycat:schema>\n"
        ),
    );
    write(dir, "rule.xml", rule_xml);
    dir.to_string_lossy().into_owned()
}

/// MyCat 1.6's `sNaturalDay=1` (its bean property; `naturalDay` too) needs neither
/// `sBeginDate` nor `sPartionDay`: the node is the day of the month - 1.
#[test]
fn mycat_natural_day_date_rule_imports_without_begin_date() {
    for prop in ["sNaturalDay", "naturalDay"] {
        let dir = tempfile::tempdir().expect("tempdir");
        let conf = mycat_dir(
            dir.path(),
            "<property name=\"schemas\">TESTDB</property>\n",
            31,
            "by-day",
            &format!(
                "<?xml version=\"1.0\"?>\n<mycat:rule xmlns:mycat=\"http://io.mycat/\">\n\
<tableRule name=\"by-day\">\n<rule>\n<columns>create_date</columns>\n<algorithm>natural</algorithm>\n</rule>\n</tableRule>\n\
<function name=\"natural\" class=\"io.mycat.route.function.PartitionByDate\">\n\
<property name=\"dateFormat\">yyyy-MM-dd</property>\n\
<property name=\"{prop}\">1</property>\n</function>\n</mycat:rule>\n"
            ),
        );
        let (code, out, err) = tandem(&["import", "--mycat-dir", &conf]);
        assert_eq!(code, 0, "{prop}: {err}\n{out}");
        assert!(!err.contains(prop), "{prop} is imported: {err}");
        let c = parse(&out);
        let f = &c.router.as_ref().expect("router").rules[0].function;
        assert_eq!(f.natural_day, Some(true), "{out}");
        assert_eq!((&f.begin_date, f.partition_day), (&None, None));
        let out_dir = tempfile::tempdir().expect("tempdir");
        let p = write(out_dir.path(), "imported.yaml", &out);
        let p = p.to_string_lossy().into_owned();
        assert_eq!(
            nodes(&p, "SELECT * FROM logs WHERE create_date = '2014-01-20'"),
            ["dn20"]
        );
        assert_eq!(
            nodes(&p, "SELECT * FROM logs WHERE create_date = '2018-03-31'"),
            ["dn31"]
        );
    }
}

/// MyCat 1.6's PartitionByMonth with neither `sBeginDate` nor `sEndDate` puts a row on
/// the node of its month of the year (12 nodes); it imports and routes the same.
#[test]
fn mycat_month_rule_without_begin_date_routes_by_month_of_year() {
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = mycat_dir(
        dir.path(),
        "<property name=\"schemas\">TESTDB</property>\n",
        12,
        "by-month",
        "<?xml version=\"1.0\"?>\n<mycat:rule xmlns:mycat=\"http://io.mycat/\">\n\
<tableRule name=\"by-month\">\n<rule>\n<columns>create_date</columns>\n<algorithm>m</algorithm>\n</rule>\n</tableRule>\n\
<function name=\"m\" class=\"io.mycat.route.function.PartitionByMonth\">\n\
<property name=\"dateFormat\">yyyy-MM-dd</property>\n</function>\n</mycat:rule>\n",
    );
    let (code, out, err) = tandem(&["import", "--mycat-dir", &conf]);
    assert_eq!(code, 0, "{err}\n{out}");
    let out_dir = tempfile::tempdir().expect("tempdir");
    let p = write(out_dir.path(), "imported.yaml", &out);
    let p = p.to_string_lossy().into_owned();
    assert_eq!(
        nodes(&p, "SELECT * FROM logs WHERE create_date = '2014-03-15'"),
        ["dn3"]
    );
    assert_eq!(
        nodes(&p, "SELECT * FROM logs WHERE create_date = '2019-12-31'"),
        ["dn12"]
    );
}

/// server.xml's `defaultSchema` becomes `default_schema`, unless it is not one of the
/// user's schemas (tandem rejects that), which is left out with a warning.
#[test]
fn mycat_default_schema_is_imported() {
    let rule = "<?xml version=\"1.0\"?>\n<mycat:rule xmlns:mycat=\"http://io.mycat/\">\n\
<tableRule name=\"m\">\n<rule>\n<columns>id</columns>\n<algorithm>mod</algorithm>\n</rule>\n</tableRule>\n\
<function name=\"mod\" class=\"io.mycat.route.function.PartitionByMod\">\n\
<property name=\"count\">2</property>\n</function>\n</mycat:rule>\n";
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = mycat_dir(
        dir.path(),
        "<property name=\"defaultSchema\">TESTDB</property>\n<property name=\"schemas\">TESTDB</property>\n",
        2,
        "m",
        rule,
    );
    let (code, out, err) = tandem(&["import", "--mycat-dir", &conf]);
    assert_eq!(code, 0, "{err}\n{out}");
    assert!(!err.contains("defaultSchema"), "{err}");
    let c = parse(&out);
    let u = &c.router.as_ref().expect("router").users[0];
    assert_eq!(u.default_schema.as_deref(), Some("TESTDB"));

    let dir = tempfile::tempdir().expect("tempdir");
    let conf = mycat_dir(
        dir.path(),
        "<property name=\"schemas\">TESTDB</property>\n<property name=\"defaultSchema\">OTHER</property>\n",
        2,
        "m",
        rule,
    );
    let (code, out, err) = tandem(&["import", "--mycat-dir", &conf]);
    assert_eq!(code, 0, "{err}\n{out}");
    let server = format!("{conf}/server.xml");
    assert!(
        err.contains(&format!(
            "{server}:{}: warning: user app: defaultSchema `OTHER` is not one of the user's schemas; not imported",
            line_of(&server, "defaultSchema")
        )),
        "{err}"
    );
    assert_eq!(
        parse(&out).router.as_ref().expect("router").users[0].default_schema,
        None
    );
}

/// haproxy's `bind :::PORT` takes IPv4 clients too (unless `v6only`); tandem's `[::]`
/// listeners are IPv6-only, so the import adds a `0.0.0.0:PORT` listener next to it.
#[test]
fn haproxy_dual_stack_bind_becomes_two_listeners() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write(
        dir.path(),
        "haproxy.cfg",
        "defaults\n  mode tcp\n  no log\n  timeout connect 3s\n  timeout client 1m\n  timeout server 1m\n\n\
listen db\n  bind :::3308\n  server a 198.19.0.1:3306\n\n\
listen v6\n  bind :::3309 v6only\n  server a 198.19.0.1:3306\n",
    );
    let (code, out, err) = tandem(&["import", "--haproxy", &cfg.to_string_lossy()]);
    assert_eq!(code, 0, "{err}\n{out}");
    let c = parse(&out);
    let binds: Vec<(String, String)> = c
        .balancer
        .as_ref()
        .expect("balancer")
        .listeners
        .iter()
        .map(|l| (l.name.clone(), l.bind.to_string()))
        .collect();
    let pair = |n: &str, b: &str| (n.to_string(), b.to_string());
    assert_eq!(
        binds,
        [
            pair("db", "[::]:3308"),
            pair("db_2", "0.0.0.0:3308"),
            pair("v6", "[::]:3309")
        ]
    );
    let file = cfg.to_string_lossy();
    assert!(
        err.contains(&format!(
            "{file}:{}: warning: `db`: haproxy's IPv6 wildcard bind also takes IPv4 clients",
            line_of(&file, ":::3308")
        )),
        "{err}"
    );
    assert!(
        !err.contains("bind ... v6only"),
        "v6only is understood: {err}"
    );
    assert_eq!(err.matches("warning:").count(), 1, "{err}");
}

/// MyCat listens on 8066 when server.xml has no `serverPort` (its stock server.xml has
/// the line commented out); tandem's own default is 8067, so the import writes 8066.
#[test]
fn mycat_server_port_defaults_to_8066() {
    let rule = "<?xml version=\"1.0\"?>\n<mycat:rule xmlns:mycat=\"http://io.mycat/\">\n\
<tableRule name=\"m\">\n<rule>\n<columns>id</columns>\n<algorithm>mod</algorithm>\n</rule>\n</tableRule>\n\
<function name=\"mod\" class=\"io.mycat.route.function.PartitionByMod\">\n\
<property name=\"count\">2</property>\n</function>\n</mycat:rule>\n";
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = mycat_dir(
        dir.path(),
        "<property name=\"schemas\">TESTDB</property>\n",
        2,
        "m",
        rule,
    );
    let (code, out, err) = tandem(&["import", "--mycat-dir", &conf]);
    assert_eq!(code, 0, "{err}\n{out}");
    let r = parse(&out).router.expect("router");
    assert_eq!(r.listen.to_string(), "0.0.0.0:8066", "{out}");
}

/// A malformed XML file is reported as FILE:LINE:COL, like every other finding.
#[test]
fn mycat_xml_syntax_error_names_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "schema.xml",
        "<?xml version=\"1.0\"?>\n<!DOCTYPE mycat:schema SYSTEM \"schema.dtd\">\n\
<mycat:schema xmlns:mycat=\"http://io.mycat/\">\n\
<dataNode name=\"dn1\" dataHost=\"h\" database=\"db1\" />\n\
<dataHost name=\"h\"><writeHost host=\"M\" url=\"198.19.0.11:3306\" user=\"root\" password=\"a<b\" /></dataHost>\n\
</mycat:schema>\n",
    );
    let conf = dir.path().to_string_lossy().into_owned();
    let (code, _, err) = tandem(&["import", "--mycat-dir", &conf]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&format!("{conf}/schema.xml:5:")), "{err}");
}

/// Imports one keepalived.conf text: (exit code, YAML, stderr, path of the file).
fn import_keepalived(dir: &Path, text: &str) -> (i32, String, String, String) {
    let p = write(dir, "keepalived.conf", text);
    let file = p.to_string_lossy().into_owned();
    let (code, out, err) = tandem(&["import", "--keepalived", &file]);
    (code, out, err, file)
}

/// keepalived clears `nopreempt` (and `preempt_delay`) on an instance with `state MASTER`
/// or priority 255 and preempts; importing `nopreempt: true` made the box stop preempting.
#[test]
fn keepalived_nopreempt_with_state_master_is_cleared() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, out, err, file) = import_keepalived(
        dir.path(),
        "vrrp_instance A {\n  state MASTER\n  interface eth0\n  virtual_router_id 51\n\
  priority 150\n  nopreempt\n  preempt_delay 30\n  virtual_ipaddress {\n    198.19.0.1/24\n  }\n}\n\
vrrp_instance B {\n  state BACKUP\n  interface eth0\n  virtual_router_id 52\n\
  priority 100\n  nopreempt\n  virtual_ipaddress {\n    198.19.0.2/24\n  }\n}\n\
vrrp_instance C {\n  interface eth0\n  virtual_router_id 53\n\
  priority 255\n  nopreempt\n  virtual_ipaddress {\n    198.19.0.3/24\n  }\n}\n",
    );
    assert_eq!(code, 0, "{err}\n{out}");
    let v = parse(&out).vrrp.expect("vrrp");
    let got: Vec<(bool, u64)> = v
        .instances
        .iter()
        .map(|i| (i.nopreempt, i.preempt_delay.get().as_secs()))
        .collect();
    assert_eq!(got, [(false, 0), (true, 0), (false, 0)], "{out}");
    assert!(
        err.contains(&format!(
            "{file}:6: warning: vrrp_instance A: `nopreempt` has no effect with `state MASTER`"
        )),
        "{err}"
    );
    assert!(err.contains(&format!(
        "{file}:7: warning: vrrp_instance A: `preempt_delay`"
    )));
    assert!(err.contains("vrrp_instance C: `nopreempt` has no effect with priority 255"));
}

/// Imports one haproxy.cfg text: (exit code, YAML, stderr, path of the file).
fn import_haproxy(dir: &Path, text: &str) -> (i32, String, String, String) {
    let p = write(dir, "haproxy.cfg", text);
    let file = p.to_string_lossy().into_owned();
    let (code, out, err) = tandem(&["import", "--haproxy", &file]);
    (code, out, err, file)
}

/// A checked server without `inter` is checked every 2s by haproxy: when another server
/// has `inter 5s`, that server gets its own `check: { inter: 5000ms }` (haproxy's
/// defaults count; `2000` is the same as `2s`); per-server `fall 1` / `rise 10` (a
/// primary taken out at once, a standby let back slowly) and `port` stay per server.
#[test]
fn haproxy_check_defaults_count_when_servers_differ() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, out, err, file) = import_haproxy(
        dir.path(),
        "defaults\n  mode tcp\n  timeout connect 3s\n  timeout client 1m\n  timeout server 1m\n\
listen db\n  bind 198.19.0.100:3306\n  server a 198.19.0.1:3306 check\n\
  server b 198.19.0.2:3306 check inter 5s fall 3\n  server c 198.19.0.3:3306 check inter 2000\n\
listen same\n  bind 198.19.0.100:3307\n  server a 198.19.0.1:3306 check inter 2000\n\
  server b 198.19.0.2:3306 check inter 2s\n",
    );
    assert_eq!(code, 0, "{err}\n{out}");
    let b = parse(&out).balancer.expect("balancer");
    assert_eq!(
        b.listeners[0].check.as_ref().expect("check").inter,
        config::types::Dur::secs(2),
        "{out}"
    );
    let own = |l: usize, s: usize| b.listeners[l].servers[s].check_tuning;
    assert!(own(0, 0).is_empty() && own(0, 2).is_empty(), "{out}");
    assert_eq!(own(0, 1).inter, Some(config::types::Dur::secs(5)), "{out}");
    assert_eq!((own(0, 1).fall, own(0, 1).rise), (None, None), "{out}");
    assert!(own(1, 1).is_empty(), "{out}");
    assert!(!err.contains("differs"), "{err}");
    let _ = file;
    let (code, out, err, _) = import_haproxy(
        dir.path(),
        "defaults
  mode tcp
  timeout connect 3s
  timeout client 1m
  timeout server 1m
listen w
  bind 198.19.0.100:3306
  server db1 198.19.0.1:3306 check port 9200 fall 1
  server db2 198.19.0.2:3306 check rise 10 backup
",
    );
    assert_eq!(code, 0, "{err}\n{out}");
    let b = parse(&out).balancer.expect("balancer");
    let l = &b.listeners[0];
    let c = l.check.as_ref().expect("check");
    assert_eq!((c.port, c.fall, c.rise), (Some(9200), 1, 2));
    let t = l.servers[1].check_tuning;
    assert_eq!(
        (t.port, t.fall, t.rise),
        (Some(3306), Some(3), Some(10)),
        "haproxy checked db2 on its own port with its own fall and rise: {out}"
    );
}

/// The MySQL writer pattern: one active server, a backup, and `on-marked-up
/// shutdown-backup-sessions` so that writes move back together. haproxy sets these
/// actions per server, tandem per listener: servers that differ are warned.
#[test]
fn haproxy_on_marked_up_and_down_become_listener_actions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, out, err, file) = import_haproxy(
        dir.path(),
        "defaults\n  mode tcp\n  timeout connect 3s\n  timeout client 1m\n  timeout server 1m\n\
listen writer\n  bind 198.19.0.100:3306\n\
  server db1 198.19.0.1:3306 check on-marked-up shutdown-backup-sessions on-marked-down shutdown-sessions\n\
  server db2 198.19.0.2:3306 check backup on-marked-down shutdown-sessions\n\
listen mixed\n  bind 198.19.0.100:3307\n\
  server a 198.19.0.1:3306 check on-marked-up shutdown-backup-sessions\n\
  server b 198.19.0.2:3306 check on-marked-down shutdown-sessions\n\
  server c 198.19.0.3:3306 check backup on-marked-up shutdown-backup-sessions\n",
    );
    assert_eq!(code, 0, "{err}\n{out}");
    let b = parse(&out).balancer.expect("balancer");
    use config::balancer::{OnMarkedDown, OnMarkedUp};
    let (w, m) = (&b.listeners[0], &b.listeners[1]);
    assert_eq!(w.on_marked_up, OnMarkedUp::ShutdownBackupSessions);
    assert_eq!(w.on_marked_down, OnMarkedDown::ShutdownSessions);
    assert_eq!(m.on_marked_up, OnMarkedUp::ShutdownBackupSessions);
    assert_eq!(m.on_marked_down, OnMarkedDown::ShutdownSessions);
    assert!(
        !err.contains("writer: server"),
        "nothing to warn for writer: {err}"
    );
    for (line, what) in [
        (
            13,
            "listener mixed: server b has no `on-marked-up shutdown-backup-sessions` where other active servers have it",
        ),
        (
            12,
            "listener mixed: server a has no `on-marked-down shutdown-sessions` where other servers have it",
        ),
        (
            14,
            "listener mixed: server c has no `on-marked-down shutdown-sessions` where other servers have it",
        ),
        (
            14,
            "listener mixed: server c is a backup: haproxy ignores its `on-marked-up shutdown-backup-sessions`",
        ),
    ] {
        assert!(
            err.contains(&format!("{file}:{line}: warning: {what}")),
            "{err}"
        );
    }
    assert!(
        !err.contains("on-marked-up shutdown-backup-sessions` has no equivalent"),
        "{err}"
    );
}

/// keepalived's per-VIP `no_track` (keep MASTER when the address is removed) is warned
/// with what tandem does instead.
#[test]
fn keepalived_vip_no_track_is_warned_with_what_tandem_does() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, out, err, file) = import_keepalived(
        dir.path(),
        "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  priority 100\n  advert_int 1\n  virtual_ipaddress {\n    198.19.0.100/24 dev eth0 no_track\n  }\n}\n",
    );
    assert_eq!(code, 0, "{err}\n{out}");
    assert!(
        err.contains(&format!("{file}:7: warning: keyword `virtual_ipaddress ... no_track` has no tandem equivalent (keepalived leaves such a VIP out of its removal check; tandem puts any VIP removed behind its back while MASTER back in place); not imported")),
        "{err}"
    );
    assert!(out.contains("198.19.0.100/24"), "{out}");
}

/// haproxy's `slowstart` (a server option, often in `default-server`) is the server's
/// `slowstart`; `slowstart 0` is no ramp, tandem's default.
#[test]
fn haproxy_slowstart_is_kept_per_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, out, err, _) = import_haproxy(
        dir.path(),
        "defaults\n  mode tcp\n  timeout connect 3s\n  timeout client 1m\n  timeout server 1m\n\
  default-server slowstart 30s\n\
listen db\n  bind 198.19.0.100:3306\n  server a 198.19.0.1:3306 check\n\
  server b 198.19.0.2:3306 check slowstart 1500\n  server c 198.19.0.3:3306 check slowstart 0\n",
    );
    assert_eq!(code, 0, "{err}\n{out}");
    assert!(!err.contains("slowstart"), "{err}");
    let b = parse(&out).balancer.expect("balancer");
    let got: Vec<Option<std::time::Duration>> = b.listeners[0]
        .servers
        .iter()
        .map(|s| s.slowstart.map(|d| d.get()))
        .collect();
    use std::time::Duration;
    assert_eq!(
        got,
        [
            Some(Duration::from_secs(30)),
            Some(Duration::from_millis(1500)),
            None
        ]
    );
}

/// A time haproxy would not parse (`inter [x`, `contimeout 5q`) is warned and left out;
/// it used to be written into the YAML as it stood, which made the output unparsable.
#[test]
fn haproxy_unparsable_times_are_warned_and_left_out() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, out, err, file) = import_haproxy(
        dir.path(),
        "listen db\n  bind :3306\n  mode tcp\n  contimeout 5q\n  timeout client 1m\n  timeout server 1m\n\
  server s1 198.19.0.1:3306 check inter [x fastinter 500\n",
    );
    assert_eq!(code, 0, "{err}\n{out}");
    assert!(
        err.contains(&format!(
            "{file}:4: warning: `contimeout 5q`: not a duration; ignored"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{file}:7: warning: server s1 `inter [x`: not a duration; ignored"
        )),
        "{err}"
    );
    let b = parse(&out).balancer.expect("balancer");
    let chk = b.listeners[0].check.as_ref().expect("check");
    assert_eq!(chk.inter, config::types::Dur::secs(2), "haproxy's default");
    assert_eq!(chk.fastinter, Some(config::types::Dur::millis(500)));
}

/// haproxy without `timeout client`/`server`/`connect` never times out; tandem applies
/// its defaults (1h idle), which closes pooled connections haproxy kept: warned.
#[test]
fn haproxy_missing_timeouts_are_warned() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, out, err, file) = import_haproxy(
        dir.path(),
        "listen db\n  bind 198.19.0.100:3306\n  mode tcp\n  server a 198.19.0.1:3306\n\
listen tunnel\n  bind 198.19.0.100:3307\n  timeout connect 5s\n  timeout tunnel 8h\n\
  server a 198.19.0.1:3306\n",
    );
    assert_eq!(code, 0, "{err}\n{out}");
    assert!(
        err.contains(&format!(
            "{file}:2: warning: listener db: no `timeout client`, `timeout server`, `timeout connect` (haproxy then never times out)"
        )),
        "{err}"
    );
    assert!(!err.contains("listener tunnel: no"), "{err}");
}

/// `include conf.d/*.conf` (relative to the including file, a glob, sorted) is followed
/// like keepalived does; it used to be skipped with a warning, so instances living in
/// included files were missing from the output. Warnings name the included file.
#[test]
fn keepalived_include_globs_are_followed() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("conf.d")).expect("mkdir");
    let inst = |name: &str, vrid: u8, extra: &str| {
        format!(
            "vrrp_instance {name} {{\n  interface eth0\n  virtual_router_id {vrid}\n{extra}  virtual_ipaddress {{\n    198.19.0.{vrid}/24\n  }}\n}}\n"
        )
    };
    write(
        &dir.path().join("conf.d"),
        "b.conf",
        &inst("VI_B", 12, "  bogus_b 1\n"),
    );
    write(&dir.path().join("conf.d"), "a.conf", &inst("VI_A", 11, ""));
    write(
        &dir.path().join("conf.d"),
        "a.conf.orig",
        &inst("OLD", 13, ""),
    );
    write(
        dir.path(),
        "scripts.inc",
        "vrrp_script chk {\n  script /bin/true\n}\n",
    );
    let (code, out, err, file) = import_keepalived(
        dir.path(),
        "global_defs {\n  router_id box-a\n}\ninclude scripts.inc\ninclude conf.d/*.conf\n\
include /nonexistent/*.conf\n",
    );
    assert_eq!(code, 0, "{err}\n{out}");
    let c = parse(&out);
    assert_eq!(c.node, "box-a");
    assert!(c.track_script("chk").is_some(), "{out}");
    let names: Vec<&str> = c
        .vrrp
        .as_ref()
        .expect("vrrp")
        .instances
        .iter()
        .map(|i| i.name.as_str())
        .collect();
    assert_eq!(names, ["VI_A", "VI_B"], "{out}");
    let b = dir.path().join("conf.d/b.conf");
    assert!(
        err.contains(&format!(
            "{}:4: warning: keyword `vrrp_instance bogus_b`",
            b.display()
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{file}:6: warning: `include /nonexistent/*.conf`: no file matches"
        )),
        "{err}"
    );
    assert!(!err.contains("is not followed"), "{err}");
}

/// A production-style pair written the way people do (tests/data/import/prod/): every
/// place where keepalived or MyCat behave otherwise than the config reads is imported as
/// they behave, or warned with the line, and the result passes `tandem check`.
#[test]
fn production_style_configs_import_as_the_originals_behave() {
    let (ka, ha, conf) = (
        data("prod/keepalived.conf"),
        data("prod/haproxy.cfg"),
        data("prod/conf"),
    );
    let (code, out, err) = import_set("prod/");
    assert_eq!(code, 0, "{err}\n{out}");
    let c = parse(&out);
    let warned = |file: &str, needle: &str, text: &str| {
        let at = format!("{file}:{}: warning: ", line_of(file, needle));
        assert!(
            err.lines().any(|l| l.starts_with(&at) && l.contains(text)),
            "no `{text}` at {at}\n{err}"
        );
    };

    // keepalived rounds a VRRPv2 `advert_int 0.5` to 1s.
    let i = &c.vrrp.as_ref().expect("vrrp").instances[0];
    assert_eq!(i.advert_int.get().as_millis(), 1000);
    warned(&ka, "advert_int 0.5", "keepalived rounds it to 1s");
    // The haproxy and MyCat checks become built-in trackers: `killall -0 haproxy` the
    // listener on the VIP (not the one in front of MyCat's admin port, which the router
    // serves on loopback), the curl to MyCat's xinetd status port 48700 the router; the
    // `ss | grep :8066` port check is a MyCat check too, folded into the same
    // `track_router`. `script /bin/sh -c "..."` ran `/bin/sh` alone in keepalived.
    assert!(c.track_scripts.is_empty(), "{out}");
    assert!(i.track_scripts.is_empty());
    let listeners: Vec<(&str, Option<i32>)> = i
        .track_listeners
        .iter()
        .map(|t| (t.name.as_str(), t.weight))
        .collect();
    assert_eq!(listeners, [("mycat_servers", Some(-20))]);
    assert_eq!(i.track_router, Some(-30));
    warned(
        &ka,
        "killall -0 haproxy",
        "Replaced by the built-in tracker",
    );
    warned(
        &ka,
        "http://127.0.0.1:48700/",
        "`track_router: { weight: -30 }`",
    );
    warned(&ka, "script /bin/sh", "keepalived ran only `/bin/sh`");
    warned(&ka, "script /bin/sh", "tracks the router already");
    warned(
        &ha,
        "frontend mycat_admin",
        "listener mycat_admin: its servers `198.19.30.11:9066`, `198.19.30.12:9066` are MyCat's admin port",
    );
    // `notify_master /x.sh MASTER` names a user that does not exist: never ran there.
    let words = |c: &Option<tandem::config::types::Command>| c.as_ref().map(|c| c.0.clone());
    let n = &i.notify;
    assert_eq!(
        words(&n.master),
        Some(vec![
            "/etc/keepalived/scripts/notify.sh".to_string(),
            "MASTER".to_string()
        ])
    );
    assert_eq!(n.user, None, "`script_user root` is not imported");
    warned(
        &ka,
        "notify_master",
        "there is no such user, so keepalived never ran this hook",
    );

    // haproxy: the `mode http` stats page is served by the observe endpoint (one
    // warning saying so, not one per `stats` line).
    warned(
        &ha,
        "listen admin_stats",
        "listen admin_stats: the stats page is served by tandem's observe endpoint on 0.0.0.0:48800 (/admin-status, `;csv` as before); /metrics and /status are served there too, without the page's password",
    );
    assert!(!err.contains("stats enable"), "{err}");
    let o = c.observe.as_ref().expect("observe");
    assert_eq!(o.listen.to_string(), "0.0.0.0:48800");
    assert!(o.allow_remote, "haproxy served it on every address");
    assert_eq!(o.stats.uri, "/admin-status");
    assert!(o.stats.auth.is_empty() && !o.stats.admin);
    let b = c.balancer.as_ref().expect("balancer");
    let l = &b.listeners[0];
    assert_eq!(l.timeouts.client.get().as_secs(), 8 * 3600);
    // Bare milliseconds are written in the unit a reader would use.
    assert!(
        out.contains("client: 8h\n") && out.contains("inter: 2s\n"),
        "{out}"
    );

    // MyCat: no switchType is -1 (never switch), switchType 2 without slaveThreshold
    // has no lag limit, a read host without a weight among weighted ones gets no reads,
    // and read hosts all of weight 0 are read from alike.
    let schema = format!("{conf}/schema.xml");
    let r = c.router.as_ref().expect("router");
    // useSqlStat=0: the SQL statistics are off, as there.
    assert!(!r.sql_stat && out.contains("sql_stat: false"), "{out}");
    let h = |n: &str| r.data_hosts.iter().find(|h| h.name == n).expect(n);
    let order = h("dh_order");
    assert_eq!((order.switch_type, order.slave_threshold), (2, u32::MAX));
    let weights: Vec<u32> = order.write_hosts[0]
        .read_hosts
        .iter()
        .map(|r| r.weight)
        .collect();
    assert_eq!(weights, [0, 2]);
    warned(
        &schema,
        "dataHost name=\"dh_order\"",
        "read host(s) hostS1 have no weight",
    );
    warned(
        &schema,
        "dataHost name=\"dh_order\"",
        "switchType 2 without a slaveThreshold",
    );
    // balance="1": MyCat never read from the standby hostM2 (no weight: 0) next to
    // weighted read hosts; tandem's write hosts weigh 1.
    warned(
        &schema,
        "dataHost name=\"dh_order\"",
        "MyCat also reads from the standby write host(s) hostM2 (no weight: 0)",
    );
    let user = h("dh_user");
    assert_eq!(user.switch_type, -1);
    // server.xml's dataNodeHeartbeatPeriod (5000 ms), on every data host.
    for dh in [&order, &user] {
        assert_eq!(
            dh.heartbeat_interval,
            config::types::Dur::secs(5),
            "{}",
            dh.name
        );
    }
    assert!(user.temp_read_host_available && !order.temp_read_host_available);
    let weights: Vec<u32> = user.write_hosts[0]
        .read_hosts
        .iter()
        .map(|r| r.weight)
        .collect();
    assert_eq!(weights, [1, 1], "weight 0 everywhere: all alike");
    warned(
        &schema,
        "dataHost name=\"dh_user\"",
        "has no switchType: MyCat then never switches",
    );

    // Warnings come in file order within each file.
    let lines: Vec<usize> = err
        .lines()
        .filter_map(|l| l.strip_prefix(&format!("{ka}:")))
        .filter_map(|l| l.split(':').next()?.parse().ok())
        .collect();
    assert!(lines.windows(2).all(|p| p[0] <= p[1]), "{lines:?}");
}

/// MyCat's `slaveThreshold="-1"` (its "no limit") with `switchType="1"` used to become
/// `slave_threshold: -1`, which `tandem check` rejects; it only matters with switchType
/// 2, so it is left out.
#[test]
fn mycat_negative_slave_threshold_is_not_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "schema.xml",
        "<?xml version=\"1.0\"?>\n<mycat:schema xmlns:mycat=\"http://io.mycat/\">\n\
<schema name=\"S\" dataNode=\"dn1\" />\n\
<dataNode name=\"dn1\" dataHost=\"h\" database=\"db1\" />\n\
<dataHost name=\"h\" maxCon=\"10\" minCon=\"1\" balance=\"0\" writeType=\"0\" dbType=\"mysql\" dbDriver=\"native\" switchType=\"1\" slaveThreshold=\"-1\">\n\
<heartbeat>select user()</heartbeat>\n\
<writeHost host=\"M\" url=\"198.19.0.11:3306\" user=\"root\" password=\"pw\" />\n</dataHost>\n\
</mycat:schema>\n",
    );
    write(
        dir.path(),
        "server.xml",
        "<?xml version=\"1.0\"?>\n<mycat:server xmlns:mycat=\"http://io.mycat/\">\n\
<user name=\"app\">\n<property name=\"password\">pw</property>\n<property name=\"schemas\">S</property>\n</user>\n</mycat:server>\n",
    );
    let conf = dir.path().to_string_lossy().into_owned();
    let (code, out, err) = tandem(&["import", "--mycat-dir", &conf]);
    assert_eq!(code, 0, "{err}\n{out}");
    let c = parse(&out);
    let h = &c.router.expect("router").data_hosts[0];
    assert_eq!((h.switch_type, h.slave_threshold), (1, 100));
    assert!(!err.contains("switchType"), "{err}");
}

/// keepalived drops a `vrrp_script` whose `script` is empty or missing ("No script set
/// for vrrp_script N - removing") and ignores `track_script` entries naming it, or
/// naming no script at all ("track script N not found, ignoring..."). `script ""` used
/// to become `command: ""`, and the entries unknown scripts, both rejected by `tandem
/// check`: they are left out, warned on their lines.
#[test]
fn keepalived_empty_scripts_and_their_references_are_dropped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, out, err, file) = import_keepalived(
        dir.path(),
        "vrrp_script empty {\n  script \"\"\n  interval 2\n}\n\
vrrp_script none {\n  interval 2\n  weight -20\n}\n\
vrrp_script blank {\n  script \"   \"\n}\n\
vrrp_script ok {\n  script /bin/true\n}\n\
vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  priority 100\n\
  virtual_ipaddress {\n    198.19.0.1/24\n  }\n\
  track_script {\n    empty\n    none weight -10\n    blank\n    ok\n    ghost\n  }\n}\n",
    );
    assert_eq!(code, 0, "{err}\n{out}");
    let c = parse(&out);
    let names: Vec<&str> = c.track_scripts.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["ok"], "{out}");
    let tracked: Vec<&str> = c.vrrp.as_ref().expect("vrrp").instances[0]
        .track_scripts
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    assert_eq!(tracked, ["ok"], "{out}");
    assert!(!out.contains("command: \"\""), "{out}");
    let at = |needle: &str, text: &str| {
        let prefix = format!("{file}:{}: warning: ", line_of(&file, needle));
        assert!(
            err.lines()
                .any(|l| l.starts_with(&prefix) && l.contains(text)),
            "no `{text}` at {prefix}\n{err}"
        );
    };
    at(
        "script \"\"",
        "vrrp_script empty has an empty `script`: keepalived drops such a script",
    );
    at("vrrp_script none", "vrrp_script none has no `script`");
    at("script \"   \"", "vrrp_script blank has an empty `script`");
    for entry in ["    empty", "none weight -10", "    blank"] {
        at(entry, "keepalived dropped that vrrp_script");
    }
    at(
        "    ghost",
        "track_script `ghost`: there is no such vrrp_script",
    );
}

/// `vrrp_garp_interval 0` / `vrrp_gna_interval 0` (and `garp_interval 0` in a
/// `garp_group`) are keepalived's default, no delay between gratuitous ARPs / NAs,
/// which is what tandem does: not warned. Another value is.
#[test]
fn keepalived_default_garp_intervals_are_not_warned() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, out, err, file) = import_keepalived(
        dir.path(),
        "global_defs {\n  vrrp_garp_interval 0\n  vrrp_gna_interval 0.000\n}\n\
garp_group {\n  garp_interval 0\n  gna_interval 0\n  interface eth0\n}\n\
garp_group {\n  garp_interval 0.001\n  interface eth1\n}\n\
vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  priority 100\n\
  virtual_ipaddress {\n    198.19.0.1/24\n  }\n}\n",
    );
    assert_eq!(code, 0, "{err}\n{out}");
    let warned: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with(&format!("{file}:")))
        .collect();
    assert_eq!(warned.len(), 1, "{err}");
    assert!(
        warned[0].starts_with(&format!(
            "{file}:{}: warning: keyword `garp_interval 0.001` has no tandem equivalent (tandem sends its gratuitous ARPs / unsolicited NAs back to back",
            line_of(&file, "garp_interval 0.001")
        )),
        "{err}"
    );

    let (code, _, err, file) = import_keepalived(
        dir.path(),
        "global_defs {\n  vrrp_garp_interval 0.5\n  vrrp_gna_interval 0\n}\n",
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains(&format!(
            "{file}:2: warning: keyword `vrrp_garp_interval 0.5` has no tandem equivalent"
        )),
        "{err}"
    );
    assert!(!err.contains("vrrp_gna_interval"), "{err}");
}

/// keepalived looks a tracked script up as it reads the `track_script` entry: a
/// vrrp_script further down the file is not found, and the entry is ignored there, so it
/// is not imported either (warned, with the fix).
#[test]
fn keepalived_scripts_defined_after_their_instance_are_not_tracked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, out, err, file) = import_keepalived(
        dir.path(),
        "vrrp_script early {\n  script /bin/true\n}\n\
vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  priority 100\n\
  virtual_ipaddress {\n    198.19.0.1/24\n  }\n\
  track_script {\n    early\n    late\n  }\n}\n\
vrrp_script late {\n  script /bin/false\n}\n",
    );
    assert_eq!(code, 0, "{err}\n{out}");
    let c = parse(&out);
    let tracked: Vec<&str> = c.vrrp.as_ref().expect("vrrp").instances[0]
        .track_scripts
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    assert_eq!(tracked, ["early"], "{out}");
    let prefix = format!("{file}:{}: warning: ", line_of(&file, "    late"));
    assert!(
        err.lines().any(|l| l.starts_with(&prefix)
            && l.contains("track_script `late`: its vrrp_script comes later in the configuration")),
        "{err}"
    );
}

/// A check using bash-only syntax (`</dev/tcp/…`, `[[ ]]`, …) ran under bash on the old
/// box (keepalived runs `sh -c …` and a script starting with `</` through /bin/sh, bash on
/// RHEL/CentOS; `bash -c …` runs bash). tandem's `shell: true` runs /bin/sh, dash on
/// Debian, where `/dev/tcp` does not exist and the check always fails: such a script is
/// imported as `[/bin/bash, -c, …]`, and the command then succeeds against an open port.
#[test]
fn keepalived_bash_only_scripts_run_under_bash() {
    let dir = tempfile::tempdir().expect("tempdir");
    let open = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = open.local_addr().expect("addr").port();
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let (code, out, err, file) = import_keepalived(
        dir.path(),
        &format!(
            "vrrp_script tcp {{\n  script \"</dev/tcp/127.0.0.1/{port}\"\n}}\n\
vrrp_script shc {{\n  script \"/bin/sh -c '[[ -e /dev/null ]] && exec 3<>/dev/tcp/127.0.0.1/{port}'\"\n}}\n\
vrrp_script bashc {{\n  script \"/bin/bash -c '[[ -e /dev/null ]]'\"\n}}\n\
vrrp_script posix {{\n  script \"ss -ltn | grep -q :{port}\"\n}}\n\
vrrp_script down {{\n  script \"</dev/tcp/127.0.0.1/{closed}\"\n}}\n"
        ),
    );
    assert_eq!(code, 0, "{err}\n{out}");
    let c = parse(&out);
    let script = |n: &str| c.track_script(n).unwrap_or_else(|| panic!("{n}: {out}"));
    let tcp = script("tcp");
    assert!(!tcp.shell);
    assert_eq!(
        tcp.command.0,
        ["/bin/bash", "-c", &format!("</dev/tcp/127.0.0.1/{port}")]
    );
    assert_eq!(
        script("shc").command.0,
        [
            "/bin/bash",
            "-c",
            &format!("[[ -e /dev/null ]] && exec 3<>/dev/tcp/127.0.0.1/{port}")
        ]
    );
    let bashc = script("bashc");
    assert!(!bashc.shell, "`bash -c` used to run under /bin/sh");
    assert_eq!(bashc.command.0, ["/bin/bash", "-c", "[[ -e /dev/null ]]"]);
    let posix = script("posix");
    assert!(posix.shell, "POSIX snippets keep `shell: true`");
    let at = |needle: &str| format!("{file}:{}: warning: ", line_of(&file, needle));
    let tcp_warning = err
        .lines()
        .find(|l| l.starts_with(&at("</dev/tcp/127.0.0.1/")) && l.contains("bash-only"))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(
        tcp_warning.contains("`/dev/tcp/HOST/PORT` redirection")
            && tcp_warning.contains("bash must be installed on this box")
            && tcp_warning.contains("keepalived ran it through /bin/sh"),
        "{tcp_warning}"
    );
    assert!(
        err.lines()
            .any(|l| l.starts_with(&at("/bin/sh -c '[[")) && l.contains("bash-only syntax")),
        "{err}"
    );
    assert!(
        !err.lines()
            .any(|l| l.starts_with(&at("/bin/bash -c")) && l.contains("bash-only")),
        "{err}"
    );

    // The imported commands behave as the check did under bash.
    let run = |argv: &[String]| {
        std::process::Command::new(&argv[0])
            .args(&argv[1..])
            .status()
            .expect("run")
            .success()
    };
    assert!(run(&tcp.argv()), "port {port} is open");
    assert!(run(&script("shc").argv()));
    assert!(!run(&script("down").argv()), "port {closed} is closed");
    // What `shell: true` would have run where /bin/sh is dash.
    if Path::new("/bin/dash").exists() {
        let dash = [
            "/bin/dash".to_string(),
            "-c".into(),
            tcp.command.0[2].clone(),
        ];
        assert!(!run(&dash), "dash has no /dev/tcp");
    }
    drop(open);
}

/// haproxy ignores the server-side timeouts (`connect`, `server`, …) in a `frontend`
/// and the client-side ones in a `backend` ("'timeout server' will be ignored because
/// frontend 'fe' has no backend capability"); the import used to take a frontend's
/// `timeout connect`/`server` when the backend had none. Each side's come from its own
/// section (or the defaults before it), the others are warned.
#[test]
fn haproxy_timeouts_of_the_other_side_are_ignored() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, out, err, file) = import_haproxy(
        dir.path(),
        "global\n  log /dev/log local0\n\
defaults\n  mode tcp\n  log global\n  timeout server 1m\n\
frontend fe\n  bind 198.19.0.100:3306\n  timeout client 30s\n  timeout connect 9s\n\
  timeout server 9m\n  default_backend be\n\
backend be\n  timeout client 5m\n  timeout connect 2s\n  server a 198.19.0.1:3306\n\
frontend fe2\n  bind 198.19.0.100:3307\n  timeout client 30s\n  timeout connect 4s\n\
  default_backend be2\n\
backend be2\n  server a 198.19.0.1:3306\n",
    );
    assert_eq!(code, 0, "{err}\n{out}");
    let b = parse(&out).balancer.expect("balancer");
    let t = &b.listeners[0].timeouts;
    assert_eq!(
        (
            t.connect.get().as_secs(),
            t.server.get().as_secs(),
            t.client.get().as_secs()
        ),
        (2, 60, 30),
        "{out}"
    );
    // fe2: the frontend's `timeout connect 4s` is not used; tandem's default is.
    assert_eq!(b.listeners[1].timeouts.connect.get().as_secs(), 5, "{out}");
    let at = |needle: &str, text: &str| {
        let prefix = format!("{file}:{}: warning: ", line_of(&file, needle));
        assert!(
            err.lines()
                .any(|l| l.starts_with(&prefix) && l.contains(text)),
            "no `{text}` at {prefix}\n{err}"
        );
    };
    at(
        "timeout connect 9s",
        "`timeout connect` in a frontend: haproxy ignores it there (a server-side timeout, and a frontend has no backend capability)",
    );
    at("timeout server 9m", "`timeout server` in a frontend");
    at(
        "timeout client 5m",
        "`timeout client` in a backend: haproxy ignores it there (a client-side timeout, and a backend has no frontend capability)",
    );
    at("timeout connect 4s", "`timeout connect` in a frontend");
    at(
        "bind 198.19.0.100:3307",
        "listener fe2: no `timeout connect` (haproxy then never times out)",
    );
}

/// haproxy logs a connection only to the proxy's loggers: none without a `log` line,
/// with `log global` when `global` has no `log`, or with `option tcplog` alone (the
/// format only). tandem logs every connection by default: such proxies become
/// `log: false`, warned; proxies that log stay `log: true`. In a frontend + backend
/// pair the frontend's loggers count.
#[test]
fn haproxy_proxies_without_loggers_import_with_logging_off() {
    let dir = tempfile::tempdir().expect("tempdir");
    let listen = |name: &str, port: u16, extra: &str| {
        format!("listen {name}\n  bind 198.19.0.100:{port}\n{extra}  server a 198.19.0.1:3306\n")
    };
    let body = [
        listen("nolog", 3301, ""),
        listen("global_only", 3302, "  log global\n"),
        listen("tcplog", 3303, "  option tcplog\n"),
        listen("target", 3304, "  log 127.0.0.1 local0\n"),
        listen("off", 3305, "  log 127.0.0.1 local0\n  no log\n"),
    ]
    .concat();
    let defaults =
        "defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 1m\n  timeout server 1m\n";
    let (code, out, err, file) = import_haproxy(dir.path(), &format!("{defaults}{body}"));
    assert_eq!(code, 0, "{err}\n{out}");
    let b = parse(&out).balancer.expect("balancer");
    let logs: Vec<(&str, bool)> = b
        .listeners
        .iter()
        .map(|l| (l.name.as_str(), l.log))
        .collect();
    assert_eq!(
        logs,
        [
            ("nolog", false),
            ("global_only", false),
            ("tcplog", false),
            ("target", true),
            ("off", false)
        ],
        "{out}"
    );
    let at = |needle: &str, text: &str| {
        let prefix = format!("{file}:{}: warning: ", line_of(&file, needle));
        assert!(
            err.lines()
                .any(|l| l.starts_with(&prefix) && l.contains(text)),
            "no `{text}` at {prefix}\n{err}"
        );
    };
    at(
        "listen nolog",
        "listener nolog: haproxy logs no connection for this proxy (it has no `log` line",
    );
    at(
        "listen global_only",
        "its `log global` refers to a `global` section without `log`",
    );
    at("listen tcplog", "haproxy logs no connection");
    assert!(!err.contains("listener off: haproxy logs no"), "{err}");
    assert!(!err.contains("listener target: haproxy logs no"), "{err}");

    // With a `log` in `global`, `log global` (from `defaults`) logs; a frontend's
    // loggers decide for its backend.
    let (code, out, err, _) = import_haproxy(
        dir.path(),
        &format!(
            "global\n  log /dev/log local0\n{defaults}  log global\n  option tcplog\n{}\
frontend quiet\n  bind 198.19.0.100:3310\n  no log\n  default_backend be\n\
backend be\n  log 127.0.0.1 local1\n  server a 198.19.0.1:3306\n",
            listen("logged", 3309, "")
        ),
    );
    assert_eq!(code, 0, "{err}\n{out}");
    let b = parse(&out).balancer.expect("balancer");
    let logs: Vec<(&str, bool)> = b
        .listeners
        .iter()
        .map(|l| (l.name.as_str(), l.log))
        .collect();
    assert_eq!(logs, [("logged", true), ("quiet", false)], "{out}");
    assert!(!err.contains("haproxy logs no connection"), "{err}");
}

/// Writes a MyCat conf/ with one schema on the data host `h` given as XML, and a user.
fn mycat_conf(dir: &Path, data_host: &str) -> String {
    write(
        dir,
        "schema.xml",
        &format!(
            "<?xml version=\"1.0\"?>\n<mycat:schema xmlns:mycat=\"http://io.mycat/\">\n\
<schema name=\"S\" dataNode=\"dn1\" />\n\
<dataNode name=\"dn1\" dataHost=\"h\" database=\"db1\" />\n{data_host}</mycat:schema>\n"
        ),
    );
    write(
        dir,
        "server.xml",
        "<?xml version=\"1.0\"?>\n<mycat:server xmlns:mycat=\"http://io.mycat/\">\n\
<user name=\"app\">\n<property name=\"password\">pw</property>\n<property name=\"schemas\">S</property>\n</user>\n</mycat:server>\n",
    );
    dir.to_string_lossy().into_owned()
}

/// MyCat 1.6.7.5+ `maxRetryCount` counts heartbeats in a row (one per
/// dataNodeHeartbeatPeriod) before a host fails; tandem's `max_retry` counts quick
/// attempts within one round. Not the same thing: left out, and the warning says how
/// they differ.
#[test]
fn mycat_max_retry_count_is_warned_with_the_difference() {
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = mycat_conf(
        dir.path(),
        "<dataHost name=\"h\" maxCon=\"10\" minCon=\"1\" balance=\"0\" writeType=\"0\" dbType=\"mysql\" dbDriver=\"native\" switchType=\"1\" maxRetryCount=\"5\">\n\
<heartbeat>select user()</heartbeat>\n\
<writeHost host=\"M\" url=\"198.19.0.11:3306\" user=\"root\" password=\"pw\" />\n</dataHost>\n",
    );
    let (code, out, err) = tandem(&["import", "--mycat-dir", &conf]);
    assert_eq!(code, 0, "{err}\n{out}");
    let c = parse(&out);
    assert_eq!(c.router.expect("router").data_hosts[0].max_retry, 3);
    let schema = format!("{conf}/schema.xml");
    let prefix = format!("{schema}:{}: warning: ", line_of(&schema, "maxRetryCount"));
    let w = err
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(
        w.contains("dataHost h: maxRetryCount=\"5\" has no tandem equivalent")
            && w.contains(
                "only after 5 heartbeats in a row failed, one per dataNodeHeartbeatPeriod"
            )
            && w.contains(
                "tandem's `max_retry` counts attempts within one heartbeat round (200 ms apart)"
            ),
        "{w}"
    );
    assert!(!err.contains("dataHost attribute maxRetryCount"), "{err}");
}

/// With balance 1 (2) MyCat also reads from the standby (all) write hosts, weighted
/// like read hosts, a writeHost without `weight` weighing 0: no reads once a read host
/// has a weight. tandem's write hosts always weigh 1: warned with their share. When
/// MyCat reads from all alike the weights are left out (all 1, as in tandem); when the
/// reading write hosts all weigh k and the read weights divide by k, they are divided.
#[test]
fn mycat_write_host_read_weights() {
    let data_host = |name: &str, balance: u8, hosts: &str| {
        format!(
            "<dataHost name=\"{name}\" maxCon=\"10\" minCon=\"1\" balance=\"{balance}\" writeType=\"0\" dbType=\"mysql\" dbDriver=\"native\" switchType=\"1\">\n\
<heartbeat>select user()</heartbeat>\n{hosts}</dataHost>\n"
        )
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let xml = [
        // Read weights, standby without: MyCat never reads from M2.
        data_host(
            "h",
            1,
            "<writeHost host=\"M1\" url=\"198.19.0.11:3306\" user=\"u\" password=\"p\">\n\
<readHost host=\"S1\" url=\"198.19.0.12:3306\" user=\"u\" password=\"p\" weight=\"1\" />\n\
<readHost host=\"S2\" url=\"198.19.0.13:3306\" user=\"u\" password=\"p\" weight=\"2\" />\n</writeHost>\n\
<writeHost host=\"M2\" url=\"198.19.0.21:3306\" user=\"u\" password=\"p\" />\n",
        ),
        // No weights anywhere: all alike, in MyCat and in tandem.
        data_host(
            "alike",
            1,
            "<writeHost host=\"M1\" url=\"198.19.0.11:3306\" user=\"u\" password=\"p\">\n\
<readHost host=\"S1\" url=\"198.19.0.12:3306\" user=\"u\" password=\"p\" />\n</writeHost>\n\
<writeHost host=\"M2\" url=\"198.19.0.21:3306\" user=\"u\" password=\"p\" />\n",
        ),
        // balance 2, write hosts of weight 2: read weights 4 and 2 become 2 and 1.
        data_host(
            "scaled",
            2,
            "<writeHost host=\"M1\" url=\"198.19.0.11:3306\" user=\"u\" password=\"p\" weight=\"2\">\n\
<readHost host=\"S1\" url=\"198.19.0.12:3306\" user=\"u\" password=\"p\" weight=\"4\" />\n\
<readHost host=\"S2\" url=\"198.19.0.13:3306\" user=\"u\" password=\"p\" weight=\"2\" />\n</writeHost>\n\
<writeHost host=\"M2\" url=\"198.19.0.21:3306\" user=\"u\" password=\"p\" weight=\"2\" />\n",
        ),
        // balance 0: a write host's weight has no effect.
        data_host(
            "none",
            0,
            "<writeHost host=\"M1\" url=\"198.19.0.11:3306\" user=\"u\" password=\"p\" weight=\"3\" />\n",
        ),
    ]
    .concat();
    let conf = mycat_conf(dir.path(), &xml);
    let (code, out, err) = tandem(&["import", "--mycat-dir", &conf]);
    assert_eq!(code, 0, "{err}\n{out}");
    let c = parse(&out);
    let r = c.router.as_ref().expect("router");
    let weights = |n: &str| -> Vec<u32> {
        r.data_hosts
            .iter()
            .find(|h| h.name == n)
            .expect(n)
            .write_hosts
            .iter()
            .flat_map(|w| w.read_hosts.iter().map(|r| r.weight))
            .collect()
    };
    assert_eq!(weights("h"), [1, 2]);
    assert_eq!(weights("alike"), [1]);
    assert_eq!(weights("scaled"), [2, 1]);
    let schema = format!("{conf}/schema.xml");
    let at = |needle: &str, text: &str| {
        let prefix = format!("{schema}:{}: warning: ", line_of(&schema, needle));
        assert!(
            err.lines()
                .any(|l| l.starts_with(&prefix) && l.contains(text)),
            "no `{text}` at {prefix}\n{err}"
        );
    };
    at(
        "dataHost name=\"h\"",
        "dataHost h: with balance=1 MyCat also reads from the standby write host(s) M2 (no weight: 0), weighted against the read hosts",
    );
    at("dataHost name=\"h\"", "each gets about 1 in 4 reads");
    at(
        "dataHost name=\"scaled\"",
        "the read hosts' weights are divided by 2 to keep MyCat's shares",
    );
    at(
        "weight=\"3\"",
        "writeHost M1: weight=\"3\" counts only with balance 1 or 2",
    );
    assert!(!err.contains("dataHost alike"), "{err}");
    assert!(!err.contains("writeHost attribute weight"), "{err}");
    assert_eq!(err.matches("dataHost scaled").count(), 1, "{err}");
}

/// keepalived without `unicast_src_ip` sends IPv6 adverts from its link-local address
/// and only receives those sent to it, so peers listing global addresses never worked
/// with keepalived; tandem sends from the global address. Imported as is, warned.
#[test]
fn keepalived_ipv6_unicast_to_global_peers_without_src_is_warned() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inst = |name: &str, vrid: u8, extra: &str, peer: &str| {
        format!(
            "vrrp_instance {name} {{\n  interface eth0\n  virtual_router_id {vrid}\n  priority 100\n{extra}\
  unicast_peer {{\n    {peer}\n  }}\n  virtual_ipaddress {{\n    fd00::{vrid}/64\n  }}\n}}\n"
        )
    };
    let (code, out, err, file) = import_keepalived(
        dir.path(),
        &[
            inst("GLOBAL", 61, "", "2001:db8::2"),
            inst("SRC", 62, "  unicast_src_ip 2001:db8::1\n", "2001:db8::2"),
            inst("LINKLOCAL", 63, "", "fe80::2"),
        ]
        .concat(),
    );
    assert_eq!(code, 0, "{err}\n{out}");
    let v = parse(&out).vrrp.expect("vrrp");
    let peers: Vec<String> = v.instances[0]
        .unicast_peers
        .iter()
        .map(|p| p.address.to_string())
        .collect();
    assert_eq!(peers, ["2001:db8::2"]);
    assert_eq!(v.instances[0].unicast_src_ip, None);
    let warned: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("IPv6 unicast to global peer"))
        .collect();
    assert_eq!(warned.len(), 1, "{err}");
    assert!(
        warned[0].starts_with(&format!(
            "{file}:{}: warning: vrrp_instance GLOBAL: IPv6 unicast to global peer address(es) 2001:db8::2 without `unicast_src_ip`: keepalived sends from the interface's link-local address",
            line_of(&file, "2001:db8::2")
        )) && warned[0].contains("tandem sends from the interface's own global address"),
        "{err}"
    );
}

/// The whole classic setup: `killall -0 haproxy` and the MyCat port check would fail for
/// ever (or check nothing) once tandem replaces haproxy and MyCat, so they become the
/// built-in trackers with the same weights: the balancer listeners on the VIP, and
/// `track_router`. keepalived.conf alone keeps them, saying what to write.
#[test]
fn haproxy_and_mycat_checks_become_built_in_trackers() {
    let (code, out, err) = import_all();
    assert_eq!(code, 0, "{err}\n{out}");
    let c = parse(&out);
    assert!(c.track_scripts.is_empty(), "{out}");
    let i = &c.vrrp.as_ref().expect("vrrp").instances[0];
    assert!(i.track_scripts.is_empty());
    let listeners: Vec<(&str, Option<i32>)> = i
        .track_listeners
        .iter()
        .map(|t| (t.name.as_str(), t.weight))
        .collect();
    assert_eq!(listeners, [("mysql", Some(-20)), ("ro", Some(-20))]);
    assert_eq!(i.track_router, Some(-40), "the entry's own weight");
    let ka = data("keepalived.conf");
    let at = |needle: &str| format!("{ka}:{}: warning: ", line_of(&ka, needle));
    let line = |needle: &str| -> String {
        let at = at(needle);
        err.lines()
            .find(|l| l.starts_with(&at))
            .unwrap_or_else(|| panic!("nothing at {at}\n{err}"))
            .to_string()
    };
    let haproxy = line("killall -0 haproxy");
    assert!(
        haproxy.contains("vrrp_script chk_haproxy: `killall -0 haproxy` checks haproxy, which tandem's balancer replaces in this import: haproxy will not run any more, so this script would fail for ever on both boxes. Replaced by the built-in tracker: `track_listeners: [{ name: mysql, weight: -20 }, { name: ro, weight: -20 }]` in vrrp_instance VI_1; the script is not imported"),
        "{haproxy}"
    );
    let mycat = line("ss -ltn | grep -q :8066");
    assert!(
        mycat.contains("checks MyCat, which tandem's router replaces in this import")
            && mycat.contains("`track_router: { weight: -40 }` in vrrp_instance VI_1"),
        "{mycat}"
    );

    // keepalived.conf alone: kept, with the concrete replacement to write.
    let (code, out, err) = tandem(&["import", "--keepalived", &ka]);
    assert_eq!(code, 0, "{err}");
    let c = parse(&out);
    assert!(c.track_script("chk_haproxy").is_some() && c.track_script("chk_mycat").is_some());
    let kept = err
        .lines()
        .find(|l| l.starts_with(&at("killall -0 haproxy")))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(
        kept.contains("checks haproxy: imported as a track script (weight -20 in vrrp_instance VI_1), which is right only while haproxy runs")
            && kept.contains("import the haproxy.cfg in the same run (`--haproxy`)")
            && kept.contains("`track_listeners: [{ name: <listener>, weight: -20 }]` in vrrp_instance VI_1"),
        "{kept}"
    );
}

/// haproxy in front of MyCat's admin port (managerPort) on both boxes: the import serves
/// that port on loopback (`admin_listen: 127.0.0.1:9066`), so the listener's servers
/// would refuse every connection while its checks on 48700 keep them UP. The listener
/// is kept (opening the admin port to the network is the operator's call) and warned on
/// its line with what to set; the MyCat warning points there; `killall -0 haproxy`
/// becomes a tracker of the MySQL listener only.
#[test]
fn haproxy_listener_to_the_mycat_admin_port_is_warned() {
    let (ha, conf) = (data("admin/haproxy.cfg"), data("admin/conf"));
    let (code, out, err) = import_set("admin/");
    assert_eq!(code, 0, "{err}\n{out}");
    let c = parse(&out);
    let r = c.router.as_ref().expect("router");
    assert_eq!(
        r.admin_listen.map(|a| a.to_string()).as_deref(),
        Some("127.0.0.1:9066")
    );
    let b = c.balancer.as_ref().expect("balancer");
    let names: Vec<&str> = b.listeners.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["mycat", "mycat_admin"], "kept");
    let i = &c.vrrp.as_ref().expect("vrrp").instances[0];
    let tracked: Vec<&str> = i.track_listeners.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        tracked,
        ["mycat"],
        "not the listener that refuses everything"
    );

    let listen = line_of(&ha, "listen mycat_admin");
    let warning = err
        .lines()
        .find(|l| {
            l.starts_with(&format!(
                "{ha}:{listen}: warning: listener mycat_admin: its servers"
            ))
        })
        .unwrap_or_else(|| panic!("no warning at {ha}:{listen}\n{err}"));
    assert_eq!(
        warning,
        format!(
            "{ha}:{listen}: warning: listener mycat_admin: its servers `198.18.200.11:9066`, `198.18.200.12:9066` are MyCat's admin port (managerPort), which the imported router serves as `admin_listen: 127.0.0.1:9066`, on loopback only: nothing will listen on those addresses, so every connection through this listener is refused (its health checks connect to port 48700, so they keep the servers UP and the listener looks healthy). To reach the admin port through this listener, set `router.admin_listen` on each box to that box's own address among `198.18.200.11:9066`, `198.18.200.12:9066`; this opens the admin port to the network as MyCat's managerPort was (logins of users with `admin: true`, who can `switch @@datasource`, `kill @@connection`, `reload @@config`), so let only the operators' hosts reach it (a firewall). Or remove this listener and use the admin port on each box (`mariadb -h127.0.0.1 -P9066`)"
        )
    );
    let server = format!("{conf}/server.xml");
    let manager = line_of(&server, "managerPort");
    assert!(
        err.lines().any(|l| l.starts_with(&format!("{server}:{manager}: warning: managerPort 9066"))
            && l.ends_with(&format!("the haproxy listener `mycat_admin` ({ha}:{listen}) forwards to this port on the boxes' addresses, where nothing will listen: see the warning there"))),
        "{err}"
    );
    // The MySQL listener (to the router's own address and port) is not warned.
    assert!(!err.contains("listener mycat: its servers"), "{err}");

    // The suggested fix validates: box a's admin port on its own address.
    let fixed = out.replace(
        "admin_listen: \"127.0.0.1:9066\"",
        "admin_listen: \"198.18.200.11:9066\"",
    );
    assert_ne!(fixed, out, "{out}");
    let c = parse(&fixed);
    assert_eq!(
        c.router
            .as_ref()
            .and_then(|r| r.admin_listen)
            .map(|a| a.to_string())
            .as_deref(),
        Some("198.18.200.11:9066")
    );

    // Without the MyCat conf/ nothing says where the admin port is: no such warning.
    let (code, _, err) = tandem(&["import", "--haproxy", &ha]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("its servers"), "{err}");
}

/// A MyCat conf/ with `sequnceHandlerType` 2 and `props` as sequence_time_conf.properties
/// (`None`: no such file); its table has `autoIncrement="true"`.
fn time_sequence_conf(dir: &Path, props: Option<&str>) -> String {
    let conf = mycat_dir(
        dir,
        "<property name=\"schemas\">TESTDB</property>\n",
        2,
        "by-mod",
        "<?xml version=\"1.0\"?>\n<mycat:rule xmlns:mycat=\"http://io.mycat/\">\n\
<tableRule name=\"by-mod\"><rule><columns>id</columns><algorithm>mod2</algorithm></rule></tableRule>\n\
<function name=\"mod2\" class=\"io.mycat.route.function.PartitionByMod\"><property name=\"count\">2</property></function>\n\
</mycat:rule>\n",
    );
    write(
        dir,
        "server.xml",
        "<?xml version=\"1.0\"?>\n<mycat:server xmlns:mycat=\"http://io.mycat/\">\n<system>\n\
<property name=\"sequnceHandlerType\">2</property>\n</system>\n\
<user name=\"app\">\n<property name=\"password\">pw</property>\n<property name=\"schemas\">TESTDB</property>\n</user>\n</mycat:server>\n",
    );
    if let Some(p) = props {
        write(dir, "sequence_time_conf.properties", p);
    }
    let schema = std::fs::read_to_string(dir.join("schema.xml")).expect("schema.xml");
    write(
        dir,
        "schema.xml",
        &schema.replace(
            "rule=\"by-mod\" />",
            "rule=\"by-mod\" primaryKey=\"id\" autoIncrement=\"true\" />",
        ),
    );
    conf
}

/// `sequnceHandlerType 2` (snowflake ids): MyCat 1.6 does not start without
/// sequence_time_conf.properties (IncrSequenceTimeHandler: "time sequnce properties not
/// found") or without WORKID/DATAACENTERID in it, so the import does not make a pair up
/// (it used to write 1/1 on both boxes): it leaves them out, the generated config has
/// errors, and the warning names the file and asks for a pair per box. With the file,
/// the pair is imported and `tandem check` of both boxes refuses the same pair.
#[test]
fn mycat_time_sequence_pair_is_never_made_up_and_must_differ_per_box() {
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = time_sequence_conf(dir.path(), None);
    let (code, out, err) = tandem(&["import", "--mycat-dir", &conf]);
    assert_eq!(code, 1, "{err}\n{out}");
    assert!(
        out.contains("handler: time") && !out.contains("worker_id"),
        "{out}"
    );
    let server = format!("{conf}/server.xml");
    let at = format!(
        "{server}:{}: warning: sequnceHandlerType 2 (time) but {conf}/sequence_time_conf.properties is missing: MyCat 1.6 reads WORKID and DATAACENTERID from it and does not start without it",
        line_of(&server, "sequnceHandlerType")
    );
    let w = err
        .lines()
        .find(|l| l.starts_with(&at))
        .unwrap_or_else(|| panic!("no `{at}`\n{err}"));
    assert!(w.contains("each box needs its own pair"), "{w}");
    assert!(
        err.contains("router.sequence.handler: a `time` sequence needs `worker_id`"),
        "{err}"
    );

    // No table uses the sequence: the missing file is a warning, and no `sequence`.
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = time_sequence_conf(dir.path(), None);
    let schema = std::fs::read_to_string(dir.path().join("schema.xml")).expect("schema.xml");
    write(
        dir.path(),
        "schema.xml",
        &schema.replace(" autoIncrement=\"true\"", ""),
    );
    let (code, out, err) = tandem(&["import", "--mycat-dir", &conf]);
    assert_eq!(code, 0, "{err}\n{out}");
    assert!(!out.contains("sequence"), "{out}");
    let server = format!("{conf}/server.xml");
    assert!(
        err.contains(&format!(
            "{server}:{}: warning: sequnceHandlerType 2 (time) but {conf}/sequence_time_conf.properties is missing (MyCat 1.6 reads WORKID and DATAACENTERID from it and does not start without it), and no table has autoIncrement=\"true\": the `sequence` section is left out",
            line_of(&server, "sequnceHandlerType")
        )),
        "{err}"
    );

    // A file without DATAACENTERID: the one value is imported, the other left out.
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = time_sequence_conf(dir.path(), Some("WORKID=02\n"));
    let (code, out, err) = tandem(&["import", "--mycat-dir", &conf]);
    assert_eq!(code, 1, "{err}\n{out}");
    assert!(
        out.contains("worker_id: 2") && !out.contains("datacenter_id"),
        "{out}"
    );
    assert!(
        err.contains("sequence_time_conf.properties has no DATAACENTERID"),
        "{err}"
    );

    // MyCat's stock file (01/01) on both boxes: both imports get the same pair, which
    // `tandem check` of the two boxes refuses; another pair on box b passes.
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = time_sequence_conf(
        dir.path(),
        Some("#sequence depend on TIME\nWORKID=01\nDATAACENTERID=01\n"),
    );
    let (code, out, err) = tandem(&["import", "--mycat-dir", &conf]);
    assert_eq!(code, 0, "{err}\n{out}");
    let seq = parse(&out)
        .router
        .expect("router")
        .sequence
        .expect("sequence");
    assert_eq!((seq.worker_id, seq.datacenter_id), (Some(1), Some(1)));
    assert!(err.contains("each box needs its own pair"), "{err}");
    let a = write(dir.path(), "a.yaml", &out);
    let b = write(dir.path(), "b.yaml", &out);
    let (a, b) = (a.to_string_lossy(), b.to_string_lossy());
    let (code, check, _) = tandem(&["check", "-c", &a, "-c", &b]);
    assert_eq!(code, 1, "{check}");
    assert!(
        check.contains(&format!("router.sequence.worker_id: worker_id 1 with datacenter_id 1 is also the `time` sequence pair of {b}: both routers would hand out the same ids")),
        "{check}"
    );
    write(
        dir.path(),
        "b.yaml",
        &out.replace("worker_id: 1", "worker_id: 2"),
    );
    let (code, check, _) = tandem(&["check", "-c", &a, "-c", &b]);
    assert_eq!(code, 0, "{check}");
}

/// `script_user root` (in most keepalived.conf files: keepalived warns without a
/// script_user) is not imported: under the shipped systemd unit tandem runs as `tandem`
/// without CAP_SETUID, so `user: root` would fail every run. Other users are kept, with
/// what they need.
#[test]
fn keepalived_script_user_root_is_not_imported_and_other_users_are_warned() {
    let inst = "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n\
  virtual_ipaddress {\n    198.18.0.100/24\n  }\n  track_script {\n    chk\n    own\n  }\n\
  notify_master \"/etc/keepalived/notify.sh master\"\n}\n";
    let scripts = "vrrp_script chk {\n  script \"/bin/true\"\n}\n\
vrrp_script own {\n  script \"/bin/true\"\n  user nobody\n}\n";
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, out, err, file) = import_keepalived(
        dir.path(),
        &format!("global_defs {{\n  script_user root\n}}\n{scripts}{inst}"),
    );
    assert_eq!(code, 0, "{err}\n{out}");
    let c = parse(&out);
    assert_eq!(c.track_script("chk").and_then(|s| s.user.clone()), None);
    assert_eq!(
        c.track_script("own")
            .and_then(|s| s.user.clone())
            .as_deref(),
        Some("nobody"),
        "a script's own user is kept"
    );
    let n = &c.vrrp.as_ref().expect("vrrp").instances[0].notify;
    assert_eq!((n.user.as_deref(), n.group.as_deref()), (None, None));
    assert!(
        err.contains(&format!(
            "{file}:2: warning: `script_user root`: the track scripts and notify hooks are imported without `user`, so they run as tandem's own user (`tandem` under the shipped systemd unit, which cannot switch to root"
        )) && err.contains("give tandem CAP_SETUID and CAP_SETGID with a drop-in (README, \"systemd\")"),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{file}:9: warning: vrrp_script own: `user nobody`: tandem can switch to `nobody` only with CAP_SETUID and CAP_SETGID, which the shipped systemd unit leaves out"
        )),
        "{err}"
    );

    // Another script_user: kept, warned.
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, out, err, file) = import_keepalived(
        dir.path(),
        &format!("global_defs {{\n  script_user nobody\n}}\n{scripts}{inst}"),
    );
    assert_eq!(code, 0, "{err}\n{out}");
    let c = parse(&out);
    assert_eq!(
        c.track_script("chk")
            .and_then(|s| s.user.clone())
            .as_deref(),
        Some("nobody")
    );
    let n = &c.vrrp.as_ref().expect("vrrp").instances[0].notify;
    assert_eq!(n.user.as_deref(), Some("nobody"));
    assert!(
        err.contains(&format!(
            "{file}:2: warning: `script_user nobody`: imported as the `user` of every track script without its own and of the notify hooks; tandem can switch to `nobody` only with CAP_SETUID and CAP_SETGID"
        )),
        "{err}"
    );

    // A hook with a user of its own: kept, warned on its line.
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, out, err, file) = import_keepalived(
        dir.path(),
        &format!("{scripts}{}", inst.replace("master\"\n", "master\" root\n")),
    );
    assert_eq!(code, 0, "{err}\n{out}");
    let n = &parse(&out).vrrp.expect("vrrp").instances[0].notify;
    assert_eq!(n.user.as_deref(), Some("root"));
    assert!(
        err.contains(&format!(
            "{file}:{}: warning: vrrp_instance VI_1: the notify hooks are imported with `notify.user: root`: tandem can switch to `root` only with CAP_SETUID and CAP_SETGID",
            line_of(&file, "notify_master")
        )),
        "{err}"
    );
}

/// The "single writer" pattern of Galera/PXC setups (`stick-table type ip size 1` +
/// `stick on dst`) becomes the listener's `stick`, so writes keep going to one node;
/// `timeout X 0` (no timeout in haproxy) no longer yields an invalid `0ms`;
/// `option redispatch <n>` and `hash-type consistent` are read, not dropped.
#[test]
fn haproxy_stick_zero_timeouts_redispatch_interval_and_hash_type() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, out, err, file) = import_haproxy(
        dir.path(),
        "defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 50s\n  timeout server 50s\n\
listen galera\n  bind 198.19.0.100:3306\n  timeout client 0\n  option redispatch 1\n\
  stick-table type ip size 1 expire 30m peers mypeers\n  stick on dst\n\
  server a 198.19.0.1:3306 check\n  server b 198.19.0.2:3306 check backup\n\
listen src\n  bind 198.19.0.100:3307\n  balance source\n  hash-type consistent\n\
  option redispatch 0\n  stick-table type string len 32 size 200k\n  stick on req.payload(0,4)\n\
  server a 198.19.0.1:3306\n\
listen plain\n  bind 198.19.0.100:3308\n  stick-table type ipv6 size 2k\n  stick on src\n\
  server a 198.19.0.1:3306\n",
    );
    assert_eq!(code, 0, "{err}\n{out}");
    let b = parse(&out).balancer.expect("balancer");
    let galera = &b.listeners[0];
    let st = galera.stick.expect("stick");
    assert_eq!(st.on, config::balancer::StickOn::Dst);
    assert_eq!(st.size, 1);
    assert_eq!(st.expire, Some(config::types::Dur::secs(1800)));
    assert!(galera.redispatch);
    assert_eq!(
        galera.timeouts.client,
        config::balancer::Timeouts::default().client,
        "tandem's default, warned"
    );
    assert!(
        err.contains(&format!(
            "{file}:8: warning: `timeout client 0`: 0 means no timeout in haproxy"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{file}:9: warning: `option redispatch 1`: imported as `redispatch: true`"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{file}:10: warning: `stick-table ... peers mypeers`: tandem's stick table is not shared between the boxes"
        )),
        "{err}"
    );
    let src = &b.listeners[1];
    assert_eq!(src.stick, None, "a string table is not imported");
    assert!(!src.redispatch);
    assert!(
        err.contains(&format!("{file}:17: warning: `hash-type consistent`: tandem's `balance: source` is consistent too")),
        "{err}"
    );
    assert!(
        !err.contains("add `source_compat: haproxy`"),
        "no map-based advice with hash-type consistent: {err}"
    );
    assert!(
        err.contains(&format!("{file}:19: warning: `stick-table type string`")),
        "{err}"
    );
    assert!(
        err.contains(&format!("{file}:20: warning: `stick on req.payload(0,4)`")),
        "{err}"
    );
    let plain = b.listeners[2].stick.expect("stick");
    assert_eq!(
        (plain.on, plain.size, plain.expire),
        (config::balancer::StickOn::Src, 2048, None)
    );
}

/// ClusterControl's role checks: `option tcp-check` + `tcp-check expect string MySQL\
/// master` on the xinetd port; dropping the expect made every open port pass.
#[test]
fn haproxy_tcp_check_send_expect_and_connect_port() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, out, err, file) = import_haproxy(
        dir.path(),
        "defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 1m\n  timeout server 1m\n\
listen writer\n  bind 198.19.0.100:3306\n  option tcp-check\n  tcp-check connect port 9200\n\
  tcp-check send GET\\ /\\ HTTP/1.0\\r\\n\\r\\n\n  tcp-check expect string MySQL\\ master\n\
  server a 198.19.0.1:3306 check\n\
listen reader\n  bind 198.19.0.100:3307\n  option tcp-check\n  tcp-check expect rstring is\\ running.\n\
  default-server port 9200\n  server a 198.19.0.1:3306 check\n",
    );
    assert_eq!(code, 0, "{err}\n{out}");
    let b = parse(&out).balancer.expect("balancer");
    let c = b.listeners[0].check.as_ref().expect("check");
    assert_eq!(c.kind, config::balancer::CheckType::Tcp);
    assert_eq!(c.port, Some(9200));
    assert_eq!(c.send.as_deref(), Some("GET / HTTP/1.0\r\n\r\n"));
    assert_eq!(c.expect.as_deref(), Some("MySQL master"));
    let r = b.listeners[1].check.as_ref().expect("check");
    assert_eq!((r.port, r.expect.as_deref()), (Some(9200), None));
    assert!(
        err.contains(&format!("{file}:16: warning: keyword `tcp-check expect rstring is running.` has no tandem equivalent")),
        "{err}"
    );
    assert!(
        err.contains("listener reader: its `tcp-check` rules were imported only in part (see above): the check now only connects, so every server whose port accepts connections counts as up"),
        "{err}"
    );
}

/// A conf/ with the given server.xml, schema.xml and rule.xml bodies (inside their root
/// elements); `rule` may be empty (no rule.xml).
fn conf_of(dir: &Path, server: &str, schema: &str, rule: &str) -> String {
    write(
        dir,
        "server.xml",
        &format!(
            "<?xml version=\"1.0\"?>\n<mycat:server xmlns:mycat=\"http://io.mycat/\">\n{server}</mycat:server>\n"
        ),
    );
    write(
        dir,
        "schema.xml",
        &format!(
            "<?xml version=\"1.0\"?>\n<mycat:schema xmlns:mycat=\"http://io.mycat/\">\n{schema}</mycat:schema>\n"
        ),
    );
    if !rule.is_empty() {
        write(
            dir,
            "rule.xml",
            &format!(
                "<?xml version=\"1.0\"?>\n<mycat:rule xmlns:mycat=\"http://io.mycat/\">\n{rule}</mycat:rule>\n"
            ),
        );
    }
    dir.to_string_lossy().into_owned()
}

const APP_USER: &str = "<user name=\"app\">\n<property name=\"password\">pw</property>\n<property name=\"schemas\">TESTDB</property>\n</user>\n";

/// `<dataHost name="NAME">` with one write host.
fn data_host_xml(name: &str, attrs: &str, heartbeat: &str) -> String {
    format!(
        "<dataHost name=\"{name}\" maxCon=\"10\" minCon=\"1\" balance=\"0\" dbType=\"mysql\" dbDriver=\"native\" {attrs}>\n\
<heartbeat>{heartbeat}</heartbeat>\n\
<writeHost host=\"M\" url=\"198.19.0.11:3306\" user=\"root\" password=\"pw\" />\n</dataHost>\n"
    )
}

/// The warning line of `file` at the line containing `needle`, which must contain `what`.
fn warning_at<'a>(err: &'a str, file: &str, needle: &str, what: &str) -> &'a str {
    let prefix = format!("{file}:{}: warning: ", line_of(file, needle));
    err.lines()
        .find(|l| l.starts_with(&prefix) && l.contains(what))
        .unwrap_or_else(|| panic!("no warning at {prefix} with `{what}`:\n{err}"))
}

/// MyCat reads `type` with equalsIgnoreCase("global") and every boolean with Java's
/// Boolean.parseBoolean (only `true`, any case): `GLOBAL` is global, `1`/`yes` are false
/// (warned); `needAddLimit="false"` and `ruleRequired="true"` are carried over.
#[test]
fn mycat_table_types_and_booleans_read_as_mycat_reads_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = "<user name=\"app\">\n<property name=\"password\">pw</property>\n<property name=\"schemas\">TESTDB</property>\n\
<property name=\"readOnly\">1</property>\n\
<privileges check=\"yes\"><schema name=\"TESTDB\" dml=\"0110\" /></privileges>\n</user>\n\
<user name=\"ro\">\n<property name=\"password\">pw</property>\n<property name=\"schemas\">TESTDB</property>\n\
<property name=\"readOnly\">TRUE</property>\n\
<privileges check=\"True\"><schema name=\"TESTDB\" dml=\"0010\" />\n<dataNode name=\"dn1\" dml=\"0000\" /></privileges>\n</user>\n";
    let schema = format!(
        "<schema name=\"TESTDB\" checkSQLschema=\"1\" dataNode=\"dn1\">\n\
<table name=\"g1\" type=\"GLOBAL\" dataNode=\"dn1,dn2\" />\n\
<table name=\"g2\" type=\"Global\" dataNode=\"dn1,dn2\" />\n\
<table name=\"s1\" type=\"sharding\" dataNode=\"dn1,dn2\" rule=\"m\" needAddLimit=\"false\" ruleRequired=\"true\" autoIncrement=\"yes\" primaryKey=\"id\" />\n\
<table name=\"s2\" dataNode=\"dn1,dn2\" rule=\"m\" needAddLimit=\"1\" ruleRequired=\"TRUE\" />\n\
<table name=\"s3\" dataNode=\"dn1,dn2\" rule=\"m\" needAddLimit=\"true\" ruleRequired=\"false\" />\n\
<table name=\"p\" dataNode=\"dn1,dn2\" rule=\"m\"><childTable name=\"c\" joinKey=\"pid\" parentKey=\"id\" needAddLimit=\"false\" /></table>\n\
<table name=\"one\" dataNode=\"dn1\" ruleRequired=\"true\" />\n\
</schema>\n\
<dataNode name=\"dn$1-2\" dataHost=\"h\" database=\"db$1-2\" />\n{}",
        data_host_xml("h", "switchType=\"1\"", "select user()")
    );
    let rule = "<tableRule name=\"m\"><rule><columns>id</columns><algorithm>mod2</algorithm></rule></tableRule>\n\
<function name=\"mod2\" class=\"io.mycat.route.function.PartitionByMod\"><property name=\"count\">2</property></function>\n";
    let conf = conf_of(dir.path(), server, &schema, rule);
    let (code, out, err) = tandem(&["import", "--mycat-dir", &conf]);
    assert_eq!(code, 0, "{err}\n{out}");
    let c = parse(&out);
    let r = c.router.as_ref().expect("router");
    let t = |n: &str| {
        r.schemas[0]
            .tables
            .iter()
            .find(|t| t.name == n)
            .unwrap_or_else(|| panic!("no table {n}: {out}"))
    };
    use tandem::config::router::TableType;
    assert_eq!(t("g1").kind, TableType::Global);
    assert_eq!(t("g2").kind, TableType::Global);
    assert_eq!(t("s1").kind, TableType::Sharded);
    assert_eq!(
        (
            t("s1").need_add_limit,
            t("s1").rule_required,
            t("s1").auto_increment
        ),
        (false, true, false)
    );
    assert_eq!(
        (t("s2").need_add_limit, t("s2").rule_required),
        (false, true)
    );
    assert_eq!(
        (t("s3").need_add_limit, t("s3").rule_required),
        (true, false)
    );
    assert!(!out.contains("need_add_limit: true") && !out.contains("rule_required: false"));
    assert!(!t("p").children[0].need_add_limit, "{out}");
    assert!(!t("one").rule_required, "{out}");
    assert!(
        err.contains("table one: ruleRequired=\"true\" on a table without a rule: MyCat refused every statement on it"),
        "{err}"
    );
    assert!(!r.schemas[0].check_sql_schema);
    assert!(!r.users[0].read_only && r.users[1].read_only);
    assert!(r.users[0].privileges.is_empty() && !r.users[1].privileges.is_empty());
    let schema_f = format!("{conf}/schema.xml");
    let server_f = format!("{conf}/server.xml");
    warning_at(
        &err,
        &schema_f,
        "name=\"s1\"",
        "table s1: type=\"sharding\": MyCat makes a table global only for type=\"global\" (in any case)",
    );
    for (needle, what) in [
        (
            "name=\"s1\"",
            "table s1: autoIncrement=\"yes\": MyCat reads it with Java's Boolean.parseBoolean, which is true only for `true` (in any case), so MyCat took it as false",
        ),
        (
            "name=\"s2\"",
            "table s2: needAddLimit=\"1\": MyCat reads it with Java's Boolean.parseBoolean",
        ),
        ("checkSQLschema", "schema TESTDB: checkSQLschema=\"1\""),
    ] {
        warning_at(&err, &schema_f, needle, what);
    }
    warning_at(
        &err,
        &server_f,
        "readOnly\">1",
        "user app: readOnly=\"1\": MyCat reads it with Java's Boolean.parseBoolean",
    );
    warning_at(
        &err,
        &server_f,
        "check=\"yes\"",
        "user app: privileges check=\"yes\"",
    );
    warning_at(
        &err,
        &server_f,
        "<dataNode name=\"dn1\"",
        "user ro: <privileges><dataNode name=\"dn1\" dml=\"0000\">: MyCat's DML bits per data node",
    );
    assert!(!err.contains("readOnly=\"TRUE\""), "{err}");
}

/// `dataNode="distribute(dn$1-4)"`: MyCat strips the function and interleaves the nodes
/// by data host (hosts in Java HashMap order), and a row's node index counts in that
/// order; the import writes the nodes in MyCat's order.
#[test]
fn mycat_distribute_data_nodes_keep_mycat_s_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let schema = format!(
        "<schema name=\"TESTDB\">\n\
<table name=\"t\" dataNode=\"distribute(dn$1-5)\" rule=\"m\" />\n</schema>\n\
<dataNode name=\"dn$1-2\" dataHost=\"dh2\" database=\"db$1-2\" />\n\
<dataNode name=\"dn$3-5\" dataHost=\"dh1\" database=\"db$3-5\" />\n{}{}",
        data_host_xml("dh1", "switchType=\"1\"", "select user()"),
        data_host_xml("dh2", "switchType=\"1\"", "select user()")
    );
    let rule = "<tableRule name=\"m\"><rule><columns>id</columns><algorithm>mod5</algorithm></rule></tableRule>\n\
<function name=\"mod5\" class=\"io.mycat.route.function.PartitionByMod\"><property name=\"count\">5</property></function>\n";
    let conf = conf_of(dir.path(), APP_USER, &schema, rule);
    let (code, out, err) = tandem(&["import", "--mycat-dir", &conf]);
    assert_eq!(code, 0, "{err}\n{out}");
    let c = parse(&out);
    let t = &c.router.as_ref().expect("router").schemas[0].tables[0];
    // HashMap(2) iterates dh1 before dh2: dh1's nodes first in each round.
    assert_eq!(t.data_nodes, ["dn3", "dn1", "dn4", "dn2", "dn5"]);
    warning_at(
        &err,
        &format!("{conf}/schema.xml"),
        "distribute(",
        "dataNode=\"distribute(dn$1-5)\": MyCat strips `distribute(...)` and reorders the data nodes by data host",
    );
    let out_dir = tempfile::tempdir().expect("tempdir");
    let p = write(out_dir.path(), "imported.yaml", &out);
    let p = p.to_string_lossy().into_owned();
    // id 1 → index 1 → dn1 (not dn2); id 0 → dn3.
    assert_eq!(nodes(&p, "SELECT * FROM t WHERE id = 1"), ["dn1"]);
    assert_eq!(nodes(&p, "SELECT * FROM t WHERE id = 0"), ["dn3"]);
    assert_eq!(nodes(&p, "SELECT * FROM t WHERE id = 3"), ["dn2"]);
}

/// `<table name="a,b">` with `<childTable>`: MyCat loads child tables only for a single
/// table name, so the children are left out (warned), not copied to both tables.
#[test]
fn mycat_child_tables_of_a_multi_name_table_are_left_out() {
    let dir = tempfile::tempdir().expect("tempdir");
    let schema = format!(
        "<schema name=\"TESTDB\">\n\
<table name=\"a,b\" dataNode=\"dn$1-2\" rule=\"m\">\n\
<childTable name=\"kid\" joinKey=\"a_id\" parentKey=\"id\" />\n</table>\n\
<table name=\"p\" dataNode=\"dn$1-2\" rule=\"m\">\n\
<childTable name=\"pkid\" joinKey=\"p_id\" parentKey=\"id\" autoIncrement=\"on\" />\n</table>\n</schema>\n\
<dataNode name=\"dn$1-2\" dataHost=\"h\" database=\"db$1-2\" />\n{}",
        data_host_xml("h", "switchType=\"1\"", "select user()")
    );
    let rule = "<tableRule name=\"m\"><rule><columns>id</columns><algorithm>mod2</algorithm></rule></tableRule>\n\
<function name=\"mod2\" class=\"io.mycat.route.function.PartitionByMod\"><property name=\"count\">2</property></function>\n";
    let conf = conf_of(dir.path(), APP_USER, &schema, rule);
    let (code, out, err) = tandem(&["import", "--mycat-dir", &conf]);
    assert_eq!(code, 0, "{err}\n{out}");
    let c = parse(&out);
    let tables = &c.router.as_ref().expect("router").schemas[0].tables;
    assert_eq!(tables.len(), 3);
    assert!(tables[0].children.is_empty() && tables[1].children.is_empty());
    assert_eq!(tables[2].children[0].name, "pkid");
    assert!(!tables[2].children[0].auto_increment);
    let schema_f = format!("{conf}/schema.xml");
    warning_at(
        &err,
        &schema_f,
        "name=\"kid\"",
        "<childTable name=\"kid\"> of <table name=\"a,b\">: MyCat ignores the child tables of a <table> that names several tables",
    );
    warning_at(
        &err,
        &schema_f,
        "name=\"pkid\"",
        "childTable pkid: autoIncrement=\"on\"",
    );
}

/// `switchType="3"` (Galera status) imports as it is; `writeType="1"` (random write
/// host) has no tandem equivalent: imported as 0, with what it meant.
#[test]
fn mycat_galera_switch_imports_as_is_and_random_writes_are_explained() {
    let dir = tempfile::tempdir().expect("tempdir");
    let schema = format!(
        "<schema name=\"TESTDB\" dataNode=\"dn1\" />\n\
<dataNode name=\"dn1\" dataHost=\"g\" database=\"db1\" />\n{}",
        data_host_xml(
            "g",
            "writeType=\"1\" switchType=\"3\"",
            "show status like 'wsrep%'"
        )
    );
    let conf = conf_of(dir.path(), APP_USER, &schema, "");
    let (code, out, err) = tandem(&["import", "--mycat-dir", &conf]);
    assert_eq!(code, 0, "{err}\n{out}");
    let c = parse(&out);
    let h = &c.router.as_ref().expect("router").data_hosts[0];
    assert_eq!((h.write_type, h.switch_type), (0, 3));
    assert!(!err.contains("switchType"), "{err}");
    let schema_f = format!("{conf}/schema.xml");
    let w = warning_at(&err, &schema_f, "<dataHost", "writeType=\"1\"");
    assert!(
        w.contains("MyCat sends each write to a random live write host")
            && w.contains("imported as `write_type: 0`"),
        "{w}"
    );
}

/// `nonePasswordLogin=1` and `defaultAccount="true"` change who logs in: the warnings
/// say what the operator must give the clients.
#[test]
fn mycat_password_less_logins_say_what_to_do() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = "<system>\n<property name=\"nonePasswordLogin\">1</property>\n</system>\n\
<user name=\"root\" defaultAccount=\"true\">\n<property name=\"password\">pw</property>\n<property name=\"schemas\">TESTDB</property>\n</user>\n";
    let schema = format!(
        "<schema name=\"TESTDB\" dataNode=\"dn1\" />\n<dataNode name=\"dn1\" dataHost=\"h\" database=\"db1\" />\n{}",
        data_host_xml("h", "switchType=\"1\"", "select user()")
    );
    let conf = conf_of(dir.path(), server, &schema, "");
    let (code, out, err) = tandem(&["import", "--mycat-dir", &conf]);
    assert_eq!(code, 0, "{err}\n{out}");
    let server_f = format!("{conf}/server.xml");
    let w = warning_at(&err, &server_f, "nonePasswordLogin", "nonePasswordLogin=1");
    assert!(
        w.contains("tandem checks every login's password")
            && w.contains("set a user's `password: \"\"`"),
        "{w}"
    );
    let w = warning_at(&err, &server_f, "defaultAccount", "defaultAccount=\"true\"");
    assert!(
        w.contains("MyCat logged every client in as root")
            && w.contains("clients that used other names must now use `root`"),
        "{w}"
    );
    assert!(!err.contains("MyCat tuning"), "{err}");
}

/// 1.6 to 1.6.7.4 read `sequnceHandlerType`, 1.6.7.5 and later `sequenceHandlerType`:
/// both with different values are warned (the newer spelling is imported); one spelling
/// alone with another handler than the local file is warned for the other versions.
#[test]
fn mycat_sequence_handler_spellings_by_version() {
    let schema = format!(
        "<schema name=\"TESTDB\" dataNode=\"dn1\" />\n<dataNode name=\"dn1\" dataHost=\"h\" database=\"db1\" />\n{}",
        data_host_xml("h", "switchType=\"1\"", "select user()")
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let server = format!(
        "<system>\n<property name=\"sequnceHandlerType\">1</property>\n<property name=\"sequenceHandlerType\">0</property>\n</system>\n{APP_USER}"
    );
    let conf = conf_of(dir.path(), &server, &schema, "");
    write(
        dir.path(),
        "sequence_conf.properties",
        "GLOBAL.HISIDS=\nGLOBAL.MINID=1\nGLOBAL.MAXID=20000\nGLOBAL.CURID=10000\n",
    );
    let (code, out, err) = tandem(&["import", "--mycat-dir", &conf]);
    assert_eq!(code, 0, "{err}\n{out}");
    assert!(out.contains("handler: local_file"), "{out}");
    let w = warning_at(
        &err,
        &format!("{conf}/server.xml"),
        "sequenceHandlerType",
        "sequnceHandlerType=1 (line 4) and sequenceHandlerType=0 (line 5) differ",
    );
    assert!(
        w.contains("MyCat 1.6 to 1.6.7.4 read only `sequnceHandlerType` (so they used 1)")
            && w.contains("1.6.7.5 and later only `sequenceHandlerType` (so they used 0)")
            && w.contains("imported as 0"),
        "{w}"
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let server = format!(
        "<system>\n<property name=\"sequnceHandlerType\">1</property>\n</system>\n{APP_USER}"
    );
    let conf = conf_of(dir.path(), &server, &schema, "");
    write(dir.path(), "sequence_db_conf.properties", "GLOBAL=dn1\n");
    let (code, out, err) = tandem(&["import", "--mycat-dir", &conf]);
    assert_eq!(code, 0, "{err}\n{out}");
    assert!(out.contains("handler: database"), "{out}");
    warning_at(
        &err,
        &format!("{conf}/server.xml"),
        "sequnceHandlerType",
        "1.6.7.5 and later only `sequenceHandlerType`, so they ignore this one and use 0",
    );
}

/// A murmur weight map is inlined as `weight_map`, as map files are.
#[test]
fn mycat_murmur_weight_map_is_inlined() {
    let dir = tempfile::tempdir().expect("tempdir");
    let schema = format!(
        "<schema name=\"TESTDB\">\n<table name=\"t\" dataNode=\"dn$1-2\" rule=\"mm\" />\n</schema>\n\
<dataNode name=\"dn$1-2\" dataHost=\"h\" database=\"db$1-2\" />\n{}",
        data_host_xml("h", "switchType=\"1\"", "select user()")
    );
    let rule = "<tableRule name=\"mm\"><rule><columns>id</columns><algorithm>murmur</algorithm></rule></tableRule>\n\
<function name=\"murmur\" class=\"io.mycat.route.function.PartitionByMurmurHash\">\n\
<property name=\"count\">2</property>\n<property name=\"weightMapFile\">weights.properties</property>\n</function>\n";
    let conf = conf_of(dir.path(), APP_USER, &schema, rule);
    write(
        dir.path(),
        "weights.properties",
        "# node=weight\n0=3\n1=1\n",
    );
    let (code, out, err) = tandem(&["import", "--mycat-dir", &conf]);
    assert_eq!(code, 0, "{err}\n{out}");
    assert!(out.contains("weight_map: [\"0=3\", \"1=1\"]"), "{out}");
    assert!(
        !out.contains("weight_map_file") && !out.contains("weights.properties"),
        "{out}"
    );
    let f = &parse(&out).router.expect("router").rules[0].function;
    assert_eq!(f.weight_map, ["0=3", "1=1"]);
}

/// PartitionByCRC32PreSlot: one rule per table (`<rule>_<schema>_<TABLE>`, as MyCat
/// names them), its node count the table's, its slot map MyCat's conf/ruledata/ file
/// when there is one, else MyCat's first-start even split; rows land where MyCat's Java
/// code puts them (the golden vectors).
#[test]
fn mycat_crc32slot_rules_per_table_follow_ruledata() {
    let dir = tempfile::tempdir().expect("tempdir");
    let schema = format!(
        "<schema name=\"TESTDB\">\n\
<table name=\"orders\" dataNode=\"dn$0-2\" rule=\"crc32slot\" />\n\
<table name=\"users\" dataNode=\"dn$0-1\" rule=\"crc32slot\" />\n</schema>\n\
<dataNode name=\"dn$0-2\" dataHost=\"h\" database=\"db$0-2\" />\n{}",
        data_host_xml("h", "switchType=\"1\"", "select user()")
    );
    let rule = "<tableRule name=\"crc32slot\"><rule><columns>id</columns><algorithm>crc32slot</algorithm></rule></tableRule>\n\
<function name=\"crc32slot\" class=\"io.mycat.route.function.PartitionByCRC32PreSlot\">\n\
<property name=\"count\">2</property>\n</function>\n";
    let conf = conf_of(dir.path(), APP_USER, &schema, rule);
    std::fs::create_dir_all(dir.path().join("ruledata")).expect("mkdir");
    let vectors = common::repo_root().join("tests/data/mycat-vectors");
    std::fs::copy(
        vectors.join("maps/crc32slot-migrated.properties"),
        dir.path()
            .join("ruledata/crc32slot_TESTDB_ORDERS.properties"),
    )
    .expect("copy ruledata");
    let (code, out, err) = tandem(&["import", "--mycat-dir", &conf]);
    assert_eq!(code, 0, "{err}\n{out}");
    let c = parse(&out);
    let r = c.router.as_ref().expect("router");
    let names: Vec<(&str, Option<u32>, usize)> = r
        .rules
        .iter()
        .map(|x| (x.name.as_str(), x.function.count, x.function.map.len()))
        .collect();
    assert_eq!(
        names,
        [
            ("crc32slot_TESTDB_ORDERS", Some(3), 3),
            ("crc32slot_TESTDB_USERS", Some(2), 0)
        ]
    );
    let tables: Vec<Option<&str>> = r.schemas[0]
        .tables
        .iter()
        .map(|t| t.rule.as_deref())
        .collect();
    assert_eq!(
        tables,
        [
            Some("crc32slot_TESTDB_ORDERS"),
            Some("crc32slot_TESTDB_USERS")
        ]
    );
    let rule_f = format!("{conf}/rule.xml");
    warning_at(
        &err,
        &rule_f,
        "<tableRule",
        "tableRule crc32slot: the function's count=2 is what MyCat 1.6.5 splits the slots of table orders by",
    );
    warning_at(
        &err,
        &rule_f,
        "<tableRule",
        "is inlined as the `map` of rule crc32slot_TESTDB_ORDERS",
    );
    let w = warning_at(&err, &rule_f, "<tableRule", "no slot map for table users");
    assert!(
        w.contains("an even split of the 102400 slots over the table's 2 data nodes")
            && w.contains("`_slot`"),
        "{w}"
    );
    // Rows go where MyCat's Java code put them.
    let out_dir = tempfile::tempdir().expect("tempdir");
    let p = write(out_dir.path(), "imported.yaml", &out);
    let p = p.to_string_lossy().into_owned();
    let tsv = std::fs::read_to_string(vectors.join("PartitionByCRC32PreSlot.tsv")).expect("tsv");
    let mut checked = 0;
    for (table, config) in [("orders", "crc32slot_migrated"), ("users", "crc32slot_n2")] {
        for row in tsv
            .lines()
            .map(|l| l.split('\t').collect::<Vec<_>>())
            .filter(|f| {
                f[1] == config && !f[2].is_empty() && f[2].chars().all(|c| c.is_alphanumeric())
            })
            .step_by(97)
            .take(12)
        {
            let sql = format!("SELECT * FROM {table} WHERE id = '{}'", row[2]);
            assert_eq!(nodes(&p, &sql), [format!("dn{}", row[3])], "{sql}");
            checked += 1;
        }
    }
    assert!(checked >= 20, "{checked}");
}

/// The new function classes import with their properties; PartitionByLong is warned
/// about its version-dependent placement; PartitionByHotDate is refused with why.
#[test]
fn mycat_newer_function_classes_import_and_hot_date_is_explained() {
    let dir = tempfile::tempdir().expect("tempdir");
    let schema = format!(
        "<schema name=\"TESTDB\">\n\
<table name=\"a\" dataNode=\"dn$0-3\" rule=\"by-prefix\" />\n\
<table name=\"b\" dataNode=\"dn$0-3\" rule=\"by-rdh\" />\n\
<table name=\"c\" dataNode=\"dn$0-3\" rule=\"by-long\" />\n\
<table name=\"d\" dataNode=\"dn$0-3\" rule=\"by-hist\" />\n\
<table name=\"e\" dataNode=\"dn$0-3\" rule=\"by-hot\" />\n</schema>\n\
<dataNode name=\"dn$0-3\" dataHost=\"h\" database=\"db$0-3\" />\n{}",
        data_host_xml("h", "switchType=\"1\"", "select user()")
    );
    let rule = "<tableRule name=\"by-prefix\"><rule><columns>code</columns><algorithm>prefix</algorithm></rule></tableRule>\n\
<tableRule name=\"by-rdh\"><rule><columns>created</columns><algorithm>rdh</algorithm></rule></tableRule>\n\
<tableRule name=\"by-long\"><rule><columns>id</columns><algorithm>func1</algorithm></rule></tableRule>\n\
<tableRule name=\"by-hist\"><rule><columns>created</columns><algorithm>hist</algorithm></rule></tableRule>\n\
<tableRule name=\"by-hot\"><rule><columns>created</columns><algorithm>hot</algorithm></rule></tableRule>\n\
<function name=\"prefix\" class=\"io.mycat.route.function.PartitionByPrefixPattern\">\n\
<property name=\"patternValue\">32</property>\n<property name=\"prefixLength\">5</property>\n\
<property name=\"mapFile\">prefix.txt</property>\n</function>\n\
<function name=\"rdh\" class=\"io.mycat.route.function.PartitionByRangeDateHash\">\n\
<property name=\"sBeginDate\">2014-01-01 00:00:00</property>\n<property name=\"sPartionDay\">3</property>\n\
<property name=\"dateFormat\">yyyy-MM-dd HH:mm:ss</property>\n<property name=\"groupPartionSize\">2</property>\n</function>\n\
<function name=\"func1\" class=\"io.mycat.route.function.PartitionByLong\">\n\
<property name=\"partitionCount\">4</property>\n<property name=\"partitionLength\">256</property>\n</function>\n\
<function name=\"hist\" class=\"io.mycat.route.function.PartitionByMonthAndHistory\">\n\
<property name=\"dateFormat\">yyyy-MM-dd</property>\n<property name=\"sBeginDate\">2014-01-01</property>\n\
<property name=\"sEndDate\">2014-04-01</property>\n</function>\n\
<function name=\"hot\" class=\"io.mycat.route.function.PartitionByHotDate\">\n\
<property name=\"dateFormat\">yyyy-MM-dd</property>\n<property name=\"sLastDay\">10</property>\n\
<property name=\"sPartionDay\">30</property>\n</function>\n";
    let conf = conf_of(dir.path(), APP_USER, &schema, rule);
    write(
        dir.path(),
        "prefix.txt",
        "0-7=0\n8-15=1\n16-23=2\n24-31=3\n",
    );
    let (code, out, err) = tandem(&["import", "--mycat-dir", &conf]);
    // Table e keeps `rule: by-hot`, which is not imported: an error to fix.
    assert_eq!(code, 1, "{err}\n{out}");
    assert!(
        out.contains("type: prefix-pattern") && out.contains("prefix_length: 5"),
        "{out}"
    );
    assert!(
        out.contains("type: range-date-hash") && out.contains("group_partition_size: 2"),
        "{out}"
    );
    assert!(out.contains("type: month-history"), "{out}");
    let rule_f = format!("{conf}/rule.xml");
    let w = warning_at(
        &err,
        &rule_f,
        "name=\"by-long\"",
        "PartitionByLong places keys below 0 or from 2^32 up differently by MyCat version",
    );
    assert!(
        w.contains("add `xor_high_bits: false` to the function of rule by-long"),
        "{w}"
    );
    let w = warning_at(&err, &rule_f, "name=\"hot\"", "PartitionByHotDate");
    assert!(
        w.contains("the current time on the MyCat server at the moment of each statement")
            && w.contains("which no config can reproduce"),
        "{w}"
    );
    // Without table e the rest is valid and routes.
    let fixed: String = out
        .lines()
        .filter(|l| !l.contains("name: e,") && !l.contains("rule: by-hot"))
        .map(|l| format!("{l}\n"))
        .collect();
    let out_dir = tempfile::tempdir().expect("tempdir");
    let p = write(out_dir.path(), "imported.yaml", &fixed);
    let p = p.to_string_lossy().into_owned();
    // 'a'+'b'+'c'+'d'+'e' = 495, mod 32 = 15: node 1.
    assert_eq!(nodes(&p, "SELECT * FROM a WHERE code = 'abcdefg'"), ["dn1"]);
    assert_eq!(
        nodes(&p, "SELECT * FROM d WHERE created = '2014-03-02'"),
        ["dn2"]
    );
    assert_eq!(
        nodes(&p, "SELECT * FROM d WHERE created = '2014-06-02'"),
        ["dn1"]
    );
    // -1 → slot 0 after folding the high bits (MyCat 1.6.7.4+), node 0.
    assert_eq!(nodes(&p, "SELECT * FROM c WHERE id = -1"), ["dn0"]);
    let n = nodes(&p, "SELECT * FROM b WHERE created = '2014-01-04 10:00:00'");
    assert!(n == ["dn2"] || n == ["dn3"], "{n:?}");
}

/// `sNaturalDay=1` on fewer than 31 nodes: MyCat loads it and fails the dates past the
/// last node; tandem refuses the rule, saying exactly that.
#[test]
fn mycat_natural_day_on_too_few_nodes_is_refused_with_why() {
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = mycat_dir(
        dir.path(),
        "<property name=\"schemas\">TESTDB</property>\n",
        2,
        "by-day",
        "<?xml version=\"1.0\"?>\n<mycat:rule xmlns:mycat=\"http://io.mycat/\">\n\
<tableRule name=\"by-day\">\n<rule>\n<columns>create_date</columns>\n<algorithm>natural</algorithm>\n</rule>\n</tableRule>\n\
<function name=\"natural\" class=\"io.mycat.route.function.PartitionByDate\">\n\
<property name=\"dateFormat\">yyyy-MM-dd</property>\n\
<property name=\"sNaturalDay\">1</property>\n</function>\n</mycat:rule>\n",
    );
    let (code, out, err) = tandem(&["import", "--mycat-dir", &conf]);
    assert_eq!(code, 1, "{err}\n{out}");
    assert!(
        err.contains("rule `by-day` can place rows on node index 30 but table `logs` has only 2 data nodes: `natural_day: true` puts a row on node (day of the month - 1)")
            && err.contains("MyCat 1.6 loads such a table (it checks the node count of a date rule only when it has `end_date`) and then fails every statement dated from the 3rd to the 31st of a month"),
        "{err}"
    );
}

/// A conf/ directory without rule.xml: the tables' rules cannot be imported, and the
/// warning says so by name and what to do (before, only `tandem check`'s "rule ... is
/// not defined" told, without saying the file was missing).
#[test]
fn a_missing_rule_xml_is_named_with_the_rules_it_would_define() {
    let dir = tempfile::tempdir().expect("tempdir");
    for f in ["server.xml", "schema.xml", "sequence_conf.properties"] {
        std::fs::copy(data(&format!("conf/{f}")), dir.path().join(f)).expect("copy");
    }
    let d = dir.path().to_string_lossy().to_string();
    let (code, out, err) = tandem(&["import", "--mycat-dir", &d]);
    assert_eq!(code, 1, "{err}\n{out}");
    let line = err
        .lines()
        .find(|l| l.contains(&format!("{d}/rule.xml: warning: no rule.xml: the rules")))
        .unwrap_or_else(|| panic!("no warning about rule.xml:\n{err}"));
    assert!(
        line.contains("put MyCat's rule.xml (and the map files it names) in this directory"),
        "{line}"
    );
    assert!(err.contains("is not defined"), "{err}");
}

/// haproxy's stats page (`listen stats`, `mode http`) becomes `observe.stats` with the
/// same address, URI, users, realm, refresh and admin form; options tandem has no word
/// for are warned with their line, and a second stats page is named.
#[test]
fn haproxy_stats_page_becomes_the_observe_endpoint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write(
        dir.path(),
        "haproxy.cfg",
        "defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 1m\n  timeout server 1m\n\
         listen mysql\n  bind 198.18.0.10:3306\n  server a 198.18.0.1:3306 check\n\
         listen stats\n  bind 127.0.0.1:8404\n  mode http\n  stats enable\n  stats uri /haproxy?stats\n\
         \x20 stats realm Haproxy\\ Statistics\n  stats auth admin:pw\n  stats auth ops:secret\n\
         \x20 stats admin if LOCALHOST\n  stats refresh 30s\n  stats show-legends\n  stats show-node\n\
         frontend other_page\n  bind :8405\n  mode http\n  stats uri /s\n",
    );
    let file = cfg.to_string_lossy().into_owned();
    let (code, out, err) = tandem(&["import", "--haproxy", &file]);
    assert_eq!(code, 0, "{err}");
    let c = parse(&out);
    let o = c.observe.as_ref().expect("observe");
    assert_eq!(o.listen.to_string(), "127.0.0.1:8404");
    assert!(!o.allow_remote);
    let s = &o.stats;
    assert_eq!(s.uri, "/haproxy?stats");
    assert_eq!(s.auth, ["admin:pw", "ops:secret"]);
    assert_eq!(s.realm, "Haproxy Statistics");
    assert_eq!(s.refresh, Some(config::types::Dur::secs(30)));
    assert!(s.admin && s.show_legends);
    assert!(
        warned_at(
            &err,
            &file,
            "stats show-node",
            "keyword `stats show-node` has no tandem equivalent"
        ),
        "{err}"
    );
    assert!(
        warned_at(
            &err,
            &file,
            "frontend other_page",
            "frontend other_page: a second stats page"
        ),
        "{err}"
    );
    assert!(
        warned_at(
            &err,
            &file,
            "listen stats",
            "listen stats: the stats page is served by tandem's observe endpoint on 127.0.0.1:8404 (/haproxy?stats, `;csv` as before); /metrics and /status are served there too\n"
        ),
        "{err}"
    );
    // The balancer is imported beside it.
    assert_eq!(c.balancer.as_ref().expect("balancer").listeners.len(), 1);
}

/// haproxy's `maxconnrate`/`maxsessrate` (global) and `rate-limit sessions` (defaults,
/// listen, frontend; a backend has none) are imported; `0` is no limit; `timeout queue`
/// as well.
#[test]
fn haproxy_rate_limits_are_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write(
        dir.path(),
        "haproxy.cfg",
        "global\n  maxconnrate 100\n  maxsessrate 50\n\
         defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 1m\n  timeout server 1m\n  rate-limit sessions 10\n\
         listen a\n  bind 198.18.0.10:3306\n  timeout queue 2s\n  server s 198.18.0.1:3306\n\
         listen b\n  bind 198.18.0.10:3307\n  rate-limit sessions 0\n  server s 198.18.0.1:3306\n\
         frontend c\n  bind 198.18.0.10:3308\n  rate-limit sessions 20\n  default_backend c_be\n\
         backend c_be\n  server s 198.18.0.1:3306\n",
    );
    let file = cfg.to_string_lossy().into_owned();
    let (code, out, err) = tandem(&["import", "--haproxy", &file]);
    assert_eq!(code, 0, "{err}");
    let c = parse(&out);
    let b = c.balancer.as_ref().expect("balancer");
    assert_eq!((b.maxconnrate, b.maxsessrate), (Some(100), Some(50)));
    let rates: Vec<Option<u32>> = b.listeners.iter().map(|l| l.rate_limit_sessions).collect();
    assert_eq!(rates, [Some(10), None, Some(20)]);
    // `timeout queue` is imported too (the others wait up to their connect timeout).
    let queues: Vec<_> = b.listeners.iter().map(|l| l.timeouts.queue).collect();
    assert_eq!(queues, [Some(config::types::Dur::secs(2)), None, None]);
    assert!(!err.contains("maxconnrate"), "{err}");
    assert!(!err.contains("rate-limit"), "{err}");
}

/// A haproxy stats page tandem's config would refuse as it is is imported as a valid one:
/// `stats uri /` (the page moves to `/stats`), `stats auth user:` (left out), `stats
/// admin` with no password on a remote address (the form left out), each warned.
#[test]
fn haproxy_stats_page_that_tandem_would_refuse_is_imported_valid() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write(
        dir.path(),
        "haproxy.cfg",
        "listen stats\n  bind *:8080\n  mode http\n  stats enable\n  stats uri /\n  stats auth admin:\n  stats admin if TRUE\n",
    );
    let file = cfg.to_string_lossy().into_owned();
    let (code, out, err) = tandem(&["import", "--haproxy", &file]);
    assert_eq!(code, 0, "{err}");
    let c = parse(&out);
    let s = &c.observe.as_ref().expect("observe").stats;
    assert_eq!(s.uri, "/stats");
    assert!(s.auth.is_empty() && !s.admin);
    for (anchor, message) in [
        (
            "stats uri /",
            "`stats uri /`: `/` would take every address of the endpoint; tandem serves the page at /stats",
        ),
        (
            "stats auth admin:",
            "`stats auth admin:`: tandem needs `user:password` with both; left out",
        ),
        (
            "listen stats",
            "listen stats: `stats admin` without `stats auth` on 0.0.0.0:8080: the form is left out",
        ),
    ] {
        assert!(warned_at(&err, &file, anchor, message), "{err}");
    }
}

/// haproxy's agent check (`agent-check`, `agent-port`, `agent-addr`, `agent-inter`,
/// `agent-send`, also from `default-server`; `no-agent-check`) is imported per server.
#[test]
fn haproxy_agent_checks_are_imported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write(
        dir.path(),
        "haproxy.cfg",
        "defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 1m\n  timeout server 1m\n\
         listen db\n  bind 198.18.0.10:3306\n  default-server agent-check agent-port 9777 agent-inter 5s\n\
         server a 198.18.0.1:3306 check agent-send \"db/a\\n\" agent-addr 198.18.0.9\n\
         server b 198.18.0.2:3306 check no-agent-check\n\
         server c 198.18.0.3:3306 check agent-port 9778\n\
         listen other\n  bind 198.18.0.10:3307\n  server d 198.18.0.4:3306 agent-check\n",
    );
    let file = cfg.to_string_lossy().into_owned();
    let (code, out, err) = tandem(&["import", "--haproxy", &file]);
    assert_eq!(code, 0, "{err}");
    let c = parse(&out);
    let b = c.balancer.as_ref().expect("balancer");
    let db = &b.listeners[0];
    let agents: Vec<_> = db
        .servers
        .iter()
        .map(|s| config::balancer::agent_of(db, s))
        .collect();
    let a = agents[0].as_ref().expect("a's agent");
    assert_eq!(a.port, 9777);
    assert_eq!(a.address, Some("198.18.0.9".parse().expect("ip")));
    assert_eq!(a.inter, config::types::Dur::secs(5));
    assert_eq!(a.send.as_deref(), Some("db/a\n"));
    assert_eq!(agents[1], None);
    assert_eq!(agents[2].as_ref().map(|a| a.port), Some(9778));
    // `agent-check` without `agent-port`: haproxy refuses it; warned, not imported.
    assert_eq!(
        config::balancer::agent_of(&b.listeners[1], &b.listeners[1].servers[0]),
        None
    );
    assert!(err.contains("agent-check` without `agent-port`"), "{err}");
    assert!(!err.contains("agent-inter"), "{err}");
}

/// haproxy's `observe layer4`, `error-limit` and `on-error` (server or `default-server`
/// options) become the listener check's `observe`, `error_limit` and `on_error` (the
/// first checked server's); a server that differs gets its own in its `check` mapping;
/// `observe layer7` has no equivalent.
#[test]
fn haproxy_observe_layer4_is_imported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write(
        dir.path(),
        "haproxy.cfg",
        "defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 1m\n  timeout server 1m\n\
         listen db\n  bind 198.18.0.10:3306\n  default-server check observe layer4 error-limit 5 on-error sudden-death\n\
         server a 198.18.0.1:3306\n  server b 198.18.0.2:3306 on-error mark-down\n\
         server c 198.18.0.4:3306 check\n\
         listen ro\n  bind 198.18.0.10:3308\n  server e 198.18.0.6:3306 check observe layer4 error-limit 3\n  server f 198.18.0.7:3306 check\n\
         listen web\n  bind 198.18.0.10:3307\n  server c 198.18.0.3:3306 check observe layer7\n",
    );
    let file = cfg.to_string_lossy().into_owned();
    let (code, out, err) = tandem(&["import", "--haproxy", &file]);
    assert_eq!(code, 0, "{err}");
    let c = parse(&out);
    let b = c.balancer.as_ref().expect("balancer");
    let check = b.listeners[0].check.as_ref().expect("check");
    assert_eq!(check.observe, Some(config::balancer::Observe::Layer4));
    assert_eq!(check.error_limit, 5);
    assert_eq!(check.on_error, config::balancer::OnError::SuddenDeath);
    // b: its own on_error; f (no `observe` where the first server has one): none.
    let tuning = |n: &str| {
        b.listeners
            .iter()
            .flat_map(|l| &l.servers)
            .find(|s| s.name == n)
            .map(|s| s.check_tuning)
            .unwrap_or_else(|| panic!("{n}: {out}"))
    };
    assert!(tuning("a").is_empty(), "{out}");
    assert_eq!(
        tuning("b").on_error,
        Some(config::balancer::OnError::MarkDown),
        "{out}"
    );
    assert!(tuning("c").is_empty(), "{out}");
    assert_eq!(
        tuning("f").observe,
        Some(config::balancer::Observe::None),
        "{out}"
    );
    assert!(!err.contains("differ from the first"), "{err}");
    let web = b
        .listeners
        .iter()
        .find(|l| l.name == "web")
        .and_then(|l| l.check.as_ref())
        .expect("check");
    assert_eq!(web.observe, None);
    assert!(err.contains("observe layer7"), "{err}");
}

/// haproxy's `track [<proxy>/]<server>` is imported with the proxy's listener name (a
/// backend's is its frontend's); a proxy that is not imported is warned and dropped.
#[test]
fn haproxy_track_is_imported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write(
        dir.path(),
        "haproxy.cfg",
        "defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 1m\n  timeout server 1m\n\
         frontend fe_rw\n  bind 198.18.0.10:3306\n  default_backend be_rw\n\
         backend be_rw\n  server a 198.18.0.1:3306 check\n  server b 198.18.0.2:3306 track a\n\
         listen ro\n  bind 198.18.0.10:3307\n  server a 198.18.0.1:3306 track be_rw/a\n  server c 198.18.0.3:3306 track nowhere/a\n",
    );
    let file = cfg.to_string_lossy().into_owned();
    let (code, out, err) = tandem(&["import", "--haproxy", &file]);
    assert_eq!(code, 0, "{err}\n{out}");
    let c = parse(&out);
    let b = c.balancer.as_ref().expect("balancer");
    let tracks: Vec<(String, Option<String>)> = b
        .listeners
        .iter()
        .flat_map(|l| {
            l.servers
                .iter()
                .map(|s| (format!("{}/{}", l.name, s.name), s.track.clone()))
        })
        .collect();
    assert!(
        tracks.contains(&("fe_rw/b".into(), Some("a".into()))),
        "{tracks:?}"
    );
    assert!(
        tracks.contains(&("ro/a".into(), Some("fe_rw/a".into()))),
        "{tracks:?}"
    );
    assert!(tracks.contains(&("ro/c".into(), None)), "{tracks:?}");
    assert!(
        err.contains("`track nowhere/a` names a proxy that is not imported"),
        "{err}"
    );
}
