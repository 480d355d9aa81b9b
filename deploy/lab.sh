#!/usr/bin/env bash
# The two-box lab on one machine (the README's main job), in network namespaces:
#
#   sudo deploy/lab.sh up                  # install, build tandem, create the lab, start it;
#                                          # again: starts what is not running (a killed box)
#   sudo deploy/lab.sh status              # tandem status of both boxes, who holds the VIP
#   sudo deploy/lab.sh drill kill-master   # client workload + kill -9 the VIP holder
#   sudo deploy/lab.sh drill stop-master   # ... graceful stop of the VIP holder
#   sudo deploy/lab.sh drill kill-router   # ... kill -9 the other box (its router)
#   sudo deploy/lab.sh drill kill-balancer-backend  # ... freeze the other box's router
#   sudo deploy/lab.sh drill partition     # ... cut the VIP holder's link, then restore it
#   sudo deploy/lab.sh drill kill-replica  # ... kill -9 shard 0's replica (reads move to db1)
#   sudo deploy/lab.sh drill stop-replication  # ... STOP SLAVE on it (same, by switch_type 2)
#   sudo deploy/lab.sh down                # remove everything the lab made, nothing else
#   deploy/lab.sh where                    # the commands, logs and binary of the lab
#
# Layout (addresses from 198.18.0.0/15, only on the lab's own bridge):
#   tandem-lab-br      bridge br0
#   tandem-lab-a       box A, eth0 198.18.0.1, tandem with config/lab/box-a.yaml (priority 150)
#   tandem-lab-b       box B, eth0 198.18.0.2, tandem with config/lab/box-b.yaml (priority 100)
#   tandem-lab-client  eth0 198.18.0.10
#   tandem-lab-db      eth0 198.18.0.21 db1 (shard 0 primary), .22 db1r (replica of db1),
#                      .23 db2 (shard 1 primary): three mariadbd, datadirs under the run dir
#   VIP 198.18.0.100 floats between A and B. Each box runs vrrp + balancer (VIP:3306, over
#   both routers) + router (:8067, shards shop over shop_0 on db1 and shop_1 on db2).
#
# Environment: TANDEM_BIN (use this binary, skip the build), LAB_PREFIX (namespace name
# prefix, default tandem-lab), LAB_RUN (state directory, default /run/<prefix>),
# DRILL_OPS / DRILL_SECS (bounds of the drill workload, default 400 operations / 30 s).
set -euo pipefail
# A relative TANDEM_BIN is relative to where the script was started from.
if [ -n "${TANDEM_BIN:-}" ] && [[ "$TANDEM_BIN" == */* ]] && [[ "$TANDEM_BIN" != /* ]]; then
    TANDEM_BIN="$PWD/$TANDEM_BIN"
fi
cd "$(dirname "$0")/.."
ROOT=$PWD # the checkout; commands below may run elsewhere (the boxes run in $RUN)
. deploy/common.sh
ARGS=("$@") # the whole command line, for need_root's message

P="${LAB_PREFIX:-tandem-lab}"
RUN="${LAB_RUN:-/run/$P}"
VIP=198.18.0.100
BOXES=(a b)
DBS=(db1 db1r db2)
declare -A IP=([a]=198.18.0.1 [b]=198.18.0.2 [client]=198.18.0.10
    [db1]=198.18.0.21 [db1r]=198.18.0.22 [db2]=198.18.0.23)
declare -A SID=([db1]=1 [db1r]=2 [db2]=3)
APP=(-u app -papp-pw)

ns() { echo "$P-$1"; }
have_ns() { ip netns list | awk '{print $1}' | grep -qx "$(ns "$1")"; }
pid_of() { cat "$RUN/$1.pid" 2>/dev/null || true; }
running() { # running NAME: its recorded process exists and has not exited (a zombie has)
    local p; p=$(pid_of "$1")
    [ -n "$p" ] && kill -0 "$p" 2>/dev/null || return 1
    [ "$(sed -E 's/^.*\) ([A-Za-z]).*$/\1/' "/proc/$p/stat" 2>/dev/null)" != Z ]
}
lab_exists() { have_ns a && have_ns b && have_ns client && have_ns db && have_ns br; }

bin() {
    if [ -n "${TANDEM_BIN:-}" ]; then
        echo "$TANDEM_BIN"
    else
        echo "$ROOT/target/release/tandem"
    fi
}

make_net() {
    if ! have_ns br; then
        ip netns add "$(ns br)"
        ip -n "$(ns br)" link add br0 type bridge mcast_snooping 0
        ip -n "$(ns br)" link set br0 up
    fi
    for n in a b client db; do
        # An interrupted `drill partition` may have left a link down.
        if have_ns "$n"; then ip -n "$(ns br)" link set "v$n" up; continue; fi
        ip netns add "$(ns "$n")"
        ip -n "$(ns br)" link add "v$n" type veth peer name eth0 netns "$(ns "$n")"
        ip -n "$(ns br)" link set "v$n" master br0 up
        ip -n "$(ns "$n")" link set lo up
        if [ "$n" = db ]; then
            for d in "${DBS[@]}"; do ip -n "$(ns db)" addr add "${IP[$d]}/24" dev eth0; done
        else
            ip -n "$(ns "$n")" addr add "${IP[$n]}/24" dev eth0
        fi
        ip -n "$(ns "$n")" link set eth0 up
    done
}

# --- the MariaDB tier ------------------------------------------------------------------

SMALL=(--innodb-buffer-pool-size=16M --innodb-log-file-size=4M --skip-name-resolve
    --performance-schema=OFF)

dbsql() { # dbsql NAME SQL: as root over the server's socket
    mariadb --no-defaults -uroot --socket="$RUN/db/$1/sock" -N -B -e "$2"
}

start_db() {
    local d=$1 dir="$RUN/db/$1"
    if running "$d"; then return; fi
    # Its own tmpdir: a starting mariadbd deletes every #sql* file in its tmpdir, which in a
    # shared /tmp includes the temporary tables of another server's bootstrap or query.
    mkdir -p "$dir/tmp"
    if [ ! -d "$dir/data/mysql" ]; then
        rm -rf "$dir/data"
        mariadb-install-db --no-defaults --datadir="$dir/data" --tmpdir="$dir/tmp" --user=root \
            --auth-root-authentication-method=normal --skip-test-db --skip-log-bin \
            "${SMALL[@]}" >"$dir/install.log" 2>&1 </dev/null
    fi
    local extra=(--log-bin="$d-bin" --binlog-format=ROW)
    if [ "$d" = db1r ]; then extra=(--relay-log=db1r-relay-bin --skip-log-bin --read-only); fi
    ip netns exec "$(ns db)" setsid mariadbd --no-defaults --datadir="$dir/data" --tmpdir="$dir/tmp" \
        --port=3306 --bind-address="${IP[$d]}" --socket="$dir/sock" \
        --pid-file="$dir/mariadbd.pid" --log-error="$dir/error.log" --user=root \
        --server-id="${SID[$d]}" "${SMALL[@]}" "${extra[@]}" \
        >/dev/null 2>&1 </dev/null &
    echo $! >"$RUN/$d.pid"
}

wait_db() {
    local d=$1
    for _ in $(seq 600); do
        if dbsql "$d" "SELECT 1" >/dev/null 2>&1; then return 0; fi
        if ! running "$d"; then break; fi
        sleep 0.1
    done
    echo "lab: MariaDB $d did not start; see $RUN/db/$d/error.log" >&2
    tail -20 "$RUN/db/$d/error.log" >&2 || true
    return 1
}

SCHEMA="CREATE TABLE IF NOT EXISTS customer (id BIGINT PRIMARY KEY, name VARCHAR(64));
CREATE TABLE IF NOT EXISTS province (id INT PRIMARY KEY, name VARCHAR(64));
CREATE TABLE IF NOT EXISTS drill (id BIGINT PRIMARY KEY, v VARCHAR(32),
  at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3));
INSERT IGNORE INTO province VALUES (1, 'Beijing'), (2, 'Shanghai'), (3, 'Guangdong');"

# Users, the shop_0/shop_1 databases and replication db1 -> db1r, once.
setup_db() {
    if [ -e "$RUN/db/setup.done" ]; then return; fi
    local users="CREATE USER IF NOT EXISTS 'tandem'@'198.18.0.%' IDENTIFIED BY 'db-pw';
GRANT ALL ON *.* TO 'tandem'@'198.18.0.%';
CREATE USER IF NOT EXISTS 'repl'@'198.18.0.%' IDENTIFIED BY 'repl-pw';
GRANT REPLICATION SLAVE ON *.* TO 'repl'@'198.18.0.%';"
    dbsql db1 "$users CREATE DATABASE IF NOT EXISTS shop_0; USE shop_0; $SCHEMA
INSERT IGNORE INTO customer VALUES (1, 'alice'), (2, 'bob');"
    dbsql db2 "$users CREATE DATABASE IF NOT EXISTS shop_1; USE shop_1; $SCHEMA
INSERT IGNORE INTO customer VALUES (5000001, 'carol');"
    # The replica starts from db1's first binary log: users and shop_0 arrive by replication.
    dbsql db1r "CHANGE MASTER TO MASTER_HOST='${IP[db1]}', MASTER_PORT=3306,
MASTER_USER='repl', MASTER_PASSWORD='repl-pw', MASTER_CONNECT_RETRY=1,
MASTER_USE_GTID=slave_pos; START SLAVE;"
    for _ in $(seq 300); do
        if [ "$(dbsql db1r "SELECT COUNT(*) FROM shop_0.customer" 2>/dev/null)" = 2 ]; then
            touch "$RUN/db/setup.done"
            return 0
        fi
        sleep 0.1
    done
    echo "lab: replication db1 -> db1r did not catch up:" >&2
    dbsql db1r "SHOW SLAVE STATUS\G" >&2 || true
    return 1
}

# --- the boxes -------------------------------------------------------------------------

start_box() {
    local b=$1 exe
    if running "$b"; then return; fi
    exe=$(bin)
    mkdir -p "$RUN/state-$b" "$RUN/run-$b"
    # The router's state_dir (state-a, state-b) is relative: tandem runs in $RUN.
    # Each box sees $RUN/run-$b as /run (a bind mount inside the mount namespace of
    # `ip netns exec`): its admin socket /run/tandem/admin.sock is
    # $RUN/run-$b/tandem/admin.sock, not the machine's (nor the other box's).
    (cd "$RUN" && exec ip netns exec "$(ns "$b")" setsid sh -c \
        'mount --bind "$1" /run && shift && exec "$@"' sh "$RUN/run-$b" "$exe" run \
        -c "$ROOT/config/lab/box-$b.yaml" >>"$RUN/$b.log" 2>&1 </dev/null) &
    echo $! >"$RUN/$b.pid"
}

# holder: the boxes whose eth0 has the VIP. describe_holder: the same for people, saying
# when it is only an address a killed tandem left behind (removed when it starts again).
holder() {
    for b in "${BOXES[@]}"; do
        if ip -n "$(ns "$b")" -br addr show dev eth0 2>/dev/null | grep -q " $VIP/"; then
            echo "$b"
        fi
    done
}

describe_holder() {
    local b out=""
    for b in $(holder); do
        if running "$b"; then out+="$b "; else out+="$b (stale: tandem on box $b is not running; it removes the address when it starts) "; fi
    done
    out="${out% }"
    echo "${out:-nobody}"
}

wait_holder() { # wait_holder BOX TENTHS
    local want=$1 limit=$2 t=0
    while [ "$t" -lt "$limit" ]; do
        if [ "$(holder | tr '\n' ' ')" = "$want " ]; then return 0; fi
        sleep 0.1
        t=$((t + 1))
    done
    return 1
}

# wait_master BOX TENTHS: the box's own tandem says MASTER and only it has the VIP. (The
# address alone is not enough: a box whose tandem was killed keeps it until it starts.)
wait_master() {
    local t=0
    while [ "$t" -lt "$2" ]; do
        if running "$1" && [ "$(holder | tr '\n' ' ')" = "$1 " ] \
            && ip netns exec "$(ns "$1")" "$(bin)" status --addr 127.0.0.1:9188 --json 2>/dev/null \
            | grep -Eq '"state": *"MASTER"'; then
            return 0
        fi
        sleep 0.1
        t=$((t + 1))
    done
    return 1
}

now_ms() { date +%s%3N; }

# client SQL...: the mariadb client in the client namespace, through the VIP (bounded).
client() {
    timeout 5 ip netns exec "$(ns client)" mariadb --no-defaults -h "$VIP" -P 3306 \
        "${APP[@]}" --connect-timeout=2 -N -B shop -e "$*"
}

wait_vip_sql() { # wait_vip_sql TENTHS
    for _ in $(seq "$1"); do
        if client "SELECT 1" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    return 1
}

status() {
    need_root "${ARGS[@]}"
    if ! have_ns a && ! have_ns b; then
        echo "lab: not up (no namespaces $P-*); start it with: sudo deploy/lab.sh up" >&2
        return 1
    fi
    for b in "${BOXES[@]}"; do
        echo "== box $b ($(ns "$b"), ${IP[$b]})"
        if running "$b"; then
            ip netns exec "$(ns "$b")" "$(bin)" status --addr 127.0.0.1:9188 || true
        else
            echo "tandem is not running"
        fi
    done
    for d in "${DBS[@]}"; do
        if running "$d"; then echo "== MariaDB $d ${IP[$d]}:3306 running"; else echo "== MariaDB $d ${IP[$d]}:3306 NOT running"; fi
    done
    echo "== VIP $VIP held by: $(describe_holder)"
}

up() {
    need_root "${ARGS[@]}"
    apt_install iproute2 mariadb-server mariadb-client
    if [ -z "${TANDEM_BIN:-}" ]; then
        apt_install gcc libc6-dev git
        ensure_rust
        echo "==> building tandem (release)"
        build_tandem release >/dev/null
    fi
    "$(bin)" check -c config/lab/box-a.yaml -c config/lab/box-b.yaml
    if lab_exists; then
        echo "==> network namespaces $P-{br,a,b,client,db} are there (up again: starting what is not running)"
    else
        echo "==> creating network namespaces $P-{br,a,b,client,db}"
    fi
    # On a failure from here on, what was started stays for inspection; say so.
    trap 'rc=$?; [ "$rc" = 0 ] || echo "lab: up failed; namespaces $P-* and the processes started so far are left for inspection (logs in $RUN); remove them with: sudo deploy/lab.sh down" >&2' EXIT
    make_net
    mkdir -p "$RUN"
    echo "==> starting MariaDB db1, db1r, db2 in $P-db (datadirs in $RUN/db)"
    for d in "${DBS[@]}"; do start_db "$d"; done
    for d in "${DBS[@]}"; do wait_db "$d"; done
    setup_db
    for b in "${BOXES[@]}"; do start_box "$b"; done
    echo "==> waiting for the election"
    if ! wait_master a 200; then
        echo "lab: box a did not become master; see $RUN/a.log and $RUN/b.log" >&2
        for b in "${BOXES[@]}"; do
            running "$b" || { echo "lab: tandem on box $b is not running; $RUN/$b.log ends:" >&2; tail -5 "$RUN/$b.log" >&2 || true; }
        done
        status >&2 || true # e.g. box a held in FAULT by `tandem vrrp resign`: `tandem vrrp resume`
        exit 1
    fi
    echo "==> waiting for the router to answer through the VIP"
    if ! wait_vip_sql 300; then
        echo "lab: no answer through $VIP:3306; see $RUN/a.log and $RUN/b.log" >&2
        exit 1
    fi
    echo "==> through the VIP: SELECT id, name FROM customer ORDER BY id"
    client "SELECT id, name FROM customer ORDER BY id"
    trap - EXIT
    status
    echo
    echo "The lab is up: VIP $VIP:3306 -> balancer -> routers on both boxes -> MariaDB shards."
    where
}

# Where things are: the commands to reach the lab, its logs and the binary it runs.
where() {
    cat <<TXT

  Connect:        ip netns exec $P-client mariadb -h $VIP -P 3306 -u app -papp-pw shop
  Router admin:   ip netns exec $P-a mariadb -h 127.0.0.1 -P 9066 -u admin -padmin-pw
  A shard:        mariadb -uroot --socket=$RUN/db/db1/sock shop_0
  Status:         sudo deploy/lab.sh status    (or: ip netns exec $P-a $(bin) status --addr 127.0.0.1:9188)
  Admin socket:   $(bin) vrrp resign --socket $RUN/run-a/tandem/admin.sock   (box b: run-b)
  Logs:           tail -f $RUN/a.log $RUN/b.log      (MariaDB: $RUN/db/*/error.log)
  Failover drill: sudo deploy/lab.sh drill kill-master|stop-master|kill-router|kill-balancer-backend|partition|kill-replica|stop-replication
  Remove all:     sudo deploy/lab.sh down
TXT
}

stop_pids() { # stop_pids NAME...: TERM all, wait up to 10 s, KILL what is left
    local p ps=()
    for n in "$@"; do
        p=$(pid_of "$n")
        if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then ps+=("$p"); kill -CONT "$p" 2>/dev/null || true; kill -TERM "$p" 2>/dev/null || true; fi
    done
    for _ in $(seq 100); do
        local left=0
        for p in "${ps[@]}"; do if kill -0 "$p" 2>/dev/null; then left=1; fi; done
        [ "$left" = 1 ] || return 0
        sleep 0.1
    done
    for p in "${ps[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
}

down() {
    need_root "${ARGS[@]}"
    local any=""
    for n in client a b db br; do have_ns "$n" && any=1; done
    [ -d "$RUN" ] && any=1
    stop_pids workload
    stop_pids "${BOXES[@]}" "${DBS[@]}"
    for n in client a b db br; do
        if have_ns "$n"; then
            for p in $(ip netns pids "$(ns "$n")"); do kill -KILL "$p" 2>/dev/null || true; done
            ip netns del "$(ns "$n")"
        fi
    done
    rm -rf "$RUN"
    if [ -n "$any" ]; then echo "lab: removed"; else echo "lab: nothing to remove (it was not up)"; fi
}

# --- the failover drill ----------------------------------------------------------------

# oneline MSG: a client error on one line, without the statement the mariadb client
# echoes between dashed lines when the connection is lost during a query.
oneline() {
    echo "$1" | grep -v -e '^-\{5,\}$' -e '^INSERT INTO drill' -e '^SELECT v FROM drill' | tr '\n' ' ' \
        | sed 's/ *$//' | cut -c1-160
}

# workload OUT BASE OPS SECS: in the client namespace, up to OPS inserts with ids BASE+i
# into the sharded `drill` table through the VIP, each followed by a read, for at most
# SECS seconds. One line per insert, `ok|err <id> <epoch ms> [message]`, and `rerr` for a
# failed read.
workload() {
    local out=$1 base=$2 ops=$3 secs=$4 end i id t msg
    end=$(( $(now_ms) + secs * 1000 ))
    for ((i = 1; i <= ops; i++)); do
        [ "$(now_ms)" -lt "$end" ] || break
        id=$((base + i))
        if msg=$(client "INSERT INTO drill (id, v) VALUES ($id, 'drill')" 2>&1); then
            echo "ok $id $(now_ms)" >>"$out"
            if ! msg=$(client "SELECT v FROM drill WHERE id = $id" 2>&1); then
                echo "rerr $id $(now_ms) $(oneline "$msg")" >>"$out"
            fi
        else
            t=$?
            [ -n "$msg" ] || msg="no answer within 5 s (killed, exit $t)"
            t=$(now_ms)
            echo "err $id $t $(oneline "$msg")" >>"$out"
            sleep 0.1
        fi
    done
    echo "done $(now_ms)" >>"$out"
}

# wait_lines FILE N MS: until FILE has N lines, or MS milliseconds passed.
wait_lines() {
    local end=$(( $(now_ms) + $3 ))
    while [ "$(now_ms)" -lt "$end" ]; do
        [ "$(wc -l <"$1" 2>/dev/null || echo 0)" -ge "$2" ] && return 0
        sleep 0.1
    done
    return 1
}

# wait_log BOX FROM_LINE TEXT TENTHS: until the box's log has TEXT after FROM_LINE, for at
# most TENTHS tenths of a second.
wait_log() {
    local i
    for ((i = 0; i < $4; i++)); do
        tail -n +"$(($2 + 1))" "$RUN/$1.log" 2>/dev/null | grep -qF "$3" && return 0
        sleep 0.1
    done
    return 1
}

# log_events BOX FROM_LINE: "<epoch ms> box X: message (reason)" for the VRRP transitions
# and balancer/router server state changes in the box's log since FROM_LINE.
log_events() {
    local stamp rest msg reason
    tail -n +"$(($2 + 1))" "$RUN/$1.log" 2>/dev/null \
        | grep -E "Entering (MASTER|BACKUP|FAULT|INIT)|is DOWN|is UP|write host switched|gets no reads|gets reads again|left behind by a previous run" \
        | while read -r stamp _ _ rest; do
            msg=$(echo "$rest" | sed -E 's/ [a-z_]+=.*$//')
            reason=$(echo "$rest" | sed -nE 's/.* reason="([^"]*)".*/\1/p')
            echo "$(date -d "$stamp" +%s%3N) box $1: $msg${reason:+ ($reason)}"
        done
}

drill() {
    need_root "${ARGS[@]}"
    local kind=${1:-kill-master}
    case "$kind" in
    kill-master | stop-master | kill-router | kill-balancer-backend | partition | kill-replica | stop-replication) ;;
    *)
        echo "drill: unknown fault $kind (kill-master, stop-master, kill-router, kill-balancer-backend, partition, kill-replica, stop-replication)" >&2
        exit 2
        ;;
    esac
    if ! lab_exists; then
        echo "drill: the lab is not up (no namespaces $P-*); start it with: sudo deploy/lab.sh up" >&2
        exit 1
    fi
    local n down=()
    for n in "${BOXES[@]}" "${DBS[@]}"; do running "$n" || down+=("$n"); done
    if [ ${#down[@]} -gt 0 ]; then
        echo "drill: not running: ${down[*]} (see $RUN/*.log); bring them back with: sudo deploy/lab.sh up" >&2
        exit 1
    fi
    if running workload; then
        echo "drill: another drill is running (workload pid $(pid_of workload))" >&2
        exit 1
    fi
    local master; master=$(holder | tr '\n' ' '); master=${master% }
    if [ "$(echo "$master" | wc -w)" -ne 1 ]; then
        echo "drill: expected exactly one VIP holder, found: ${master:-none} (wait for the election, see sudo deploy/lab.sh status)" >&2
        exit 1
    fi
    local other=a; [ "$master" = a ] && other=b
    if ! wait_vip_sql 100; then echo "drill: no answer through the VIP before the fault" >&2; exit 1; fi
    local ops=${DRILL_OPS:-400} secs=${DRILL_SECS:-30}
    local base=$(( $(date +%s) * 100000 ))
    local out="$RUN/drill-$kind-$base.log"
    : >"$out"
    local master_lines other_lines
    master_lines=$(wc -l <"$RUN/$master.log"); other_lines=$(wc -l <"$RUN/$other.log")
    echo "==> drill $kind: workload of up to $ops inserts (ids $((base + 1))..) for at most ${secs}s through $VIP"
    local start; start=$(now_ms)
    workload "$out" "$base" "$ops" "$secs" &
    echo $! >"$RUN/workload.pid"
    # Interrupted: undo what a fault leaves behind (a frozen process, a cut link, a
    # stopped replication).
    local undo_repl=true
    [ "$kind" = stop-replication ] && undo_repl="dbsql db1r 'START SLAVE' 2>/dev/null || true"
    # shellcheck disable=SC2064 # the names are expanded now, on purpose
    trap "rc=\$?; kill -CONT \$(pid_of $other) 2>/dev/null || true
          ip -n $(ns br) link set v$master up 2>/dev/null || true
          $undo_repl
          kill \$(pid_of workload) 2>/dev/null || true; rm -f $RUN/workload.pid
          [ \$rc = 0 ] || echo 'drill: stopped early: the workload is stopped, a cut link is up again, a frozen tandem continued, a stopped replication started; a killed tandem or MariaDB is restarted by: sudo deploy/lab.sh up' >&2" EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    # The fault after a third of the operations or a third of the time, whichever is first.
    wait_lines "$out" $((ops / 3)) $((secs * 1000 / 3)) || true
    local t0 ev=()
    t0=$(now_ms)
    case "$kind" in
    kill-master)
        kill -KILL "$(pid_of "$master")"
        ev+=("$t0 fault: kill -9 tandem on box $master (the VIP holder)") ;;
    stop-master)
        kill -TERM "$(pid_of "$master")"
        ev+=("$t0 fault: SIGTERM tandem on box $master (the VIP holder)") ;;
    kill-router)
        kill -KILL "$(pid_of "$other")"
        ev+=("$t0 fault: kill -9 tandem on box $other (its router, a balancer backend)") ;;
    kill-balancer-backend)
        kill -STOP "$(pid_of "$other")"
        ev+=("$t0 fault: SIGSTOP tandem on box $other (its router hangs, connections time out)") ;;
    partition)
        ip -n "$(ns br)" link set "v$master" down
        ev+=("$t0 fault: link of box $master (the VIP holder) cut at the bridge") ;;
    kill-replica)
        kill -KILL "$(pid_of db1r)"
        ev+=("$t0 fault: kill -9 MariaDB db1r (shard 0's replica, which takes its reads)") ;;
    stop-replication)
        dbsql db1r "STOP SLAVE"
        ev+=("$t0 fault: STOP SLAVE on db1r (shard 0's replica, which takes its reads)") ;;
    esac
    local t
    case "$kind" in
    kill-master | stop-master | partition)
        t=0
        until ip -n "$(ns "$other")" -br addr show dev eth0 | grep -q " $VIP/"; do
            sleep 0.01; t=$((t + 1))
            if [ "$t" -gt 3000 ]; then echo "drill: box $other never took the VIP" >&2; break; fi
        done
        ev+=("$(now_ms) box $other holds the VIP")
        ;;
    esac
    # A fault that leaves the VIP where it is may never interrupt it: then say so
    # rather than "again".
    local moved=0
    case "$kind" in kill-master | stop-master | partition) moved=1 ;; esac
    t=0
    until client "SELECT 1" >/dev/null 2>&1; do
        sleep 0.05; t=$((t + 1))
        if [ "$t" -gt 400 ]; then echo "drill: the VIP did not answer again" >&2; break; fi
    done
    if [ "$t" -eq 0 ] && [ "$moved" = 0 ]; then
        ev+=("$(now_ms) VIP still answers (SELECT 1 through $VIP:3306)")
    else
        ev+=("$(now_ms) VIP answered again (SELECT 1 through $VIP:3306)")
    fi
    # Repair, with the workload still running.
    sleep 3
    local tr; tr=$(now_ms)
    case "$kind" in
    kill-master | stop-master)
        sleep 1; tr=$(now_ms); start_box "$master"
        ev+=("$tr repair: tandem restarted on box $master") ;;
    kill-router)
        tr=$(now_ms); start_box "$other"
        ev+=("$tr repair: tandem restarted on box $other") ;;
    kill-balancer-backend)
        sleep 3; tr=$(now_ms); kill -CONT "$(pid_of "$other")"
        ev+=("$tr repair: SIGCONT tandem on box $other") ;;
    partition)
        sleep 3; tr=$(now_ms); ip -n "$(ns br)" link set "v$master" up
        ev+=("$tr repair: link of box $master restored") ;;
    kill-replica)
        # Until the routers' heartbeats (every 2 s) have seen it down.
        wait_log "$master" "$master_lines" "host db1r is DOWN" 100 || true
        tr=$(now_ms); start_db db1r
        ev+=("$tr repair: MariaDB db1r restarted (replication resumes)")
        wait_db db1r || true
        wait_log "$master" "$master_lines" "host db1r is UP" 200 || true ;;
    stop-replication)
        wait_log "$master" "$master_lines" "host db1r gets no reads" 100 || true
        tr=$(now_ms); dbsql db1r "START SLAVE"
        ev+=("$tr repair: START SLAVE on db1r")
        wait_log "$master" "$master_lines" "host db1r gets reads again" 200 || true ;;
    esac
    case "$kind" in
    kill-master | stop-master | partition)
        if wait_holder "$master" 300; then ev+=("$(now_ms) box $master holds the VIP again (preempts)"); fi ;;
    esac
    wait "$(pid_of workload)" || true
    rm -f "$RUN/workload.pid"
    local tend; tend=$(now_ms)

    local line
    while IFS= read -r line; do ev+=("$line"); done < <(log_events "$master" "$master_lines"; log_events "$other" "$other_lines")

    local oks errs rerrs first_err last_err first_ok_after
    oks=$(grep -c '^ok ' "$out" || true)
    errs=$(grep -c '^err ' "$out" || true)
    rerrs=$(grep -c '^rerr ' "$out" || true)
    first_err=$(awk '$1 == "err" { print $3; exit }' "$out")
    last_err=$(awk '$1 == "err" { t = $3 } END { print t }' "$out")
    first_ok_after=$(awk -v t0="$t0" '$1 == "ok" && $3 > t0 { print $3; exit }' "$out")
    [ -n "$first_err" ] && ev+=("$first_err first client error: $(awk '$1 == "err" { $1 = $2 = $3 = ""; print; exit }' "$out" | sed 's/^ *//')")
    [ -n "$last_err" ] && [ "$last_err" != "$first_err" ] && ev+=("$last_err last client error")
    [ -n "$first_ok_after" ] && ev+=("$first_ok_after first acknowledged write after the fault")
    ev+=("$tend workload done: $oks writes acknowledged, $errs failed, $rerrs reads failed")

    echo "==> timeline (ms relative to the fault)"
    printf '%s\n' "${ev[@]}" | sort -s -n -k1,1 | while read -r ts rest; do
        printf '  %+8dms  %s\n' "$((ts - t0))" "$rest"
    done
    # Every acknowledged id must be on its shard's primary.
    echo "==> checking the $oks acknowledged writes on db1 (shop_0) and db2 (shop_1)"
    local have missing
    have=$( { dbsql db1 "SELECT id FROM shop_0.drill WHERE id > $base AND id <= $((base + ops))";
        dbsql db2 "SELECT id FROM shop_1.drill WHERE id > $base AND id <= $((base + ops))"; } | sort -u)
    missing=$(awk '$1 == "ok" { print $2 }' "$out" | sort -u | comm -23 - <(echo "$have"))
    local rows; rows=$(echo "$have" | grep -c . || true)
    echo "  rows present: $rows (errors may or may not have been applied)"
    if [ "$kind" = kill-master ] || [ "$kind" = stop-master ] || [ "$kind" = partition ]; then
        wait_holder "$master" 100 || true
    fi
    status
    if [ "$oks" -eq 0 ]; then
        echo "drill: FAILED: the workload got no write acknowledged (see $out)" >&2
        exit 1
    fi
    if [ -n "$missing" ]; then
        echo "drill: FAILED: acknowledged writes missing: $(echo "$missing" | tr '\n' ' ')" >&2
        exit 1
    fi
    echo "drill $kind: OK, 0 of $oks acknowledged writes lost (workload log: $out)"
}

case "${1:-up}" in
up) shift || true; up "$@" ;;
down) shift || true; down "$@" ;;
status) status ;;
where) where ;;
drill) shift; drill "$@" ;;
*) echo "usage: $0 up|down|status|where|drill [kill-master|stop-master|kill-router|kill-balancer-backend|partition|kill-replica|stop-replication]" >&2; exit 2 ;;
esac
