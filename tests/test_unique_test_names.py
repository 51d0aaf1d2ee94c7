"""Test files have unique basenames: the test folders are not packages, so pytest imports each test
file as a top-level module by its basename, and a second file of the same name fails collection."""

from __future__ import annotations

from collections import Counter
from pathlib import Path


def test_test_file_basenames_are_unique() -> None:
    names = Counter(p.name for p in Path(__file__).parent.rglob("test_*.py"))
    assert [name for name, count in names.items() if count > 1] == []
