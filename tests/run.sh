#!/usr/bin/env bash
# The whole test suite, on a fresh Debian machine, as root:
#   sudo tests/run.sh
# Installs the packages the tests use, builds, checks formatting and lints, and runs
# every test (unit, integration, property).
set -euo pipefail
cd "$(dirname "$0")/.."
. deploy/common.sh
need_root "$@"

# gcc: the linker for Rust; systemd: systemd-analyze verify of the unit file;
# iproute2: network namespaces for the VRRP tests; keepalived and haproxy: the peers
# tandem is compared with; mariadb-server and mariadb-client: real MySQL servers the
# tests spawn in temporary directories, and the client that talks to them;
# libmariadb-java and default-jdk-headless: MariaDB Connector/J and the java that runs
# tests/clients/ConnectorJSmoke.java; python3-pip: installs PyMySQL below; sysbench: load
# against the router; openssl: `s_client -starttls mysql` shows the certificate the
# router serves; galera-4 and rsync (mariadb-server's dependencies, named for clarity): the
# three-node Galera cluster of tests/router_galera.rs and its rsync state transfers.
apt_install gcc libc6-dev systemd iproute2 git keepalived haproxy mariadb-server mariadb-client \
    galera-4 rsync libmariadb-java default-jdk-headless python3-pip sysbench openssl
# Node.js and npm run MariaDB Connector/Node.js (tests/clients/node_tls_check.js), the
# client that checks a self-signed certificate the way MariaDB 11.4+ clients do. Debian's
# packages unless the machine already has a node and npm (NodeSource's nodejs package
# bundles npm and conflicts with Debian's).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    apt_install nodejs npm
fi
# PyMySQL from PyPI (not Debian's python3-pymysql), into a directory that
# tests/common/clients.rs puts on PYTHONPATH, so it does not matter which python3 the
# tests find first (--target also keeps pip away from Debian's system packages).
if [ ! -d target/test-deps/python/PyMySQL-1.1.1.dist-info ]; then
    python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
        --upgrade --target target/test-deps/python 'PyMySQL==1.1.1'
fi
# Connector/Node.js at the version tests/clients/package-lock.json pins, into
# target/test-deps/node (tests/common/clients.rs puts its node_modules on NODE_PATH).
if ! cmp -s tests/clients/package-lock.json target/test-deps/node/package-lock.json \
    || [ ! -d target/test-deps/node/node_modules/mariadb ]; then
    mkdir -p target/test-deps/node
    cp tests/clients/package.json tests/clients/package-lock.json target/test-deps/node/
    npm ci --prefix target/test-deps/node --no-audit --no-fund --loglevel=error
fi
ensure_rust

echo "==> cargo fmt --check"
cargo fmt --check
echo "==> cargo clippy"
cargo clippy --locked --all-targets -q -- -D warnings
echo "==> cargo test"
cargo test --locked
echo "==> all tests passed"
