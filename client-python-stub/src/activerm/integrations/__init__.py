"""Hand-off to the tools RLHF teams use, each behind an optional extra:

- ``activerm.integrations.label_studio`` (``pip install 'activerm[label-studio]'``): selections
  become Label Studio tasks, finished annotations come back as comparisons.
- ``activerm.integrations.preferences`` (``'activerm[datasets]'`` for ``to_dataset``): the
  project's comparisons as a TRL / OpenRLHF preference dataset (JSONL or ``datasets.Dataset``).
- ``activerm.integrations.arrow`` (``'activerm[arrow]'``): what lets ``project.add_responses``
  take a pyarrow Table or a ``datasets.Dataset`` with an embedding column.

Nothing here is imported by ``import activerm``; each module imports its third-party library
only when a call needs it, and says which extra to install when it is missing.
"""
from __future__ import annotations

import importlib
from types import ModuleType


def require(module: str, extra: str, what: str) -> ModuleType:
    """Imports a third-party module, or raises ImportError naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise ImportError(f"{what} needs the '{module}' package: pip install 'activerm[{extra}]'") from e
