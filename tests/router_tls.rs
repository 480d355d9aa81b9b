//! TLS between clients and the router (`router.tls`), with real clients against a real
//! MariaDB behind the router: the mariadb CLI, MariaDB Connector/J, MariaDB
//! Connector/Node.js (which implements MariaDB 11.4's zero-configuration check of a
//! self-signed certificate), sysbench, and `openssl s_client -starttls mysql` to see the
//! certificate the router serves.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use nix::sys::signal::Signal;
use serde_json::Value;

use common::clients::{run_bounded, run_connector_j_url, run_node_mariadb, sysbench_sb};
use common::mariadb::{MariaDb, mariadb_client_args};
use common::router::{RouterDaemon, db_host_yaml};
use common::{http_get, tandem, wait_for, write};

// ---- certificates ------------------------------------------------------------------------

/// A CA and a server certificate it signed (SAN localhost and 127.0.0.1), as PEM files
/// `<name>-ca.pem`, `<name>-cert.pem`, `<name>-key.pem` in `dir`.
struct Pki {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    /// The CA, to sign more certificates.
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
}

fn pki(dir: &Path, name: &str) -> Pki {
    pki_for(dir, name, &["localhost", "127.0.0.1"])
}

/// [`pki`] with the server certificate's subject alternative names.
fn pki_for(dir: &Path, name: &str, sans: &[&str]) -> Pki {
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.distinguished_name = rcgen::DistinguishedName::new();
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, format!("{name} test CA"));
    ca_params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    let ca_key = rcgen::KeyPair::generate().expect("ca key");
    let ca_cert = ca_params.self_signed(&ca_key).expect("ca cert");
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let mut params =
        rcgen::CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .expect("params");
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, format!("{name} router"));
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = params.signed_by(&key, &issuer).expect("cert");
    let p = Pki {
        ca: dir.join(format!("{name}-ca.pem")),
        cert: dir.join(format!("{name}-cert.pem")),
        key: dir.join(format!("{name}-key.pem")),
        issuer,
    };
    std::fs::write(&p.ca, ca_cert.pem()).expect("write ca");
    std::fs::write(&p.cert, cert.pem()).expect("write cert");
    std::fs::write(&p.key, key.serialize_pem()).expect("write key");
    p
}

// ---- the router and its clients ---------------------------------------------------------

/// The body of a router config: schema `shop` on database shopdb of `db`, users `app`
/// (password s3cret), `nopw` (empty password) and `secure` (require_tls), and `tls` as
/// the `router.tls` value (a YAML flow value, or empty for the default).
fn body(db: &MariaDb, tls: &str) -> String {
    let tls = if tls.is_empty() {
        String::new()
    } else {
        format!("  tls: {tls}\n")
    };
    format!(
        "{tls}  users:\n    - {{ name: app, password: s3cret, schemas: [shop] }}\n    - {{ name: nopw, password: \"\", schemas: [shop] }}\n    - {{ name: secure, password: sec-pw, schemas: [shop], require_tls: {req} }}\n    - {{ name: root, password: adm, schemas: [shop], admin: true }}\n  schemas:\n    - {{ name: shop, data_node: dn1 }}\n  data_nodes:\n    - {{ name: dn1, data_host: dh1, database: shopdb }}\n  data_hosts:\n    - name: dh1\n      min_con: 1\n      write_hosts:\n        - {}\n",
        db_host_yaml("m1", db),
        req = !tls.contains("off"),
    )
}

fn server() -> MariaDb {
    let db = MariaDb::start();
    db.sql(
        "CREATE DATABASE shopdb; CREATE TABLE shopdb.t (id INT PRIMARY KEY); \
         INSERT INTO shopdb.t VALUES (1), (2)",
    );
    db
}

/// The mariadb CLI with `args` (TLS options) running `stmt` in schema `shop`; stdout
/// (trimmed, no column names), or the error text.
fn cli(
    addr: SocketAddr,
    user: &str,
    pw: &str,
    args: &[&str],
    stmt: &str,
) -> Result<String, String> {
    mariadb_client_args(addr, user, pw, Some("shop"), args, stmt)
}

/// The `SSL:` line of the CLI's `\s` (e.g. `Cipher in use is TLS_AES_256_GCM_SHA384`).
fn cli_ssl_line(addr: SocketAddr, user: &str, pw: &str, args: &[&str]) -> Result<String, String> {
    let out = cli(addr, user, pw, args, "\\s")?;
    Ok(out
        .lines()
        .find(|l| l.starts_with("SSL:"))
        .map(|l| l.trim_start_matches("SSL:").trim().to_string())
        .unwrap_or_default())
}

/// SHA-256 fingerprint (`AB:CD:...`) of the certificate the router at `addr` serves, as
/// `openssl s_client -starttls mysql` receives it.
fn served_fingerprint(addr: SocketAddr) -> String {
    let script = format!(
        "openssl s_client -connect {addr} -starttls mysql </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256; echo OK"
    );
    let mut cmd = Command::new("sh");
    cmd.args(["-c", &script]);
    let (ok, out) = run_bounded(cmd, Duration::from_secs(60));
    assert!(ok, "openssl s_client: {out}");
    out.lines()
        .find_map(|l| {
            l.split_once("Fingerprint=")
                .map(|(_, f)| f.trim().to_uppercase())
        })
        .unwrap_or_else(|| panic!("no fingerprint from openssl s_client: {out}"))
}

fn status(r: &RouterDaemon) -> Value {
    let (_, s) = http_get(r.observe, "/status").expect("status");
    let v: Value = serde_json::from_str(&s).expect("status json");
    v["subsystems"]["router"].clone()
}

fn metric(r: &RouterDaemon, line_start: &str) -> u64 {
    let (_, m) = http_get(r.observe, "/metrics").expect("metrics");
    m.lines()
        .find_map(|l| {
            l.strip_prefix(line_start)
                .map(|v| v.trim().parse().unwrap_or(0))
        })
        .unwrap_or_else(|| panic!("no metric {line_start} in:\n{m}"))
}

/// Rewrites the config with `body` (same ports) and reloads; waits for the reload's
/// `result` (`applied` or `refused`) and returns the daemon's status then.
fn reload(r: &RouterDaemon, body: &str, result: &str) -> Value {
    let text = std::fs::read_to_string(&r.config).expect("config");
    let head = text.split("\n  users:").next().unwrap_or_default();
    // Keep node/observe/admin/listen lines, replace everything from `tls:` or `users:`.
    let head = head.split("\n  tls:").next().unwrap_or_default();
    write(
        r.dir.path(),
        "tandem.yaml",
        &format!("{head}\n{}", body.trim_start_matches('\n')),
    );
    let counter = format!("tandem_config_reloads_total{{result=\"{result}\"}} ");
    let before = metric(r, &counter);
    r.daemon.signal(Signal::SIGHUP);
    wait_for(Duration::from_secs(20), || {
        if metric(r, &counter) <= before {
            return None;
        }
        let (_, s) = http_get(r.observe, "/status").ok()?;
        serde_json::from_str::<Value>(&s).ok()
    })
    .unwrap_or_else(|| panic!("no reload {result}: {}", r.logs()))
}

// ---- tests -------------------------------------------------------------------------------

/// With the operator's certificate, every client verifies it against the CA (and the host
/// name), and the router serves exactly that certificate; a client that does not ask for
/// TLS still gets in (TLS is offered, not required); sysbench runs over TLS.
#[test]
fn an_operators_certificate_is_verified_by_every_client() {
    let db = server();
    db.sql("CREATE DATABASE sbtest");
    let certs = tempfile::tempdir().expect("tempdir");
    let p = pki(certs.path(), "one");
    let tls = format!("{{ cert: {}, key: {} }}", p.cert.display(), p.key.display());
    let r = RouterDaemon::start(
        &body(&db, &tls)
            .replace(
                "  users:\n",
                "  users:\n    - { name: sb, password: sbpw, schemas: [sbtest] }\n",
            )
            .replace(
                "  schemas:\n",
                "  schemas:\n    - { name: sbtest, data_node: dn2 }\n",
            )
            .replace(
                "  data_nodes:\n",
                "  data_nodes:\n    - { name: dn2, data_host: dh1, database: sbtest }\n",
            ),
        true,
    );
    let ca = p.ca.to_str().expect("utf8");

    // The mariadb CLI, verifying the certificate and the host name.
    let verify = [
        "--ssl",
        &format!("--ssl-ca={ca}"),
        "--ssl-verify-server-cert",
    ];
    let line = cli_ssl_line(r.addr, "app", "s3cret", &verify).expect("CLI with TLS");
    assert!(line.starts_with("Cipher in use is "), "{line}");
    assert_eq!(
        cli(
            r.addr,
            "app",
            "s3cret",
            &verify,
            "SELECT id FROM t ORDER BY id"
        )
        .as_deref(),
        Ok("1\n2")
    );
    // Without TLS: still served, in the clear.
    assert_eq!(
        cli_ssl_line(r.addr, "app", "s3cret", &["--ssl=0"]).as_deref(),
        Ok("Not in use")
    );
    // The admin port offers the same TLS (verified: the CLI would refuse otherwise).
    let v = cli(r.admin, "root", "adm", &verify, "SHOW @@version").expect("admin port with TLS");
    assert!(v.contains("tandem"), "{v}");

    // MariaDB Connector/J with server-side prepared statements, verifying against the CA.
    let url = format!(
        "jdbc:mariadb://{}:{}/shop?useServerPrepStmts=true&useSsl=true&serverSslCert={ca}",
        r.addr.ip(),
        r.addr.port()
    );
    let (ok, out) = run_connector_j_url(&url, "app", "s3cret", "j_tls");
    assert!(ok, "Connector/J over TLS:\n{out}\n{}", r.logs());

    // MariaDB Connector/Node.js, verifying against the CA (and 127.0.0.1 in the SAN).
    let (ok, out) = run_node_mariadb(r.addr, "app", "s3cret", "shop", &format!("ca={ca}"));
    assert!(ok, "Connector/Node.js over TLS:\n{out}\n{}", r.logs());
    assert!(out.contains("authorized=true"), "{out}");

    // sysbench over TLS, with server-side prepared statements; bounded by events.
    // sysbench 1.0's --mysql-ssl=on loads cacert.pem, client-cert.pem and client-key.pem
    // from its working directory (the router asks for no client certificate).
    let sbdir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(&p.ca, sbdir.path().join("cacert.pem")).expect("copy");
    std::fs::copy(&p.cert, sbdir.path().join("client-cert.pem")).expect("copy");
    std::fs::copy(&p.key, sbdir.path().join("client-key.pem")).expect("copy");
    let sb = |cmd: &str| {
        sysbench_sb(
            Some(sbdir.path()),
            r.addr,
            &[
                "oltp_point_select",
                "--mysql-ssl=on",
                "--tables=1",
                "--table-size=1000",
                "--threads=4",
                "--events=4000",
                "--time=60",
                "--db-ps-mode=auto",
                cmd,
            ],
        )
    };
    sb("prepare");
    let before = metric(&r, "tandem_router_tls_sessions_total ");
    let run = sb("run");
    assert!(
        run.contains("ignored errors:                      0"),
        "{run}"
    );
    assert!(
        metric(&r, "tandem_router_tls_sessions_total ") >= before + 4,
        "sysbench's four connections used TLS"
    );

    // What the router serves is the configured certificate, and /status says so.
    let st = status(&r);
    assert_eq!(st["tls"]["source"], "file");
    assert_eq!(st["tls"]["subject"], "CN=one router");
    assert_eq!(
        served_fingerprint(r.addr),
        st["tls"]["sha256"].as_str().unwrap_or("")
    );
    assert!(metric(&r, "tandem_router_tls_sessions_total ") >= 4);
    let (code, out, _) = tandem(&["status", "-c", r.config.to_str().expect("utf8")]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!(
            "tls    {}: CN=one router until ",
            p.cert.display()
        )),
        "{out}"
    );
}

/// Without a configured certificate the router makes a self-signed one, and a MariaDB
/// 11.4+ client that verifies certificates accepts it because the login's OK packet proves
/// the router knows the password's hash (Connector/Node.js implements the same check as
/// Connector/C 3.4). Wrong passwords and empty ones get no proof.
#[test]
fn a_self_signed_certificate_passes_the_zero_configuration_check() {
    let db = server();
    let r = RouterDaemon::start(&body(&db, ""), true);
    let st = status(&r);
    assert_eq!(st["tls"]["source"], "self-signed", "{st}");
    assert!(
        r.logs()
            .contains("router: TLS offers a self-signed certificate")
    );

    let (ok, out) = run_node_mariadb(r.addr, "app", "s3cret", "shop", "zero-config");
    assert!(ok, "zero-configuration TLS:\n{out}\n{}", r.logs());
    assert!(
        out.contains("authorized=false"),
        "the CA check alone fails: {out}"
    );
    // A client with the wrong password gets no proof, so it refuses the certificate.
    let (ok, out) = run_node_mariadb(r.addr, "app", "wrong", "shop", "zero-config");
    assert!(!ok, "{out}");
    // Nor does an account without a password (nothing to prove with).
    let (ok, out) = run_node_mariadb(r.addr, "nopw", "", "shop", "zero-config");
    assert!(!ok, "{out}");
    // The mariadb 10.11 CLI predates the check: verification fails, encryption works.
    let e = cli(
        r.addr,
        "app",
        "s3cret",
        &["--ssl", "--ssl-verify-server-cert"],
        "SELECT 1",
    )
    .expect_err("10.11 cannot verify a self-signed certificate");
    assert!(e.contains("self-signed certificate"), "{e}");
    let line = cli_ssl_line(r.addr, "app", "s3cret", &["--ssl"]).expect("CLI with TLS");
    assert!(line.starts_with("Cipher in use is "), "{line}");
}

/// `require_secure_transport` refuses every login without TLS with MySQL's error 3159;
/// a user with `require_tls` is refused like a wrong password (as MySQL's `REQUIRE SSL`),
/// on the SQL port and the admin port alike; `tls: off` offers no TLS.
#[test]
fn plain_logins_are_refused_where_tls_is_required() {
    let db = server();
    let r = RouterDaemon::start(&body(&db, ""), true);
    let e = cli(r.addr, "secure", "sec-pw", &["--ssl=0"], "SELECT 1").expect_err("plain");
    assert!(
        e.contains(
            "ERROR 1045 (28000): Access denied for user 'secure'@'127.0.0.1' (using password: YES)"
        ),
        "{e}"
    );
    assert_eq!(
        cli(
            r.addr,
            "secure",
            "sec-pw",
            &["--ssl"],
            "SELECT CURRENT_USER()"
        )
        .map(|s| s.contains("secure")),
        Ok(true)
    );
    assert_eq!(
        metric(
            &r,
            "tandem_router_login_failures_total{reason=\"tls_required\"} "
        ),
        1
    );
    assert!(
        r.logs()
            .contains("the user has require_tls and the client did not start TLS")
    );
    // Other users may still log in without TLS.
    assert!(cli(r.addr, "app", "s3cret", &["--ssl=0"], "SELECT 1").is_ok());

    // Every login must use TLS now.
    reload(
        &r,
        &body(&db, "{ require_secure_transport: true }"),
        "applied",
    );
    let e = cli(r.addr, "app", "s3cret", &["--ssl=0"], "SELECT 1").expect_err("plain");
    assert!(
        e.contains("ERROR 3159 (HY000): Connections using insecure transport are prohibited while --require_secure_transport=ON."),
        "{e}"
    );
    let e = cli(r.admin, "root", "adm", &["--ssl=0"], "SHOW @@version").expect_err("admin");
    assert!(e.contains("ERROR 3159"), "{e}");
    assert!(cli(r.addr, "app", "s3cret", &["--ssl"], "SELECT 1").is_ok());
    assert_eq!(
        metric(
            &r,
            "tandem_router_login_failures_total{reason=\"insecure_transport\"} "
        ),
        2
    );
    assert_eq!(status(&r)["tls"]["require_secure_transport"], true);

    // tls: off: no TLS capability in the greeting; a client that insists is refused.
    reload(&r, &body(&db, "off"), "applied");
    assert_eq!(status(&r)["tls"], "off");
    assert_eq!(
        cli_ssl_line(r.addr, "app", "s3cret", &[]).as_deref(),
        Ok("Not in use")
    );
    let (ok, out) = run_node_mariadb(r.addr, "app", "s3cret", "shop", "zero-config");
    assert!(!ok, "{out}");
    assert!(r.logs().contains("router: TLS is off"));
}

/// Certificate problems are config errors with the file named; a reload re-reads the
/// files (certificate rotation: same config, new files, SIGHUP), and a reload with a
/// broken file is refused while the old certificate stays in service.
#[test]
fn certificate_files_are_checked_and_reloaded() {
    let db = server();
    let certs = tempfile::tempdir().expect("tempdir");
    let one = pki(certs.path(), "one");
    let two = pki(certs.path(), "two");
    // The files the config names; rotation copies new ones over them.
    let cert = certs.path().join("router.pem");
    let key = certs.path().join("router.key");
    std::fs::copy(&one.cert, &cert).expect("copy");
    std::fs::copy(&one.key, &key).expect("copy");
    let tls = format!("{{ cert: {}, key: {} }}", cert.display(), key.display());

    // `tandem check`: a missing file, a key of another certificate, a lone cert.
    let check = |tls: &str| {
        let dir = tempfile::tempdir().expect("tempdir");
        let (text, _) = common::router::router_config_text(dir.path(), &body(&db, tls), false);
        let f = write(dir.path(), "tandem.yaml", &text);
        let (code, out, err) = tandem(&["check", "-c", f.to_str().expect("utf8")]);
        (code, format!("{out}{err}"))
    };
    let (code, out) = check(&format!(
        "{{ cert: {}/missing.pem, key: {} }}",
        certs.path().display(),
        key.display()
    ));
    assert_ne!(code, 0);
    assert!(
        out.contains("router.tls.cert")
            && out.contains("cannot read")
            && out.contains("missing.pem"),
        "{out}"
    );
    assert!(out.contains("tandem.yaml:"), "file:line:col: {out}");
    let (code, out) = check(&format!(
        "{{ cert: {}, key: {} }}",
        one.cert.display(),
        two.key.display()
    ));
    assert_ne!(code, 0);
    assert!(out.contains("do not make a usable certificate"), "{out}");
    let (code, out) = check(&format!("{{ cert: {} }}", one.cert.display()));
    assert_ne!(code, 0);
    assert!(out.contains("`key` is missing"), "{out}");

    let r = RouterDaemon::start(&body(&db, &tls), true);
    let first = served_fingerprint(r.addr);
    assert_eq!(status(&r)["tls"]["subject"], "CN=one router");

    // Rotation: new files under the same names, the config unchanged.
    std::fs::copy(&two.cert, &cert).expect("copy");
    std::fs::copy(&two.key, &key).expect("copy");
    let text = std::fs::read_to_string(&r.config).expect("config");
    write(r.dir.path(), "tandem.yaml", &text);
    r.daemon.signal(Signal::SIGHUP);
    assert!(
        wait_for(Duration::from_secs(20), || {
            (status(&r)["tls"]["subject"] == "CN=two router").then_some(())
        })
        .is_some(),
        "{}",
        r.logs()
    );
    let second = served_fingerprint(r.addr);
    assert_ne!(first, second);
    assert!(r.logs().contains("router: TLS now offers certificate"));
    let ca2 = two.ca.to_str().expect("utf8");
    let verify = [
        "--ssl",
        &format!("--ssl-ca={ca2}"),
        "--ssl-verify-server-cert",
    ];
    assert!(cli(r.addr, "app", "s3cret", &verify, "SELECT 1").is_ok());

    // A broken key: the reload is refused, the running certificate stays.
    std::fs::write(&key, "not a key\n").expect("write");
    let v = reload(&r, &body(&db, &tls), "refused");
    let errs = v["config"]["last_reload"]["errors"].to_string();
    assert!(errs.contains("router.tls.cert"), "{errs}");
    assert_eq!(served_fingerprint(r.addr), second);
    assert!(cli(r.addr, "app", "s3cret", &verify, "SELECT 1").is_ok());
}

/// A server certificate for `sans` signed by the CA of `p`, written over `cert` and `key`.
fn reissue(p: &Pki, sans: &[&str], cert: &Path, key: &Path) {
    let params =
        rcgen::CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .expect("params");
    let k = rcgen::KeyPair::generate().expect("key");
    let c = params.signed_by(&k, &p.issuer).expect("cert");
    std::fs::write(cert, c.pem()).expect("write cert");
    std::fs::write(key, k.serialize_pem()).expect("write key");
}

/// The router's own connections to a server: `data_hosts[].tls` from `off` to
/// `verify_identity`, against a MariaDB with `require_secure_transport` (which refuses
/// the router's plain login) and one without TLS at all; the server's `Ssl_cipher` of the
/// router's session shows the connection is encrypted.
#[test]
fn the_router_uses_tls_to_the_servers_when_configured() {
    let certs = tempfile::tempdir().expect("tempdir");
    let ca = pki_for(certs.path(), "db", &["127.0.0.1"]);
    let other = pki(certs.path(), "other");
    let (cert, key) = (
        certs.path().join("server.pem"),
        certs.path().join("server.key"),
    );
    std::fs::copy(&ca.cert, &cert).expect("copy");
    std::fs::copy(&ca.key, &key).expect("copy");
    let secure = MariaDb::start_with(&[
        &format!("--ssl-cert={}", cert.display()),
        &format!("--ssl-key={}", key.display()),
        "--require-secure-transport=ON",
    ]);
    secure.sql("CREATE DATABASE shopdb");
    let plain = MariaDb::start();
    plain.sql("CREATE DATABASE shopdb");
    let body = |tls: &str| {
        format!(
            "  users:\n    - {{ name: app, password: s3cret, schemas: [shop, plain] }}\n  schemas:\n    - {{ name: shop, data_node: dn1 }}\n    - {{ name: plain, data_node: dn2 }}\n  data_nodes:\n    - {{ name: dn1, data_host: dh1, database: shopdb }}\n    - {{ name: dn2, data_host: dh2, database: shopdb }}\n  data_hosts:\n    - name: dh1\n      min_con: 0\n      tls: {tls}\n      write_hosts:\n        - {}\n    - name: dh2\n      min_con: 0\n      tls: {tls}\n      write_hosts:\n        - {}\n",
            db_host_yaml("s1", &secure),
            db_host_yaml("p1", &plain),
        )
    };
    let cipher = "SELECT variable_value FROM information_schema.session_status WHERE variable_name = 'Ssl_cipher'";
    let query = |r: &RouterDaemon, db: &str| {
        let mut cmd = Command::new("mariadb");
        cmd.args([
            "--no-defaults",
            "--protocol=TCP",
            "--batch",
            "--skip-column-names",
        ])
        .arg(format!("--host={}", r.addr.ip()))
        .arg(format!("--port={}", r.addr.port()))
        .args(["--user=app", "--password=s3cret", "--ssl=0"])
        .arg(format!("--database={db}"))
        .args(["-e", cipher]);
        let out = cmd.stdin(Stdio::null()).output().expect("mariadb");
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    };

    // Off (the default): the secure server refuses the plain login; the other serves it.
    let r = RouterDaemon::start(&body("off"), true);
    // (MariaDB 10.11 refuses it as access denied.) The message reaches the CLI: the
    // router's error code is a server one (1158), not 2013, which libmariadb would
    // replace with "Received malformed packet".
    let e = query(&r, "shop").expect_err("plain login to a secure server");
    assert!(
        e.contains("ERROR 1158 (08S01)")
            && e.contains("backend s1: ")
            && e.contains("login refused: 1045"),
        "{e}"
    );
    assert_eq!(query(&r, "plain").as_deref(), Ok(""));

    // required: encrypted, whatever the certificate; a server without TLS fails.
    reload(&r, &body("required"), "applied");
    let c = query(&r, "shop").expect("TLS to the secure server");
    assert!(c.starts_with("TLS_") || c.contains("AES"), "cipher {c:?}");
    let e = query(&r, "plain").expect_err("required, but no TLS");
    assert!(e.contains("the server does not offer TLS"), "{e}");
    // preferred: TLS where offered, plain elsewhere.
    reload(&r, &body("preferred"), "applied");
    assert!(!query(&r, "shop").expect("preferred, secure").is_empty());
    assert_eq!(query(&r, "plain").as_deref(), Ok(""));

    // verify_identity: the CA and the address in the certificate.
    let mode = |m: &str, ca: &Pki| format!("{{ mode: {m}, ca: {} }}", ca.ca.display());
    // The mode on dh1 (the secure server) only; dh2 stays off.
    let secure_only = |tls: &str| {
        body(tls)
            .replacen(&format!("tls: {tls}"), "tls: off", 2)
            .replacen("tls: off", &format!("tls: {tls}"), 1)
    };
    reload(&r, &secure_only(&mode("verify_identity", &ca)), "applied");
    assert!(!query(&r, "shop").expect("verified").is_empty());
    // Another CA: refused.
    reload(
        &r,
        &secure_only(&mode("verify_identity", &other)),
        "applied",
    );
    let e = query(&r, "shop").expect_err("unknown issuer");
    assert!(
        e.contains("TLS handshake") && e.contains("UnknownIssuer"),
        "{e}"
    );

    // A certificate for another name: verify_identity refuses it, verify_ca accepts it.
    reissue(&ca, &["db.example"], &cert, &key);
    secure.sql("FLUSH SSL");
    reload(&r, &secure_only(&mode("verify_identity", &ca)), "applied");
    let e = query(&r, "shop").expect_err("name mismatch");
    assert!(
        e.contains("certificate not valid for name \"127.0.0.1\""),
        "{e}"
    );
    reload(&r, &secure_only(&mode("verify_ca", &ca)), "applied");
    assert!(!query(&r, "shop").expect("chain only").is_empty());

    // Config checks: a verify mode without `ca`, a `ca` that does not load.
    let check = |tls: &str| {
        let dir = tempfile::tempdir().expect("tempdir");
        let (text, _) = common::router::router_config_text(dir.path(), &secure_only(tls), false);
        let f = write(dir.path(), "tandem.yaml", &text);
        let (code, out, err) = tandem(&["check", "-c", f.to_str().expect("utf8")]);
        (code, format!("{out}{err}"))
    };
    let (code, out) = check("verify_ca");
    assert_ne!(code, 0);
    assert!(out.contains("mode verify_ca needs `ca`"), "{out}");
    let (code, out) = check(&format!("{{ mode: verify_ca, ca: {} }}", key.display()));
    assert_ne!(code, 0);
    assert!(
        out.contains("router.data_hosts[0].tls.ca") && out.contains("no PEM certificate"),
        "{out}"
    );
}
