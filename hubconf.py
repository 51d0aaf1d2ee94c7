"""torch.hub entry points: ``torch.hub.load("<repo>", "phaser", pretrained=True)``.

Each entry point builds an effect and, with ``pretrained=True``, loads the weights trained by our
recipes: from this repository's ``checkpoints/`` folder when the repo is local (or was fetched by
torch.hub), else from the Hugging Face Hub repo named in ``HUB_REPOS``.
"""

dependencies = ["torch", "numpy", "numba", "safetensors", "huggingface_hub"]

import os as _os

#: shipped checkpoint folder -> Hugging Face Hub repo id (the same files, published with `zoo push`)
HUB_REPOS = {
    "phaser-pedalboard": "zoo-audio/phaser-pedalboard",
    "compressor-pedalboard": "zoo-audio/compressor-pedalboard",
    "synth-ladder303": "zoo-audio/synth-ladder303",
}
_CHECKPOINTS = _os.path.join(_os.path.dirname(_os.path.abspath(__file__)), "checkpoints")


def _load(effect: str, checkpoint: str, pretrained: bool, **kwargs):
    from zoo.hub import effect_class, from_pretrained

    if not pretrained:
        kwargs.setdefault("sample_rate", 44100.0)
        return effect_class(effect)(**kwargs)
    local = _os.path.join(_CHECKPOINTS, checkpoint)
    source = local if _os.path.isfile(_os.path.join(local, "config.json")) else HUB_REPOS[checkpoint]
    return from_pretrained(source, **kwargs)


def phaser(pretrained: bool = True, checkpoint: str = "phaser-pedalboard", **kwargs):
    """Differentiable phaser (Yu et al. 2024, Sec. 4.1). kwargs override constructor args (e.g. method="fs")."""
    return _load("phaser", checkpoint, pretrained, **kwargs)


def compressor(pretrained: bool = True, checkpoint: str = "compressor-pedalboard", **kwargs):
    """Differentiable feed-forward compressor with attack/release (Sec. 4.3)."""
    return _load("compressor", checkpoint, pretrained, **kwargs)


def synth(pretrained: bool = True, checkpoint: str = "synth-ladder303", **kwargs):
    """TB-303 style subtractive synth voice with a log-mel CNN encoder (Sec. 4.2)."""
    return _load("synth", checkpoint, pretrained, **kwargs)
