"""Encoders that predict synth controls from audio, and the LSTM black-box baseline.

* `mel_filterbank`, `LogMelSpectrogram`: a log-mel front end written in torch (no torchaudio).
* `LogMelCNNEncoder`: the paper's encoder (Yu et al., DAFx 2024, Sec. 4.2): a CNN with dilated
  convolutions on the log-mel spectrogram (n_fft 1024, 128 mels, hop 32), MLP heads on the
  time-averaged latent for the global parameters, and a per-frame linear head for the frame-rate
  controls. All outputs are unconstrained; the synth maps them to physical ranges.
* `LSTMBaseline`: LSTM-64, a recurrent network that maps the dry source sample by sample (plus
  frame-rate conditioning interpolated to audio rate) to the filtered signal; no filter structure.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional as F

__all__ = ["hz_to_mel", "mel_to_hz", "mel_filterbank", "LogMelSpectrogram", "LogMelCNNEncoder", "LSTMBaseline"]


def hz_to_mel(freq_hz: Tensor) -> Tensor:
    r"""HTK mel scale: :math:`m = 2595 \log_{10}(1 + f / 700)`."""
    return 2595.0 * torch.log10(1.0 + freq_hz / 700.0)


def mel_to_hz(mel: Tensor) -> Tensor:
    r"""Inverse HTK mel scale: :math:`f = 700 (10^{m / 2595} - 1)` (Hz)."""
    return 700.0 * (torch.pow(10.0, mel / 2595.0) - 1.0)


def mel_filterbank(
    n_fft: int,
    n_mels: int,
    sample_rate: float,
    f_min_hz: float = 0.0,
    f_max_hz: float | None = None,
    *,
    dtype: torch.dtype | None = None,
) -> Tensor:
    r"""Triangular mel filterbank on the rfft grid (HTK mel scale, unnormalised peaks of 1).

    Band j has corners at mel points m_j, m_{j+1}, m_{j+2}, equally spaced between mel(f_min) and
    mel(f_max); its weight at bin frequency f_k = k F_s / n_fft is
    max(0, min((f_k - f_j) / (f_{j+1} - f_j), (f_{j+2} - f_k) / (f_{j+2} - f_{j+1}))).
    Same as ``torchaudio.functional.melscale_fbanks(..., norm=None, mel_scale="htk")``. Written here
    because torchaudio does not import beside the torch this project pins, and librosa (``mel``,
    Slaney scale and area normalisation by default) would add a dependency for ten lines of
    arithmetic; tested against the formula above.

    Args:
        n_fft: FFT length (>= 2).
        n_mels: number of bands (>= 1).
        sample_rate: F_s (Hz).
        f_min_hz: lowest corner (Hz), default 0.
        f_max_hz: highest corner (Hz), default F_s / 2.
        dtype: default the torch default dtype.

    Returns:
        (n_fft // 2 + 1, n_mels).

    Raises:
        ValueError: non-positive sizes, or not 0 <= f_min_hz < f_max_hz <= F_s / 2.
    """
    if n_fft < 2:
        raise ValueError(f"Unexpected value for `n_fft`: expected >= 2, found {n_fft}")
    if n_mels < 1:
        raise ValueError(f"Unexpected value for `n_mels`: expected >= 1, found {n_mels}")
    f_max_hz = sample_rate / 2 if f_max_hz is None else f_max_hz
    if not 0 <= f_min_hz < f_max_hz <= sample_rate / 2:
        raise ValueError(
            f"Unexpected value for `f_min_hz`/`f_max_hz`: expected 0 <= f_min_hz < f_max_hz <= {sample_rate / 2}, "
            f"found {f_min_hz}, {f_max_hz}"
        )
    dtype = torch.get_default_dtype() if dtype is None else dtype
    freqs = torch.linspace(0, sample_rate / 2, n_fft // 2 + 1, dtype=torch.float64)
    m_pts = torch.linspace(
        float(hz_to_mel(torch.tensor(f_min_hz, dtype=torch.float64))),
        float(hz_to_mel(torch.tensor(f_max_hz, dtype=torch.float64))),
        n_mels + 2,
        dtype=torch.float64,
    )
    f_pts = mel_to_hz(m_pts)
    f_diff = f_pts[1:] - f_pts[:-1]
    slopes = f_pts.unsqueeze(0) - freqs.unsqueeze(1)  # (n_freqs, n_mels + 2)
    down = -slopes[:, :-2] / f_diff[:-1]
    up = slopes[:, 2:] / f_diff[1:]
    return torch.clamp(torch.minimum(down, up), min=0.0).to(dtype)


class LogMelSpectrogram(nn.Module):
    r"""Log-mel power spectrogram: :math:`\log(\epsilon + M |\mathrm{STFT}(x)|^2)`.

    Hann window of ``n_fft`` samples, centred frames (frame m at sample m * hop, T // hop + 1 frames),
    zero padding at both ends (a note starts from silence; reflect padding would also fail for T <= n_fft / 2).

    Args:
        sample_rate: F_s (Hz). Default 48000.
        n_fft: FFT and window length (samples). Default 1024.
        hop: samples between frames. Default 32.
        n_mels: mel bands. Default 128.
        f_min_hz: lowest band edge (Hz). Default 0.
        f_max_hz: highest band edge (Hz). Default F_s / 2.
        eps: floor inside the log. Default 1e-5.

    Shape:
        (B, T) or (B, 1, T) -> (B, n_mels, T // hop + 1).
    """

    def __init__(
        self,
        sample_rate: float = 48000.0,
        n_fft: int = 1024,
        hop: int = 32,
        n_mels: int = 128,
        f_min_hz: float = 0.0,
        f_max_hz: float | None = None,
        eps: float = 1e-5,
    ) -> None:
        super().__init__()
        if hop < 1:
            raise ValueError(f"Unexpected value for `hop`: expected >= 1, found {hop}")
        self.sample_rate = float(sample_rate)
        self.n_fft = n_fft
        self.hop = hop
        self.n_mels = n_mels
        self.eps = eps
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        self.register_buffer("fbank", mel_filterbank(n_fft, n_mels, sample_rate, f_min_hz, f_max_hz), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() == 3:
            if x.shape[1] != 1:
                raise ValueError(f"Unexpected shape for `x`: expected (B, 1, T) mono audio, found {tuple(x.shape)}")
            x = x[:, 0]
        if x.dim() != 2:
            raise ValueError(f"Unexpected shape for `x`: expected (B, T) or (B, 1, T), found {tuple(x.shape)}")
        window = self.window.to(x.dtype)
        spec = torch.stft(x, self.n_fft, self.hop, window=window, center=True, pad_mode="constant", return_complex=True)
        power = spec.real.square() + spec.imag.square()  # (B, n_freqs, F)
        mel = torch.einsum("bkf,km->bmf", power, self.fbank.to(x.dtype))
        return torch.log(mel + self.eps)


class _Residual1d(nn.Module):
    def __init__(self, width: int, kernel_size: int, dilation: int) -> None:
        super().__init__()
        self.norm = nn.GroupNorm(1, width)
        self.conv = nn.Conv1d(width, width, kernel_size, dilation=dilation, padding="same")
        self.act = nn.PReLU(width)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.act(self.conv(self.norm(x)))


class _Block2d(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, kernel_size: tuple[int, int], dilation: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch, kernel_size, dilation=(1, dilation), padding="same")
        self.pool = nn.MaxPool2d((2, 1))
        self.act = nn.PReLU(out_ch)

    def forward(self, x: Tensor) -> Tensor:
        x = F.layer_norm(x, x.shape[-2:])
        return self.act(self.pool(self.conv(x)))


class LogMelCNNEncoder(nn.Module):
    r"""Dilated CNN on the log-mel spectrogram that predicts global and frame-rate synth controls.

    latent h(m) = CNN(log-mel)(m), (B, C, F); globals g_p = MLP_p(mean_m h(m)) (one MLP per name:
    Linear(C, C/2), PReLU, Linear(C/2, 1)); frame controls c(m) = W h(m) + w0. (Yu et al. 2024,
    Sec. 4.2; the authors' code: DiffAPF/TB-303.)

    Two bodies:

    * ``conv_dim=1`` (default): mel bands are channels; a 1-D conv lifts them to ``width`` channels,
      then ``n_layers`` residual blocks (GroupNorm, Conv1d with dilation 2^i, PReLU). Width 176 and 6
      layers of kernel 3 give about 730K parameters (the paper's size) and a receptive field of
      2^(n_layers + 1) + 1 frames (129 frames, 86 ms, for 6 layers). About 20x cheaper on CPU than the 2-D body.
    * ``conv_dim=2``: the authors' 2-D body: ``n_layers`` blocks of LayerNorm over (mels, frames),
      Conv2d (5, 7) with time dilation 2^i, max-pool 2 over mels, PReLU; width 64 by default; the
      latent is the mean over the remaining mel bins.

    Args:
        sample_rate: F_s (Hz). Default 48000.
        global_names: names of the global heads (each predicts one raw value per item). Default ().
        n_frame_params: P, raw frame-rate values per frame (>= 1). Default 1.
        width: channels C; default 176 (1-D) or 64 (2-D).
        n_layers: dilated blocks; default 6 (1-D) or 5 (2-D).
        conv_dim: 1 or 2. Default 1.
        n_fft: log-mel FFT and window length (samples). Default 1024.
        hop: log-mel hop (samples), the rate of the frame controls. Default 32.
        n_mels: mel bands. Default 128.
        dropout: dropout in the global heads, default 0.

    Shape:
        forward(x: (B, 1, T) or (B, T)) -> dict with "frames" (B, F, P), F = T // hop + 1,
        "globals" {name: (B,)}, "latent" (B, F, C).

    Raises:
        ValueError: bad ``conv_dim``, ``n_frame_params``, ``width`` or ``n_layers``.
    """

    def __init__(
        self,
        sample_rate: float = 48000.0,
        global_names: Sequence[str] = (),
        n_frame_params: int = 1,
        *,
        width: int | None = None,
        n_layers: int | None = None,
        conv_dim: int = 1,
        n_fft: int = 1024,
        hop: int = 32,
        n_mels: int = 128,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if conv_dim not in (1, 2):
            raise ValueError(f"Unexpected value for `conv_dim`: expected 1 or 2, found {conv_dim}")
        if n_frame_params < 1:
            raise ValueError(f"Unexpected value for `n_frame_params`: expected >= 1, found {n_frame_params}")
        width = (176 if conv_dim == 1 else 64) if width is None else width
        n_layers = (6 if conv_dim == 1 else 5) if n_layers is None else n_layers
        if width < 2:
            raise ValueError(f"Unexpected value for `width`: expected >= 2, found {width}")
        if n_layers < 1:
            raise ValueError(f"Unexpected value for `n_layers`: expected >= 1, found {n_layers}")
        self.conv_dim = conv_dim
        self.hop = hop
        self.width = width
        self.global_names = tuple(global_names)
        self.features = LogMelSpectrogram(sample_rate, n_fft, hop, n_mels)
        if conv_dim == 1:
            self.body = nn.Sequential(
                nn.Conv1d(n_mels, width, 3, padding="same"),
                *[_Residual1d(width, 3, 2**i) for i in range(n_layers)],
                nn.GroupNorm(1, width),
            )
        else:
            if n_mels < 2**n_layers:
                raise ValueError(f"Unexpected value for `n_layers`: {n_layers} poolings need n_mels >= {2**n_layers}")
            chans = [1] + [width] * n_layers
            self.body = nn.Sequential(*[_Block2d(chans[i], chans[i + 1], (5, 7), 2**i) for i in range(n_layers)])
        self.frame_head = nn.Linear(width, n_frame_params)
        self.global_heads = nn.ModuleDict(
            {
                name: nn.Sequential(
                    nn.Linear(width, width // 2), nn.Dropout(dropout), nn.PReLU(width // 2), nn.Linear(width // 2, 1)
                )
                for name in self.global_names
            }
        )

    def forward(self, x: Tensor) -> dict:
        feats = self.features(x)  # (B, n_mels, F)
        # Per-item standardisation: the encoder sees spectral shape, not absolute level.
        feats = (feats - feats.mean(dim=(-2, -1), keepdim=True)) / (feats.std(dim=(-2, -1), keepdim=True) + 1e-5)
        if self.conv_dim == 1:
            latent = self.body(feats)  # (B, C, F)
        else:
            latent = self.body(feats.unsqueeze(1)).mean(dim=-2)  # (B, C, F)
        latent = latent.transpose(1, 2)  # (B, F, C)
        pooled = latent.mean(dim=1)
        return {
            "frames": self.frame_head(latent),
            "globals": {name: head(pooled).squeeze(-1) for name, head in self.global_heads.items()},
            "latent": latent,
        }


class LSTMBaseline(nn.Module):
    r"""LSTM-64: a black-box recurrent replacement for the voice's filter (the paper's baseline).

    .. math:: [h(n), c(n)] = \mathrm{LSTM}([s(n), u_1(n), \dots, u_P(n)], h(n-1), c(n-1)), \qquad
              v(n) = s(n) + W h(n) + w_0

    s is the dry source (oscillator x envelope x gain), u the frame-rate conditioning interpolated to
    audio rate. The residual connection starts training from the unfiltered source (the authors'
    ``AcidSynthLSTM`` in DiffAPF/TB-303 does the same, then applies the tanh distortion).

    Args:
        n_hidden: LSTM hidden size. Default 64.
        n_controls: P, conditioning signals per sample. Default 2.

    Shape:
        forward(source: (B, T), controls: (B, T, P)) -> (B, T).
    """

    def __init__(self, n_hidden: int = 64, n_controls: int = 2) -> None:
        super().__init__()
        self.n_controls = n_controls
        self.lstm = nn.LSTM(1 + n_controls, n_hidden, num_layers=1, batch_first=True)
        self.out = nn.Linear(n_hidden, 1)

    def forward(self, source: Tensor, controls: Tensor) -> Tensor:
        if controls.shape[:-1] != source.shape or controls.shape[-1] != self.n_controls:
            raise ValueError(
                f"Unexpected shape for `controls`: expected {(*source.shape, self.n_controls)}, found {tuple(controls.shape)}"
            )
        hidden, _ = self.lstm(torch.cat([source.unsqueeze(-1), controls], dim=-1))
        return source + self.out(hidden).squeeze(-1)

