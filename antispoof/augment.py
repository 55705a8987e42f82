"""Augmentation of training clips, in one place: the per-clip jitter of :class:`~antispoof.cache.ClipDataset`
(flip, gain, offset, shift) and :func:`hold_still`, which training applies to whole batches.

Both draw from generators that training seeds and checkpoints, so a resumed run continues exactly.
"""

from __future__ import annotations

import numpy as np
import torch

from .labels import ATTACK, BONA_FIDE


def jitter_clip(frames: np.ndarray, rng: np.random.Generator, shift: int = 0) -> np.ndarray:
    """One random photometric and geometric jitter for a whole clip (every frame alike).

    A horizontal flip with probability 1/2, a gain uniform in [0.85, 1.15] and an offset uniform in
    [-0.06, 0.06] (in units of the [0, 1] range), and with ``shift`` a translation by up to ``shift``
    pixels in x and y (edge pixels repeated); clipped to [0, 1].

    Parameters
    ----------
    frames : np.ndarray
        ``(T, H, W, 3)`` float32 in [0, 1].
    rng : np.random.Generator
        The clip's generator (four draws, five with ``shift``).
    shift : int
        Largest translation in pixels (0: none).

    Returns
    -------
    np.ndarray
        ``(T, H, W, 3)`` float in [0, 1].
    """
    if rng.random() < 0.5:
        frames = frames[:, :, ::-1]
    gain = rng.uniform(0.85, 1.15)
    offset = rng.uniform(-0.06, 0.06)
    if shift:
        s = shift
        dy, dx = rng.integers(-s, s + 1, 2)
        padded = np.pad(frames, ((0, 0), (s, s), (s, s), (0, 0)), mode="edge")
        h, w = frames.shape[1:3]
        frames = padded[:, s + dy : s + dy + h, s + dx : s + dx + w]
    return np.clip(frames * gain + offset, 0.0, 1.0)


def hold_still(
    clips: torch.Tensor, labels: torch.Tensor, prob: float, noise: float = 0.0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Turn bona fide clips into still-picture attacks: one of their frames held for the whole clip.

    The paper's premise is that a photograph shows no facial motion. A live frame held still has
    exactly the appearance of live frames and the motion of a print on a stand, so the only way to
    score it as an attack is the motion across frames: this keeps the LSTM from resting on per-frame
    appearance alone (which the trunk and the CNN loss already give it). Each bona fide clip is
    replaced with probability ``prob`` by frame ``k`` (uniform) repeated ``T`` times, plus independent
    Gaussian noise per frame and pixel with a standard deviation drawn uniformly in ``[0, noise]``
    per clip (a camera filming a still picture still records sensor noise, so "no change at all"
    must not be the cue). Draws come from torch's global generator, which training seeds and
    checkpoints.

    Parameters
    ----------
    clips : torch.Tensor
        ``(B, T, 3, H, W)`` float in [0, 1].
    labels : torch.Tensor
        ``(B,)`` int, 1 = bona fide, 0 = attack.
    prob : float
        In [0, 1]: probability for each bona fide clip.
    noise : float
        Largest noise standard deviation, in units of the [0, 1] intensity range.

    Returns
    -------
    clips : torch.Tensor
        Same shape; the held clips replaced (a new tensor when any is, else the input).
    clip_labels : torch.Tensor
        ``labels`` with the held clips set to 0 (attack): the LSTM's target.
    frame_labels : torch.Tensor
        ``labels`` unchanged: each held frame is still a live frame, the CNN head's target.

    Examples
    --------
    >>> clips = torch.rand(4, 8, 3, 16, 16)
    >>> held, clip_labels, frame_labels = hold_still(clips, torch.tensor([1, 1, 0, 0]), prob=1.0)
    >>> clip_labels.tolist(), frame_labels.tolist()
    ([0, 0, 0, 0], [1, 1, 0, 0])
    >>> bool((held[0] == held[0, :1]).all())
    True
    """
    if not 0.0 <= prob <= 1.0:
        raise ValueError(f"prob must be in [0, 1], got {prob}")
    if not noise >= 0.0:
        raise ValueError(f"noise must be >= 0, got {noise}")
    b, t = clips.shape[:2]
    chosen = (labels == BONA_FIDE) & (torch.rand(b) < prob)
    if not bool(chosen.any()):
        return clips, labels, labels
    index = chosen.nonzero().squeeze(1)
    frame = torch.randint(0, t, (len(index),))
    held = clips[index, frame].unsqueeze(1).expand(-1, t, -1, -1, -1)
    if noise > 0:
        sigma = torch.rand(len(index)) * noise
        held = (held + torch.randn(held.shape) * sigma.view(-1, 1, 1, 1, 1)).clamp_(0.0, 1.0)
    clips = clips.clone()
    clips[index] = held.to(clips.dtype)
    clip_labels = labels.clone()
    clip_labels[index] = ATTACK
    return clips, clip_labels, labels
