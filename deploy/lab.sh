#!/usr/bin/env bash
# The two-box lab on one machine (the README's main job):
#   sudo deploy/lab.sh up | down | status
set -euo pipefail
cd "$(dirname "$0")/.."
. deploy/common.sh

cmd="${1:-up}"
case "$cmd" in
up)
    need_root "$@"
    apt_install gcc libc6-dev iproute2 git
    ensure_rust
    bin=$(build_tandem release)
    echo "==> built $bin ($("$bin" version))"
    echo "==> checking the two-box example configs together"
    "$bin" check -c config/two-box/box-a.yaml -c config/two-box/box-b.yaml
    cat <<'TXT'

The two-box lab is not built yet. It needs the VRRP, balancer and router subsystems,
which land in their own issues; this build has the config model and validator
(`tandem check`), the daemon shell (`tandem run`: observe endpoint, SIGHUP reload,
systemd notify) and `tandem status`. Nothing was started and nothing was changed on
this machine.

Try now:
  target/release/tandem check -c config/two-box/box-a.yaml -c config/two-box/box-b.yaml
  target/release/tandem run -c config/observe-only.yaml &   # then:
  target/release/tandem status -c config/observe-only.yaml
TXT
    ;;
down)
    need_root "$@"
    echo "lab: nothing to remove (the lab is not built yet)"
    ;;
status)
    echo "lab: not built yet"
    ;;
*)
    echo "usage: $0 up|down|status" >&2
    exit 2
    ;;
esac
