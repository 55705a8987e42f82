"""Rendering one clip: the face model, scenes, motion, attack media (print, screen), the camera."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ...limits import MAX_LIVE_MOTION
from ..pulse_render import attach_pulse

#: Kinds of clip :func:`render_sample` renders.
KINDS = ("bona_fide", "print", "screen_photo", "screen_video")


# --------------------------------------------------------------------------------------------------
# Randomness: one independent stream per (seed, purpose), so a clip does not depend on the order
# or the number of clips generated.


def _rng(seed: int, *keys: int | str) -> np.random.Generator:
    words = [int(seed) & 0xFFFFFFFF] + [zlib.crc32(k.encode()) if isinstance(k, str) else int(k) for k in keys]
    return np.random.default_rng(np.random.SeedSequence(words))


# --------------------------------------------------------------------------------------------------
# The face model


@dataclass(frozen=True)
class _Person:
    """Appearance of one subject, in face units (1 = half the head width; v grows downwards)."""

    skin: np.ndarray
    hair: np.ndarray
    lips: np.ndarray
    iris: np.ndarray
    clothes: np.ndarray
    aspect: float  # head half-height / half-width
    eye_u: float
    eye_v: float
    eye_a: float
    eye_b: float
    brow_gap: float
    mouth_v: float
    mouth_a: float
    hairline: float
    long_hair: bool
    texture: np.ndarray  # (k, 4): frequency u, frequency v, phase, amplitude

    @classmethod
    def draw(cls, rng: np.random.Generator) -> _Person:
        tone = rng.uniform(0.42, 0.9)
        skin = np.array([tone, tone * rng.uniform(0.72, 0.82), tone * rng.uniform(0.58, 0.72)])
        hair_l = rng.uniform(0.05, 0.6)
        hair = np.array([hair_l, hair_l * rng.uniform(0.7, 0.95), hair_l * rng.uniform(0.5, 0.85)])
        k = 6
        texture = np.column_stack(
            [rng.uniform(8, 30, k) * rng.choice([-1, 1], k), rng.uniform(8, 30, k), rng.uniform(0, 2 * np.pi, k),
             rng.uniform(0.002, 0.008, k)]
        )  # fmt: skip
        return cls(
            skin=skin,
            hair=hair,
            lips=skin * np.array([rng.uniform(0.75, 0.95), rng.uniform(0.5, 0.65), rng.uniform(0.5, 0.65)]),
            iris=rng.uniform(0.05, 0.35, 3),
            clothes=_muted(rng, 0.05, 0.9),
            aspect=rng.uniform(1.22, 1.38),
            eye_u=rng.uniform(0.34, 0.4),
            eye_v=rng.uniform(-0.2, -0.1),
            eye_a=rng.uniform(0.15, 0.19),
            eye_b=rng.uniform(0.065, 0.085),
            brow_gap=rng.uniform(0.16, 0.22),
            mouth_v=rng.uniform(0.55, 0.65),
            mouth_a=rng.uniform(0.26, 0.33),
            hairline=rng.uniform(-0.78, -0.6),
            long_hair=bool(rng.random() < 0.4),
            texture=texture,
        )


@dataclass
class _Pose:
    """Where the face is in one frame and its expression (pixels; angles in radians)."""

    cx: float
    cy: float
    scale: float  # pixels per face unit
    roll: float = 0.0
    yaw: float = 0.0  # shifts the inner features sideways, as a small head turn does
    blink: float = 0.0  # 0 open, 1 closed
    mouth: float = 0.0  # 0 closed, 1 wide open
    brow: float = 0.0  # brow raise, face units


def _soft(d: np.ndarray) -> np.ndarray:
    """Coverage of a pixel whose centre lies ``d`` pixels inside an edge (1-pixel anti-aliasing)."""
    return np.clip(d + 0.5, 0.0, 1.0)


def _ellipse(u, v, cu, cv, a, b, px):
    """Anti-aliased coverage of an ellipse in face units; ``px`` pixels per unit."""
    cu, cv, a, b, px = float(cu), float(cv), float(a), float(b), float(px)
    q = np.sqrt(((u - cu) / a) ** 2 + ((v - cv) / b) ** 2)
    return _soft((1.0 - q) * (min(a, b) * px))


def _face_box(pose: _Pose) -> np.ndarray:
    """The annotation box (x, y, w, h) of a face: a square from the brows to below the mouth,
    about where a frontal detector puts it."""
    side = 2.1 * pose.scale
    du, dv = 0.0, 0.15  # box centre in face units
    c, s = np.cos(pose.roll), np.sin(pose.roll)
    cx = pose.cx + (c * du - s * dv) * pose.scale
    cy = pose.cy + (s * du + c * dv) * pose.scale
    return np.array([cx - side / 2, cy - side / 2, side, side])


def _eye_centres(pose: _Pose, person: _Person) -> np.ndarray:
    """Image positions of the left and right eye: (lx, ly, rx, ry)."""
    c, s = np.cos(pose.roll), np.sin(pose.roll)
    out = []
    for sign in (-1, 1):
        u, v = sign * person.eye_u + pose.yaw, person.eye_v
        out += [pose.cx + (c * u - s * v) * pose.scale, pose.cy + (s * u + c * v) * pose.scale]
    return np.array(out)


def _render_person(canvas: np.ndarray, person: _Person, pose: _Pose, light: np.ndarray) -> None:
    """Draw the person (head, hair, neck, shoulders) into ``canvas`` (H, W, 3) float32, in place."""
    H, W = canvas.shape[:2]
    # Python floats keep the arithmetic in float32 (NumPy scalars would promote it to float64)
    S, cx0, cy0, yaw = float(pose.scale), float(pose.cx), float(pose.cy), float(pose.yaw)
    light = [float(x) for x in light]
    # only the pixels near the person are computed; small features only in their own window
    x0, x1 = int(max(0, cx0 - 2.6 * S)), int(min(W, cx0 + 2.6 * S + 1))
    y0, y1 = int(max(0, cy0 - 1.8 * S)), H
    if x0 >= x1 or y0 >= y1:
        return
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    c, s = float(np.cos(pose.roll)), float(np.sin(pose.roll))
    dx, dy = xs - cx0, ys - cy0
    u = (c * dx + s * dy) / S
    v = (-s * dx + c * dy) / S
    fu = u - yaw  # inner features move with a head turn, the outline does not
    out = canvas[y0:y1, x0:x1]
    p = person
    A = float(p.aspect)

    def window(cu: float, cv: float, radius: float) -> tuple[slice, slice]:
        """ROI rows and columns around face point (cu, cv) (feature units), ``radius`` face units."""
        cu = cu + yaw
        px, py = cx0 + (c * cu - s * cv) * S - x0, cy0 + (s * cu + c * cv) * S - y0
        r = radius * S + 2
        rows = slice(min(max(0, int(py - r)), y1 - y0), min(max(0, int(py + r) + 1), y1 - y0))
        cols = slice(min(max(0, int(px - r)), x1 - x0), min(max(0, int(px + r) + 1), x1 - x0))
        return rows, cols

    def feature(colour, cu, cv, a, b, weight=1.0, mask=None) -> np.ndarray:
        """Blend an ellipse of the face (in feature coordinates) with ``colour``; returns its coverage."""
        sl = window(cu, cv, max(a, b))
        alpha = _ellipse(fu[sl], v[sl], cu, cv, a, b, S) * weight
        if mask is not None:
            alpha = alpha * mask(sl)
        o = out[sl]
        if colour is None:  # darken instead of paint
            o *= (1.0 - alpha)[..., None]
        else:
            o += (np.asarray(colour, np.float32) - o) * alpha[..., None]
        return alpha

    def over(colour, alpha):
        out[...] += (np.asarray(colour, np.float32) - out) * alpha[..., None]

    # shoulders and neck
    over(p.clothes * (0.55 + 0.45 * light[2]), _ellipse(u, v, 0.0, A + 1.5, 2.3, 1.0, S))
    neck = _soft((0.42 - np.abs(u)) * S) * _soft((v - 0.5) * S) * _soft((A + 1.0 - v) * S)
    over(p.skin * 0.62, neck)
    if p.long_hair:
        over(p.hair * 0.8, _ellipse(u, v, 0.0, 0.35, 1.22, A + 0.45, S))
    # head, Lambert-shaded as an ellipsoid, with a little skin texture
    head = _ellipse(u, v, 0.0, 0.0, 1.0, A, S)
    nz = np.sqrt(np.clip(1.0 - u**2 - (v / A) ** 2, 0.02, 1.0))
    shade = 0.35 + 0.65 * np.clip(u * light[0] + (v / A) * light[1] + nz * light[2], 0.0, 1.0)
    tex = np.ones_like(u)
    for f_u, f_v, ph, amp in p.texture.tolist():
        tex += amp * np.sin(f_u * u + f_v * v + ph)
    over(p.skin[None, None, :] * (shade * tex)[..., None], head)
    in_head = lambda sl: head[sl]  # noqa: E731
    # eye sockets: the darker band a detector keys on
    for sign in (-1, 1):
        feature(None, sign * p.eye_u, p.eye_v - 0.03, p.eye_a * 1.6, p.eye_b * 2.6, 0.35, in_head)
    brow_v = p.eye_v - p.brow_gap - pose.brow
    brow_colour = np.minimum(p.hair * 0.5, p.skin * 0.3)  # brows are darker than skin, even with fair hair
    for sign in (-1, 1):
        feature(brow_colour, sign * p.eye_u, brow_v, p.eye_a * 1.3, 0.06)
    # lit nose bridge between the eyes
    feature(np.minimum(p.skin * 1.2, 1.0), 0.0, p.eye_v + 0.1, 0.07, 0.3, 0.5, in_head)
    # eyes: sclera, iris, pupil, then the lid closing from the top
    sclera = np.array([0.62, 0.6, 0.58]) * float(shade.mean())
    lid_edge = p.eye_v - p.eye_b + 2.0 * p.eye_b * pose.blink
    for sign in (-1, 1):
        cu = sign * p.eye_u
        sl = window(cu, p.eye_v, p.eye_a)
        eye = _ellipse(fu[sl], v[sl], cu, p.eye_v, p.eye_a, p.eye_b, S)
        in_eye = lambda sl2, sl=sl, eye=eye: _crop_to(eye, sl, sl2)  # noqa: E731
        feature(sclera, cu, p.eye_v, p.eye_a, p.eye_b)
        feature(p.iris, cu, p.eye_v, 0.075, 0.075, 1.0, in_eye)
        feature(np.zeros(3), cu, p.eye_v, 0.035, 0.035, 1.0, in_eye)
        feature(
            p.skin * 0.8, cu, p.eye_v, p.eye_a * 1.1, p.eye_b * 1.5, 1.0, lambda sl2: _soft((lid_edge - v[sl2]) * S)
        )
    # nose: shadowed side, nostrils
    side = np.sign(light[0]) if abs(light[0]) > 0.05 else 1.0
    feature(p.skin * 0.6, -side * 0.09, 0.12, 0.05, 0.22, 0.35)
    for sign in (-1, 1):
        feature(p.skin * 0.35, sign * 0.085, 0.33, 0.05, 0.028, 0.7)
    # mouth: lips, then the opening
    ma = p.mouth_a * (1.0 - 0.15 * pose.mouth)
    feature(p.lips, 0.0, p.mouth_v, ma, 0.055 + 0.07 * pose.mouth)
    feature(np.array([0.12, 0.05, 0.05]), 0.0, p.mouth_v, ma * 0.8, 0.012 + 0.065 * pose.mouth)
    # hair over the forehead and temples
    hair = _ellipse(u, v, 0.0, -0.06, 1.07, A * 1.04, S) * _soft((p.hairline + 0.45 * u**2 - v) * S)
    over(p.hair * (0.7 + 0.3 * light[2]), hair)


def _crop_to(values: np.ndarray, outer: tuple[slice, slice], inner: tuple[slice, slice]) -> np.ndarray:
    """``values`` computed on window ``outer``, cut to window ``inner`` (zero where outside ``outer``)."""
    out = np.zeros((inner[0].stop - inner[0].start, inner[1].stop - inner[1].start), values.dtype)
    r0, c0 = max(inner[0].start, outer[0].start), max(inner[1].start, outer[1].start)
    r1 = min(inner[0].stop, outer[0].start + values.shape[0])
    c1 = min(inner[1].stop, outer[1].start + values.shape[1])
    if r1 > r0 and c1 > c0:
        out[r0 - inner[0].start : r1 - inner[0].start, c0 - inner[1].start : c1 - inner[1].start] = values[
            r0 - outer[0].start : r1 - outer[0].start, c0 - outer[1].start : c1 - outer[1].start
        ]
    return out


# --------------------------------------------------------------------------------------------------
# Scenes


def _smooth_noise(rng: np.random.Generator, H: int, W: int, cells: int) -> np.ndarray:
    import cv2

    small = rng.normal(0.0, 1.0, (max(2, cells * H // max(H, W)), max(2, cells * W // max(H, W)))).astype(np.float32)
    return cv2.resize(small, (W, H), interpolation=cv2.INTER_CUBIC)


def _muted(rng: np.random.Generator, low: float, high: float) -> np.ndarray:
    """A colour of lightness in [low, high] with the mild saturation of rooms and clothes."""
    grey = rng.uniform(low, high)
    return np.clip(grey * (1.0 + rng.normal(0.0, 0.15, 3)), 0.0, 1.0).astype(np.float32)


def _background(rng: np.random.Generator, H: int, W: int, condition: str) -> np.ndarray:
    """A room behind the subject: a lit wall gradient, some furniture blocks, texture."""
    adverse = condition == "adverse"
    base = _muted(rng, 0.3, 0.85)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    g = rng.normal(0, 0.25, 2)
    img = base[None, None, :] * (1.0 + g[0] * (xx / W - 0.5) + g[1] * (yy / H - 0.5))[..., None]
    for _ in range(rng.integers(3, 9) if adverse else rng.integers(0, 3)):
        x0, y0 = rng.uniform(-0.2, 1.0) * W, rng.uniform(-0.2, 1.0) * H
        w, h = rng.uniform(0.1, 0.6) * W, rng.uniform(0.1, 0.6) * H
        inside = _soft(np.minimum.reduce([xx - x0, x0 + w - xx, yy - y0, y0 + h - yy]))
        img += (_muted(rng, 0.05, 0.95) - img) * inside[..., None]
    amp = rng.uniform(0.03, 0.12) if adverse else rng.uniform(0.0, 0.05)
    img *= 1.0 + amp * _smooth_noise(rng, H, W, 12)[..., None]
    return np.clip(img, 0.0, 1.0)


def _light(rng: np.random.Generator, condition: str) -> np.ndarray:
    """Unit light direction (x right, y down, z towards the camera)."""
    if condition == "adverse":
        d = np.array([rng.uniform(-0.8, 0.8), rng.uniform(-0.6, 0.2), rng.uniform(0.4, 0.9)])
    else:
        d = np.array([rng.uniform(-0.3, 0.3), rng.uniform(-0.4, 0.0), 1.0])
    return d / np.linalg.norm(d)


# --------------------------------------------------------------------------------------------------
# Motion


def _blink_curve(t: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Lid closure over time: 70 ms closing, 50 ms closed, 150 ms opening per blink."""
    out = np.zeros_like(t)
    for s in starts:
        d = t - s
        close = np.clip(d / 0.07, 0, 1)
        reopen = np.clip(1 - (d - 0.12) / 0.15, 0, 1)
        out = np.maximum(out, np.where(d < 0, 0, np.minimum(close, reopen)))
    return out


def _live_poses(
    rng: np.random.Generator, n: int, fps: float, cx: float, cy: float, scale: float, motion: float = 1.0
) -> list[_Pose]:
    """A person sitting in front of a camera: sway, small turns, breathing, blinks, speech. ``motion``
    scales every one of them (displacements, angles, lid closure, mouth opening, brow raise) after the
    same random draws: 0 is a motionless person, 1 the usual one."""
    t = np.arange(n) / fps
    dur = max(n / fps, 1e-6)

    def wander(amplitude, f_lo, f_hi, k=2):
        f = rng.uniform(f_lo, f_hi, k)
        ph = rng.uniform(0, 2 * np.pi, k)
        a = rng.uniform(0.3, 1.0, k)
        return amplitude * (a[:, None] * np.sin(2 * np.pi * f[:, None] * t + ph[:, None])).sum(0) / a.sum()

    sway_x = wander(rng.uniform(0.02, 0.06) * scale, 0.1, 0.6)
    sway_y = wander(rng.uniform(0.01, 0.03) * scale, 0.1, 0.5)
    breathe = rng.uniform(0.2, 0.5) * np.sin(2 * np.pi * rng.uniform(0.2, 0.35) * t + rng.uniform(0, 6.3))
    roll = wander(np.deg2rad(rng.uniform(0.5, 2.0)), 0.1, 0.4)
    yaw = wander(rng.uniform(0.01, 0.04), 0.1, 0.5)
    rate = rng.uniform(0.4, 0.8)  # blinks per second
    starts = np.cumsum(rng.exponential(1.0 / rate, 12)) - rng.uniform(0.0, 1.0 / rate)
    starts = np.concatenate([[rng.uniform(0.1, max(0.11, dur - 0.3))], starts])  # at least one blink
    blink = _blink_curve(t, starts)
    if rng.random() < 0.75:  # speaking: syllables at 3-6 Hz
        syll = wander(1.0, 3.0, 6.0, k=3)
        mouth = np.clip(0.2 + 0.7 * syll, 0.0, 1.0) * (0.5 + 0.5 * np.clip(wander(2.0, 0.2, 0.5) + 0.5, 0, 1))
    else:
        mouth = np.clip(wander(0.25, 0.3, 1.0) + 0.05, 0.0, 1.0)
    brow = np.clip(wander(0.03, 0.2, 0.8), 0.0, None)
    m = float(motion)
    return [
        _Pose(
            cx + m * sway_x[i],
            cy + m * (sway_y[i] + breathe[i]),
            scale * (1 + 0.002 * m * breathe[i]),
            m * roll[i],
            m * yaw[i],
            m * blink[i],
            m * mouth[i],
            m * brow[i],
        )  # fmt: skip
        for i in range(n)
    ]


def _rigid_motion(rng: np.random.Generator, n: int, fps: float, support: str) -> np.ndarray:
    """Per-frame (dx, dy, angle, log-scale) of an attack medium: a fixed support drifts by a fraction
    of a pixel; a hand trembles (4-12 Hz) and sways (0.2-1 Hz) by pixels."""
    t = np.arange(n) / fps

    def tone(amplitude, f_lo, f_hi, k):
        f, ph = rng.uniform(f_lo, f_hi, k), rng.uniform(0, 2 * np.pi, k)
        return amplitude * np.sin(2 * np.pi * f[:, None] * t + ph[:, None]).sum(0) / np.sqrt(k)

    if support == "fixed":
        drift = rng.normal(0, 1, 2) * rng.uniform(0.05, 0.3) / max(t[-1], 1e-6) if n > 1 else np.zeros(2)
        return np.column_stack([drift[0] * t, drift[1] * t, np.zeros(n), np.zeros(n)])
    if support != "hand":
        raise ValueError(f"support must be 'fixed' or 'hand', got {support!r}")
    a = rng.uniform(0.8, 3.0)
    return np.column_stack(
        [tone(a, 0.2, 1.0, 2) + tone(rng.uniform(0.2, 0.8), 4.0, 12.0, 3),
         tone(a * 0.7, 0.2, 1.0, 2) + tone(rng.uniform(0.2, 0.8), 4.0, 12.0, 3),
         tone(np.deg2rad(rng.uniform(0.3, 1.5)), 0.2, 1.5, 2),
         tone(rng.uniform(0.003, 0.015), 0.2, 1.0, 2)]
    )  # fmt: skip


# --------------------------------------------------------------------------------------------------
# Content: what is in front of the camera (a person, or the picture shown by an attack)


class _RenderedContent:
    """A person rendered in front of a background; frame i with its face box and eyes."""

    def __init__(self, rng, person: _Person, H: int, W: int, n: int, fps: float, condition: str, still: bool,
                 size: float = 1.0, motion: float = 1.0):  # fmt: skip
        self.person, self.H, self.W = person, H, W
        self.background = _background(rng, H, W, condition)
        self.light = _light(rng, condition)
        scale = rng.uniform(0.17, 0.26) * H * size  # half head width in pixels
        cx = W / 2 + rng.uniform(-0.12, 0.12) * W
        cy = H * rng.uniform(0.38, 0.5)
        poses = _live_poses(rng, max(n, 2), fps, cx, cy, scale, motion)
        self.poses = [poses[int(rng.integers(0, len(poses)))]] * n if still else poses[:n]
        self.pulse = None  # (n, 3) skin colour factors: set by pulse_render.attach_pulse

    def frame(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        canvas = self.background.copy()
        pose = self.poses[i]
        person = self.person if self.pulse is None else replace(self.person, skin=self.person.skin * self.pulse[i])
        _render_person(canvas, person, pose, self.light)
        return canvas, _face_box(pose), _eye_centres(pose, self.person)


class _SourceContent:
    """Frames of a real face video, scaled and placed so the face has a chosen size and position."""

    def __init__(self, rng, source: _Source, H: int, W: int, n: int, still: bool, size: float = 1.0):
        import cv2

        self.H, self.W = H, W
        start = int(rng.integers(0, max(1, len(source.frames) - n)))
        idx = np.arange(start, start + n)
        period = 2 * len(source.frames) - 2
        idx = idx % max(period, 1)
        idx = np.where(idx >= len(source.frames), period - idx, idx)  # play back and forth if short
        if still:
            idx = np.full(n, idx[int(rng.integers(0, n))])
        self.idx = idx
        self.source = source
        side = max(source.box[2], source.box[3])
        k = rng.uniform(0.36, 0.55) * H * size / side  # face side / frame height as for rendered faces
        cx, cy = W / 2 + rng.uniform(-0.12, 0.12) * W, H * rng.uniform(0.42, 0.56)
        bx, by = source.box[0] + source.box[2] / 2, source.box[1] + source.box[3] / 2
        self.matrix = np.array([[k, 0, cx - k * bx], [0, k, cy - k * by]], np.float64)
        self.k = k
        self._warp = lambda img: cv2.warpAffine(
            img, self.matrix, (W, H), flags=cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,  # a mirrored border would add mirrored faces
        )  # fmt: skip

    def frame(self, i: int):
        j = self.idx[i]
        img = self._warp(self.source.frames[j]).astype(np.float32) / 255.0
        box = self.source.boxes[j]
        x, y = self.matrix[:, :2] @ box[:2] + self.matrix[:, 2]
        b = np.array([x, y, box[2] * self.k, box[3] * self.k])
        eyes = np.array([b[0] + 0.3 * b[2], b[1] + 0.38 * b[3], b[0] + 0.7 * b[2], b[1] + 0.38 * b[3]])
        return img, b, eyes


@dataclass
class _Source:
    frames: list  # RGB uint8 frames, shrunk
    boxes: np.ndarray  # (T, 4) steady face boxes in those frames
    box: np.ndarray  # median box


def _load_source(path: Path, max_seconds: float, max_side: int) -> _Source:
    from evm.io import VideoError, VideoReader, probe

    from ..faces import HaarDetector, detect_clip, stable_track

    info = probe(path)
    scale = min(1.0, max_side / max(info.width, info.height))
    with VideoReader(path, duration=max_seconds, scale=scale) as reader:
        frames = list(reader)
    if not frames:
        raise VideoError(f"{path}: no frames")
    try:
        boxes = stable_track(detect_clip(frames, HaarDetector(), stride=5), mode="smooth")
    except ValueError:
        raise VideoError(
            f"{path}: no face found in the first {max_seconds:g} s (source videos must show a face)"
        ) from None
    return _Source(frames, boxes, np.median(boxes, axis=0))


# --------------------------------------------------------------------------------------------------
# Attack media


def _print_medium(rng, img: np.ndarray) -> np.ndarray:
    """What a colour print of ``img`` looks like: less contrast and saturation, halftone, grain."""
    import cv2

    H, W = img.shape[:2]
    black, white = rng.uniform(0.06, 0.2), rng.uniform(0.78, 0.95)
    gamma = rng.uniform(0.85, 1.25)
    out = black + (white - black) * np.power(np.clip(img, 0, 1), gamma)
    luma = out @ np.array([0.299, 0.587, 0.114], np.float32)
    out = out + (luma[..., None] - out) * rng.uniform(0.1, 0.35)
    out *= np.array([1.0, rng.uniform(0.96, 1.0), rng.uniform(0.88, 0.98)], np.float32)  # paper and ink tint
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    period = rng.uniform(1.8, 3.0)
    for ch, angle in enumerate(np.deg2rad([15.0, 75.0, 0.0]) + rng.uniform(0, np.pi / 2)):
        xr = xx * np.cos(angle) + yy * np.sin(angle)
        yr = -xx * np.sin(angle) + yy * np.cos(angle)
        dots = np.cos(2 * np.pi * xr / period) * np.cos(2 * np.pi * yr / period)
        out[..., ch] += rng.uniform(0.04, 0.12) * dots * 4 * out[..., ch] * (1 - out[..., ch])
    grain = cv2.GaussianBlur(rng.normal(0, 1, (H, W)).astype(np.float32), (0, 0), 0.7)
    out *= 1.0 + rng.uniform(0.01, 0.03) * grain[..., None]
    out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.4, 0.9))
    return np.clip(out, 0, 1)


@dataclass
class _Screen:
    """Display settings of a replay device, fixed for a clip."""

    black: float
    white: float
    gamma: float
    tint: np.ndarray
    soften: float  # < 1: the screen shows fewer pixels than the picture has
    grid_period: float
    grid_amp: float
    grid_angle: float
    flicker_amp: float
    flicker_hz: float
    band_amp: float
    band_period: float
    band_speed: float
    _grid: np.ndarray | None = None  # the pixel-grid pattern, made once per picture size

    @classmethod
    def draw(cls, rng, kind: str) -> _Screen:
        small = kind == "mobile"
        return cls(
            black=rng.uniform(0.03, 0.12),
            white=rng.uniform(0.85, 1.0),
            gamma=rng.uniform(0.8, 1.3),
            tint=np.array([rng.uniform(0.92, 1.0), rng.uniform(0.95, 1.0), rng.uniform(0.97, 1.08)], np.float32),
            soften=rng.uniform(0.45, 0.7) if small else rng.uniform(0.65, 0.95),
            grid_period=rng.uniform(1.6, 2.8),
            grid_amp=rng.uniform(0.06, 0.16),
            grid_angle=rng.uniform(-0.2, 0.2),
            flicker_amp=rng.uniform(0.01, 0.04),
            flicker_hz=rng.uniform(1.0, 8.0),
            band_amp=rng.uniform(0.0, 0.05),
            band_period=rng.uniform(0.3, 1.2),
            band_speed=rng.uniform(-1.5, 1.5),
        )

    def show(self, img: np.ndarray) -> np.ndarray:
        """The picture as the screen emits it (before the camera): levels, tint, resolution, pixel grid."""
        import cv2

        H, W = img.shape[:2]
        out = self.black + (self.white - self.black) * np.power(np.clip(img, 0, 1), self.gamma)
        out = out * self.tint
        sw, sh = max(2, int(W * self.soften)), max(2, int(H * self.soften))
        out = cv2.resize(cv2.resize(out, (sw, sh), interpolation=cv2.INTER_AREA), (W, H),
                         interpolation=cv2.INTER_LINEAR)  # fmt: skip
        if self._grid is None or self._grid.shape[:2] != (H, W):
            yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
            c, s = np.cos(self.grid_angle), np.sin(self.grid_angle)
            grid = np.cos(2 * np.pi * (c * xx + s * yy) / self.grid_period) * np.cos(
                2 * np.pi * (-s * xx + c * yy) / self.grid_period
            )
            self._grid = (1.0 + self.grid_amp * grid)[..., None]
        return out * self._grid

    def refresh(self, t: float, H: int) -> np.ndarray:
        """Per-row gain at time t: refresh flicker and a rolling band (display vs camera timing)."""
        rows = np.arange(H, dtype=np.float32) / H
        band = self.band_amp * np.sin(2 * np.pi * (rows / self.band_period - self.band_speed * t))
        return (1.0 + self.flicker_amp * np.sin(2 * np.pi * self.flicker_hz * t) + band).astype(np.float32)


# --------------------------------------------------------------------------------------------------
# Camera


@dataclass
class _Camera:
    """Optics, auto exposure / white balance and sensor noise, drawn the same for every class."""

    blur: float
    noise: float
    target_mean: np.ndarray
    target_std: np.ndarray
    vignette: float
    gain: np.ndarray | None = None  # per-channel (scale, offset), fixed on the first frame
    falloff: np.ndarray | None = None  # vignetting field, made on the first frame

    @classmethod
    def draw(cls, rng, condition: str) -> _Camera:
        bright = rng.uniform(0.45, 0.62) if condition == "controlled" else rng.uniform(0.3, 0.5)
        contrast = rng.uniform(0.16, 0.26)
        return cls(
            blur=rng.uniform(0.3, 1.0),
            noise=rng.uniform(1.0, 4.0) / 255.0,
            target_mean=(bright + rng.normal(0, 0.03, 3)).astype(np.float32),
            target_std=(contrast * (1 + rng.normal(0, 0.06, 3))).astype(np.float32),
            vignette=rng.uniform(0.0, 0.25),
        )

    def capture(self, rng, light: np.ndarray) -> np.ndarray:
        """Turn scene radiance (H, W, 3) float into an RGB uint8 frame."""
        import cv2

        H, W = light.shape[:2]
        img = cv2.GaussianBlur(light, (0, 0), self.blur)
        if self.falloff is None:
            yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
            r2 = ((xx - W / 2) / W) ** 2 + ((yy - H / 2) / H) ** 2
            self.falloff = (1.0 - self.vignette * r2 * 2)[..., None]
        img = img * self.falloff
        if self.gain is None:
            # auto exposure and white balance: the clip's level and contrast come from the camera's
            # random settings, not from the scene, so they carry no class information
            flat = img.reshape(-1, 3)
            balance = self.target_mean / (flat.mean(0) + 1e-6)  # grey-world white balance
            luma = (flat * balance) @ np.array([0.299, 0.587, 0.114], np.float32)
            contrast = float(self.target_std.mean()) / (float(luma.std()) + 1e-6)
            # x -> target_mean + contrast * (balance * x - target_mean): exact channel means, set contrast
            self.gain = np.stack([contrast * balance, (1.0 - contrast) * self.target_mean])
        img = img * self.gain[0] + self.gain[1]
        img = img + rng.normal(0.0, self.noise, img.shape).astype(np.float32)
        return np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------------------------------
# Clips


def _transform_box(matrix: np.ndarray, box: np.ndarray) -> np.ndarray:
    x, y, w, h = box
    corners = np.array([[x, y], [x + w, y], [x, y + h], [x + w, y + h]])
    mapped = corners @ matrix[:, :2].T + matrix[:, 2]
    lo, hi = mapped.min(0), mapped.max(0)
    return np.array([lo[0], lo[1], hi[0] - lo[0], hi[1] - lo[1]])


def _render_clip(
    rng: np.random.Generator,
    kind: str,
    person: _Person,
    *,
    H: int,
    W: int,
    n: int,
    fps: float,
    condition: str,
    support: str,
    device: str,
    source: _Source | None,
    live_motion: float = 1.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frames (n, H, W, 3) uint8, face boxes (n, 4) and eye centres (n, 4) of one clip. ``live_motion``
    scales a rendered person's motion (:func:`_live_poses`), the live one's and the replayed one's alike;
    the attack medium's own motion (a hand, a fixed support) stays as drawn."""
    import cv2

    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    camera = _Camera.draw(rng, condition)
    still = kind in ("print", "screen_photo")
    if kind == "bona_fide":
        content = _content(rng, person, source, H, W, n, fps, condition, still=False, motion=live_motion)
        attach_pulse(content, rng, kind, n, fps)  # live skin pulses
        frames, boxes, eyes = np.empty((n, H, W, 3), np.uint8), np.empty((n, 4)), np.empty((n, 4))
        for i in range(n):
            img, boxes[i], eyes[i] = content.frame(i)
            frames[i] = camera.capture(rng, img)
        return frames, boxes, eyes

    # an attack: the picture (with its own background) on paper or a screen, in another room
    zoom = rng.uniform(0.85, 1.35)  # > 1: the picture fills the view, no border visible
    # the face is drawn smaller by the zoom, so faces in attacks have the size of live ones
    content = _content(rng, person, source, H, W, n, fps, rng.choice(["controlled", "adverse"]), still, 1 / zoom,
                       live_motion)  # fmt: skip
    attach_pulse(content, rng, kind, n, fps)  # a replayed recording's pulse, weakened and delayed; prints: none
    room = _background(rng, H, W, condition)
    room_light = rng.uniform(0.7, 1.1)
    medium_is_print = kind == "print"
    screen = None if medium_is_print else _Screen.draw(rng, device)
    # the medium's margin: white paper or a dark bezel
    margin = rng.uniform(0.0, 0.12) * max(H, W)
    edge = [float(rng.uniform(0.85, 0.97) if medium_is_print else rng.uniform(0.01, 0.1))] * 3
    angle0 = np.deg2rad(rng.normal(0, 2.0))
    shift = rng.uniform(-0.06, 0.06, 2) * np.array([W, H])
    motion = _rigid_motion(rng, n, fps, support)
    glare_pos = rng.uniform(0, 1, 2) * np.array([W, H])
    glare_amp = 0.0 if medium_is_print else rng.uniform(0.0, 0.12)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    glare = glare_amp * np.exp(-(((xx - glare_pos[0]) ** 2 + (yy - glare_pos[1]) ** 2) / (0.08 * (H * W))))
    mb = int(round(margin))
    still_picture = None
    frames, boxes, eyes = np.empty((n, H, W, 3), np.uint8), np.empty((n, 4)), np.empty((n, 4))
    for i in range(n):
        if still_picture is None or not still:
            img, box, eye = content.frame(i)
            pic = _print_medium(rng, img) if medium_is_print else screen.show(img)
            pic = cv2.copyMakeBorder(pic, mb, mb, mb, mb, cv2.BORDER_CONSTANT, value=edge)
            if still:
                still_picture = (pic, box, eye)
        else:
            pic, box, eye = still_picture
        dx, dy, da, ds = motion[i]
        s = zoom * np.exp(ds)
        a = angle0 + da
        centre = np.array([W / 2, H / 2]) + shift + np.array([dx, dy])
        pc = np.array([pic.shape[1] / 2, pic.shape[0] / 2])
        rot = s * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        matrix = np.column_stack([rot, centre - rot @ pc])
        warped = cv2.warpAffine(pic, matrix, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        cover = cv2.warpAffine(np.ones(pic.shape[:2], np.float32), matrix, (W, H), flags=cv2.INTER_LINEAR)
        if screen is not None:
            warped = warped * screen.refresh(i / fps, H)[:, None, None]
        scene = room * room_light * (1 - cover[..., None]) + warped * cover[..., None] + glare[..., None]
        frames[i] = camera.capture(rng, scene.astype(np.float32))
        offset = np.array([[1, 0, mb], [0, 1, mb]], np.float64)  # content -> picture with margin
        full = np.vstack([matrix, [0, 0, 1]]) @ np.vstack([offset, [0, 0, 1]])
        boxes[i] = _transform_box(full[:2], box)
        eyes[i] = (np.column_stack([eye.reshape(2, 2), np.ones(2)]) @ full[:2].T).reshape(4)
    return frames, boxes, eyes


def _content(rng, person, source, H, W, n, fps, condition, still, size=1.0, motion=1.0):
    """What the camera (bona fide) or the attack medium shows; ``size`` scales the face, ``motion`` a
    rendered person's motion (a real source video's cannot be scaled)."""
    if source is not None:
        return _SourceContent(rng, source, H, W, n, still, size)
    return _RenderedContent(rng, person, H, W, n, fps, str(condition), still, size, motion)


def render_sample(
    kind: str = "bona_fide",
    *,
    seed: int = 0,
    subject: int = 1,
    size: tuple[int, int] = (160, 120),
    frames: int = 50,
    fps: float = 25.0,
    support: str = "fixed",
    condition: str = "controlled",
    device: str = "highdef",
    live_motion: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Render one synthetic clip in memory.

    Parameters
    ----------
    kind : str
        ``bona_fide``, ``print`` (printed photo), ``screen_photo`` or ``screen_video`` (replay).
    seed, subject : int
        The clip is a function of both; a subject looks the same in all its clips.
    size : (width, height)
    frames : int
    fps : float
    support : str
        ``fixed`` or ``hand`` (attacks).
    condition : str
        ``controlled`` or ``adverse`` lighting and background.
    device : str
        Replay screen: ``mobile`` (small, soft) or ``highdef``.
    live_motion : float
        Scale of the rendered person's motion (sway, breathing, head turns, blinks, speech, brows), in
        [0, 10]: 0 a motionless face (its pulse and the camera noise still change the pixels), 1 the
        usual one. The same random draws whatever the value, so only the amplitude changes.

    Returns
    -------
    frames : ndarray, uint8, (T, H, W, 3)
    boxes : ndarray, float64, (T, 4)
        True face box x, y, w, h in every frame.
    """
    W, H = _check_size(size)
    if frames < 1:
        raise ValueError(f"frames must be >= 1, got {frames}")
    live_motion = check_live_motion(live_motion)
    person = _Person.draw(_rng(seed, subject, "person"))
    rng = _rng(seed, subject, kind, support, condition, device)
    video, boxes, _ = _render_clip(rng, kind, person, H=H, W=W, n=frames, fps=fps, condition=condition,
                                   support=support, device=device, source=None, live_motion=live_motion)  # fmt: skip
    return video, boxes


def check_live_motion(value) -> float:
    """``value`` as a float in [0, :data:`MAX_LIVE_MOTION`]; a ValueError naming it otherwise."""
    from evm.validation import real

    return real(value, "live_motion", minimum=0.0, maximum=MAX_LIVE_MOTION)


def _check_size(size) -> tuple[int, int]:
    try:
        W, H = (int(v) for v in size)
    except (TypeError, ValueError):
        raise ValueError(f"size must be (width, height), got {size!r}") from None
    if W < 32 or H < 32 or W % 2 or H % 2:
        raise ValueError(f"size must be even and at least 32x32 (H.264 yuv420p), got {W}x{H}")
    return W, H
