"""Synthetic anti-spoofing datasets: real file names and layouts, procedurally rendered videos.

No public anti-spoofing video may be redistributed, so :func:`generate` writes a stand-in tree with
the exact folder layout, file names and ``.face`` annotations of Replay-Attack or MSU-MFSD, which
:func:`~antispoof.data.datasets.open_dataset` reads like the real thing. The clips are small and short
(tests stay fast) but carry the cues the CNN-LSTM is meant to learn:

* bona fide: a rendered face (shaded head, hair, eyes, brows, nose, mouth, skin texture) that blinks,
  talks, sways, turns a little and breathes (sub-pixel), in front of a still camera; or frames of the
  user's own face videos (``source_videos``);
* print attacks: one still frame of the person printed (contrast and saturation loss, halftone,
  paper grain, paper margin) and moved rigidly: a tiny drift on a fixed support, tremor by hand;
* replay attacks: the person's clip or photo shown on a screen (gamma and black level, pixel grid
  that beats into moire, refresh flicker, bezel, glare) moved rigidly the same way.

Every nuisance (light, background, face size and position, skin, camera blur and noise, exposure,
white balance) is drawn from one distribution for all classes, and the camera's auto-exposure sets
each clip's per-channel mean and contrast to values drawn independently of the class, so global
colour statistics do not tell the classes apart: motion does.

Modules: ``render`` (one clip: face model, scenes, motion, attack media, camera), ``layouts`` (the clips
of each tree) and ``writer`` (:func:`generate`); the public names are re-exported here.
"""

from .render import KINDS, MAX_LIVE_MOTION, render_sample
from .writer import LAYOUT_FPS, LAYOUTS, generate

__all__ = ["KINDS", "LAYOUTS", "LAYOUT_FPS", "MAX_LIVE_MOTION", "generate", "render_sample"]
