"""The countdown task: puzzles, JSONL, generator, solver, step parser and verifier."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcts.tasks.arithmetic import StepParseError, parse_step
from mcts.tasks.countdown import (
    STEP_DELIMITER,
    Puzzle,
    PuzzleFileError,
    apply_steps,
    dump_puzzles,
    format_prompt,
    format_step,
    is_terminal,
    load_puzzles,
    verify,
)
from mcts.tasks.countdown_solver import generate_puzzles, is_solvable, legal_moves, puzzle_split, solve

P4788 = Puzzle("p", (4, 7, 8, 8), 24)
SOLUTION_4788 = "8-4=4 (left: 7 8 4)\n7-4=3 (left: 8 3)\n8*3=24 (left: 24)\n"


# --- format and puzzles -------------------------------------------------------------------------


def test_prompt_and_step_format():
    assert format_prompt(P4788) == "Numbers: 4 7 8 8\nTarget: 24\n"
    assert STEP_DELIMITER == "\n"
    assert format_step(8, "-", 4, (4, 7, 8, 8)) == "8-4=4 (left: 7 8 4)\n"
    with pytest.raises(ValueError, match="not both available"):
        format_step(9, "+", 4, (4, 7, 8, 8))
    with pytest.raises(ValueError, match="non-negative integer"):
        format_step(7, "/", 2, (7, 2))


def test_puzzle_rejects_bad_values():
    with pytest.raises(ValueError, match="numbers"):
        Puzzle("x", (1, -2), 3)
    with pytest.raises(ValueError, match="2..8 numbers"):
        Puzzle("x", (5,), 5)
    with pytest.raises(ValueError, match="target"):
        Puzzle("x", (1, 2), True)


def test_jsonl_round_trip(tmp_path):
    puzzles = generate_puzzles(5, seed=3)
    path = tmp_path / "p.jsonl"
    dump_puzzles(puzzles, path)
    assert load_puzzles(path) == puzzles


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ('{"id": "a", "numbers": [1, 2], "target": 3}\n{"id": "b", "numbers": "1 2", "target": 3}', r":2: field 'numbers'"),
        ('{"id": "a", "numbers": [1, 2]}', r":1: missing field 'target'"),
        ('{"id": "a", "numbers": [1, 2], "target": 2.5}', r":1: field 'target'"),
        ('{"id": 7, "numbers": [1, 2], "target": 3}', r":1: field 'id'"),
        ('{"id": "a", "numbers": [1, 2], "target": 3}\n\n{"id": "a", "numbers": [1, 2], "target": 3}', r":3: field 'id'.*repeats line 1"),
        ("not json", r":1: not valid JSON"),
        ('[1, 2, 3]', r":1: expected a JSON object"),
    ],
)
def test_load_puzzles_names_file_line_and_field(tmp_path, row, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(row + "\n")
    with pytest.raises(PuzzleFileError, match=message) as info:
        load_puzzles(path)
    assert str(path) in str(info.value)


def test_load_puzzles_missing_file(tmp_path):
    with pytest.raises(PuzzleFileError, match="cannot read puzzle file"):
        load_puzzles(tmp_path / "nope.jsonl")


# --- generator and solver -----------------------------------------------------------------------


def test_generator_yields_only_solvable_game24_puzzles():
    puzzles = generate_puzzles(60, seed=11)
    assert len(puzzles) == 60
    assert len({(tuple(sorted(p.numbers)), p.target) for p in puzzles}) == 60  # unique by default
    for puzzle in puzzles:
        assert puzzle.target == 24 and len(puzzle.numbers) == 4 and all(1 <= n <= 13 for n in puzzle.numbers)
        assert verify(puzzle, "".join(solve(puzzle.numbers, puzzle.target))).solved


def test_generator_is_seeded_and_honours_knobs():
    assert generate_puzzles(20, seed=5) == generate_puzzles(20, seed=5)
    assert generate_puzzles(20, seed=5) != generate_puzzles(20, seed=6)
    ranged = generate_puzzles(30, seed=2, count=3, low=2, high=9, target=(10, 40))
    assert all(len(p.numbers) == 3 and all(2 <= n <= 9 for n in p.numbers) and 10 <= p.target <= 40 for p in ranged)
    assert all(is_solvable(p.numbers, p.target) for p in ranged)
    held = generate_puzzles(20, seed=1, split="heldout")
    assert all(puzzle_split(p.numbers, p.target) == "heldout" for p in held)


def test_generator_errors_name_the_knob():
    with pytest.raises(ValueError, match="count must be"):
        generate_puzzles(3, seed=0, count=1)
    with pytest.raises(ValueError, match="low"):
        generate_puzzles(3, seed=0, low=5, high=2)
    with pytest.raises(ValueError, match="found only|at most"):
        generate_puzzles(5, seed=0, count=2, low=1, high=1, target=(2, 2))  # only one distinct puzzle exists


def test_solver_knows_unsolvable_and_fraction_only_puzzles():
    assert solve((1, 1, 1, 1), 24) is None
    assert solve((3, 3, 8, 8), 24) is None  # 8/(3-8/3) needs a fraction: not allowed here
    assert solve((4, 7, 8, 8), 24) is not None


def test_legal_moves_never_go_negative_or_fractional():
    moves = legal_moves((7, 2, 0))
    assert (2, "-", 7) not in moves and (7, "/", 2) not in moves and (7, "/", 0) not in moves
    assert (0, "/", 7) in moves and (7, "-", 2) in moves


@settings(max_examples=60, deadline=None)
@given(
    numbers=st.lists(st.integers(0, 20), min_size=2, max_size=4),
    target=st.integers(0, 60),
    seed=st.integers(0, 2**16),
)
def test_solver_outputs_always_verify(numbers, target, seed):
    puzzle = Puzzle("h", tuple(numbers), target)
    steps = solve(puzzle.numbers, target, random.Random(seed))
    assert (steps is not None) == is_solvable(numbers, target)
    if steps is not None:
        verdict = verify(puzzle, "".join(steps))
        assert verdict.solved, verdict.reason
        assert verdict.valid_steps == len(numbers) - 1


# --- parser -------------------------------------------------------------------------------------


def test_parser_accepts_the_format_and_operator_spellings():
    step = parse_step("8-4=4 (left: 7 8 4)\n")
    assert (step.left, step.op, step.right, step.result, step.remaining) == (8, "-", 4, 4, (7, 8, 4))
    assert parse_step(" 3 x 8 = 24 ").op == "*"
    assert parse_step("3×8=24").remaining is None
    assert parse_step("9÷3=3 (left:)").remaining == ()
    assert parse_step("6 − 2 = 4").op == "-"


@pytest.mark.parametrize(
    "line",
    [
        "", "   ", "8-4", "8-4=", "8--4=12", "4-8=-4", "8-4=4 (left: 7 8", "8-4=4 (right: 7)",
        "8-4=4 junk", "eight-4=4", "8**2=64", "(8-4)*6=24", "8-4=4\n7-4=3", "1" * 13 + "+1=2",
        "__import__('os').system('echo hi')", "8-4=4\x00", "8.5-4=4.5",
    ],
)
def test_parser_rejects_garbage_cleanly(line):
    with pytest.raises(StepParseError):
        parse_step(line)


def test_parser_rejects_non_strings():
    with pytest.raises(StepParseError, match="string"):
        parse_step(None)  # type: ignore[arg-type]


# --- applying steps, terminal detection, verifier ------------------------------------------------


def test_apply_steps_tracks_remaining_numbers():
    state = apply_steps(P4788, ["8-4=4 (left: 7 8 4)", "7-4=3"])
    assert state.remaining == (8, 3) and state.valid_steps == 2 and not state.invalid
    bad = apply_steps(P4788, ["8-4=4", "9+1=10"])
    assert bad.invalid and bad.valid_steps == 1 and "not both available" in bad.error


def test_is_terminal():
    assert not is_terminal(P4788, [])
    assert not is_terminal(P4788, ["8-4=4 (left: 7 8 4)"])
    assert is_terminal(P4788, ["8-4=5"])  # invalid step ends the path
    assert is_terminal(P4788, SOLUTION_4788.splitlines(keepends=True))
    assert is_terminal(P4788, ["8-4=4"], max_steps_allowed=1)


def test_verify_correct_solution():
    assert verify(P4788, SOLUTION_4788) == verify(P4788, SOLUTION_4788.rstrip("\n") + "\n\n  \n")
    verdict = verify(P4788, SOLUTION_4788)
    assert verdict.solved and verdict.valid_steps == 3 and verdict.reason == "solved"


@pytest.mark.parametrize(
    ("response", "valid_steps", "reason"),
    [
        ("8-4=5 (left: 7 8 5)\n", 0, "wrong arithmetic: 8-4 is 4, not 5"),
        ("8-4=4 (left: 7 8 9)\n", 0, "the left list"),
        ("8+8=16 (left: 4 7 16)\n16+7=23 (left: 4 23)\n23+4=27 (left: 27)\n", 3, "ended at 27"),
        ("8-4=4 (left: 7 8 4)\n7-4=3 (left: 8 3)\n", 2, "incomplete: 2 of 3"),
        (SOLUTION_4788 + "24+0=24\n", 3, "text after the final step"),
        ("8/0=0\n", 0, "not both available"),
        ("7/4=1\n", 0, "7/4 is 7/4: values must be non-negative integers"),
        ("8-8=0 (left: 4 7 0)\n7/0=0\n", 1, "7/0: division by zero"),
        ("4-7=3\n", 0, "4-7 is -3: values must be non-negative"),
        ("8*8*8=512\n", 0, "expected '=' at column 4"),
        ("", 0, "incomplete: 0 of 3"),
    ],
)
def test_verify_wrong_solutions(response, valid_steps, reason):
    verdict = verify(P4788, response)
    assert not verdict.solved
    assert verdict.valid_steps == valid_steps
    assert reason in verdict.reason


@pytest.mark.parametrize(
    "response",
    [
        "__import__('os').system('rm -rf /')",
        "eval('8*3')\n",
        "9" * 100_000,
        "9" * 5000 + "*" + "9" * 5000 + "=1\n",
        "1/0=1\n",
        "8-4=4 (left: " + " ".join(["4"] * 200) + ")\n",
        "\x00\x01\x02\n\ud800",
        "\n" * 10_000,
        "nan+inf=nan\n",
    ],
)
def test_verify_never_raises_on_malicious_text(response):
    verdict = verify(P4788, response)
    assert not verdict.solved and isinstance(verdict.reason, str) and verdict.reason


def test_verify_non_string_response():
    assert not verify(P4788, None).solved  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("0123456789+-*/x×=() left:\n ")), max_size=80))
def test_verify_on_random_format_like_text_returns_a_verdict(text):
    verdict = verify(P4788, text)
    assert verdict.solved == (text.strip() != "" and verdict.reason == "solved")
    assert 0 <= verdict.valid_steps <= 3


def test_json_rows_match_spec():
    assert json.loads(json.dumps(P4788.to_json())) == {"id": "p", "numbers": [4, 7, 8, 8], "target": 24}
