#!/usr/bin/env bash
# Retrain the zstd dictionary for RECORDS bodies and measure it on held-out samples.
# Usage: tools/train-dict.sh [BUILD_DIR]   (default build dir: build)
# Writes common/dict/kf-records-v1.zdict. See tools/README.md before replacing a dictionary
# that agents in the field already use: a new dictionary needs a new id.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
dict_id=${KF_DICT_ID:-1262878721} # 0x4B460001 == KF_DICT_ID_V1
out=${KF_DICT_OUT:-$root/common/dict/kf-records-v1.zdict}

cmake --build "$build" --target kf-gen-dict-samples
gen=$build/common/kf-gen-dict-samples
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/train" "$tmp/held"
"$gen" gen "$tmp/train" 2000 1
"$gen" gen "$tmp/held" 500 2
zstd -q --train -r "$tmp/train" --maxdict=16384 --dictID="$dict_id" -o "$out"
echo "trained $out ($(stat -c %s "$out") bytes, id $dict_id)"
# Rebuild so the measuring tool embeds the new dictionary, then measure on held-out bodies.
cmake --build "$build" --target kf-gen-dict-samples
"$gen" measure "$tmp"/held/*.json
