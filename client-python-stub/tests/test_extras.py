"""The integrations' libraries are optional: `import activerm` loads none of them, and a call that
needs a missing one raises an ImportError naming the extra to install."""
from __future__ import annotations

import subprocess
import sys

import pytest

from activerm.integrations import arrow, label_studio, preferences


def test_import_activerm_loads_no_optional_library():
    code = ("import sys, activerm, activerm.integrations.label_studio, activerm.integrations.preferences; "
            "print(sorted(m for m in ('pyarrow', 'datasets', 'label_studio_sdk', 'pandas') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize(("module", "call", "extra"), [
    ("label_studio_sdk", lambda: label_studio.connect("http://127.0.0.1:1", "token"), "activerm[label-studio]"),
    ("datasets", lambda: preferences.to_dataset(None, texts={}, prompts={}), "activerm[datasets]"),
    ("pyarrow", lambda: arrow.arrow_table(object()), "activerm[arrow]"),
])
def test_a_missing_library_names_its_extra(monkeypatch, module, call, extra):
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` raise ImportError
    with pytest.raises(ImportError, match=extra.replace("[", r"\[").replace("]", r"\]")):
        call()
