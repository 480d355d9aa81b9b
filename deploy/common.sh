# Shared by tests/run.sh and deploy/lab.sh: install what tandem needs on a fresh Debian
# machine, as root, without prompts. Sourced, not run.

export DEBIAN_FRONTEND=noninteractive

need_root() {
    if [ "$(id -u)" -ne 0 ]; then
        echo "$0: run as root (it installs packages and creates network namespaces): sudo $0 $*" >&2
        exit 1
    fi
}

# apt_install PKG...: installs the packages that are missing (apt-get update only then).
apt_install() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "==> installing: ${missing[*]}"
        # The packages' own services (mariadb, keepalived, haproxy) are not started:
        # the tests and the lab run their own instances. policy-rc.d exit 101 is
        # Debian's way to say so; one that is already there is left alone.
        local policy=""
        if [ ! -e /usr/sbin/policy-rc.d ]; then
            policy=/usr/sbin/policy-rc.d
            printf '#!/bin/sh\nexit 101\n' > "$policy"
            chmod 755 "$policy"
        fi
        apt-get update -q
        local rc=0
        apt-get install -y -q --no-install-recommends "${missing[@]}" || rc=$?
        if [ -n "$policy" ]; then rm -f "$policy"; fi
        return "$rc"
    fi
}

# ensure_rust: cargo on PATH, from rustup when the machine has none (Debian's rustc is
# too old for edition 2024).
ensure_rust() {
    if [ -x "$HOME/.cargo/bin/cargo" ]; then
        export PATH="$HOME/.cargo/bin:$PATH"
    fi
    if ! command -v cargo >/dev/null 2>&1; then
        echo "==> installing Rust (rustup, stable, minimal profile)"
        apt_install curl ca-certificates
        curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs \
            | sh -s -- -y --profile minimal --component rustfmt,clippy
        export PATH="$HOME/.cargo/bin:$PATH"
    fi
}

# target_dir: where cargo puts what it builds in this checkout: ./target, unless
# CARGO_TARGET_DIR or a cargo config's build.target-dir moves it (asked of cargo itself;
# ./target when there is no cargo to ask). Cached in TARGET_DIR.
target_dir() {
    if [ -z "${TARGET_DIR:-}" ]; then
        local cargo d=""
        cargo=$(command -v cargo 2>/dev/null || true)
        if [ -z "$cargo" ] && [ -x "$HOME/.cargo/bin/cargo" ]; then cargo="$HOME/.cargo/bin/cargo"; fi
        if [ -n "$cargo" ]; then
            d=$("$cargo" metadata --no-deps --format-version 1 2>/dev/null \
                | grep -o '"target_directory":"[^"]*"' | head -n 1 | cut -d '"' -f 4) || d=""
        fi
        TARGET_DIR="${d:-$PWD/target}"
    fi
    echo "$TARGET_DIR"
}

# build_tandem [profile]: builds the binary; prints its path.
build_tandem() {
    local profile="${1:-release}"
    if [ "$profile" = release ]; then
        cargo build --release --locked -q >&2
        echo "$(target_dir)/release/tandem"
    else
        cargo build --locked -q >&2
        echo "$(target_dir)/debug/tandem"
    fi
}
