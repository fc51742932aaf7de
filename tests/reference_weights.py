"""A pure-Python teacher-weights scheme: the oracle ``mcts.TeacherWeights`` must agree with.

Same formulas and arithmetic order as ``csrc/teacher_weights.cpp`` (see its header for the
scheme), including the SplitMix64 generator, so probabilities match to the last bit and seeded
picks match exactly.
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


class ReferenceWeights:
    def __init__(self, n, ema_rate, temperature, floor, epsilon, max_weight, stale_bonus, max_stale_draws, gamma,
                 seed):
        self.n, self.rate, self.temperature, self.floor = n, ema_rate, temperature, floor
        self.epsilon, self.max_weight, self.stale_bonus = epsilon, max_weight, stale_bonus
        self.max_stale, self.gamma = max_stale_draws, gamma
        self.rng = SplitMix64(seed)
        self.scores = [0.0] * n
        self.since_pick = [0] * n
        self.picks = [0] * n
        self.draws = 0
        self.history = [self.probabilities()]

    def probabilities(self) -> list[float]:
        z = [s / self.temperature for s in self.scores]
        top = max(z)
        e = [math.exp(x - top) for x in z]
        total = 0.0
        for x in e:
            total += x
        return project_capped_simplex([x / total for x in e], self.floor, self.max_weight)

    def sampling_probabilities(self) -> list[float]:
        w = [p * (1.0 + self.stale_bonus * math.sqrt(math.log1p(float(d))))
             for p, d in zip(self.probabilities(), self.since_pick)]
        total = 0.0
        for x in w:
            total += x
        f = project_capped_simplex([x / total for x in w], self.floor, self.max_weight)
        return [(1.0 - self.epsilon) * x + self.epsilon / self.n for x in f]

    def sample(self, k: int) -> list[int]:
        out = []
        for _ in range(k):
            u = self.rng.uniform()
            stalest = max(range(self.n), key=lambda i: (self.since_pick[i], -i))
            pick = stalest
            if self.since_pick[stalest] < self.max_stale:
                f = self.sampling_probabilities()
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
            out.append(pick)
        return out

    def update(self, teacher: int, outcome: float) -> None:
        self.scores[teacher] += self.rate * (outcome - self.scores[teacher])
        self.history.append(self.probabilities())

    def credit_path(self, teachers: list[int], outcome: float) -> None:
        length = len(teachers)
        for j, t in enumerate(teachers):
            if t == -1:
                continue
            rate = self.rate * math.pow(self.gamma, float(length - 1 - j))
            self.scores[t] += rate * (outcome - self.scores[t])
        self.history.append(self.probabilities())
