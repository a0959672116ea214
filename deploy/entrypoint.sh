#!/bin/sh
# Container entrypoint of the ml-connector image (run by tini, which forwards signals).
# Workers (mlc-poller, mlc-writer) without MLC_WORKER_ID get "<service>-<container id>":
# replicas share one hostname under network_mode host, so the generated default (which
# includes the hostname) is not what tells them apart; the container id is distinct per
# replica and stays the same across restarts of that container. Then execs the command.
set -eu

# The 64-hex id of this container, read from the bind mounts the engine sets up
# (.../containers/<id>/hostname); a random UUID when not under Docker or Podman.
container_id() {
  id=$(sed -n 's|.*/containers/\([0-9a-f]\{64\}\)/.*|\1|p' /proc/self/mountinfo | head -n 1)
  if [ -n "$id" ]; then
    echo "$id" | cut -c1-12
  else
    tr -d '-' </proc/sys/kernel/random/uuid | cut -c1-12
  fi
}

service=
case "${1:-}" in
  mlc-poller|*/mlc-poller) service="poll" ;;
  mlc-writer|*/mlc-writer) service="write" ;;
esac
if [ -n "$service" ] && [ -z "${MLC_WORKER_ID:-}" ]; then
  cid=$(container_id)
  MLC_WORKER_ID="$service-$cid"
  export MLC_WORKER_ID
fi
exec "$@"
