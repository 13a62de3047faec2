"""Article in, summary text out, with a bundle's own prompt format and generation settings."""

from __future__ import annotations

import json
from dataclasses import dataclass

from functions.runtime.guard import GuardReport, check
from functions.runtime.kv_generate import Generation, KVCacheDecoder
from functions.runtime.model import LocalModel


@dataclass
class Summary:
    text: str
    generation: Generation
    guard: GuardReport


class Summarizer:
    def __init__(self, model: LocalModel):
        self.model = model
        self.decoder = KVCacheDecoder(model.session, model.manifest.num_kv_heads, model.manifest.head_dim)
        config = json.loads((model.folder / "generation_config.json").read_text())
        self.max_new_tokens = int(config["max_new_tokens"])
        self.stop_ids = list(model.manifest.eos_token_ids)

    def __call__(self, article: str, max_new_tokens: int | None = None) -> Summary:
        gen = self.decoder.greedy(
            self.model.encode_prompt(article), max_new_tokens or self.max_new_tokens, self.stop_ids
        )
        text = self.model.tokenizer.decode(gen.token_ids).strip()
        return Summary(text, gen, check(text, article))
