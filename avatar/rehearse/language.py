"""Which of the scene's languages a rehearsal take is in, and how sure we are.

A scene speaks one language but may be written for two (the demo has English and Chinese lines for
every segment): a host may rehearse it in either. Whisper's own language detector is asked for its
probabilities, and only the scene's languages compete. Whisper ``base`` is unsteady on Mandarin
(a synthetic Mandarin take came out as Thai), so a call is "sure" only when the winner is clear; when
it is not, the take is judged in the likeliest of the scene's languages and the report asks the host
instead of refusing the take.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from avatar.brain.scene import Scene

SURE_SHARE: Final = 0.5
"""A scene language at least this likely (of all languages) is taken as what the host spoke."""
OTHER_LANGUAGE_SHARE: Final = 0.8
"""A language outside the scene at least this likely means the host really spoke another language."""
NAMES: Final = {"en": ("English", "英语"), "zh": ("Chinese", "中文")}


def scene_languages(scene: Scene) -> tuple[str, ...]:
    """The scene's own language first, then every other language all its segments have lines in."""
    others = sorted(
        {language for segment in scene.segments for language in segment.lines if segment.lines[language]}
        - {scene.language}
    )
    others = [lang for lang in others if all(s.lines.get(lang) for s in scene.segments)]
    return (scene.language, *others)


@dataclass(frozen=True)
class LanguageCall:
    """The language a take is judged in, and what the host should be told about it."""

    language: str  # one of the scene's languages
    heard: str | None  # the language Whisper found likeliest overall (None: not asked)
    sure: bool
    message: str | None  # for the report: a question when unsure, a refusal for another language

    @property
    def refused(self) -> bool:
        """The host clearly spoke a language the scene does not have."""
        return (
            self.sure and self.heard is not None and self.heard != self.language and self.message is not None
        )


def name(language: str, in_language: str = "en") -> str:
    """A language's name in English or Chinese ("zh" -> "Chinese" / "中文")."""
    english, chinese = NAMES.get(language, (language, language))
    return chinese if in_language == "zh" else english


def call_language(probabilities: dict[str, float] | None, allowed: tuple[str, ...]) -> LanguageCall:
    """Decide between the scene's ``allowed`` languages (first: the scene's own) from Whisper's
    language probabilities. No probabilities: the scene's own language, unasked."""
    if not probabilities:
        return LanguageCall(allowed[0], None, False, None)
    heard = max(probabilities, key=lambda code: probabilities[code])
    best = max(allowed, key=lambda code: probabilities.get(code, 0.0))
    choices = " / ".join(name(code) for code in allowed)
    if probabilities.get(best, 0.0) >= SURE_SHARE:
        return LanguageCall(best, heard, True, None)
    if heard not in allowed and probabilities[heard] >= OTHER_LANGUAGE_SHARE:
        return LanguageCall(
            best,
            heard,
            True,
            f"You spoke {name(heard)}, but this scene is in {choices}: rehearse in "
            + ("one of them." if len(allowed) > 1 else f"{name(allowed[0])}."),
        )
    message = (
        f"We could not tell for sure which language you spoke (it sounded most like {name(heard)}); "
        f"this take was judged as {name(best)}. This scene takes {choices}: if that is wrong, "
        "speak a little longer and more clearly, or pick the language for the take."
    )
    if best == "zh":
        message += " 没有听清您说的是哪种语言，本次按中文评估；如果不对，请说得更清楚一些再试一次。"
    return LanguageCall(best, heard, False, message)
