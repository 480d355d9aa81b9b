#!/usr/bin/env bash
# Installs tandem on a real box (see the README, "Deploying on two real boxes"):
#
#   sudo deploy/install.sh --config config/two-box/box-a.yaml      # on box A
#   sudo deploy/install.sh --config config/two-box/box-b.yaml      # on box B
#
# What it does, one line printed per step; running it again changes nothing:
#   /usr/local/bin/tandem           the release binary (built here unless --binary/--no-build)
#   tandem user and group           system account, no home, no shell (the unit's User=)
#   /etc/tandem/tandem.yaml         from --config, validated with `tandem check`; an existing
#                                   file is never overwritten, only its mode and owner set
#                                   (root:tandem 0640, dir 0750)
#   /var/lib/tandem                 the router's dnindex.properties and sequence files
#   /etc/systemd/system/tandem.service   systemd/tandem.service as is
#   /etc/sysctl.d/60-tandem.conf    what tandem needs from the kernel (nothing; see the file)
#   firewall                        accepts VRRP (IP protocol 112) from the peer when
#                                   nftables or iptables filters input; untouched otherwise
#   systemctl daemon-reload; systemctl enable --now tandem
#
# Options:
#   --root DIR        install below DIR (an image, a container's tree, the tests): no
#                     systemctl, no sysctl, no firewall change, no useradd on this machine
#                     (the user is written into DIR/etc/passwd when that file exists)
#   --dry-run         print what would be done; change nothing
#   --config FILE     the box's tandem YAML (required unless /etc/tandem/tandem.yaml exists)
#   --binary FILE     install this binary instead of building one
#   --no-build        install target/release/tandem (under CARGO_TARGET_DIR if set) as it is
#   --no-start        do not enable/start the service
#   --firewall MODE   auto (default), nftables, iptables or none
set -euo pipefail
HERE="$PWD" ARGS=("$@")
SELF="$(realpath "$0")"
cd "$(dirname "$SELF")/.."
. deploy/common.sh

usage() { sed -n '2,/^set -euo/p' "$SELF" | sed -e '$d' -e 's/^# \{0,1\}//'; }
# abs PATH: PATH relative to the directory the script was started from.
abs() { case "$1" in /*) echo "$1" ;; *) echo "$HERE/$1" ;; esac; }

ROOT="" DRY=0 CONFIG="" BINARY="" BUILD=1 START=1 FIREWALL=auto
while [ $# -gt 0 ]; do
    case "$1" in
        --root) ROOT="$(abs "${2:?--root needs a directory}")"; shift 2 ;;
        --dry-run) DRY=1; shift ;;
        --config) CONFIG="$(abs "${2:?--config needs a file}")"; shift 2 ;;
        --binary) BINARY="$(abs "${2:?--binary needs a file}")"; BUILD=0; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        --no-start) START=0; shift ;;
        --firewall) FIREWALL="${2:?--firewall needs auto, nftables, iptables or none}"; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) echo "install: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
case "$FIREWALL" in auto | nftables | iptables | none) ;; *)
    echo "install: --firewall must be auto, nftables, iptables or none" >&2; exit 2 ;;
esac
if [ -n "$ROOT" ]; then
    if [ ! -d "$ROOT" ]; then echo "install: --root $ROOT is not a directory" >&2; exit 2; fi
    ROOT="$(cd "$ROOT" && pwd)"
    if [ "$ROOT" = / ]; then ROOT=""; fi
fi
REAL=0 # 1: this machine itself (systemctl, sysctl, firewall, useradd)
HOST=0 # 1: no --root: this machine is looked at (read only with --dry-run)
if [ -z "$ROOT" ]; then HOST=1; fi
if [ "$HOST" = 1 ] && [ "$DRY" = 0 ]; then REAL=1; need_root "${ARGS[@]}"; fi

CHANGES=0
say() { echo "install: $*"; }
# did MSG: a change was made (or would be, with --dry-run).
did() {
    CHANGES=$((CHANGES + 1))
    if [ "$DRY" = 1 ]; then say "would $*"; else say "$*"; fi
}
same() { say "$* (unchanged)"; }
# run CMD...: runs it, or only shows it with --dry-run.
run() { if [ "$DRY" = 0 ]; then "$@"; fi; }
am_root() { [ "$(id -u)" -eq 0 ]; }

# --- binary ------------------------------------------------------------------------------

if [ -n "$BINARY" ]; then
    SRC_BIN="$(realpath "$BINARY")"
elif [ "$BUILD" = 1 ]; then
    if [ "$DRY" = 1 ]; then
        say "would build the release binary (cargo build --release --locked)"
        SRC_BIN="$(target_dir)/release/tandem"
    else
        ensure_rust
        say "building the release binary (cargo build --release --locked)"
        SRC_BIN="$(build_tandem release)"
    fi
else
    SRC_BIN="$(target_dir)/release/tandem"
fi
if [ ! -x "$SRC_BIN" ] && ! { [ "$DRY" = 1 ] && [ "$BUILD" = 1 ] && [ -z "$BINARY" ]; }; then
    echo "install: $SRC_BIN is not an executable (build it, or pass --binary FILE)" >&2
    exit 1
fi

# --- validate the config before anything is changed --------------------------------------

CONF_DIR="$ROOT/etc/tandem"
CONF="$CONF_DIR/tandem.yaml"
if [ -n "$CONFIG" ]; then
    if [ ! -r "$CONFIG" ]; then echo "install: cannot read --config $CONFIG" >&2; exit 1; fi
    if [ -x "$SRC_BIN" ]; then
        if ! out="$("$SRC_BIN" check -c "$CONFIG" 2>&1)"; then
            echo "$out" >&2
            echo "install: $CONFIG has errors (above); nothing was installed" >&2
            exit 1
        fi
        say "config $CONFIG: valid"
        echo "$out" | grep ': warning: ' | sed 's/^/install:   /' || true
    fi
elif [ ! -e "$CONF" ]; then
    echo "install: no $CONF yet: pass --config FILE (e.g. config/two-box/box-a.yaml)" >&2
    exit 1
fi

# --- tandem user and group ---------------------------------------------------------------

# first_free_id: the highest id in 100..999 free in both DIR/etc/passwd and DIR/etc/group.
first_free_id() {
    local id
    for id in $(seq 999 -1 100); do
        if ! awk -F: -v id="$id" '$3 == id { f = 1 } END { exit !f }' \
            "$ROOT/etc/passwd" "$ROOT/etc/group"; then
            echo "$id"
            return
        fi
    done
    return 1
}

OWNER="" # uid:gid of tandem for chown, empty when there is no tandem user to own things
if [ "$HOST" = 1 ]; then
    if id -u tandem >/dev/null 2>&1; then
        same "user tandem"
        OWNER="tandem:tandem"
    else
        did "create the system user tandem (useradd --system --no-create-home --shell /usr/sbin/nologin)"
        OWNER="tandem:tandem"
        if [ "$DRY" = 0 ]; then
            getent group tandem >/dev/null || groupadd --system tandem
            useradd --system --no-create-home --home-dir /nonexistent --gid tandem \
                --shell /usr/sbin/nologin --comment "tandem daemon" tandem
        fi
    fi
elif [ -f "$ROOT/etc/passwd" ] && [ -f "$ROOT/etc/group" ]; then
    if grep -q '^tandem:' "$ROOT/etc/passwd"; then
        same "user tandem in $ROOT/etc/passwd"
    else
        uid="$(first_free_id)"
        did "add the system user tandem (uid/gid $uid) to $ROOT/etc/passwd, group, shadow, gshadow"
        if [ "$DRY" = 0 ]; then
            grep -q '^tandem:' "$ROOT/etc/group" || echo "tandem:x:$uid:" >>"$ROOT/etc/group"
            gid="$(grep '^tandem:' "$ROOT/etc/group" | cut -d: -f3)"
            echo "tandem:x:$uid:$gid:tandem daemon:/nonexistent:/usr/sbin/nologin" >>"$ROOT/etc/passwd"
            if [ -f "$ROOT/etc/shadow" ] && ! grep -q '^tandem:' "$ROOT/etc/shadow"; then
                echo "tandem:!:$(($(date +%s) / 86400))::::::" >>"$ROOT/etc/shadow"
            fi
            # As groupadd does (Debian has /etc/gshadow; grpck complains without the line).
            if [ -f "$ROOT/etc/gshadow" ] && ! grep -q '^tandem:' "$ROOT/etc/gshadow"; then
                echo "tandem:!::" >>"$ROOT/etc/gshadow"
            fi
        fi
    fi
    if grep -q '^tandem:' "$ROOT/etc/passwd"; then
        OWNER="$(grep '^tandem:' "$ROOT/etc/passwd" | cut -d: -f3,4)"
    fi
else
    say "user tandem: skipped ($ROOT/etc/passwd does not exist; create the user in the target system)"
fi
if [ -n "$OWNER" ] && [ -n "$ROOT" ] && ! am_root; then
    say "ownership: not root, files below $ROOT keep their owner"
    OWNER=""
fi
GROUP_OWNER="${OWNER:+root:${OWNER#*:}}"

# --- files -------------------------------------------------------------------------------

# dir PATH MODE OWNER: makes the directory with that mode and owner (OWNER may be empty).
dir() {
    local p="$1" mode="$2" owner="$3" what=""
    if [ ! -d "$p" ]; then
        did "create $p ($mode${owner:+ $owner})"
        run mkdir -p "$p"
        run chmod "$mode" "$p"
        if [ -n "$owner" ]; then run chown "$owner" "$p"; fi
        return
    fi
    [ "$(stat -c %a "$p")" = "${mode#0}" ] || what="mode $mode"
    if [ -n "$owner" ] && [ "$(stat -c %u:%g "$p")" != "$(owner_ids "$owner")" ]; then
        what="${what:+$what, }owner $owner"
    fi
    if [ -n "$what" ]; then
        did "set $what on $p"
        run chmod "$mode" "$p"
        if [ -n "$owner" ]; then run chown "$owner" "$p"; fi
    else
        same "$p"
    fi
}

# owner_ids USER:GROUP -> uid:gid (already numeric with --root).
owner_ids() {
    local u="${1%:*}" g="${1#*:}"
    case "$u" in *[!0-9]*) u="$(id -u "$u" 2>/dev/null || echo "$u")" ;; esac
    case "$g" in *[!0-9]*) g="$(getent group "$g" | cut -d: -f3)" ;; esac
    echo "$u:$g"
}

# perms DEST MODE OWNER: sets the mode and owner of the existing file DEST (OWNER may be
# empty). Returns 0 when something changed.
perms() {
    local dest="$1" mode="$2" owner="$3"
    if [ "$(stat -c %a "$dest")" != "${mode#0}" ] \
        || { [ -n "$owner" ] && [ "$(stat -c %u:%g "$dest")" != "$(owner_ids "$owner")" ]; }; then
        did "set mode $mode${owner:+, owner $owner} on $dest"
        run chmod "$mode" "$dest"
        if [ -n "$owner" ]; then run chown "$owner" "$dest"; fi
        return 0
    fi
    same "$dest"
    return 1
}

# file SRC DEST MODE OWNER: copies SRC to DEST when the content differs; sets mode/owner.
# Returns 0 when something changed.
file() {
    local src="$1" dest="$2" mode="$3" owner="$4"
    if [ -f "$dest" ] && cmp -s "$src" "$dest"; then
        perms "$dest" "$mode" "$owner"
        return
    fi
    if [ -e "$dest" ]; then did "update $dest"; else did "install $dest"; fi
    if [ "$DRY" = 0 ]; then
        mkdir -p "$(dirname "$dest")"
        # A new file next to the old one, renamed over it: a running binary is not disturbed.
        cp "$src" "$dest.tandem-new"
        chmod "$mode" "$dest.tandem-new"
        if [ -n "$owner" ]; then chown "$owner" "$dest.tandem-new"; fi
        mv -f "$dest.tandem-new" "$dest"
    fi
    return 0
}

BIN_CHANGED=0
if [ -x "$SRC_BIN" ]; then
    if file "$SRC_BIN" "$ROOT/usr/local/bin/tandem" 0755 ""; then BIN_CHANGED=1; fi
else
    did "install $ROOT/usr/local/bin/tandem"
    BIN_CHANGED=1
fi
# The unit's Documentation= points here.
file README.md "$ROOT/usr/local/share/doc/tandem/README.md" 0644 "" || true

dir "$CONF_DIR" 0750 "$GROUP_OWNER"
if [ -e "$CONF" ]; then
    if [ -n "$CONFIG" ] && ! cmp -s "$CONFIG" "$CONF"; then
        say "$CONF exists and differs from $CONFIG: kept (never overwritten; edit it, then systemctl reload tandem)"
    fi
    # Its content is the operator's, its mode is not: it holds passwords (not for everyone)
    # and the daemon and `tandem check` in ExecReload=, running as tandem, must read it.
    if [ -L "$CONF" ]; then
        same "$CONF (a symbolic link: mode and owner left to its target)"
    else
        perms "$CONF" 0640 "$GROUP_OWNER" || true
    fi
else
    file "$CONFIG" "$CONF" 0640 "$GROUP_OWNER" || true
fi

# Also created by systemd (StateDirectory=tandem) at start; made here so that files
# (dnindex.properties, sequence_conf.properties) can be put in place before the first start.
dir "$ROOT/var/lib/tandem" 0750 "$OWNER"

UNIT_CHANGED=0
if file systemd/tandem.service "$ROOT/etc/systemd/system/tandem.service" 0644 ""; then
    UNIT_CHANGED=1
fi

# --- sysctls -----------------------------------------------------------------------------

SYSCTL_SRC="$(mktemp)"
trap 'rm -f "$SYSCTL_SRC"' EXIT
cat >"$SYSCTL_SRC" <<'EOF'
# tandem (installed by deploy/install.sh). tandem needs no kernel setting changed:
#
# - net.ipv4.ip_nonlocal_bind / net.ipv6.ip_nonlocal_bind: NOT needed. The balancer and
#   the router bind with IP_FREEBIND, so the backup box listens on the VIP before it holds
#   it. Set it to 1 only if another program (not tandem) must bind the VIP on the backup:
#     net.ipv4.ip_nonlocal_bind = 1
# - net.ipv4.conf.*.arp_ignore / arp_announce: NOT needed. Only one box holds the VIP at a
#   time (it is added and removed by tandem, and announced with gratuitous ARP); these are
#   for LVS direct routing, where every real server carries the VIP on lo.
# - net.ipv4.ip_forward: NOT needed. The balancer is a TCP proxy, not a router.
# - rp_filter: the Debian default (2, loose) is fine; VRRP adverts come from the peer's own
#   address on the same segment.
# - net.core.somaxconn: the balancer listens with the backlog configured per listener
#   (default SOMAXCONN); the kernel caps it at somaxconn (4096 since Linux 5.4). Raise it
#   only when a listener's `backlog` is set higher:
#     net.core.somaxconn = 8192
# - File descriptors: LimitNOFILE=1048576 in the unit, not a sysctl.
EOF
if file "$SYSCTL_SRC" "$ROOT/etc/sysctl.d/60-tandem.conf" 0644 ""; then
    if [ "$REAL" = 1 ]; then
        say "applying sysctls (sysctl --system)"
        sysctl --system >/dev/null
    fi
fi

# --- firewall ----------------------------------------------------------------------------

# The VRRP peers of the config: unicast_peers addresses, else the multicast group.
conf_for_peers="${CONFIG:-$CONF}"
PEERS=()
if [ -r "$conf_for_peers" ]; then
    mapfile -t PEERS < <(awk '
        # The block of every `unicast_peers:` key: flow ([a, {address: b}]) or block style.
        /^[ -]*unicast_peers:/ { inpeers = 1; ind = match($0, /[^ -]/); first = 1 }
        inpeers {
            line = $0
            if (!first && line ~ /[^ ]/ && match(line, /[^ -]/) <= ind) { inpeers = 0; next }
            first = 0
            sub(/#.*/, "", line); sub(/unicast_peers:/, "", line)
            gsub(/priority: *[0-9]+/, "", line); gsub(/address:/, "", line)
            while (match(line, /[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+|[0-9A-Fa-f]*:[0-9A-Fa-f]*:[0-9A-Fa-f:.]*/)) {
                print substr(line, RSTART, RLENGTH)
                line = substr(line, RSTART + RLENGTH)
            }
        }' "$conf_for_peers" | sort -u)
fi
VERSION6=0
if [ -r "$conf_for_peers" ] && grep -Eq 'virtual_ipaddresses:.*[0-9a-fA-F]*::' "$conf_for_peers"; then
    VERSION6=1
fi

# Rule texts (one per peer, or the multicast group when there are no unicast peers).
NFT_RULES=() IPT_RULES=()
if [ ${#PEERS[@]} -gt 0 ]; then
    for p in "${PEERS[@]}"; do
        case "$p" in
            *:*) NFT_RULES+=("ip6 saddr $p meta l4proto vrrp accept comment \"tandem: VRRP from the peer\"")
                IPT_RULES+=("ip6tables INPUT -s $p -p vrrp -m comment --comment tandem-vrrp -j ACCEPT") ;;
            *) NFT_RULES+=("ip saddr $p ip protocol vrrp accept comment \"tandem: VRRP from the peer\"")
                IPT_RULES+=("iptables INPUT -s $p -p vrrp -m comment --comment tandem-vrrp -j ACCEPT") ;;
        esac
    done
else
    NFT_RULES+=("ip daddr 224.0.0.18 ip protocol vrrp accept comment \"tandem: VRRP multicast\"")
    IPT_RULES+=("iptables INPUT -d 224.0.0.18 -p vrrp -m comment --comment tandem-vrrp -j ACCEPT")
    if [ "$VERSION6" = 1 ]; then
        NFT_RULES+=("ip6 daddr ff02::12 meta l4proto vrrp accept comment \"tandem: VRRP multicast\"")
        IPT_RULES+=("ip6tables INPUT -d ff02::12 -p vrrp -m comment --comment tandem-vrrp -j ACCEPT")
    fi
fi

# The first nftables base chain on the input hook: "family table chain", or nothing.
nft_input_chain() {
    nft list chains 2>/dev/null | awk '
        $1 == "table" { fam = $2; tab = $3 }
        $1 == "chain" { ch = $2 }
        /hook input/ && !found { print fam, tab, ch; found = 1 }'
}
# iptables filters input when INPUT has rules or a policy other than ACCEPT.
ipt_active() {
    command -v iptables >/dev/null 2>&1 || return 1
    local s
    s="$(iptables -S INPUT 2>/dev/null)" || return 1
    [ -n "$(echo "$s" | grep -v '^-P INPUT ACCEPT$')" ]
}

fw="$FIREWALL"
if [ "$fw" = auto ]; then
    if [ "$HOST" = 0 ]; then
        fw=none
        say "firewall: not looked at with --root (pass --firewall nftables|iptables to see the rules)"
    elif ipt_active; then
        fw=iptables
    elif command -v nft >/dev/null 2>&1 && [ -n "$(nft_input_chain)" ]; then
        fw=nftables
    else
        fw=none
        say "firewall: neither nftables nor iptables filters input: nothing to add"
    fi
fi
case "$fw" in
    nftables)
        chain="$( [ "$HOST" = 1 ] && nft_input_chain || true)"
        chain="${chain:-inet filter input}"
        for r in "${NFT_RULES[@]}"; do
            # shellcheck disable=SC2086 # $chain is "family table chain"
            if [ "$HOST" = 1 ] && nft list chain $chain 2>/dev/null | grep -qF "${r%% accept*}"; then
                same "firewall: nft rule in $chain: $r"
                continue
            fi
            if [ "$HOST" = 1 ]; then
                did "run: nft insert rule $chain $r"
                run nft "insert rule $chain $r"
            else
                say "firewall: would run: nft insert rule $chain $r"
            fi
        done
        if [ "$REAL" = 1 ]; then
            say "firewall: nft rules are not persistent: add the lines above to /etc/nftables.conf"
        fi
        ;;
    iptables)
        for r in "${IPT_RULES[@]}"; do
            cmd="${r%% *}" spec="${r#* }"
            # shellcheck disable=SC2086 # $spec is a rule specification
            if [ "$HOST" = 1 ] && $cmd -C $spec 2>/dev/null; then
                same "firewall: $cmd -I $spec"
                continue
            fi
            if [ "$HOST" = 1 ]; then
                did "run: $cmd -I $spec"
                # shellcheck disable=SC2086
                run $cmd -I $spec
            else
                say "firewall: would run: $cmd -I $spec"
            fi
        done
        if [ "$REAL" = 1 ]; then
            if command -v netfilter-persistent >/dev/null 2>&1; then
                run netfilter-persistent save >/dev/null 2>&1 || true
                say "firewall: saved with netfilter-persistent"
            else
                say "firewall: iptables rules are not persistent: save them (apt install iptables-persistent)"
            fi
        fi
        ;;
    none) ;;
esac
if [ "$fw" != none ]; then
    say "firewall: also allow TCP to the balancer (the VIP's ports) and between the boxes to the router (8067) if input is dropped by default"
fi

# --- systemd -----------------------------------------------------------------------------

if [ "$START" = 0 ]; then
    say "service: not enabled or started (--no-start)"
elif [ -n "$ROOT" ]; then
    link="$ROOT/etc/systemd/system/multi-user.target.wants/tandem.service"
    if [ -L "$link" ]; then
        same "service enabled in $ROOT"
    else
        did "enable tandem in $ROOT ($link)"
        run mkdir -p "$(dirname "$link")"
        run ln -s /etc/systemd/system/tandem.service "$link"
    fi
elif [ "$DRY" = 1 ]; then
    say "would run: systemctl daemon-reload; systemctl enable --now tandem"
else
    if [ "$UNIT_CHANGED" = 1 ]; then
        systemctl daemon-reload
        say "systemctl daemon-reload"
    fi
    if systemctl is-enabled --quiet tandem && systemctl is-active --quiet tandem; then
        same "service tandem enabled and running"
        if [ "$BIN_CHANGED" = 1 ] || [ "$UNIT_CHANGED" = 1 ]; then
            say "service: not restarted (a restart of the master moves the VIP): systemctl restart tandem when it suits you"
        fi
    else
        did "systemctl enable --now tandem"
        systemctl enable --now tandem
    fi
fi

if [ "$CHANGES" = 0 ]; then
    say "done: nothing changed (already installed)"
elif [ "$DRY" = 1 ]; then
    say "dry run: $CHANGES changes would be made, nothing was changed"
else
    say "done: $CHANGES changes"
fi
