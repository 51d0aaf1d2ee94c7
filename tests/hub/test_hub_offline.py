"""zoo.hub: save/load through a folder, an offline Hub cache, a mocked upload; clear errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from zoo import hub
from zoo.effects import Compressor, Phaser


def _trained_compressor() -> Compressor:
    comp = Compressor(sample_rate=16000, threshold_db=-18.0, ratio=3.0, attack_ms=4.0, release_ms=80.0)
    with torch.no_grad():
        comp.threshold_db.add_(-1.25)  # weights that differ from the constructor's
    return comp


def _audio(seconds: float = 0.25, rate: int = 16000) -> torch.Tensor:
    gen = torch.Generator().manual_seed(0)
    env = torch.linspace(0.05, 1.0, int(seconds * rate))
    return (torch.randn(1, 2, int(seconds * rate), generator=gen) * env)


def test_folder_round_trip(tmp_path: Path) -> None:
    comp = _trained_compressor()
    folder = hub.save_pretrained(comp, tmp_path / "ckpt", test_metrics={"esr": 0.01})
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "config.json", "model.safetensors"]
    config = json.loads((folder / "config.json").read_text())
    assert config["effect"] == "compressor" and config["init_args"]["ratio"] == 3.0
    loaded = hub.from_pretrained(str(folder), effect_type=Compressor)
    x = _audio()
    torch.testing.assert_close(loaded(x), comp(x), rtol=0, atol=0)
    assert loaded.learned_parameters()["threshold_db"] == pytest.approx(-19.25)


def test_overrides_and_wrong_class(tmp_path: Path) -> None:
    folder = hub.save_pretrained(_trained_compressor(), tmp_path / "c")
    assert hub.from_pretrained(folder, method="fs").method == "fs"
    with pytest.raises(TypeError, match="not a Phaser"):
        hub.from_pretrained(str(folder), effect_type=Phaser)


def test_strict_loading_names_keys(tmp_path: Path) -> None:
    from safetensors.torch import load_file, save_file

    folder = hub.save_pretrained(_trained_compressor(), tmp_path / "c")
    state = load_file(str(folder / "model.safetensors"))
    state["bogus"] = torch.zeros(1)
    save_file(state, str(folder / "model.safetensors"))
    with pytest.raises(ValueError, match="unexpected \\['bogus'\\]"):
        hub.from_pretrained(folder)
    assert isinstance(hub.from_pretrained(folder, strict=False), Compressor)


def test_corrupt_and_truncated_files_name_the_file(tmp_path: Path) -> None:
    folder = hub.save_pretrained(_trained_compressor(), tmp_path / "c")
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:40])
    with pytest.raises(ValueError, match="model.safetensors"):
        hub.from_pretrained(folder)
    (folder / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="config.json"):
        hub.from_pretrained(folder)
    shutil.rmtree(folder)
    folder.mkdir()
    with pytest.raises(FileNotFoundError, match="config.json"):
        hub.from_pretrained(folder)


def _prepare_hub_cache(cache: Path, repo_id: str, source: Path, revision: str = "main") -> None:
    """Lay out files as huggingface_hub's cache does: refs/<rev> -> snapshots/<commit>/<files>."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / revision).write_text(commit)
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    for file in source.iterdir():
        shutil.copy(file, snapshot / file.name)


def test_repo_id_from_offline_cache(tmp_path: Path) -> None:
    comp = _trained_compressor()
    source = hub.save_pretrained(comp, tmp_path / "src")
    cache = tmp_path / "hub-cache"
    _prepare_hub_cache(cache, "zoo-audio/test-compressor", source, revision="v1")
    loaded = hub.from_pretrained("zoo-audio/test-compressor", revision="v1", cache_dir=cache, local_files_only=True)
    x = _audio()
    torch.testing.assert_close(loaded(x), comp(x), rtol=0, atol=0)
    with pytest.raises(OSError, match="HF_HUB_OFFLINE"):
        hub.from_pretrained("zoo-audio/missing", cache_dir=cache, local_files_only=True)


def test_repo_id_with_hf_hub_offline_env(tmp_path: Path) -> None:
    source = hub.save_pretrained(_trained_compressor(), tmp_path / "src")
    cache = tmp_path / "hub-cache"
    _prepare_hub_cache(cache, "zoo-audio/test-compressor", source)
    code = (
        "from zoo import hub; e = hub.from_pretrained('zoo-audio/test-compressor'); "
        "print(type(e).__name__, round(e.learned_parameters()['threshold_db'], 2))"
    )
    env = {"HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(cache), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["Compressor", "-19.25"]


def test_push_calls_hf_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub

    calls: list[tuple[str, dict]] = []

    class FakeApi:
        def __init__(self, token=None):
            calls.append(("init", {"token": token}))

        def create_repo(self, repo_id, **kwargs):
            calls.append(("create_repo", {"repo_id": repo_id, **kwargs}))

        def upload_folder(self, **kwargs):
            calls.append(("upload_folder", kwargs))

            class Info:
                commit_url = "https://huggingface.co/user/c/commit/abc"

            return Info()

    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    folder = hub.save_pretrained(_trained_compressor(), tmp_path / "c")
    url = hub.push_to_hub(folder, "user/c", token="hf_x", private=True)
    assert url.endswith("/commit/abc")
    assert calls[0] == ("init", {"token": "hf_x"})
    assert calls[1][1]["repo_id"] == "user/c" and calls[1][1]["private"] is True and calls[1][1]["exist_ok"] is True
    upload = calls[2][1]
    assert upload["repo_id"] == "user/c" and Path(upload["folder_path"]) == folder
    assert {"config.json", "model.safetensors", "README.md"} <= set(upload["allow_patterns"])
    # An effect (not a folder) is saved to a temporary folder and the same three files uploaded.
    calls.clear()
    hub.push_to_hub(_trained_compressor(), "user/c2")
    assert calls[-1][0] == "upload_folder" and calls[-1][1]["repo_id"] == "user/c2"


def test_push_refuses_a_broken_folder(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="config.json"):
        hub.push_to_hub(tmp_path / "empty", "user/x")


def test_unknown_effect_name() -> None:
    with pytest.raises(ValueError, match="expected one of"):
        hub.effect_class("reverb")
