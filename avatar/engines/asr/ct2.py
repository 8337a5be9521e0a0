"""Read the tensors of a CTranslate2 ``model.bin`` without CTranslate2.

The format (as written by ``ctranslate2.specs.ModelSpec._serialize``, binary version 6): a uint32
version, the spec name and a uint32 revision, a uint32 variable count, then per variable its name, a
uint8 rank, uint32 dimensions, a uint8 type id, a uint32 byte count and the raw little-endian data;
finally the aliases (name -> variable). Strings are a uint16 length (with the trailing NUL) and bytes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

_DTYPES: Final[dict[int, np.dtype[np.generic]]] = {
    0: np.dtype(np.float32),
    1: np.dtype(np.int8),
    2: np.dtype(np.int16),
    3: np.dtype(np.int32),
    4: np.dtype(np.float16),
}
_SUPPORTED_VERSIONS: Final = range(4, 7)


@dataclass(frozen=True)
class CT2Model:
    """The spec name and named tensors of a CTranslate2 model (aliases resolved)."""

    spec: str
    revision: int
    variables: dict[str, npt.NDArray[np.generic]]


class _Cursor:
    def __init__(self, data: bytes, source: str) -> None:
        self.data = data
        self.offset = 0
        self.source = source

    def unpack(self, fmt: str) -> int:
        size = struct.calcsize(fmt)
        if self.offset + size > len(self.data):
            raise ValueError(f"{self.source}: truncated CTranslate2 model at byte {self.offset}")
        (value,) = struct.unpack_from("<" + fmt, self.data, self.offset)
        self.offset += size
        return int(value)

    def string(self) -> str:
        length = self.unpack("H")
        text = self.data[self.offset : self.offset + length - 1].decode("utf-8")
        self.offset += length
        return text

    def take(self, size: int) -> bytes:
        if self.offset + size > len(self.data):
            raise ValueError(f"{self.source}: truncated CTranslate2 model at byte {self.offset}")
        chunk = self.data[self.offset : self.offset + size]
        self.offset += size
        return chunk


def read_ct2(data: bytes, source: str = "model.bin") -> CT2Model:
    """Parse a CTranslate2 model file's bytes; ValueError names what is wrong."""
    cursor = _Cursor(data, source)
    version = cursor.unpack("I")
    if version not in _SUPPORTED_VERSIONS:
        raise ValueError(f"{source}: CTranslate2 binary version {version} is not supported (4-6)")
    spec = cursor.string()
    revision = cursor.unpack("I")
    variables: dict[str, npt.NDArray[np.generic]] = {}
    for _ in range(cursor.unpack("I")):
        name = cursor.string()
        shape = tuple(cursor.unpack("I") for _ in range(cursor.unpack("B")))
        type_id = cursor.unpack("B")
        size = cursor.unpack("I")
        dtype = _DTYPES.get(type_id)
        if dtype is None:
            raise ValueError(f"{source}: {name}: tensor type {type_id} is not supported")
        array = np.frombuffer(cursor.take(size), dtype=dtype.newbyteorder("<"))
        variables[name] = array.reshape(shape) if shape else array.reshape(())
    for _ in range(cursor.unpack("I")):
        alias, target = cursor.string(), cursor.string()
        variables[alias] = variables[target]
    if cursor.offset != len(data):
        raise ValueError(f"{source}: {len(data) - cursor.offset} unexpected bytes after the model")
    return CT2Model(spec=spec, revision=revision, variables=variables)
