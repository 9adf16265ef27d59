#!/usr/bin/env python3
"""The labeling loop with Label Studio as the annotation tool: select -> push -> annotate -> pull -> fit.

Each round activerm selects a batch of pairs, push() turns them into Label Studio tasks (left/
right order randomised and recorded, the selection score as the prediction score), simulated
annotators answer through Label Studio's API (each picks the side a hidden golden reward
prefers with the Bradley–Terry probability, calls near-equal pairs a tie, and skips some tasks),
pull() brings the answers back as comparisons (order undone, idempotent ids) and releases
the skipped pairs, and the head is refit. The first round is random (no model yet), then
greedy_dopt. At the end a second pull shows that nothing is counted twice, and --jsonl writes
the labels as a TRL / OpenRLHF preference dataset.

    java -jar server/target/activerm-server.jar &                       # activerm on :50051
    label-studio start --no-browser --internal-host 127.0.0.1 &         # Label Studio on :8080
    pip install './client-python-stub[label-studio]'
    python client-python-stub/examples/label_studio_loop.py --label-studio-token TOKEN

It creates one activerm project and one Label Studio project (and a few Label Studio users
as annotators) and deletes both projects at the end unless --keep.
"""
from __future__ import annotations

import argparse
import os
import uuid

import numpy as np

import activerm
from activerm.integrations import label_studio, preferences


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--target", default="localhost:50051", help="host:port of the activerm server")
    p.add_argument("--label-studio-url", default="http://localhost:8080")
    p.add_argument("--label-studio-token", default=os.environ.get("LABEL_STUDIO_API_KEY", ""),
                   help="Label Studio API token (default: $LABEL_STUDIO_API_KEY)")
    p.add_argument("--prompts", type=int, default=10, help="prompts in the pool")
    p.add_argument("--per-prompt", type=int, default=4, help="responses per prompt")
    p.add_argument("--dim", type=int, default=8, help="embedding dimension D")
    p.add_argument("--rounds", type=int, default=4, help="select -> push -> annotate -> pull -> fit rounds")
    p.add_argument("--batch", type=int, default=8, help="pairs selected per round")
    p.add_argument("--annotators", type=int, default=2, help="simulated annotators (Label Studio users)")
    p.add_argument("--skip-rate", type=float, default=0.2, help="chance that an annotator skips a task")
    p.add_argument("--tie-margin", type=float, default=0.1, help="|r*(a) - r*(b)| below which the answer is Tie")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--jsonl", help="write the labels as a preference dataset (prompt, chosen, rejected) here")
    p.add_argument("--project-prefix", default="ls-loop")
    p.add_argument("--keep", action="store_true", help="keep both projects instead of deleting them")
    return p.parse_args(argv)


class World:
    """A pool with texts and a hidden linear golden reward r*(x) = w* . x."""

    def __init__(self, prompts: int, per_prompt: int, dim: int, seed: int) -> None:
        rng = np.random.default_rng(seed)
        n = prompts * per_prompt
        self.ids = [f"p{i // per_prompt}-r{i % per_prompt}" for i in range(n)]
        self.prompt_ids = [f"p{i // per_prompt}" for i in range(n)]
        self.x = rng.standard_normal((n, dim), dtype=np.float32)
        self.reward = dict(zip(self.ids, (self.x @ rng.standard_normal(dim)).tolist()))
        self.texts = {r: f"Response {r.split('-')[1]} to prompt {r.split('-')[0]}." for r in self.ids}
        self.prompts = {p: f"Prompt {p}: say something helpful." for p in set(self.prompt_ids)}
        self.by_text = {t: r for r, t in self.texts.items()}


class Annotators:
    """Label Studio users who answer tasks through the API, from what the task shows them."""

    def __init__(self, ls, world: World, count: int, skip_rate: float, tie_margin: float, seed: int) -> None:
        self.ls = ls
        self.world = world
        self.rng = np.random.default_rng(seed + 1)
        self.skip_rate = skip_rate
        self.tie_margin = tie_margin
        tag = uuid.uuid4().hex[:8]
        self.users = [ls.users.create(username=f"annotator-{k}-{tag}", email=f"annotator-{k}-{tag}@example.com").id
                      for k in range(count)]

    def answer(self, task_ids: list[int]) -> tuple[int, int]:
        """Each task gets one annotation from a random annotator; returns (answered, skipped)."""
        answered = skipped = 0
        for task_id in task_ids:
            user = int(self.rng.choice(self.users))
            if self.rng.random() < self.skip_rate:
                self.ls.annotations.create(id=task_id, result=[], was_cancelled=True, completed_by=user)
                skipped += 1
                continue
            data = self.ls.tasks.get(id=task_id).data
            left = self.world.reward[self.world.by_text[data["response_left"]]]
            right = self.world.reward[self.world.by_text[data["response_right"]]]
            if abs(left - right) < self.tie_margin:
                choice = label_studio.CHOICE_TIE
            else:
                p_left = 1.0 / (1.0 + np.exp(-(left - right)))
                choice = label_studio.CHOICE_LEFT if self.rng.random() < p_left else label_studio.CHOICE_RIGHT
            result = [{"from_name": label_studio.CHOICES_NAME, "to_name": "response_left", "type": "choices",
                       "value": {"choices": [choice]}}]
            self.ls.annotations.create(id=task_id, result=result, completed_by=user)
            answered += 1
        return answered, skipped


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])


def main(argv=None) -> int:
    args = parse_args(argv)
    world = World(args.prompts, args.per_prompt, args.dim, args.seed)
    ls = label_studio.connect(args.label_studio_url, args.label_studio_token)
    name = f"{args.project_prefix}-{uuid.uuid4().hex[:8]}"
    with activerm.Client(args.target, timeout=60) as client:
        project = client.create_project(name, embedding_dim=args.dim)
        ls_project = label_studio.create_project(ls, name, description="activerm: which response is better?")
        print(f"activerm project {project.id}, Label Studio project {ls_project}")
        try:
            project.add_responses(world.ids, world.prompt_ids, world.x)
            annotators = Annotators(ls, world, args.annotators, args.skip_rate, args.tie_margin, args.seed)
            print(f"{'round':>5} {'strategy':>12} {'pushed':>6} {'answered':>8} {'skipped':>7} "
                  f"{'released':>8} {'labels':>6} {'spearman':>8}")
            golden = np.array([world.reward[r] for r in world.ids])
            for rnd in range(1, args.rounds + 1):
                strategy = "random" if project.refresh().latest_model_version == 0 else "greedy_dopt"
                selection = project.select_batch(size=args.batch, strategy=strategy, seed=args.seed + rnd)
                pushed = label_studio.push(project, selection, ls, ls_project, texts=world.texts,
                                           prompts=world.prompts, seed=args.seed)
                answered, skipped = annotators.answer(pushed.task_ids)
                pulled = label_studio.pull(project, ls, ls_project)
                labels = project.refresh().num_comparisons
                rho = float("nan")
                if labels:
                    project.fit()
                    rho = spearman(project.score(world.ids), golden)
                print(f"{rnd:>5} {strategy:>12} {len(pushed.task_ids):>6} {answered:>8} {skipped:>7} "
                      f"{pulled.num_released:>8} {labels:>6} {rho:>8.4f}")
            again = label_studio.pull(project, ls, ls_project)
            print(f"pull again: added {again.num_added}, unchanged {again.num_unchanged}")
            if args.jsonl:
                rows = preferences.to_jsonl(project, args.jsonl, texts=world.texts, prompts=world.prompts)
                print(f"wrote {len(rows)} preference rows to {args.jsonl} "
                      f"({rows.num_ties} ties and {rows.num_cross_prompt} cross-prompt comparisons left out)")
        finally:
            if not args.keep:
                ls.projects.delete(id=ls_project)
                project.delete()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
