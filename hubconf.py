"""torch.hub entry points: ``torch.hub.load("<repo>", "phaser", pretrained=True)``.

Each entry point builds an effect and, with ``pretrained=True``, loads trained weights from
``checkpoint``: a shipped checkpoint name (found through `zoo.resources`, i.e. this repository's
``checkpoints/`` folder, or the installed package's copy), a checkpoint folder of your own (from
``zoo fit`` or ``zoo export-checkpoint``), a ``zoo train`` run, or a Hugging Face Hub repo id. A
shipped name that is not on disk falls back to its (placeholder) Hub repo in ``zoo.hub.HUB_REPOS``.
"""

dependencies = ["torch", "numpy", "numba", "safetensors", "huggingface_hub"]


def _load(effect: str, checkpoint: str, pretrained: bool, **kwargs):
    from pathlib import Path

    from zoo.hub import HUB_REPOS, effect_class, from_pretrained, resolve_checkpoint

    if not pretrained:
        kwargs.setdefault("sample_rate", 44100.0)
        return effect_class(effect)(**kwargs)
    source = resolve_checkpoint(str(checkpoint))
    if not Path(source).exists() and source in HUB_REPOS:
        source = HUB_REPOS[source]
    return from_pretrained(source, **kwargs)


def phaser(pretrained: bool = True, checkpoint: str = "phaser-pedalboard", **kwargs):
    """Differentiable phaser (Yu et al. 2024, Sec. 4.1). ``checkpoint``: a shipped name, a folder, a run or a
    Hub repo id; kwargs override constructor args (e.g. method="fs")."""
    return _load("phaser", checkpoint, pretrained, **kwargs)


def compressor(pretrained: bool = True, checkpoint: str = "compressor-pedalboard", **kwargs):
    """Differentiable feed-forward compressor with attack/release (Sec. 4.3). ``checkpoint`` as for `phaser`."""
    return _load("compressor", checkpoint, pretrained, **kwargs)


def synth(pretrained: bool = True, checkpoint: str = "synth-ladder303", **kwargs):
    """TB-303 style subtractive synth voice with a log-mel CNN encoder (Sec. 4.2). ``checkpoint`` as for `phaser`."""
    return _load("synth", checkpoint, pretrained, **kwargs)
