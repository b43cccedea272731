#!/usr/bin/env bash
# oxdl's benchmark: oxdl against `curl | tar` (batch) and `curl -o` (get), side by side, on one loopback
# oxdl-testserver per data set. Prints a table of medians and writes it to bench/RESULTS.md.
#
#   bench/run.sh [RUNS]          RUNS timed runs of every command (default 5), after one warm-up each
#
# Environment: BENCH_DIR (data and outputs; default /tmp/oxdl-bench, needs about 7 GiB free),
# JOBS (oxdl --jobs for the parallel rows; default 4), SHM_DIR (tmpfs outputs; default /dev/shm/oxdl-bench,
# needs 256 MiB), RATE (bytes per second per connection of the WAN model; default 20000000), BENCH_NOTE (a line
# on the machine's state for RESULTS.md).
#
# Ranged downloads (`get` of large files through /chunk) run against a second server on the same data that
# paces every connection to RATE (a WAN path where one stream is capped), and against the unlimited one with
# the output on tmpfs and on disk.
#
# The server keeps each batch answer it has sent (--archive-cache) and replays it, so the timed runs measure
# the clients, not the server's gzip; the warm-up run of each command fills that cache.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RUNS=${1:-5}
[ "$RUNS" -ge 3 ] || { echo "bench: at least 3 runs make a median worth reading" >&2; exit 1; }
WORK=${BENCH_DIR:-/tmp/oxdl-bench}
JOBS=${JOBS:-4}
SHM=${SHM_DIR:-/dev/shm/oxdl-bench}
RATE=${RATE:-20000000}

for tool in curl tar gzip /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "bench: needs $tool" >&2; exit 1; }
done

cargo build --release --locked -p oxdl -p oxdl-testserver
BIN=$ROOT/target/release
mkdir -p "$WORK"

# Data sets, generated once: deterministic, compressible about 2:1 like tabular data.
for kind in small large one ranged; do
    if [ ! -e "$WORK/data-$kind.done" ]; then
        echo "bench: generating the $kind data set" >&2
        rm -rf "$WORK/data-$kind"
        "$BIN/oxdl-benchdata" "$kind" "$WORK/data-$kind"
        touch "$WORK/data-$kind.done"
    fi
done

PIDS=()
cleanup() { [ ${#PIDS[@]} -eq 0 ] || kill "${PIDS[@]}" 2>/dev/null || true; }
trap cleanup EXIT

# Starts a server for a data set (NAME: the data set, or SET-rate for its rate-limited twin); sets URL_<kind>,
# writes the list files.
start_server() {
    local kind=$1 data=${1%-rate}
    local extra=()
    [ "$kind" = "$data" ] || extra=(--rate "$RATE")
    rm -f "$WORK/url-$kind"
    "$BIN/oxdl-testserver" "$WORK/data-$data" --archive-cache "$WORK/cache-$kind" "${extra[@]}" \
        --write-list "$WORK/list-$kind.txt" >"$WORK/url-$kind" 2>"$WORK/server-$kind.log" &
    PIDS+=($!)
    for _ in $(seq 600); do
        [ -s "$WORK/url-$kind" ] && break
        sleep 0.1
    done
    [ -s "$WORK/url-$kind" ] || { echo "bench: the $kind server did not start" >&2; exit 1; }
    cut -d' ' -f1 "$WORK/list-$kind.txt" >"$WORK/hashes-$kind.txt"
    gzip -c "$WORK/hashes-$kind.txt" >"$WORK/hashes-$kind.gz"
}
for kind in small large one ranged ranged-rate; do start_server "$kind"; done
url() { head -n1 "$WORK/url-$1"; }

RESULTS=$WORK/results.txt
: >"$RESULTS"
OUT=$WORK/out
SHMOUT=$SHM/out

# run_once LABEL BYTES TIMED COMMAND...: one run into a fresh $OUT, recorded when TIMED is 1.
run_once() {
    local label=$1 bytes=$2 timed=$3
    shift 3
    rm -rf "$OUT" "$SHMOUT" && mkdir -p "$OUT" "$SHMOUT" && sync && sleep 1
    if ! /usr/bin/time -f "%e %M" -o "$WORK/time.txt" "$@" >/dev/null 2>"$WORK/last.err"; then
        echo "bench: $label failed:" >&2
        cat "$WORK/last.err" >&2
        exit 1
    fi
    [ "$timed" -eq 1 ] || return 0
    read -r secs kib <"$WORK/time.txt"
    echo "$label $bytes $secs $kib" >>"$RESULTS"
    echo "bench: $label: ${secs}s, $((kib / 1024)) MiB" >&2
}

# The total size of the regular files below a directory (hidden ones excepted).
file_bytes() { find "$1" -type f ! -name '.*' -printf '%s\n' | awk '{ s += $1 } END { printf "%d\n", s }'; }
size_of() { file_bytes "$WORK/data-$1"; }
SMALL=$(size_of small)
LARGE=$(size_of large)
ONE=$(size_of one)
OXDL=("$BIN/oxdl" -q)

# The baseline batch download of a data set: the request body as the server wants it, piped into tar.
curl_tar() {
    echo "curl -fsS -X QUERY --data-binary @'$WORK/hashes-$1.gz' '$(url "$1")/api/repos/ox/demo/versions' | tar -xzf - -C '$OUT'"
}

# case NAME BYTES: runs the commands defined in CMD_<tool> for that case, interleaved run by run so that
# the machine's state (page cache, journal) treats every tool alike; the first round is a warm-up.
run_case() {
    local name=$1 bytes=$2
    shift 2
    local tools=("$@")
    for round in $(seq 0 "$RUNS"); do
        # Each round starts with another tool, so that no tool always follows the same one.
        for i in $(seq 0 $((${#tools[@]} - 1))); do
            local tool=${tools[$(((i + round) % ${#tools[@]}))]}
            local -n cmd="CMD_${name}_${tool//-/_}"
            run_once "$name/$tool" "$bytes" "$((round > 0 ? 1 : 0))" "${cmd[@]}"
            unset -n cmd
        done
    done
    # Every output of the last run is checked, so that a failed download cannot pass for a fast one.
    check_output "$name"
}

# check_output CASE: the last run's files are all there, with the right sizes.
check_output() {
    local expected
    case $1 in
        get) expected=$ONE ;;
        small) expected=$SMALL ;;
        large) expected=$LARGE ;;
        wan) expected=$((512 << 20)) ;;
        shm | disk) expected=$((256 << 20)) ;;
    esac
    local got dir=$OUT
    [ "$1" != shm ] || dir=$SHMOUT
    got=$(file_bytes "$dir")
    [ "$got" = "$expected" ] || { echo "bench: $1 wrote $got bytes, expected $expected" >&2; exit 1; }
}

CMD_small_curl_tar=(sh -c "$(curl_tar small)")
CMD_small_oxdl_j1=("${OXDL[@]}" --host "$(url small)" batch ox/demo "$WORK/hashes-small.txt" -C "$OUT" -j 1)
CMD_small_oxdl_jN=("${OXDL[@]}" --host "$(url small)" batch ox/demo "$WORK/hashes-small.txt" -C "$OUT" -j "$JOBS")
CMD_large_curl_tar=(sh -c "$(curl_tar large)")
CMD_large_oxdl_j1=("${OXDL[@]}" --host "$(url large)" batch ox/demo "$WORK/hashes-large.txt" -C "$OUT" -j 1)
CMD_large_oxdl_jN=("${OXDL[@]}" --host "$(url large)" batch ox/demo "$WORK/hashes-large.txt" -C "$OUT" -j "$JOBS")
CMD_get_curl_o=(curl -fsS -o "$OUT/table.csv" "$(url one)/api/repos/ox/demo/versions/main/table.csv")
CMD_get_oxdl=("${OXDL[@]}" --host "$(url one)" get ox/demo main/table.csv -o "$OUT/table.csv")

run_case small "$SMALL" curl-tar oxdl-j1 oxdl-jN
run_case large "$LARGE" curl-tar oxdl-j1 oxdl-jN
run_case get "$ONE" curl-o oxdl

# Ranged downloads. wan: 512 MiB, each connection paced to RATE; shm and disk: 256 MiB unlimited, the output
# on tmpfs (so the disk's writeback does not decide) and on disk. oxdl-1 is the single stream (threshold
# above the size), for comparison.
versions() { echo "$(url "$1")/api/repos/ox/demo/versions/main/$2"; }
CMD_wan_curl_o=(curl -fsS -o "$OUT/wan.csv" "$(versions ranged-rate wan.csv)")
# The server runs on this machine, where oxdl's default is one stream: ranges are asked for explicitly.
CMD_wan_oxdl=("${OXDL[@]}" --host "$(url ranged-rate)" get ox/demo main/wan.csv -o "$OUT/wan.csv" --chunk-threshold 16M)
CMD_shm_curl_o=(curl -fsS -o "$SHMOUT/loop.csv" "$(versions ranged loop.csv)")
CMD_shm_oxdl=("${OXDL[@]}" --host "$(url ranged)" get ox/demo main/loop.csv -o "$SHMOUT/loop.csv" --chunk-threshold 16M)
CMD_shm_oxdl_1=("${OXDL[@]}" --host "$(url ranged)" get ox/demo main/loop.csv -o "$SHMOUT/loop.csv" --chunk-threshold 1T)
CMD_disk_curl_o=(curl -fsS -o "$OUT/loop.csv" "$(versions ranged loop.csv)")
CMD_disk_oxdl=("${OXDL[@]}" --host "$(url ranged)" get ox/demo main/loop.csv -o "$OUT/loop.csv" --chunk-threshold 16M)
CMD_disk_oxdl_1=("${OXDL[@]}" --host "$(url ranged)" get ox/demo main/loop.csv -o "$OUT/loop.csv" --chunk-threshold 1T)
run_case wan $((512 << 20)) curl-o oxdl
run_case shm $((256 << 20)) curl-o oxdl oxdl-1
run_case disk $((256 << 20)) curl-o oxdl oxdl-1

# Resume: a ranged download of the 512 MiB file from the paced server, killed outright (SIGKILL) when its state
# file records half the file, then run again; the rerun's "N bytes resumed" line says what it did not fetch.
RESUME=$WORK/resume.txt
: >"$RESUME"
state_done() {
    # The bytes a state file records: the sum of its [start, end] pairs.
    tr -c '0-9,[]' ' ' 2>/dev/null <"$1" | grep -o '\[[0-9]*,[0-9]*\]' | tr -d '[]' |
        awk -F, '{ s += $2 - $1 } END { printf "%d\n", s }'
}
measure_resume() {
    rm -rf "$OUT" && mkdir -p "$OUT"
    local size=$((512 << 20)) state=$OUT/.oxdl-resume-wan.csv.state
    "$BIN/oxdl" -q --host "$(url ranged-rate)" get ox/demo main/wan.csv -o "$OUT/wan.csv" --chunk-threshold 16M &
    local pid=$!
    for _ in $(seq 600); do
        [ "$(state_done "$state")" -ge $((size / 2)) ] 2>/dev/null && break
        sleep 0.05
    done
    kill -KILL "$pid"
    wait "$pid" 2>/dev/null || true
    local kept
    kept=$(state_done "$state")
    /usr/bin/time -f "%e %M" -o "$WORK/time.txt" "$BIN/oxdl" --progress none --host "$(url ranged-rate)" \
        get ox/demo main/wan.csv -o "$OUT/wan.csv" --chunk-threshold 16M 2>"$WORK/resume.err"
    local resumed secs kib
    resumed=$(grep -o '[0-9]* bytes resumed' "$WORK/resume.err" | cut -d' ' -f1)
    read -r secs kib <"$WORK/time.txt"
    [ "$(file_bytes "$OUT")" = "$size" ] || { echo "bench: the resumed download is incomplete" >&2; exit 1; }
    echo "$kept ${resumed:-0} $size $secs" >>"$RESUME"
    echo "bench: resume: killed with $kept bytes saved, rerun resumed ${resumed:-0}, ${secs}s" >&2
}
for _ in $(seq "$RUNS"); do measure_resume; done
RESUME_TABLE=$(awk '
    { kept[NR] = $1; fetched[NR] = ($3 - $2) / $3; secs[NR] = $4; size = $3 }
    function median(v, m,    i, j, t) {
        for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
        return (m % 2) ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2
    }
    END {
        print "| killed with saved (median) | rerun fetched, share of the file (median, max) | rerun wall (s, median) |"
        print "|---:|---:|---:|"
        for (i = 1; i <= NR; i++) { k[i] = kept[i] / size; f[i] = fetched[i]; s[i] = secs[i]; if (fetched[i] > worst) worst = fetched[i] }
        printf "| %.0f%% | %.1f%%, %.1f%% | %.2f |\n", median(k, NR) * 100, median(f, NR) * 100, worst * 100, median(s, NR)
    }' "$RESUME")

# The hash-list path: a million hashes on stdin, parsed, validated and sent (the server has none of them,
# so each request of 10,000 comes back as a list of missing hashes). Linear work shows as seconds, not minutes.
seq 1000000 | awk '{ printf "7f3a9c0e5b2d4f6819ab0c3d%08x\n", $1 }' >"$WORK/million.txt"
measure_million() {
    rm -rf "$OUT" && mkdir -p "$OUT"
    /usr/bin/time -f "%e %M" -o "$WORK/time.txt" sh -c \
        "'$BIN/oxdl' -q --host '$(url small)' batch ox/demo -C '$OUT' --batch-size 10000 < '$WORK/million.txt' 2>/dev/null; test \$? -eq 5" ||
        { echo "bench: the million-hash run did not end as expected (exit 5: all missing)" >&2; exit 1; }
    read -r secs kib <"$WORK/time.txt"
    echo "hashlist/oxdl-1M 0 $secs $kib" >>"$RESULTS"
}
for _ in $(seq "$RUNS"); do measure_million; done

# The table: medians per label, ratio of each oxdl row to the baseline of its case.
TABLE=$(awk '
    { key = $1; bytes[key] = $2; n[key]++; secs[key, n[key]] = $3; kib[key, n[key]] = $4; if (!(key in seen)) { seen[key] = 1; order[++count] = key } }
    function median(arr, key, m,    i, j, t, v) {
        for (i = 1; i <= m; i++) v[i] = arr[key, i]
        for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
        return (m % 2) ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2
    }
    END {
        for (i = 1; i <= count; i++) {
            key = order[i]; split(key, part, "/")
            if (part[2] ~ /^curl/) base[part[1]] = median(secs, key, n[key])
        }
        # Baselines first within each case, as the cases first appeared.
        m = 0
        for (i = 1; i <= count; i++) { split(order[i], part, "/"); if (!(part[1] in casepos)) { casepos[part[1]] = ++ncases; cases[ncases] = part[1] } }
        for (c = 1; c <= ncases; c++) {
            for (i = 1; i <= count; i++) { split(order[i], part, "/"); if (part[1] == cases[c] && part[2] ~ /^curl/) sorted[++m] = order[i] }
            for (i = 1; i <= count; i++) { split(order[i], part, "/"); if (part[1] == cases[c] && part[2] !~ /^curl/) sorted[++m] = order[i] }
        }
        print "| case | tool | median wall (s) | throughput (MB/s) | peak RSS, max of runs (MiB) | ratio oxdl/baseline |"
        print "|---|---|---:|---:|---:|---:|"
        for (i = 1; i <= m; i++) {
            key = sorted[i]; split(key, part, "/")
            s = median(secs, key, n[key]); r = 0
            for (j = 1; j <= n[key]; j++) if (kib[key, j] / 1024 > r) r = kib[key, j] / 1024
            mbs = (bytes[key] > 0 && s > 0) ? sprintf("%.0f", bytes[key] / s / 1e6) : "-"
            ratio = (part[2] ~ /^oxdl/ && (part[1] in base)) ? sprintf("%.3f", s / base[part[1]]) : "-"
            tool = part[2]; sub(/-jN$/, "-j" jobs, tool); sub(/^curl-tar$/, "curl \\| tar", tool); sub(/^curl-o$/, "curl -o", tool); sub(/^oxdl-1$/, "oxdl, one stream", tool)
            printf "| %s | %s | %.2f | %s | %.1f | %s |\n", part[1], tool, s, mbs, r, ratio
        }
    }' jobs="$JOBS" "$RESULTS")
echo "$TABLE"

CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
{
    echo "# Benchmark results"
    echo
    echo "Produced by \`bench/run.sh $RUNS\` on $(date -u +%Y-%m-%d): $(nproc) cores ($CPU), $(free -g | awk '/Mem:/ {print $2}') GiB memory,"
    echo "$(uname -sr). Median of $RUNS timed runs after one warm-up; oxdl built with \`--release\`; the server"
    echo "(\`oxdl-testserver\`, same machine, loopback) replays cached batch answers so its own gzip is not timed."
    echo "Baselines: \`curl -fsS -X QUERY --data-binary @hashes.gz URL | tar -xzf - -C DIR\` ($(curl --version | head -n1 | cut -d' ' -f1-2), $(tar --version | head -n1)) and \`curl -fsS -o FILE URL\`."
    echo "oxdl verifies every byte (XXH3-128) and writes every file atomically; the baselines verify nothing."
    echo "Peak RSS is that of the largest process (for \`curl | tar\`: curl; tar and gzip are smaller), the maximum over the runs."
    [ -z "${BENCH_NOTE:-}" ] || echo "$BENCH_NOTE"
    echo
    echo "Data: small = 4,000 files of 4–64 KiB ($((SMALL / 1000000)) MB); large = 8 files of 128 MiB; get = one 1 GiB file; all compressible about 2:1."
    echo "hashlist = 1,000,000 hashes on stdin, parsed, validated and sent in requests of 10,000 (all reported missing by the server)."
    echo "Ranged downloads (\`get\` of a file of at least \`--chunk-threshold\`, asked for with \`--chunk-threshold 16M\` since the server is local, in ranges of 8 MiB over 8 connections;"
    echo "the 1 GiB get above is one): wan = 512 MiB from a server pacing each connection to $((RATE / 1000000)) MB/s, output on disk;"
    echo "shm = 256 MiB unlimited, output on tmpfs ($SHM); disk = the same, output on disk ($WORK). \"oxdl, one stream\" is"
    echo "\`--chunk-threshold 1T\`: the single \`/versions\` stream."
    echo
    echo "$TABLE"
    echo
    echo "Resume: the wan download killed outright (SIGKILL) once its state file recorded half the file, then run again"
    echo "($RUNS times); what the rerun fetched is the file minus the bytes it reported as resumed."
    echo
    echo "$RESUME_TABLE"
} >"$ROOT/bench/RESULTS.md"
echo "bench: wrote bench/RESULTS.md" >&2
