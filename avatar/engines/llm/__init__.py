"""Language models that word the host's answers: one small protocol, two engines, a factory.

``engine_from_spec("smollm2")`` runs the bundled SmolLM2-135M in process (transformers);
``engine_from_spec("http://127.0.0.1:8000/v1#model")`` talks to any OpenAI-compatible server
through the ``openai`` client; ``none`` gives no engine (templates only). Engines never decide
facts: :mod:`avatar.brain.phrasing` checks every sentence they write.
"""

from avatar.engines.llm.base import (
    SENTENCE_DONE,
    Delta,
    LLMEngine,
    LLMError,
    Message,
    ToolCall,
    first_sentence_done,
    first_sentence_end,
    sentence_ends,
)
from avatar.engines.llm.factory import OFF, engine_from_spec
from avatar.engines.llm.openai_engine import OpenAIEngine
from avatar.engines.llm.transformers_engine import SMOLLM2, TransformersEngine, smollm2_gguf

__all__ = [
    "OFF",
    "SENTENCE_DONE",
    "SMOLLM2",
    "Delta",
    "LLMEngine",
    "LLMError",
    "Message",
    "OpenAIEngine",
    "ToolCall",
    "TransformersEngine",
    "engine_from_spec",
    "first_sentence_done",
    "first_sentence_end",
    "sentence_ends",
    "smollm2_gguf",
]
