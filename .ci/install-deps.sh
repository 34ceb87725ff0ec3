#!/usr/bin/env bash
# Installs what riverchief needs on Debian/Ubuntu, and only what is missing:
# PostgreSQL + PostGIS (the embedded database and the tests), Chromium and a
# CJK font (browser tests, PDF checks), poppler-utils (pdftotext/pdftoppm in
# report tests), make; then the npm packages of tests/browser and map-ui
# when those exist. Idempotent and non-interactive; `apt-get update` runs
# only when something is missing.
#
#   .ci/install-deps.sh            everything (CI, `make test`)
#   .ci/install-deps.sh --runtime  only what `riverchief serve` needs
#
# PG_MAJOR=16 picks another PostgreSQL major (default: the newest installed,
# else 15, Debian 12's).
# Not root and no password-less sudo: prints the apt-get command and fails.
set -euo pipefail

cd "$(dirname "$0")/.."

runtime_only=false
case "${1:-}" in
  --runtime) runtime_only=true ;;
  "") ;;
  *) echo "usage: $0 [--runtime]" >&2; exit 2 ;;
esac

log() { printf 'install-deps: %s\n' "$*"; }

installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# --- Debian packages -------------------------------------------------------
if [ -z "${PG_MAJOR:-}" ]; then
  PG_MAJOR=$(ls -d /usr/lib/postgresql/*/bin/postgres 2>/dev/null \
    | sed -E 's|/usr/lib/postgresql/([0-9]+)/.*|\1|' | sort -n | tail -n 1)
  PG_MAJOR=${PG_MAJOR:-15}
fi

# fonts-wqy-microhei: the CJK font the server embeds in PDF reports (runtime).
wanted=("postgresql-$PG_MAJOR" "postgresql-$PG_MAJOR-postgis-3" fonts-wqy-microhei)
if ! $runtime_only; then
  # openssl: the HTTPS test makes its certificate with it.
  wanted+=(chromium poppler-utils openssl)
  command -v make >/dev/null 2>&1 || wanted+=(make)
fi

missing=()
for pkg in "${wanted[@]}"; do
  installed "$pkg" || missing+=("$pkg")
done

if [ ${#missing[@]} -eq 0 ]; then
  log "system packages present: ${wanted[*]}"
else
  if ! command -v apt-get >/dev/null 2>&1; then
    log "missing: ${missing[*]}; this script knows apt-get only (Debian/Ubuntu)."
    log "install PostgreSQL $PG_MAJOR+ with PostGIS 3, Chromium, WenQuanYi Micro Hei and poppler-utils with your package manager"
    exit 1
  fi
  if [ "$(id -u)" -eq 0 ]; then
    sudo=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo)
  else
    log "missing: ${missing[*]}. Run as root:"
    echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
    exit 1
  fi
  log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -q
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Debian's postgresql package creates and starts a system cluster on port
# 5432. riverchief never uses it (its clusters are private, socket-only), so
# leave it alone rather than guess whether someone else does.

$runtime_only && exit 0

# --- npm -------------------------------------------------------------------
# `npm ci` only when package-lock.json changed since the last install: a
# stamp in node_modules holds the lock file's hash.
npm_ci() {
  local dir=$1
  [ -f "$dir/package.json" ] || return 0
  if ! command -v npm >/dev/null 2>&1; then
    log "$dir needs node and npm, which are not installed (apt-get install nodejs npm)"
    exit 1
  fi
  local stamp="$dir/node_modules/.riverchief-lock-hash" hash
  hash=$(cat "$dir/package.json" "$dir/package-lock.json" 2>/dev/null | sha256sum | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$hash" ]; then
    log "$dir: node_modules up to date"
    return 0
  fi
  log "$dir: npm ci"
  # The browser tests drive the system Chromium (playwright-core); never
  # download browsers.
  (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 PUPPETEER_SKIP_DOWNLOAD=1 \
    npm ci --no-audit --no-fund)
  echo "$hash" >"$dir/node_modules/.riverchief-lock-hash"
}

npm_ci tests/browser

# map-ui serves MapLibre vendored from its npm package (no CDN). When map-ui
# has a package.json, install it and let its `vendor:check` script (if it
# defines one) verify the committed copy matches the locked version.
if [ -f map-ui/package.json ]; then
  npm_ci map-ui
  (cd map-ui && npm run --if-present vendor:check)
fi
