#!/usr/bin/env bash
# Regenerates src/io/node_symbols.order, the list of functions a `myco node` runs, which the
# build hands to lld (--symbol-ordering-file) so they sit together at the start of .text.
#
#   src/io/node_symbols.sh build/myco > src/io/node_symbols.order
#
# Why: the kernel maps file pages into a process in 64 KB fault-around windows, so a function
# touched once costs the 64 KB around it in every node's VmRSS. Laying the ~1.5 MB of code a node
# actually runs out contiguously keeps its resident text near that size instead of most of the
# 7 MB binary (docs/PERFORMANCE.md, "Real network").
#
# How: under valgrind's callgrind, one node starts a small network as its seed (the listener
# side: accepts, handshakes as server) and a second one joins it later (the dialer side); both
# serve `myco status`, `myco peers` and /metrics, then stop on SIGINT like `myco up` stops them.
# Every function callgrind saw run in either is listed, sorted by name. Needs valgrind; takes
# about a minute. A stale list only costs memory: lld ignores names that no longer exist.
set -euo pipefail

myco=$(realpath "${1:?usage: node_symbols.sh path/to/myco > node_symbols.order}")
command -v valgrind >/dev/null || { echo "node_symbols.sh: needs valgrind" >&2; exit 1; }
work=$(mktemp -d)
pids=()
stop() {  # SIGINT, as `myco up` stops its nodes; callgrind writes its profile on the way out
  for pid in "${pids[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  pids=()
}
trap 'stop; rm -rf "$work"' EXIT

port=${MYCO_SYMBOLS_BASE_PORT:-9700}
secret=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
node() {  # node NAME P2P_PORT [extra flags...]
  local name=$1 p2p=$2
  shift 2
  mkdir -p -m 700 "$work/$name"
  echo --name "$name" --listen "127.0.0.1:$p2p" --api "127.0.0.1:$((p2p + 1))" \
    --data-dir "$work/$name" --secret "$secret" "$@"
}
profiled() {  # profiled NAME P2P_PORT [extra flags...]
  local name=$1
  # shellcheck disable=SC2046 # node prints words meant to be split
  valgrind --tool=callgrind --demangle=no --callgrind-out-file="$work/$name.callgrind" \
    "$myco" node $(node "$@") >"$work/$name.log" 2>&1 &
  pids+=($!)
}
plain() {
  # shellcheck disable=SC2046
  "$myco" node $(node "$@") >"$work/$1.log" 2>&1 &
  pids+=($!)
}
wait_ready() {  # wait_ready NAME
  for _ in $(seq 600); do
    grep -q '^myco: ready' "$work/$1.log" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "node_symbols.sh: $1 did not start: $(cat "$work/$1.log")" >&2
  exit 1
}
query() {  # query NAME P2P_PORT: the client commands a user runs against an idle node
  local api="127.0.0.1:$(($2 + 1))"
  "$myco" status --api "$api" --data-dir "$work/$1" >/dev/null
  "$myco" peers --api "$api" --data-dir "$work/$1" >/dev/null || true
  curl -fsS "http://$api/metrics" >/dev/null 2>&1 || true
}

profiled seed "$port"
wait_ready seed
for k in 1 2 3 4; do
  plain "n$k" $((port + 2 * k)) --bootstrap "127.0.0.1:$port"
done
sleep 5
profiled joiner $((port + 20)) --bootstrap "127.0.0.1:$((port + 2))"
wait_ready joiner
sleep 20 # gossip, shuffles and heartbeats of an idle network
query seed "$port"
query joiner $((port + 20))
sleep 2
stop
# The functions (fn=) and callees (cfn=) named in either profile; "0x..." entries have no symbol.
sed -n 's/^c\{0,1\}fn=([0-9]*) //p' "$work"/*.callgrind | grep -v -e '^0x' -e "'" -e '^(below' |
  LC_ALL=C sort -u >"$work/seen"
# glibc picks memcpy, strlen... variants for the CPU at startup (IFUNC), and valgrind's CPU is
# not the one the nodes run on: list every variant of the string functions seen (a few KB each).
variants=$(sed -n 's/^__\([a-z0-9]*\)_\(sse2\|ssse3\|sse4_[12]\|avx\|avx2\|evex\|avx512\).*/\1/p' \
  "$work/seen" | sort -u | paste -sd'|')
if [[ -n $variants ]]; then
  nm --defined-only "$myco" | awk '{print $3}' |
    grep -E "^__($variants)_(sse2|ssse3|sse4_[12]|avx|avx2|evex|avx512)" >>"$work/seen" || true
fi
LC_ALL=C sort -u "$work/seen"
