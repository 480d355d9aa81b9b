#!/usr/bin/env bash
# The two-box lab on one machine (the README's main job), in network namespaces:
#
#   sudo deploy/lab.sh up                  # build tandem, create the lab, start both boxes
#   sudo deploy/lab.sh status              # tandem status of both boxes, who holds the VIP
#   sudo deploy/lab.sh drill kill-master   # kill -9 the master, time the takeover, restart it
#   sudo deploy/lab.sh drill stop-master   # graceful stop of the master, then restart it
#   sudo deploy/lab.sh down                # remove everything the lab made, nothing else
#
# Layout (addresses from 198.18.0.0/15, only on the lab's own bridge):
#   tandem-lab-br      bridge br0
#   tandem-lab-a       box A, eth0 198.18.0.1, tandem with config/lab/box-a.yaml (priority 150)
#   tandem-lab-b       box B, eth0 198.18.0.2, tandem with config/lab/box-b.yaml (priority 100)
#   tandem-lab-client  eth0 198.18.0.10
#   VIP 198.18.0.100 floats between A and B.
#
# This build's lab runs VRRP only: the balancer, the router and the MariaDB tier join it
# when those subsystems land.
#
# Environment: TANDEM_BIN (use this binary, skip the build), LAB_PREFIX (namespace name
# prefix, default tandem-lab), LAB_RUN (state directory, default /run/<prefix>).
set -euo pipefail
cd "$(dirname "$0")/.."
. deploy/common.sh

P="${LAB_PREFIX:-tandem-lab}"
RUN="${LAB_RUN:-/run/$P}"
VIP=198.18.0.100
BOXES=(a b)
declare -A IP=([a]=198.18.0.1 [b]=198.18.0.2 [client]=198.18.0.10)

ns() { echo "$P-$1"; }
have_ns() { ip netns list | awk '{print $1}' | grep -qx "$(ns "$1")"; }
pid_of() { cat "$RUN/$1.pid" 2>/dev/null || true; }
running() { local p; p=$(pid_of "$1"); [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }

bin() {
    if [ -n "${TANDEM_BIN:-}" ]; then
        echo "$TANDEM_BIN"
    else
        echo "$PWD/target/release/tandem"
    fi
}

make_net() {
    if ! have_ns br; then
        ip netns add "$(ns br)"
        ip -n "$(ns br)" link add br0 type bridge mcast_snooping 0
        ip -n "$(ns br)" link set br0 up
    fi
    local i=0
    for n in a b client; do
        i=$((i + 1))
        if have_ns "$n"; then continue; fi
        ip netns add "$(ns "$n")"
        ip -n "$(ns br)" link add "v$n" type veth peer name eth0 netns "$(ns "$n")"
        ip -n "$(ns br)" link set "v$n" master br0 up
        ip -n "$(ns "$n")" link set lo up
        ip -n "$(ns "$n")" addr add "${IP[$n]}/24" dev eth0
        ip -n "$(ns "$n")" link set eth0 up
    done
}

start_box() {
    local b=$1
    if running "$b"; then return; fi
    mkdir -p "$RUN"
    ip netns exec "$(ns "$b")" setsid "$(bin)" run -c "config/lab/box-$b.yaml" \
        >"$RUN/$b.log" 2>&1 </dev/null &
    echo $! >"$RUN/$b.pid"
}

holder() {
    for b in "${BOXES[@]}"; do
        if ip -n "$(ns "$b")" -br addr show dev eth0 2>/dev/null | grep -q " $VIP/"; then
            echo "$b"
        fi
    done
}

wait_holder() {
    local want=$1 limit=$2 t=0
    while [ "$t" -lt "$limit" ]; do
        if [ "$(holder | tr '\n' ' ')" = "$want " ]; then return 0; fi
        sleep 0.1
        t=$((t + 1))
    done
    return 1
}

now_ms() { date +%s%3N; }

status() {
    for b in "${BOXES[@]}"; do
        echo "== box $b ($(ns "$b"), ${IP[$b]})"
        if running "$b"; then
            ip netns exec "$(ns "$b")" "$(bin)" status --addr 127.0.0.1:9188 || true
        else
            echo "tandem is not running"
        fi
    done
    echo "== VIP $VIP held by: $(holder | tr '\n' ' ')"
}

up() {
    need_root "$@"
    if [ -z "${TANDEM_BIN:-}" ]; then
        apt_install gcc libc6-dev iproute2 git
        ensure_rust
        echo "==> building tandem (release)"
        build_tandem release >/dev/null
    fi
    "$(bin)" check -c config/lab/box-a.yaml -c config/lab/box-b.yaml
    echo "==> creating network namespaces $P-{br,a,b,client}"
    make_net
    for b in "${BOXES[@]}"; do start_box "$b"; done
    echo "==> waiting for the election"
    if ! wait_holder a 200; then
        echo "lab: box a did not become master; see $RUN/a.log and $RUN/b.log" >&2
        exit 1
    fi
    status
    cat <<TXT

The lab is up (VRRP only in this build: the balancer, router and MariaDB tier join the
lab when those subsystems land).

  Reach the VIP from the client:   ip netns exec $P-client ping -c1 $VIP
  Watch box a:                     tail -f $RUN/a.log
  Status:                          sudo deploy/lab.sh status
  Failover drill:                  sudo deploy/lab.sh drill kill-master
  Remove everything:               sudo deploy/lab.sh down
TXT
}

down() {
    need_root "$@"
    for b in "${BOXES[@]}"; do
        local p; p=$(pid_of "$b")
        if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then
            kill -TERM "$p" 2>/dev/null || true
            for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
            kill -KILL "$p" 2>/dev/null || true
        fi
    done
    for n in a b client br; do
        if have_ns "$n"; then
            for p in $(ip netns pids "$(ns "$n")"); do kill -KILL "$p" 2>/dev/null || true; done
            ip netns del "$(ns "$n")"
        fi
    done
    rm -rf "$RUN"
    echo "lab: removed"
}

drill() {
    need_root "$@"
    local kind=${1:-kill-master}
    local master; master=$(holder)
    if [ "$(echo "$master" | wc -w)" -ne 1 ]; then
        echo "drill: expected exactly one VIP holder, found: ${master:-none}" >&2
        exit 1
    fi
    local other=a; [ "$master" = a ] && other=b
    local t0; t0=$(now_ms)
    case "$kind" in
    kill-master) kill -KILL "$(pid_of "$master")"; echo "+0ms fault: kill -9 tandem on box $master" ;;
    stop-master) kill -TERM "$(pid_of "$master")"; echo "+0ms fault: SIGTERM tandem on box $master" ;;
    *) echo "drill: unknown fault $kind (this build: kill-master, stop-master)" >&2; exit 2 ;;
    esac
    local t=0
    until ip -n "$(ns "$other")" -br addr show dev eth0 | grep -q " $VIP/"; do
        sleep 0.01; t=$((t + 1))
        if [ "$t" -gt 3000 ]; then echo "drill: box $other never took the VIP" >&2; exit 1; fi
    done
    echo "+$(( $(now_ms) - t0 ))ms box $other holds the VIP"
    grep "Entering MASTER STATE" "$RUN/$other.log" | tail -1
    echo "==> restarting tandem on box $master"
    sleep 1
    start_box "$master"
    status
}

case "${1:-up}" in
up) shift || true; up "$@" ;;
down) shift || true; down "$@" ;;
status) status ;;
drill) shift; drill "$@" ;;
*) echo "usage: $0 up|down|status|drill [kill-master|stop-master]" >&2; exit 2 ;;
esac
