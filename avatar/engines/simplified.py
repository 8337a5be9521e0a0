"""Simplified Chinese, always: what the voices read and what Whisper writes.

Multilingual Whisper writes Mandarin in Traditional characters unless its prompt is Simplified, and
viewers type either; the catalog is Simplified. So the recogniser is prompted in Simplified Chinese
(:data:`SIMPLIFIED_PROMPT`) and whatever Traditional characters still come out are converted with
OpenCC (``t2s``), the safety net; the Mandarin voice converts what it is given the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import cache
from typing import Final

log = logging.getLogger(__name__)

SIMPLIFIED_PROMPT: Final = "以下是普通话的句子。使用简体中文。"
"""An initial prompt that makes multilingual Whisper write Mandarin in Simplified characters.

No full-width comma in it: that comma's first two byte tokens are those of every full-width form, and
with them in the prompt Whisper ``base`` wrote "４" where an English brand name met the Chinese
("这款４４４４…", a loop that lost the whole line)."""


@cache
def _t2s() -> Callable[[str], str]:
    """OpenCC's Traditional -> Simplified converter; identity (with a log line) without OpenCC."""
    try:
        import opencc

        converter = opencc.OpenCC("t2s")
    except (ImportError, RuntimeError, ValueError) as error:
        log.warning("OpenCC unavailable (%s): Traditional Chinese is left as it is", error)
        return lambda text: text
    convert: Callable[[str], str] = converter.convert
    return convert


def to_simplified(text: str) -> str:
    """``text`` with Traditional characters turned into Simplified ones (OpenCC ``t2s``)."""
    return _t2s()(text) if text else text


def zh_prompt(prompt: str | None) -> str:
    """The prompt for Mandarin audio: the Simplified instruction, then the caller's words (product
    names, fillers), so both the script and the spelling are biased."""
    return SIMPLIFIED_PROMPT + prompt if prompt else SIMPLIFIED_PROMPT
