#!/bin/sh
# mlc-demo-tenant [FILE]: adds a demo tenant (default the IFS one) with its simulator URLs
# (written for 127.0.0.1 and the default ports 18081 IFS, 18082 ION, 18083 Asana) pointed at
# MLC_SIM_HOST and MLC_SIM_IFS_PORT, MLC_SIM_ION_PORT, MLC_SIM_ASANA_PORT. Exit status of
# `mlc tenant add`.
set -eu
file=${1:-/opt/mlc/deploy/demo/tenant-ifs.json}
host=${MLC_SIM_HOST:-127.0.0.1}
sed -e "s|127\.0\.0\.1:18081|$host:${MLC_SIM_IFS_PORT:-18081}|g" \
    -e "s|127\.0\.0\.1:18082|$host:${MLC_SIM_ION_PORT:-18082}|g" \
    -e "s|127\.0\.0\.1:18083|$host:${MLC_SIM_ASANA_PORT:-18083}|g" "$file" |
  mlc tenant add /dev/stdin
