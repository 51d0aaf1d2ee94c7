"""Compressor (zoo.effects.compressors): forward correctness against a float64 loop, torchcomp, FS, API."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from zoo.effects.compressors import (
    Compressor,
    attack_release_smoother,
    coef_to_ms,
    compressor,
    gain_computer,
    ms_to_coef,
    one_pole_fs,
)

SR = 16000


def bursts(shape, seconds: float, seed: int = 0, dtype=torch.float64, seg_s: float = 0.02) -> torch.Tensor:
    """Tones and noise bursts with a random level per segment, (*shape, T)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    rows = int(np.prod(shape))
    out = np.zeros((rows, n))
    t = np.arange(n) / SR
    seg = max(1, int(seg_s * SR))
    for r in range(rows):
        for k in range(0, n, seg):
            amp = 10 ** (rng.uniform(-40, 0) / 20)
            sl = slice(k, min(k + seg, n))
            if rng.random() < 0.5:
                out[r, sl] = amp * math.sqrt(2) * np.sin(2 * np.pi * rng.uniform(100, 2000) * t[sl])
            else:
                out[r, sl] = amp * rng.standard_normal(sl.stop - sl.start)
    return torch.tensor(out.reshape(*shape, n), dtype=dtype)


def oracle(x, sr, threshold_db, ratio, attack_ms, release_ms, rms_coef, makeup_gain_db, *, knee_db=0.0,
           expander_threshold_db=None, expander_ratio=0.5, limiter_threshold_db=None, link=False,
           zi=(0.0, 1.0), eps=1e-10):
    """The whole compressor, sample by sample in float64 (x: (C, T) if link else (T,)). Returns y, mask."""
    x = np.asarray(x, dtype=np.float64)
    at = 1 - math.exp(-2.2 / (sr * attack_ms / 1000))
    rt = 1 - math.exp(-2.2 / (sr * release_ms / 1000))
    n_time = x.shape[-1]
    y = np.zeros_like(x)
    mask = np.zeros(n_time, dtype=bool)
    x_rms, g_hat = zi
    for n in range(n_time):
        p = np.mean(x[:, n] ** 2) if link else x[n] ** 2
        x_rms = rms_coef * p + (1 - rms_coef) * x_rms
        level = 10 * math.log10(max(x_rms, eps))
        over = level - threshold_db
        slope = 1 / ratio - 1
        if knee_db > 0 and abs(over) <= knee_db / 2:
            gdb = slope * (over + knee_db / 2) ** 2 / (2 * knee_db)
        else:
            gdb = min(0.0, slope * over)
        if expander_threshold_db is not None:
            gdb = min(gdb, (1 - 1 / expander_ratio) * (expander_threshold_db - level))
        if limiter_threshold_db is not None:
            gdb = min(gdb, limiter_threshold_db - level)
        g = 10 ** (gdb / 20)
        attack = g < g_hat
        mask[n] = attack
        alpha = at if attack else rt
        g_hat = alpha * g + (1 - alpha) * g_hat
        y[..., n] = x[..., n] * g_hat * 10 ** (makeup_gain_db / 20)
    return y, mask


SETTINGS = [
    dict(threshold_db=-20.0, ratio=4.0, attack_ms=5.0, release_ms=100.0, rms_coef=0.3, makeup_gain_db=3.0),
    dict(threshold_db=-30.0, ratio=8.0, attack_ms=0.1, release_ms=200.0, rms_coef=0.03, makeup_gain_db=0.0,
         knee_db=6.0),
    dict(threshold_db=-15.0, ratio=2.0, attack_ms=30.0, release_ms=30.0, rms_coef=0.1, makeup_gain_db=-2.0,
         expander_threshold_db=-35.0, expander_ratio=0.5, limiter_threshold_db=-18.0),
]


@pytest.mark.parametrize("setting", SETTINGS)
@pytest.mark.parametrize("link", [False, True])
def test_matches_float64_loop(setting, link):
    x = bursts((2, 2), 0.15, seed=1)
    opts = {k: v for k, v in setting.items() if k in ("knee_db", "expander_threshold_db", "expander_ratio",
                                                       "limiter_threshold_db")}
    main = [setting[k] for k in ("threshold_db", "ratio", "attack_ms", "release_ms", "rms_coef", "makeup_gain_db")]
    y = compressor(x, SR, *main, link_channels=link, **opts)
    for b in range(2):
        if link:
            ref, _ = oracle(x[b].numpy(), SR, *main, link=True, **opts)
            np.testing.assert_allclose(y[b].numpy(), ref, rtol=1e-10, atol=1e-12)
        else:
            for c in range(2):
                ref, _ = oracle(x[b, c].numpy(), SR, *main, **opts)
                np.testing.assert_allclose(y[b, c].numpy(), ref, rtol=1e-10, atol=1e-12)


def test_float32_close_to_float64():
    x = bursts((2, 2), 0.2, seed=2)
    y64 = compressor(x, SR, -20.0, 4.0, 5.0, 100.0, 0.3, 0.0)
    y32 = compressor(x.float(), SR, -20.0, 4.0, 5.0, 100.0, 0.3, 0.0)
    assert y32.dtype == torch.float32
    torch.testing.assert_close(y32.double(), y64, rtol=1e-4, atol=1e-5)


def test_attack_mask_matches_loop():
    x = bursts((3,), 0.1, seed=3)
    at, rt = ms_to_coef(5.0, SR), ms_to_coef(100.0, SR)
    for row in x:
        _, ref_mask = oracle(row.numpy(), SR, -20.0, 4.0, 5.0, 100.0, 0.3, 0.0)
        x_rms = torch.tensor(0.0, dtype=torch.float64)
        level = []
        for v in row:  # independent detector + gain for this check
            x_rms = 0.3 * v**2 + 0.7 * x_rms
            level.append(10 * torch.log10(torch.clamp(x_rms, min=1e-10)))
        g = 10 ** (gain_computer(torch.stack(level), -20.0, 4.0) / 20)
        _, mask = attack_release_smoother(g, at, rt, return_mask=True)
        assert mask.dtype == torch.bool
        np.testing.assert_array_equal(mask.numpy(), ref_mask)
        assert 0 < ref_mask.sum() < ref_mask.size  # both branches are exercised


def test_smoother_mask_definition():
    g = torch.tensor([[1.0, 0.5, 0.5, 0.9, 1.0, 0.2]], dtype=torch.float64)
    y, mask = attack_release_smoother(g, 0.5, 0.25, return_mask=True)
    prev = torch.cat([torch.ones(1, 1, dtype=g.dtype), y[:, :-1]], dim=-1)
    torch.testing.assert_close(mask, g < prev)
    coef = torch.where(mask, 0.5, 0.25)
    torch.testing.assert_close(y, coef * g + (1 - coef) * prev)


def test_per_batch_parameters_match_separate_calls():
    x = bursts((3, 2), 0.1, seed=4)
    thr = torch.tensor([-10.0, -20.0, -30.0], dtype=torch.float64)
    ratio = torch.tensor([2.0, 4.0, 8.0], dtype=torch.float64)
    att = torch.tensor([1.0, 5.0, 20.0], dtype=torch.float64)
    y = compressor(x, SR, thr, ratio, att, 50.0, 0.3, 1.0, link_channels=True)
    for b in range(3):
        yb = compressor(x[b : b + 1], SR, float(thr[b]), float(ratio[b]), float(att[b]), 50.0, 0.3, 1.0,
                        link_channels=True)
        torch.testing.assert_close(y[b : b + 1], yb)


@pytest.mark.parametrize("method", ["td", "fs"])
def test_streaming_blocks_equal_one_pass(method):
    x = bursts((2, 2), 0.1, seed=5)
    args = (SR, -20.0, 4.0, 5.0, 100.0, 0.3, 0.0)
    full, zf_full = compressor(x, *args, method=method, return_zf=True, link_channels=True)
    a, zf = compressor(x[..., :700], *args, method=method, return_zf=True, link_channels=True)
    b, zf2 = compressor(x[..., 700:], *args, zf, method=method, return_zf=True, link_channels=True)
    tol = dict(rtol=1e-10, atol=1e-12) if method == "td" else dict(rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(torch.cat([a, b], -1), full, **tol)
    torch.testing.assert_close(zf2, zf_full, **tol)


def test_default_state_is_unity_gain():
    x = bursts((1, 1), 0.05, seed=6)
    zi = torch.tensor([[0.0, 1.0]], dtype=torch.float64)
    torch.testing.assert_close(compressor(x, SR, zi=zi, link_channels=True), compressor(x, SR, link_channels=True))


def test_td_and_fs_agree_when_attack_equals_release():
    # Equal attack and release make the smoother a time-invariant one-pole; the FS twin then differs
    # only by the circular wrap of the sampled IIR, ~(1 - alpha)^T (tiny for T >> the time constant).
    x = bursts((2, 2), 1.0, seed=7, seg_s=0.1)
    args = (SR, -20.0, 4.0, 20.0, 20.0, 0.3, 0.0)
    td = compressor(x, *args, link_channels=True)
    fs = compressor(x, *args, method="fs", link_channels=True)
    torch.testing.assert_close(fs, td, rtol=1e-9, atol=1e-10)
    # float32 input: FS still runs its FFT in float64
    fs32 = compressor(x.float(), *args, method="fs", link_channels=True)
    torch.testing.assert_close(fs32.double(), td, rtol=1e-5, atol=1e-6)


def test_fs_uses_mean_coefficient():
    x = bursts((1, 1), 0.5, seed=8, seg_s=0.1)
    at, rt = ms_to_coef(5.0, SR), ms_to_coef(100.0, SR)
    mean_ms = coef_to_ms((at + rt) / 2, SR)
    fs = compressor(x, SR, -20.0, 4.0, 5.0, 100.0, method="fs")
    td = compressor(x, SR, -20.0, 4.0, mean_ms, mean_ms)
    torch.testing.assert_close(fs, td, rtol=1e-8, atol=1e-9)


def test_one_pole_fs_matches_recursion_with_state():
    g = torch.rand(2, 3, 4000, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    coef = torch.tensor([[0.01], [0.05]], dtype=torch.float64)
    zi = torch.rand(2, 3, dtype=torch.float64)
    ref = attack_release_smoother(g, coef, coef, zi)
    torch.testing.assert_close(one_pole_fs(g, coef, zi), ref, rtol=1e-10, atol=1e-12)


def test_against_torchcomp():
    torchcomp = pytest.importorskip("torchcomp")
    x = bursts((3,), 0.2, seed=9)
    x[:, 0] = 0.1  # torchcomp asserts x_rms > 0 everywhere
    thr = torch.tensor([-20.0, -25.0, -15.0], dtype=torch.float64)
    ratio = torch.tensor([4.0, 3.0, 8.0], dtype=torch.float64)
    at = torch.tensor([5.0, 1.0, 30.0], dtype=torch.float64)
    rt = torch.tensor([100.0, 100.0, 30.0], dtype=torch.float64)
    rms_coef, makeup_db = 0.03, 2.0
    for expander in (None, -40.0):
        ours = compressor(x, SR, thr, ratio, at, rt, rms_coef, makeup_db, expander_threshold_db=expander,
                          expander_ratio=0.5)
        # the authors' path (DiffAPF/LA-2A): compexp_gain takes the RMS *amplitude*, sqrt of the mean power
        x_rms = torchcomp.avg(x.square(), rms_coef).sqrt()
        gain = torchcomp.compexp_gain(
            x_rms, thr, ratio, -1000.0 if expander is None else expander, 0.5,
            ms_to_coef(at, SR), ms_to_coef(rt, SR),
        )
        theirs = x * gain * 10 ** (makeup_db / 20)
        torch.testing.assert_close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_gradients_match_torchcomp():
    torchcomp = pytest.importorskip("torchcomp")
    x = bursts((2,), 0.1, seed=10)
    x[:, 0] = 0.1  # torchcomp asserts x_rms > 0 everywhere

    def leaves():
        return [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in ([-20.0, -25.0], [4.0, 3.0],
                                                                                  [0.01, 0.05], [0.001, 0.002])]

    thr, ratio, at, rt = leaves()
    ours = compressor(x, SR, thr, ratio, coef_to_ms(at, SR), coef_to_ms(rt, SR), 0.3, 0.0)
    ours.square().sum().backward()
    thr2, ratio2, at2, rt2 = leaves()
    gain = torchcomp.compexp_gain(torchcomp.avg(x.square(), 0.3).sqrt(), thr2, ratio2, -1000.0, 0.5, at2, rt2)
    (x * gain).square().sum().backward()
    for mine, theirs in ((thr, thr2), (ratio, ratio2), (at, at2), (rt, rt2)):
        torch.testing.assert_close(mine.grad, theirs.grad, rtol=1e-7, atol=1e-10)


# ------------------------------------------------------------------------------------------- API
def test_ms_coef_round_trip():
    for ms in (0.1, 1.0, 5.0, 50.0, 1000.0):
        c = ms_to_coef(ms, 44100)
        assert 0 < c < 1
        assert coef_to_ms(c, 44100) == pytest.approx(ms, rel=1e-12)
    t = torch.tensor([1.0, 50.0], dtype=torch.float64)
    torch.testing.assert_close(coef_to_ms(ms_to_coef(t, 48000), 48000), t)
    # alpha = 1 - exp(-2.2 / (Fs t))
    assert ms_to_coef(50.0, 44100) == pytest.approx(1 - math.exp(-2.2 / (44100 * 0.05)))


def test_gain_computer_curve():
    level = torch.linspace(-60, 0, 61, dtype=torch.float64)
    g = gain_computer(level, -20.0, 4.0)
    expected = torch.where(level > -20, (1 / 4 - 1) * (level + 20), torch.zeros_like(level))
    torch.testing.assert_close(g, expected)
    # the soft knee lies under the hard curve (convex), joins it at CT +- W/2, and is continuous
    soft = gain_computer(level, -20.0, 4.0, knee_db=10.0)
    assert torch.all(soft <= g + 1e-12)
    edges = gain_computer(torch.tensor([-25.0, -15.0], dtype=torch.float64), -20.0, 4.0, knee_db=10.0)
    torch.testing.assert_close(edges, torch.tensor([0.0, -0.75 * 5], dtype=torch.float64))
    assert soft.diff().abs().max() <= 0.75 + 1e-12
    assert torch.allclose(soft[(level - -20).abs() > 5], g[(level - -20).abs() > 5])
    # limiter caps the output level
    lim = gain_computer(level, -20.0, 2.0, limiter_threshold_db=-10.0)
    assert torch.all(level + lim <= -10.0 + 1e-12)
    # infinite ratio: output level pinned at the threshold
    inf = gain_computer(level, -20.0, math.inf)
    assert torch.allclose((level + inf)[level > -20], torch.full_like(level[level > -20], -20.0))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(ratio=0.5), "`ratio`: expected >= 1, found 0.5"),
        (dict(attack_ms=0.0), "`attack_ms`: expected > 0"),
        (dict(release_ms=-1.0), "`release_ms`: expected > 0"),
        (dict(rms_coef=1.5), "`rms_coef`: expected in \\(0, 1\\]"),
        (dict(knee_db=-1.0), "`knee_db`"),
        (dict(expander_ratio=2.0), "`expander_ratio`"),
        (dict(method="stft"), "`method`"),
        (dict(threshold_db=torch.zeros(3)), "Unexpected shape for `threshold_db`"),
        (dict(zi=torch.zeros(2, 3)), "Unexpected shape for `zi`"),
    ],
)
def test_errors_name_the_argument(kwargs, match):
    x = torch.zeros(2, 100)
    with pytest.raises(ValueError, match=match):
        compressor(x, SR, **kwargs)


def test_type_errors_and_validate():
    with pytest.raises(TypeError, match="`x`"):
        compressor(np.zeros(10), SR)
    with pytest.raises(TypeError, match="`x`"):
        compressor(torch.zeros(10, dtype=torch.long), SR)
    with pytest.raises(ValueError, match="`sample_rate`"):
        compressor(torch.zeros(10), 0)
    with pytest.raises(ValueError, match="`x`"):
        compressor(torch.zeros(10), SR, link_channels=True)
    bad = torch.tensor([2.0, 0.5])
    compressor(torch.zeros(2, 10), SR, ratio=bad)  # tensors unchecked by default (no sync)
    with pytest.raises(ValueError, match="`ratio`: expected >= 1, found 0.5"):
        compressor(torch.zeros(2, 10), SR, ratio=bad, validate=True)


@settings(max_examples=15, deadline=None)
@given(lead=st.lists(st.integers(1, 3), min_size=0, max_size=3), n_time=st.integers(1, 40), link=st.booleans())
def test_shapes(lead, n_time, link):
    if link and not lead:
        lead = [1]
    x = torch.randn(*lead, n_time, dtype=torch.float64)
    y, zf = compressor(x, SR, -20.0, 4.0, 1.0, 10.0, link_channels=link, return_zf=True)
    assert y.shape == x.shape
    assert zf.shape == (*(lead[:-1] if link else lead), 2)
    assert torch.isfinite(y).all()


def test_module_forward_batch_and_errors():
    """Compressor-specific (the shared contract is tests/effects/test_contract.py)."""
    for method in ("td", "fs"):
        m = Compressor(SR, method).double()
        x = 0.3 * torch.randn(2, 2, 800, dtype=torch.float64)
        torch.testing.assert_close(m.forward_batch({"input": x, "target": x}), m(x))
    with pytest.raises(ValueError, match="`method`"):
        m.method = "stft"
    with pytest.raises(ValueError, match="`x`"):
        m(torch.zeros(2, 100, dtype=torch.float64))


def test_module_links_channels():
    x = bursts((2, 2), 0.1, seed=11)
    m = Compressor.from_physical(SR, -20.0, 4.0, 5.0, 100.0, 0.3, 1.5).double()
    ref = compressor(x, SR, -20.0, 4.0, 5.0, 100.0, 0.3, 1.5, link_channels=True)
    torch.testing.assert_close(m(x), ref, rtol=1e-6, atol=1e-9)  # parameters were stored in float32
    # one gain for both channels
    ratio = (m(x) / x)[..., 1:]  # x[..., 0] = 0 (sine onsets)
    torch.testing.assert_close(ratio[:, 0], ratio[:, 1])


def test_module_parameters_and_curves():
    m = Compressor(44100)
    p = m.learned_parameters()
    assert p == pytest.approx(dict(threshold_db=-10.0, ratio=2.0, attack_ms=50.0, release_ms=50.0, rms_coef=0.3,
                                   makeup_gain_db=0.0), rel=1e-5, abs=1e-6)
    t = Compressor.from_physical(44100, -20.0, 4.0, 5.0, 100.0, rms_ms=1.0, makeup_gain_db=2.0)
    assert not any(q.requires_grad for q in t.parameters()) and not t.training
    p = t.learned_parameters()
    assert p["ratio"] == pytest.approx(4.0, rel=1e-5)
    assert p["attack_ms"] == pytest.approx(5.0, rel=1e-4)
    assert p["release_ms"] == pytest.approx(100.0, rel=1e-4)
    assert p["rms_coef"] == pytest.approx(ms_to_coef(1.0, 44100), rel=1e-5)
    curves = t.control_curves()
    x_db, y_db = curves["static_curve"]
    assert x_db.shape == y_db.shape and x_db.dim() == 1
    below = x_db < -20
    torch.testing.assert_close(y_db[below], x_db[below] + 2.0)
    assert y_db[-1] == pytest.approx(-20 + 20 / 4 + 2.0, abs=1e-4)
    x = 0.5 * torch.ones(2, 2, 800)  # -6 dB: 14 dB over the threshold
    curves = t.control_curves({"input": x})
    t_s, gr_db = curves["gain_reduction"]
    assert t_s.shape == gr_db.shape == (x.shape[-1],)
    assert torch.all(gr_db <= 1e-5) and gr_db.min() < -1.0
    with pytest.raises(ValueError, match="`ratio`"):
        Compressor(SR, ratio=1.0)
    with pytest.raises(ValueError, match="`rms_coef`"):
        Compressor.from_physical(SR, -20.0, 4.0, 5.0, 100.0, rms_coef=0.3, rms_ms=1.0)
