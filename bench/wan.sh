#!/usr/bin/env bash
# oxdl over a WAN path, where round trips and not bytes decide: a tree of 3,500 small files in 421
# directories, served by one oxdl-testserver per latency (`--latency MS`: each request answered MS late, each
# new connection MS more, as a TCP handshake), timed for `get -r`, `ls -r` and `get` of one file. The
# server's `--log-requests` lines say how many requests and new connections each command made. Also times
# what a large `page_size` costs the server (curl, latency 0). Prints the tables and writes them into
# bench/RESULTS.md (the section "Round trips: the tree over a WAN path (bench/wan.sh)").
#
#   bench/wan.sh [RUNS]          RUNS timed runs of every command (default 5), after one warm-up each
#
# Environment: LATENCIES (milliseconds, default "0 20 50"), TIMEOUT (seconds one command may take before it
# is stopped and reported as timed out, default 300), BENCH_DIR (data and on-disk outputs; default
# /tmp/oxdl-wan), SHM_DIR (tmpfs outputs; default /dev/shm/oxdl-wan), PAGE_RUNS (curl runs per listing
# query, default 11), CARGO_TARGET_DIR (where the release build goes; default target/), BENCH_NOTE (a line
# on the machine's state for RESULTS.md). With RUNS=3 the three latencies take about 6 minutes (most of
# it `get -r` at 50 ms).
#
# Commands (URL: the server of one latency; OUT: a fresh directory each run, on tmpfs and on disk):
#   get -r     oxdl --host URL get ox/demo main/tree -r -o OUT
#   ls -r      oxdl --host URL ls ox/demo main/tree -r >/dev/null
#   get        oxdl --host URL get ox/demo main/hello.txt -o OUT/hello.txt
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=bench/section.sh
. "$ROOT/bench/section.sh"
RUNS=${1:-5}
[ "$RUNS" -ge 1 ] || { echo "bench: RUNS must be at least 1" >&2; exit 1; }
LATENCIES=${LATENCIES:-0 20 50}
TIMEOUT=${TIMEOUT:-300}
WORK=${BENCH_DIR:-/tmp/oxdl-wan}
SHM=${SHM_DIR:-/dev/shm/oxdl-wan}
PAGE_RUNS=${PAGE_RUNS:-11}

for tool in curl flock timeout /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "bench: needs $tool" >&2; exit 1; }
done

mkdir -p "$WORK" "$SHM"
# Two runs on the same directories would delete each other's outputs: the second one stops here.
exec 8>"$WORK/.lock" 9>"$SHM/.lock"
flock -n 8 && flock -n 9 ||
    { echo "bench: another bench/wan.sh is using $WORK or $SHM (set BENCH_DIR and SHM_DIR)" >&2; exit 1; }

cargo build --release --locked -p oxdl -p oxdl-testserver
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release

# The data, made once: tree/dNN/sNN/fN.txt (20 × 20 × 5 = 2,000 files), tree/big/fNNNN.txt (1,500 files in
# one directory), hello.txt. Every file's bytes differ (no two share a hash).
DATA=$WORK/data
if [ ! -e "$DATA.done" ]; then
    echo "bench: making the tree" >&2
    rm -rf "$DATA"
    mkdir -p "$DATA/tree/big"
    echo "hello, WAN" >"$DATA/hello.txt"
    for d in $(seq -w 0 19); do
        for s in $(seq -w 0 19); do
            mkdir -p "$DATA/tree/d$d/s$s"
            for f in 0 1 2 3 4; do echo "tree file d$d/s$s/f$f" >"$DATA/tree/d$d/s$s/f$f.txt"; done
        done
    done
    for f in $(seq -w 0 1499); do echo "big file $f" >"$DATA/tree/big/f$f.txt"; done
    touch "$DATA.done"
fi
FILES=$(find "$DATA/tree" -type f | wc -l)
DIRS=$(find "$DATA/tree" -mindepth 1 -type d | wc -l)
TREE_BYTES=$(find "$DATA/tree" -type f -printf '%s\n' | awk '{ s += $1 } END { printf "%d\n", s }')

PIDS=()
cleanup() { [ ${#PIDS[@]} -eq 0 ] || kill "${PIDS[@]}" 2>/dev/null || true; rm -rf "$SHM"; }
trap cleanup EXIT

# One server per latency; its stderr is the request log.
for ms in $LATENCIES; do
    rm -f "$WORK/url-$ms"
    "$BIN/oxdl-testserver" "$DATA" --latency "$ms" --log-requests >"$WORK/url-$ms" 2>"$WORK/server-$ms.log" &
    PIDS+=($!)
    for _ in $(seq 600); do
        [ -s "$WORK/url-$ms" ] && break
        sleep 0.1
    done
    [ -s "$WORK/url-$ms" ] || { echo "bench: the server for $ms ms did not start" >&2; exit 1; }
done
url() { head -n1 "$WORK/url-$1"; }

RESULTS=$WORK/results.txt
: >"$RESULTS"
OUT=$WORK/out
SHMOUT=$SHM/out

# The lines the server for MS ms has logged so far.
logged() { wc -l <"$WORK/server-$1.log"; }

# run_once LABEL MS TIMED COMMAND...: one run into fresh outputs; when TIMED is 1, records the wall time, the
# requests (and listings among them) and the new connections that the server logged meanwhile.
declare -A TIMED_OUT
run_once() {
    local label=$1 ms=$2 timed=$3
    shift 3
    rm -rf "$OUT" "$SHMOUT" && mkdir -p "$OUT" "$SHMOUT" && sync
    local before code=0
    before=$(logged "$ms")
    /usr/bin/time -f "%e" -o "$WORK/time.txt" timeout "$TIMEOUT" "$@" >/dev/null 2>"$WORK/last.err" || code=$?
    if [ "$code" -eq 124 ]; then
        echo "bench: $label at $ms ms took more than ${TIMEOUT}s; stopped, not run again" >&2
        TIMED_OUT[$label/$ms]=1
        echo "$label $ms $TIMEOUT - - - timeout" >>"$RESULTS"
        return 0
    elif [ "$code" -ne 0 ]; then
        echo "bench: $label at $ms ms failed:" >&2
        cat "$WORK/last.err" >&2
        exit 1
    fi
    check_output "$label" "$ms"
    [ "$timed" -eq 1 ] || return 0
    local secs requests listings fresh
    secs=$(tail -1 "$WORK/time.txt")
    read -r requests listings fresh < <(tail -n +"$((before + 1))" "$WORK/server-$ms.log" | awk '
        /^oxdl-testserver: connection / { n++; if ($5 == "GET" && $6 ~ /\/dir\//) d++; if ($4 == "(new)") c++ }
        END { printf "%d %d %d\n", n, d, c }')
    echo "$label $ms $secs $requests $listings $fresh ok" >>"$RESULTS"
    echo "bench: $label at $ms ms: ${secs}s, $requests requests ($listings listings), $fresh new connections" >&2
}

# check_output LABEL MS: what the run just made is whole (get -r: every file of the tree; get: hello.txt).
check_output() {
    local got
    case $1 in
        get-r-shm | get-r-disk)
            local dir=$OUT/tree
            [ "$1" = get-r-disk ] || dir=$SHMOUT/tree
            got=$(find "$dir" -type f ! -name '.*' | wc -l)
            [ "$got" = "$FILES" ] || { echo "bench: $1 at $2 ms wrote $got files, expected $FILES" >&2; exit 1; }
            ;;
        get) cmp -s "$SHMOUT/hello.txt" "$DATA/hello.txt" || { echo "bench: get at $2 ms wrote no hello.txt" >&2; exit 1; } ;;
    esac
}

for ms in $LATENCIES; do
    U=$(url "$ms")
    OX=("$BIN/oxdl" -q --host "$U")
    CMD_get_r_shm=("${OX[@]}" get ox/demo main/tree -r -o "$SHMOUT/tree")
    CMD_get_r_disk=("${OX[@]}" get ox/demo main/tree -r -o "$OUT/tree")
    CMD_ls_r=("${OX[@]}" ls ox/demo main/tree -r)
    CMD_get=("${OX[@]}" get ox/demo main/hello.txt -o "$SHMOUT/hello.txt")
    tools=(get-r-shm get-r-disk ls-r get)
    for round in $(seq 0 "$RUNS"); do
        echo "bench: $ms ms, $([ "$round" -eq 0 ] && echo warm-up || echo "run $round of $RUNS")" >&2
        # Each round starts with another command, so that none always follows the same one.
        for i in $(seq 0 $((${#tools[@]} - 1))); do
            tool=${tools[$(((i + round) % ${#tools[@]}))]}
            [ -z "${TIMED_OUT[$tool/$ms]:-}" ] || continue
            declare -n cmd="CMD_${tool//-/_}"
            run_once "$tool" "$ms" "$((round > 0 ? 1 : 0))" "${cmd[@]}"
            unset -n cmd
        done
    done
    # ls -r lists every file (an untimed run: the timed ones write to /dev/null).
    got=$("${CMD_ls_r[@]}" | wc -l)
    [ "$got" = "$FILES" ] || { echo "bench: ls -r at $ms ms listed $got lines, expected $FILES" >&2; exit 1; }
done

TABLE=$(awk '
    { key = $1 " " $2; n[key]++; secs[key, n[key]] = $3; req[key] = $4; dirs[key] = $5; conns[key] = $6
      if ($7 == "timeout") out[key] = 1
      if ($4 != "-") { if (!(key in rmin) || $4 < rmin[key]) rmin[key] = $4; if ($4 > rmax[key]) rmax[key] = $4 }
      if (!(key in seen)) { seen[key] = 1; order[++count] = key } }
    function median(key, m,    i, j, t, v) {
        for (i = 1; i <= m; i++) v[i] = secs[key, i]
        for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
        return (m % 2) ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2
    }
    END {
        print "| command | latency (ms) | median wall (s) | requests (listings) | new connections | wall ÷ latency |"
        print "|---|---:|---:|---:|---:|---:|"
        split("get-r-shm get-r-disk ls-r get", tools, " ")
        name["get-r-shm"] = "get -r, to tmpfs"; name["get-r-disk"] = "get -r, to disk"; name["ls-r"] = "ls -r"; name["get"] = "get (one file)"
        for (t = 1; t <= 4; t++) for (c = 1; c <= count; c++) {
            key = order[c]; split(key, part, " ")
            if (part[1] != tools[t]) continue
            if (key in out) { printf "| %s | %s | > %s (timed out) | - | - | - |\n", name[part[1]], part[2], secs[key, 1]; continue }
            s = median(key, n[key])
            r = (rmin[key] == rmax[key]) ? req[key] : rmin[key] "–" rmax[key]
            ratio = part[2] > 0 ? sprintf("%.0f", s * 1000 / part[2]) : "-"
            printf "| %s | %s | %.2f | %s (%s) | %s | %s |\n", name[part[1]], part[2], s, r, dirs[key], conns[key], ratio
        }
    }' "$RESULTS")
echo "$TABLE"

# What a listing costs the server: curl against the latency-0 server (or the lowest latency run), the
# median of PAGE_RUNS. Each run is one curl on one connection: a cheap request first (not counted), so that
# the connection's setup is not timed, then the query's requests, whose times are added up. "all 15 pages"
# is every page of tree/big at the default size.
FIRST=$(echo "$LATENCIES" | tr ' ' '\n' | sort -n | head -1)
DIR_URL="$(url "$FIRST")/api/repos/ox/demo/dir/main/tree"
PAGES=$WORK/pages.txt
: >"$PAGES"
measure_query() {
    local label=$1
    shift
    local args=(-o /dev/null "$DIR_URL?depth=0") url totals
    for url in "$@"; do args+=(-o /dev/null "$url"); done
    for _ in $(seq "$PAGE_RUNS"); do
        totals=$(curl -fsS -w '%{time_total} %{size_download}\n' "${args[@]}" |
            awk 'NR > 1 { t += $1; b += $2 } END { printf "%.6f %d\n", t, b }')
        echo "$label|$totals" >>"$PAGES"
    done
}
measure_query "tree/big, page_size=100 (first page)" "$DIR_URL/big?page_size=100"
all_pages=()
for p in $(seq 1 15); do all_pages+=("$DIR_URL/big?page=$p&page_size=100"); done
measure_query "tree/big, page_size=100, all 15 pages" "${all_pages[@]}"
measure_query "tree/big, page_size=10000 (one page)" "$DIR_URL/big?page_size=10000"
measure_query "tree, depth=-1 (everything; what ls -r asks)" "$DIR_URL?page=1&page_size=100&depth=-1"
measure_query "tree, depth=0 (its 21 directories)" "$DIR_URL?page=1&page_size=100&depth=0"
PAGE_TABLE=$(awk -F'|' '
    { split($2, v, " "); key = $1; n[key]++; t[key, n[key]] = v[1]; bytes[key] = v[2]; if (!(key in seen)) { seen[key] = 1; order[++count] = key } }
    function median(key, m,    i, j, x, w) {
        for (i = 1; i <= m; i++) w[i] = t[key, i]
        for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (w[j] < w[i]) { x = w[i]; w[i] = w[j]; w[j] = x }
        return (m % 2) ? w[(m + 1) / 2] : (w[m / 2] + w[m / 2 + 1]) / 2
    }
    END {
        print "| query | median time (ms) | bytes |"
        print "|---|---:|---:|"
        for (c = 1; c <= count; c++) { k = order[c]; printf "| %s | %.1f | %d |\n", k, median(k, n[k]) * 1000, bytes[k] }
    }' "$PAGES")
echo "$PAGE_TABLE"

CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
SECTION=$(cat <<EOF
## Round trips: the tree over a WAN path (bench/wan.sh)

Produced by \`bench/wan.sh $RUNS\` on $(date -u +%Y-%m-%d) at commit $COMMIT: $(nproc) cores ($CPU), Linux $(uname -r);
oxdl built with \`--release\`; median wall time of $RUNS runs after one warm-up, commands interleaved.
$([ -z "${BENCH_NOTE:-}" ] || echo "$BENCH_NOTE")
Data: \`tree/\` = $FILES files ($TREE_BYTES bytes) in $DIRS directories — 20 directories × 20 subdirectories × 5 small
files, plus \`tree/big\` with 1,500 — and a root \`hello.txt\`, served by \`oxdl-testserver --latency MS\`: each
request is answered MS late, and each new connection waits MS more before its first request (the handshake), so
a request costs one round trip on a kept-alive connection and two on a new one. "requests" and "new
connections" are the server's \`--log-requests\` lines during each run (the same in every run unless a range
is shown); "listings" are the \`GET …/dir/…\` among them. "wall ÷ latency" is the wall time in round trips:
what a command costs on a real WAN path is about this many times its round-trip time.

$TABLE

What a listing costs the server (curl on a warm connection, $FIRST ms, loopback, median of $PAGE_RUNS; the
time is from the request to the last byte):

$PAGE_TABLE
EOF
)
write_section "## Round trips: the tree over a WAN path (bench/wan.sh)" "$SECTION"
echo "bench: wrote bench/RESULTS.md" >&2
