#!/usr/bin/env bash
# Stops or removes an embedded PostgreSQL cluster made by riverchief
# (crates/store/src/embedded.rs) without building anything:
#
#   .ci/embedded-pg.sh stop  DATA_DIR   # pg_ctl stop -m fast, if running
#   .ci/embedded-pg.sh clean DATA_DIR   # stop, then delete DATA_DIR and the
#                                       # cluster's relocated copy, if any
#
# DATA_DIR is a riverchief data directory (`.riverchief`) or the test
# cluster's (`target/test-pg`). The cluster is in DATA_DIR/pg, or, when
# DATA_DIR/pg-location exists, in the directory it names (root relocates
# clusters the `postgres` user cannot reach to /var/lib/riverchief/<hash>).
set -euo pipefail

usage() { echo "usage: $0 stop|clean DATA_DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
action=$1
data_dir=$2

root=$data_dir
if [ -f "$data_dir/pg-location" ]; then
  root=$(head -n 1 "$data_dir/pg-location")
fi
pgdata=$(realpath -m -- "$root/pg")

stop() {
  [ -f "$pgdata/postmaster.pid" ] || return 0
  local major bindir
  major=$(cat "$pgdata/PG_VERSION" 2>/dev/null || true)
  if [ -n "$major" ] && [ -x "/usr/lib/postgresql/$major/bin/pg_ctl" ]; then
    bindir=/usr/lib/postgresql/$major/bin
  else
    bindir=$(pg_config --bindir 2>/dev/null || dirname "$(command -v pg_ctl)")
  fi
  local as=()
  if [ "$(id -u)" -eq 0 ]; then
    # PostgreSQL runs as the cluster's owner (`postgres` when riverchief ran as root).
    as=(runuser -u "$(stat -c %U "$pgdata")" --)
  fi
  # From /, which the cluster's owner can always enter.
  cd /
  if ! "${as[@]}" "$bindir/pg_ctl" status -D "$pgdata" >/dev/null 2>&1; then
    return 0 # a stale pid file: nothing runs
  fi
  echo "stopping the PostgreSQL cluster in $pgdata"
  "${as[@]}" "$bindir/pg_ctl" stop -D "$pgdata" -m fast -w -t 60 -s
  cd - >/dev/null
}

case $action in
  stop)
    stop
    ;;
  clean)
    stop
    if [ "$root" != "$data_dir" ]; then
      case $root in
        /var/lib/riverchief/*) echo "removing $root"; rm -rf -- "$root" ;;
        *) echo "not removing $root (named by $data_dir/pg-location): unexpected place" >&2 ;;
      esac
    fi
    if [ -e "$data_dir" ]; then
      echo "removing $data_dir"
      rm -rf -- "$data_dir"
    fi
    ;;
  *) usage ;;
esac
