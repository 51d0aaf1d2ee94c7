"""Docs must not drift from signatures: every name in a public function's ``Args:`` section is a real
parameter, and every parameter of the core filter API is documented."""

from __future__ import annotations

import inspect
import re

import pytest

import zoo.effects
import zoo.filters
import zoo.hub

_ARG_LINE = re.compile(r"^\s{4,8}(\*{0,2}\w+)(?: \([^)]*\))?:")


def _documented_args(doc: str) -> list[str]:
    lines = doc.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == "Args:")
    except StopIteration:
        return []
    names = []
    indent = None
    for line in lines[start + 1 :]:
        if not line.strip():
            continue
        current = len(line) - len(line.lstrip())
        if indent is None:
            indent = current
        if current < indent:
            break
        if current == indent:
            match = _ARG_LINE.match(line)
            if match:
                # "b, a, zi: ..." documents several parameters at once
                head = line.strip().split(":")[0]
                names.extend(n.strip().lstrip("*").split(" ")[0] for n in head.split(","))
    return names


def _public_callables():
    for module in (zoo.filters, zoo.effects, zoo.hub):
        for name in getattr(module, "__all__", dir(module)):
            obj = getattr(module, name)
            if inspect.isfunction(obj):
                yield f"{module.__name__}.{name}", obj
            elif inspect.isclass(obj):
                for meth_name, meth in vars(obj).items():
                    if inspect.isfunction(meth) and (meth_name == "__init__" or not meth_name.startswith("_")):
                        yield f"{module.__name__}.{name}.{meth_name}", meth
    for name in ("save_pretrained", "from_pretrained", "push_to_hub"):
        yield f"zoo.hub.{name}", getattr(zoo.hub, name)


@pytest.mark.parametrize("qualname,func", list(_public_callables()), ids=lambda v: v if isinstance(v, str) else "")
def test_documented_args_exist(qualname: str, func) -> None:
    doc = inspect.getdoc(func) or ""
    params = set(inspect.signature(func).parameters)
    unknown = [n for n in _documented_args(doc) if n not in params]
    assert not unknown, f"{qualname} documents {unknown}, which are not parameters of {sorted(params)}"


@pytest.mark.parametrize("name", ["allpole", "lfilter", "sosfilt", "linear_recurrence", "interpolate_controls", "fs_filter"])
def test_core_api_documents_every_parameter(name: str) -> None:
    func = getattr(zoo.filters, name)
    documented = set(_documented_args(inspect.getdoc(func) or ""))
    missing = [p for p in inspect.signature(func).parameters if p not in documented]
    assert not missing, f"zoo.filters.{name} does not document {missing}"
