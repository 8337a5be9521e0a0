"""One viewer question to the words the host speaks: the brain's checked catalog answer
(:class:`~avatar.brain.brain.Brain`: understanding, memory, plan, compliance), then the
:class:`~avatar.brain.phrasing.Phraser`, which may reword it within its time budget.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from avatar.brain.answerer import Answer
from avatar.brain.phrasing import Phrased, Phraser

__all__ = ["AskAnswerer", "reply"]


AskAnswerer = Callable[[str, str | None], Awaitable[Answer]]
"""Answers a question (text, product on screen) somewhere else: the live show runs
:meth:`~avatar.brain.brain.Brain.respond` on its supervised brain worker."""


async def reply(phraser: Phraser, question: str, on_screen: str | None, *, ask: AskAnswerer) -> Phrased:
    """What the host says to ``question``: the checked catalog answer, reworded when the model can."""
    answer = await ask(question, on_screen)
    return await phraser.phrase(answer)
