"""Open a bundle as a ready-to-run model: verified manifest, ORT session, tokenizer, prompt."""

from __future__ import annotations

import os
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import onnxruntime as ort
from tokenizers import Tokenizer

from functions.runtime.bundle import (
    MODEL,
    PROMPT_TEMPLATE,
    TOKENIZER,
    BundleError,
    BundleInfo,
    GenerationSettings,
    Manifest,
    read_bundle,
    verify_bundle,
)
from functions.runtime.grounding import VocabClasses
from functions.runtime.kv_generate import KVCacheDecoder
from functions.runtime.prompt import DEFAULT_FORMAT, Format, PromptTemplate

# The vocabulary scan for grounded decoding (~0.13 s) runs on this thread beside the prefill,
# which releases the GIL: a constraint is first needed at the first decode step, so a cold start
# does not wait for it. Grounding constraints for each article are built on it too.
SCANS = ThreadPoolExecutor(max_workers=1, thread_name_prefix="grounding")


@dataclass
class LocalModel:
    folder: Path
    manifest: Manifest
    generation: GenerationSettings
    session: ort.InferenceSession
    tokenizer: Tokenizer
    template: PromptTemplate
    load_seconds: float
    decoder: KVCacheDecoder = field(init=False, repr=False)  # one per loaded model: it keeps the prompt prefix's cache
    _vocab: Future[VocabClasses] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        prefix = self.template.prefix_ids(self.tokenizer)
        self.decoder = KVCacheDecoder(self.session, self.manifest.num_kv_heads, self.manifest.head_dim, prefix)

    def reads(self, article: str) -> str:
        """The part of ``article`` this bundle's model reads (its template's input selection)."""
        return self.template.select(self.tokenizer, article)

    def encode_prompt(self, article: str, fmt: Format = DEFAULT_FORMAT) -> list[int]:
        return self.template.encode(self.tokenizer, self.reads(article), fmt)

    def vocab(self) -> Future[VocabClasses]:
        """The tokenizer's vocabulary classes, scanned once per loaded model (loaded_models keeps
        the model, so a warm container never scans again)."""
        if self._vocab is None:
            self._vocab = SCANS.submit(VocabClasses.of, self.tokenizer)
        return self._vocab


def session_options(threads: int | None = None) -> ort.SessionOptions:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads or len(os.sched_getaffinity(0))
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return opts


def open_session(path: Path, threads: int | None = None, providers: list[str] | None = None) -> ort.InferenceSession:
    try:
        return ort.InferenceSession(
            str(path), session_options(threads), providers=providers or ["CPUExecutionProvider"]
        )
    except Exception as exc:  # ORT raises its own Fail/InvalidGraph types
        raise BundleError(f"cannot load ONNX graph {path}: {exc}") from None


def load_model(
    folder: Path,
    threads: int | None = None,
    verify: bool = True,
    providers: list[str] | None = None,
    info: BundleInfo | None = None,
) -> LocalModel:
    """Load and (by default) verify a bundle; ``info`` when the caller has read it already.
    Raises BundleError with one clear line."""
    start = time.perf_counter()
    folder = Path(folder)
    info = info or read_bundle(folder)
    manifest = info.manifest
    # The checksums (hashlib releases the GIL) run beside the session build, which reads the
    # same files: measured 0.07 s saved of a ~0.3 s load. A mismatch still refuses the bundle.
    with ThreadPoolExecutor(max_workers=1) as pool:
        checked = pool.submit(verify_bundle, folder, manifest) if verify else None
        try:
            session = open_session(folder / MODEL, threads, providers)
            tokenizer = Tokenizer.from_file(str(folder / TOKENIZER))
        except Exception:
            if checked is not None:
                checked.result()  # a manifest mismatch names the cause better than ORT does
            raise
        if checked is not None:
            checked.result()
    template = PromptTemplate.load(folder / PROMPT_TEMPLATE)
    if template.version != manifest.prompt_template_version:
        raise BundleError(f"bundle {folder}: prompt template {template.version} != manifest's")
    return LocalModel(folder, manifest, info.generation, session, tokenizer, template, time.perf_counter() - start)
