#!/usr/bin/env bash
# oxdl in one command, with no Oxen server or network of its own (the first build fetches crates): serves a
# small sample repository (text, CSV, JSON and a PNG image) on this machine with oxdl-testserver, then
# downloads from it: one file, a whole directory tree (`get -r`), a hash list (`batch`), and checks it (`verify`).
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
"$BIN/oxdl-testserver" "$WORK/sample" --repo ox/demo >"$WORK/url" 2>"$WORK/server.log" &
SERVER=$!
for _ in $(seq 100); do
    [ -s "$WORK/url" ] && break
    sleep 0.1
done
[ -s "$WORK/url" ] || { echo "demo: the server did not start:" >&2; cat "$WORK/server.log" >&2; exit 1; }
export OXDL_HOST
OXDL_HOST=$(head -n1 "$WORK/url")
cd "$WORK"
mkdir -p here && cd here

export PATH="$BIN:$PATH"
# show WORDS...: prints the command as it would be typed, then runs it.
show() {
    local shown
    shown=$(printf '%q ' "$@")
    printf '\n$ %s\n' "${shown% }"
    "$@"
}

echo "demo: serving a sample repository as ox/demo at $OXDL_HOST (OXDL_HOST is set to it)"
show oxdl get ox/demo main/images/gradient.png
show ls -l gradient.png
show oxdl get ox/demo main/hello.txt -o -
show oxdl ls ox/demo main -r --long
show oxdl get ox/demo main/nested -r
show find nested -type f
show oxdl get ox/demo main/nested -r
show oxdl get ox/demo main -r --include '*.txt' --dry-run

pipe() {
    printf '\n$ %s\n' "$1"
    sh -c "$1"
}
pipe "oxdl ls ox/demo main -r | oxdl batch ox/demo -C dataset"
show find dataset -type f
pipe "oxdl ls ox/demo main -r | oxdl batch ox/demo -C dataset"
pipe "oxdl ls ox/demo main/nested -r | cut -d' ' -f1 | oxdl batch ox/demo -C by-hash --json"
pipe "oxdl ls ox/demo main -r | oxdl verify - -C dataset"
echo
echo "demo: done. Try 'oxdl --help'; exit codes are listed at its end."
