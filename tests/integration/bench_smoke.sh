#!/usr/bin/env bash
# The ingest benchmark runs end to end and its figures hang together: a small fleet through
# every step of bench/run-ingest (floor, bare subscriber, kioskd saturated and at a fixed
# rate, the store alone) on the binaries under test. Nothing here is timed; the outcomes
# checked are the ones a benchmark result rests on: every frame committed once, nothing
# rejected, every part of the summary measured. (The benchmark's own figures come from a
# Release build: BENCHMARKS.md.)
source "$(dirname "$0")/lib.sh"

BUILD=$(dirname "$(dirname "$KF_BIN_KIOSKD")")
DEVICES=20 PER_DEVICE=20 RECORDS=4
KF_BENCH_BUILD=$BUILD KF_BENCH_RESULTS=$IT_DIR/results \
    bash "$KF_ROOT/bench/run-ingest" --devices $DEVICES --per-device $PER_DEVICE \
    --records $RECORDS --runs 1 --no-agent --latency-rate 500 --latency-seconds 1 \
    >"$IT_DIR/run-ingest.log" 2>&1 || fail "run-ingest failed (rc=$?)"
OUT=$(ls "$IT_DIR"/results/*.json)
FRAMES=$((DEVICES * PER_DEVICE))

check() { # check JQ_EXPR WHAT: the expression must be true of the results file
    jq -e "$1" "$OUT" >/dev/null || fail "$2: $(jq -c "$1" "$OUT" 2>&1)"
}
check ".lost == 0 and .resent == 0" "frames not committed, or resent"
check ".kioskd_runs[0] | .acked_frames == $FRAMES and .committed_frames == $FRAMES and
       .committed_records == $FRAMES * $RECORDS and .duplicates == 0" "saturated run"
check "[.kioskd_runs[0].rejected[]] | add == 0" "rejected frames"
check ".latency_runs[0] | .acked_frames == .committed_frames and .committed_frames > 0 and
       .inbox_dropped == 0" "fixed-rate run"
check ".bare_runs[0].received == $FRAMES" "bare subscriber"
# kioskd's CPU (~80 ms here) is read from /proc in 10 ms ticks; the broker's and the load
# generator's are a few ticks or none at this size, so they are not checked.
check ".median | .kioskd_cpu_us_per_msg > 0 and .ratio_to_verify > 0 and .sig_us > 0" \
    "CPU figures"
check ".parts | .paho_us > 0 and .store_us > 0 and .ratio > 1" "the parts alone"
echo "bench_smoke: passed ($(jq -c '{commit_rate: .median.commit_rate, parts: .parts.ratio}' "$OUT"))"
