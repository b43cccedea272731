#!/usr/bin/env bash
# oxdl at dataset scale: a million-line hash list and a 200,000-file directory tree, measured for peak
# memory (the targets: flat, at most 64 MiB) and CPU. Prints a table of medians and writes it into
# bench/RESULTS.md (the section "Lists and trees at scale").
#
#   bench/lists.sh [RUNS]        RUNS timed runs of every case (default 3)
#
# Environment: SHM_DIR (outputs on tmpfs; default /dev/shm/oxdl-lists), DISK_DIR (the tree on disk too;
# default /tmp/oxdl-lists). Needs /usr/bin/time, cp and about 1 GiB of tmpfs.
#
# Cases (1M = 1,000,000 lines):
#   missing    1M `HASH PATH` lines, none of them on the server (each request comes back as a list of
#              missing hashes), from a file and from a pipe; also 1M `HASH` lines.
#   in place   the same 1M lines with every file already there (hard links to 1,000 files, so the case
#              needs no gigabytes), `--skip-existing size`: each file is looked at, none fetched.
#   plan       the 1M lines with `--dry-run`: parsing, checking and planning, with the plan written to
#              /dev/null — oxdl's own CPU per million lines.
#   tree       `get -r` of a generated directory of 200,000 files (100 to a directory), on tmpfs and on disk;
#              then the rerun (all in place, checked by hash) and a dry run.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=bench/section.sh
. "$ROOT/bench/section.sh"
RUNS=${1:-3}
[ "$RUNS" -ge 1 ] || { echo "bench: RUNS must be at least 1" >&2; exit 1; }
SHM=${SHM_DIR:-/dev/shm/oxdl-lists}
DISK=${DISK_DIR:-/tmp/oxdl-lists}
command -v /usr/bin/time >/dev/null || { echo "bench: needs /usr/bin/time" >&2; exit 1; }

cargo build --release --locked -p oxdl -p oxdl-testserver
BIN=$ROOT/target/release
rm -rf "$SHM" "$DISK"
mkdir -p "$SHM/repo" "$DISK"
echo "a file" >"$SHM/repo/readme.txt"

PIDS=()
cleanup() { [ ${#PIDS[@]} -eq 0 ] || kill "${PIDS[@]}" 2>/dev/null || true; rm -rf "$SHM" "$DISK"; }
trap cleanup EXIT
"$BIN/oxdl-testserver" "$SHM/repo" --generate 200000 >"$SHM/url" 2>"$SHM/server.log" &
PIDS+=($!)
for _ in $(seq 600); do [ -s "$SHM/url" ] && break; sleep 0.1; done
URL=$(head -1 "$SHM/url")
[ -n "$URL" ] || { echo "bench: the server did not start" >&2; exit 1; }

# The lists: hashes the server does not have, at paths in 1,000 directories of 1,000 files.
seq 0 999999 | awk '{ printf "7f3a9c0e5b2d4f6819ab0c3d%08x d%04d/f%03d.bin\n", $1, int($1 / 1000), $1 % 1000 }' >"$SHM/paths.txt"
seq 0 999999 | awk '{ printf "7f3a9c0e5b2d4f6819ab0c3d%08x\n", $1 }' >"$SHM/hashes.txt"
# Every path of paths.txt in place: one directory of 1,000 small files, hard-linked 999 times.
mkdir -p "$SHM/inplace/d0000"
for i in $(seq 0 999); do printf 'file %03d\n' "$i" >"$SHM/inplace/d0000/f$(printf %03d "$i").bin"; done
for d in $(seq 1 999); do cp -al "$SHM/inplace/d0000" "$SHM/inplace/d$(printf %04d "$d")"; done

RESULTS=$SHM/results.txt
: >"$RESULTS"
# Runs CASE ENTRIES EXPECTED-EXIT COMMAND...: records wall, user, sys and peak RSS.
measure() {
    local label=$1 entries=$2 expect=$3
    shift 3
    local code=0
    /usr/bin/time -f "%e %U %S %M" -o "$SHM/time.txt" "$@" >/dev/null 2>"$SHM/stderr.txt" || code=$?
    if [ "$code" -ne "$expect" ]; then
        echo "bench: $label ended with exit code $code, not $expect:" >&2
        tail -5 "$SHM/stderr.txt" >&2
        exit 1
    fi
    # With a non-zero exit, time(1) writes a line about it first.
    read -r wall user sys kib < <(tail -1 "$SHM/time.txt")
    echo "$label $entries $wall $user $sys $kib" >>"$RESULTS"
}
OX=("$BIN/oxdl" -q --host "$URL")

for run in $(seq "$RUNS"); do
    echo "bench: run $run of $RUNS" >&2
    rm -rf "$SHM/out"
    measure "missing, HASH PATH, file" 1000000 5 "${OX[@]}" batch ox/demo -C "$SHM/out" "$SHM/paths.txt"
    rm -rf "$SHM/out"
    measure "missing, HASH PATH, pipe" 1000000 5 sh -c "cat '$SHM/paths.txt' | '$BIN/oxdl' -q --host '$URL' batch ox/demo -C '$SHM/out' -"
    rm -rf "$SHM/out"
    measure "missing, HASH, file" 1000000 5 "${OX[@]}" batch ox/demo -C "$SHM/out" "$SHM/hashes.txt"
    rm -rf "$SHM/out"
    measure "missing, HASH, pipe" 1000000 5 sh -c "cat '$SHM/hashes.txt' | '$BIN/oxdl' -q --host '$URL' batch ox/demo -C '$SHM/out' -"
    measure "in place, HASH PATH, file" 1000000 0 "${OX[@]}" batch ox/demo -C "$SHM/inplace" --skip-existing size "$SHM/paths.txt"
    measure "in place, HASH PATH, pipe" 1000000 0 sh -c "cat '$SHM/paths.txt' | '$BIN/oxdl' -q --host '$URL' batch ox/demo -C '$SHM/inplace' --skip-existing size -"
    rm -rf "$SHM/out"
    measure "plan (dry run), HASH PATH, file" 1000000 0 "${OX[@]}" batch ox/demo -C "$SHM/out" --dry-run "$SHM/paths.txt"
    rm -rf "$SHM/tree" "$DISK/tree"
    measure "tree 200k, get -r, tmpfs" 200000 0 "${OX[@]}" get ox/demo main/generated -r -o "$SHM/tree"
    measure "tree 200k, get -r, disk" 200000 0 "${OX[@]}" get ox/demo main/generated -r -o "$DISK/tree"
    rm -rf "$DISK/tree"
    measure "tree 200k, rerun (in place), tmpfs" 200000 0 "${OX[@]}" get ox/demo main/generated -r -o "$SHM/tree"
    measure "tree 200k, dry run" 200000 0 "${OX[@]}" get ox/demo main/generated -r -o "$SHM/none" --dry-run
    rm -rf "$SHM/tree"
done

TABLE=$(awk '
    { key = $1; for (i = 2; i <= NF - 5; i++) key = key " " $i
      entries[key] = $(NF - 4); n[key]++
      wall[key, n[key]] = $(NF - 3); cpu[key, n[key]] = $(NF - 2) + $(NF - 1); kib[key, n[key]] = $NF
      if (!(key in seen)) { seen[key] = 1; order[++count] = key } }
    function median(arr, key, m,    i, j, t, v) {
        for (i = 1; i <= m; i++) v[i] = arr[key, i]
        for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
        return (m % 2) ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2
    }
    function maximum(arr, key, m,    i, v) { v = arr[key, 1]; for (i = 2; i <= m; i++) if (arr[key, i] > v) v = arr[key, i]; return v }
    END {
        print "| case | entries | median wall (s) | median CPU, user+sys (s) | peak RSS, max of runs (MiB) | bytes of RSS per entry |"
        print "|---|---:|---:|---:|---:|---:|"
        for (c = 1; c <= count; c++) {
            k = order[c]; m = n[k]; peak = maximum(kib, k, m)
            printf "| %s | %d | %.2f | %.2f | %.1f | %.0f |\n", k, entries[k], median(wall, k, m), median(cpu, k, m), peak / 1024, peak * 1024 / entries[k]
        }
    }' "$RESULTS")

CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
SECTION=$(cat <<EOF
## Lists and trees at scale

Produced by \`bench/lists.sh $RUNS\` on $(date +%Y-%m-%d): $(nproc) cores ($CPU), Linux $(uname -r); oxdl built with
\`--release\`; medians of $RUNS runs, outputs on tmpfs unless the case says disk. Peak RSS is the whole oxdl
process; "bytes per entry" divides it by the entries, so it includes the ~10 MiB any run takes.
"missing": a million lines the server has none of (requests of 1,000, each answered with the list of missing
hashes, then printed as \`missing: HASH\` lines on stderr); "in place": every file already there
(\`--skip-existing size\`, each looked at); "plan": \`--dry-run\`, the list parsed, checked and planned (two
readings of the file) and printed to /dev/null; "tree": \`get -r\` of 200,000 generated files, 100 to a directory.

$TABLE
EOF
)
write_section "## Lists and trees at scale" "$SECTION"
echo "$TABLE"
