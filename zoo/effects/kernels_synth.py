"""Compatibility path: this module is `zoo.effects.synth.kernels`."""

import importlib
import sys

sys.modules[__name__] = importlib.import_module("zoo.effects.synth.kernels")
