"""A viewer's comment, understood once: what they ask, about which product and variant, which
catalog fact answers it, and the slots that shape the answer (budget, quantity, colour).

Two steps, so nothing is classified twice:

- :func:`read` looks at the text alone (language, intent keywords, moderation, products and
  variants it names, concepts, budget, quantity). Triage does this when the comment arrives and
  the record travels with the comment.
- :func:`understand` puts a :class:`Reading` in context when the host answers it: the product on
  screen, what this viewer asked last (:mod:`avatar.brain.memory`) and the product's own facts
  (:mod:`avatar.brain.knowledge`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from functools import lru_cache

import cn2an
from rapidfuzz.distance import Levenshtein

from avatar.brain.catalog import Catalog, Product, Variant
from avatar.brain.intents import Intent, classify, resolve_product
from avatar.brain.knowledge import (
    AMOUNT,
    COMMERCE,
    FACT_MATCH,
    WHO,
    FactHit,
    best_fact,
    candidates,
    catalog_facts,
    fact_scores,
    says_word,
    score_fact,
    telling_apart,
)
from avatar.brain.language import detect_language, is_cjk, stems
from avatar.brain.lexicon import lexicon
from avatar.brain.memory import Topic
from avatar.brain.names import GENERIC_WORDS, full_name_index, product_index, variant_index
from avatar.brain.places import destination
from avatar.brain.recommend import asks_most
from avatar.brain.semantic import QuestionMeaning, fact_passages
from avatar.brain.sizing import fitting_options, viewer_measures
from avatar.engines.simplified import to_simplified
from avatar.zh_segment import jieba_module

__all__ = ["Reading", "Understanding", "read", "second_question", "understand"]

MAX_READ_CHARS = 1_000  # chat is capped far below; a longer paste is read only this far

_MODERATED = (Intent.ABUSE, Intent.SPAM, Intent.INJECTION)
_THIS = re.compile(
    r"(?<![a-z])(?:this|these|it)(?![a-z])|这个|这款|这件|这条|这双|这盒|这支|这瓶", re.IGNORECASE
)
_FOLLOW_UP = re.compile(
    r"^\s*(?:and|what about|how about|also|plus|the other)(?![a-z])|^\s*那|^\s*还有|呢\s*[?？!！]*\s*$",
    re.IGNORECASE,
)
_YES_NO = re.compile(
    r"^\s*(?:is|does|do|can|will|are|has|have|could|would)(?![a-z])|吗\s*[?？!！。~～]*\s*$|么\s*[?？]*\s*$"
    r"|是不是|能不能|有没有|可不可以|会不会|可以.{0,6}吗",
    re.IGNORECASE,
)
# Health claims viewers fish for: the host says what the product does per the catalog instead.
_MEDICAL_BAIT = re.compile(
    r"(?<![a-z])(?:cure[sd]?|heal|treat(?:s|ment)?|acne|eczema|cancer|diabetes|blood (?:sugar|pressure)|"
    r"lose weight|weight loss|slimming|detox|medicine|medical|doctor|disease|sick|cold|flu|covid)(?![a-z])"
    r"|祛斑|祛痘|去痘|治|疗效|降血糖|降血压|降三高|减肥|瘦身|排毒|抗癌|药|病",
    re.IGNORECASE,
)
_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "a dozen": 12, "a couple": 2, "a pair": 1,
}  # fmt: skip
_COUNTED = (
    r"boxes|box|pieces|piece|pcs|pairs|pair|packs|pack|bottles|bottle|bags|bag|units|unit|sets|set|"
    r"tubes|tube|cans|can(?!\s+(?:i|you|u|he|she|it|we|they|my|your|be)\b)|jars|jar|items|item|"
    r"of them|of these|for the office|x(?![a-z])"
)
_QUANTITY_EN = re.compile(
    rf"(?<![a-z])(?:need|want|get|buy|take|order|grab|getting|buying|ordering)\s+(\d+|{'|'.join(_NUMBER_WORDS)})"
    rf"(?![\d.])|(?<![\d.$¥])(\d+)\s*(?:{_COUNTED})"
    # "how much for 3 air fryers?": a count in a price question.
    rf"|(?:how much|price|cost)\b[^?]{{0,30}}?\bfor\s+(\d+|{'|'.join(_NUMBER_WORDS)})(?![\d.%])",
    re.IGNORECASE,
)
_COUNT_SAID = re.compile(
    rf"(?<![\d.])\d+\s*(?:{_COUNTED})(?![a-z])|(?<![\d.])\d+\s*[个件盒支瓶袋包罐条份套箱]", re.IGNORECASE
)
_QUANTITY_ZH = re.compile(r"(?:要|买|拍|来|拿|订|需要)\s*(\d+)\s*[个件盒支瓶袋双包罐条份套箱斤块只台副]")
_AMOUNT = r"(\d+(?:\.\d{1,2})?)"
_CURRENCY_BEFORE = r"(?:([$¥￥€£])\s*)?"
_CURRENCY_AFTER = r"\s*(块钱|块|元|rmb|yuan|美元|美金|刀|dollars?|bucks|usd|cny)?"
_ASKS_HELP = re.compile(
    r"怎么办|咋办|咋整|有啥|有什么|有没有"
    r"|(?<![a-z])(?:what (?:do|should|can) i|any (?:ideas|tips|suggestions)|help)(?![a-z])",
    re.IGNORECASE,
)
_MEASURED_AFTER = re.compile(
    r"\s*(?:lbs?|kg|g|mm|cm|ml|l|oz|in|inch(?:es)?|ft|w|v|mah|%|斤|公斤|千克|克|毫升|升|厘米|毫米|寸|瓦|伏|岁)(?![a-z])",
    re.IGNORECASE,
)
_BUDGET = (
    re.compile(
        rf"(?:under|below|less than|at most|max(?:imum)?|up to|within|no more than|cheaper than|<)\s*"
        rf"(?:about\s*)?{_CURRENCY_BEFORE}{_AMOUNT}{_CURRENCY_AFTER}",
        re.IGNORECASE,
    ),
    re.compile(
        rf"budget(?:\s+(?:is|of|around|about))?\s*(?:is\s*)?{_CURRENCY_BEFORE}{_AMOUNT}{_CURRENCY_AFTER}",
        re.I,
    ),
    re.compile(rf"{_CURRENCY_BEFORE}{_AMOUNT}{_CURRENCY_AFTER}\s*(?:or less|max|tops|budget)", re.IGNORECASE),
    re.compile(rf"{_CURRENCY_BEFORE}{_AMOUNT}{_CURRENCY_AFTER}\s*钱?\s*(?:以内|以下|之内|左右|内)"),
    re.compile(rf"预算\s*(?:是|有|大概|在|只有)?\s*{_CURRENCY_BEFORE}{_AMOUNT}{_CURRENCY_AFTER}"),
    re.compile(rf"不超过\s*{_CURRENCY_BEFORE}{_AMOUNT}{_CURRENCY_AFTER}"),
    # "got $30, what can i get?": money a viewer has, said with its currency.
    re.compile(rf"(?:got|have|only have|with)\s+([$¥￥€£])\s*{_AMOUNT}{_CURRENCY_AFTER}", re.IGNORECASE),
    # "i only have like 40 yuan", "只有50块 能买啥": the amount with its currency after it.
    re.compile(
        r"(?:got|have|only|with|just)\s+(?:like\s+|about\s+|around\s+)?"
        r"()(\d+(?:\.\d+)?)\s*(yuan|rmb|dollars|bucks|usd|euros?|块钱|块|元)",
        re.IGNORECASE,
    ),
    re.compile(r"(?:只有|就|手上|手里|兜里)\s*()(\d+(?:\.\d+)?)\s*(块钱|块|元|刀)"),
    # "300块 扫地机能拿下吗", "is $50 enough for the blender": whether the money covers it.
    re.compile(
        rf"{_CURRENCY_BEFORE}{_AMOUNT}{_CURRENCY_AFTER}.{{0,12}}?(?:能拿下|拿得下|能买|够不够|够吗|够买|买得起|enough)",
        re.IGNORECASE,
    ),
)
_YUAN = frozenset({"¥", "￥", "块钱", "块", "元", "rmb", "yuan", "cny"})
_DOLLAR = frozenset({"$", "美元", "美金", "刀", "dollar", "dollars", "bucks", "usd"})
# Price asked without a price word: "这个多少", "咋卖", "多少💰" (💰 is spelled "price" by then).
# A size asked for ("XXL", "45码", "size 45"): answered with the sizes there are when none matches.
_SIZE = re.compile(
    r"(?<![A-Za-z])(XXXL|XXL|[23]XL|XS|XXS)(?![A-Za-z])|(?<![A-Za-z])(?:size|EU)\s*(\d{2})(?!\d)|(?<!\d)(\d{2})\s*码"
    r"|come in (\d{2})(?!\d)"
    # "180x220", "2升", "1.5 L": a dimension or volume asked for.
    r"|(?<![\d.])(\d{2,3}\s*[x×*]\s*\d{2,3})(?!\d)|(?<![\d.])(\d+(?:\.\d)?\s*(?:升|毫升|ml|l|liters?|litres?))(?![a-z])",
    re.IGNORECASE,
)
# "还有麻辣的吗", "龙井还有吗": is there any left; "茶叶蛋没了？？": is it gone.
_STILL_THERE = re.compile(
    r"还有.{0,10}吗|还有没有|还有的吗|还剩|^[^，,。]{1,12}没了[？?吗啊呀]*$|卖完了吗|抢光了"
)
# "which flavours do you have?", "有哪些色号": the options there are.
# A question being asked, in either language (a question word, a yes/no form or a question mark).
_ASKING = re.compile(
    r"[?？]|(?<![a-z])(?:what|how|can|could|does|do|is|are|will|which|where|when|should)(?![a-z])"
    r"|几|多少|多久|怎么|什么|哪|吗|呢|能不能|可以|会不会",
    re.IGNORECASE,
)
# Words that weigh two things against each other: without them, two names are no comparison.
_COMPARES = re.compile(
    r"(?<![a-z])(?:or|vs|versus|compare[sd]?|comparison|differen\w*|which|better|than|both|either)(?![a-z])"
    r"|哪个|哪款|哪一|还是|区别|比较|对比|更|差别|不同|一样|都",
    re.IGNORECASE,
)
# Asks which option to take: "what size should i get", "which one", "穿几码", "选哪个".
_WHICH_OPTION = re.compile(
    r"which|what (?:\w+ )?size|size should|\bfits?\b|哪|几码|什么码|多大码|选|穿多大|拍几|买几", re.IGNORECASE
)
_RELATIVE_SIZE = re.compile(
    r"smaller|bigger|larger|longer|shorter|更大|更小|更长|更短|[大小长短]一点|[大小长短]点", re.IGNORECASE
)
_TO_THE_HOST = re.compile(
    r"主播|你是|你叫|你几|你多大|(?<![a-z])(?:how old are|are|r) (?:you|u)(?![a-z])", re.IGNORECASE
)
_LAUGHTER = re.compile(
    r"(?<![a-z])(?:lol+|lmao|rofl|haha[ha]*|hehe[he]*|xd)(?![a-z])|哈哈+|嘿嘿|呵呵", re.IGNORECASE
)
# A sentence that is a question by its form: a question word or verb first, a question mark, 吗.
_ASKED_OUTRIGHT = re.compile(
    r"^\W*(?:what|how|which|where|when|why|is|does|do|can|will|are|could|would|should)(?![a-z])"
    r"|[?？]|[吗么呢]\s*[?？!！。~～]*\s*$",
    re.IGNORECASE,
)
# Small talk about the host herself ("主播多大了 有对象没", "are u married"): no product question,
# whatever word in it also asks a size ("多大").
_HOST_PERSONAL = re.compile(
    r"多大了|几岁|有对象|对象吗|结婚|单身|男朋友|女朋友|哪里人|叫什么|真人吗|"
    r"(?<![a-z])(?:how old|married|single|boyfriend|girlfriend|where are (?:you|u) from|your name)(?![a-z])",
    re.IGNORECASE,
)
_LISTING = re.compile(
    r"(?<![a-z])(?:which|what)(?![a-z])|哪些|哪几|几种|几个色|什么色|什么味|什么口味|"
    # "sleeping bag sizes?", "colours??": the options' kind in the plural, asked on its own
    r"^\W*(?:[a-z]+\s+){0,3}(?:sizes|colou?rs|flavou?rs|shades|options|styles|scents|models|versions)\W*$",
    re.IGNORECASE,
)
# Claims about other shops' prices: the host cannot know them, says so and gives its own price.
_PRICE_CLAIM = re.compile(
    r"cheapest (?:anywhere|online|on the market|price)|lowest price|cheaper than (?:anywhere|amazon|other)|"
    r"cheapest\b[^.?!]{0,20}\b(?:online|anywhere|around|out there)|best price (?:online|anywhere)|"
    r"cheaper (?:elsewhere|online|on amazon|on taobao)|"
    r"全网最低|全网最便宜|最低价|比别家便宜|别家更便宜|网上更便宜|其他平台更便宜",
    re.IGNORECASE,
)
# "ship to canada?", "能寄到香港吗": a destination the shipping text may not name.
_DESTINATION = re.compile(
    r"(?<![a-z])(?:ship|deliver|send|post)(?:ping|s)?\s+(?:[a-z]+\s+){0,3}?to\s+(?:the\s+)?"
    r"([a-z][a-z ]{1,20}?)\s*[?？!.]*$"
    r"|(?:寄到|发到|送到|能发|能寄|发往|寄往)([\u4e00-\u9fff]{2,4}?)(?:吗|嘛|么|不|没|$)",
    re.IGNORECASE,
)
# Two named products weighed against each other: "which", "or", "vs", "哪个", "还是".
_WEIGHS = re.compile(r"\b(?:which|or|vs\.?|versus|better)\b|哪个|哪款|还是|比较|更", re.IGNORECASE)
# "大号有吗 没有的话中号呢", "do you have the L or the XL": is it there.
_HAVE = re.compile(r"有吗|有没有|有货|do you have|got any|have any|in stock|available", re.IGNORECASE)
# Two options' prices compared: "what's the price diff", "差多少钱", "价格一样吗".
_PRICE_GAP = re.compile(r"price diff|difference in price|差多少|差价|价格一样|一样价|一个价", re.IGNORECASE)
# A question about what would happen, not a report of what did: no complaint.
# A worry asked ahead ("if it breaks...", "can i take it on a plane without it leaking", "is it
# real silver or plated junk"): a question about the product, not a complaint about an order.
_WHAT_IF = re.compile(
    r"\b(?:if|what if|in case|suppose|without)\b|如果|万一|要是|假如"
    r"|^\s*(?:is|are|does|do|can|will|would|could)\b",
    re.IGNORECASE,
)
_HAPPENED = re.compile(
    r"\b(?:came|arrived|got|received|bought|ordered|my order)\b|收到|上次|买的|到手", re.IGNORECASE
)
_BOUGHT_BEFORE = re.compile(
    r"(?:上次|上周|上个月|之前|昨天|前天|前几天|刚)买的|买回来|收到|到手的"
    r"|(?<![a-z])(?:the one i (?:bought|ordered|got)|mine (?:came|arrived)"
    r"|i (?:bought|ordered) (?:one|it|this|these|them))",
    re.IGNORECASE,
)
_WENT_WRONG = re.compile(
    r"不[能会]?(?:充电|工作|亮|转|响|好用|行)|坏|烂|漏|裂|破|脸红|过敏|痒|呛|臭|太大|好大|假的|掉色|起球|"
    r"受潮|结块|发霉|变质|"
    r"(?<![a-z])(?:broke|broken|stopped|doesn'?t work|won'?t|leak|leaks|leaking|cracked|rash|itchy|smells?)"
    r"(?![a-z])",
    re.IGNORECASE,
)
# A price a viewer heard or remembers, asked whether it holds: the real price answers it.
_PRICE_HEARD = re.compile(
    r"(?:还是|就能拿|能拿|才|只要|只卖|卖)\s*[¥￥$]?\s*\d+(?:\.\d+)?\s*(?:块钱|块|元)?\s*(?:吗|嘛|么|真的假的|是真的吗)"
    r"|\d+(?:\.\d+)?\s*(?:块钱|块|元)?\s*就能(?:拿|买)"
    r"|\d+(?:\.\d+)?\s*(?:块钱|块|元)?\s*(?:对吧|是吧|对不对|没错吧)"
    # another shop's price held up against this one: "隔壁直播间才卖29", "别家鱼油才99"
    r"|(?:别家|隔壁|别人家|其他家|人家|别的直播间|另一家|某宝|淘宝|拼多多|京东).{0,12}?(?:才|只要|只卖|卖)\s*[¥￥$]?\d"
    r"|(?<![a-z])(?:elsewhere|other shops?|other stores?|another (?:shop|store)|amazon|walmart)\b"
    r".{0,24}?[$¥]?\d"
    r"|(?<![a-z])(?:still|really|only|just)\s+[$¥]?\d+(?:\.\d+)?\s*(?:bucks|dollars|usd|rmb|yuan)?\s*[?？!]*\s*$"
    r"|(?:saw|seen|heard|says|said)\s+(?:it|they|it's|its|it was)?\s*(?:for|was|is|at)?\s*[$¥]\d",
    re.IGNORECASE,
)
# "How much" + a thing + its verb: an amount of that thing ("how much water does it hold").
_HOW_MUCH_THING = re.compile(
    r"(?<![a-z])how much (?!(?:is|are|was|were|does|do|did|would|will|should|can|could|for|it|its|this|that|"
    r"these|those|they|them|the|money|cash|more|less|extra|off|shipping|postage|total|altogether|each|"
    r"now|today|currently|again|exactly|about|roughly)\b)"
    r"[a-z]{3,}(?: [a-z]{1,12})? "
    r"(?:does|do|can|will|would|could|gets?|goes|fits?|comes?|holds?|is|are|in|per)\b",
    re.IGNORECASE,
)
# Whether someone may take or use it ("can kids take it", "can my son have the gummies"): the
# viewer asks, not "can I have two" (an order) or "can you take it back" (a return).
_CONSUMES = re.compile(
    r"(?<![a-z])(?:can|could|should|may)\s+(?!(?:i|you|u)\b)(?:\w+\s+){1,3}?(?:take|have|eat|drink|use|chew)\b",
    re.IGNORECASE,
)
# A child's age said as a bare number ("my son is 3", "she's 8"): what the age warnings answer.
_CHILD_AGED = re.compile(
    r"(?<![a-z])(?:is|she's|he's|shes|hes|turning|turned|aged)\s+(\d{1,2})(?![\d.])(?!\s*(?:kg|lbs?|cm|ml|g|%))",
    re.IGNORECASE,
)
# "How many" + a thing + its verb: a count of that thing ("how many keys does it have"), not stock.
_HOW_MANY_THING = re.compile(
    r"(?<![a-z])how many (?!(?:do|does|are|is|left|more|of|you|u|in)\b)[a-z]{3,} "
    r"(?:does|do|can|will|would|come|comes|are|is)\b",
    re.IGNORECASE,
)
# "how many bottles do u have": how many are in stock.
_HOW_MANY_HAVE = re.compile(
    r"(?<![a-z])how many\b.{0,40}?\b(?:do|did) (?:you|u|ya|y'?all)(?: guys)? (?:have|got)\b", re.IGNORECASE
)
# An accessory asked of: "do i have to buy one", "sold separately?".
_BUY_SEPARATELY = re.compile(
    r"(?:have to|need to|gotta|got to|must i) buy (?:one|it|them|another|a \w+|separately)"
    r"|sold separately|单独买|另外买",
    re.IGNORECASE,
)
# Right before a name: the viewer's own one ("my tank", "我家的鱼缸"), not the product on sale.
_MINE = re.compile(r"(?:(?<![a-z])(?:my|our)\s+|我的|我家的?|家里的?)$", re.IGNORECASE)
# A number with its unit, and one said of the viewer's own thing ("my tank is 20 gallons", "for 10
# gal of water", "我家柯基12斤").
_MEASURE = re.compile(r"\d+(?:\.\d+)?\s*(?:[a-z]{1,8}|[\u4e00-\u9fff]{1,2})?", re.IGNORECASE)
_OWN_MEASURE = re.compile(
    r"(?<![a-z])(?:my|our|for)\b[^?.!,，。？]{0,24}?\d|(?:我家|我的|家里)[^，。？]{0,8}?\d", re.IGNORECASE
)
# The warranty asked of a fault: "坏了保修多久", "it broke, is it under warranty?".
_POLICY_ASKED = re.compile(
    r"保修多久|保修几年|质保多久|质保几年|保修吗|质保吗|能保修|保不保修"
    r"|under warranty|how long is the warranty|warranty\s*[?？]",
    re.IGNORECASE,
)
# "How long" of something that goes on ("how long does the battery last", "how long will the
# tea keep"): a length of time, not of the thing.
_HOW_LONG_DOES = re.compile(
    r"(?<![a-z])how long (?:\w+ ){0,6}?(?:lasts?|takes?|runs?|keeps?|stays?|go|goes)(?![a-z])",
    re.IGNORECASE,
)
# An order's count asked against the stock: "有那么多吗", "do you have that many".
_ENOUGH = re.compile(
    r"有那么多|有这么多|够不够|够吗|库存够"
    r"|have (?:that|this) many|enough (?:stock|left|in stock)|have enough",
    re.IGNORECASE,
)
_BARE_PRICE = re.compile(
    r"多少\s*[?？!！~～。]*\s*$|咋卖|怎么卖|啥价|多少一|几多钱|多钱|[$¥￥]{2}|^\W*[$¥￥]\W*$"
)


@dataclass(frozen=True)
class Budget:
    """A most-spend the viewer gave, in the currency they said it in (None: not said)."""

    amount: Decimal
    currency: str | None  # "$", "¥" or None


@dataclass(frozen=True)
class Reading:
    """What the text of one comment says, before any context."""

    text: str  # as read: NFKC, emoji spelled out, capped
    language: str  # "en" or "zh": the language to answer in
    intent: Intent
    named: tuple[str, ...]  # product ids named, in order of mention
    ambiguous: tuple[str, ...]  # product ids a shared word could mean ("the charger")
    variants: tuple[tuple[str, str], ...]  # (product id, SKU) named
    colour: str | None  # a colour word, whether or not a variant has it
    words: frozenset[str]  # content words, product names left in
    concepts: frozenset[str]  # attribute concepts (lexicon)
    budget: Budget | None
    quantity: int | None
    deixis: bool  # "this", "这个": the product on screen
    follow_up: bool  # "and the blue one?", "那黑色呢"
    yes_no: bool  # "is it ...?", "...吗"
    listing: bool  # "which flavours?", "有哪些": the options there are
    price_claim: bool  # "cheapest anywhere?", 全网最低
    medical: bool  # fishing for a health claim
    foreign: bool  # written in a language the host does not speak
    questions: int  # question sentences in it (a ramble may hold two)
    own_measure: bool = False  # the options named are only a measure of the viewer's own thing
    destination: str | None = None  # where the viewer wants it sent ("新疆能发吗")
    other_model: str | None = None  # a model named that no option is ("15 plus" of "iPhone 15")
    named_in_full: tuple[str, ...] = ()  # the named ones said by a name or alias the shop wrote

    @property
    def rambles(self) -> bool:
        """A long comment with more than one question: the first is answered, the rest acknowledged."""
        return self.questions >= 2 and _long(self.text)


@dataclass(frozen=True)
class Understanding:
    """A reading in context: the one record the answer plan, the store and the eval read."""

    reading: Reading
    intent: Intent
    product_id: str | None
    variant: str | None = None  # SKU
    attribute: str | None = None  # the fact field asked about (spec:<key>, faq:<n>, ...)
    score: float = 0.0  # how well ``attribute`` matched
    unknown: bool = False  # asks for something this product's catalog does not state
    missing_variant: str | None = None  # a colour or option asked for that the product lacks
    also: str | None = None  # a second fact asked in the same breath ("material? machine wash?")
    remembered: bool = False  # product or topic taken from this viewer's previous question
    switched: bool = False  # another product's facts matched clearly better than the one on screen
    on_screen: str | None = None  # the product on screen when it was asked
    fits: tuple[tuple[str, float], ...] = ()  # recommendations: products that fit the need, best first
    sized: tuple[str, ...] = ()  # SKUs whose stated range holds the viewer's own measure ("10 kg")
    nearest: str | None = None  # the stated fact closest in meaning, offered when the asked one is not
    notes: tuple[str, ...] = field(default=())  # why, for logs and the eval's confusion report

    @property
    def language(self) -> str:
        """The language to answer in."""
        return self.reading.language


# --- names -----------------------------------------------------------------------------------


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


@lru_cache(maxsize=16)
def _typo_targets(catalog: Catalog) -> tuple[tuple[str, str], ...]:
    """Name words of one product, five letters or more: what a typo ("sunscren") may mean."""
    owners: dict[str, set[str]] = {}
    for product in catalog.products:
        for name in product.names.values():
            for word in re.findall(r"[a-z]{5,}", name.lower()):
                owners.setdefault(word, set()).add(product.id)
    return tuple(
        (word, next(iter(ids))) for word, ids in owners.items() if len(ids) == 1 and word not in GENERIC_WORDS
    )


def _products_named(text: str, catalog: Catalog) -> tuple[tuple[str, ...], tuple[str, ...], str]:
    """Products named (in order), the ones a shared word could mean ("the charger"), and the text
    with the names taken out (a name says which product, not what is asked: "充电宝多少钱")."""
    lowered = _norm(text)
    # A Chinese name piece inside a longer concept word is that word, not the name: "白质" of
    # "蛋白质" (how much protein) does not name the 蛋白质粉.
    claimed = product_index(catalog).claim(lowered)
    if any(is_cjk(lowered[match.start]) for match in claimed):  # (the lexicon is searched only then)
        spans = lexicon().concept_spans(lowered)
        claimed = [
            match
            for match in claimed
            if not (
                is_cjk(lowered[match.start])
                and any(
                    s <= match.start and match.end <= e and e - s > match.end - match.start for s, e in spans
                )
            )
        ]
    named: list[str] = []
    ambiguous: list[str] = []
    for match in claimed:
        if len(match.values) == 1:
            (product_id,) = match.values
            if product_id not in named:
                named.append(product_id)
        else:
            ambiguous += [i for i in sorted(match.values) if i not in ambiguous]
    if not named and not ambiguous:
        # "能吃这个粮吗", "这个砂": a product called by the last character of its Chinese name.
        for char in _called_by_one_char(text):
            owners = _last_chars(catalog).get(char, ())
            if len(owners) == 1 and owners[0] not in named:
                named.append(owners[0])
    if not named and not ambiguous:
        # Typos: "sunscren", "hoddie". Whole words, same first letter, one edit (two in long words):
        # "weather" is no typo of "water".
        for token in re.findall(r"[a-z]{5,}", lowered):
            if lexicon().concepts_in(token):
                continue  # "charge" is a word of its own, not a typo of "charger"
            for word, product_id in _typo_targets(catalog):
                allowed = 1 if len(word) < 8 else 2
                if (
                    word[0] == token[0]
                    and Levenshtein.distance(token, word) <= allowed
                    and product_id not in named
                ):
                    named.append(product_id)
    dropped: set[str] = set()
    if len(named) >= 2:
        # "my tank is 20 gallons, which heater": the viewer's own tank, not the tank on sale.
        mine = {
            v for m in claimed if len(m.values) == 1 and _MINE.search(lowered[: m.start]) for v in m.values
        }
        if mine and set(named) - mine:
            named = [i for i in named if i not in mine]  # (its words still name no question)
    if len(named) >= 2:
        # "will it keep the rain out when i camp" names the tent by its alias; "camp" is only a
        # word of the Camp Chair's name: a product named in full outranks one a name word suggests,
        # and that word stays in what is asked ("does the power bank do wireless charging").
        full = {v for m in full_name_index(catalog).claim(lowered) if len(m.values) == 1 for v in m.values}
        if full & set(named):
            dropped = {i for i in named if i not in full}
            named = [i for i in named if i in full]
    if named:
        ambiguous = [i for i in ambiguous if i not in named]
    rest = lowered
    for match in sorted(claimed, key=lambda m: -m.start):
        start, end = match.start, match.end
        if match.values <= dropped:
            continue
        if len(match.values) == 1 and _labels_a_fact(rest[start:end], next(iter(match.values)), catalog):
            continue  # "SPF多少": a shop's alias that is also a spec's label asks that spec
        # "where is the jerky from?" reads as "where is it from?"
        before = re.sub(r"(?:^|\s)(?:the|this|that|these|those|your)\s*$", " ", rest[:start])
        rest = before + (" it " if rest[:start].strip() and not is_cjk(rest[start]) else " ") + rest[end:]
    return tuple(named), tuple(ambiguous), " ".join(rest.split())


def _named_in_full(text: str, catalog: Catalog) -> tuple[str, ...]:
    """The products ``text`` calls by a name or alias the shop wrote, or by the last character of
    the Chinese name ("这个灯"): not only by a word their name happens to use."""
    full = [v for m in full_name_index(catalog).claim(_norm(text)) if len(m.values) == 1 for v in m.values]
    ends = _last_chars(catalog)
    return (*full, *(ends[c][0] for c in _called_by_one_char(text) if len(ends.get(c, ())) == 1))


_THIS_WORDS = frozenset({"这个", "这款", "这种", "那个", "那款", "这", "那"})


@lru_cache(maxsize=1024)
def _called_by_one_char(text: str) -> tuple[str, ...]:
    """The one-character nouns said after "这个", "那款"... ("这个灯", "这个瓶子": 灯, 瓶). Cached:
    reading a comment asks it twice (which product is named, and whether in full)."""
    if not any(is_cjk(ch) for ch in text):
        return ()
    words = jieba_module().lcut(text)
    found: list[str] = []
    for before, word in zip(words, words[1:], strict=False):
        if before in _THIS_WORDS and word and all(is_cjk(ch) for ch in word):
            if len(word) == 1:
                found.append(word)
            elif len(word) == 2 and word[1] == "子":
                found.append(word[0])
    return tuple(found)


@lru_cache(maxsize=16)
def _last_chars(catalog: Catalog) -> dict[str, tuple[str, ...]]:
    """The last character of each product's Chinese names -> the products it ends ("粮": the dog food)."""
    owners: dict[str, list[str]] = {}
    for product in catalog.products:
        names = [product.names.get("zh", ""), *(a for a in product.aliases if any(is_cjk(c) for c in a))]
        for char in {n.strip()[-1] for n in names if n.strip() and is_cjk(n.strip()[-1])}:
            owners.setdefault(char, []).append(product.id)
    return {char: tuple(ids) for char, ids in owners.items()}


def _labels_a_fact(name: str, product_id: str, catalog: Catalog) -> bool:
    """``name`` (an alias of the product) is also a spec's or safety entry's key or label ("spf")."""
    product = catalog.get(product_id)
    said = name.strip().lower()
    return any(
        said in (entry.key.lower(), *(label.strip().lower() for label in entry.label.values()))
        for entry in (*product.specs, *product.safety)
    )


def _uses_label_word(words: frozenset[str], catalog: Catalog, product_id: str) -> bool:
    """The question uses an English word of a spec's or safety entry's label ("spf?", "wattage?")."""
    asked = {w for w in words if len(w) >= 3 and w.isascii()}
    return any(
        asked & cue
        for fact in catalog_facts(catalog).get(product_id, ())
        if fact.field.startswith(("spec:", "safety:"))
        for cue in fact.cue_words
    )


# What comes right after an option's name and makes it another model: "15 plus" is no "15",
# "三星s23" no Galaxy S24 (a code of letters and digits, or a model word).
_MODEL_AFTER = re.compile(
    r"\s?(?P<code>(?:plus|pro|max|mini|ultra|lite|se|fe)(?![a-z])|\+|[a-z]{1,3}\d{1,4}[a-z]?(?![a-z0-9]))",
    re.IGNORECASE,
)


def _variants_named(text: str, catalog: Catalog) -> tuple[tuple[tuple[str, str], ...], str | None]:
    """The options ``text`` names, and a model it names that is none of them ("有15 plus的壳吗")."""
    found: list[tuple[str, str]] = []
    other_model = None
    lowered = text.lower()
    for match in variant_index(catalog).claim(text):
        if re.search(r"\bhow\s+$|多$", lowered[: match.start]):
            continue  # "how big r the jars", "多大": a size asked, not the Large one named
        after = _MODEL_AFTER.match(lowered, match.end)
        if after is not None and not _own_model_word(after.group("code"), match.values, catalog):
            other_model = text[match.start : after.end()].strip()
            continue
        for value in sorted(match.values):
            if value not in found:
                found.append(value)
    return tuple(found), other_model


_MODEL_CODE = re.compile(r"(?<![a-z0-9])[a-z]{1,3}\s?\d{1,4}[a-z]?(?![a-z0-9])", re.IGNORECASE)


def _spellings(options: list[Variant | None]) -> list[str]:
    """The options' names and aliases, lower-case and without spaces ("iphone15pro")."""
    said = [n for v in options if v is not None for n in (*v.names.values(), *v.aliases)]
    return [n.lower().replace(" ", "") for n in said]


def _model_code_missing(text: str, product: Product) -> str | None:
    """A model code in ``text`` ("s24") that none of ``product``'s options has, when its options
    are models named with numbers ("iPhone 15", "iPhone 16"); None otherwise."""
    if sum(1 for v in product.variants if any(ch.isdigit() for ch in v.name("en"))) < 2:
        return None
    names = _spellings(list(product.variants))
    for found in _MODEL_CODE.finditer(text):
        code = found.group(0).lower().replace(" ", "")
        if not any(code in name for name in names) and not AMOUNT.fullmatch(found.group(0)):
            return found.group(0)
    return None


def _own_model_word(code: str, options: frozenset[tuple[str, str]], catalog: Catalog) -> bool:
    """``code`` is part of one of ``options``' own names ("pro" of "iPhone 15 Pro")."""
    names = _spellings([catalog.get(product_id).variant(sku) for product_id, sku in options])
    return any(code in name for name in names)


# --- slots -------------------------------------------------------------------------------------


def _arabic(text: str) -> str:
    """Chinese numerals as digits ("要三盒" -> "要3盒"), for reading amounts and counts only."""
    if not any(is_cjk(ch) for ch in text):
        return text
    text = re.sub(r"两(?=[个件盒支瓶袋双包罐条份套箱斤块只台副桶])", "2", text)  # cn2an leaves 两 alone
    try:
        return str(cn2an.transform(text, "cn2an"))
    except (ValueError, KeyError, IndexError):  # cn2an gives up on odd mixes; keep the text
        return text


def read_budget(text: str) -> Budget | None:
    """The most a viewer wants to spend, with the currency they named."""
    text = _arabic(unicodedata.normalize("NFKC", text))
    for pattern in _BUDGET:
        found = pattern.search(text)
        if found is None:
            continue
        symbol, amount, word = found.group(1), found.group(2), (found.group(3) or "").lower()
        try:
            value = Decimal(amount)
        except InvalidOperation:  # pragma: no cover - the pattern captures digits only
            continue
        said = symbol or word
        if pattern is _BUDGET[-1] and not said:
            continue  # "3个人够吗" is no money: "enough" counts a budget only with its currency
        if not said and _MEASURED_AFTER.match(text, found.end(2)):
            continue  # "go up to 90 lb?", "不超过5公斤": an amount of something else, not money
        currency = "¥" if said in _YUAN else "$" if said in _DOLLAR else None
        return Budget(value, currency)
    return None


def _quantity(text: str) -> int | None:
    text = _arabic(text)
    found = _QUANTITY_ZH.search(text)
    if found:
        return int(found.group(1))
    found = _QUANTITY_EN.search(text)
    if found:
        said = (found.group(1) or found.group(2) or found.group(3) or "").lower()
        number = int(said) if said.isdigit() else _NUMBER_WORDS.get(said)
        if number is not None and 1 <= number <= 10_000:
            return number
    return None


_RAMBLE_CHARS = 80  # a comment this long with two questions in it is a ramble (half that in Chinese)


def _long(text: str) -> bool:
    return len(text) > (_RAMBLE_CHARS // 2 if any(is_cjk(ch) for ch in text[:40]) else _RAMBLE_CHARS)


# Where a question ends: a question mark, or a Chinese question particle before a space or stop
# ("那个蜂蜜她能吃吗 还有那个龙井…": chat rarely types the ？).
_QUESTION_END = re.compile(r"(?<=[?？])|(?<=[吗呢嘛])(?=[\s，,。！!]|$)")
_ENDS_QUESTION = ("?", "？", "吗", "呢", "嘛")


def _ends_question(part: str) -> bool:
    return part.strip().endswith(_ENDS_QUESTION)


def _question_sentences(text: str) -> list[str]:
    """The sentences of ``text`` that ask something, in order."""
    return [p for p in re.split(rf"{_QUESTION_END.pattern}|[。！!\n]", text) if _ends_question(p)]


def _questions(text: str) -> int:
    return max(1, len(_question_sentences(text)))


def _first_question(text: str) -> str:
    return next((p for p in _QUESTION_END.split(text) if _ends_question(p)), text)


def second_question(reading: Reading, catalog: Catalog) -> Reading | None:
    """The second question of a ramble, read on its own ("…那个蜂蜜她能吃吗 还有那个龙井是今年的新茶吗":
    "那个龙井是今年的新茶吗"), without the word that joins it to the first ("还有" is no "还有货吗")."""
    if not reading.rambles:
        return None
    parts = _question_sentences(reading.text)
    if len(parts) < 2:
        return None
    return read(_ALSO.sub("", parts[1].strip(" ，,")), catalog)


_ALSO = re.compile(
    r"^\W*(?:还有|另外|还想问一下|还想问|再问一下|and also|also|and|plus|oh and)(?![a-z])\s*", re.IGNORECASE
)


def read(text: str, catalog: Catalog) -> Reading:
    """What ``text`` says on its own (see the module docstring)."""
    raw = text[:MAX_READ_CHARS]
    words = lexicon()
    language = detect_language(raw)
    spelled = words.unslang(unicodedata.normalize("NFKC", words.spell_emoji(raw)))
    foreign = words.is_foreign(raw)
    if not foreign:
        # Traditional characters read as Simplified (the catalog's): 大紅袍多少錢 is 大红袍多少钱.
        spelled = to_simplified(spelled)
    questions = _questions(spelled)
    # A ramble with several questions is read by its first question (the rest is acknowledged).
    scope = _first_question(spelled) if questions >= 2 and _long(spelled) else spelled
    where = destination(scope)
    if where is not None:
        # "新疆能发吗": the place is where to send it, not the 新疆果干礼盒.
        scope = scope[: where.start] + " " + scope[where.end :]
    named, ambiguous, asked = _products_named(scope, catalog)
    asked_concepts = words.concepts_in(asked)
    # What is asked is read without the names ("充电宝多少钱" is a price question, whatever the
    # name says). Moderation sees the whole comment.
    intent = classify(spelled, language)
    if intent not in _MODERATED:
        # A number with its unit names an option or an amount ("how much is the 160 ml bottle"),
        # not the kind of question: the unit alone would read as a spec question.
        intent = classify(AMOUNT.sub(" ", asked), language)
    asks = any(_ends_question(p) for p in _QUESTION_END.split(spelled))
    if intent in (Intent.CHITCHAT, Intent.GREETING) and _long(spelled) and asks:
        # "...two things: can I fly with it, and what's in the box? thx": the question, not the thanks.
        intent = classify(asked, language, skip=(Intent.CHITCHAT, Intent.GREETING))
    elif (
        intent is Intent.CHITCHAT
        and asked_concepts - COMMERCE
        and _ASKING.search(spelled)
        and not _TO_THE_HOST.search(spelled)
    ):
        # "儿童手表几岁可以戴", "can i steer it myself? ... haha": a question about the product that
        # happens to share a word with small talk ("主播几岁了", "haha").
        intent = classify(asked, language, skip=(Intent.CHITCHAT, Intent.GREETING))
    elif (
        intent is Intent.CHITCHAT
        and _LAUGHTER.search(spelled)
        and _ASKED_OUTRIGHT.search(_LAUGHTER.sub(" ", spelled).strip())
        and not _TO_THE_HOST.search(spelled)
    ):
        # "will the drums drive my neighbours crazy lol": a question with a laugh is a question.
        intent = classify(_LAUGHTER.sub(" ", asked), language)
    elif intent is Intent.PURCHASE and (
        ("harm" in asked_concepts and _ASKING.search(spelled)) or _CONSUMES.search(spelled)
    ):
        # "I'm pregnant, ok to take whey?", "can kids take the fish oil?": a worry before buying, or
        # who may take it, which the safety entries answer; not an order.
        intent = classify(asked, language, skip=(Intent.PURCHASE, Intent.CHITCHAT, Intent.GREETING))
    if (
        intent in (Intent.SPEC, Intent.OTHER, Intent.PRODUCT_INFO)
        and not named
        and _TO_THE_HOST.search(spelled)
        and _HOST_PERSONAL.search(spelled)
    ):
        intent = Intent.CHITCHAT  # "主播多大了": the host's age, not a size
    if (
        (intent is Intent.OTHER or (intent is Intent.CHITCHAT and len(spelled) <= 30))
        and _BARE_PRICE.search(spelled)
        # "含绒量多少" asks an amount, not the price; "S码儿童框多少" only says who it is for
        and not asked_concepts - COMMERCE - WHO
    ):
        intent = Intent.PRICE
    elif intent in (Intent.OTHER, Intent.CHITCHAT, Intent.COMPARISON) and _PRICE_HEARD.search(spelled):
        intent = Intent.PRICE  # "还是99吗 前几天看到秒杀", "my friend says it's 99, true?": the real price
    elif intent is Intent.OTHER and _STILL_THERE.search(spelled):
        intent = Intent.STOCK
    elif intent is Intent.OTHER and asked_concepts in ({"price"}, {"stock"}):
        # "cheapest heater u have?", "is the fish oil almost gone": a commerce word and nothing else.
        intent = Intent.PRICE if "price" in asked_concepts else Intent.STOCK
    separately = _BUY_SEPARATELY.search(spelled) is not None
    if intent is Intent.STOCK and _HOW_MANY_THING.search(spelled) and "stock" not in asked_concepts:
        # "how many notes does the kalimba have": a count the specs state, not how many are left.
        intent = classify(asked, language, skip=(Intent.STOCK,))
    elif intent is Intent.PURCHASE and separately:
        # "does it come with a case or do i have to buy one": what comes with it, not an order.
        intent = classify(asked, language, skip=(Intent.PURCHASE,))
    elif intent is Intent.SPEC and asked_concepts - _OPTION_KINDS == {"price"}:
        intent = Intent.PRICE  # "full size guitar price pls": the price of that size
    if intent is Intent.STOCK and asked_concepts & COMMERCE == {"price"}:
        # "还有秒杀价吗", "中秋那个49的价还有吗": whether the price still holds, not the stock.
        intent = classify(asked, language, skip=(Intent.STOCK,))
        intent = Intent.PRICE if intent is Intent.OTHER else intent
    if intent is Intent.COMPLAINT and _POLICY_ASKED.search(spelled):
        # "蒸汽机坏了保修多久": a fault that asks how long the warranty is; the policy answers it.
        intent = classify(asked, language, skip=(Intent.COMPLAINT,))
    quantity = None if separately else _quantity(spelled)  # "buy one" of a case
    if intent in (Intent.OTHER, Intent.PURCHASE) and quantity is not None and _ENOUGH.search(spelled):
        intent = Intent.STOCK  # "要十瓶 有那么多吗": the stock against the order
    if (
        intent is Intent.PRICE
        and (_HOW_MUCH_THING.search(spelled) or "dosage" in asked_concepts)
        and "price" not in asked_concepts
    ):
        # "how much light gets thru", "how much weight can it hold", "how much do i put in": an
        # amount of a thing.
        intent = classify(asked, language, skip=(Intent.PRICE,))
    if _PRICE_CLAIM.search(spelled) and intent not in (Intent.INJECTION, Intent.ABUSE, Intent.SPAM):
        intent = Intent.PRICE
    if (
        intent not in (*_MODERATED, Intent.COMPLAINT)
        and _BOUGHT_BEFORE.search(spelled)
        and _WENT_WRONG.search(spelled)
        and not _WHAT_IF.search(spelled)
    ):
        # "上次买的猫砂粉尘好大 呛到猫了", "上周买的充电头用了几天就不充电了": what went wrong with an
        # order is a complaint, whatever spec word it uses.
        intent = Intent.COMPLAINT
    if intent is Intent.COMPLAINT and _WHAT_IF.search(spelled) and not _HAPPENED.search(spelled):
        # "如果刀坏了保修吗", "if it breaks after a few months what happens": a warranty question.
        intent = classify(asked, language, skip=(Intent.COMPLAINT,))
    if where is not None and intent not in (*_MODERATED, Intent.COMPLAINT):
        intent = Intent.SHIPPING
    options, other_model = _variants_named(scope, catalog)
    # "my tank is 20 gallons", "我家柯基12斤": a measure of the viewer's own thing, which names an
    # option of another product only by chance ("20 gallon" kit, "6公斤装" dog food).
    own_measure = (
        bool(options)
        and _OWN_MEASURE.search(scope) is not None
        and not _variants_named(_MEASURE.sub(" ", scope), catalog)[0]
    )
    if len(options) >= 2:
        # "need 6 bags of the 12kg one": "6 bags" is how many, not the "6 kg bag".
        fewer, _ = _variants_named(_COUNT_SAID.sub(" ", scope), catalog)
        options = fewer or options
    return Reading(
        text=spelled,
        language=language,
        intent=intent,
        named=named,
        ambiguous=ambiguous,
        variants=options,
        other_model=other_model,
        colour=words.colour_in(spelled.lower()),
        words=stems(asked),
        # "in white??" asks about colour even when no colour word of the lexicon's concepts is said.
        concepts=asked_concepts
        | ({"colour"} if words.colour_in(asked) else frozenset())
        | ({"shipping"} if where is not None else frozenset())
        | ({"time"} if _HOW_LONG_DOES.search(asked) else frozenset())
        | ({"stock"} if _HOW_MANY_HAVE.search(spelled) else frozenset())
        | ({"age"} if _CHILD_AGED.search(spelled) and "kids" in asked_concepts else frozenset()),
        budget=read_budget(spelled),
        destination=where.place if where is not None else None,
        quantity=quantity,
        deixis=bool(_THIS.search(spelled)),
        named_in_full=_named_in_full(scope, catalog),
        follow_up=bool(_FOLLOW_UP.search(spelled)) and len(spelled) <= 40,
        yes_no=bool(_YES_NO.search(spelled)),
        # "what size should I get?" asks for advice on the sizes, not for the list of them.
        # "有小一点的吗" asks which sizes there are, too.
        listing=bool(_LISTING.search(spelled) or _RELATIVE_SIZE.search(spelled))
        and "fit" not in asked_concepts,
        price_claim=bool(_PRICE_CLAIM.search(spelled)),
        medical=bool(_MEDICAL_BAIT.search(spelled)),
        foreign=foreign,
        questions=questions,
        own_measure=own_measure,
    )


# --- in context --------------------------------------------------------------------------------

# Intents whose answer is one fact of one product: the attribute match may refine them.
_REFINABLE = (
    Intent.OTHER,
    Intent.SPEC,
    Intent.PRODUCT_INFO,
    Intent.STOCK,
    Intent.PRICE,
    Intent.SHIPPING,
    Intent.PROMO,
)
# Intents that ask for a fact of the product (not its price, stock, deal or an order).
_FACT_ASKED = (Intent.OTHER, Intent.SPEC, Intent.PRODUCT_INFO)
# Words that point at what is shown, unlike "it" / 它, which goes back to what was just said.
_POINTS = re.compile(r"\b(?:this|these|that one|here)\b|这|那个|那款", re.IGNORECASE)
_COMMERCE_INTENTS = (Intent.STOCK, Intent.PRICE, Intent.PROMO)
_OPTION_KINDS = frozenset({"colour", "size", "flavour", "fit"})  # what variants usually differ in
_SHIPPING = frozenset({"shipping", "returns", "warranty", "return_cost"})
_GENERIC_INFO = re.compile(r"tell me (?:about|more)|介绍|讲讲|说说|what is (?:it|this)|是什么", re.IGNORECASE)


def _shown_products_words(reading: Reading, catalog: Catalog, shown: Product) -> Reading:
    """A product "named" only by a piece of its name that the product on screen's own texts use
    is not named: "镜片多宽" with the frames on screen asks about their lenses, not the 镜片清洁布套装;
    "how dark are the lenses" with sunglasses shown asks nothing of the lens solution. The piece
    goes back into what is asked."""
    if shown.id in reading.ambiguous and not reading.named:
        # "can i use it on hard lenses" with the lens solution shown: the word names several
        # products, and the one on screen is one of them.
        return replace(reading, named=(shown.id,), ambiguous=())
    text = _norm(reading.text)
    pieces: dict[str, list[str]] = {}
    for match in product_index(catalog).claim(text):
        for product_id in match.values:
            pieces.setdefault(product_id, []).append(text[match.start : match.end])
    own = _own_texts(catalog)[shown.id]
    dropped = {
        product_id
        for product_id in (*reading.named, *reading.ambiguous)
        if product_id != shown.id
        and product_id not in reading.named_in_full
        and pieces.get(product_id)
        and all(_uses_piece(own, piece) for piece in pieces[product_id])
    }
    if not dropped:
        return reading
    said = " ".join(piece for product_id in dropped for piece in pieces[product_id])
    return replace(
        reading,
        named=tuple(i for i in reading.named if i not in dropped),
        ambiguous=tuple(i for i in reading.ambiguous if i not in dropped),
        words=reading.words | stems(said),
        concepts=reading.concepts | lexicon().concepts_in(said),
    )


@lru_cache(maxsize=16)
def _own_texts(catalog: Catalog) -> dict[str, str]:
    """Everything the catalog says of each product, lower-cased: what its own questions may use."""
    return {product.id: _norm(" ".join(product.texts())) for product in catalog.products}


def _uses_piece(text: str, piece: str) -> bool:
    """``piece`` of a name is in ``text``: Latin words as words or their plural ("lens", "lenses")."""
    if piece.isascii():
        stem = re.sub(r"(?:es|s)$", "", piece) if len(piece) > 3 else piece
        return re.search(rf"(?<![a-z0-9]){re.escape(stem)}(?:e?s)?(?![a-z0-9])", text) is not None
    return piece in text


def _named_last(reading: Reading, catalog: Catalog) -> str:
    """Of the products a comment names, the one it names last ("i journal every day with a
    fountain pen, need a notebook": the notebook, although "journal" named it first)."""
    last = reading.named[-1]
    for match in product_index(catalog).claim(reading.text.lower()):
        if len(match.values) == 1 and (found := next(iter(match.values))) in reading.named:
            last = found
    return last


def _generic_info(reading: Reading, hit: FactHit | None) -> bool:
    """ "Tell me about it", "这是什么": the product as a whole. Not when something of it is named:
    "兔子里面塞的是什么" (its filling), "推车轮子是什么的" (a fact that matches well)."""
    if _GENERIC_INFO.search(reading.text) is None:
        return False
    return not reading.concepts - COMMERCE and (hit is None or hit.score < FACT_MATCH)


def understand(
    reading: Reading,
    catalog: Catalog,
    on_screen: str | None,
    topic: Topic | None = None,
    meaning: QuestionMeaning | None = None,
) -> Understanding:
    """Put ``reading`` in context (see the module docstring). ``topic`` is the viewer's last
    question, when fresh; ``meaning`` compares the question with the catalog by embeddings where
    its words are not enough."""
    intent = reading.intent
    notes: list[str] = []
    on_screen = on_screen if on_screen in catalog else None
    if intent in _MODERATED:
        return Understanding(reading, intent, reading.named[0] if reading.named else on_screen)
    if reading.foreign:
        reading = _foreign(reading, meaning)
        intent = reading.intent

    # Which product.
    if on_screen is not None and (reading.named or reading.ambiguous):
        reading = _shown_products_words(reading, catalog, catalog.get(on_screen))
    if (
        reading.deixis
        and on_screen is not None
        and reading.named
        and on_screen not in reading.named
        and not set(reading.named) & set(reading.named_in_full)
    ):
        # "does it stay open on the desk": "it" is the notebook on screen; "desk" is only a word
        # of the Desk Lamp's name, not the lamp named.
        reading = replace(reading, named=())
    if (
        reading.follow_up
        and topic is not None
        and reading.named
        and not reading.named_in_full
        and any(pid == topic.product_id for pid, _ in reading.variants)
    ):
        # "how much is the smartwatch" then "and the silver one?": the watch's silver option, not
        # the necklace whose name has "Silver" in it.
        reading = replace(reading, named=())
    remembered = False
    variant: str | None = None
    product_id: str | None
    if len(reading.named) >= 2 and intent is not Intent.COMPARISON and not _COMPARES.search(reading.text):
        # Two products named with nothing weighing them ("can i cook in my tent with the stove",
        # "a notebook that won't bleed with my fountain pen"): the one on screen, else the one
        # named last, is what is asked about; the other is where or with what.
        product_id = on_screen if on_screen in reading.named else _named_last(reading, catalog)
        reading = replace(reading, named=(product_id,))
    elif reading.named:
        product_id = reading.named[0]
    elif reading.variants and not (
        reading.own_measure and on_screen is not None and all(pid != on_screen for pid, _ in reading.variants)
    ):
        own = [v for v in reading.variants if v[0] in (on_screen, topic.product_id if topic else None)]
        product_id = (own or list(reading.variants))[0][0]
    elif reading.ambiguous and reading.budget is None and intent is not Intent.RECOMMENDATION:
        return Understanding(reading, intent, None, notes=("ambiguous name",))
    elif (
        reading.deixis
        and topic is not None
        and topic.product_id in catalog
        and topic.product_id != on_screen
        and topic.on_screen == on_screen
        and _POINTS.search(reading.text) is None
    ):
        # "what about the kalimba?" then "is it in stock": "it" is the kalimba just talked about
        # while the screen still shows what it showed then; "this one" / 这个 is what is shown.
        product_id, remembered = topic.product_id, True
    elif reading.deixis and on_screen is not None:
        product_id = on_screen
    elif (
        topic is not None
        and topic.product_id in catalog
        and (reading.follow_up or topic.product_id != topic.on_screen or topic.on_screen == on_screen)
    ):
        product_id, remembered = topic.product_id, True
    elif resolve_product(reading.text, catalog, on_screen) is None:
        product_id = None  # "the blue one" when the product on screen has no colours: ask which
    else:
        product_id = on_screen
    if product_id is None and intent in _FACT_ASKED and not reading.ambiguous:
        # "会掉毛吗" with nothing on screen: the one product whose own facts answer it.
        found = _better_product(reading, catalog, "", alone=True)
        if found is not None:
            product_id = found.fact.product_id
            notes.append("facts of a product not named")
    product = catalog.get(product_id) if product_id is not None else None
    named_variants = [sku for pid, sku in reading.variants if pid == product_id]
    by_colour = not named_variants and product is not None and reading.colour is not None
    if by_colour and product is not None and reading.colour:
        # "有蓝色吗" when the blues are "S码 海洋蓝" and "M码 海洋蓝": no single option's name, but
        # those options are that colour (saying "no blue" would be false).
        named_variants = _options_in(product, reading.colour)
        coloured = tuple((product.id, sku) for sku in named_variants)
        reading = replace(reading, variants=(*reading.variants, *coloured))
    if named_variants and not (by_colour and len(named_variants) > 1):
        variant = named_variants[0]  # (two options of the asked colour: both, below)
    elif (
        topic is not None
        and topic.variant is not None
        and topic.product_id == product_id
        and intent in (Intent.STOCK, Intent.PRICE)
        and reading.quantity is None
    ):
        # "桌子有白色的吗" then "还剩几张": how many of the white one are left.
        variant, remembered = topic.variant, True

    if (
        len(reading.named) < 2
        and len(named_variants) >= 2
        and (intent is Intent.PRICE or "price" in reading.concepts or _PRICE_GAP.search(reading.text))
    ):
        # "small vs medium, what's the price diff", "单人被和双人被差多少钱": the options' prices.
        intent, variant = Intent.PRICE, None
    elif (
        len(reading.named) < 2
        and len(named_variants) >= 2
        and (
            intent is Intent.STOCK
            or "stock" in reading.concepts
            or (intent is Intent.OTHER and _HAVE.search(reading.text) is not None)
        )
    ):
        intent, variant = Intent.STOCK, None  # "grey vs beige, which one has more left": each one's stock
    elif intent is Intent.COMPARISON and len(reading.named) < 2 and len(named_variants) >= 2:
        intent = Intent.OTHER  # "红轴和茶轴有啥区别": the product's own word on its options
    elif intent is Intent.COMPARISON and not (
        len(reading.named) >= 2
        or (reading.named and reading.deixis and on_screen not in (None, *reading.named))
    ):
        # "纸是纯白的还是偏黄", "润肤乳现在还是双11价吗": no second product to weigh (the answerer
        # compares two named, or "this" and one named), so one fact of this product is asked.
        intent = classify(reading.text, reading.language, skip=(Intent.COMPARISON,))
        if intent is Intent.OTHER and reading.concepts & COMMERCE == {"price"}:
            intent = Intent.PRICE  # "现在还是双11价吗"
    # A follow-up with no question of its own ("and the blue one?") asks the last question again;
    # one that names a kind of fact ("保质期呢", "and how long do they keep?") asks that of the same
    # product, which the product choice above already remembered.
    # "那麻辣的呢": the option's own name says "spicy"; that is which option, not a new question.
    named_options = [product.variant(sku) for sku in named_variants] if product is not None else []
    said_by_option = frozenset(
        concept
        for option in named_options
        if option
        for name in option.names.values()
        for concept in lexicon().concepts_in(name)
    )
    own_question = (bool(reading.concepts - COMMERCE - said_by_option) and not reading.named) or (
        product is not None and _uses_label_word(reading.words, catalog, product.id)
    )
    if (
        topic is not None
        # "and the big one?": "big" names an option here, not a size question
        and (intent is Intent.OTHER or (intent is Intent.SPEC and named_variants and not reading.concepts))
        and not own_question
        and (reading.follow_up or named_variants or reading.named)
        and topic.intent in {i.value for i in _REFINABLE}
        and (reading.follow_up or len(reading.text) <= 30)
    ):
        intent = Intent(topic.intent)
        remembered = True
        notes.append("follow-up")
        if reading.named and topic.concepts and not reading.concepts and reading.named[0] != topic.product_id:
            # "那蜂蜜呢" after "保质期多久": the same kind of fact, of the product now named.
            reading = replace(reading, concepts=topic.concepts)
        same = not named_variants and not reading.named  # "and this one?": the same fact again
        other_option = named_variants and not reading.concepts  # "and the L?": that option's fact
        if topic.attribute and (same or other_option):
            return Understanding(
                reading,
                intent,
                product_id,
                variant,
                topic.attribute,
                1.0,
                remembered=True,
                notes=tuple(notes),
            )

    if (
        reading.budget is not None
        and not reading.named
        and intent in (Intent.OTHER, Intent.PRICE, Intent.PRODUCT_INFO, Intent.PROMO)
    ):
        intent = Intent.RECOMMENDATION  # "有没有二十块以下的": something within a budget
    elif (
        reading.budget is not None
        and len(reading.named) == 1
        and intent in (Intent.OTHER, Intent.PRODUCT_INFO)
    ):
        intent = Intent.PRICE  # "300块 扫地机能拿下吗": its price against the viewer's money
    if intent is Intent.RECOMMENDATION and len(reading.named) >= 2 and _WEIGHS.search(reading.text):
        # "坚果礼盒和龙井 送礼哪个好", "nuts or tea, which is the better gift?" weigh the two named;
        # "手表是20毫米的 有合适的表带吗" names one to find another.
        intent = Intent.COMPARISON
    if (
        intent is Intent.RECOMMENDATION
        and product is not None
        and reading.budget is None
        and len(reading.named) < 2
        and (reading.named or not asks_most(reading.text))  # "糖度越高越好 选哪个": across products
        and _asks_own_fact(reading, catalog, product)
    ):
        intent = Intent.OTHER  # "送人有袋子吗", "我黄皮选哪个色号": this product's own answer
    elif (
        intent is Intent.RECOMMENDATION
        and product is not None
        and product.variants
        and len(reading.named) == 1
        and reading.budget is None
        and "price" in reading.concepts
    ):
        intent = Intent.PRICE  # "芒果最便宜的那个多少钱": the prices of its options
    if (
        product is not None
        and product.variants
        and len(reading.named) < 2
        and intent not in (Intent.PRICE, Intent.PROMO, Intent.SHIPPING, Intent.COMPLAINT, Intent.PURCHASE)
        and _WHICH_OPTION.search(reading.text)
        and (sized := fitting_options(product, viewer_measures(reading.text)))
    ):
        # "my baby weighs 10 kg, what size?", "im 6'4 which one": the options whose stated range
        # holds what the viewer said of themselves.
        return Understanding(
            reading,
            Intent.RECOMMENDATION,
            product_id,
            sized[0],
            "variants",
            1.0,
            remembered=remembered,
            on_screen=on_screen,
            notes=(*notes, "sized"),
            sized=sized,
        )
    if product is None or intent is Intent.RECOMMENDATION:
        fits: tuple[tuple[str, float], ...] = ()
        if intent is Intent.RECOMMENDATION and meaning is not None:
            fits = _need_fits(reading, catalog, meaning)
        elif intent is Intent.OTHER and meaning is not None and _ASKS_HELP.search(reading.text):
            # "我家猫不爱喝水怎么办" names no product: a problem, and what clearly fits it helps.
            fits = meaning.fits()
            intent = Intent.RECOMMENDATION if fits else intent
        return Understanding(
            reading,
            intent,
            product_id,
            remembered=remembered,
            on_screen=on_screen,
            notes=tuple(notes),
            fits=fits,
        )

    missing = None
    if product.variants and not named_variants and not reading.named[1:]:
        options = next((f for f in catalog_facts(catalog)[product.id] if f.field == "variants"), None)
        kinds = options.cue_concepts & _OPTION_KINDS if options is not None else frozenset()
        named_colours = any(lexicon().colour_in(v.name("en").lower()) for v in product.variants)
        size = _SIZE.search(reading.text)
        colour_spec = any(  # a spec labelled "colour": the product's one colour ("space grey")
            {"colour", "color"} & cue
            for f in catalog_facts(catalog)[product.id]
            if f.field.startswith("spec:")
            for cue in f.cue_words
        )
        if reading.colour and ("colour" in kinds or named_colours) and not colour_spec:
            missing = reading.colour  # "the green one" when the shades are others
        elif size and "size" in kinds:
            missing = next(g for g in size.groups() if g)
        elif reading.other_model is not None:
            missing = reading.other_model  # "有15 plus的壳吗": not one of the models it fits
        elif (code := _model_code_missing(reading.text, product)) is not None:
            missing = code  # "有三星s24的壳吗" of a case made for iPhones
        elif (
            reading.yes_no
            and not reading.listing
            and not _RELATIVE_SIZE.search(reading.text)  # "a smaller size?": which there are
            and reading.concepts & kinds
            and not reading.concepts & _SHIPPING  # "尺码买错了能换吗" asks about exchanges
            and intent in (Intent.OTHER, Intent.SPEC, Intent.STOCK, Intent.PRODUCT_INFO)
        ):
            missing = ""  # "有没有咖喱味的?": an option of that kind the product does not have

    # Which of the product's facts.
    hit: FactHit | None = None
    switched = False
    if reading.destination is not None and intent is Intent.SHIPPING:
        # "can u ship to tibet": the shipping policy, not a spec whose label says "shipped".
        policy = [f for f in catalog_facts(catalog)[product.id] if f.field == "shipping"]
        hit = FactHit(policy[0], 1.0) if policy else None
    elif intent in _REFINABLE:
        words = reading.words
        # Meaning picks among facts only when a fact is what is asked: "要三盒" and "on sale?" are
        # commerce questions whatever fact they resemble.
        fact_asked = meaning is not None and intent in _FACT_ASKED and reading.quantity is None
        hit = best_fact(
            product,
            catalog,
            words,
            reading.concepts,
            listing=reading.listing,
            meaning=meaning.facts if meaning is not None and fact_asked else None,
            text=reading.text,
        )
        if (
            (hit is None or hit.score < FACT_MATCH)
            and not (remembered and reading.follow_up)  # "保质期呢" is about the product just discussed
            and not reading.named
            and not reading.deixis
            and not variant
            # "还有货吗" with the trimmer on screen is the trimmer's stock, whatever another
            # product's text says of 货: a commerce question is answered by the product's own field.
            and intent not in _COMMERCE_INTENTS
        ):
            other = _better_product(reading, catalog, product.id)
            if other is not None:
                product, hit, switched = catalog.get(other.fact.product_id), other, True
                product_id = product.id
                notes.append("facts of another product")
    stated, unmeasured = (None, False)
    either = intent is Intent.COMPARISON and len(reading.named) < 2
    if (intent in _REFINABLE or either) and intent is not Intent.SHIPPING and not reading.concepts & COMMERCE:
        stated, unmeasured = _stated_in_value(reading, catalog, product)
        if stated is not None:
            hit, intent = stated, Intent.SPEC
        elif unmeasured:
            hit, intent = None, Intent.SPEC
    attribute, score = (
        (hit.fact.field, hit.score) if hit is not None and hit.score >= FACT_MATCH else (None, 0.0)
    )
    if (
        len(set(named_variants)) >= 2
        and intent in (Intent.SPEC, Intent.OTHER)
        and not reading.concepts & COMMERCE
        and (apart := telling_apart(product, named_variants)) is not None
        and not (attribute or "").startswith("faq:")
    ):
        # "is the teat on the 240 faster than the 160 one": the spec that speaks of both options.
        attribute, score, intent, hit = apart, 0.8, Intent.SPEC, None
    if (
        missing
        and attribute is not None
        and attribute.startswith("faq:")
        and hit is not None
        and any(stems(missing) <= cue for cue in hit.fact.cue_words)
    ):
        missing = None  # "which shade suits yellow undertones?": the colour is in the question asked
    also = _second_fact(reading, catalog, product, hit) if attribute is not None and hit is not None else None
    commerce = reading.concepts & COMMERCE
    only_who = bool(reading.concepts) and reading.concepts <= WHO
    if attribute is not None:
        keep = (
            (
                intent is Intent.PRICE
                # "S码儿童框多少": who it is for names no fact; the price is asked
                and ("price" in commerce or only_who or not _amount_of(reading, hit, product))
            )
            or (intent is Intent.STOCK and "stock" in commerce)
            or (intent is Intent.PROMO and not attribute.startswith("offer:"))
            or (intent is Intent.PRODUCT_INFO and _generic_info(reading, hit))
            # "need 2 of the 160 ml": an order of the option named, not the list of options
            or (attribute == "variants" and reading.quantity is not None and bool(named_variants))
            or (
                intent is Intent.SHIPPING
                and attribute != "shipping"
                and not attribute.startswith("faq:")
                and hit is not None
                and not reading.concepts & hit.fact.cue_concepts
            )
        )
        if keep:
            attribute, score = None, 0.0
        elif attribute == "shipping":
            intent = Intent.SHIPPING
        elif attribute.startswith(("spec:", "safety:", "variants")):
            intent = Intent.SPEC
        elif attribute.startswith("point:") and intent in (
            Intent.PRICE,
            Intent.STOCK,
            Intent.SHIPPING,
            Intent.PROMO,
        ):
            attribute, score = None, 0.0  # a selling point never answers a commerce question
        elif attribute.startswith("offer:"):
            intent = Intent.PROMO
        elif intent in (Intent.PRICE, Intent.STOCK):
            intent = Intent.SPEC  # "how many watts" is no stock question
    if reading.quantity is not None and intent in (Intent.OTHER, Intent.PURCHASE, Intent.STOCK):
        # "要三盒", "need 4 for the office": an order, checked against the stock when it is said.
        stock = "stock" in reading.concepts or variant or intent is Intent.STOCK
        intent = Intent.STOCK if stock else Intent.PURCHASE
    if (
        variant is not None
        and intent is Intent.OTHER
        and (attribute is None or score < 0.8)
        and len(named_variants) < 2
        and "fit" not in reading.concepts  # "鞋码正吗 我平时穿39": advice on sizes, not the 39's stock
    ):
        intent, attribute, score = Intent.STOCK, None, 0.0  # "还有麻辣的吗": is that one there
    elif variant is not None and len(named_variants) < 2 and _STILL_THERE.search(reading.text):
        intent, attribute, score = Intent.STOCK, None, 0.0  # even when an FAQ speaks of that option
    unknown = False
    if intent is Intent.SHIPPING and attribute in (None, "shipping"):
        unknown = _shipping_unstated(reading, catalog, product)
    if attribute is None and intent in (Intent.SPEC, Intent.OTHER, Intent.PRODUCT_INFO):
        asked = reading.concepts - COMMERCE
        generic = intent is Intent.PRODUCT_INFO and _generic_info(reading, hit)
        unknown = (
            not generic
            and not missing
            and (bool(asked) or (reading.yes_no and intent is not Intent.PRODUCT_INFO))
        )
        if intent is Intent.SPEC and not asked and not reading.yes_no:
            unknown = False  # "what are the specs?": the key specs
        unknown = unknown or unmeasured
    # Only what may be answered "not stated" pays for the meaning: a price or a greeting does not.
    may_not_state = unknown or (attribute is None and intent in _FACT_ASKED)
    nearest = _nearest_fact(product, meaning) if may_not_state and meaning is not None else None
    return Understanding(
        reading,
        intent,
        product_id,
        variant,
        attribute,
        score,
        unknown=unknown,
        missing_variant=missing,
        also=also,
        remembered=remembered,
        switched=switched,
        on_screen=on_screen,
        nearest=nearest,
        notes=tuple(notes),
    )


def _options_in(product: Product, colour: str) -> list[str]:
    """The SKUs of the options whose names say ``colour`` ("红色" in "M码 红色", "蓝色" in "海洋蓝")."""
    shade = colour.lower().removesuffix("色") if is_cjk(colour[0]) else colour.lower()
    return [
        option.sku
        for option in product.variants
        if any(says_word(said.lower(), shade) for said in (*option.names.values(), *option.aliases))
    ]


def _nearest_fact(product: Product, meaning: QuestionMeaning) -> str | None:
    """The product's spec, safety entry or FAQ closest in meaning to the question: what the host
    offers when the thing asked is not stated ("play at night without waking the neighbours?" →
    the FAQ on headphones)."""
    similarities = {
        field: similarity
        for field, similarity in meaning.facts(product.id).items()
        if field.startswith(("spec:", "safety:", "faq:"))
    }
    return max(similarities, key=lambda f: similarities[f]) if similarities else None


def _need_fits(reading: Reading, catalog: Catalog, meaning: QuestionMeaning) -> tuple[tuple[str, float], ...]:
    """The products a need fits, best first, by what the need means (the products' profiles) and
    by the catalog facts its words match, together: "need something to wipe his face, no alcohol"
    is the wipes ("alcohol-free") although the bottle's profile is a hair closer in meaning.

    One product leading the rest by :data:`_NEED_LEAD` on the two together, with words of its own
    facts matching, is the fit. Otherwise the profiles decide which products fit at all
    (:meth:`QuestionMeaning.fits`) and the two together order them."""
    similarities = meaning.products()
    if len(similarities) < 2:
        return meaning.fits()
    mean = sum(similarities.values()) / len(similarities)
    words: dict[str, float] = {}
    for product in catalog.products:
        hit = best_fact(product, catalog, reading.words, reading.concepts - COMMERCE)
        words[product.id] = hit.score if hit is not None else 0.0
    both = {
        pid: words.get(pid, 0.0) + _NEED_MEANING * (similarity - mean)
        for pid, similarity in similarities.items()
    }
    ranked = sorted(both, key=lambda pid: -both[pid])
    if both[ranked[0]] - both[ranked[1]] >= _NEED_LEAD and words.get(ranked[0], 0.0) >= _NEED_WORDS:
        return tuple((pid, similarities[pid]) for pid in ranked)
    return tuple(sorted(meaning.fits(), key=lambda fit: -both.get(fit[0], 0.0)))


# Calibrated on the shops' recommendation cases (a need said in the viewer's words): e5 puts
# products a few hundredths apart, so a hundredth of similarity weighs like 0.1 of word score.
_NEED_MEANING = 10.0
_NEED_LEAD = 0.3
_NEED_WORDS = 0.3


def _asks_own_fact(reading: Reading, catalog: Catalog, product: Product) -> bool:
    """A "which/what for ..." question the product's own catalog answers: its gift packaging, or
    an FAQ or spec that matches outright (the shop wrote "黄皮选哪个色号？" down already)."""
    if "packaging" in reading.concepts and reading.yes_no:
        return True
    # A concept most of the shop's products speak of ("car" in a car-accessory shop) says nothing of
    # which product's fact is meant: "crumbs and dog hair in my car, what do u recommend". (Which
    # size or colour to pick is still this product's own question, however many have sizes.)
    concepts = reading.concepts - (_common_concepts(catalog) - _OPTION_KINDS)
    hit = best_fact(product, catalog, reading.words, concepts)
    return hit is not None and hit.score >= _OWN_FACT and hit.fact.field.startswith(("faq:", "spec:"))


_OWN_FACT = 0.8  # a fact matched this well answers a "which one" question about its own product


@lru_cache(maxsize=16)
def _common_concepts(catalog: Catalog) -> frozenset[str]:
    """Concepts the facts of at least half the catalog's products (and two or more) speak of."""
    owners: dict[str, int] = {}
    for facts in catalog_facts(catalog).values():
        for concept in frozenset().union(*(f.cue_concepts | f.value_concepts for f in facts)):
            owners[concept] = owners.get(concept, 0) + 1
    enough = max(2, (len(catalog.products) + 1) // 2)
    return frozenset(concept for concept, count in owners.items() if count >= enough)


def _foreign(reading: Reading, meaning: QuestionMeaning | None) -> Reading:
    """A question in a language the host does not speak, read as far as its words and meaning
    allow ("¿cuánto cuesta la chaqueta?": the jacket's price), to be answered in English."""
    said, concepts = lexicon().foreign_intent(reading.text)
    named = reading.named or ((found,) if meaning is not None and (found := meaning.named()) else ())
    # "この洗剤はいくら" names nothing the host can read: "this" is the product on screen.
    pointed = not named and _FOREIGN_THIS.search(reading.text) is not None
    if said is None or not (named or pointed):
        return reading
    deixis = reading.deixis or pointed
    return replace(reading, intent=Intent(said), named=named, concepts=concepts, language="en", deixis=deixis)


# "This" in the languages the host reads but does not speak: この, ce, dieser, questo, 이. (Not the
# Spanish "esta", which viewers also type for "está", "is".)
_FOREIGN_THIS = re.compile(
    r"この|これ|(?<![^\W\d_])(?:ce|cette|ceci|dieser|diese|dieses|questo|questa|isso)(?![^\W\d_])|이거|이 ",
    re.IGNORECASE,
)


_HOW_MUCH = re.compile(r"how much\s+((?:[a-z0-9]+\s*){0,4})", re.IGNORECASE)
_DUOSHAO = re.compile(r"([\u4e00-\u9fffA-Za-z]{2,6}?)(?:是|有)?多少")  # "含丝量多少": the amount of 含丝量


def _amount_of(reading: Reading, hit: FactHit | None, product: Product) -> bool:
    """True when "how much" asks the amount of the matched fact ("how much power", "how much does
    it weigh", "含丝量多少"), not the price."""
    if hit is None:
        return False
    found = _HOW_MUCH.search(reading.text)
    if found is not None and re.match(r"(?:is|are|for)\b", found.group(1).lower()):
        return False  # "how much is the spicy one", "how much for the red": its price
    if found is not None:
        after = found.group(1)
        # "how much power" (a concept) or "how much memory" (the fact's own label or key).
        return bool(lexicon().concepts_in(after) & (hit.fact.cue_concepts | hit.fact.value_concepts)) or any(
            stems(after) & cue for cue in hit.fact.cue_words
        )
    chinese = _DUOSHAO.search(reading.text)
    if chinese is None:
        return False
    said = " ".join(text for field, text in fact_passages(product) if field == hit.fact.field).lower()
    asked = chinese.group(1).lower()
    return any(asked[i : i + 2] in said for i in range(len(asked) - 1))


def _shipping_unstated(reading: Reading, catalog: Catalog, product: Product) -> bool:
    """True when a shipping question asks what the shipping text does not say: a destination it
    does not name ("ship to canada?"), or a warranty, returns or who pays for them when it names
    none."""
    text = " ".join(product.shipping.values()).lower()
    if not text:
        return False
    found = _DESTINATION.search(reading.text)
    if found is not None:
        place = (found.group(1) or found.group(2) or "").strip().lower()
        if place and not re.search(rf"(?<![a-z]){re.escape(place)}(?![a-z])", text):
            return True
    shipping = next((f for f in catalog_facts(catalog)[product.id] if f.field == "shipping"), None)
    asked = reading.concepts & {"warranty", "returns", "return_cost"}
    return bool(shipping is not None and asked and not asked <= shipping.value_concepts)


# "goose or duck down?", "鹅绒还是鸭绒", "EDP还是EDT": the fact whose value says one of them answers.
_EITHER_EN = re.compile(r"([a-z0-9][\w+-]*)\s+or\s+([a-z0-9][\w+-]*)", re.IGNORECASE)
_EITHER_ZH = re.compile(r"([\u4e00-\u9fffA-Za-z0-9]{1,6})还是([\u4e00-\u9fffA-Za-z0-9]{1,6})")
# "how many mAh", "多少瓦", "几个口": the fact whose value is in that unit answers.
_UNIT_EN = re.compile(r"how (?:many|much)\s+([a-z°%]{1,12})\b", re.IGNORECASE)
_BARE_UNIT = re.compile(r"(?<!\d)(?<!\d )\b([a-z]{3,9})\b(?=\W*$)", re.IGNORECASE)
_UNIT_ZH = re.compile(r"(?:多少|几)个?([\u4e00-\u9fff]{1,2})")


def _states_unit(value: str, unit: str) -> bool:
    """``value`` gives a number in ``unit``, in any of its spellings ("how many watts": "10 W")."""
    for spelling in lexicon().unit_spellings.get(unit, (unit,)):
        after = r"(?![a-z])" if spelling.isascii() and len(spelling) <= 2 else ""
        if re.search(rf"\d\s*(?:个)?(?:[a-z-]*{re.escape(spelling)}){after}", value):
            return True
    return False


def _stated_in_value(reading: Reading, catalog: Catalog, product: Product) -> tuple[FactHit | None, bool]:
    """A fact whose value states what an either-or or a how-many question asks, and whether the
    question asked for a measure no value states ("how many dB" when no dB is given)."""
    text = reading.text.lower()
    asked: list[str] = []
    for match in _EITHER_EN.finditer(text):
        asked += [match.group(1), match.group(2)]
    for match in _EITHER_ZH.finditer(text):
        # "软的还是硬的": the words, not their 的
        asked += [match.group(1).rstrip("的")[-2:], match.group(2).rstrip("的")[:2]]
    units = [m.group(1) for m in _UNIT_EN.finditer(text)] + [m.group(1) for m in _UNIT_ZH.finditer(text)]
    words = lexicon()
    # "lamp watts", "mah?": a measure word asked on its own, with no number of the viewer's before it.
    units += [m.group(1) for m in _BARE_UNIT.finditer(text) if m.group(1) in words.measures]
    units = [u for u in units if u not in words.not_units and not u.startswith(tuple(words.not_units))]
    # "含丝量多少": the amount of what a fact is about (not of the product a name says: "防晒多少").
    names = " ".join((*product.names.values(), *product.aliases)).lower()
    asked += [m.group(1)[-2:] for m in _DUOSHAO.finditer(text) if m.group(1)[-2:] not in names]
    numbers: list[str] = []
    if reading.intent not in (Intent.PRICE, Intent.PROMO, Intent.STOCK, Intent.PURCHASE):
        # "空气炸锅1200W吗": a number the viewer quotes from one fact.
        options = " ".join(v.name(lang) for v in product.variants for lang in v.names).lower()
        numbers = [n for n in re.findall(r"\d+(?:\.\d+)?", text) if len(n) >= 2 and n not in options]
    if not asked and not units and not numbers:
        return None, False
    values: dict[str, str] = {}
    for name, passage in fact_passages(product):
        if name.startswith(("spec:", "safety:")):
            values[name] = values.get(name, "") + " " + passage.lower()
    found = [
        name
        for name, said in values.items()
        if any((len(w) >= 2 or is_cjk(w)) and says_word(said, w) for w in asked)
        or any(_states_unit(said, u) for u in units)
        or any(re.search(rf"(?<![\d.]){re.escape(n)}(?![\d])", said) for n in numbers)
    ]
    if found:
        # Several say it ("duck down" in the filling and in the allergy note): the best match.
        scores = fact_scores(product, catalog, reading.words, reading.concepts, text=reading.text)
        by_field = {fact.field: fact for fact in catalog_facts(catalog).get(product.id, ())}
        # The spec says it plainly; a safety note saying it too is a warning about something else.
        best = max(found, key=lambda f: (f.startswith("spec:"), scores.get(f, 0.0)))
        return FactHit(by_field[best], 0.8), False
    unmeasured = not found and any(u in words.measures or u.rstrip("s") in words.measures for u in units)
    return None, unmeasured


def _second_fact(reading: Reading, catalog: Catalog, product: Product, first: FactHit) -> str | None:
    """Another fact asked about in the same comment, on a concept the first one does not cover;
    for a safety question, any other safety entry that speaks to it (safety is said in full)."""
    if first.fact.field.startswith("spec:"):
        # A spec that answers ("6 and up") and a warning on the same thing ("not for under 3"):
        # the warning is said too.
        scores = fact_scores(product, catalog, reading.words, reading.concepts, text=reading.text)
        warnings = [(score, field) for field, score in scores.items() if field.startswith("safety:")]
        strong = [field for score, field in sorted(warnings, reverse=True) if score >= 0.6]
        if strong:
            return strong[0]
    if first.fact.field.startswith("safety:"):
        others = [
            f
            for f in catalog_facts(catalog)[product.id]
            if f.field.startswith("safety:") and f.field != first.fact.field
        ]
        scored = [(score_fact(f, reading.words, reading.concepts), f.field) for f in others]
        strong = [field for score, field in sorted(scored, reverse=True) if score >= 0.45]
        if strong:
            return strong[0]
    rest = reading.concepts - first.fact.cue_concepts - first.fact.value_concepts - COMMERCE
    if not rest:
        return None
    words = reading.words
    second = best_fact(product, catalog, words, rest)
    if second is None or second.score < 0.6 or second.fact.field == first.fact.field:
        return None
    return second.fact.field


def _better_product(reading: Reading, catalog: Catalog, current: str, alone: bool = False) -> FactHit | None:
    """Another product whose facts clearly answer the question (shared specific words, not only a
    general concept): "does it have peanuts?" with the tea on screen is about the nuts. Never for
    shipping and returns, which every product has a word on. ``alone``: only when no other
    product's facts answer it too ("is it dishwasher safe?" of two products asks which one)."""
    if reading.concepts & _SHIPPING:
        return None
    # Every specific word must be the other product's: "made in italy?" is not about the jeans that
    # are "made in Turkey" (concept words like "made", "allergic" need no match).
    specific = {w for w in reading.words if not lexicon().concepts_in(w)}
    best: FactHit | None = None
    facts_by_product = catalog_facts(catalog)
    for product_id in candidates(catalog, reading.words, frozenset()):
        if product_id == current:
            continue
        for fact in facts_by_product[product_id]:
            said = frozenset().union(*fact.cue_words, *fact.value_words)
            if not reading.words & said or specific - said:
                continue
            score = score_fact(fact, reading.words, reading.concepts)
            if score < 0.6:
                continue
            if alone and best is not None and best.fact.product_id != product_id:
                return None
            if best is None or score > best.score:
                best = FactHit(fact, score)
    return best


def topic_of(understanding: Understanding, on_screen: str | None, now: float) -> Topic:
    """What to remember of an answered question."""
    return Topic(
        understanding.product_id,
        understanding.variant,
        understanding.intent.value,
        understanding.attribute,
        on_screen,
        now,
        understanding.reading.concepts,
    )
