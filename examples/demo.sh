#!/usr/bin/env bash
# The demo `make demo` runs: the artifact database on the example repository, then scripts
# from the built-in repository (a dependency chain, and the same run again from the cache).
# It uses its own CAIRN_HOME (.demo-home) so your real ~/.cairn is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
export CAIRN_HOME="${CAIRN_HOME:-$PWD/.demo-home}"
rm -rf "$CAIRN_HOME"

step() { printf '\n$ %s\n' "$*"; "$@"; }

step cairn version
step cairn add repo examples/demo-repo
step cairn list repo
step cairn find dataset --tags=images
step cairn find dataset --tags=images,-digits
step cairn load dataset demo:mnist-mini
step cairn add dataset fashion --tags=images,clothes --meta.classes=10
step cairn update dataset fashion --meta.samples=70000 --tags=large
step cairn copy dataset fashion fashion-small --new_tags=small
step cairn find dataset 'fash*' --out=json
step cairn info dataset fashion-small
step cairn rm dataset fashion-small -f
step cairn info repo demo

step cairn run script "print hello-world _text.from-the-demo"
step cairn run script "detect cpu" --out=json
step cairn run script "get generic-python-lib _package.packaging" --explain
step cairn run script "get generic-python-lib _package.packaging" --print_deps --lock="$CAIRN_HOME/python-lib.lock.yaml"
step cairn run script "get generic-python-lib _package.packaging" --explain
step cairn run script "get generic-python-lib _package.packaging" --out=json
step cairn show cache
step cairn show run
step cairn run script "get generic-python-lib _package.packaging" --locked="$CAIRN_HOME/python-lib.lock.yaml"
step cairn replay run --tolerance=5%

step cairn run experiment demo-sweep --script="toy bench" --explore.batch_size=1,2,4,8,16 --explore.threads=1..4 --jobs=2
step cairn show experiment demo-sweep --filter="TOY_LATENCY_MS<=100" --sort=-TOY_THROUGHPUT
step cairn pareto experiment demo-sweep --objective=TOY_THROUGHPUT:max --objective=TOY_LATENCY_MS:min --plot="$CAIRN_HOME/demo-front.png,$CAIRN_HOME/demo-front.html"
step cairn replay experiment demo-sweep --jobs=2
printf '\ndemo finished: artifacts live under %s\n' "$CAIRN_HOME"
