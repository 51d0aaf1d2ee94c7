"""``zoo report``: checkpoint and run pages, clip sources, and one-line errors for user mistakes."""

from __future__ import annotations

import argparse
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from zoo import hub
from zoo.report.cli import register_report
from zoo.report.sources import read_metrics_csv

pytestmark = pytest.mark.skipif("compressor-pedalboard" not in hub.list_checkpoints(), reason="checkpoints not built")


def zoo_report(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="zoo")
    register_report(parser.add_subparsers())
    args = parser.parse_args(["report", *argv])
    return args.func(args)


def _one_line_error(capsys: pytest.CaptureFixture, code: int, *, match: str) -> None:
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("zoo report: ") and "Traceback" not in err, err
    assert re.search(match, err), err


def _durations(folder: Path) -> dict[str, float]:
    return {p.name: sf.info(str(p)).duration for p in sorted(folder.glob("*.wav"))}


def test_user_mistakes_are_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    _one_line_error(capsys, zoo_report("no-such-checkpoint", "--out", str(tmp_path / "a")), match="does not exist: pass a shipped checkpoint")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x").write_text("x")
    _one_line_error(capsys, zoo_report("compressor-pedalboard", "--out", str(tmp_path / "busy")), match="not empty.*--force")
    assert (tmp_path / "busy" / "x").read_text() == "x"
    missing = tmp_path / "missing.wav"
    _one_line_error(capsys, zoo_report("compressor-pedalboard", "--input", str(missing), "--out", str(tmp_path / "b")), match="missing.wav")
    _one_line_error(capsys, zoo_report("compressor-pedalboard", "--duration", "30", "--out", str(tmp_path / "c")), match="--duration")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["busy"]  # nothing half-written


def test_synth_refuses_input(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    if "synth-ladder303" not in hub.list_checkpoints():
        pytest.skip("synth checkpoint not built")
    sf.write(tmp_path / "in.wav", np.zeros(4800, dtype=np.float32), 48000)
    code = zoo_report("synth-ladder303", "--input", str(tmp_path / "in.wav"), "--out", str(tmp_path / "out"))
    _one_line_error(capsys, code, match="--input is not supported for the synth")


def test_input_file_is_cut_to_ten_seconds_and_the_real_effect_rendered(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    rng = np.random.default_rng(0)
    stereo = (0.3 * rng.standard_normal((12 * 22050, 2))).astype(np.float32)
    sf.write(tmp_path / "long.flac", stereo, 22050)  # 12 s, stereo, another rate than the model's 44.1 kHz
    out = tmp_path / "page"
    assert zoo_report("compressor-pedalboard", "--input", str(tmp_path / "long.flac"), "--out", str(out)) == 0
    assert "wrote" in capsys.readouterr().out
    durations = _durations(out)
    assert sorted(durations) == ["compressor-pedalboard_dry.wav", "compressor-pedalboard_model.wav", "compressor-pedalboard_real.wav"]
    assert all(d == pytest.approx(10.0) for d in durations.values())
    assert all(sf.info(str(out / n)).samplerate == 44100 for n in durations)
    html = (out / "index.html").read_text()
    assert "long.flac (first 10.0 s" in html and "Model card" in html and "threshold_db" in html
    # --force replaces the page, without --force it is refused
    assert zoo_report("compressor-pedalboard", "--out", str(out)) == 2
    assert zoo_report("compressor-pedalboard", "--out", str(out), "--force", "--duration", "1") == 0
    assert all(d == pytest.approx(1.0) for d in _durations(out).values())


def _fake_run(root: Path) -> Path:
    """A `zoo train` run folder: config.yaml (LightningCLI's copy), checkpoints/last.ckpt, metrics.csv."""
    import yaml

    config = hub.list_checkpoints()["compressor-pedalboard"]
    log_dir = root / "zoo" / "version_0"
    log_dir.mkdir(parents=True)
    recipe = {
        "model": {"effect": {"class_path": "zoo.effects.compressors.Compressor", "init_args": config["init_args"]}, "test_method": "td"},
        "data": config["card"]["data"],
    }
    (log_dir / "config.yaml").write_text(yaml.safe_dump(recipe))
    (log_dir / "metrics.csv").write_text(
        "epoch,step,lr-Adam,train/loss,val/loss,val/esr\n0,0,0.001,0.5,,\n0,9,0.001,,0.2,0.19\n0,10,0.001,0.1,,\n0,19,0.001,,0.05,0.04\n"
    )
    effect = hub.from_pretrained(hub.resolve_checkpoint("compressor-pedalboard"))
    (root / "checkpoints").mkdir()
    state = {f"effect.{k}": v for k, v in effect.state_dict().items()}
    torch.save({"state_dict": state, "zoo": {"effect_class": "zoo.effects.compressors.Compressor"}}, root / "checkpoints" / "last.ckpt")
    return root


def test_run_folder_and_ckpt(tmp_path: Path) -> None:
    pytest.importorskip("lightning")
    run = _fake_run(tmp_path / "runs" / "my-run")
    for target, out in ((run, tmp_path / "from-run"), (run / "checkpoints" / "last.ckpt", tmp_path / "from-ckpt")):
        assert zoo_report(str(target), "--out", str(out), "--duration", "1") == 0
        names = sorted(p.name for p in out.iterdir())
        assert names == ["index.html", "my-run_controls.png", "my-run_dry.wav", "my-run_fit_curve.png", "my-run_model.wav",
                         "my-run_real.wav", "my-run_spectrograms.png"]
        html = (out / "index.html").read_text()
        assert "-22.81" in html  # the learned threshold of the weights in last.ckpt
        assert "train/loss, val/loss, val/esr" in html and "lr-Adam" not in html


def test_run_with_a_broken_ckpt_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    pytest.importorskip("lightning")
    run = _fake_run(tmp_path / "run")
    (run / "checkpoints" / "last.ckpt").write_bytes(b"truncated")
    _one_line_error(capsys, zoo_report(str(run), "--out", str(tmp_path / "out")), match="Cannot read Lightning checkpoint .*last.ckpt")


def test_checkpoint_folder_with_audio_and_metrics(tmp_path: Path) -> None:
    folder = tmp_path / "fitted"
    shutil.copytree(hub.resolve_checkpoint("compressor-pedalboard"), folder)
    (folder / "audio").mkdir()
    dry = (0.5 * np.sin(np.arange(44100 * 2) * 0.05)).astype(np.float32)
    sf.write(folder / "audio" / "dry.wav", dry, 44100)
    sf.write(folder / "audio" / "target.wav", 0.5 * dry, 44100)
    (folder / "metrics.csv").write_text("epoch,step,train/loss\n0,0,1.0\n0,1,0.5\n")
    assert zoo_report(str(folder), "--out", str(tmp_path / "out")) == 0
    html = (tmp_path / "out" / "index.html").read_text()
    assert "audio/dry.wav and target.wav" in html and "fitted_fit_curve.png" in html
    assert all(d == pytest.approx(2.0) for d in _durations(tmp_path / "out").values())
    written, _ = sf.read(str(tmp_path / "out" / "fitted_real.wav"))
    np.testing.assert_allclose(written, 0.5 * dry, atol=1e-4)  # the target is the file's, not re-rendered


def test_read_metrics_csv(tmp_path: Path) -> None:
    (tmp_path / "metrics.csv").write_text("epoch,step,train/loss,val/esr,lr-Adam\n0,0,1.0,,0.1\n0,5,,0.3,0.1\n0,9,nan,,0.1\n0,10,0.5,0.2,0.1\n")
    series = read_metrics_csv(tmp_path / "metrics.csv")
    assert list(series) == ["train/loss", "val/esr"]
    np.testing.assert_array_equal(series["train/loss"][0], [0, 10])
    np.testing.assert_array_equal(series["val/esr"][1], [0.3, 0.2])
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="'step' column"):
        read_metrics_csv(tmp_path / "bad.csv")

