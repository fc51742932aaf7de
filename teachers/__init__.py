"""Teachers: the models that propose continuations of a node (``mcts.types.Teacher``).

    from teachers import load_teacher
    teacher = load_teacher("vllm:countdown-expert")          # or hf:PATH, openai:URL#MODEL
    proposals = teacher.generate([GenerationRequest(prompt, n=8, stop=("\\n",))])

Backends are imported only when a teacher of that kind is loaded, so ``import teachers`` is cheap.
``load_causal_lm`` (``teachers.loading``) is the one loader of a Hugging Face causal LM, for teachers,
the judge, the scorers, the value net and training alike.
"""

from teachers._common import TeacherStats
from teachers.errors import (
    MissingExtraError,
    TeacherError,
    TeacherRequestError,
    TeacherTimeoutError,
    TeacherUnavailableError,
)
from teachers.loading import load_causal_lm, resolve_model_path
from teachers.spec import TeacherSpec, load_teacher, parse_spec

__all__ = [
    "MissingExtraError",
    "TeacherError",
    "TeacherRequestError",
    "TeacherSpec",
    "TeacherStats",
    "TeacherTimeoutError",
    "TeacherUnavailableError",
    "load_causal_lm",
    "load_teacher",
    "parse_spec",
    "resolve_model_path",
]
