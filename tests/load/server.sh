# Shared by the load tests (sourced): builds the release server and the
# given load generator, starts `riverchief serve --demo` on a private
# embedded database in a temporary directory on a free loopback port, and
# stops and removes it all on exit. Sets $base (the server's URL) and
# $target (the cargo target directory). DATABASE_URL is ignored on purpose.
#
# Usage: start_server GENERATOR_BIN
# RIVERCHIEF_BIN=/path/to/riverchief runs that server instead of building
# one (e.g. the binary of an earlier commit, for a side-by-side baseline).

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
cargo=${CARGO:-cargo}
target=${CARGO_TARGET_DIR:-$repo/target}
work=$(mktemp -d -t riverchief-load.XXXXXX)
server_pid=

stop_server() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        # Graceful shutdown stops the embedded PostgreSQL too.
        for _ in $(seq 1 100); do
            kill -0 "$server_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$server_pid" 2>/dev/null || true
    fi
    # Also the cluster's relocated copy, when root's cluster had to move.
    "$repo/.ci/embedded-pg.sh" clean "$work/data" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap stop_server EXIT

start_server() {
    local server_bin=${RIVERCHIEF_BIN:-}
    if [ -n "$server_bin" ]; then
        echo "load test: building $1; the server is $server_bin"
        "$cargo" build --release --quiet -p e2e --bin "$1"
    else
        echo "load test: building the release server and $1"
        "$cargo" build --release --quiet -p riverchief --bin riverchief -p e2e --bin "$1"
        server_bin=$target/release/riverchief
    fi
    local port
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    base="http://127.0.0.1:$port"
    echo "load test: starting riverchief on $base (data in $work)"
    env -u DATABASE_URL RIVERCHIEF_DATA_DIR="$work/data" RUST_LOG=warn \
        "$server_bin" serve --demo --listen "127.0.0.1:$port" \
        >"$work/server.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 1 600); do
        if curl -fsS "$base/readyz" >/dev/null 2>&1; then
            break
        fi
        if ! kill -0 "$server_pid" 2>/dev/null; then
            echo "load test: the server exited:"
            cat "$work/server.log"
            exit 1
        fi
        sleep 0.2
    done
    curl -fsS "$base/readyz" >/dev/null || { echo "load test: server not ready"; cat "$work/server.log"; exit 1; }
    echo "load test: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
}
