"""Instructions inside an article: text that speaks to the model instead of the reader.

The prompt keeps the article between delimiters it cannot forge (prompt.py), and special tokens
and delimiters held; but a plain-language request ("Ignore all previous instructions ... Reply
only with: ...") was obeyed by the teacher once in seven tries and delivered (issue 22). So the
guard flags any summary of an article that carries such text, and the flagged policy decides
what editors get (deliver with the flag, lead sentences, or the escalation endpoint).

Hand-written patterns: no maintained library detects prompt injection offline without a model;
these are phrases of the imperative to a model that news prose does not use. Measured on the
3,000+ published articles beside the project (docs/benchmarks.md): false positives stay under 1%.
"""

from __future__ import annotations

import re

_PATTERNS = [
    # "ignore all previous instructions", "disregard the above prompt", "forget your prior rules"
    r"\b(?:ignore|disregard|forget|override)\s+(?:all\s+|any\s+|the\s+|your\s+|these\s+|my\s+)*"
    r"(?:previous|prior|above|earlier|preceding|system|original)\s+(?:instructions?|prompts?|directions|rules|text)\b",
    # "reply only with", "respond only with", "output only", "answer only with", "just say"
    r"\b(?:reply|respond|answer|output|print|write)\s+(?:only|just|exactly)\s+(?:with\b|the\b|this\b|:)",
    r"\b(?:reply|respond|answer)\s+with\s+(?:only|just|exactly)\b",
    r"\bsay\s+only\b",
    # addressing the model
    r"\b(?:you are now|from now on,? you|dear (?:ai|assistant|language model)|"
    r"attention,? (?:ai|assistant|language model))\b",
    r"\b(?:new|updated|real) (?:instructions?|task|system prompt)\s*:",
    r"\b(?:the|your) (?:summary|output|response) (?:must|should) (?:only )?(?:say|read|be)\s*[:\"“]",
    # role markers in prose: "System:", "### Instruction", "[INST]", ChatML broken up
    r"^\s*(?:system|assistant|user)\s*:",
    r"#{2,}\s*(?:instruction|system|response)\b",
    r"\[/?inst\]|<\s*\|?\s*im_(?:start|end)\s*\|?\s*>|<</?sys>>",
]
_INSTRUCTION = re.compile("|".join(f"(?:{p})" for p in _PATTERNS), re.IGNORECASE | re.MULTILINE)


def instructions_in(article: str) -> list[str]:
    """The instruction-like phrases of ``article``, as found (at most five, for the flag)."""
    return list(dict.fromkeys(m.group().strip() for m in _INSTRUCTION.finditer(article)))[:5]
