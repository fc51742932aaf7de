"""The bundled countdown models: present, loadable offline, tokenized as documented, of clearly
different skill, and reproducible from their recipes."""

from __future__ import annotations

import dataclasses
import json

import pytest

from teachers.bundled import CATALOGUE, MODELS_DIR, bundled_model_path, bundled_models, safetensors_parameter_count
from teachers.training.recipes import RECIPES, Recipe, recipe

# Held-out Game-of-24 puzzles for the skill check (the same seed the training script reports on).
SKILL_PUZZLES = 100
SKILL_SEED = 2024
MIN_GREEDY_SPREAD = 0.20  # the floor: choosing teachers well must matter


def test_every_catalogue_model_ships_as_a_small_hf_directory():
    models = bundled_models()
    assert list(models) == list(CATALOGUE)
    for model in models.values():
        config = json.loads((model.path / "config.json").read_text())
        assert config["architectures"] == ["GPT2LMHeadModel"]
        assert (model.path / "tokenizer.json").is_file()
        assert model.size_bytes < 8_000_000, f"{model.name} is {model.size_bytes} bytes: too big to ship"
        provenance = json.loads((model.path / "training.json").read_text())
        assert provenance["recipe"]["name"] == model.name
        assert provenance["parameters"] == model.parameters


def test_parameter_count_from_the_header_matches_torch():
    from transformers import AutoModelForCausalLM

    path = bundled_model_path("countdown-format")
    model = AutoModelForCausalLM.from_pretrained(str(path), local_files_only=True)
    assert safetensors_parameter_count(path / "model.safetensors") == sum(p.numel() for p in model.parameters())


def test_an_unknown_name_lists_the_available_ones():
    with pytest.raises(KeyError, match="countdown-expert"):
        bundled_model_path("countdown-grandmaster")


def test_tokens_of_a_prefix_are_the_tokens_of_its_steps_concatenated():
    """Cutting a text at the step delimiter never changes its tokens: the tree's prefixes are stable."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(bundled_model_path("countdown-expert")), local_files_only=True)
    parts = ["Numbers: 4 7 8 8\nTarget: 24\n", "8-4=4 (left: 7 8 4)\n", "7-4=3 (left: 8 3)\n", "8*3=24 (left: 24)\n"]
    whole = tokenizer.encode("".join(parts))
    assert whole == [t for part in parts for t in tokenizer.encode(part)]
    assert tokenizer.decode(whole) == "".join(parts)
    assert len(tokenizer.encode(parts[1].rstrip("\n"))) == 10  # a number is one token


@pytest.mark.slow
def test_greedy_skill_spreads_at_least_twenty_points_in_catalogue_order():
    from mcts.tasks.countdown_eval import evaluate_solve_rates
    from mcts.tasks.countdown_solver import generate_puzzles

    puzzles = generate_puzzles(SKILL_PUZZLES, SKILL_SEED, split="heldout")
    expert = evaluate_solve_rates(bundled_model_path("countdown-expert"), puzzles, k=0)
    noisy = evaluate_solve_rates(bundled_model_path("countdown-noisy"), puzzles, k=0)
    fmt = evaluate_solve_rates(bundled_model_path("countdown-format"), puzzles, k=0)
    assert expert.greedy >= noisy.greedy >= fmt.greedy
    assert expert.greedy - fmt.greedy >= MIN_GREEDY_SPREAD, (expert, fmt)
    assert expert.greedy_valid_steps > fmt.greedy_valid_steps


@pytest.mark.slow
def test_training_is_reproducible_from_the_recipe(tmp_path):
    from safetensors.torch import load_file

    from teachers.training.train import train

    tiny = Recipe("repro", data="walk", n_layer=1, steps=3, batch_size=4, seed=7)
    train(tiny, tmp_path / "a", log=lambda _: None)
    train(tiny, tmp_path / "b", log=lambda _: None)
    a, b = load_file(tmp_path / "a" / "model.safetensors"), load_file(tmp_path / "b" / "model.safetensors")
    assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)


def test_every_recipe_has_a_catalogue_entry_and_bad_recipes_are_named():
    assert {r.name for r in RECIPES} == set(CATALOGUE)
    with pytest.raises(ValueError, match="data must be one of"):
        Recipe("bad", data="poems", n_layer=1, steps=1)
    with pytest.raises(ValueError, match="head dimension"):
        Recipe("bad", data="walk", n_layer=1, steps=1, n_embd=96, n_head=2)


def test_a_recipe_that_starts_from_another_model_reads_it_or_says_what_is_missing(tmp_path):
    from safetensors.torch import load_file

    from teachers.training.tokenizer import build_tokenizer
    from teachers.training.train import build_model

    tokenizer = build_tokenizer()
    judge = recipe("countdown-judge")
    assert judge.init_from == "countdown-expert"
    model = build_model(judge, tokenizer, tmp_path)  # not in tmp_path: the bundled expert
    expert = build_model(dataclasses.replace(judge, init_from=None), tokenizer)
    bundled = load_file(MODELS_DIR / "countdown-expert" / "model.safetensors")
    name = "transformer.wte.weight"
    assert (model.state_dict()[name] == bundled[name]).all() and not (expert.state_dict()[name] == bundled[name]).all()
    with pytest.raises(FileNotFoundError, match="starts from 'nowhere'"):
        build_model(dataclasses.replace(judge, init_from="nowhere"), tokenizer, tmp_path)
    with pytest.raises(ValueError, match="countdown-format"):
        build_model(dataclasses.replace(judge, init_from="countdown-format"), tokenizer, tmp_path)


def test_the_teachers_command_lists_every_bundled_model(capsys, monkeypatch):
    from mcts.cli import main

    monkeypatch.setenv("COLUMNS", "240")  # rich wraps to the terminal width
    assert main(["teachers"]) == 0
    out = capsys.readouterr().out
    for name in CATALOGUE:
        assert name in out
    assert "openai:URL#MODEL" in out
