"""The initial prompt that biases Whisper towards the scene's product names.

Whisper spells an unknown brand as the nearest common words ("Lumen desk lamp" -> "lumen best
lamp"); naming the products in the prompt makes it prefer the catalog's spelling. A Chinese prompt
also makes the multilingual model write simplified characters.
"""

from __future__ import annotations

from avatar.brain.catalog import Catalog

# Words of Chinese live selling that Whisper ``base`` otherwise writes as their homophones
# (半价 -> 半架, 包邮 -> 包油, 优惠券 -> 油灰劝, 库存 -> 互存): the prompt tells it what the show
# talks about. On the 20 Mandarin product lines of the CER test: 17.7 % -> 14.6 % with the demo
# scene's names in front.
COMMERCE_WORDS_ZH = ("包邮", "半价", "优惠券", "领券", "秒杀", "到手价", "下单", "库存", "现货", "折扣")


def scene_prompt(catalog: Catalog, language: str | None = "en") -> str:
    """A short prompt listing the product names in ``language`` (None: English and Chinese); a
    Chinese one ends with the words of live selling (:data:`COMMERCE_WORDS_ZH`)."""
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
    if languages == ["zh"]:
        return separator.join([*names, *COMMERCE_WORDS_ZH]) + "。"
    return separator.join(names) + "." if names else ""
