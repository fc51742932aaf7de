"""A real parser for one arithmetic step line, ``A OP B = C (left: N N ...)``, and exact arithmetic.

Model output is untrusted text, so nothing here evaluates it: a hand-written tokenizer turns the
line into tokens, a small recursive-descent grammar checks their order, and the arithmetic runs on
``fractions.Fraction`` so division is exact. Every failure is a :class:`StepParseError` (a
``ValueError``) with a message that says what was wrong and where.

Grammar (whitespace between tokens is allowed and ignored)::

    step      := NUMBER OP NUMBER "=" NUMBER [ remaining ]
    remaining := "(" "left" ":" NUMBER* ")"
    OP        := "+" | "-" | "−" | "*" | "x" | "X" | "×" | "/" | "÷"
    NUMBER    := DIGIT+            (unsigned; at most MAX_DIGITS digits)

Numbers are unsigned, so a negative result cannot be written: ``4-8=-4`` fails to parse (write
``8-4=4`` instead). Division by zero and non-integer results are not errors of the parser; the
caller learns about them from :func:`apply_op` returning ``None`` / a non-integer ``Fraction``.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

# Longest accepted number and line: bounds the work a hostile line can cause (Python's int() also
# refuses strings over 4300 digits, which must surface as a clean error, not an exception).
MAX_DIGITS = 12
MAX_LINE_CHARS = 256

# Every spelling a model might use for an operator, mapped to the canonical one.
OPERATORS: dict[str, str] = {"+": "+", "-": "-", "−": "-", "*": "*", "x": "*", "X": "*", "×": "*", "/": "/", "÷": "/"}
CANONICAL_OPERATORS = ("+", "-", "*", "/")


class StepParseError(ValueError):
    """A step line that does not follow the grammar; the message names the problem and column."""


@dataclass(frozen=True)
class ParsedStep:
    """One parsed step: ``left op right = result``; ``remaining`` is the claimed ``(left: ...)`` list.

    ``op`` is canonical (one of ``+ - * /``). ``remaining`` is ``None`` when the line has no
    ``(left: ...)`` part (it is optional for checking, but the bundled models always write it).
    """

    left: int
    op: str
    right: int
    result: int
    remaining: tuple[int, ...] | None = None


@dataclass(frozen=True)
class _Token:
    kind: str  # "num", "op", "=", "(", ")", ":", "left"
    text: str
    column: int  # 1-based, for error messages


def tokenize(line: str) -> list[_Token]:
    """Split ``line`` into tokens; raises :class:`StepParseError` on any character outside the grammar."""
    if len(line) > MAX_LINE_CHARS:
        raise StepParseError(f"step is {len(line)} characters long; at most {MAX_LINE_CHARS} are accepted")
    tokens: list[_Token] = []
    i = 0
    while i < len(line):
        ch = line[i]
        if ch in " \t":
            i += 1
        elif "0" <= ch <= "9":
            start = i
            while i < len(line) and "0" <= line[i] <= "9":
                i += 1
            if i - start > MAX_DIGITS:
                raise StepParseError(f"number at column {start + 1} has {i - start} digits; at most {MAX_DIGITS}")
            tokens.append(_Token("num", line[start:i], start + 1))
        elif line.startswith("left", i):
            tokens.append(_Token("left", "left", i + 1))
            i += 4
        elif ch in OPERATORS:
            tokens.append(_Token("op", OPERATORS[ch], i + 1))
            i += 1
        elif ch in "=():":
            tokens.append(_Token(ch, ch, i + 1))
            i += 1
        else:
            raise StepParseError(f"unexpected character {ch!r} at column {i + 1}")
    return tokens


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def expect(self, kind: str, what: str) -> _Token:
        token = self.peek()
        if token is None:
            raise StepParseError(f"expected {what} but the step ended")
        if token.kind != kind:
            raise StepParseError(f"expected {what} at column {token.column}, found {token.text!r}")
        self.pos += 1
        return token

    def number(self, what: str) -> int:
        return int(self.expect("num", what).text)

    def step(self) -> ParsedStep:
        left = self.number("a number")
        op = self.expect("op", "an operator (+ - * /)").text
        right = self.number("a number after the operator")
        self.expect("=", "'='")
        result = self.number("the result (an unsigned integer)")
        remaining = self.remaining() if self.peek() is not None else None
        extra = self.peek()
        if extra is not None:
            raise StepParseError(f"unexpected {extra.text!r} at column {extra.column} after the step")
        return ParsedStep(left, op, right, result, remaining)

    def remaining(self) -> tuple[int, ...]:
        self.expect("(", "'(left: ...)' or the end of the step")
        self.expect("left", "'left'")
        self.expect(":", "':' after 'left'")
        numbers: list[int] = []
        while (token := self.peek()) is not None and token.kind == "num":
            numbers.append(self.number("a number"))
        self.expect(")", "a number or ')'")
        return tuple(numbers)


def parse_step(line: str) -> ParsedStep:
    """Parse one step line (a trailing newline is allowed); raises :class:`StepParseError`."""
    if not isinstance(line, str):
        raise StepParseError(f"a step must be a string, got {type(line).__name__}")
    text = line[:-1] if line.endswith("\n") else line
    if "\n" in text:
        raise StepParseError("a step is one line; found a newline inside it")
    tokens = tokenize(text)
    if not tokens:
        raise StepParseError("empty step")
    return _Parser(tokens).step()


def apply_op(left: int | Fraction, op: str, right: int | Fraction) -> Fraction | None:
    """Exact ``left op right`` as a ``Fraction``; ``None`` for division by zero or an unknown op."""
    a, b = Fraction(left), Fraction(right)
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        return a / b if b != 0 else None
    return None


def integer_result(left: int, op: str, right: int) -> int | None:
    """The step's value under the countdown rules: a non-negative integer, else ``None``.

    ``None`` covers division by zero, a non-integer quotient and a negative difference, none of
    which can be written in the step format.
    """
    value = apply_op(left, op, right)
    if value is None or value.denominator != 1 or value < 0:
        return None
    return int(value)
