#!/usr/bin/env bash
# Stops the private PostgreSQL cluster the tests started (target/test-pg, or
# where its pg-location file says it was relocated to).
set -u
root="${CARGO_TARGET_DIR:-target}/test-pg"
[ -f "$root/pg-location" ] && root=$(cat "$root/pg-location")
pgdata="$root/pg"
[ -f "$pgdata/postmaster.pid" ] || exit 0
bindir=$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)
if [ "$(id -u)" -eq 0 ]; then
  owner=$(stat -c %U "$pgdata")
  runuser -u "$owner" -- "$bindir/pg_ctl" -D "$pgdata" stop -m fast -s || true
else
  "$bindir/pg_ctl" -D "$pgdata" stop -m fast -s || true
fi
echo "stopped the test database cluster ($pgdata)"
