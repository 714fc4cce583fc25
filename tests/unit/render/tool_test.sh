#!/bin/sh
# tool_test.sh TOOL DATADIR: kf-render-bill on the sample bills writes the three files, and
# refuses a bill without lines (exit 1, one line on stderr) leaving none.
set -eu
tool=$1 data=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
for b in issued draft; do
    "$tool" "$data/bill-$b.json" --csv "$dir/$b.csv" --xlsx "$dir/$b.xlsx" --pdf "$dir/$b.pdf" >/dev/null
    for ext in csv xlsx pdf; do
        test -s "$dir/$b.$ext" || { echo "no $b.$ext" >&2; exit 1; }
    done
done
grep -q '"lines"' "$data/bill-issued.json"
sed 's/"lines":/"lines_gone":/' "$data/bill-issued.json" >"$dir/bad.json"
if "$tool" "$dir/bad.json" --csv "$dir/bad.csv" --pdf "$dir/bad.pdf" 2>"$dir/err"; then
    echo "a bill without lines was rendered" >&2
    exit 1
fi
grep -q 'lines' "$dir/err" || { cat "$dir/err" >&2; exit 1; }
if ls "$dir"/bad.csv* "$dir"/bad.pdf* >/dev/null 2>&1; then
    echo "a refused bill left a file" >&2
    exit 1
fi
echo "kf-render-bill: ok"
