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
# tests spawn in temporary directories, and the client that talks to them.
apt_install gcc libc6-dev systemd iproute2 git keepalived haproxy mariadb-server mariadb-client
ensure_rust

echo "==> cargo fmt --check"
cargo fmt --check
echo "==> cargo clippy"
cargo clippy --locked --all-targets -q -- -D warnings
echo "==> cargo test"
cargo test --locked
echo "==> all tests passed"
