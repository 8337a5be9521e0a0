"""One viewer question to the words the host speaks: the brain's checked catalog answer
(:class:`~avatar.brain.brain.Brain`: understanding, memory, plan, compliance), then the
:class:`~avatar.brain.phrasing.Phraser`, which may reword it within its time budget.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from avatar.brain.answerer import Answer
from avatar.brain.phrasing import Phrased, Phraser
from avatar.brain.wording import AnswerWriter

__all__ = ["AskAnswerer", "reply"]


AskAnswerer = Callable[[str, str | None], Awaitable[Answer]]
"""Answers a question (text, product on screen) somewhere else: the live show runs
:meth:`~avatar.brain.brain.Brain.respond` on its supervised brain worker."""


async def reply(
    phraser: Phraser,
    question: str,
    on_screen: str | None,
    *,
    ask: AskAnswerer,
    writer: AnswerWriter | None = None,
) -> Phrased:
    """What the host says to ``question``: the checked catalog answer, worded by the model when it
    can: the whole answer sentence by sentence with ``writer`` (a capable configured model), else
    its first sentence reworded."""
    answer = await ask(question, on_screen)
    if writer is not None and phraser.whole_answers:
        return await writer.answer(answer, question)
    return await phraser.phrase(answer)
