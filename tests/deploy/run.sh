#!/usr/bin/env bash
# Deployment test (`make test-deploy`): the Docker Compose stack of deploy/, for real, on a
# private Docker engine. Starts dockerd with its own data and exec root under a temp dir
# (no bridge, no iptables), imports a debian:bookworm-slim base made by
# scripts/docker-base.sh (debootstrap from the Debian mirror apt uses; cached), builds
# deploy/Dockerfile, brings the stack up with 3 pollers and 3 writers on the host's network
# (deploy/compose.host.yml, free ports below 32768), adds the demo tenant, syncs it, checks
# the 700 tasks in the simulated Asana, scales writers to 1 and back to 3, checks every
# container runs and every worker has its own id, then takes it all down and checks that
# no dockerd, container, process or mount is left.
# Prints "SKIPPED: <reason>" and exits 0 when no Docker engine can be started here.
# Environment: MLC_BASE_CACHE (base tarball cache, default /var/cache/mlc),
# MLC_DEPLOY_KEEP=1 (keep the temp dir for inspection).
set -euo pipefail
source "$(dirname "$0")/../integration/lib.sh"
cd "$ROOT"

T0=$SECONDS
PROJECT=1200000000000101 # the demo tenant's Asana project
step() { echo "[$((SECONDS - T0)) s] $*"; }
skip() { echo "SKIPPED: $*"; exit 0; }

# ---- prerequisites: root, dockerd, compose, debootstrap (Debian packages) -----------------
[ "$(uname -s)" = Linux ] || skip "not Linux"
[ "$(id -u)" -eq 0 ] || skip "a private dockerd needs root"
missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v docker >/dev/null || missing+=(docker.io)
docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null || missing+=(docker-compose)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
  step "installing ${missing[*]}"
  { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } \
    >/dev/null 2>&1 || skip "cannot install ${missing[*]} with apt"
fi

work=$(mktemp -d /tmp/mlc-deploy.XXXXXX)
export DOCKER_HOST="unix://$work/docker.sock" DOCKER_CONFIG="$work/client" DOCKER_BUILDKIT=0
unset DOCKER_CONTEXT DOCKER_TLS_VERIFY DOCKER_CERT_PATH COMPOSE_FILE COMPOSE_PROFILES COMPOSE_PROJECT_NAME
proj="mlctest$$"
dockerd_pid=""
bg_pids=() # compose clients this script runs in the background
if docker compose version >/dev/null 2>&1; then COMPOSE=(docker compose); else COMPOSE=(docker-compose); fi
# The stack with the simulators (profile sim) on the host's network.
compose() {
  "${COMPOSE[@]}" -p "$proj" --env-file "$work/test.env" -f deploy/docker-compose.yml \
    -f deploy/compose.host.yml --profile sim "$@"
}

# Ids of service $1's containers, in any state (by the labels compose gives them).
containers() {
  docker ps -aq --no-trunc --filter "label=com.docker.compose.project=$proj" \
    --filter "label=com.docker.compose.service=$1"
}
# Everything under $work that is still mounted, deepest first.
mounts_left() { awk -v w="$work/" 'index($5, w) == 1 { print $5 }' /proc/self/mountinfo | sort -r; }
# Pids of processes that run from $work (the dockerd's containerd and shims), by pid.
procs_left() { ps -eo pid=,args= | awk -v w="$work/" 'index($0, w) && !/awk/ { print $1 }'; }

unmount_left() {
  local m
  for m in $(mounts_left); do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
}

# Stops dockerd by its pid (SIGTERM, SIGKILL after 30 s), then unmounts what it leaves
# mounted under $work (it keeps exec-root/netns/default even after a clean stop).
stop_dockerd() {
  [ -n "$dockerd_pid" ] || return 0
  kill -TERM "$dockerd_pid" 2>/dev/null || true
  for _ in $(seq 1 150); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.2; done
  if kill -0 "$dockerd_pid" 2>/dev/null; then
    echo "dockerd $dockerd_pid did not stop on SIGTERM; killing it"
    kill -KILL "$dockerd_pid" 2>/dev/null || true
  fi
  wait "$dockerd_pid" 2>/dev/null || true
  dockerd_pid=""
  unmount_left
}

# Leaves nothing behind, whatever state the run stopped in. Returns non-zero when it had to
# kill a process or could not unmount something.
teardown() {
  local dirty=0 p m c
  for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -n "$dockerd_pid" ] && kill -0 "$dockerd_pid" 2>/dev/null; then
    compose --profile tools down -v --remove-orphans -t 20 >/dev/null 2>&1 || true
    for c in $(docker ps -aq 2>/dev/null); do docker rm -f "$c" >/dev/null 2>&1 || true; done
  fi
  stop_dockerd
  for p in $(procs_left); do echo "left behind: $(ps -o args= -p "$p")"; kill -KILL "$p" 2>/dev/null || true; dirty=1; done
  unmount_left
  for m in $(mounts_left); do echo "cannot unmount $m"; dirty=1; done
  if [ "${MLC_DEPLOY_KEEP:-0}" = 1 ] || [ $dirty -ne 0 ]; then echo "kept $work"; else rm -rf "$work"; fi
  return $dirty
}

on_exit() {
  local rc=$?
  trap - EXIT
  if [ $rc -ne 0 ] && [ -n "$dockerd_pid" ]; then
    echo "---- compose ps / logs (last lines) ----"
    compose ps 2>&1 || true
    compose logs --no-color --tail 20 2>&1 | tail -n 150 || true
    echo "---- dockerd log (last lines) ----"
    tail -n 20 "$work/dockerd.log" 2>/dev/null || true
  fi
  teardown || rc=1
  exit $rc
}
trap on_exit EXIT
trap 'exit 130' INT TERM

# ---- private Docker engine --------------------------------------------------------------
step "starting dockerd in $work"
mkdir -p "$work/client"
echo '{}' >"$work/daemon.json"
dockerd --config-file "$work/daemon.json" --data-root "$work/data" --exec-root "$work/exec" \
  --pidfile "$work/dockerd.pid" -H "$DOCKER_HOST" --bridge=none --iptables=false \
  --ip6tables=false --ip-masq=false >"$work/dockerd.log" 2>&1 &
dockerd_pid=$!
for _ in $(seq 1 150); do
  docker version >/dev/null 2>&1 && break
  kill -0 "$dockerd_pid" 2>/dev/null || break
  sleep 0.2
done
if ! docker version >/dev/null 2>&1; then
  reason=$(grep -E 'level=(fatal|error)|failed' "$work/dockerd.log" | tail -n 1 | cut -c1-300)
  teardown || true
  trap - EXIT
  skip "dockerd did not start: ${reason:-no answer on $DOCKER_HOST within 30 s}"
fi
step "dockerd $dockerd_pid up ($(docker version --format '{{.Server.Version}}'), compose: ${COMPOSE[*]})"

# ---- images -----------------------------------------------------------------------------
scripts/docker-base.sh --tag debian:bookworm-slim >/dev/null
step "base image debian:bookworm-slim imported"
image=mlc-deploy-test/ml-connector:latest
redis_image=mlc-deploy-test/ml-connector-redis:latest
docker build --network host -f deploy/Dockerfile -t "$image" . >"$work/build.log" 2>&1 ||
  { tail -n 40 "$work/build.log"; fail "docker build of deploy/Dockerfile failed"; }
docker build --network host -f deploy/Dockerfile --target redis -t "$redis_image" . \
  >>"$work/build.log" 2>&1 || { tail -n 40 "$work/build.log"; fail "docker build --target redis failed"; }
step "images built: $(docker image inspect -f '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}') runtime"

# ---- configuration: free ports, master key (a Docker secret readable by uid 10001) --------
MLC_REDIS_PORT=$(free_port)
ASANA_URL="http://127.0.0.1:$(free_port)"
cat >"$work/test.env" <<EOF
MLC_IMAGE=$image
MLC_REDIS_IMAGE=$redis_image
MLC_MASTER_KEY_PATH=$work/master.key
MLC_TENANTS_DIR=$work/tenants
MLC_REDIS_PORT=$MLC_REDIS_PORT
MLC_BROKER_PORT=$(free_port)
MLC_GW_PORT=$(free_port)
MLC_SIM_IFS_PORT=$(free_port)
MLC_SIM_ION_PORT=$(free_port)
MLC_SIM_ASANA_PORT=${ASANA_URL##*:}
MLC_STOP_GRACE=30s
MLC_SIM_ASANA_CONFIG={"latency_ms":300}
EOF
mkdir -p "$work/tenants"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$work/master.key"
chown 10001:10001 "$work/master.key"
chmod 0400 "$work/master.key"
REDIS_CLI=(redis-cli -p "$MLC_REDIS_PORT")
command -v redis-cli >/dev/null || REDIS_CLI=(compose exec -T redis redis-cli -p "$MLC_REDIS_PORT")

# ---- up, demo tenant ------------------------------------------------------------------------
compose up -d --no-build --scale poller=3 --scale writer=3 >"$work/up.log" 2>&1 ||
  { cat "$work/up.log"; fail "compose up failed"; }
step "compose up (3 pollers, 3 writers, simulators)"
if [ -z "$(procs_left)" ] || [ -z "$(mounts_left)" ]; then
  fail "the engine's processes or mounts are not visible: the leftover check below would be blind"
fi
tenant_added() { [ "$(docker inspect -f '{{.State.Status}}' "$(containers demo-tenant)")" = exited ]; }
wait_until 60 tenant_added
[ "$(docker inspect -f '{{.State.ExitCode}}' "$(containers demo-tenant)")" = 0 ] ||
  { compose logs demo-tenant; fail "the demo-tenant one-shot failed"; }
ok "demo tenant stored by the demo-tenant one-shot"

# ---- demo sync, 2 of the 3 writers stopped (SIGTERM) while it writes ---------------------
# Asana answers slowly (MLC_SIM_ASANA_CONFIG above), so the writers hold running jobs when
# they are told to stop: they must finish them (or leave them to the others), not lose any.
compose logs -f --no-color writer >"$work/writers.log" 2>&1 </dev/null &
logs_pid=$!
bg_pids+=("$logs_pid")
compose --profile tools run --rm -T mlc sync demo --wait --timeout 300 >"$work/sync.log" 2>&1 </dev/null &
sync_pid=$!
bg_pids+=("$sync_pid")
wait_until 60 tasks_at_least $PROJECT 20
t=$SECONDS
compose up -d --no-build --no-recreate --scale poller=3 --scale writer=1 >>"$work/up.log" 2>&1 ||
  fail "scaling writers to 1 failed"
step "writers scaled to 1 in $((SECONDS - t)) s, with $(task_count $PROJECT) of 700 tasks written"
[ $((SECONDS - t)) -lt 25 ] || fail "the stopped writers did not exit on SIGTERM before the grace period"
wait "$sync_pid" || { tail -n 20 "$work/sync.log"; fail "mlc sync demo --wait failed"; }
step "demo sync finished: $(grep -m1 'finished' "$work/sync.log" || tail -n 1 "$work/sync.log")"
kill "$logs_pid" 2>/dev/null || true
wait "$logs_pid" 2>/dev/null || true
drained=$(grep -o 'draining [0-9]* running jobs' "$work/writers.log" | awk '{ n += $2 } END { print n + 0 }')
[ "$(grep -c 'stopped cleanly' "$work/writers.log")" -eq 2 ] ||
  { grep -E 'worker\.(stop|exit)' "$work/writers.log"; fail "the 2 stopped writers did not both exit cleanly"; }
[ "$drained" -gt 0 ] || fail "the stopped writers had no running job to drain: the test proved nothing"
[ "$(task_count $PROJECT)" -eq 700 ] || fail "expected 700 tasks in the simulated Asana, got $(task_count $PROJECT)"
[ "$("${REDIS_CLI[@]}" ZCARD 'mlc:{demo}:dlq')" -eq 0 ] || fail "the demo tenant has dead jobs"
ok "2 writers stopped mid-sync drained $drained running jobs and exited cleanly; 700 tasks, no dead jobs"
jpost "$ASANA_URL/_sim/config" '{"latency_ms":0}' >/dev/null

# ---- workers: one heartbeat per running worker container, ids distinct --------------------
# The worker ids of service $1's running containers ("<prefix>-<container id>").
expected_ids() {
  local svc=$1 prefix=$2 c
  for c in $(containers "$svc"); do
    [ "$(docker inspect -f '{{.State.Running}}' "$c")" = true ] && echo "$prefix-${c:0:12}"
  done | sort
}
registered_ids() { "${REDIS_CLI[@]}" --raw HKEYS mlc:workers | grep "^$1-" | sort || true; }
workers_match() {
  [ "$(expected_ids poller poll)" = "$(registered_ids poll)" ] &&
  [ "$(expected_ids writer write)" = "$(registered_ids write)" ] &&
  [ "$(expected_ids poller poll | wc -l)" -eq "$1" ] && [ "$(expected_ids writer write | wc -l)" -eq "$2" ]
}
# A writer that exits through its drain path removes its own heartbeat; a killed one would not.
wait_until 10 workers_match 3 1 ||
  { "${REDIS_CLI[@]}" HKEYS mlc:workers; fail "stopped writers left heartbeats, or a running worker has none"; }
ok "the stopped writers deregistered; 3 pollers and 1 writer registered under their container ids"
compose up -d --no-build --no-recreate --scale poller=3 --scale writer=3 >>"$work/up.log" 2>&1 ||
  fail "scaling writers back to 3 failed"
wait_until 30 workers_match 3 3 ||
  { "${REDIS_CLI[@]}" HKEYS mlc:workers; fail "mlc:workers does not list the 3+3 worker containers after scaling up"; }
ids=$("${REDIS_CLI[@]}" --raw HKEYS mlc:workers | grep -E '^(poll|write)-')
[ "$(echo "$ids" | sort -u | wc -l)" -eq 6 ] || fail "worker ids not distinct: $ids"
ok "writers back to 3: 6 distinct worker ids, one per container: $(echo "$ids" | tr '\n' ' ')"

# Every long-running container runs (the demo-tenant one-shot exited 0 above).
for svc in redis broker scheduler poller writer webhook-gw sim; do
  want=1; case $svc in poller|writer) want=3 ;; esac
  n=0
  for c in $(containers "$svc"); do [ "$(docker inspect -f '{{.State.Running}}' "$c")" = true ] && n=$((n + 1)); done
  [ "$n" -eq "$want" ] || fail "service $svc: $n of $want containers running"
done
gw_port=$(grep MLC_GW_PORT "$work/test.env" | cut -d= -f2)
curl -sf "http://127.0.0.1:$gw_port/healthz" >/dev/null || fail "webhook gateway /healthz does not answer"
[ "$(docker inspect -f '{{.State.Health.Status}}' "$(containers redis)")" = healthy ] || fail "redis is not healthy"
[ "$("${REDIS_CLI[@]}" CONFIG GET appendonly | tail -n 1)" = yes ] || fail "redis runs without AOF"
ok "all 11 containers running, gateway and redis healthy, AOF on"

# ---- down, engine stop, nothing left ------------------------------------------------------
t=$SECONDS
compose --profile tools down -v --remove-orphans -t 30 >"$work/down.log" 2>&1 ||
  { cat "$work/down.log"; fail "compose down failed"; }
[ -z "$(docker ps -aq)" ] || fail "containers left after down: $(docker ps -a --format '{{.Names}}')"
[ -z "$(docker volume ls -q)" ] || fail "volumes left after down -v"
step "compose down in $((SECONDS - t)) s"
stop_dockerd
[ -z "$(procs_left)" ] || fail "processes left after dockerd stopped: $(procs_left | xargs -r ps -o args= -p)"
[ -z "$(mounts_left)" ] || fail "mounts left after dockerd stopped: $(mounts_left | tr '\n' ' ')"
ok "dockerd stopped; no container, process or mount left"
step "deploy test passed"
