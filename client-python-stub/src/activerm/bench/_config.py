"""Benchmark configuration and the tiny / fast / full presets."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

STRATEGIES = ("random", "max_entropy", "max_difference", "ols_dopt", "dopt", "past_aware_dopt",
              "greedy_dopt", "coreset", "bald", "batchbald", "batch_dopt")
MODES = ("within_prompt", "cross_prompt")
MAX_DIM = 2048  # --dim: embedding worlds up to an LLM-sized embedding
# Where a round's candidates come from: "server" asks SelectBatch for within_prompt /
# cross_prompt candidates restricted to the round's prompts (prompt_ids); "explicit" builds
# them client-side (_sim.round_candidates) and sends them as explicit pairs.
CANDIDATE_SOURCES = ("server", "explicit")


@dataclass(frozen=True)
class Scenario:
    """One simulated world and its active-learning schedule.

    Round 0 labels ``warmup`` pairs chosen by RANDOM (identical for every strategy of a
    seed; the model-based strategies need a first model), then each of ``rounds`` rounds
    draws ``prompts_per_round`` training prompts, offers their candidate pairs, selects
    ``batch_size`` with the strategy, labels them, and refits from scratch.
    """

    name: str
    kind: str  # "embedding" or "toy"
    dim: int
    head: str  # "linear" or "mlp"
    hidden_sizes: tuple[int, ...] = ()
    l2: float = 1.0
    train_prompts: int = 400
    responses_per_prompt: int = 8
    eval_prompts: int = 40
    eval_responses: int = 100
    response_scale: float = 0.5
    beta: float = 1.0  # label noise: P(a over b) = sigmoid((g_a - g_b) / beta), g standardised
    prompts_per_round: int = 100
    warmup: int = 32
    batch_size: int = 32
    rounds: int = 7
    modes: tuple[str, ...] = MODES
    fit: dict = field(default_factory=dict)  # keyword arguments of Project.fit
    golden: str = "teacher"  # embedding worlds: "teacher" (nonlinear) or "linear" (well-specified diagnostic)

    def __post_init__(self) -> None:
        if self.kind not in ("embedding", "toy"):
            raise ValueError(f"scenario {self.name}: kind is {self.kind!r}; use 'embedding' or 'toy'")
        if self.prompts_per_round > self.train_prompts:
            raise ValueError(f"scenario {self.name}: prompts_per_round > train_prompts")
        if self.responses_per_prompt < 2 or self.eval_responses < 2:
            raise ValueError(f"scenario {self.name}: need at least 2 responses per prompt")
        for m in self.modes:
            if m not in MODES:
                raise ValueError(f"scenario {self.name}: unknown mode {m!r}; use {MODES}")

    def labels_after(self, round_: int) -> int:
        return self.warmup + round_ * self.batch_size


@dataclass(frozen=True)
class Config:
    preset: str
    scenarios: tuple[Scenario, ...]
    strategies: tuple[str, ...] = STRATEGIES
    seeds: int = 5
    bon_draws: int = 20  # random subsets per held-out prompt for best-of-N (N < responses)
    workers: int = 2  # runs in flight at once (each its own project on the server)
    extra_scenarios: tuple[Scenario, ...] = ()  # run only when named with --scenarios
    candidates_from: str = "server"  # one of CANDIDATE_SOURCES

    def __post_init__(self) -> None:
        for s in self.strategies:
            if s not in STRATEGIES:
                raise ValueError(f"unknown strategy {s!r}; use some of {', '.join(STRATEGIES)}")
        if self.candidates_from not in CANDIDATE_SOURCES:
            raise ValueError(f"unknown candidate source {self.candidates_from!r}; use one of {CANDIDATE_SOURCES}")
        if self.seeds < 1 or self.workers < 1:
            raise ValueError("seeds and workers must be >= 1")


_MLP_FIT = {"epochs": 60, "learning_rate": 3e-3, "batch_size": 64}


def preset(name: str) -> Config:
    if name == "tiny":
        return Config("tiny", (
            Scenario("embedding", "embedding", dim=8, head="linear", train_prompts=30, responses_per_prompt=4,
                     eval_prompts=4, prompts_per_round=8, warmup=8, batch_size=6, rounds=2),
            Scenario("toy2d", "toy", dim=2, head="mlp", hidden_sizes=(8, 8), train_prompts=30,
                     responses_per_prompt=4, eval_prompts=4, prompts_per_round=8, warmup=8, batch_size=6, rounds=2,
                     modes=("cross_prompt",), fit={"epochs": 5, "learning_rate": 1e-2, "batch_size": 16}),
        ), seeds=2, bon_draws=3)
    if name == "fast":
        # Sized to finish in < 10 min on 2 cores; BATCHBALD's selection dominates (docs/benchmarks.md).
        return Config("fast", (
            Scenario("embedding", "embedding", dim=32, head="linear", train_prompts=400, responses_per_prompt=8,
                     eval_prompts=40, prompts_per_round=100, warmup=24, batch_size=24, rounds=6),
            Scenario("toy2d", "toy", dim=2, head="mlp", hidden_sizes=(32, 32, 32), train_prompts=400,
                     responses_per_prompt=8, eval_prompts=40, prompts_per_round=100, warmup=16, batch_size=16,
                     rounds=6, modes=("cross_prompt",), fit=dict(_MLP_FIT)),
        ), seeds=5, extra_scenarios=(
            Scenario("embedding-linear-golden", "embedding", dim=32, head="linear", train_prompts=400,
                     responses_per_prompt=8, eval_prompts=40, prompts_per_round=100, warmup=24, batch_size=24,
                     rounds=6, golden="linear"),
        ))
    if name == "full":
        # The paper's round size (500 prompts per round), D = 256; 36 min on 2 cores
        # (docs/benchmarks.md). The MLP-on-embeddings scenario runs CROSS_PROMPT only: its
        # fits dominate the wall time.
        return Config("full", (
            Scenario("embedding", "embedding", dim=256, head="linear", train_prompts=2000, responses_per_prompt=8,
                     eval_prompts=100, prompts_per_round=500, warmup=64, batch_size=64, rounds=15),
            Scenario("embedding-mlp", "embedding", dim=256, head="mlp", hidden_sizes=(128, 128),
                     train_prompts=2000, responses_per_prompt=8, eval_prompts=100, prompts_per_round=500,
                     warmup=128, batch_size=128, rounds=8, modes=("cross_prompt",),
                     fit={"epochs": 30, "learning_rate": 1e-3}),
            Scenario("toy2d", "toy", dim=2, head="mlp", hidden_sizes=(64, 64, 64), train_prompts=2000,
                     responses_per_prompt=8, eval_prompts=100, prompts_per_round=500, warmup=32, batch_size=32,
                     rounds=15, fit=dict(_MLP_FIT)),
        ), seeds=6)
    raise ValueError(f"unknown preset {name!r}; use tiny, fast or full")


def narrowed(cfg: Config, *, seeds: int | None = None, strategies: tuple[str, ...] | None = None,
             scenarios: tuple[str, ...] | None = None, modes: tuple[str, ...] | None = None,
             workers: int | None = None, candidates_from: str | None = None, dim: int | None = None) -> Config:
    """The preset with command-line overrides applied. dim replaces D of the embedding worlds
    (the toy world is 2-D by definition)."""
    if dim is not None and not 2 <= dim <= MAX_DIM:
        raise ValueError(f"dim is {dim}; use 2..{MAX_DIM}")
    sc = cfg.scenarios
    if scenarios:
        every = sc + cfg.extra_scenarios
        unknown = set(scenarios) - {s.name for s in every}
        if unknown:
            raise ValueError(f"unknown scenario(s) {sorted(unknown)}; this preset has {[s.name for s in every]}")
        sc = tuple(s for s in every if s.name in scenarios)
    if dim is not None:
        sc = tuple(replace(s, dim=dim) if s.kind == "embedding" else s for s in sc)
    if modes:
        sc = tuple(replace(s, modes=tuple(m for m in s.modes if m in modes)) for s in sc)
        sc = tuple(s for s in sc if s.modes)
    return replace(cfg, scenarios=sc, extra_scenarios=(),
                   seeds=seeds if seeds is not None else cfg.seeds,
                   strategies=strategies if strategies else cfg.strategies,
                   workers=workers if workers is not None else cfg.workers,
                   candidates_from=candidates_from if candidates_from is not None else cfg.candidates_from)
