"""A pure-Python teacher-weights scheme: the oracle ``mcts.TeacherWeights`` must agree with.

Same formulas and arithmetic order as ``csrc/teacher_weights.cpp`` (see its header for the
scheme), including the SplitMix64 generator, so probabilities match to the last bit and seeded
picks match exactly. Contexts (``context`` arguments; -1 is the global weights) follow the same
header: per-context EMA scores, evidence and anti-stale counters, blended with the global scores
by ``lambda = n / (n + context_prior)``; with ``warmup`` the blend reads bias-corrected scores.
"""

from __future__ import annotations

import math

MASK = (1 << 64) - 1


class SplitMix64:
    def __init__(self, seed: int) -> None:
        self.state = seed & MASK

    def next(self) -> int:
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def uniform(self) -> float:
        return (self.next() >> 11) * 2.0**-53


def clip(x: float, lo: float, hi: float) -> float:
    return min(max(x, lo), hi)


def project_capped_simplex(b: list[float], lo: float, hi: float) -> list[float]:
    """p_i = clip(b_i - lam, lo, hi) with sum p = 1 (Euclidean projection)."""
    breaks = sorted([x - hi for x in b] + [x - lo for x in b])

    def g(lam: float) -> float:
        total = 0.0
        for x in b:
            total += clip(x - lam, lo, hi)
        return total

    lam, g_prev = breaks[-1], 0.0
    for k, point in enumerate(breaks):
        g_k = g(point)
        if g_k <= 1.0:
            lam = breaks[0] if k == 0 else breaks[k - 1] + (g_prev - 1.0) / (g_prev - g_k) * (point - breaks[k - 1])
            break
        g_prev = g_k
    return [clip(x - lam, lo, hi) for x in b]


class ReferenceContext:
    def __init__(self, n: int) -> None:
        self.scores = [0.0] * n
        self.unseen = [1.0] * n
        self.since_pick = [0] * n
        self.picks = [0] * n
        self.draws = 0
        self.evidence = 0
        self.history: list[list[float]] = []
        self.history_at: list[int] = []


class ReferenceWeights:
    def __init__(self, n, ema_rate, temperature, floor, epsilon, max_weight, stale_bonus, max_stale_draws, gamma,
                 seed, context_prior=10.0, max_contexts=64, warmup=True):
        self.n, self.rate, self.temperature, self.floor = n, ema_rate, temperature, floor
        self.epsilon, self.max_weight, self.stale_bonus = epsilon, max_weight, stale_bonus
        self.max_stale, self.gamma = max_stale_draws, gamma
        self.context_prior, self.max_contexts, self.warmup = context_prior, max_contexts, warmup
        self.rng = SplitMix64(seed)
        self.scores = [0.0] * n
        self.unseen = [1.0] * n
        self.since_pick = [0] * n
        self.picks = [0] * n
        self.draws = 0
        self.contexts: list[ReferenceContext] = []
        self.history = [self.probabilities()]

    def context(self, c: int) -> ReferenceContext:
        assert 0 <= c < self.max_contexts
        while len(self.contexts) <= c:
            self.contexts.append(ReferenceContext(self.n))
        return self.contexts[c]

    def context_weight(self, c: int) -> float:
        if c == -1 or c >= len(self.contexts) or self.contexts[c].evidence == 0:
            return 0.0
        n = float(self.contexts[c].evidence)
        return n / (n + self.context_prior)

    def _projected_softmax(self, scores: list[float]) -> list[float]:
        z = [s / self.temperature for s in scores]
        top = max(z)
        e = [math.exp(x - top) for x in z]
        total = 0.0
        for x in e:
            total += x
        return project_capped_simplex([x / total for x in e], self.floor, self.max_weight)

    def global_estimates(self) -> list[float]:
        if not self.warmup:
            return list(self.scores)
        m = [0.0] * self.n
        total, credited = 0.0, 0
        for i in range(self.n):
            if self.unseen[i] < 1.0:
                m[i] = self.scores[i] / (1.0 - self.unseen[i])
                total += m[i]
                credited += 1
        mean = total / float(credited) if credited else 0.0
        return [m[i] if self.unseen[i] < 1.0 else mean for i in range(self.n)]

    def probabilities(self, context: int = -1) -> list[float]:
        lam = self.context_weight(context)
        g = self.global_estimates()
        if lam == 0.0:
            return self._projected_softmax(g)
        ctx = self.contexts[context]
        own = list(ctx.scores)
        if self.warmup:
            own = [s / (1.0 - u) if u < 1.0 else gi for s, u, gi in zip(ctx.scores, ctx.unseen, g)]
        return self._projected_softmax([(1.0 - lam) * gi + lam * c for gi, c in zip(g, own)])

    @staticmethod
    def _credit(scores: list[float], unseen: list[float], teacher: int, rate: float, outcome: float) -> None:
        scores[teacher] += rate * (outcome - scores[teacher])
        unseen[teacher] *= 1.0 - rate

    def _since(self, context: int) -> list[int]:
        if context == -1:
            return self.since_pick
        return self.contexts[context].since_pick if context < len(self.contexts) else [0] * self.n

    def sampling_probabilities(self, context: int = -1) -> list[float]:
        w = [p * (1.0 + self.stale_bonus * math.sqrt(math.log1p(float(d))))
             for p, d in zip(self.probabilities(context), self._since(context))]
        total = 0.0
        for x in w:
            total += x
        f = project_capped_simplex([x / total for x in w], self.floor, self.max_weight)
        return [(1.0 - self.epsilon) * x + self.epsilon / self.n for x in f]

    def sample(self, k: int, context: int = -1) -> list[int]:
        out = []
        for _ in range(k):
            ctx = None if context == -1 else self.context(context)
            since = self._since(context)
            u = self.rng.uniform()
            stalest = max(range(self.n), key=lambda i: (since[i], -i))
            pick = stalest
            if since[stalest] < self.max_stale:
                f = self.sampling_probabilities(context)
                acc, pick = 0.0, None
                for i, x in enumerate(f):
                    acc += x
                    if u < acc:
                        pick = i
                        break
                if pick is None:
                    pick = max(i for i, x in enumerate(f) if x > 0)
            self.since_pick = [d + 1 for d in self.since_pick]
            self.since_pick[pick] = 0
            self.picks[pick] += 1
            self.draws += 1
            if ctx is not None:
                ctx.since_pick = [d + 1 for d in ctx.since_pick]
                ctx.since_pick[pick] = 0
                ctx.picks[pick] += 1
                ctx.draws += 1
            out.append(pick)
        return out

    def _record(self, touched) -> None:
        self.history.append(self.probabilities())
        for c in sorted(touched):
            self.contexts[c].history.append(self.probabilities(c))
            self.contexts[c].history_at.append(len(self.history) - 1)

    def update(self, teacher: int, outcome: float, context: int = -1) -> None:
        self._credit(self.scores, self.unseen, teacher, self.rate, outcome)
        if context != -1:
            ctx = self.context(context)
            self._credit(ctx.scores, ctx.unseen, teacher, self.rate, outcome)
            ctx.evidence += 1
        self._record([] if context == -1 else [context])

    def credit_path(self, teachers: list[int], outcome: float, contexts: list[int] | None = None) -> None:
        length = len(teachers)
        touched = set()
        for j, t in enumerate(teachers):
            if t == -1:
                continue
            rate = self.rate * math.pow(self.gamma, float(length - 1 - j))
            self._credit(self.scores, self.unseen, t, rate, outcome)
            if contexts is not None and contexts[j] != -1:
                ctx = self.context(contexts[j])
                self._credit(ctx.scores, ctx.unseen, t, rate, outcome)
                ctx.evidence += 1
                touched.add(contexts[j])
        self._record(touched)
