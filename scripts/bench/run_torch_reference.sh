#!/bin/sh
# Run a bench/reference script with Debian's python3-torch on OpenBLAS, fairly (docs/bench-reference.md):
#   scripts/bench/run_torch_reference.sh scripts/bench/torch_bigbird_bench.py --model DIR --length 1024
# Debian's /usr/bin/python3 is the one with python3-torch; the pyenv python3 on PATH has no torch.
# OMP_WAIT_POLICY=PASSIVE keeps torch's OpenMP threads from spinning against OpenBLAS's.
set -e
export LD_LIBRARY_PATH="/usr/lib/x86_64-linux-gnu/openblas-pthread${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-2}"
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
if [ $# -eq 0 ]; then
    echo "usage: $0 SCRIPT.py [ARGS...]" >&2
    exit 2
fi
exec /usr/bin/python3 "$@"
