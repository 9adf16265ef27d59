"""Benchmark configuration and the tiny / fast / full / paper presets (and the old-protocol
fast-epochs / full-epochs presets the earlier docs/benchmarks.md numbers were measured with)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

STRATEGIES = ("random", "max_entropy", "max_difference", "ols_dopt", "dopt", "past_aware_dopt",
              "greedy_dopt", "coreset", "bald", "batchbald", "batch_dopt", "vopt")
MODES = ("within_prompt", "cross_prompt")
MAX_DIM = 2048  # --dim: embedding worlds up to an LLM-sized embedding
# Where a round's candidates come from: "server" asks SelectBatch for within_prompt /
# cross_prompt candidates restricted to the round's prompts (prompt_ids); "explicit" builds
# them client-side (_sim.round_candidates) and sends them as explicit pairs.
CANDIDATE_SOURCES = ("server", "explicit")
# The server's largest MLP batch_size (MlpFitOptions.MAX_BATCH_SIZE). The trainer uses
# min(batch_size, labels) comparisons per step, so below 10^6 labels this is full batch:
# one Adam step per epoch, and "epochs" is the optimiser's step count.
FULL_BATCH = 1_000_000


def full_batch_adam(steps: int, learning_rate: float = 1e-3) -> dict:
    """Fit keywords for a training budget that does not depend on the label count: `steps`
    full-batch Adam steps per Fit (the paper's train_BT: 1000 steps, lr 1e-3). Minibatch
    epochs instead give ceil(labels / batch) steps per epoch, so the budget grows with the
    labels and confounds the learning curves (the old protocol)."""
    if steps < 1:
        raise ValueError(f"steps is {steps}; use >= 1")
    return {"epochs": steps, "batch_size": FULL_BATCH, "learning_rate": learning_rate}


def adam_steps(fit: dict, epochs_run: int, labels: int) -> int:
    """Adam steps an MLP Fit took: epochs run x ceil(n / min(batch, n)) (MlpTrainer's loop,
    no held-out split). The server's defaults apply to keywords left out."""
    batch = min(int(fit.get("batch_size") or 256), max(1, labels))
    return epochs_run * math.ceil(labels / batch)


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
    family: str = ""  # a noise sweep's copies (NAME-betaB) keep their scenario's NAME here

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

        if self.head == "mlp" and self.fit.get("validation_fraction"):
            raise ValueError(f"scenario {self.name}: no validation_fraction; early stopping would make the "
                             "training budget depend on the labels")

    def labels_after(self, round_: int) -> int:
        return self.warmup + round_ * self.batch_size

    def budget(self) -> str:
        """The training budget per Fit, in words (reported with every scenario)."""
        if self.head == "linear":
            tol = self.fit.get("tolerance") or 1e-8
            return (f"truncated Newton to convergence (gradient inf-norm < {tol:g}, at most "
                    f"{self.fit.get('max_iterations') or 100} iterations): a convex fit to its optimum")
        epochs = self.fit.get("epochs") or 10
        batch = self.fit.get("batch_size") or 256
        lr = self.fit.get("learning_rate") or 1e-3
        if batch >= FULL_BATCH:
            return f"{epochs} full-batch Adam steps, lr {lr:g}, in every round (constant)"
        return (f"{epochs} epochs of minibatch {batch}, lr {lr:g}: {adam_steps(self.fit, epochs, self.warmup)} "
                f"Adam steps at {self.warmup} labels, {adam_steps(self.fit, epochs, self.labels_after(self.rounds))} "
                f"at {self.labels_after(self.rounds)} (grows with the labels: the old protocol)")


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
    betas: tuple[float, ...] = ()  # noise sweep: every scenario once per beta (narrowed expands it)

    def __post_init__(self) -> None:
        for s in self.strategies:
            if s not in STRATEGIES:
                raise ValueError(f"unknown strategy {s!r}; use some of {', '.join(STRATEGIES)}")
        if self.candidates_from not in CANDIDATE_SOURCES:
            raise ValueError(f"unknown candidate source {self.candidates_from!r}; use one of {CANDIDATE_SOURCES}")
        if self.seeds < 1 or self.workers < 1:
            raise ValueError("seeds and workers must be >= 1")
        if any(not (b > 0 and math.isfinite(b)) for b in self.betas):
            raise ValueError(f"betas are {list(self.betas)}; use finite values > 0")


# The old protocol (fast-epochs / full-epochs): minibatch epochs, so the Adam step count
# grew with the labels (60 steps at 32 labels, 480 at 512). Kept to reproduce the numbers
# measured with it; every other preset trains with a constant budget.
_OLD_MLP_FIT = {"epochs": 60, "learning_rate": 3e-3, "batch_size": 64}
_OLD_EMBEDDING_MLP_FIT = {"epochs": 30, "learning_rate": 1e-3}
# The paper's train_BT: 1000 full-batch Adam steps, lr 1e-3, in every round.
PAPER_FIT = full_batch_adam(1000, 1e-3)
PRESETS = ("tiny", "fast", "full", "paper", "fast-epochs", "full-epochs")


def _fast(mlp_fit: dict, seeds: int) -> Config:
    # Sized to finish in minutes on 2 cores; BATCHBALD's selection dominates (docs/benchmarks.md).
    return Config("fast", (
        Scenario("embedding", "embedding", dim=32, head="linear", train_prompts=400, responses_per_prompt=8,
                 eval_prompts=40, prompts_per_round=100, warmup=24, batch_size=24, rounds=6),
        Scenario("toy2d", "toy", dim=2, head="mlp", hidden_sizes=(32, 32, 32), train_prompts=400,
                 responses_per_prompt=8, eval_prompts=40, prompts_per_round=100, warmup=16, batch_size=16,
                 rounds=6, modes=("cross_prompt",), fit=dict(mlp_fit)),
    ), seeds=seeds, extra_scenarios=(
        Scenario("embedding-linear-golden", "embedding", dim=32, head="linear", train_prompts=400,
                 responses_per_prompt=8, eval_prompts=40, prompts_per_round=100, warmup=24, batch_size=24,
                 rounds=6, golden="linear"),
        # The paper's head (3 x 512 GELU, no last-layer bias) and budget on the toy; its fits
        # cost ~0.1 s per label on an idle 2-core machine (1000 steps), so 4 rounds, not 6.
        Scenario("toy2d-512", "toy", dim=2, head="mlp", hidden_sizes=(512, 512, 512), train_prompts=400,
                 responses_per_prompt=8, eval_prompts=40, prompts_per_round=100, warmup=16, batch_size=16,
                 rounds=4, modes=("cross_prompt",), fit=dict(PAPER_FIT)),
    ))


def _full(mlp_fit: dict, embedding_mlp_fit: dict, seeds: int) -> Config:
    # The paper's round size (500 prompts per round), D = 256. The MLP-on-embeddings scenario
    # runs CROSS_PROMPT only: its fits dominate the wall time.
    return Config("full", (
        Scenario("embedding", "embedding", dim=256, head="linear", train_prompts=2000, responses_per_prompt=8,
                 eval_prompts=100, prompts_per_round=500, warmup=64, batch_size=64, rounds=15),
        Scenario("embedding-mlp", "embedding", dim=256, head="mlp", hidden_sizes=(128, 128),
                 train_prompts=2000, responses_per_prompt=8, eval_prompts=100, prompts_per_round=500,
                 warmup=128, batch_size=128, rounds=8, modes=("cross_prompt",), fit=dict(embedding_mlp_fit)),
        Scenario("toy2d", "toy", dim=2, head="mlp", hidden_sizes=(64, 64, 64), train_prompts=2000,
                 responses_per_prompt=8, eval_prompts=100, prompts_per_round=500, warmup=32, batch_size=32,
                 rounds=15, fit=dict(mlp_fit)),
    ), seeds=seeds)


def _paper() -> Config:
    # Paper-sized: ~5 000 labels, B in {125, 500}, a round offers the pairs of 200 of 20 000
    # prompts (1% of the pool, 5 600 candidates). Not for CI: times in docs/benchmarks.md.
    pool = dict(train_prompts=20_000, responses_per_prompt=8, eval_prompts=100, prompts_per_round=200)
    return Config("paper", (
        Scenario("embedding", "embedding", dim=128, head="linear", warmup=500, batch_size=500, rounds=10,
                 modes=("cross_prompt",), **pool),
        Scenario("embedding-b125", "embedding", dim=128, head="linear", warmup=125, batch_size=125, rounds=40,
                 modes=("cross_prompt",), **pool),
        Scenario("toy2d", "toy", dim=2, head="mlp", hidden_sizes=(64, 64, 64), warmup=500, batch_size=500,
                 rounds=10, modes=("cross_prompt",), fit=dict(PAPER_FIT), **pool),
    ), strategies=("random", "max_entropy", "dopt", "past_aware_dopt", "greedy_dopt", "bald"), seeds=10,
        extra_scenarios=(
            # The same world with a golden reward linear in the embedding: the LINEAR head is then
            # well specified, which tells a design that fails under misspecification from one
            # that fails anyway (run only when named).
            Scenario("embedding-linear-golden", "embedding", dim=128, head="linear", warmup=500, batch_size=500,
                     rounds=10, modes=("cross_prompt",), golden="linear", **pool),
        ))


def preset(name: str) -> Config:
    if name == "tiny":
        return Config("tiny", (
            Scenario("embedding", "embedding", dim=8, head="linear", train_prompts=30, responses_per_prompt=4,
                     eval_prompts=4, prompts_per_round=8, warmup=8, batch_size=6, rounds=2),
            Scenario("toy2d", "toy", dim=2, head="mlp", hidden_sizes=(8, 8), train_prompts=30,
                     responses_per_prompt=4, eval_prompts=4, prompts_per_round=8, warmup=8, batch_size=6, rounds=2,
                     modes=("cross_prompt",), fit=full_batch_adam(20, 1e-2)),
        ), seeds=2, bon_draws=3, extra_scenarios=(
            # The paper's 3 x 512 head on 2-D inputs (issue 12 §1: the Fisher strategies must accept it).
            Scenario("toy2d-512", "toy", dim=2, head="mlp", hidden_sizes=(512, 512, 512), train_prompts=30,
                     responses_per_prompt=4, eval_prompts=4, prompts_per_round=8, warmup=8, batch_size=6, rounds=2,
                     modes=("cross_prompt",), fit=full_batch_adam(20, 1e-3)),
        ))
    if name == "fast":
        return _fast(PAPER_FIT, seeds=10)
    if name == "full":
        return _full(PAPER_FIT, PAPER_FIT, seeds=10)
    if name == "paper":
        return _paper()
    if name == "fast-epochs":
        return replace(_fast(_OLD_MLP_FIT, seeds=5), preset="fast-epochs")
    if name == "full-epochs":
        return replace(_full(_OLD_MLP_FIT, _OLD_EMBEDDING_MLP_FIT, seeds=6), preset="full-epochs")
    raise ValueError(f"unknown preset {name!r}; use one of {', '.join(PRESETS)}")


def narrowed(cfg: Config, *, seeds: int | None = None, strategies: tuple[str, ...] | None = None,
             scenarios: tuple[str, ...] | None = None, modes: tuple[str, ...] | None = None,
             workers: int | None = None, candidates_from: str | None = None, dim: int | None = None,
             betas: tuple[float, ...] | None = None, fit_steps: int | None = None) -> Config:
    """The preset with command-line overrides applied. dim replaces D of the embedding worlds
    (the toy world is 2-D by definition); betas runs every scenario once per label-noise
    level, as NAME-betaB (same world and label draws, only beta differs); fit_steps gives every
    MLP scenario that constant budget of full-batch Adam steps (its learning rate kept)."""
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
    if fit_steps is not None:
        sc = tuple(replace(s, fit=full_batch_adam(fit_steps, s.fit.get("learning_rate") or 1e-3))
                   if s.head == "mlp" else s for s in sc)
    betas = tuple(betas) if betas else cfg.betas
    if betas:
        if any(not (b > 0 and math.isfinite(b)) for b in betas):
            raise ValueError(f"betas are {list(betas)}; use finite values > 0")
        sc = tuple(replace(s, name=f"{s.name}-beta{b:g}", beta=float(b), family=s.family or s.name)
                   for s in sc for b in betas)
    return replace(cfg, scenarios=sc, extra_scenarios=(), betas=betas,
                   seeds=seeds if seeds is not None else cfg.seeds,
                   strategies=strategies if strategies else cfg.strategies,
                   workers=workers if workers is not None else cfg.workers,
                   candidates_from=candidates_from if candidates_from is not None else cfg.candidates_from)
