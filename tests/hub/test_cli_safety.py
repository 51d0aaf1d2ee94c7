"""`zoo apply` and friends never destroy what they were given, and every user mistake is one line.

Each case runs the real command (`zoo.cli.main`) and checks the exit status, that stderr is one
line (no traceback), what it names, and that no file was lost or half-written.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from zoo.cli import main
from zoo.commands import apply_command

RATE = 16000


def _clip(path: Path, seconds: float = 0.5, channels: int = 1, rate: int = RATE, scale: float = 0.3) -> np.ndarray:
    rng = np.random.default_rng(1)
    audio = (scale * rng.standard_normal((int(rate * seconds), channels))).astype(np.float32)
    sf.write(str(path), audio, rate, subtype="FLOAT" if path.suffix == ".wav" else None)
    return audio


def _run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    err = capsys.readouterr().err
    return code, err


def _one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith("zoo apply: warning")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_output_that_is_the_input_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    clip = _clip(tmp_path / "t.wav")
    before = (tmp_path / "t.wav").read_bytes()
    (tmp_path / "sub").mkdir()
    (tmp_path / "link.wav").symlink_to(tmp_path / "t.wav")
    monkeypatch.chdir(tmp_path / "sub")
    for source, target in (("../t.wav", "../t.wav"), ("../link.wav", "../t.wav"), ("../t.wav", "../link.wav"),
                           ("../t.wav", "../sub/../t.wav"), ("../t.wav", "--force")):
        argv = ["apply", "compressor", source, target, "--no-progress"]
        if target == "--force":
            argv = ["apply", "compressor", source, "../t.wav", "--force", "--no-progress"]
        code, err = _run(capsys, *argv)
        assert code == 2
        assert "is the input" in _one_line(err)
    assert (tmp_path / "t.wav").read_bytes() == before
    np.testing.assert_array_equal(sf.read(str(tmp_path / "t.wav"), dtype="float32", always_2d=True)[0], clip)


def test_existing_output_needs_force(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    _clip(tmp_path / "in.wav")
    (tmp_path / "out.wav").write_bytes(b"precious")
    code, err = _run(capsys, "apply", "compressor", str(tmp_path / "in.wav"), str(tmp_path / "out.wav"), "--no-progress")
    assert code == 2 and "--force" in _one_line(err)
    assert (tmp_path / "out.wav").read_bytes() == b"precious"
    assert main(["apply", "compressor", str(tmp_path / "in.wav"), str(tmp_path / "out.wav"), "--no-progress", "--force"]) == 0
    assert sf.info(str(tmp_path / "out.wav")).frames == RATE // 2


def test_failure_midway_keeps_the_old_output_and_leaves_no_partial_file(tmp_path: Path) -> None:
    clip = _clip(tmp_path / "in.wav", seconds=1.0)
    clip[12000, 0] = np.nan  # in the second block
    sf.write(str(tmp_path / "in.wav"), clip, RATE, subtype="FLOAT")
    (tmp_path / "out.wav").write_bytes(b"old output")
    with pytest.raises(ValueError, match=r"frame 12000"):
        apply_command("compressor", tmp_path / "in.wav", tmp_path / "out.wav", block_size=4096, progress=False, force=True)
    assert (tmp_path / "out.wav").read_bytes() == b"old output"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav", "out.wav"]


def test_interrupt_keeps_the_old_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    from zoo.effects.compressors import Compressor

    _clip(tmp_path / "in.wav", seconds=1.0)
    (tmp_path / "out.wav").write_bytes(b"old output")
    calls = {"n": 0}
    original = Compressor.stream

    def interrupted(self, x, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return original(self, x, *args, **kwargs)

    monkeypatch.setattr(Compressor, "stream", interrupted)
    code = main(["apply", "compressor", str(tmp_path / "in.wav"), str(tmp_path / "out.wav"), "--block-size", "4000",
                 "--force", "--no-progress"])
    assert code == 130 and "interrupted" in capsys.readouterr().err
    assert (tmp_path / "out.wav").read_bytes() == b"old output"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav", "out.wav"]


def test_written_file_has_normal_permissions(tmp_path: Path) -> None:
    _clip(tmp_path / "in.wav")
    apply_command("compressor", tmp_path / "in.wav", tmp_path / "out.wav", progress=False)
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "out.wav").stat().st_mode & 0o777 == 0o666 & ~umask


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("effect", ["compressor", "phaser"])
def test_non_finite_input_is_an_error_with_its_frame(tmp_path: Path, capsys: pytest.CaptureFixture, bad: float, effect: str) -> None:
    clip = _clip(tmp_path / "in.wav", channels=2)
    clip[777, 1] = bad
    sf.write(str(tmp_path / "in.wav"), clip, RATE, subtype="FLOAT")
    code, err = _run(capsys, "apply", effect, str(tmp_path / "in.wav"), str(tmp_path / "out.wav"), "--no-progress")
    line = _one_line(err)
    assert code == 2 and "frame 777" in line and "channel 1" in line and "--nan zero" in line
    assert not (tmp_path / "out.wav").exists()


def test_nan_zero_replaces_and_warns(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    clip = _clip(tmp_path / "in.wav")
    clip[100:103, 0] = np.nan
    sf.write(str(tmp_path / "in.wav"), clip, RATE, subtype="FLOAT")
    code, err = _run(capsys, "apply", "compressor", str(tmp_path / "in.wav"), str(tmp_path / "out.wav"), "--nan", "zero",
                     "--no-progress")
    assert code == 0 and "warning" in err and "3 non-finite samples" in err and "frame 100" in err
    out = sf.read(str(tmp_path / "out.wav"), dtype="float32")[0]
    assert np.isfinite(out).all()
    # Zeroing equals processing the file with zeros there.
    clean = clip.copy()
    clean[100:103] = 0
    sf.write(str(tmp_path / "clean.wav"), clean, RATE, subtype="FLOAT")
    apply_command("compressor", tmp_path / "clean.wav", tmp_path / "clean_out.wav", progress=False)
    np.testing.assert_array_equal(out, sf.read(str(tmp_path / "clean_out.wav"), dtype="float32")[0])


def _bad_inputs(tmp_path: Path) -> dict[str, Path]:
    files = {}
    files["header only"] = tmp_path / "empty.wav"
    sf.write(str(files["header only"]), np.zeros((0, 1), np.float32), RATE)
    files["not audio"] = tmp_path / "text.wav"
    files["not audio"].write_text("this is not audio\n" * 20)
    files["folder"] = tmp_path / "folder.wav"
    files["folder"].mkdir()
    files["missing"] = tmp_path / "missing.wav"
    files["zero bytes"] = tmp_path / "zero.wav"
    files["zero bytes"].write_bytes(b"")
    return files


@pytest.mark.parametrize("case", ["header only", "not audio", "folder", "missing", "zero bytes"])
def test_bad_input_files_get_one_line_naming_them(tmp_path: Path, capsys: pytest.CaptureFixture, case: str) -> None:
    path = _bad_inputs(tmp_path)[case]
    code, err = _run(capsys, "apply", "compressor", str(path), str(tmp_path / "out.wav"), "--no-progress")
    assert code == 2 and path.name in _one_line(err)
    assert not (tmp_path / "out.wav").exists()


@pytest.mark.parametrize(
    ("output", "expected"),
    [("nodir/out.wav", "does not exist"), ("out.xyz", "Unknown output format"), ("out", "Unknown output format"),
     (".", "is a folder")],
)
def test_bad_outputs_get_one_line(tmp_path: Path, capsys: pytest.CaptureFixture, output: str, expected: str) -> None:
    _clip(tmp_path / "in.wav")
    code, err = _run(capsys, "apply", "compressor", str(tmp_path / "in.wav"), str(tmp_path / output), "--no-progress",
                     "--force")
    assert code == 2 and expected in _one_line(err)


@pytest.mark.parametrize("value", ["0", "-5", "abc", "1.5"])
def test_bad_block_size(tmp_path: Path, capsys: pytest.CaptureFixture, value: str) -> None:
    _clip(tmp_path / "in.wav")
    with pytest.raises(SystemExit) as info:
        main(["apply", "compressor", str(tmp_path / "in.wav"), str(tmp_path / "o.wav"), "--block-size", value])
    assert info.value.code == 2
    assert "--block-size" in capsys.readouterr().err
    with pytest.raises(ValueError, match="block-size"):
        apply_command("compressor", tmp_path / "in.wav", tmp_path / "o.wav", block_size=0, progress=False)


def test_unknown_method_and_effect(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    _clip(tmp_path / "in.wav")
    code, err = _run(capsys, "apply", "compressor", str(tmp_path / "in.wav"), str(tmp_path / "o.wav"), "--method", "bogus")
    assert code == 2 and "--method" in _one_line(err)
    code, err = _run(capsys, "apply", "reverb-9000", str(tmp_path / "in.wav"), str(tmp_path / "o.wav"))
    assert code == 2 and "reverb-9000" in _one_line(err)
    (tmp_path / "notes.txt").write_text("x")
    code, err = _run(capsys, "apply", str(tmp_path / "notes.txt"), str(tmp_path / "in.wav"), str(tmp_path / "o.wav"))
    assert code == 2 and "not a Lightning .ckpt" in _one_line(err)


def test_truncated_input_warns(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    _clip(tmp_path / "full.wav", seconds=1.0)
    data = (tmp_path / "full.wav").read_bytes()
    (tmp_path / "cut.wav").write_bytes(data[: len(data) // 2])
    code, err = _run(capsys, "apply", "compressor", str(tmp_path / "cut.wav"), str(tmp_path / "o.wav"), "--no-progress")
    assert code == 0 and "truncated" in err and "cut.wav" in err
    code, err = _run(capsys, "apply", "compressor", str(tmp_path / "full.wav"), str(tmp_path / "o2.wav"), "--no-progress")
    assert code == 0 and "warning" not in err


def test_clipping_on_pcm_output_warns(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    _clip(tmp_path / "loud.wav", scale=3.0)  # float wav holds samples above full scale
    code, err = _run(capsys, "apply", "phaser", str(tmp_path / "loud.wav"), str(tmp_path / "o.flac"), "--no-progress")
    assert code == 0 and "clipped" in err and "o.flac" in err
    code, err = _run(capsys, "apply", "phaser", str(tmp_path / "loud.wav"), str(tmp_path / "o.wav"), "--no-progress")
    assert code == 0 and "clipped" not in err


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "ZOO_DEBUG": "1"}
    result = subprocess.run([sys.executable, "-m", "zoo.cli", "apply", "compressor", str(tmp_path / "nope.wav"),
                             str(tmp_path / "o.wav")], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode != 0 and "Traceback" in result.stderr
    env.pop("ZOO_DEBUG")
    result = subprocess.run([sys.executable, "-m", "zoo.cli", "apply", "compressor", str(tmp_path / "nope.wav"),
                             str(tmp_path / "o.wav")], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 2 and "Traceback" not in result.stderr and "nope.wav" in result.stderr


def test_demo_on_a_fresh_clone_makes_its_output_parents(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """`make demo` writes out/demo where out/ does not exist yet: folder outputs get their parents."""
    from zoo._io import check_output

    assert check_output(tmp_path / "out" / "demo", kind="folder") == tmp_path / "out" / "demo"
    assert (tmp_path / "out").is_dir()
    with pytest.raises(ValueError, match="does not exist"):
        check_output(tmp_path / "nodir" / "file.wav")
