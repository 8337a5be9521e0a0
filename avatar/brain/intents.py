"""What a viewer is asking and about which product, without a model.

Chat questions in live commerce are short and repetitive ("how much?", "还有货吗", "the red one?").
Keyword rules in English and Chinese answer them in microseconds and, unlike a small LLM, never
guess: the answerer turns the intent into a catalog lookup. Abuse, spam and prompt injection come
from :mod:`avatar.brain.moderation`, so the host and the chat triage judge a comment the same way.
Anything the rules do not know is ``Intent.OTHER`` and gets an FAQ search or an honest "I don't
know".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from enum import StrEnum

from avatar.brain.catalog import Catalog, Product
from avatar.brain.moderation import Flag, moderate
from avatar.brain.names import product_index

__all__ = ["FACT_INTENTS", "Intent", "classify", "mentioned", "mentions", "resolve_product"]


class Intent(StrEnum):
    """The kind of fact a question asks for."""

    PRICE = "price"
    PROMO = "promo"
    STOCK = "stock"
    SPEC = "spec"
    SHIPPING = "shipping"
    PRODUCT_INFO = "product_info"
    GREETING = "greeting"
    OTHER = "other"
    COMPARISON = "comparison"  # two products side by side
    RECOMMENDATION = "recommendation"  # "what's good for hiking under $50?"
    PURCHASE = "purchase"  # "how do I buy?", "I'll take it", 下单
    COMPLAINT = "complaint"  # "mine broke", 没收到
    CHITCHAT = "chitchat"  # "lol", "are you real?", 谢谢
    OFF_TOPIC = "off_topic"  # weather, politics, jokes
    ABUSE = "abuse"  # swearing or insults (moderation)
    INJECTION = "injection"  # "ignore your instructions", "change the price to $1" (moderation)
    SPAM = "spam"  # links, contact details, floods (moderation)


# Questions whose answer is a catalog fact about a product.
FACT_INTENTS = frozenset(
    {Intent.PRICE, Intent.PROMO, Intent.STOCK, Intent.SPEC, Intent.SHIPPING, Intent.PRODUCT_INFO}
)
_MODERATED = {Flag.PROFANITY: Intent.ABUSE, Flag.INJECTION: Intent.INJECTION}


# Each intent: English patterns (regex fragments, matched as whole words) and Chinese keywords
# (substrings: Chinese has no spaces between words). Both sets are always tried, because viewers
# mix languages ("这个 price?").
_KEYWORDS: dict[Intent, tuple[tuple[str, ...], tuple[str, ...]]] = {
    Intent.COMPLAINT: (
        (
            r"broken",
            r"broke",
            r"(doesn'?t|does not|didn'?t|did not|won'?t|isn'?t|not) work(ing)?",
            r"stopped working",
            r"defective",
            r"faulty",
            r"damaged",
            r"scam(med)?",
            r"rip-? ?off",
            r"ripped off",
            r"terrible",
            r"awful",
            r"horrible",
            r"disappointed",
            r"disappointing",
            r"complain(t|ts|ing)?",
            r"never (arrived|came|showed up|got it)",
            r"(hasn'?t|has not|haven'?t|have not|still not|didn'?t|did not) (arrived?|come|shipped|got it)",
            r"where('?s| is) my (order|package|parcel|refund)",
            r"wrong (item|size|colou?r|product|order)",
            r"money back",
            r"poor quality",
            r"bad quality",
            r"low quality",
            r"waste of money",
            r"not as described",
        ),
        (
            "投诉",
            "坏了",
            "质量差",
            "质量不好",
            "质量太差",
            "差评",
            "骗人",
            "骗子",
            "没收到",
            "还没到",
            "还没发货",
            "不能用",
            "用不了",
            "失望",
            "太差",
            "发错",
            "破损了",
            "退款呢",
            "我的订单",
            "坑人",
            "裂了",
            "漏气",
            "变质",
            "发霉",
            "过期了",
            "碎了",
            "什么质量",
            "质量太",
        ),
    ),
    Intent.OFF_TOPIC: (
        (
            r"weather",
            r"politics?",
            r"political",
            r"elections?",
            r"president",
            r"government",
            r"wars?",
            r"the news",
            r"stock market",
            r"bitcoin",
            r"crypto\w*",
            r"football",
            r"soccer",
            r"basketball",
            r"nba",
            r"nfl",
            r"lottery",
            r"(tell|know) (me |us )?(a |any )?jokes?",
            r"sing (a |me |us )?(song)?",
            r"what time is it",
            r"homework",
            r"religion",
            r"marry me",
            r"date me",
            r"who won",
            r"movies?",
            r"films?",
            r"favou?rite (movie|film|song|food|colou?r|singer|show)",
            r"(the|last night'?s?|tonight'?s?) (game|match)",
        ),
        (
            "天气",
            "政治",
            "选举",
            "总统",
            "政府",
            "战争",
            "新闻",
            "股票",
            "股市",
            "比特币",
            "炒股",
            "足球",
            "篮球",
            "彩票",
            "笑话",
            "唱首歌",
            "唱歌",
            "几点了",
            "作业",
            "宗教",
            "电影",
            "嫁给我",
            "谁赢了",
            "比赛",
        ),
    ),
    Intent.RECOMMENDATION: (
        (
            r"recommend\w*",
            r"suggest\w*",
            r"what should i (buy|get|choose|pick)",
            r"which (one )?should i (buy|get|choose|pick)",
            r"(which|what) (one |product |item )?(is |would be |'?s )?(best|good|better|ideal|right) for",
            r"what'?s good for",
            r"(anything|something) (for|under|below|cheaper|less|warm|to|that|good|nice|cheap)",
            r"any recs?",
            r"recs?\??",
            r"cheapest (thing|one|item|product)",
            r"(i need|i want|looking for|i'?m looking for|need) (something|a gift|a present)",
            r"gifts?",
            r"presents? for",
            r"budget",
            r"(under|below|less than|no more than|up to|within) \$ ?\d+",
            r"(under|below|less than|no more than) \d+ ?(dollars|bucks|usd)",
            # Chinese budgets need a currency: "15英寸以内" is a laptop size, not a budget.
            r"(\$ ?\d+|\d+ ?(块|元|美元|美金|刀))钱? ?(以内|以下|之内|左右)",
            r"不超过 ?(\$ ?\d+|\d+ ?(块|元|美元|美金|刀))",
        ),
        (
            "推荐",
            "建议买",
            "买什么",
            "买哪个",
            "买哪款",
            "选哪个",
            "选哪款",
            "哪个适合",
            "哪款适合",
            "什么适合",
            "送礼",
            "礼物",
            "推荐啥",
            "买啥好",
            "买什么好",
            "送什么好",
            "有啥推荐",
            "最便宜的",
            "送人",
            "预算",
        ),
    ),
    Intent.COMPARISON: (
        (
            r"compare",
            r"compared",
            r"comparison",
            r"vs\.?",
            r"versus",
            r"differences?",
            r"different from",
            r"which (one |of them |of the two )?(is|are|has|holds|lasts|weighs)",
            r"better than",
            r"which (one )?(is|'?s) (cheaper|better|more expensive|lighter|heavier|warmer|faster|bigger)",
            r"(lighter|heavier|bigger|smaller|cheaper|larger|brighter) than",
        ),
        (
            "对比",
            "比较",
            "区别",
            "哪个好",
            "哪个更",
            "哪款更",
            "哪一个更",
            "差别",
            "不同",
            "相比",
            "还是",
            "哪个便宜",
            "哪个贵",
        ),
    ),
    Intent.PROMO: (
        (
            r"discounts?",
            r"deals?",
            r"promos?",
            r"promotions?",
            r"coupons?",
            r"vouchers?",
            r"on sale",
            r"sales?",
            r"offers?",
            r"cheaper",
            r"\d+ ?% off",
            r"any(thing)? off",
            r"promo code",
            r"bundles?",
            r"(deal|sale|promo|offer|discount)s? (end|ends|over|last|lasts)",
            r"until when",
            r"free gift",
            r"combo",
        ),
        (
            "优惠",
            "折扣",
            "打折",
            "促销",
            "特价",
            "特惠",
            "活动价",
            "便宜点",
            "便宜些",
            "更便宜",
            "优惠券",
            "满减",
            "有券",
            "有活动",
            "啥活动",
            "结束",
            "截止",
            "到哪天",
            "打个折",
            "打五折",
            "打八折",
            "打九折",
            "打几折",
            "能不能便宜",
            "活动吗",
            "什么活动",
            "赠品",
            "送什么",
            "买一送",
            "买二送",
            "第二件",
        ),
    ),
    Intent.STOCK: (
        (
            r"in stock",
            r"stock",
            r"left(?=\s*[?!.]*\s*$)",  # "any left?", not "the left one"
            r"available",
            r"availability",
            r"sold out",
            r"how many",
            r"inventory",
            r"run(ning)? out",
        ),
        (
            "有货",
            "库存",
            "还剩",
            "剩几",
            "剩多少",
            "售罄",
            "卖完",
            "没货",
            "现货",
            "断货",
            "多少件",
            "几件",
            "还有多少",
            "够吗",
            "够不够",
            "还有几",
        ),
    ),
    Intent.SHIPPING: (
        (
            r"ship",
            r"ships",
            r"shipping",
            r"shipped",
            r"deliver",
            r"delivery",
            r"delivered",
            r"arrive",
            r"returns?",
            r"refunds?",
            r"exchanges?",
            r"warranty",
            r"guarantee",
            r"postage",
            r"send it",
        ),
        (
            "发货",
            "快递",
            "包邮",
            "运费",
            "邮费",
            "配送",
            "退货",
            "退款",
            "换货",
            "退换",
            "保修",
            "质保",
            "到货",
            "物流",
            "几天到",
        ),
    ),
    Intent.SPEC: (
        (
            r"specs?",
            r"specifications?",
            r"battery",
            r"charge",
            r"charging",
            r"size",
            r"sizes",
            r"how big",
            r"dimensions?",
            r"weight",
            r"weigh",
            r"weighs",
            r"heavy",
            r"light ?weight",
            r"capacity",
            r"hold",
            r"holds",
            r"liters?",
            r"litres?",
            r"ml",
            r"material",
            r"made of",
            r"waterproof",
            r"water ?resistant",
            r"rain",
            r"sweat",
            r"swim(ming)?",
            r"bluetooth",
            r"colou?rs?",
            r"brightness",
            r"bright",
            r"watts?",
            r"tall",
            r"wide",
            r"fits?",
            r"laptop",
            r"last",
            r"lasts",
            r"noise",
            # "keeps drinks cold", not "I keep thinking"
            r"keeps? (it |them |drinks? |water |coffee |tea |things )?(cold|hot|warm|cool|ice)",
        ),
        (
            "规格",
            "参数",
            "续航",
            "电池",
            "充电",
            "尺寸",
            "大小",
            "多大",
            "重量",
            "多重",
            "容量",
            "材质",
            "材料",
            "防水",
            "下雨",
            "出汗",
            "蓝牙",
            "颜色",
            "亮度",
            "功率",
            "多高",
            "多长",
            "降噪",
            "保温",
            "保冷",
            "能装",
        ),
    ),
    Intent.PURCHASE: (
        (
            r"how (do|can|could) i (buy|order|get|purchase|pay)",
            r"how to (buy|order|purchase)",
            r"where (can|do) i (buy|order|get)",
            r"(want|like|going) to (buy|order|purchase)",
            r"i'?ll take",
            r"i will take",
            r"i'?ll buy",
            r"take (one|two|it|them|a pair)",
            r"i want (one|it|this|that|two|them|a pair)",
            r"add(ed)? (it |them |this )?to (my )?cart",
            r"check ?out",
            r"buy now",
            r"purchase",
            r"sold!?",
            r"link\??",
        ),
        (
            "怎么买",
            "怎么下单",
            "怎么拍",
            "如何购买",
            "如何下单",
            "在哪买",
            "哪里买",
            "下单",
            "我要了",
            "我要买",
            "想买",
            "要一个",
            "来一个",
            "来一单",
            "拍一个",
            "拍了",
            "买了",
            "加购",
            "购物车",
            "链接",
        ),
    ),
    Intent.PRICE: (
        (
            r"how much",
            r"price",
            r"prices",
            r"pricing",
            r"priced",
            r"cost",
            r"costs",
            r"expensive",
            r"dollars?",
            r"bucks",
            r"\$ ?\d+",  # "it's $5 today?": a price the viewer heard, answered with the real one
            r"hw much",
            r"how (mcuh|muhc|muc|mch|mutch)",
            r"how mch",
            r"hoe much",
            r"\d+\.\d\d(?=\s*(?:fr|for real|really|rn|now|\?|$))",  # "44.99 fr?": the price heard
        ),
        ("多少钱", "价格", "价钱", "售价", "几块", "多少米", "贵不贵", "贵吗", "什么价"),
    ),
    Intent.PRODUCT_INFO: (
        (
            r"tell me about",
            r"tell me more",
            r"what is",
            r"what's",
            r"whats",
            r"what are",
            r"what does",
            r"features?",
            r"describe",
            r"info",
            r"details",
            r"more about",
            r"explain",
            r"show me",
            r"good for",
            r"worth it",
        ),
        (
            "介绍",
            "是什么",
            "怎么样",
            "特点",
            "好用吗",
            "讲讲",
            "说说",
            "详细",
            "功能",
            "有什么用",
            "值得买",
            "适合",
        ),
    ),
    Intent.GREETING: (
        (
            r"hello",
            r"hi",
            r"hii+",
            r"hey",
            r"heya",
            r"howdy",
            r"good (morning|afternoon|evening)",
            r"greetings",
        ),
        ("你好", "您好", "大家好", "哈喽", "嗨", "早上好", "下午好", "晚上好", "主播好"),
    ),
    Intent.CHITCHAT: (
        (
            r"lol",
            r"lmao",
            r"rofl",
            r"(ha){2,}h?",
            r"(he){2,}",
            r"xd",
            r"how are you",
            r"how'?s it going",
            r"what'?s your name",
            r"who are you",
            r"are (you|u) (a |an )?(real|human|robot|bot|ai|person|live)",
            r"looks? (so )?(good|clean|nice|great|cool|amazing|sick|fire)",
            r"ngl",
            r"fr",
            r"thanks?",
            r"thank you",
            r"thx",
            r"ty",
            r"love (it|this|you|the show|your show)",
            r"nice",
            r"cool",
            r"awesome",
            r"amazing",
            r"wow",
            r"bye",
            r"goodbye",
            r"see (you|ya)",
            r"good night",
            r"where are you from",
            r"you'?re (cute|pretty|funny|great|awesome|nice|the best)",
        ),
        (
            "哈哈",
            "嘿嘿",
            "呵呵",
            "谢谢",
            "感谢",
            "多谢",
            "你叫什么",
            "你是谁",
            "真人",
            "机器人",
            "拜拜",
            "再见",
            "晚安",
            "吃饭了",
            "哪里人",
            "几岁",
            "多大了",
            "吃了吗",
            "辛苦了",
            "加油",
            "666",
            "可爱",
            "厉害",
            "打卡",
            "路过",
        ),
    ),
}

# Order matters: the most specific wins. "How much is shipping?" is about shipping, "how much
# does it weigh?" is a spec, and "hi, how much?" is a price question, not a greeting. A complaint
# outranks everything ("it broke, can I return it?" needs empathy first), off-topic words come
# before stock ("stock market"), and comparisons and recommendations before the single facts they
# are made of ("which is cheaper?").
_PRIORITY = (
    Intent.COMPLAINT,
    Intent.OFF_TOPIC,
    Intent.RECOMMENDATION,
    Intent.COMPARISON,
    Intent.PROMO,
    Intent.STOCK,
    Intent.SHIPPING,
    Intent.SPEC,
    Intent.PURCHASE,
    Intent.PRICE,
    Intent.PRODUCT_INFO,
    Intent.GREETING,
    Intent.CHITCHAT,
)


def _english(patterns: tuple[str, ...]) -> re.Pattern[str]:
    # Letters-only lookarounds instead of \b: in "这个price" a Chinese character counts as a word
    # character for \b and would hide the keyword.
    return re.compile(r"(?<![A-Za-z])(?:" + "|".join(patterns) + r")(?![A-Za-z])", re.IGNORECASE)


_RULES: tuple[tuple[Intent, re.Pattern[str], tuple[str, ...]], ...] = tuple(
    (intent, _english(_KEYWORDS[intent][0]), _KEYWORDS[intent][1]) for intent in _PRIORITY
)


# Nothing but emoji, punctuation or symbols ("👍👍", "!!!"): a reaction, not a question.
_NO_WORDS = re.compile(r"^[^0-9A-Za-z\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+$")


def classify(text: str, lang: str, skip: Collection[Intent] = ()) -> Intent:
    """The intent of a viewer question, by English and Chinese keywords (``lang`` is the question's).

    Moderation comes first: a comment it flags is ``ABUSE``, ``INJECTION`` or ``SPAM`` whatever
    else it says. Keywords of both languages are tried whatever ``lang`` says, since chat mixes
    them; the rules are ordered so the most specific intent wins. ``skip`` leaves intents out, for
    a second reading when the first one does not fit (a comparison naming a single product).
    """
    del lang  # both keyword sets apply; kept in the signature for language-specific rules later
    verdict = moderate(text)
    if verdict.flag is not None:
        return _MODERATED.get(verdict.flag, Intent.SPAM)
    text = unicodedata.normalize("NFKC", text)
    for intent, english, chinese in _RULES:
        if intent in skip:
            continue
        if english.search(text) or any(word in text for word in chinese):
            return intent
    if text.strip() and _NO_WORDS.match(text.strip()):
        return Intent.CHITCHAT
    return Intent.OTHER


# --- which product --------------------------------------------------------------------------


def mentioned(text: str, catalog: Catalog) -> list[Product]:
    """Every product named in ``text``, in the order they appear (each once).

    Longer names claim their words first, so "the red bottle or the lamp" is two products, not
    three overlapping mentions; a word several names share names none of them here.
    """
    ordered: list[Product] = []
    for match in product_index(catalog).claim(text.lower()):
        if len(match.values) == 1:
            product = catalog.get(next(iter(match.values)))
            if product not in ordered:
                ordered.append(product)
    return ordered


def mentions(text: str, catalog: Catalog) -> Product | None:
    """The product named in ``text`` by name or alias, or None; the longest mention wins."""
    best: tuple[int, int, str] | None = None  # (-length, position, product id): smallest wins
    for match in product_index(catalog).find(text.lower()):
        if len(match.values) == 1:
            key = (match.start - match.end, match.start, next(iter(match.values)))
            if best is None or key[:2] < best[:2]:
                best = key
    return catalog.get(best[2]) if best else None


# "The blue one" / "蓝色的" when no alias matched: a product the viewer sees elsewhere, not the one
# on screen, so the host asks instead of answering about the wrong product.
_OTHER_ONE = re.compile(
    r"(?<![a-z])the (red|blue|green|black|white|pink|yellow|purple|grey|gray|orange|brown|silver|gold|"
    r"cream) (one|ones)(?![a-z])|(红|蓝|绿|黑|白|粉|黄|紫|灰|橙|棕|银|金)色(的|那个|那款)",
    re.IGNORECASE,
)


def resolve_product(text: str, catalog: Catalog, current_id: str | None) -> Product | None:
    """The product a question is about.

    A name or alias in the text wins (case-insensitive; Chinese by substring). Otherwise the
    question is about the product on screen: "this one" / "这个", or no product mentioned at all,
    both resolve to ``current_id``. None when nothing is named and nothing (known) is on screen,
    or when the viewer points at a colour no product has ("the blue one").
    """
    named = mentions(text, catalog)
    if named is not None:
        return named
    if _OTHER_ONE.search(text):
        return None
    if current_id is not None and current_id in catalog:
        return catalog.get(current_id)
    return None
