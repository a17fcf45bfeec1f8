#!/usr/bin/env bash
# Kiwi in one command: installs what is missing, starts a local etcd, the operator and a node
# daemon for this machine, books the node for a demo user, shows the booking go Pending,
# Active, Expired live, shows the user's process being cleaned up at the end, and stops
# everything it started (by PID). Run as root: it creates the user kiwitest-demo and the
# daemon must be able to end that user's processes.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "quickstart: run me as root (sudo npm run quickstart): I create the demo user kiwitest-demo and the node daemon ends its processes" >&2
  exit 1
fi

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Installing what is missing and building"
source scripts/node-env.sh # Node 26 from the npm registry when this machine's is older than 22
bash scripts/install-deps.sh
npm run --silent build

WORK=$(mktemp -d /tmp/kiwi-quickstart.XXXXXX)
PIDS=()
cleanup() {
  status=$?
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  KIWI_DEV_STATE_DIR="$WORK/etcd" ./bin/kiwictl dev down >/dev/null 2>&1 || true
  rm -rf "$WORK"
  exit $status
}
trap cleanup EXIT INT TERM

USER_NAME=kiwitest-demo
NODE=$(hostname -s | tr 'A-Z_' 'a-z-' | sed 's/[^a-z0-9.-]//g'); NODE=${NODE:-local}
export KIWI_DEV_STATE_DIR="$WORK/etcd"

step "Starting a local etcd on 127.0.0.1"
./bin/kiwictl dev up
EP=$(./bin/kiwictl dev status -o json 2>/dev/null | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).endpoint))' 2>/dev/null || true)
if [ -z "$EP" ]; then EP=$(./bin/kiwictl dev status | sed -n 's/.*\(http:\/\/127\.0\.0\.1:[0-9]*\).*/\1/p' | head -1); fi
export KIWI_ENDPOINTS="$EP"
echo "etcd: $KIWI_ENDPOINTS"

step "A ClusterConfig: 2 s between SIGTERM and SIGKILL at a booking's end"
cat <<YAML | ./bin/kiwictl apply -f -
apiVersion: kiwi.dev/v1alpha1
kind: ClusterConfig
metadata:
  name: default
spec:
  killWaitSeconds: 2
  warnBefore: [5]
YAML

step "Starting the operator and the node daemon for node \"$NODE\""
./bin/kiwi-operator --lease-ttl 2 --log-level warn 2>"$WORK/operator.log" &
PIDS+=($!)
./bin/kiwi-node-daemon --node-name "$NODE" --address 127.0.0.1 --state-dir "$WORK/daemon" \
  --pam-socket "$WORK/pam.sock" --log-level warn 2>"$WORK/daemon.log" &
PIDS+=($!)
for _ in $(seq 100); do
  ./bin/kiwictl get nodes "$NODE" 2>/dev/null | grep -q Ready && break
  sleep 0.1
done
./bin/kiwictl get nodes
./bin/kiwi-web --listen 127.0.0.1:${KIWI_WEB_PORT:-8080} --log-level warn >"$WORK/web.out" 2>"$WORK/web.log" & PIDS+=($!)
for _ in $(seq 50); do grep -q 'calendar at' "$WORK/web.out" 2>/dev/null && break; sleep 0.1; done
WEB_URL=$(sed -n 's/.*calendar at //p' "$WORK/web.out"); echo "calendar (live; log in by name as $USER_NAME, book by dragging): ${WEB_URL:-kiwi-web did not start, see $WORK/web.log}"

step "A demo user, $USER_NAME"
id "$USER_NAME" >/dev/null 2>&1 || useradd -m -s /bin/bash "$USER_NAME"
echo "uid $(id -u "$USER_NAME")"

step "Two bookings of the node: the second waits its turn (FIFO)"
cat <<YAML | ./bin/kiwictl apply -f -
apiVersion: kiwi.dev/v1alpha1
kind: Booking
metadata:
  name: first
  namespace: $USER_NAME
spec:
  user: $USER_NAME
  nodes: [$NODE]
  duration: 8s
---
apiVersion: kiwi.dev/v1alpha1
kind: Booking
metadata:
  name: second
  namespace: $USER_NAME
spec:
  user: $USER_NAME
  nodes: [$NODE]
  duration: 8s
YAML

step "Live view (kiwictl get bookings -A -w): watch second go Pending, Active, Expired"
./bin/kiwictl get bookings -A -w &
WATCH=$!
PIDS+=($WATCH)

phase() { ./bin/kiwictl get booking "$1" -n "$USER_NAME" -o json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).status?.phase ?? ""))'; }
wait_phase() { # booking phase timeout-seconds
  for _ in $(seq $(( $3 * 10 ))); do [ "$(phase "$1")" = "$2" ] && return 0; sleep 0.1; done
  echo "quickstart: booking $1 did not become $2 in $3 s; logs: $WORK/operator.log $WORK/daemon.log" >&2; return 1
}

wait_phase second Active 30
step "second is Active: $USER_NAME starts a long job on the node"
setpriv --reuid="$USER_NAME" --regid="$USER_NAME" --init-groups --reset-env sleep 3600 &
JOB=$!
PIDS+=($JOB)
echo "job pid $JOB: $(ps -o user=,pid=,args= -p $JOB)"

wait_phase second Expired 30
for _ in $(seq 100); do kill -0 "$JOB" 2>/dev/null || break; sleep 0.1; done
kill "$WATCH" 2>/dev/null || true
step "second is Expired"
if kill -0 "$JOB" 2>/dev/null; then
  echo "the job $JOB is still running: cleanup failed (see $WORK/daemon.log)" >&2
  exit 1
fi
# The job is gone; the daemon's sweep may still be running its kill(-1) as the user (one short
# process of theirs) for a round or two: count once the sweep is done, within 5 s.
for _ in $(seq 50); do pgrep -u "$USER_NAME" >/dev/null || break; sleep 0.1; done
echo "the job (pid $JOB) was cleaned up by the node daemon; $USER_NAME has $(pgrep -c -u "$USER_NAME" || true) processes left"
./bin/kiwictl describe booking second -n "$USER_NAME" | sed -n '/Events/,$p'

step "What Prometheus would see (operator on 127.0.0.1:9464, daemon on 127.0.0.1:9465)"
scrape() { node -e 'fetch(process.argv[1]).then(r=>r.text()).then(t=>console.log(t.split("\n").filter(l=>new RegExp(process.argv[2]).test(l)).join("\n"))).catch(()=>console.log("(not reachable)"))' "$1" "$2"; }
scrape http://127.0.0.1:9464/metrics '^kiwi_transitions_total.*Booking'
scrape http://127.0.0.1:9465/metrics '^kiwi_cleanup_duration_seconds_count'

[ -n "${KIWI_QUICKSTART_STAY:-}" ] && [ -n "${WEB_URL:-}" ] && { step "Still running: book the node from $WEB_URL (Ctrl-C stops everything)"; wait "${PIDS[0]}" || true; }
step "Done: stopping the node daemon, the operator and etcd"
