"""SynthModel (encoder + voice) and LSTMSynth: controls, a short fit, the log-mel front end (the contract: test_contract.py)."""

from __future__ import annotations

import pytest
import torch

from zoo.effects.synth import LSTMSynth, SynthModel, SynthVoice
from zoo.models.encoders import LogMelCNNEncoder, LogMelSpectrogram, mel_filterbank, mel_to_hz

SR = 48000.0
SMALL = {"encoder_width": 16, "encoder_layers": 2}


def _batch(num_samples=2048, batch=2, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return {
        "target": 0.3 * torch.randn(batch, 1, num_samples, generator=gen),
        "f0_hz": torch.tensor([55.0, 110.0, 73.4, 98.0][:batch]),
        "note_on_samples": torch.tensor([1500, 4000, 900, 2000][:batch]),
    }


def test_encoder_frames_and_size_match_the_paper():
    enc = LogMelCNNEncoder(SR, ("osc_mix", "env_exponent", "osc_gain", "dist_gain", "q", "phase_rad"), 1)
    n_params = sum(p.numel() for p in enc.parameters())
    assert 650_000 < n_params < 800_000  # paper: about 730K
    out = enc(torch.randn(1, 1, 6000))
    assert out["frames"].shape == (1, 188, 1)  # n_fft 1024, hop 32: 188 frames for a 6000-sample note
    assert set(out["globals"]) == {"osc_mix", "env_exponent", "osc_gain", "dist_gain", "q", "phase_rad"}
    assert out["globals"]["q"].shape == (1,)
    enc2d = LogMelCNNEncoder(SR, ("a",), 5, conv_dim=2, width=8, n_layers=3)
    assert enc2d(torch.randn(2, 1, 6000))["frames"].shape == (2, 188, 5)


def test_mel_filterbank_peaks_where_the_tone_is():
    fb = mel_filterbank(1024, 128, SR, dtype=torch.float64)
    assert fb.shape == (513, 128) and float(fb.max()) <= 1.0 + 1e-12 and float(fb.min()) >= 0.0
    mel = LogMelSpectrogram(SR, 1024, 32, 128).double()
    t = torch.arange(6000, dtype=torch.float64) / SR
    spec = mel(torch.sin(2 * torch.pi * 3000.0 * t)[None])
    band = int(spec[0, :, 90].argmax())
    edges = mel_to_hz(torch.linspace(0, 2595 * torch.log10(torch.tensor(1 + 24000 / 700.0)).item(), 130))
    assert edges[band] < 3000.0 < edges[band + 2]


@pytest.mark.parametrize("filter_type", ["lp", "coeff"])
@pytest.mark.parametrize("method", ["td", "fs"])
def test_model_output_range_controls_and_encoder_gradients(filter_type, method):
    """Synth-specific (the shared contract is tests/effects/test_contract.py)."""
    torch.manual_seed(0)
    model = SynthModel(SR, method, filter_type, n_win=256, **SMALL)
    batch = _batch()
    y = model.forward_batch(batch)
    assert float(y.detach().abs().max()) <= 1.0
    (y - batch["target"]).square().mean().backward()
    assert sum(float(p.grad.abs().sum()) for p in model.encoder.frame_head.parameters()) > 0
    learned = model.learned_parameters()
    assert set(learned) >= {"osc_mix", "env_exponent", "osc_gain", "dist_gain", "phase_rad"}
    assert 0.01 <= learned["dist_gain"] <= 4.0
    curves = model.control_curves(batch)
    if filter_type == "lp":
        time_s, cutoff = curves["cutoff_hz"]
        assert cutoff.shape == time_s.shape == (2048 // 32 + 1,)
        assert float(cutoff.min()) >= 100.0 and float(cutoff.max()) <= 8000.0
    else:
        radius = curves["pole_radius"][1]
        assert float(radius.max()) < 1.0 and curves["pole_freq_hz"][1].shape == radius.shape


def test_method_switch_after_training_and_bad_arguments():
    model = SynthModel(SR, "fs", "coeff", n_win=128, **SMALL)
    batch = _batch(1024, 1)
    model.method = "td"
    assert model.forward_batch(batch).shape == (1, 1, 1024)
    with pytest.raises(ValueError, match="method"):
        model.method = "lstm"
    with pytest.raises(ValueError, match="filter_type"):
        SynthModel(SR, "td", "allpass", **SMALL)
    with pytest.raises(ValueError, match="target"):
        model(torch.zeros(1, 2, 1024), batch["f0_hz"], batch["note_on_samples"])
    with pytest.raises(ValueError, match="f0_hz"):
        model(batch["target"], torch.tensor([1.0, 2.0]), batch["note_on_samples"])
    assert SynthModel(SR, "td", "lp", **SMALL).learned_parameters()["q"] == pytest.approx(2.0, rel=1e-5)


def test_lstm_baseline_size_curves_and_methods():
    """LSTM-specific (the shared contract is tests/effects/test_contract.py)."""
    torch.manual_seed(0)
    model = LSTMSynth(SR, **SMALL)
    assert model.lstm.lstm.hidden_size == 64
    batch = _batch(512)
    assert set(model.control_curves(batch)) == {"mod_1", "mod_2"}
    with pytest.raises(ValueError, match="method"):
        LSTMSynth(SR, "fs")


def test_short_fit_lowers_the_multi_resolution_stft_loss():
    auraloss = pytest.importorskip("auraloss")
    torch.manual_seed(0)
    num_samples = 4096
    f0 = torch.tensor([55.0, 110.0])
    n_on = torch.tensor([3000, 3500])
    teacher = SynthVoice(SR, "lp", osc_mix=0.8, env_exponent=2.0, osc_gain=0.9, dist_gain=3.0, q=5.0)
    ramp = torch.linspace(1.5, -1.5, 129)
    with torch.no_grad():
        target = teacher(f0, n_on, num_samples, torch.stack([ramp, ramp - 0.5]).unsqueeze(-1)).unsqueeze(1)
    model = SynthModel(SR, "td", "lp", encoder_width=32, encoder_layers=3)
    mss = auraloss.freq.MultiResolutionSTFTLoss(fft_sizes=[256, 1024], hop_sizes=[64, 256], win_lengths=[256, 1024])
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(15):
        opt.zero_grad()
        loss = mss(model(target, f0, n_on), target)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        opt.step()
        losses.append(float(loss.detach()))
    assert min(losses[-5:]) < 0.8 * losses[0], losses
