"""zoo.export's docstrings name only real parameters (as tests/test_docstrings.py checks for the core API)."""

from __future__ import annotations

import importlib.util
import inspect
from pathlib import Path

import pytest

import zoo.export.build
import zoo.export.command
import zoo.export.compressor
import zoo.export.formats
import zoo.export.metadata
import zoo.export.neutone
import zoo.export.phaser
import zoo.export.synth

_spec = importlib.util.spec_from_file_location("_core_docstrings", Path(__file__).parents[1] / "test_docstrings.py")
_core = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_core)

MODULES = [zoo.export.build, zoo.export.command, zoo.export.compressor, zoo.export.formats, zoo.export.metadata,
           zoo.export.neutone, zoo.export.phaser, zoo.export.synth]


def _functions():
    for module in MODULES:
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                continue
            if inspect.isfunction(obj):
                yield f"{module.__name__}.{name}", obj


@pytest.mark.parametrize("name,func", list(_functions()), ids=lambda v: v if isinstance(v, str) else "")
def test_documented_args_exist(name, func):
    params = set(inspect.signature(func).parameters)
    documented = _core._documented_args(inspect.getdoc(func) or "")
    assert set(documented) <= params, f"{name}: {sorted(set(documented) - params)} documented but not parameters"
