"""Compatibility path: this module is `zoo.effects.phaser.kernels`."""

import importlib
import sys

sys.modules[__name__] = importlib.import_module("zoo.effects.phaser.kernels")
