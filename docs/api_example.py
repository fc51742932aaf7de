"""The example of docs/api.md (kept identical by tests/test_docs.py)."""

from mcts.run.config import DEFAULT_TEACHERS
from mcts.search import Budget, Searcher, SearchConfig
from mcts.tasks.countdown_judge import SolverJudge
from mcts.tasks.countdown_solver import generate_puzzles
from mcts.tasks.searchable import CountdownTask
from teachers import load_teacher

teachers = [load_teacher(s) for s in DEFAULT_TEACHERS]  # the three bundled countdown teachers
tasks = [CountdownTask(p) for p in generate_puzzles(8, seed=1, split="heldout")]
searcher = Searcher(teachers, SearchConfig(budget=Budget(simulations=None, tokens=400)), judge=SolverJudge())
results = searcher.search_many(tasks, concurrent=4, seeds=lambda i: i)
for r in results:
    print(r.task_id, r.solved, r.generated_tokens, " | ".join(s.text.strip() for s in r.best.steps) if r.best else "")
print(dict(zip(searcher.weights.names, searcher.weights.probabilities().round(3).tolist())))
