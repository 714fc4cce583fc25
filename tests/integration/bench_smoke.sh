#!/usr/bin/env bash
# The benchmarks run end to end and their figures hang together. The ingest benchmark: a small
# fleet through every step of bench/run-ingest (floor, bare subscriber, kioskd saturated and at a fixed
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
    --floor-ops 1000 --floor-runs 3 \
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

# The usage benchmark (bench/usage-scale/run) on 20 terminals and 20,000 transactions: the
# generated store verifies (every frame's signature, every record against its frame, usage
# and its rollups: kioskctl verify), every grouping over the year counts every transaction
# the generator made, every zone is listed, quiet ones included.
KF_BENCH_BUILD=$BUILD KF_BENCH_RESULTS=$IT_DIR/usage-results \
    bash "$KF_ROOT/bench/usage-scale/run" --db "$IT_DIR/usage.db" --terminals 20 --txns 20000 \
    --runs 1 --verify >"$IT_DIR/usage-scale.log" 2>&1 || fail "usage-scale failed (rc=$?)"
USAGE=$(ls "$IT_DIR"/usage-results/*-usage-scale.json)
ucheck() { # ucheck JQ_EXPR WHAT
    jq -e "$1" "$USAGE" >/dev/null || fail "usage-scale: $2: $(jq -c "$1" "$USAGE" 2>&1)"
}
ucheck ".store.verified == true and .store.records == .generator.txns" "the store does not verify"
ucheck ".generator.txns > 15000 and ([.queries[] | select(.name == \"year\") | .total]
       | all(. == $(jq .generator.txns "$USAGE")))" "a grouping over the year misses transactions"
ucheck "[.queries[] | select(.by == \"zone\") | .rows] | all(. == 212)" "zones left out"
ucheck "[.queries[] | .median_s > 0] | all" "a query not timed"
echo "bench_smoke: usage-scale passed ($(jq -c '{txns: .generator.txns, frames: .generator.frames}' "$USAGE"))"
