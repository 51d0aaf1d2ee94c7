"""Losses: pre-emphasis against scipy, auraloss wrappers against their formulas, CompositeLoss."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("auraloss")
scipy_signal = pytest.importorskip("scipy.signal")

from zoo.lightning.losses import CompositeLoss, DCLoss, ESRLoss, L1Loss, MRSTFTLoss, PreEmphasis  # noqa: E402


@pytest.mark.parametrize("kind,b,a", [("highpass", [1.0, -0.85], [1.0]), ("compressor", [1.0, -1.0], [1.0, -0.995])])
def test_pre_emphasis_matches_scipy(kind, b, a):
    x = torch.randn(2, 1, 300, dtype=torch.float64)
    expected = scipy_signal.lfilter(b, a, x.numpy(), axis=-1)
    torch.testing.assert_close(PreEmphasis(kind)(x), torch.from_numpy(expected))


def test_pre_emphasis_errors_name_the_argument():
    with pytest.raises(ValueError, match="`pre_emphasis`"):
        PreEmphasis("lowpass")
    with pytest.raises(ValueError, match="`pre_emphasis_coef`"):
        PreEmphasis("highpass", 1.5)


def test_esr_dc_l1_formulas():
    y = torch.randn(3, 2, 400, dtype=torch.float64)
    p = y + 0.1 * torch.randn_like(y)
    esr = (((y - p) ** 2).sum(-1) / ((y**2).sum(-1) + 1e-8)).mean()
    dc = (((y - p).mean(-1) ** 2) / ((y**2).mean(-1) + 1e-8)).mean()
    torch.testing.assert_close(ESRLoss()(p, y), esr)
    torch.testing.assert_close(DCLoss()(p, y), dc)
    torch.testing.assert_close(L1Loss()(p, y), (y - p).abs().mean())
    assert float(ESRLoss()(y, y)) == 0.0
    with pytest.raises(ValueError, match="`prediction`"):
        ESRLoss()(p[..., :10], y)


def test_composite_is_the_weighted_sum_and_has_no_state():
    y = torch.randn(2, 1, 2048)
    p = torch.randn(2, 1, 2048, requires_grad=True)
    terms = [ESRLoss(), L1Loss(pre_emphasis="compressor"), MRSTFTLoss(pre_emphasis="highpass"), ESRLoss()]
    loss = CompositeLoss(terms, [1.0, 2.0, 0.5, 0.1])
    assert loss.names == ["esr", "l1", "mrstft", "esr2"]
    parts = loss.components(p, y)
    expected = parts["esr"] + 2 * parts["l1"] + 0.5 * parts["mrstft"] + 0.1 * parts["esr2"]
    torch.testing.assert_close(parts["loss"], expected)
    loss(p, y).backward()
    assert p.grad is not None and torch.isfinite(p.grad).all()
    assert loss.state_dict() == {} and not list(loss.parameters())
    with pytest.raises(ValueError, match="`weights`"):
        CompositeLoss([ESRLoss()], [1.0, 2.0])
    with pytest.raises(ValueError, match="`losses`"):
        CompositeLoss([])


def test_mrstft_runs_in_float64():
    y = torch.randn(1, 1, 4096, dtype=torch.float64)
    assert MRSTFTLoss()(y * 0.5, y).dtype == torch.float64
