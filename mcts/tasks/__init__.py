"""Tasks the search can run.

- ``countdown``: the built-in task (format, rules, puzzles, verifier); ``countdown_solver``: exact
  solver and seeded generator; ``countdown_eval``: greedy / best-of-k solve rates of an HF model;
  ``arithmetic``: the step parser. Pure Python except ``countdown_eval`` (torch, transformers).
- ``searchable``: tasks as the search loop sees them (countdown and free text).
"""
