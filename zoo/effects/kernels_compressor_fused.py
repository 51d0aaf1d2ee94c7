"""Compatibility path: this module is `zoo.effects.compressor.kernels_fused`."""

import importlib
import sys

sys.modules[__name__] = importlib.import_module("zoo.effects.compressor.kernels_fused")
