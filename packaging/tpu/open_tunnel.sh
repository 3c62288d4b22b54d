#!/bin/sh
# Forwards 127.0.0.1:LOCAL_PORT on the desktop to the runner on the TPU VM (127.0.0.1:8750 there)
# over SSH, so the runner never listens on the network. Then:
#   bigbird remote add tpu http://127.0.0.1:8750 --token-file ~/.config/bigbird-studio/tpu.token
# usage: open_tunnel.sh NAME [--zone Z] [--project P] [--local-port 8750]
set -eu
[ $# -ge 1 ] || { echo "usage: $0 NAME [--zone Z] [--project P] [--local-port N]" >&2; exit 2; }
NAME=$1; shift
ZONE=europe-west4-a
PROJECT_FLAG=""
LOCAL_PORT=8750
while [ $# -gt 0 ]; do
  case "$1" in
    --zone) ZONE=$2; shift 2 ;;
    --project) PROJECT_FLAG="--project=$2"; shift 2 ;;
    --local-port) LOCAL_PORT=$2; shift 2 ;;
    *) echo "$0: unknown option $1" >&2; exit 2 ;;
  esac
done
exec gcloud compute tpus tpu-vm ssh "$NAME" --zone="$ZONE" $PROJECT_FLAG -- \
  -N -L "127.0.0.1:$LOCAL_PORT:127.0.0.1:8750" -o ExitOnForwardFailure=yes -o ServerAliveInterval=30
