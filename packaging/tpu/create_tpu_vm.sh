#!/bin/sh
# Creates a Cloud TPU VM for the BigBird Studio runner and installs it (install_runner.sh).
# usage: create_tpu_vm.sh NAME [--zone europe-west4-a] [--accelerator v3-8] [--runtime tpu-vm-base]
#                              [--project P] [--source DIR]
# Needs an authenticated `gcloud` (gcloud auth login) and the TPU API enabled in the project.
set -eu
[ $# -ge 1 ] || { echo "usage: $0 NAME [--zone Z] [--accelerator TYPE] [--runtime VERSION] [--project P] [--source DIR]" >&2; exit 2; }
NAME=$1; shift
ZONE=europe-west4-a
ACCELERATOR=v3-8
RUNTIME=tpu-vm-base
PROJECT=""
SOURCE=$(cd "$(dirname "$0")/../.." && pwd)
while [ $# -gt 0 ]; do
  case "$1" in
    --zone) ZONE=$2; shift 2 ;;
    --accelerator) ACCELERATOR=$2; shift 2 ;;
    --runtime) RUNTIME=$2; shift 2 ;;
    --project) PROJECT=$2; shift 2 ;;
    --source) SOURCE=$2; shift 2 ;;
    *) echo "$0: unknown option $1" >&2; exit 2 ;;
  esac
done
PROJECT_FLAG=""
[ -n "$PROJECT" ] && PROJECT_FLAG="--project=$PROJECT"

gcloud compute tpus tpu-vm create "$NAME" --zone="$ZONE" --accelerator-type="$ACCELERATOR" \
  --version="$RUNTIME" $PROJECT_FLAG
# The source tree (without build directories) goes to the VM; it is built there.
tar -C "$SOURCE" --exclude='./build*' --exclude='./.git' -czf /tmp/bigbird-studio-src.tgz .
gcloud compute tpus tpu-vm scp /tmp/bigbird-studio-src.tgz "$NAME":~/ --zone="$ZONE" $PROJECT_FLAG
gcloud compute tpus tpu-vm ssh "$NAME" --zone="$ZONE" $PROJECT_FLAG --command \
  'mkdir -p ~/bigbird-studio && tar -C ~/bigbird-studio -xzf ~/bigbird-studio-src.tgz && sudo ~/bigbird-studio/packaging/tpu/install_runner.sh'
echo "created $NAME; open the tunnel with: packaging/tpu/open_tunnel.sh $NAME --zone $ZONE"
