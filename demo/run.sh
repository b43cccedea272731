#!/usr/bin/env bash
# oxdl in one command, offline: serves a small sample repository (text, CSV, JSON and a PNG image) on this
# machine with oxdl-testserver, then downloads from it with `oxdl get` and `oxdl batch`.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
echo "demo: building oxdl and oxdl-testserver (the first build takes a minute)" >&2
cargo build --locked --quiet -p oxdl -p oxdl-testserver
BIN=$ROOT/target/debug

WORK=$(mktemp -d)
SERVER=
cleanup() {
    [ -z "$SERVER" ] || kill "$SERVER" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
cp -r "$ROOT/tests/fixtures/oxen-server-0.50.7/repo" "$WORK/sample"
"$BIN/oxdl-testserver" "$WORK/sample" --repo ox/demo --write-list "$WORK/files.txt" >"$WORK/url" 2>/dev/null &
SERVER=$!
for _ in $(seq 100); do
    [ -s "$WORK/url" ] && break
    sleep 0.1
done
[ -s "$WORK/url" ] || { echo "demo: the server did not start" >&2; exit 1; }
export OXDL_HOST
OXDL_HOST=$(head -n1 "$WORK/url")
cd "$WORK"
mkdir -p here && cd here

export PATH="$BIN:$PATH"
show() {
    printf '\n\033[1m$ %s\033[0m\n' "$*"
    "$@"
}

echo "demo: serving a sample repository as ox/demo at $OXDL_HOST (OXDL_HOST is set to it)"
show oxdl get ox/demo main/images/gradient.png
show oxdl get ox/demo main/hello.txt -o -
show ls -l gradient.png
show cat ../files.txt
show oxdl batch ox/demo ../files.txt -C dataset
show find dataset -type f
show sh -c "cut -d' ' -f1 ../files.txt | oxdl batch ox/demo -C by-hash"
show ls by-hash
show oxdl batch ox/demo ../files.txt -C dataset
echo
echo "demo: done. Try 'oxdl --help'; exit codes are listed at its end."
