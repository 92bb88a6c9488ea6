#!/usr/bin/env bash
# Three hosts on one machine: three `myco node` processes, each in its own network namespace with
# its own address (10.77.0.1-3), joined by veth links to a bridge that lives in a fourth
# namespace; the third host's link is rate-limited with tbf when the kernel has it. Checks that
# the nodes form one network over those links and that a broadcast published on the first
# reaches the other two. Nothing outside the four namespaces is touched.
#
# usage: netns_test.sh /path/to/myco
# Exit 0: passed. Exit 77 (ctest SKIP_RETURN_CODE): needs root and `ip netns`, with the reason on
# stdout. Anything else: failed. The namespaces are deleted on every exit path.
set -euo pipefail

myco=${1:?usage: netns_test.sh /path/to/myco}
[[ -x $myco ]] || { echo "not executable: $myco"; exit 1; }
skip() { echo "SKIPPED: $*"; exit 77; }
((EUID == 0)) || skip "network namespaces need root"
command -v ip >/dev/null || skip "no 'ip' command (iproute2)"

tag=m$$ # unique per run: names stay within IFNAMSIZ (15) and parallel runs do not collide
br_ns=$tag-br
work=$(mktemp -d "${TMPDIR:-/tmp}/myco-netns.XXXXXX")
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  for ns in "$tag-1" "$tag-2" "$tag-3" "$br_ns"; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ip netns add "$br_ns" 2>/dev/null || skip "cannot create a network namespace (ip netns add)"
ip -n "$br_ns" link add br0 type bridge || skip "no bridge support in this kernel"
ip -n "$br_ns" link set br0 up
for k in 1 2 3; do
  ns=$tag-$k
  ip netns add "$ns"
  ip link add "${tag}h$k" netns "$ns" type veth peer name "${tag}b$k" netns "$br_ns" ||
    skip "cannot create veth pairs"
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add "10.77.0.$k/24" dev "${tag}h$k"
  ip -n "$ns" link set "${tag}h$k" up
  ip -n "$br_ns" link set "${tag}b$k" master br0 up
done
# A slower third host: 10 Mbit/s. Optional: sch_tbf may be missing in minimal kernels.
if ip netns exec "$tag-3" tc qdisc add dev "${tag}h3" root tbf rate 10mbit burst 32kbit \
  latency 50ms 2>/dev/null; then
  echo "host 3's link is limited to 10 Mbit/s (tbf)"
else
  echo "tbf not available; host 3's link is not rate-limited"
fi
# Reachability without ping (not always installed): a TCP connect to a closed port on host 3
# is refused when the bridge forwards, and times out or fails otherwise.
for _ in $(seq 20); do
  reach=$(ip netns exec "$tag-2" timeout 2 bash -c 'echo >/dev/tcp/10.77.0.3/9' 2>&1 || true)
  [[ $reach == *refused* ]] && break
  sleep 0.1
done
[[ $reach == *refused* ]] ||
  { echo "FAILED: 10.77.0.2 cannot reach 10.77.0.3 over the bridge: $reach"; exit 1; }

secret=netns-test-secret-$$-0123456789
for k in 1 2 3; do
  mkdir -p "$work/n$k"
  bootstrap=()
  ((k == 1)) || bootstrap=(--bootstrap 10.77.0.1:7400)
  ip netns exec "$tag-$k" "$myco" node --name "host$k" --listen "10.77.0.$k:7400" \
    --api 127.0.0.1:7401 --data-dir "$work/n$k" --secret "$secret" "${bootstrap[@]}" \
    >"$work/n$k/node.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do
    grep -qs "myco: ready" "$work/n$k/node.log" && break
    kill -0 "${pids[-1]}" 2>/dev/null || break
    sleep 0.1
  done
  grep -qs "myco: ready" "$work/n$k/node.log" ||
    { echo "FAILED: host$k did not start:"; tail -n 20 "$work/n$k/node.log"; exit 1; }
done

# Runs `myco <command>` against host k's API, inside host k's namespace.
api() {
  local k=$1
  shift
  ip netns exec "$tag-$k" "$myco" "$@" --api 127.0.0.1:7401 --data-dir "$work/n$k"
}
# The JSON number of `field` in `myco status --json` of host k (0 when unreachable).
status_field() {
  api "$1" status --json 2>/dev/null | grep -o "\"$2\":[0-9]*" | head -n1 | cut -d: -f2 ||
    echo 0
}

formed=0
for _ in $(seq 100); do
  if [[ $(status_field 1 network_size_estimate) == 3 && $(status_field 2 network_size_estimate) == 3 &&
    $(status_field 3 network_size_estimate) == 3 ]]; then
    formed=1
    break
  fi
  sleep 0.1
done
if ((formed == 0)); then
  echo "FAILED: the three hosts did not form one network within 10 s"
  for k in 1 2 3; do api "$k" peers || true; tail -n 5 "$work/n$k/node.log"; done
  exit 1
fi
echo "three hosts formed one network; host2's peers:"
api 2 peers

before2=$(status_field 2 delivered)
before3=$(status_field 3 delivered)
api 1 publish threat_alert '{"level":"critical","what":"netns test"}' --priority 1.0
for _ in $(seq 100); do
  if (($(status_field 2 delivered) > before2 && $(status_field 3 delivered) > before3)); then
    echo "PASSED: the broadcast from host1 (10.77.0.1) reached host2 and host3"
    exit 0
  fi
  sleep 0.1
done
echo "FAILED: the broadcast did not reach both other hosts within 10 s"
for k in 2 3; do api "$k" status || true; done
exit 1
