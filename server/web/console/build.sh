#!/bin/sh
# Copy the vendored dist files the console loads from node_modules (installed from the
# lockfile by `npm ci`) into the served tree, so nothing is fetched from a CDN at run time.
# `npm ci` runs this itself (postinstall); run it again by hand after changing a dependency.
set -eu
cd "$(dirname "$0")"
[ -f node_modules/echarts/dist/echarts.min.js ] || {
    echo "build.sh: node_modules/echarts missing: run 'npm ci' in $(pwd)" >&2
    exit 1
}
mkdir -p public/assets/vendor
cp node_modules/echarts/dist/echarts.min.js public/assets/vendor/echarts.min.js
# Apache-2.0 asks that the licence travel with the copy.
cp node_modules/echarts/LICENSE public/assets/vendor/echarts.LICENSE.txt
echo "build.sh: public/assets/vendor/ ready (echarts $(node -p 'require("echarts/package.json").version'))"
