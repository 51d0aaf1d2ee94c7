"""The neutone-sdk model class (defined once the SDK is importable; see `zoo.export.neutone`).

The class is TorchScript code: knob positions in [0, 1] are mapped to physical controls (log or
linear between each knob's low and high), then the streaming module's ``forward_controls`` runs.
"""

from __future__ import annotations

from typing import Any, Dict, List

import torch
from torch import Tensor

__all__ = ["make_model_class"]

_CLASSES: dict[int, type] = {}


def make_model_class(sdk: Any) -> type:
    """``ZooNeutoneModel``, a subclass of ``sdk.WaveformToWaveformBase`` (made once per SDK module)."""
    if id(sdk) in _CLASSES:
        return _CLASSES[id(sdk)]
    base = sdk.WaveformToWaveformBase
    parameter = sdk.ContinuousNeutoneParameter

    class ZooNeutoneModel(base):
        """A fitted zoo effect as a Neutone FX model: stereo in, stereo out, four knobs."""

        def __init__(self, core: torch.nn.Module, knobs: List[Dict[str, Any]], text: Dict[str, str],
                     sample_rate: float) -> None:
            self._knobs = knobs  # read while building (get_neutone_parameters), never by TorchScript
            self.model_name = text["name"]
            self.short_description = text["short"]
            self.long_description = text["long"]
            self.technical_description = text["technical"]
            self.tag_list: List[str] = [text["kind"], "ddsp", "all-pole"]
            self._sample_rate = int(round(sample_rate))
            super().__init__(core, use_debug_mode=True)
            self.register_buffer("knob_low", torch.tensor([k["low"] for k in knobs], dtype=torch.float64))
            self.register_buffer("knob_high", torch.tensor([k["high"] for k in knobs], dtype=torch.float64))
            self.register_buffer("knob_log", torch.tensor([k["scale"] == "log" for k in knobs]))
            self.is_phaser = "rate" in [k["name"] for k in knobs]
            self.rate_hz = float(sample_rate)

        def get_model_name(self) -> str:
            return self.model_name

        def get_model_authors(self) -> List[str]:
            return ["allpole zoo"]

        def get_model_short_description(self) -> str:
            return self.short_description

        def get_model_long_description(self) -> str:
            return self.long_description

        def get_technical_description(self) -> str:
            return self.technical_description

        def get_technical_links(self) -> Dict[str, str]:
            return {"Paper": "https://arxiv.org/abs/2404.07970"}

        def get_tags(self) -> List[str]:
            return self.tag_list

        def get_model_version(self) -> str:
            return "1.0.0"

        def is_experimental(self) -> bool:
            return False

        def get_citation(self) -> str:
            return ("Yu, Mitcheltree, Carson, Bilbao, Reiss, Fazekas. Differentiable All-pole Filters for "
                    "Time-varying Audio Systems. DAFx 2024.")

        @torch.jit.ignore
        def get_neutone_parameters(self) -> List[Any]:
            return [parameter(k["name"], k["description"], default_value=k["default_0to1"]) for k in self._knobs]

        @torch.jit.export
        def is_input_mono(self) -> bool:
            return False

        @torch.jit.export
        def is_output_mono(self) -> bool:
            return False

        @torch.jit.export
        def get_native_sample_rates(self) -> List[int]:
            return [self._sample_rate]

        @torch.jit.export
        def get_native_buffer_sizes(self) -> List[int]:
            return []

        @torch.jit.export
        def reset_model(self) -> bool:
            self.model.reset()
            return True

        @torch.jit.export
        def controls(self, positions: Tensor) -> Tensor:
            """Knob positions (4,) in [0, 1] -> the streaming module's controls (4,) float64."""
            v = positions.to(torch.float64).clamp(0.0, 1.0)
            low = self.knob_low
            high = self.knob_high
            log_value = low * torch.pow(high / low.clamp(min=1e-12), v)
            value = torch.where(self.knob_log, log_value, low + v * (high - low))
            if not self.is_phaser:  # release (ms) -> coefficient, as zoo's ms_to_coef
                release = -torch.expm1(-2200.0 / (value[2] * self.rate_hz))
                value = torch.cat([value[:2], release.reshape(1), value[3:]])
            return value

        def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
            names = self.neutone_parameter_names
            positions = torch.stack([params[names[0]], params[names[1]], params[names[2]], params[names[3]]])
            return self.model.forward_controls(x, self.controls(positions.reshape(4)))

    _CLASSES[id(sdk)] = ZooNeutoneModel
    return ZooNeutoneModel
