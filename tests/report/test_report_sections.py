"""`effect_section`: players, images and tables from one effect run; long clips cut to 10 s."""

from __future__ import annotations

import numpy as np
import pytest

from zoo.report.clips import Performance, real_effect_config
from zoo.report.page import MAX_CLIP_S
from zoo.report.sections import effect_section, metrics_table, unit_of


def _performance(seconds: float, *, synth: bool = False, target: bool = True) -> Performance:
    rate = 4000
    rng = np.random.default_rng(0)
    dry = rng.standard_normal(int(seconds * rate)).astype(np.float32) * 0.1
    return Performance(
        sample_rate=rate, prediction=0.9 * dry, dry=dry, target=dry if target else None,
        curves={"lfo": (np.linspace(0, 1, 50), np.sin(np.linspace(0, 6, 50)))},
        learned={"attack_ms": 3.0, "ratio": 4.0}, run_s=0.01, origin="test clip", synth=synth,
    )


def test_long_clips_are_cut_and_the_note_says_so() -> None:
    section = effect_section("fx", _performance(12.0), file_prefix="fx", method="td")
    assert [c.label for c in section.clips] == ["dry", "real effect", "our model (td)"]
    assert [c.filename for c in section.clips] == ["fx_dry.wav", "fx_real.wav", "fx_model.wav"]
    assert all(c.duration_s == pytest.approx(MAX_CLIP_S) for c in section.clips)
    assert "first 10 s of 12.0 s" in section.text
    assert [i.filename for i in section.images] == ["fx_spectrograms.png", "fx_controls.png"]


def test_synth_plays_target_and_resynthesis_only() -> None:
    section = effect_section("synth", _performance(1.0, synth=True))
    assert [c.label for c in section.clips] == ["target notes (real ladder filter)", "our model: re-synthesis"]
    assert section.tables[0].caption.startswith("Distance to the target note")


def test_metrics_table_values() -> None:
    table = metrics_table(_performance(1.0), {"esr": 0.5, "l1": 0.2})
    rows = {r[0]: r[1:] for r in table.rows}
    assert rows["ESR"][0] == pytest.approx(0.01, rel=1e-5) and rows["ESR"][1] == 0.5  # (0.1 dry)^2 / dry^2
    assert rows["L1"] == [None, 0.2]
    no_target = metrics_table(_performance(1.0, target=False))
    assert all(np.isnan(r[1]) for r in no_target.rows)


def test_units_and_real_effect_spec() -> None:
    assert [unit_of(n) for n in ("threshold_db", "attack_ms", "lfo_rate_hz", "phase_rad", "rms_coef", "ratio")] == [
        "dB", "ms", "Hz", "rad", "coefficient", ""]
    spec = {"class_path": "x", "init_args": {"effect": {"kind": "phaser", "rate_hz": 0.6}}}
    assert real_effect_config(spec) == {"kind": "phaser", "rate_hz": 0.6}
    assert real_effect_config({"init_args": {"num_notes": 3}}) is None and real_effect_config(None) is None
