"""Quality of motion magnification against ground truth (protocol after Oh et al., ECCV 2018).

    python benchmarks/bench_quality.py [--frames 60] [--size 128] [--sigmas 0,1,2,3] [--quick]

For each texture (crops of the sample clips in ../shared/data/videos, converted to
luma; a generated texture when they are missing) and each motion size ``d`` and
amplification ``alpha``:

* the input is the texture translated by ``d * sin(2 pi f t)`` pixels along a
  fixed diagonal direction, applied exactly with the Fourier shift theorem on a
  larger tile whose centre is cropped (no wrap-around in the crop);
* Gaussian noise of standard deviation ``noise`` grey levels is added to the
  input only, which is then rounded to uint8;
* the ground truth is the same texture translated by ``(1 + alpha) * d * sin(...)``;
* each method magnifies the clip with the zero-phase ideal filter around ``f``,
  and every output frame (skipping ``--skip`` frames at each end, borders of
  ``--border`` pixels cropped) is compared with the ground truth by SSIM
  (scikit-image ``structural_similarity``, ``data_range=255``).

Rows: the unmagnified input, linear EVM (Laplacian pyramid, MIT gain rule with
``lambda_c``), and the Riesz phase method at each smoothing ``sigma`` of
``--sigmas``.  Mean SSIM over textures and frames.  Nothing is asserted.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import evm  # noqa: E402

VIDEOS = Path(__file__).resolve().parents[2] / "shared" / "data" / "videos"
# (clip, frame index, top, left) of the texture crops: textured regions of the sample clips.
CROPS = [("baby.mp4", 0, 200, 300), ("face.mp4", 0, 100, 150), ("wrist.mp4", 0, 150, 200), ("guitar.mp4", 0, 100, 150)]


def textures(tile: int) -> list[tuple[str, np.ndarray]]:
    """Luma tiles (float64, tile x tile) from the sample clips, or one generated texture."""
    out = []
    if VIDEOS.is_dir():
        from evm.io import VideoReader

        for name, index, top, left in CROPS:
            path = VIDEOS / name
            if not path.exists():
                continue
            frame = next(f for i, f in enumerate(VideoReader(path)) if i == index)
            y = frame.astype(np.float64) @ [0.299, 0.587, 0.114]
            top, left = min(top, y.shape[0] - tile), min(left, y.shape[1] - tile)
            out.append((name, y[top : top + tile, left : left + tile]))
    if not out:
        rng = np.random.default_rng(0)
        noise = rng.standard_normal((tile, tile))
        f = np.fft.fftfreq(tile)
        spectrum = np.fft.fft2(noise) / (np.hypot(f[:, None], f[None, :]) + 1.0 / tile)  # 1/f texture
        y = np.real(np.fft.ifft2(spectrum))
        out.append(("generated 1/f", 128 + 45 * (y - y.mean()) / y.std()))
    return out


def shifted(tile: np.ndarray, dy: float, dx: float, size: int) -> np.ndarray:
    """The tile translated by (dy, dx) pixels (Fourier shift theorem), centre ``size`` x ``size`` crop."""
    n, m = tile.shape
    fy, fx = np.fft.fftfreq(n)[:, None], np.fft.fftfreq(m)[None, :]
    out = np.real(np.fft.ifft2(np.fft.fft2(tile) * np.exp(-2j * np.pi * (fy * dy + fx * dx))))
    top, left = (n - size) // 2, (m - size) // 2
    return out[top : top + size, left : left + size]


def ssim_series(video: np.ndarray, truth: np.ndarray, skip: int, border: int) -> float:
    from skimage.metrics import structural_similarity

    b = slice(border, -border if border else None)
    scores = [
        structural_similarity(video[t][b, b].astype(np.float64), truth[t][b, b], data_range=255)
        for t in range(skip, len(video) - skip)
    ]
    return float(np.mean(scores))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--freq", type=float, default=2.0, help="motion frequency, Hz")
    parser.add_argument("--size", type=int, default=128, help="output crop side, pixels")
    parser.add_argument("--sigmas", default="0,1,2,3", help="Riesz phase smoothing sigmas to compare")
    parser.add_argument("--noise", default="0,2,5,10", help="input noise standard deviations, grey levels")
    parser.add_argument("--pairs", default="0.1:10,0.25:8,0.5:9,1:4", help="d:alpha pairs")
    parser.add_argument("--lambda-c", type=float, default=16.0, help="linear EVM cutoff wavelength")
    parser.add_argument("--skip", type=int, default=5, help="frames skipped at each end")
    parser.add_argument("--border", type=int, default=8, help="pixels cropped at each side before SSIM")
    parser.add_argument("--quick", action="store_true", help="one texture, noise 0 and 5")
    args = parser.parse_args()

    T, fps, f, size = args.frames, args.fps, args.freq, args.size
    sigmas = [float(s) for s in args.sigmas.split(",")]
    noises = [float(s) for s in args.noise.split(",")]
    pairs = [tuple(float(v) for v in p.split(":")) for p in args.pairs.split(",")]
    tiles = textures(size + 32)
    if args.quick:
        tiles, noises = tiles[:1], [0.0, 5.0]
    band = (f - 0.5, f + 0.5)
    direction = (np.sin(np.radians(30)), np.cos(np.radians(30)))  # (dy, dx) unit vector
    t = np.arange(T) / fps
    wave = np.sin(2 * np.pi * f * t)
    print(
        f"# quality: {len(tiles)} texture(s) ({', '.join(n for n, _ in tiles)}), {size}x{size},"
        f" {T} frames @ {fps:g} fps,"
        f" motion d*sin(2 pi {f:g} t) along 30 deg, ideal filter {band[0]:g}-{band[1]:g} Hz,"
        f" SSIM over frames {args.skip}..{T - args.skip - 1}, border {args.border} px"
    )
    print()
    methods = ["input", f"linear (laplacian, lambda_c {args.lambda_c:g})"] + [f"riesz sigma {s:g}" for s in sigmas]
    header = "| d (px) | alpha | (1+a)d | noise | " + " | ".join(methods) + " |"
    print(header)
    print("|" + "|".join("---" for _ in range(4 + len(methods))) + "|")
    rng = np.random.default_rng(1)
    t0 = time.perf_counter()
    for d, alpha in pairs:
        for noise in noises:
            scores = {m: [] for m in methods}
            for _, tile in tiles:
                clean = np.stack([shifted(tile, d * w * direction[0], d * w * direction[1], size) for w in wave])
                big = [(1 + alpha) * d * w for w in wave]
                truth = np.stack([shifted(tile, b * direction[0], b * direction[1], size) for b in big])
                noisy = clean + rng.normal(0.0, noise, clean.shape) if noise else clean
                video = np.clip(np.round(noisy), 0, 255).astype(np.uint8)
                scores[methods[0]].append(ssim_series(video, truth, args.skip, args.border))
                lin = evm.magnify(video, fps, alpha, *band, temporal="ideal", lambda_c=args.lambda_c)
                scores[methods[1]].append(ssim_series(lin, truth, args.skip, args.border))
                for s, name in zip(sigmas, methods[2:]):
                    out = evm.magnify(video, fps, alpha, *band, pyramid="riesz", temporal="ideal", sigma=s)
                    scores[name].append(ssim_series(out, truth, args.skip, args.border))
            cells = " | ".join(f"{np.mean(scores[m]):.3f}" for m in methods)
            print(f"| {d:g} | {alpha:g} | {(1 + alpha) * d:.2f} | {noise:g} | {cells} |", flush=True)
    print(f"\n({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
