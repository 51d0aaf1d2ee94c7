"""The one registry of effects: registry name -> Effect class (``zoo list``, config.json's ``"effect"``).

Classes are named as ``"module:Class"`` and imported on first use, so that importing the registry
does not import every effect. `zoo.hub` saves and loads by these names.
"""

from __future__ import annotations

import importlib

from torch import nn

__all__ = ["EFFECTS", "effect_class", "effect_name"]

#: registry name -> "module:Class"; every entry is an `zoo.effects.base.Effect` subclass.
EFFECTS: dict[str, str] = {
    "phaser": "zoo.effects.phasers:Phaser",
    "compressor": "zoo.effects.compressors:Compressor",
    "synth": "zoo.effects.synth:SynthModel",
    "synth_lstm": "zoo.effects.synth:LSTMSynth",
}


def effect_class(name: str) -> type:
    """The Effect class registered under ``name`` (see `EFFECTS`).

    Raises:
        ValueError: ``name`` is not registered (the message lists the names).
    """
    if name not in EFFECTS:
        raise ValueError(f"Unexpected effect name {name!r}: expected one of {sorted(EFFECTS)}")
    module_name, class_name = EFFECTS[name].split(":")
    return getattr(importlib.import_module(module_name), class_name)


def effect_name(effect: nn.Module) -> str:
    """The registry name of ``effect``'s class (the class itself, not a subclass).

    Raises:
        ValueError: the class is not registered.
    """
    for name in EFFECTS:
        if type(effect) is effect_class(name):
            return name
    raise ValueError(f"{type(effect).__name__} is not a registered effect (see zoo.effects.registry.EFFECTS)")
