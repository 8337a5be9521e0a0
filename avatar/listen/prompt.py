"""The initial prompt that biases Whisper towards the scene's product names.

Whisper spells an unknown brand as the nearest common words ("Lumen desk lamp" -> "lumen best
lamp"); naming the products in the prompt makes it prefer the catalog's spelling. A Chinese prompt
also makes the multilingual model write simplified characters.
"""

from __future__ import annotations

from avatar.brain.catalog import Catalog


def scene_prompt(catalog: Catalog, language: str | None = "en") -> str:
    """A short prompt listing the product names in ``language`` (None: English and Chinese)."""
    languages = ["en", "zh"] if language is None else [language]
    names: list[str] = []
    for lang in languages:
        for product in catalog.products:
            name = product.names.get(lang)
            if name and name not in names:
                names.append(name)
    # No full-width comma even in Chinese: with it, Whisper base wrote "４" loops where an English
    # brand name met the Chinese (see avatar.engines.simplified).
    separator = ", "
    end = "。" if languages == ["zh"] else "."
    return separator.join(names) + end if names else ""
