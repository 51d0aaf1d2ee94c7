r"""Neutone FX models (``.nm``): the streaming module inside a neutone-sdk ``WaveformToWaveformBase``.

neutone-sdk (1.5.2) imports torchaudio at import time (``sandwich.py``, ``audio.py``,
``cached_mel_spec.py``), and PyPI's torchaudio does not import beside this project's CPU torch. The
exported model never calls torchaudio: the SDK's realtime wrapper resamples with its own
``Inplace4pHermiteResampler``, and ``torchaudio.transforms.Resample`` / ``MelSpectrogram`` are used only by
the offline helpers (rendering the preview samples, the PT resampler). So `neutone_sdk` is imported
with a stand-in ``torchaudio`` module (`torchaudio_stand_in`, only while importing, only when the real
one does not import) whose two classes raise if anyone builds them. Saving skips the preview
samples, the speed benchmark and the offline-mode test (they decode mp3s with torchaudio), and the
SDK's check that the technical links answer HTTP 200 is made offline (`offline_links`): without a
network it would only log errors, slowly.

Install: ``pip install --no-deps neutone-sdk==1.5.2`` and ``pip install 'allpole-zoo[export]'``
(jsonschema, requests, click: the SDK's other dependencies). Knobs (0..1 in the plugin), with
the fitted value as default (`knob_ranges`):

=====================  ======================================================================
phaser                 rate (Hz, log 0.05-10), depth (x 0-2 of the fitted sweep), feedback
                       (g2, linear 0-0.95, or -0.95-0.95 for signed feedback), mix (0 dry - 1 fitted)
compressor             threshold (dB, -60-0), ratio (log 1-20), release (ms, log 5-2000),
                       make-up (dB, -12-24)
=====================  ======================================================================

Ranges widen to include a fitted value outside them.
"""

from __future__ import annotations

import contextlib
import importlib
import math
import sys
import types
from pathlib import Path
from typing import Any, Iterator

import torch

from .build import streaming_module
from .metadata import card_summary

__all__ = ["torchaudio_stand_in", "offline_links", "import_neutone_sdk", "knob_ranges", "build_neutone_model",
           "save_neutone"]

_INSTALL = "pip install --no-deps neutone-sdk==1.5.2 && pip install 'allpole-zoo[export]'"


def _stand_in_module() -> types.ModuleType:
    module = types.ModuleType("torchaudio")
    transforms = types.ModuleType("torchaudio.transforms")

    class _Unavailable(torch.nn.Module):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            raise RuntimeError("torchaudio is not available here (zoo's stand-in for neutone-sdk's import)")

    transforms.Resample = type("Resample", (_Unavailable,), {})
    transforms.MelSpectrogram = type("MelSpectrogram", (_Unavailable,), {})
    module.transforms = transforms
    module.__zoo_stand_in__ = True
    return module


@contextlib.contextmanager
def torchaudio_stand_in() -> Iterator[bool]:
    """While active, ``import torchaudio`` gives a stand-in when the real one does not import.

    Yields True when the stand-in is in use. Afterwards ``sys.modules`` holds no trace of it.
    """
    try:
        importlib.import_module("torchaudio")
        yield False
        return
    except Exception:  # noqa: BLE001 - missing, or built for another torch (OSError, ImportError, ...)
        for key in [k for k in sys.modules if k == "torchaudio" or k.startswith("torchaudio.")]:
            del sys.modules[key]
    stand_in = _stand_in_module()
    sys.modules["torchaudio"] = stand_in
    sys.modules["torchaudio.transforms"] = stand_in.transforms
    try:
        yield True
    finally:
        for key in ("torchaudio", "torchaudio.transforms"):
            if sys.modules.get(key) is stand_in or sys.modules.get(key) is stand_in.transforms:
                del sys.modules[key]


@contextlib.contextmanager
def offline_links(metadata_module: Any) -> Iterator[None]:
    """Make neutone-sdk's link check (``requests.head(link).status_code == 200``) answer without a network."""
    original = metadata_module.requests

    class _Offline:
        exceptions = original.exceptions

        @staticmethod
        def head(url: str, **kwargs: Any) -> Any:
            return types.SimpleNamespace(status_code=200)

    metadata_module.requests = _Offline
    try:
        yield
    finally:
        metadata_module.requests = original


def import_neutone_sdk() -> types.ModuleType:
    """``neutone_sdk``, imported with `torchaudio_stand_in`.

    Raises:
        ImportError: the SDK (or one of jsonschema, requests, click) is not installed, with the command.
    """
    if "neutone_sdk" in sys.modules:
        return sys.modules["neutone_sdk"]
    with torchaudio_stand_in():
        try:
            import neutone_sdk
            import neutone_sdk.metadata  # noqa: F401
            import neutone_sdk.utils  # noqa: F401
        except ImportError as error:
            raise ImportError(f"--format neutone needs neutone-sdk: {_INSTALL} ({error})") from error
    return neutone_sdk


def knob_ranges(core: Any) -> list[dict[str, Any]]:
    """The four knobs: name, description, scale ("log"/"linear"), low, high and default (physical)."""
    controls = [float(v) for v in core.default_controls.tolist()]
    if type(core).__name__ == "PhaserStream":
        rate, _, g2, _ = controls
        low_g2 = -0.95 if g2 < 0 or getattr(core, "signed_feedback", False) else 0.0
        knobs = [
            ("rate", "LFO rate (Hz): how fast the notches sweep", "log", min(0.05, rate), max(10.0, rate), rate),
            ("depth", "sweep width, x the fitted sweep (0: static notches)", "linear", 0.0, 2.0, 1.0),
            ("feedback", "feedback gain g2: deeper notches and resonant peaks", "linear", min(low_g2, g2),
             max(0.95, g2), g2),
            ("mix", "dry/wet: 0 dry, 1 the fitted effect", "linear", 0.0, 1.0, 1.0),
        ]
    else:
        threshold, ratio, release_coef, makeup = controls
        release_ms = -2200.0 / (core.sample_rate * math.log1p(-release_coef))
        knobs = [
            ("threshold", "threshold (dB): lower compresses more", "linear", min(-60.0, threshold), max(0.0, threshold),
             threshold),
            ("ratio", "ratio (1 = no compression)", "log", 1.0, max(20.0, ratio), max(ratio, 1.0)),
            ("release", "release time (ms): how fast the gain recovers", "log", min(5.0, release_ms),
             max(2000.0, release_ms), release_ms),
            ("makeup", "make-up gain (dB)", "linear", min(-12.0, makeup), max(24.0, makeup), makeup),
        ]
    out = []
    for name, text, scale, low, high, default in knobs:
        if scale == "log":
            position = 0.0 if high == low else math.log(default / low) / math.log(high / low)
        else:
            position = (default - low) / (high - low)
        out.append({"name": name, "description": text, "scale": scale, "low": low, "high": high, "default": default,
                    "default_0to1": min(max(position, 0.0), 1.0)})
    return out


def build_neutone_model(effect: Any, *, name: str, card_folder: str | Path | None = None) -> torch.nn.Module:
    """The ``WaveformToWaveformBase`` model of a fitted phaser or compressor (not yet scripted)."""
    sdk = import_neutone_sdk()
    from ._neutone_model import make_model_class

    core = streaming_module(effect)
    knobs = knob_ranges(core)
    summary = card_summary(card_folder) or f"A {type(effect).__name__.lower()} fitted with the allpole zoo."
    model_class = make_model_class(sdk)
    text = {
        "name": f"zoo {name}"[:30],
        "kind": "phaser" if type(core).__name__ == "PhaserStream" else "compressor",
        "short": (f"{type(effect).__name__} fitted with differentiable all-pole filters (Yu et al., DAFx 2024)")[:150],
        "long": summary[:500],
        "technical": ("Streams the fitted effect exactly (chunked linear scans; the compressor's attack/release "
                      "switch by mask iteration). Knobs: " + ", ".join(k["name"] for k in knobs) + ".")[:500],
    }
    return model_class(core, knobs, text, float(effect.sample_rate))


def save_neutone(effect: Any, path: str | Path, *, name: str, card_folder: str | Path | None = None) -> dict[str, Any]:
    """Build, script and save the Neutone model as one ``.nm`` file at ``path``; returns its metadata."""
    import json
    import logging
    import shutil
    import tempfile

    sdk = import_neutone_sdk()
    model = build_neutone_model(effect, name=name, card_folder=card_folder)
    logging.getLogger("neutone_sdk").setLevel(logging.WARNING)
    for logger in ("neutone_sdk.utils", "neutone_sdk.metadata", "neutone_sdk.core",
                   "neutone_sdk.wavform_to_wavform", "neutone_sdk.sqw"):
        logging.getLogger(logger).setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp, offline_links(sys.modules["neutone_sdk.metadata"]):
        sdk.utils.save_neutone_model(model, Path(tmp), dump_samples=False, submission=False, speed_benchmark=False,
                                     test_offline_mode=False)
        shutil.copyfile(Path(tmp) / "model.nm", path)
        meta = json.loads((Path(tmp) / "metadata.json").read_text())
    return meta
