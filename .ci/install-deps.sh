#!/usr/bin/env bash
# Installs what riverchief needs when it is missing: PostgreSQL 15+ with
# PostGIS 3 (the embedded database), and for the tests Chromium, a CJK font
# and poppler-utils. Idempotent and non-interactive. Without root (and no
# sudo) it prints the exact command instead.
set -euo pipefail

want=()
pg_bindir=$(pg_config --bindir 2>/dev/null || true)
major=15
for v in 17 16 15; do
  if [ -x "/usr/lib/postgresql/$v/bin/postgres" ]; then major=$v; break; fi
done
if ! [ -x "/usr/lib/postgresql/$major/bin/initdb" ] && ! { [ -n "$pg_bindir" ] && [ -x "$pg_bindir/initdb" ]; }; then
  want+=("postgresql-$major")
fi
if ! ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1; then
  want+=("postgresql-$major-postgis-3")
fi
if [ "${RIVERCHIEF_SKIP_TEST_DEPS:-}" != 1 ]; then
  command -v chromium >/dev/null 2>&1 || want+=(chromium)
  fc-list 2>/dev/null | grep -qi "wenquanyi\|wqy" || want+=(fonts-wqy-microhei)
  command -v pdftotext >/dev/null 2>&1 || want+=(poppler-utils)
fi

if [ ${#want[@]} -eq 0 ]; then
  echo "deps: PostgreSQL, PostGIS and test tools are installed"
  exit 0
fi

echo "deps: installing ${want[*]}"
if [ "$(id -u)" -eq 0 ]; then
  run=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  run=(sudo)
else
  echo "error: missing ${want[*]}; install them with:" >&2
  echo "  sudo apt-get install -y ${want[*]}" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: no apt-get here; install PostgreSQL $major with PostGIS 3 (and ${want[*]}) with your package manager" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${run[@]}" apt-get update -q
"${run[@]}" apt-get install -y -q --no-install-recommends "${want[@]}"
