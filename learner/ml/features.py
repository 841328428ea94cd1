"""Sparse TF-IDF features: word 1-2 grams plus character n-grams.

Both vectorizers are fitted on every item text of the project (labelled or
not), because the vocabulary and the IDF weights do not need labels and the
unlabelled items are part of the same distribution.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer


@dataclass
class FeatureConfig:
    """Bounds for the TF-IDF vocabularies (they bound the artifact size)."""

    word_max_features: int = 50_000
    char_max_features: int = 100_000
    word_ngram_max: int = 2
    char_ngram_min: int = 2
    char_ngram_max: int = 5
    min_df: int = 2


class TextFeaturizer:
    """Word and char_wb TF-IDF, concatenated into one CSR float32 matrix.

    With ``embeddings`` the 384 sentence-embedding dimensions of
    ``learner.ml.embeddings`` follow as dense columns (the last
    ``embedding_dim`` columns), read from and written to ``embedding_cache``.
    """

    def __init__(
        self, config: FeatureConfig | None = None, *, embeddings: bool = False, embedding_cache: str | None = None
    ) -> None:
        self.config = config or FeatureConfig()
        self.embeddings = embeddings
        self.embedding_cache = embedding_cache
        cfg = self.config
        self.word = TfidfVectorizer(
            ngram_range=(1, cfg.word_ngram_max),
            min_df=cfg.min_df,
            max_features=cfg.word_max_features,
            sublinear_tf=True,
            dtype=np.float32,
            token_pattern=r"(?u)\b\w+\b|[!?]",
        )
        self.char = TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=(cfg.char_ngram_min, cfg.char_ngram_max),
            min_df=cfg.min_df,
            max_features=cfg.char_max_features,
            sublinear_tf=True,
            dtype=np.float32,
        )

    def fit(self, texts: list[str]) -> TextFeaturizer:
        """Fit both vocabularies on all texts; drop the pruned-term sets."""
        texts = _clean(texts)
        self.word.fit(texts)
        self.char.fit(texts)
        # ``stop_words_`` holds every pruned n-gram and can be hundreds of
        # megabytes; scikit-learn documents that it is safe to delete.
        for vectorizer in (self.word, self.char):
            if hasattr(vectorizer, "stop_words_"):
                del vectorizer.stop_words_
        return self

    def transform(self, texts: list[str]) -> sp.csr_matrix:
        """Return the (n, n_features) CSR float32 feature matrix."""
        texts = _clean(texts)
        blocks = [self.word.transform(texts), self.char.transform(texts)]
        if self.embedding_dim:
            from learner.ml.embeddings import embed_texts

            blocks.append(sp.csr_matrix(embed_texts(texts, self.embedding_cache)))
        matrix = sp.hstack(blocks, format="csr")
        matrix = matrix.astype(np.float32)
        matrix.sort_indices()
        return matrix

    @property
    def embedding_dim(self) -> int:
        """Number of embedding columns at the end (0 without embeddings)."""
        # Featurizers pickled before embeddings existed have no such attribute.
        if not getattr(self, "embeddings", False):
            return 0
        from learner.ml.embeddings import DIM

        return DIM

    @property
    def n_text_features(self) -> int:
        """Number of TF-IDF columns (they come first)."""
        return len(self.word.vocabulary_) + len(self.char.vocabulary_)

    @property
    def n_features(self) -> int:
        return self.n_text_features + self.embedding_dim

    def feature_names(self) -> np.ndarray:
        """Names aligned with the columns, prefixed ``w:``, ``c:`` or ``e:`` (embedding dimension)."""
        words = ["w:" + name for name in self.word.get_feature_names_out()]
        chars = ["c:" + name for name in self.char.get_feature_names_out()]
        dims = [f"e:{i}" for i in range(self.embedding_dim)]
        return np.asarray(words + chars + dims, dtype=object)


def _clean(texts: list[str]) -> list[str]:
    """Coerce None and non-strings so a bad row never crashes training."""
    return [text if isinstance(text, str) else ("" if text is None else str(text)) for text in texts]
