"""Convert the bundled CTranslate2 Whisper weights into openai-whisper checkpoints.

The conversion is a pure renaming and splitting of tensors (no arithmetic), so it is lossless and
reproducible: CTranslate2 fuses the self-attention query/key/value projections into one matrix and
the cross-attention key/value into another; openai-whisper keeps them apart and has no key bias
(CTranslate2 stores zeros there). The result is the dict ``whisper.load_model(path)`` reads:
``{"dims": ..., "model_state_dict": ...}``, plus a JSON manifest with checksums of the source and
of the tensors, checked whenever the checkpoint is loaded.

Run at setup: ``python -m avatar.engines.asr.convert`` (all bundled models, then a check that a
known clip is transcribed correctly).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import re
import sys
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from avatar.engines.asr.base import ASRError
from avatar.engines.asr.bundled import BUNDLED, BundledModel, checkpoint_path
from avatar.engines.asr.ct2 import read_ct2
from avatar.paths import cache_dir

log = logging.getLogger(__name__)

MANIFEST_VERSION: Final = 1
KEY_BIAS_TOLERANCE: Final = 1e-6  # CTranslate2 pads the missing key bias with zeros

Tensors = dict[str, npt.NDArray[np.generic]]


def _count_layers(variables: Tensors, prefix: str) -> int:
    pattern = re.compile(rf"^{prefix}/layer_(\d+)/")
    return 1 + max(int(m.group(1)) for name in variables if (m := pattern.match(name)))


def _scalar(variables: Tensors, name: str) -> int:
    return int(np.asarray(variables[name]).item())


def _split(array: npt.NDArray[np.generic], parts: int) -> list[npt.NDArray[np.generic]]:
    return list(np.split(array, parts, axis=0))


def _zero_key_bias(bias: npt.NDArray[np.generic], where: str) -> None:
    if float(np.max(np.abs(bias.astype(np.float32)))) > KEY_BIAS_TOLERANCE:
        raise ASRError(f"{where}: key bias is not zero; this is not a Whisper model openai-whisper can hold")


def ct2_to_whisper(variables: Tensors) -> tuple[dict[str, int], Tensors]:
    """Map CTranslate2 WhisperSpec tensors to openai-whisper ``dims`` and ``model_state_dict`` names."""
    out: Tensors = {}

    def norm(src: str, dst: str) -> None:
        out[f"{dst}.weight"] = variables[f"{src}/gamma"]
        out[f"{dst}.bias"] = variables[f"{src}/beta"]

    def linear(src: str, dst: str, bias: bool = True) -> None:
        out[f"{dst}.weight"] = variables[f"{src}/weight"]
        if bias:
            out[f"{dst}.bias"] = variables[f"{src}/bias"]

    def self_attention(src: str, dst: str) -> None:
        q, k, v = _split(variables[f"{src}/linear_0/weight"], 3)
        qb, kb, vb = _split(variables[f"{src}/linear_0/bias"], 3)
        _zero_key_bias(kb, src)
        out.update({f"{dst}.query.weight": q, f"{dst}.query.bias": qb, f"{dst}.key.weight": k})
        out.update({f"{dst}.value.weight": v, f"{dst}.value.bias": vb})
        linear(f"{src}/linear_1", f"{dst}.out")

    def cross_attention(src: str, dst: str) -> None:
        linear(f"{src}/linear_0", f"{dst}.query")
        k, v = _split(variables[f"{src}/linear_1/weight"], 2)
        kb, vb = _split(variables[f"{src}/linear_1/bias"], 2)
        _zero_key_bias(kb, src)
        out.update({f"{dst}.key.weight": k, f"{dst}.value.weight": v, f"{dst}.value.bias": vb})
        linear(f"{src}/linear_2", f"{dst}.out")

    def mlp(src: str, dst: str) -> None:
        norm(f"{src}/layer_norm", f"{dst}.mlp_ln")
        linear(f"{src}/linear_0", f"{dst}.mlp.0")
        linear(f"{src}/linear_1", f"{dst}.mlp.2")

    encoder_layers = _count_layers(variables, "encoder")
    decoder_layers = _count_layers(variables, "decoder")
    for name in ("conv1", "conv2"):
        linear(f"encoder/{name}", f"encoder.{name}")
    out["encoder.positional_embedding"] = variables["encoder/position_encodings/encodings"]
    for i in range(encoder_layers):
        src, dst = f"encoder/layer_{i}", f"encoder.blocks.{i}"
        norm(f"{src}/self_attention/layer_norm", f"{dst}.attn_ln")
        self_attention(f"{src}/self_attention", f"{dst}.attn")
        mlp(f"{src}/ffn", dst)
    norm("encoder/layer_norm", "encoder.ln_post")

    out["decoder.token_embedding.weight"] = variables["decoder/embeddings/weight"]
    out["decoder.positional_embedding"] = variables["decoder/position_encodings/encodings"]
    for i in range(decoder_layers):
        src, dst = f"decoder/layer_{i}", f"decoder.blocks.{i}"
        norm(f"{src}/self_attention/layer_norm", f"{dst}.attn_ln")
        self_attention(f"{src}/self_attention", f"{dst}.attn")
        norm(f"{src}/attention/layer_norm", f"{dst}.cross_attn_ln")
        cross_attention(f"{src}/attention", f"{dst}.cross_attn")
        mlp(f"{src}/ffn", dst)
    norm("decoder/layer_norm", "decoder.ln")

    conv1 = variables["encoder/conv1/weight"]
    audio_positions = variables["encoder/position_encodings/encodings"]
    embeddings = variables["decoder/embeddings/weight"]
    text_positions = variables["decoder/position_encodings/encodings"]
    dims = {
        "n_mels": int(conv1.shape[1]),
        "n_audio_ctx": int(audio_positions.shape[0]),
        "n_audio_state": int(audio_positions.shape[1]),
        "n_audio_head": _scalar(variables, "encoder/num_heads"),
        "n_audio_layer": encoder_layers,
        "n_vocab": int(embeddings.shape[0]),
        "n_text_ctx": int(text_positions.shape[0]),
        "n_text_state": int(text_positions.shape[1]),
        "n_text_head": _scalar(variables, "decoder/num_heads"),
        "n_text_layer": decoder_layers,
    }
    return dims, out


def tensors_sha256(state: Tensors) -> str:
    """A checksum of tensor names, types, shapes and bytes (independent of how they are pickled)."""
    digest = hashlib.sha256()
    for name in sorted(state):
        array = np.ascontiguousarray(state[name])
        digest.update(f"{name}|{array.dtype.str}|{array.shape}\n".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def manifest_path(checkpoint: Path) -> Path:
    """The JSON next to a checkpoint that says what it was made from."""
    return checkpoint.with_suffix(".json")


def convert(model: BundledModel, target: Path | None = None) -> Path:
    """Write the openai-whisper checkpoint for a bundled model (and its manifest); return its path."""
    target = target or checkpoint_path(model.name)
    _write_checkpoint(
        model.model_bytes(),
        model.source_dir(),
        model.source_sha256(),
        model.name,
        target,
        model.part_files()[0],
    )
    return target


def convert_folder(folder: Path) -> tuple[Path, list[list[int]]]:
    """Convert a CTranslate2 Whisper folder (model.bin + config.json) once, cached by checksum."""
    model_bin = folder / "model.bin"
    if not model_bin.is_file():
        raise ASRError(f"{folder}: not a Whisper model folder (no model.bin)")
    source_sha = file_sha256(model_bin)
    target = cache_dir("whisper", "local") / f"{source_sha[:16]}.pt"
    manifest = _read_manifest(target)
    if manifest is None or not target.exists():
        _write_checkpoint(model_bin.read_bytes(), folder, source_sha, folder.name, target, model_bin)
        manifest = _read_manifest(target) or {}
    return target, list(manifest.get("alignment_heads", []))


def _write_checkpoint(
    data: bytes, config_dir: Path, source_sha: str, name: str, target: Path, source: Path
) -> None:
    import torch

    ct2 = read_ct2(data, source=str(source))
    if ct2.spec != "WhisperSpec":
        raise ASRError(f"{source}: expected a CTranslate2 WhisperSpec model, found {ct2.spec}")
    dims, state = ct2_to_whisper(ct2.variables)
    try:
        config = json.loads((config_dir / "config.json").read_text())
    except (OSError, ValueError):
        config = {}
    heads = [[int(layer), int(head)] for layer, head in config.get("alignment_heads", [])]
    checkpoint: dict[str, Any] = {
        "dims": dims,
        # copies: torch.from_numpy cannot share the read-only bytes of the file
        "model_state_dict": {k: torch.from_numpy(np.array(v)) for k, v in state.items()},
        "alignment_heads": heads,
    }
    partial = target.with_suffix(".partial")
    torch.save(checkpoint, partial)
    manifest = {
        "version": MANIFEST_VERSION,
        "model": name,
        "source_sha256": source_sha,
        "tensors_sha256": tensors_sha256(state),
        "file_sha256": file_sha256(partial),
        "dims": dims,
        "alignment_heads": heads,
    }
    partial.replace(target)
    manifest_path(target).write_text(json.dumps(manifest, indent=2) + "\n")
    log.info("converted %s -> %s", name, target)


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as source:
        for block in iter(lambda: source.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def ensure_checkpoint(name: str) -> tuple[Path, dict[str, Any]]:
    """The verified checkpoint of bundled model ``name``, converting it first when missing or stale."""
    model = BUNDLED[name]
    target = checkpoint_path(name)
    manifest = _read_manifest(target)
    if manifest is None or not target.exists() or file_sha256(target) != manifest.get("file_sha256"):
        convert(model, target)
        manifest = _read_manifest(target)
        if manifest is None:
            raise ASRError(f"{target}: conversion wrote no manifest")
    return target, manifest


def _read_manifest(checkpoint: Path) -> dict[str, Any] | None:
    path = manifest_path(checkpoint)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("version") != MANIFEST_VERSION:
        return None
    return data


# A known clip and words its transcript must contain: the setup check that the converted weights
# really recognise speech, not just load.
CHECK_CLIP: Final = Path(__file__).resolve().parents[3] / "tests" / "data" / "en_lamp_price.wav"
CHECK_WORDS: Final = ("how much", "lamp")


def verify(name: str) -> dict[str, Any]:
    """Check a converted model: source and tensor checksums, then a known transcript."""
    from avatar.engines.asr.audio_file import read_audio
    from avatar.engines.asr.factory import load_asr

    model = BUNDLED[name]
    target, manifest = ensure_checkpoint(name)
    if manifest["source_sha256"] != model.source_sha256():
        raise ASRError(f"{target}: made from a different {name} package; delete it and convert again")
    import torch

    loaded = torch.load(target, map_location="cpu", weights_only=True)
    state = {k: v.numpy() for k, v in loaded["model_state_dict"].items()}
    if tensors_sha256(state) != manifest["tensors_sha256"]:
        raise ASRError(f"{target}: tensor checksum mismatch")
    report: dict[str, Any] = {
        "model": name,
        "checkpoint": str(target),
        "tensors_sha256": manifest["tensors_sha256"],
    }
    if CHECK_CLIP.exists():
        text = load_asr(name).transcribe(read_audio(CHECK_CLIP), language="en").text
        lowered = text.lower()
        missing = [w for w in CHECK_WORDS if w not in lowered]
        if missing:
            raise ASRError(f"{name}: known clip transcribed as {text!r}, missing {missing}")
        report["check_transcript"] = text
    return report


def main(argv: list[str] | None = None) -> int:
    """Convert (if needed) and verify the bundled Whisper models; print a JSON report."""
    parser = argparse.ArgumentParser(prog="python -m avatar.engines.asr.convert", description=__doc__)
    parser.add_argument("models", nargs="*", default=list(BUNDLED), help="bundled model names")
    parser.add_argument("--force", action="store_true", help="convert again even when up to date")
    parser.add_argument("--no-verify", action="store_true", help="skip the known-transcript check")
    args = parser.parse_args(argv)
    reports = []
    try:
        for name in args.models:
            if name not in BUNDLED:
                parser.error(f"unknown bundled model {name!r} (choose from {', '.join(BUNDLED)})")
            if args.force:
                convert(BUNDLED[name])
            if args.no_verify:
                reports.append({"model": name, "checkpoint": str(ensure_checkpoint(name)[0])})
            else:
                reports.append(verify(name))
            if BUNDLED[name].parts:
                BUNDLED[name].ct2_dir()  # the joined CTranslate2 folder for faster-whisper
    except (ASRError, ValueError, OSError) as error:
        print(f"convert: {error}", file=sys.stderr)
        return 1
    print(json.dumps(reports, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
