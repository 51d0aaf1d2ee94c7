"""Shipped checkpoints and recipes are found through zoo.resources; the Hub story: push every shipped
checkpoint (HfApi mocked), load every one from an offline Hub cache, torch.hub takes a folder.

The wheel itself is built and used outside the checkout by `.ci/check-wheel` (run by CI).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from zoo import hub, resources
from zoo.cli import main

REPO = Path(__file__).resolve().parents[2]
SHIPPED = ("phaser-pedalboard", "compressor-pedalboard", "synth-ladder303")


def test_resources_find_the_checkouts_folders() -> None:
    assert resources.checkpoints_dir() == REPO / "checkpoints"
    assert resources.recipes_dir() == REPO / "recipes"
    assert set(SHIPPED) <= set(hub.list_checkpoints())
    assert set(hub.HUB_REPOS) == set(SHIPPED)


def test_packaged_copies_win(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As in a wheel: zoo/checkpoints inside the package is used before the checkout's folder."""
    import importlib.resources

    fake_package = tmp_path / "zoo"
    shutil.copytree(REPO / "checkpoints" / "compressor-pedalboard", fake_package / "checkpoints" / "only-this")
    real_files = importlib.resources.files
    monkeypatch.setattr(importlib.resources, "files", lambda name: fake_package if name == "zoo" else real_files(name))
    assert resources.checkpoints_dir() == fake_package / "checkpoints"
    assert list(hub.list_checkpoints()) == ["only-this"]
    assert resources.recipes_dir() == REPO / "recipes"  # not packaged here: the checkout's


def test_no_checkout_no_folders(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import importlib.resources

    monkeypatch.setattr(importlib.resources, "files", lambda name: tmp_path / "nowhere")
    monkeypatch.setattr(resources, "_checkout_root", lambda: None)
    assert resources.checkpoints_dir() is None and resources.recipes_dir() is None
    assert hub.list_checkpoints() == {}
    with pytest.raises(ValueError, match="carries no recipes"):
        resources.copy_recipes(tmp_path / "r")


def test_recipes_copy(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["recipes"]) == 0
    assert "finetune/compressor.yaml" in capsys.readouterr().out
    assert main(["recipes", "--copy", str(tmp_path / "mine")]) == 0
    assert (tmp_path / "mine" / "finetune" / "phaser.yaml").read_text() == (REPO / "recipes" / "finetune" / "phaser.yaml").read_text()
    assert main(["recipes", "--copy", str(tmp_path / "mine")]) == 2
    assert "--force" in capsys.readouterr().err
    assert main(["recipes", "--copy", str(tmp_path / "mine"), "--force"]) == 0


class _FakeApi:
    calls: list[tuple[str, dict]] = []

    def __init__(self, token=None):
        self.calls.append(("init", {"token": token}))

    def create_repo(self, repo_id, **kwargs):
        self.calls.append(("create_repo", {"repo_id": repo_id, **kwargs}))

    def upload_folder(self, **kwargs):
        self.calls.append(("upload_folder", kwargs))

        class Info:
            commit_url = f"https://huggingface.co/{kwargs['repo_id']}/commit/abc"

        return Info()


def test_push_every_shipped_checkpoint(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    import fnmatch

    import huggingface_hub

    _FakeApi.calls = []
    monkeypatch.setattr(huggingface_hub, "HfApi", _FakeApi)
    assert main(["push", "--all", "allpole-zoo", "--revision", "main"]) == 0
    out = capsys.readouterr().out
    uploads = [kwargs for name, kwargs in _FakeApi.calls if name == "upload_folder"]
    assert sorted(u["repo_id"] for u in uploads) == sorted(hub.HUB_REPOS.values())
    for upload in uploads:
        folder = Path(upload["folder_path"])
        assert folder.name in SHIPPED and upload["revision"] == "main"
        files = [p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()]
        uploaded = {f for f in files if any(fnmatch.fnmatch(f, pattern) for pattern in upload["allow_patterns"])}
        assert {"config.json", "model.safetensors", "README.md"} <= uploaded
        assert not any(f.endswith((".ckpt", ".pt", ".bin", ".pkl")) for f in uploaded)
        assert f"{folder.name}: https://huggingface.co/" in out
    # One by name, as the README shows.
    _FakeApi.calls = []
    assert main(["push", "phaser-pedalboard", "me/phaser"]) == 0
    assert [k["repo_id"] for n, k in _FakeApi.calls if n == "upload_folder"] == ["me/phaser"]


def test_push_uploads_the_listening_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import fnmatch

    import huggingface_hub

    _FakeApi.calls = []
    monkeypatch.setattr(huggingface_hub, "HfApi", _FakeApi)
    folder = tmp_path / "fx"
    shutil.copytree(REPO / "checkpoints" / "compressor-pedalboard", folder)
    (folder / "listen").mkdir()
    (folder / "listen" / "index.html").write_text("<html></html>")
    (folder / "listen" / "dry.wav").write_bytes(b"RIFF")
    (folder / "secret.ckpt").write_bytes(b"pickle")
    hub.push_to_hub(folder, "me/fx")
    patterns = _FakeApi.calls[-1][1]["allow_patterns"]
    for name, expected in (("listen/index.html", True), ("listen/dry.wav", True), ("secret.ckpt", False)):
        assert any(fnmatch.fnmatch(name, p) for p in patterns) is expected, name


def _offline_cache(cache: Path, name: str, repo_id: str) -> None:
    commit = "89abcdef0123456789abcdef0123456789abcdef"
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / commit
    shutil.copytree(REPO / "checkpoints" / name, snapshot)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_checkpoint_from_an_offline_hub_cache(tmp_path: Path, name: str) -> None:
    _offline_cache(tmp_path, name, hub.HUB_REPOS[name])
    loaded = hub.from_pretrained(hub.HUB_REPOS[name], cache_dir=tmp_path, local_files_only=True)
    local = hub.from_pretrained(name)
    for (key, p), (_, q) in zip(loaded.state_dict().items(), local.state_dict().items()):
        torch.testing.assert_close(p, q, rtol=0, atol=0, msg=key)


def test_torch_hub_takes_a_checkpoint_folder(tmp_path: Path) -> None:
    from zoo.effects import Compressor

    folder = hub.save_pretrained(Compressor(sample_rate=16000, threshold_db=-31.0), tmp_path / "mine")
    effect = torch.hub.load(str(REPO), "compressor", source="local", checkpoint=str(folder), trust_repo=True)
    assert effect.sample_rate == 16000
    assert effect.learned_parameters()["threshold_db"] == pytest.approx(-31.0)
    shipped = torch.hub.load(str(REPO), "compressor", source="local", checkpoint="compressor-pedalboard", trust_repo=True)
    assert shipped.sample_rate == 44100
