"""Label-efficiency benchmark: how many labels each SelectBatch strategy saves.

    python -m activerm.bench --preset fast --server-jar server/target/activerm-server.jar --out bench-out
    python -m activerm.bench --preset tiny --target 127.0.0.1:50051 --out /tmp/bench
    python -m activerm.bench --preset full --dataset pool.parquet --preferences prefs.parquet ...

Simulates prompts x responses with a golden reward and a Bradley–Terry annotator
(``_sim``), or reads your pool with its reward or recorded preferences (``--dataset``:
``_dataset`` loads and validates, ``_dataset_world`` runs it), drives a running server only through the public client (``_runner``), and
writes rounds.csv, summary.csv, errors.csv, results.md and (with matplotlib,
``pip install 'activerm[bench]'``) PNG learning curves (``_report``).
"""
from ._config import MODES, STRATEGIES, Config, Scenario, narrowed, preset
from ._runner import ROUND_COLUMNS, run_all

__all__ = ["Config", "MODES", "ROUND_COLUMNS", "STRATEGIES", "Scenario", "narrowed", "preset", "run_all"]
