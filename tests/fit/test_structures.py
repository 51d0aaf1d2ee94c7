"""The device structures added to Phaser and Compressor: exact kernels, streaming, defaults unchanged."""

from __future__ import annotations

import math

import pytest
import torch

from zoo.effects.compressors import Compressor
from zoo.effects.phasers import Phaser, allpass_chain


def _loop(x, c, g2, zi, form, delay):
    """The obviously-correct sample loop (float64) for `allpass_chain`."""
    n_rows, n_time, k = c.shape
    ys, zfs = [], []
    for r in range(n_rows):
        st = list(zi[r])
        out = []
        for n in range(n_time):
            a, b = [], []
            for j in range(k):
                cj = c[r, n, j]
                if form == "df1":
                    a.append(cj)
                    b.append(cj * st[j + 1] - st[j])
                else:
                    a.append(2 * cj - 1)
                    b.append(2 * st[j + 1] * (1 - cj))
            if delay:
                u = x[r, n] + g2[r] * (st[k] if form == "df1" else st[0])
            else:
                big_p, big_c = 1.0, 0.0
                for j in range(k):
                    big_p, big_c = big_p * a[j], a[j] * big_c + b[j]
                u = (x[r, n] + g2[r] * big_c) / (1 - g2[r] * big_p)
            t, new = u, [None] * (k + 1)
            for j in range(k):
                t_in, t = t, a[j] * t + b[j]
                new[j + 1] = t if form == "df1" else st[j + 1] + 2 * c[r, n, j] * (t_in - st[j + 1])
            new[0] = u if form == "df1" else t
            st = new
            out.append(t)
        ys.append(torch.stack(out))
        zfs.append(torch.stack(st))
    return torch.stack(ys), torch.stack(zfs)


@pytest.mark.parametrize("form", ["df1", "tpt"])
@pytest.mark.parametrize("delay", [0, 1])
def test_allpass_chain_matches_loop_and_gradcheck(form, delay):
    torch.manual_seed(0)
    x = torch.randn(2, 25, dtype=torch.float64, requires_grad=True)
    c = (torch.rand(2, 25, 3, dtype=torch.float64) * 0.9 + 0.05).requires_grad_()
    g2 = (torch.rand(2, dtype=torch.float64) * 1.6 - 0.8).requires_grad_()
    zi = torch.randn(2, 4, dtype=torch.float64, requires_grad=True)
    y, zf = allpass_chain(x, c, g2, zi, form=form, feedback_delay=delay, return_zf=True)
    y_ref, zf_ref = _loop(x, c, g2, zi, form, delay)
    torch.testing.assert_close(y, y_ref)
    torch.testing.assert_close(zf, zf_ref)
    fn = lambda *a: allpass_chain(*a, form=form, feedback_delay=delay, return_zf=True)  # noqa: E731
    assert torch.autograd.gradcheck(fn, (x, c, g2, zi))


def test_defaults_are_the_papers():
    phaser, compressor = Phaser(44100), Compressor(44100)
    assert phaser.paper_structure and compressor.paper_structure
    assert phaser.init_args["feedback_delay"] == 0 and phaser.init_args["lfo"] == "mlp"
    assert compressor.init_args["detector"] == "rms" and compressor.init_args["smoothing"] == "gain"


@pytest.mark.parametrize("kwargs", [
    dict(lfo="sweep", feedback_delay=1, stage_form="tpt", signed_feedback=True, g2=-0.4, num_stages=6),
    dict(lfo="sweep", stage_maps=True, num_stages=8, lfo_shape=1.0),
    dict(feedback_delay=1),  # the paper's MLP LFO with a one-sample feedback delay
])
def test_phaser_device_streams_like_one_pass(kwargs):
    torch.manual_seed(1)
    model = Phaser(16000, lfo_rate_hz=2.0, **kwargs).double()
    x = torch.randn(1, 1, 5000, dtype=torch.float64)
    with torch.no_grad():
        whole = model(x)
        model.reset_stream()
        parts = torch.cat([model.stream(x[..., i:i + 777]) for i in range(0, 5000, 777)], dim=-1)
        shifted = model.forward_batch({"input": x[..., 3000:], "offset": torch.tensor([3000])})
    torch.testing.assert_close(parts, whole)
    assert torch.isfinite(shifted).all() and not model.paper_structure


@pytest.mark.parametrize("structure", [
    dict(detector="peak", smoothing="level", topology="feedforward"),
    dict(detector="rms", smoothing="level", topology="feedback", knee_db=6.0),
    dict(detector="peak", smoothing="gain", topology="feedback"),
])
def test_compressor_device_streams_like_one_pass_and_has_gradients(structure):
    torch.manual_seed(2)
    model = Compressor(16000, threshold_db=-20.0, ratio=4.0, attack_ms=2.0, release_ms=50.0, **structure).double()
    x = 0.5 * torch.randn(1, 2, 4000, dtype=torch.float64)
    with torch.no_grad():
        whole = model(x)
        model.reset_stream()
        parts = torch.cat([model.stream(x[..., i:i + 999]) for i in range(0, 4000, 999)], dim=-1)
    torch.testing.assert_close(parts, whole)
    model(x).square().mean().backward()
    assert model.threshold_db.grad is not None and float(model.threshold_db.grad.abs()) > 0


def test_compressor_peak_level_matches_a_sample_loop():
    model = Compressor(8000, threshold_db=-12.0, ratio=5.0, attack_ms=1.0, release_ms=30.0, detector="peak",
                       smoothing="level").double()
    x = 0.8 * torch.sin(torch.linspace(0, 300, 3000, dtype=torch.float64)) * torch.linspace(0, 1, 3000, dtype=torch.float64)
    with torch.no_grad():
        y = model(x[None, None])[0, 0]
    at, rt = float(model.attack_coef), float(model.release_coef)
    env, ref = 0.0, []
    for v in x.tolist():
        e = abs(v)
        env += (at if e > env else rt) * (e - env)
        level_db = 20 * math.log10(max(env, 1e-10))
        ref.append(v * 10 ** (min(0.0, (1 / 5.0 - 1) * (level_db + 12.0)) / 20))
    torch.testing.assert_close(y, torch.tensor(ref, dtype=torch.float64))
