#!/bin/sh
# Runs ON the TPU VM (as root): builds bigbird, installs the worker's Python dependencies (JAX for
# TPU, Flax, optax, transformers, torch CPU for the safetensors conversion), creates the runner's
# user, token and state directory, and starts bigbird-runner.service on 127.0.0.1:8750.
# usage: sudo install_runner.sh [--stack flax|tf]
set -eu
SRC=$(cd "$(dirname "$0")/../.." && pwd)
STACK=flax
[ "${1:-}" = "--stack" ] && STACK=$2

apt-get update
BIGBIRD_SKIP_APT=0 "$SRC/scripts/install-deps"
cmake -S "$SRC" -B "$SRC/build-runner" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBIGBIRD_BUILD_GUI=OFF -DBIGBIRD_BUILD_TESTS=OFF
cmake --build "$SRC/build-runner"
install -m 0755 "$SRC/build-runner/app/bigbird" /usr/local/bin/bigbird
install -d /opt/bigbird-runner
cp "$SRC"/packaging/tpu/*.py /opt/bigbird-runner/

python3 -m venv /opt/bigbird-runner/venv
/opt/bigbird-runner/venv/bin/pip install --upgrade pip
/opt/bigbird-runner/venv/bin/pip install -r "$SRC/packaging/tpu/requirements-$STACK.txt"
if [ "$STACK" = flax ]; then
  /opt/bigbird-runner/venv/bin/pip install torch --index-url https://download.pytorch.org/whl/cpu
fi
if [ "$STACK" = tf ]; then
  git clone https://github.com/google-research/bigbird.git /opt/bigbird-runner/bigbird-src || true
fi

id bigbird >/dev/null 2>&1 || useradd --system --create-home --home-dir /var/lib/bigbird-runner bigbird
install -d -o bigbird -g bigbird -m 0700 /var/lib/bigbird-runner /var/lib/bigbird-runner/state /var/lib/bigbird-runner/models
install -m 0644 "$SRC/packaging/tpu/bigbird-runner.service" /etc/systemd/system/bigbird-runner.service
sed -i "s/^Environment=BIGBIRD_TPU_STACK=.*/Environment=BIGBIRD_TPU_STACK=$STACK/" /etc/systemd/system/bigbird-runner.service
systemctl daemon-reload
systemctl enable --now bigbird-runner.service
sleep 2  # the first start writes the token file (0600)
echo "runner token (copy it to the desktop, mode 0600):"
cat /var/lib/bigbird-runner/token
