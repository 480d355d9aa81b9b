#!/usr/bin/env bash
# The two-box lab on one machine (the README's main job), in network namespaces:
#
#   sudo deploy/lab.sh up                  # install, build tandem, create the lab, start it;
#                                          # again: starts what is not running (a killed box)
#                                          # and restarts a box running another binary
#   sudo deploy/lab.sh status              # tandem status of both boxes, who holds the VIP
#   sudo deploy/lab.sh drill kill-master   # client workload + kill -9 the VIP holder
#   sudo deploy/lab.sh drill stop-master   # ... graceful stop of the VIP holder
#   sudo deploy/lab.sh drill kill-router   # ... kill -9 the other box (its router)
#   sudo deploy/lab.sh drill kill-balancer-backend  # ... freeze the other box's router
#   sudo deploy/lab.sh drill partition     # ... cut the VIP holder's link, then restore it
#   sudo deploy/lab.sh drill kill-replica  # ... kill -9 shard 0's replica (reads move to db1)
#   sudo deploy/lab.sh drill stop-replication  # ... STOP SLAVE on it (same, by switch_type 2)
#   sudo deploy/lab.sh drill offline-router    # planned: `tandem router offline` on the
#                                          # other box, drained without a client error
#                                          # (each drill first checks that both boxes are
#                                          # healthy, and ends OK or FAILED, exit 1)
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
# DRILL_OPS / DRILL_SECS (bounds of the drill workload, default 400 operations / 30 s),
# DRILL_WAIT_SECS (how long a drill waits for the takeover and for the VIP to answer
# again, default 30), DRILL_FORCE=1 (drill a lab the pre-flight finds unhealthy).
set -euo pipefail
# A relative TANDEM_BIN is relative to where the script was started from.
if [ -n "${TANDEM_BIN:-}" ] && [[ "$TANDEM_BIN" == */* ]] && [[ "$TANDEM_BIN" != /* ]]; then
    TANDEM_BIN="$PWD/$TANDEM_BIN"
fi
cd "$(dirname "$0")/.."
ROOT=$PWD # the checkout; commands below may run elsewhere (the boxes run in $RUN)
# shellcheck source=common.sh source-path=SCRIPTDIR
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

# How to run this script again on this lab, for the messages: sudo resets the environment,
# so the variables that select the lab and its binary go on the command line.
LAB="sudo"
for v in LAB_PREFIX LAB_RUN TANDEM_BIN CARGO_TARGET_DIR; do
    if [ -n "${!v:-}" ]; then LAB+=" $v=$(printf '%q' "${!v}")"; fi
done
LAB+=" deploy/lab.sh"

ns() { echo "$P-$1"; }
have_ns() { ip netns list | awk '{print $1}' | grep -qx "$(ns "$1")"; }
pid_of() { cat "$RUN/$1.pid" 2>/dev/null || true; }
running() { # running NAME: its recorded process exists and has not exited (a zombie has)
    local p; p=$(pid_of "$1")
    [ -n "$p" ] && kill -0 "$p" 2>/dev/null || return 1
    [ "$(sed -E 's/^.*\) ([A-Za-z]).*$/\1/' "/proc/$p/stat" 2>/dev/null)" != Z ]
}
lab_exists() { have_ns a && have_ns b && have_ns client && have_ns db && have_ns br; }
now_ms() { date +%s%3N; }

# Where `up` builds the binary (CARGO_TARGET_DIR moves it), asked once.
if [ -z "${TANDEM_BIN:-}" ]; then target_dir >/dev/null; fi
bin() {
    if [ -n "${TANDEM_BIN:-}" ]; then
        echo "$TANDEM_BIN"
    else
        echo "$(target_dir)/release/tandem"
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

wait_db() { # wait_db NAME: until it answers, at most 60 s
    local d=$1 end=$(($(now_ms) + 60000))
    while [ "$(now_ms)" -lt "$end" ]; do
        if timeout 5 mariadb --no-defaults -uroot --socket="$RUN/db/$d/sock" -N -B -e "SELECT 1" >/dev/null 2>&1; then return 0; fi
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
    local end=$(($(now_ms) + 30000))
    while [ "$(now_ms)" -lt "$end" ]; do
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
    # Each box sees $RUN/run-$b as /run (a bind mount inside the mount namespace of
    # `ip netns exec`): its admin socket /run/tandem/admin.sock is
    # $RUN/run-$b/tandem/admin.sock, not the machine's (nor the other box's), and the
    # router's state_dir /run/router-state (dnindex.properties) is $RUN/run-$b/router-state,
    # which `down` removes with the rest of $RUN.
    mkdir -p "$RUN/run-$b/router-state"
    # shellcheck disable=SC2016 # $1 and $@ are the inner sh's
    (cd "$RUN" && exec ip netns exec "$(ns "$b")" setsid sh -c \
        'mount --bind "$1" /run && shift && exec "$@"' sh "$RUN/run-$b" "$exe" run \
        -c "$ROOT/config/lab/box-$b.yaml" >>"$RUN/$b.log" 2>&1 </dev/null) &
    echo $! >"$RUN/$b.pid"
}

# holder: the boxes whose eth0 has the VIP. describe_holder: the same for people, saying
# when it is only an address a killed tandem left behind (removed when it starts again).
holder() {
    for b in "${BOXES[@]}"; do
        if has_vip "$b"; then echo "$b"; fi
    done
}

has_vip() { ip -n "$(ns "$1")" -br addr show dev eth0 2>/dev/null | grep -q " $VIP/"; }

describe_holder() {
    local b out=""
    for b in $(holder); do
        if running "$b"; then out+="$b "; else out+="$b (stale: tandem on box $b is not running; it removes the address when it starts) "; fi
    done
    out="${out% }"
    echo "${out:-nobody}"
}

# box_status BOX: the /status document (JSON) of the box's tandem, within 5 s.
box_status() {
    timeout 5 ip netns exec "$(ns "$1")" "$(bin)" status --addr 127.0.0.1:9188 --json 2>/dev/null
}

# is_master BOX: the box's own tandem says MASTER.
is_master() { running "$1" && box_status "$1" | grep -Eq '"state": *"MASTER"'; }

# wait_master BOX MS: until the box's own tandem says MASTER and only it has the VIP, for
# at most MS milliseconds. (The address alone is not enough: a box whose tandem was
# killed keeps it until it starts again.)
wait_master() {
    local end=$(($(now_ms) + $2))
    while [ "$(now_ms)" -lt "$end" ]; do
        if running "$1" && [ "$(holder | tr '\n' ' ')" = "$1 " ] && is_master "$1"; then return 0; fi
        sleep 0.1
    done
    return 1
}

# wait_takeover BOX MS: until tandem on BOX is MASTER and has put the VIP on its eth0 (an
# address left on the other box by a killed tandem may still be there), for at most MS
# milliseconds; prints when the VIP was first seen on BOX's eth0.
wait_takeover() {
    local end=$(($(now_ms) + $2)) seen=""
    while [ "$(now_ms)" -lt "$end" ]; do
        if running "$1" && has_vip "$1"; then
            [ -n "$seen" ] || seen=$(now_ms)
            if is_master "$1"; then echo "$seen"; return 0; fi
        else
            seen=""
        fi
        sleep 0.01
    done
    return 1
}

# What keeps a box from being fit for a drill, from its /status document on stdin
# (arguments: the box, its admin socket, the tandem binary). One line each: `master
# INSTANCE` for an instance in MASTER, `problem TEXT`, or `stuck TEXT` for a state that
# lasts until an operator ends it (`tandem vrrp resign`, a balancer server set to drain
# or maint by hand). Perl and JSON::PP come with mariadb-server.
# shellcheck disable=SC2016 # Perl, not shell
HEALTH_PL='
use strict; use warnings; use JSON::PP;
my ($box, $sock, $bin) = @ARGV;
my $d = eval { local $/; decode_json(<STDIN>) };
if (!$d) { print "problem box $box: tandem answers no status document\n"; exit 0; }
my $s = $d->{subsystems} || {};
sub on { my $x = shift; return $x && (!exists $x->{enabled} || $x->{enabled}); }
my $v = $s->{vrrp};
if (on($v)) {
    print "problem box $box: its VRRP is not running\n" unless $v->{running};
    for my $i (@{ $v->{instances} || [] }) {
        my ($n, $st, $f) = ($i->{name}, $i->{state} // "?", $i->{fault});
        if ($st eq "MASTER") { print "master $n\n"; }
        elsif ($st eq "BACKUP") { }
        elsif (defined $f && $f =~ /vrrp resign/) {
            print "stuck box $box: VRRP instance $n is resigned ($st: $f); end it with: $bin vrrp resume --socket $sock\n";
        } elsif ($st eq "FAULT") {
            print "problem box $box: VRRP instance $n is in FAULT (" . ($f // "no reason given") . ")\n";
        } else { print "problem box $box: VRRP instance $n is $st\n"; }
    }
}
my $bl = $s->{balancer};
if (on($bl)) {
    print "problem box $box: its balancer is not running\n" unless $bl->{running};
    for my $l (@{ $bl->{listeners} || [] }) {
        print "problem box $box: balancer listener $l->{name} is not serving\n" unless $l->{serving};
        for my $sv (@{ $l->{servers} || [] }) {
            my ($adm, $st) = ($sv->{admin} // "ready", $sv->{status} // "?");
            if ($adm ne "ready") {
                print "stuck box $box: balancer server $l->{name}/$sv->{name} is set to $adm; end it with: $bin balancer ready $sv->{name} --socket $sock\n";
            } elsif ($st ne "UP") {
                print "problem box $box: balancer server $l->{name}/$sv->{name} is $st (last check: " . ($sv->{last_check} // "none") . ")\n";
            }
        }
    }
}
my $r = $s->{router};
if (on($r)) {
    print "problem box $box: its router is not running\n" unless $r->{running};
    if (exists $r->{online} && !$r->{online}) {
        print "stuck box $box: its router is offline (admin command `offline`); end it with: $bin router online --socket $sock\n";
    }
    for my $dh (@{ $r->{data_hosts} || [] }) {
        for my $h (@{ $dh->{hosts} || [] }) {
            if (!$h->{up}) {
                print "problem box $box: router data host $dh->{name}: host $h->{name} is down" . ($h->{last_error} ? " ($h->{last_error})" : "") . "\n";
            } elsif ($h->{replica} && !$h->{reads}) {
                print "problem box $box: router data host $dh->{name}: replica $h->{name} gets no reads" . ($h->{no_reads_reason} ? " ($h->{no_reads_reason})" : "") . "\n";
            }
        }
    }
}
'

# check_lab: sets PROBLEMS (what keeps the lab from being healthy: a tandem not running
# or not answering its status, a VRRP instance not MASTER or BACKUP (in FAULT, resigned),
# not exactly one MASTER box or the VIP on another box, a balancer server not UP, a router
# host down or the replica taking no reads), STUCK (1 when one of them lasts until an
# operator ends it) and LAB_MASTER (the box whose tandem is MASTER and which alone holds
# the VIP; empty when there is none).
check_lab() {
    PROBLEMS=()
    STUCK=0
    LAB_MASTER=""
    local b line json masters=() held
    for b in "${BOXES[@]}"; do
        if ! running "$b"; then PROBLEMS+=("box $b: tandem is not running"); continue; fi
        if ! json=$(box_status "$b"); then
            PROBLEMS+=("box $b: tandem does not answer \`tandem status\` (see $RUN/$b.log)")
            continue
        fi
        while IFS= read -r line; do
            case "$line" in
            "master "*) masters+=("$b") ;;
            "stuck "*) STUCK=1; PROBLEMS+=("${line#stuck }") ;;
            "problem "*) PROBLEMS+=("${line#problem }") ;;
            esac
        done < <(printf '%s' "$json" | perl -e "$HEALTH_PL" "$b" "$RUN/run-$b/tandem/admin.sock" "$(bin)")
    done
    held=$(holder | tr '\n' ' ')
    held=${held% }
    case ${#masters[@]} in
    1)
        if [ "$held" = "${masters[0]}" ]; then
            LAB_MASTER=${masters[0]}
        else
            PROBLEMS+=("box ${masters[0]} is MASTER but the VIP is on: ${held:-no box}")
        fi ;;
    0) PROBLEMS+=("no box is MASTER (the VIP is on: ${held:-no box})") ;;
    *) PROBLEMS+=("both boxes are MASTER (dual master: see the README's Troubleshooting)") ;;
    esac
}

# wait_healthy MS: check_lab until it finds no problem, for at most MS milliseconds; a
# stuck problem (one only an operator ends) fails at once.
wait_healthy() {
    local end=$(($(now_ms) + $1))
    while :; do
        check_lab
        [ ${#PROBLEMS[@]} -gt 0 ] || return 0
        [ "$STUCK" = 0 ] || return 1
        [ "$(now_ms)" -lt "$end" ] || return 1
        sleep 0.2
    done
}

# client SQL...: the mariadb client in the client namespace, through the VIP (bounded).
client() { client_within 5 "$@"; }

# client_within SECS SQL...: the same, given up after SECS seconds (1..5).
client_within() {
    local s=$1
    shift
    timeout "$s" ip netns exec "$(ns client)" mariadb --no-defaults -h "$VIP" -P 3306 \
        "${APP[@]}" --connect-timeout=2 -N -B shop -e "$*"
}

# wait_vip_sql MS: until `SELECT 1` through the VIP answers, for at most MS milliseconds
# (an attempt is cut short at the limit).
wait_vip_sql() {
    local end=$(($(now_ms) + $1)) left
    while :; do
        left=$(((end - $(now_ms) + 999) / 1000))
        [ "$left" -gt 0 ] || return 1
        [ "$left" -le 5 ] || left=5
        if client_within "$left" "SELECT 1" >/dev/null 2>&1; then return 0; fi
        sleep 0.05
    done
}

# same_exe NAME: the running process NAME runs the file $(bin), or a file with the same
# bytes (/proc/PID/exe still reads the file it started from when a build replaced it).
same_exe() {
    local p
    p=$(pid_of "$1")
    [ -n "$p" ] && { [ "/proc/$p/exe" -ef "$(bin)" ] || cmp -s "/proc/$p/exe" "$(bin)"; }
}

# exe_of NAME: the file the running process NAME was started from, for people.
exe_of() {
    local e
    e=$(readlink "/proc/$(pid_of "$1")/exe" 2>/dev/null) || { echo "?"; return; }
    case "$e" in
    *" (deleted)") echo "an earlier build of ${e% (deleted)} (replaced since it started)" ;;
    *) echo "$e" ;;
    esac
}

status() {
    need_root "${ARGS[@]}"
    if ! have_ns a && ! have_ns b; then
        echo "lab: not up (no namespaces $P-*); start it with: $LAB up" >&2
        return 1
    fi
    for b in "${BOXES[@]}"; do
        echo "== box $b ($(ns "$b"), ${IP[$b]})"
        if running "$b"; then
            ip netns exec "$(ns "$b")" "$(bin)" status --addr 127.0.0.1:9188 || true
            if ! same_exe "$b"; then
                echo "note: box $b runs $(exe_of "$b"), not $(bin); $LAB up restarts it on $(bin)"
            fi
        else
            echo "tandem is not running"
        fi
    done
    for d in "${DBS[@]}"; do
        if running "$d"; then echo "== MariaDB $d ${IP[$d]}:3306 running"; else echo "== MariaDB $d ${IP[$d]}:3306 NOT running"; fi
    done
    echo "== VIP $VIP held by: $(describe_holder)"
}

# up: creates what is missing and starts what is not running; on a lab that is up it
# changes nothing else, and says so, except that both boxes must run the same binary:
# $(bin), just built (cargo rebuilds only what changed) or given as TANDEM_BIN. A box
# running another one (the sources changed since it started) is restarted on it, so that
# a drill never runs between two builds; a box already on it is left alone.
up() {
    need_root "${ARGS[@]}"
    apt_install iproute2 mariadb-server mariadb-client
    if [ -z "${TANDEM_BIN:-}" ]; then
        apt_install gcc libc6-dev git
        ensure_rust
        echo "==> building tandem (release; cargo rebuilds only what changed)"
        build_tandem release >/dev/null
    else
        echo "==> using TANDEM_BIN=$TANDEM_BIN (no build)"
    fi
    "$(bin)" check -c config/lab/box-a.yaml -c config/lab/box-b.yaml
    if lab_exists; then
        echo "==> network namespaces $P-{br,a,b,client,db} are there (up again: starting what is not running)"
    else
        echo "==> creating network namespaces $P-{br,a,b,client,db}"
    fi
    # On a failure from here on, what was started stays for inspection; say so.
    # shellcheck disable=SC2154 # rc is the trap's own
    trap 'rc=$?; [ "$rc" = 0 ] || echo "lab: up failed; namespaces $P-* and the processes started so far are left for inspection (logs in $RUN); remove them with: $LAB down" >&2' EXIT
    make_net
    mkdir -p "$RUN"
    local d b start=() already=() stale=()
    for d in "${DBS[@]}"; do
        if running "$d"; then already+=("$d"); else start+=("$d"); fi
    done
    if [ ${#start[@]} -eq 0 ]; then
        echo "==> MariaDB ${already[*]}: already running"
    else
        echo "==> starting MariaDB ${start[*]} in $P-db (datadirs in $RUN/db)${already[*]:+; already running: ${already[*]}}"
    fi
    for d in "${start[@]}"; do start_db "$d"; done
    for d in "${DBS[@]}"; do wait_db "$d"; done
    setup_db
    for b in "${BOXES[@]}"; do
        if running "$b" && ! same_exe "$b"; then stale+=("$b"); fi
    done
    if [ ${#stale[@]} -gt 0 ]; then
        for b in "${stale[@]}"; do
            echo "==> box $b runs $(exe_of "$b"), not $(bin): restarting it (both boxes must run the same binary)"
        done
        stop_pids "${stale[@]}"
    fi
    for b in "${BOXES[@]}"; do
        if running "$b"; then
            echo "==> box $b: tandem already running (pid $(pid_of "$b"), $(bin))"
        else
            echo "==> box $b: starting tandem ($(bin))"
            start_box "$b"
        fi
    done
    echo "==> waiting for box a's tandem to be MASTER with the VIP"
    if ! wait_master a 20000; then
        echo "lab: box a did not become master within 20 s; see $RUN/a.log and $RUN/b.log" >&2
        for b in "${BOXES[@]}"; do
            running "$b" || { echo "lab: tandem on box $b is not running; $RUN/$b.log ends:" >&2; tail -5 "$RUN/$b.log" >&2 || true; }
        done
        check_lab # e.g. box a held in FAULT by `tandem vrrp resign`: `tandem vrrp resume`
        for d in "${PROBLEMS[@]}"; do echo "lab: $d" >&2; done
        status >&2 || true
        exit 1
    fi
    echo "==> waiting for the router to answer through the VIP"
    if ! wait_vip_sql 30000; then
        echo "lab: no answer through $VIP:3306 within 30 s; see $RUN/a.log and $RUN/b.log" >&2
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
  Status:         $LAB status    (or: ip netns exec $P-a $(bin) status --addr 127.0.0.1:9188)
  Admin socket:   $(bin) vrrp resign --socket $RUN/run-a/tandem/admin.sock   (box b: run-b)
  Logs:           tail -f $RUN/a.log $RUN/b.log      (MariaDB: $RUN/db/*/error.log)
  Failover drill: $LAB drill kill-master|stop-master|kill-router|kill-balancer-backend|partition|kill-replica|stop-replication|offline-router
  Remove all:     $LAB down
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

# wait_log BOX FROM_LINE TEXT MS: until the box's log has TEXT after FROM_LINE, for at
# most MS milliseconds.
wait_log() {
    local end=$(($(now_ms) + $4))
    while :; do
        tail -n +"$(($2 + 1))" "$RUN/$1.log" 2>/dev/null | grep -qF "$3" && return 0
        [ "$(now_ms)" -lt "$end" ] || return 1
        sleep 0.1
    done
}

# log_events BOX FROM_LINE: "<epoch ms> box X: message (reason)" for the VRRP transitions
# and balancer/router server state changes in the box's log since FROM_LINE.
log_events() {
    local stamp rest msg reason
    tail -n +"$(($2 + 1))" "$RUN/$1.log" 2>/dev/null \
        | grep -E "Entering (MASTER|BACKUP|FAULT|INIT)|is DOWN|is UP|is NOLB|router: (OFFLINE|ONLINE)|write host switched|gets no reads|gets reads again|left behind by a previous run" \
        | while read -r stamp _ _ rest; do
            msg=$(echo "$rest" | sed -E 's/ [a-z_]+=.*$//')
            reason=$(echo "$rest" | sed -nE 's/.* reason="([^"]*)".*/\1/p')
            echo "$(date -d "$stamp" +%s%3N) box $1: $msg${reason:+ ($reason)}"
        done
}

# balancer_sessions BOX SERVER: the connections box BOX's balancer has sent to SERVER
# (listener mysql) so far: `show stat`'s stot, through the box's admin socket.
balancer_sessions() {
    "$(bin)" admin --socket "$RUN/run-$1/tandem/admin.sock" show stat 2>/dev/null | awk -F, -v s="$2" '
        NR == 1 { sub(/^# /, ""); for (i = 1; i <= NF; i++) if ($i == "stot") c = i; next }
        $1 == "mysql" && $2 == s { print $c }'
}

drill() {
    need_root "${ARGS[@]}"
    local kind=${1:-kill-master}
    case "$kind" in
    kill-master | stop-master | kill-router | kill-balancer-backend | partition | kill-replica | stop-replication | offline-router) ;;
    *)
        echo "drill: unknown fault $kind (kill-master, stop-master, kill-router, kill-balancer-backend, partition, kill-replica, stop-replication, offline-router)" >&2
        exit 2
        ;;
    esac
    local ops=${DRILL_OPS:-400} secs=${DRILL_SECS:-30} wait_s=${DRILL_WAIT_SECS:-30}
    local v
    for v in "$ops" "$secs" "$wait_s"; do
        if ! [[ "$v" =~ ^[0-9]+$ ]] || [ "$v" -lt 1 ]; then
            echo "drill: DRILL_OPS, DRILL_SECS and DRILL_WAIT_SECS are whole numbers from 1 (got $v)" >&2
            exit 2
        fi
    done
    local wait_ms=$((wait_s * 1000))
    if ! lab_exists; then
        echo "drill: the lab is not up (no namespaces $P-*); start it with: $LAB up" >&2
        exit 1
    fi
    local n down=()
    for n in "${BOXES[@]}" "${DBS[@]}"; do running "$n" || down+=("$n"); done
    if [ ${#down[@]} -gt 0 ]; then
        echo "drill: not running: ${down[*]} (see $RUN/*.log); bring them back with: $LAB up" >&2
        exit 1
    fi
    if running workload; then
        echo "drill: another drill is running (workload pid $(pid_of workload))" >&2
        exit 1
    fi
    # Pre-flight: a drill on a degraded lab (the peer resigned or in FAULT, a router or
    # the replica down) measures the degradation, not the fault. A state that heals by
    # itself (a box restarted by the last drill, whose checks are not UP yet) gets 15 s.
    if wait_healthy 15000; then
        echo "==> pre-flight: box $LAB_MASTER is MASTER and alone holds the VIP; VRRP, balancers and routers of both boxes healthy"
    elif [ "${DRILL_FORCE:-0}" = 1 ] && [ -n "$LAB_MASTER" ]; then
        echo "drill: warning: the lab is not healthy; drilling it anyway (DRILL_FORCE=1):" >&2
        printf 'drill:   %s\n' "${PROBLEMS[@]}" >&2
    else
        echo "drill: the lab is not ready for a drill:" >&2
        printf 'drill:   %s\n' "${PROBLEMS[@]}" >&2
        if [ "${DRILL_FORCE:-0}" = 1 ]; then
            echo "drill: even with DRILL_FORCE=1 a drill needs one box that is MASTER and alone holds the VIP" >&2
        else
            echo "drill: fix the above ($LAB status shows the lab), or drill the degraded lab anyway with DRILL_FORCE=1" >&2
        fi
        exit 1
    fi
    local master=$LAB_MASTER other=a
    [ "$master" = a ] && other=b
    if ! wait_vip_sql 10000; then echo "drill: no answer through the VIP before the fault (within 10 s)" >&2; exit 1; fi
    local base=$(( $(date +%s) * 100000 ))
    local out="$RUN/drill-$kind-$base.log"
    : >"$out"
    local master_lines other_lines
    master_lines=$(wc -l <"$RUN/$master.log"); other_lines=$(wc -l <"$RUN/$other.log")
    echo "==> drill $kind: workload of up to $ops inserts (ids $((base + 1))..) for at most ${secs}s through $VIP"
    workload "$out" "$base" "$ops" "$secs" &
    echo $! >"$RUN/workload.pid"
    # Interrupted: undo what a fault leaves behind (a frozen process, a cut link, a
    # stopped replication).
    local undo_repl=true
    [ "$kind" = stop-replication ] && undo_repl="dbsql db1r 'START SLAVE' 2>/dev/null || true"
    local undo_offline=true
    [ "$kind" = offline-router ] && undo_offline="'$(bin)' router online --socket '$RUN/run-$other/tandem/admin.sock' >/dev/null 2>&1 || true"
    # shellcheck disable=SC2064 # the names are expanded now, on purpose
    trap "rc=\$?; kill -CONT \$(pid_of $other) 2>/dev/null || true
          $undo_offline
          ip -n $(ns br) link set v$master up 2>/dev/null || true
          $undo_repl
          kill \$(pid_of workload) 2>/dev/null || true; rm -f $RUN/workload.pid
          [ \$rc = 0 ] || echo 'drill: stopped early: the workload is stopped, a cut link is up again, a frozen tandem continued, a stopped replication started, an offline router is online again; a killed tandem or MariaDB is restarted by: $LAB up' >&2" EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    # The fault after a third of the operations or a third of the time, whichever is first.
    wait_lines "$out" $((ops / 3)) $((secs * 1000 / 3)) || true
    local t0 ev=() fails=() drained_from="" kept_from=""
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
    offline-router)
        "$(bin)" router offline --socket "$RUN/run-$other/tandem/admin.sock" >/dev/null \
            || fails+=("tandem router offline on box $other failed")
        ev+=("$t0 fault (planned): tandem router offline on box $other (drain its router)") ;;
    esac
    # The VIP moves (the peer must take over) or stays where it is (it may never stop
    # answering: then say "still", not "again").
    local moved=0 served=1 t
    case "$kind" in kill-master | stop-master | partition) moved=1 ;; esac
    if [ "$moved" = 1 ]; then
        if t=$(wait_takeover "$other" "$wait_ms"); then
            ev+=("$t box $other holds the VIP (its tandem is MASTER, the VIP is on its eth0)")
        else
            served=0
            ev+=("$(now_ms) box $other is still not MASTER with the VIP: gave up after ${wait_s}s")
            fails+=("box $other did not take over (its tandem was not MASTER with the VIP within ${wait_s}s of the fault)")
        fi
    fi
    if [ "$served" = 0 ]; then
        : # nobody serves the VIP: no answer to wait for
    elif [ "$moved" = 0 ] && client "SELECT 1" >/dev/null 2>&1; then
        ev+=("$(now_ms) VIP still answers (SELECT 1 through $VIP:3306)")
    elif wait_vip_sql "$wait_ms"; then
        ev+=("$(now_ms) VIP answered again (SELECT 1 through $VIP:3306)")
    else
        ev+=("$(now_ms) VIP still not answering: gave up after ${wait_s}s")
        fails+=("the VIP did not answer SELECT 1 again within ${wait_s}s")
    fi
    # Repair, with the workload still running (a drain is watched from the start).
    [ "$kind" = offline-router ] || sleep 3
    case "$kind" in
    kill-router | kill-balancer-backend)
        # Until the VIP holder's balancer has taken the router out (checks: inter 1s, fall 2).
        wait_log "$master" "$master_lines" "server mysql/router_$other is DOWN" 10000 \
            || fails+=("box $master's balancer did not mark router_$other DOWN within 13 s of the fault") ;;
    kill-replica)
        # Until the routers' heartbeats (every 2 s) have seen it down.
        wait_log "$master" "$master_lines" "host db1r is DOWN" 10000 \
            || fails+=("box $master's router did not mark db1r DOWN within 13 s of the fault") ;;
    stop-replication)
        wait_log "$master" "$master_lines" "host db1r gets no reads" 10000 \
            || fails+=("box $master's router did not stop reading from db1r within 13 s of the fault") ;;
    offline-router)
        # Until the VIP holder's balancer has drained it (its check got a 404).
        if wait_log "$master" "$master_lines" "server mysql/router_$other is NOLB" 10000; then
            # From here on no new connection may reach the drained router, while the
            # other one takes the workload's.
            sleep 1
            drained_from=$(balancer_sessions "$master" "router_$other")
            kept_from=$(balancer_sessions "$master" "router_$master")
            [ -n "$drained_from" ] && [ -n "$kept_from" ] \
                || fails+=("cannot read box $master's balancer counters (tandem admin show stat)")
        else
            fails+=("box $master's balancer did not drain router_$other (NOLB) within 13 s of the fault")
        fi ;;
    esac
    local tr repair_lines
    case "$kind" in
    offline-router)
        if [ -n "$drained_from" ] && [ -n "$kept_from" ]; then
            local now_drained now_kept
            # While the workload makes 20 more operations (each two connections), or 5 s.
            wait_lines "$out" $(($(wc -l <"$out") + 20)) 5000 || true
            now_drained=$(balancer_sessions "$master" "router_$other")
            now_kept=$(balancer_sessions "$master" "router_$master")
            if [ -z "$now_drained" ] || [ -z "$now_kept" ]; then
                fails+=("cannot read box $master's balancer counters (tandem admin show stat)")
            elif [ "$now_drained" != "$drained_from" ]; then
                fails+=("the drained router_$other got new connections from box $master's balancer ($drained_from, then $now_drained)")
            elif [ "$now_kept" -le "$kept_from" ]; then
                fails+=("no connection went through box $master's balancer while router_$other was drained: nothing was tested")
            else
                ev+=("$(now_ms) no new connection reached the drained router_$other (its total stays $drained_from) while router_$master took $((now_kept - kept_from))")
            fi
        fi ;;
    esac
    case "$kind" in
    kill-master | stop-master) sleep 1 ;;
    kill-balancer-backend | partition) sleep 3 ;;
    esac
    tr=$(now_ms)
    repair_lines=$(wc -l <"$RUN/$master.log")
    case "$kind" in
    kill-master | stop-master)
        start_box "$master"
        ev+=("$tr repair: tandem restarted on box $master") ;;
    kill-router)
        start_box "$other"
        ev+=("$tr repair: tandem restarted on box $other") ;;
    kill-balancer-backend)
        kill -CONT "$(pid_of "$other")"
        ev+=("$tr repair: SIGCONT tandem on box $other") ;;
    partition)
        ip -n "$(ns br)" link set "v$master" up
        ev+=("$tr repair: link of box $master restored") ;;
    kill-replica)
        start_db db1r
        ev+=("$tr repair: MariaDB db1r restarted (replication resumes)")
        wait_db db1r || fails+=("MariaDB db1r did not start again") ;;
    stop-replication)
        dbsql db1r "START SLAVE"
        ev+=("$tr repair: START SLAVE on db1r") ;;
    offline-router)
        "$(bin)" router online --socket "$RUN/run-$other/tandem/admin.sock" >/dev/null \
            || fails+=("tandem router online on box $other failed")
        ev+=("$tr repair: tandem router online on box $other") ;;
    esac
    # What the repair must bring back.
    case "$kind" in
    kill-master | stop-master | partition)
        if wait_master "$master" 30000; then
            ev+=("$(now_ms) box $master holds the VIP again (its tandem is MASTER, the VIP on no other box)")
        else
            ev+=("$(now_ms) box $master still does not hold the VIP: gave up after 30s")
            fails+=("box $master did not take the VIP back within 30s of the repair")
        fi ;;
    kill-router | kill-balancer-backend | offline-router)
        wait_log "$master" "$repair_lines" "server mysql/router_$other is UP" 20000 \
            || fails+=("box $master's balancer did not mark router_$other UP within 20s of the repair") ;;
    kill-replica)
        wait_log "$master" "$repair_lines" "host db1r is UP" 20000 \
            || fails+=("box $master's router did not mark db1r UP within 20s of the repair") ;;
    stop-replication)
        wait_log "$master" "$repair_lines" "host db1r gets reads again" 20000 \
            || fails+=("box $master's router did not read from db1r again within 20s of the repair") ;;
    esac
    if [ "$moved" = 0 ] && ! wait_master "$master" 10000; then
        ev+=("$(now_ms) box $master is not MASTER alone with the VIP any more (VIP on: $(describe_holder))")
        fails+=("the VIP left box $master although this fault should not move it")
    fi
    wait "$(pid_of workload)" || true
    rm -f "$RUN/workload.pid"
    trap - EXIT # the fault is repaired: nothing left to undo
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
    local have missing lost
    have=$( { dbsql db1 "SELECT id FROM shop_0.drill WHERE id > $base AND id <= $((base + ops))";
        dbsql db2 "SELECT id FROM shop_1.drill WHERE id > $base AND id <= $((base + ops))"; } | sort -u)
    missing=$(awk '$1 == "ok" { print $2 }' "$out" | sort -u | comm -23 - <(echo "$have"))
    lost=$(echo "$missing" | grep -c . || true)
    local rows; rows=$(echo "$have" | grep -c . || true)
    echo "  rows present: $rows (errors may or may not have been applied)"
    status
    [ "$oks" -gt 0 ] || fails+=("the workload got no write acknowledged")
    if [ "$kind" = offline-router ] && [ $((errs + rerrs)) -gt 0 ]; then
        fails+=("a planned drain must not fail a client: $errs writes and $rerrs reads failed")
    fi
    [ -z "$missing" ] || fails+=("acknowledged writes missing: $(echo "$missing" | tr '\n' ' ' | sed 's/ $//')")
    if [ ${#fails[@]} -gt 0 ]; then
        local joined
        joined=$(printf '%s; ' "${fails[@]}")
        echo "drill $kind: FAILED: ${joined%; } ($lost of $oks acknowledged writes lost; workload log: $out)" >&2
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
*) echo "usage: $0 up|down|status|where|drill [kill-master|stop-master|kill-router|kill-balancer-backend|partition|kill-replica|stop-replication|offline-router]" >&2; exit 2 ;;
esac
