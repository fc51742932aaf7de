"""Finding and loading the models a run names: the one place a Hugging Face causal LM is loaded.

Teachers, the judge, the scorers, the value net and training all load through ``load_causal_lm``, so
a model name means the same everywhere: a local directory, a bundled model name (``mcts-llm
teachers`` lists them), or a model already in the local Hugging Face cache. Nothing is downloaded.

    from teachers.loading import load_causal_lm
    model, tokenizer = load_causal_lm("countdown-expert", device="cpu", dtype="float32")
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

from teachers.bundled import bundled_models
from teachers.errors import MissingExtraError

DEVICES = ("auto", "cpu", "cuda")
DTYPES = ("auto", "float32", "float16", "bfloat16")
# What a hub id looks like ("gpt2", "org/model"): only such a name is looked up in the local cache.
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


def require(module: str, extra: str) -> None:
    """Raises ``MissingExtraError`` naming the extra to install when ``module`` is missing."""
    if importlib.util.find_spec(module) is None:
        raise MissingExtraError(
            f"this teacher needs the Python package {module!r}, which is not installed; "
            f'install it with: pip install "mcts-llm[{extra}]"'
        )


def resolve_model_path(model: str | Path) -> str:
    """A local directory as is; a bundled model name as its directory; anything else unchanged
    (a hub id, which transformers / vLLM look up themselves)."""
    path = Path(model).expanduser()
    if path.is_dir():
        return str(path)
    bundled = bundled_models().get(str(model))
    return str(bundled.path) if bundled is not None else str(model)


def _not_found(name_or_path: str | Path, role: str) -> FileNotFoundError:
    names = ", ".join(bundled_models()) or "none (run scripts/train_bundled_models.py)"
    return FileNotFoundError(
        f"{role} {str(name_or_path)!r} is neither a directory nor a bundled model name (the directory does not "
        f"exist, and models are never downloaded); pass a local Hugging Face causal LM directory (config.json, "
        f"weights, tokenizer) or one of the bundled models: {names}"
    )


def local_model_dir(name_or_path: str | Path, *, role: str = "model") -> Path:
    """The Hugging Face model directory a local path or a bundled model name stands for.

    ``FileNotFoundError`` naming the value (as ``role``, e.g. "judge model") and listing the bundled
    names when it is neither, or when the directory holds no ``config.json``.
    """
    path = Path(resolve_model_path(name_or_path))
    if not path.is_dir():
        raise _not_found(name_or_path, role)
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"{role} directory {str(path)!r} has no config.json; is it a Hugging Face model directory?")
    return path


def load_causal_lm(
    name_or_path: str | Path, *, device: str = "cpu", dtype: Any = "float32", role: str = "model"
) -> tuple[Any, Any]:
    """``(model, tokenizer)``: a Hugging Face causal LM on ``device`` in eval mode, never downloaded.

    ``name_or_path``: a local model directory, a bundled model name, or a hub id already in the local
    cache (``local_files_only``). ``device``: ``"cpu"``, ``"cuda"`` or ``"auto"`` (CUDA when torch
    sees it). ``dtype``: ``"float32"``, ``"float16"``, ``"bfloat16"``, a ``torch.dtype``, or ``"auto"``
    (float32 on CPU, the checkpoint's own on CUDA). ``FileNotFoundError`` naming the value and the
    bundled names when there is no such model here; ``MissingExtraError`` without torch/transformers.
    """
    require("torch", "hf")
    require("transformers", "hf")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} but torch sees no CUDA device; use device='cpu' or 'auto'")
    if dtype == "auto":
        torch_dtype: Any = torch.float32 if str(device) == "cpu" else "auto"
    elif isinstance(dtype, str):
        if dtype not in DTYPES:
            raise ValueError(f"dtype {dtype!r} is not one of {DTYPES}")
        torch_dtype = getattr(torch, dtype)
    else:
        torch_dtype = dtype
    path = resolve_model_path(name_or_path)
    is_dir = Path(path).is_dir()
    if is_dir or not _HUB_ID.match(path):
        local_model_dir(name_or_path, role=role)  # a clear error for a wrong path or a directory without config.json
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(path, local_files_only=True, dtype=torch_dtype)
    except (OSError, ValueError) as exc:
        if not is_dir:  # a hub id that is not in the local cache
            raise _not_found(name_or_path, role) from exc
        if isinstance(exc, ValueError):
            raise
        raise OSError(f"could not load {role} {str(name_or_path)!r} from {path}: {exc}") from exc
    return model.to(device).eval(), tokenizer
