"""Speed and memory of the magnification core, against a cv2 + numpy reference run in the same process.

    python benchmarks/bench_magnify.py [--frames 300] [--size 640x480] [--quick]

Prints one table:

* frames/s of ``evm.magnify`` on an in-memory clip for each pyramid x filter;
* frames/s of the streaming ``Magnifier`` fed one frame at a time;
* frames/s of a careful reference pipeline: per-frame ``cv2.pyrDown``/``cv2.pyrUp``
  Laplacian pyramid in float32, MIT's first-order IIR pair per level in numpy,
  ``cv2.transform`` for the colour conversions; and the ratio;
* the phase method (``pyramid="riesz"``) beside them, and a straightforward
  per-frame implementation of the same method (OpenCV pyramid and Gaussian blur,
  numpy for the Riesz transform, phase, filter and shift, float32, buffers reused);
* peak resident memory of a fresh process that streams 300 and 1200 frames
  (generated on the fly, never held) through the ``Magnifier``, linear and riesz.

Timings exclude Numba compilation (one warm-up call first).  Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import evm  # noqa: E402
from evm import _kernels  # noqa: E402
from evm.color import RGB_TO_YIQ, YIQ_TO_RGB  # noqa: E402


def make_clip(frames: int, height: int, width: int) -> np.ndarray:
    """Textured frames with a little noise, so nothing is trivially constant."""
    rng = np.random.default_rng(0)
    base = rng.integers(30, 225, (height, width, 3), dtype=np.uint8)
    out = np.empty((frames, height, width, 3), np.uint8)
    for t in range(frames):
        out[t] = np.roll(base, t % 3, axis=1)
    return out


class ReferencePipeline:
    """Per-frame EVM from OpenCV primitives and in-place numpy arithmetic, float32.

    Careful on purpose: every buffer is allocated once and reused (fresh pages cost
    more than the arithmetic), OpenCV does the pyramid and the colour matrices.
    It builds and filters every level, as a straightforward implementation does.
    """

    def __init__(self, shape, alpha=10.0, lambda_c=16.0, r1=0.4, r2=0.05, chroma=0.1):
        self.levels = evm.max_pyramid_levels(shape)
        self.gains = evm.laplacian_gains(shape, self.levels, alpha, lambda_c).astype(np.float32)
        self.r1, self.r2 = np.float32(r1), np.float32(r2)
        self.to_yiq = RGB_TO_YIQ.astype(np.float32)
        # chroma attenuation folded into the output matrix (a strided numpy slice costs ~5 ms)
        self.delta_to_rgb = (YIQ_TO_RGB * [1.0, chroma, chroma]).astype(np.float32)
        h, w = shape[:2]
        self.shapes = []
        for _ in range(self.levels):
            self.shapes.append((h, w, 3))
            h, w = (h + 1) // 2, (w + 1) // 2
        new = lambda: [np.empty(s, np.float32) for s in self.shapes]  # noqa: E731
        self.gauss, self.up, self.band, self.tmp, self.acc = new(), new(), new(), new(), new()
        self.lp1 = self.lp2 = None
        self.f32 = np.empty(shape, np.float32)
        self.rgb = np.empty(shape, np.float32)

    def __call__(self, frame: np.ndarray, out: np.ndarray) -> None:
        import cv2

        K, g, up, band, tmp, acc = self.levels, self.gauss, self.up, self.band, self.tmp, self.acc
        np.copyto(self.f32, frame)
        cv2.transform(self.f32, self.to_yiq, dst=g[0])
        for k in range(K - 1):
            cv2.pyrDown(g[k], dst=g[k + 1], dstsize=self.shapes[k + 1][1::-1])
            cv2.pyrUp(g[k + 1], dst=up[k], dstsize=self.shapes[k][1::-1])
            np.subtract(g[k], up[k], out=band[k])
        np.copyto(band[K - 1], g[K - 1])
        if self.lp1 is None:
            self.lp1 = [b.copy() for b in band]
            self.lp2 = [b.copy() for b in band]
        for k in range(K):
            lp1, lp2, t = self.lp1[k], self.lp2[k], tmp[k]
            np.subtract(band[k], lp1, out=t)
            t *= self.r1
            lp1 += t
            np.subtract(band[k], lp2, out=t)
            t *= self.r2
            lp2 += t
            np.subtract(lp1, lp2, out=band[k])
            band[k] *= self.gains[k]
        np.copyto(acc[K - 1], band[K - 1])
        for k in range(K - 2, -1, -1):
            cv2.pyrUp(acc[k + 1], dst=up[k], dstsize=self.shapes[k][1::-1])
            np.add(up[k], band[k], out=acc[k])
        cv2.transform(acc[0], self.delta_to_rgb, dst=self.rgb)
        self.rgb += self.f32
        self.rgb += np.float32(0.5)
        np.clip(self.rgb, 0, 255, out=self.rgb)
        np.copyto(out, self.rgb, casting="unsafe")


class ReferenceRiesz:
    """The Riesz-pyramid phase method per frame with OpenCV and numpy (float32, buffers reused).

    Luma Laplacian pyramid (cv2.pyrDown/pyrUp), Riesz by np.gradient-like differences, quaternion phase
    difference, first-order IIR band-pass on the accumulated phase, cv2.GaussianBlur for the
    amplitude-weighted smoothing, phase shift, collapse, add to R, G and B.
    """

    def __init__(self, shape, alpha=10.0, sigma=2.0, r1=0.4, r2=0.05):
        self.levels = evm.max_pyramid_levels(shape)
        self.alpha, self.sigma = np.float32(alpha), sigma
        self.r1, self.r2 = np.float32(r1), np.float32(r2)
        h, w = shape[:2]
        self.shapes = []
        for _ in range(self.levels):
            self.shapes.append((h, w))
            h, w = (h + 1) // 2, (w + 1) // 2
        self.state = None
        self.luma = np.array([0.299, 0.587, 0.114], np.float32)

    def __call__(self, frame: np.ndarray, out: np.ndarray) -> None:
        import cv2

        K, S = self.levels, self.shapes
        g = [frame.astype(np.float32) @ self.luma]
        for k in range(K - 1):
            g.append(cv2.pyrDown(g[k], dstsize=S[k + 1][::-1]))
        bands = [g[k] - cv2.pyrUp(g[k + 1], dstsize=S[k][::-1]) for k in range(K - 1)]
        if self.state is None:
            self.state = []
            for b in bands:
                z = np.zeros_like(b)
                self.state.append({"prev": None, "acc": [z.copy(), z.copy()], "lp1": [z.copy(), z.copy()],
                                   "lp2": [z.copy(), z.copy()]})  # fmt: skip
        change = np.zeros(S[K - 1], np.float32)
        for k in range(K - 2, -1, -1):
            b, st = bands[k], self.state[k]
            pad = cv2.copyMakeBorder(b, 1, 1, 1, 1, cv2.BORDER_REFLECT_101)
            r1 = 0.5 * (pad[1:-1, :-2] - pad[1:-1, 2:])
            r2 = 0.5 * (pad[:-2, 1:-1] - pad[2:, 1:-1])
            ip, r1p, r2p = st["prev"] if st["prev"] is not None else (b, r1, r2)
            st["prev"] = (b, r1, r2)
            real = b * ip + r1 * r1p + r2 * r2p
            qx = ip * r1 - b * r1p
            qy = ip * r2 - b * r2p
            norm = np.sqrt(qx * qx + qy * qy)
            per = np.arctan2(norm, real) / np.maximum(norm, np.float32(1e-30))
            filtered = []
            for c, q in enumerate((qx, qy)):
                st["acc"][c] += per * q
                st["lp1"][c] += self.r1 * (st["acc"][c] - st["lp1"][c])
                st["lp2"][c] += self.r2 * (st["acc"][c] - st["lp2"][c])
                filtered.append(st["lp1"][c] - st["lp2"][c])
            amp = np.sqrt(b * b + r1 * r1 + r2 * r2)
            den = cv2.GaussianBlur(amp, (0, 0), self.sigma, borderType=cv2.BORDER_REFLECT_101)
            fc = cv2.GaussianBlur(amp * filtered[0], (0, 0), self.sigma, borderType=cv2.BORDER_REFLECT_101) / den
            fs = cv2.GaussianBlur(amp * filtered[1], (0, 0), self.sigma, borderType=cv2.BORDER_REFLECT_101) / den
            mc, ms = self.alpha * fc, self.alpha * fs
            mag = np.sqrt(mc * mc + ms * ms)
            sinc = np.sin(mag) / np.maximum(mag, np.float32(1e-30))
            band_change = (np.cos(mag) - 1) * b - sinc * (mc * r1 + ms * r2)
            change = band_change + cv2.pyrUp(change, dstsize=S[k][::-1]) if k < K - 2 else band_change
        rgb = frame.astype(np.float32) + change[..., None] + np.float32(0.5)
        np.clip(rgb, 0, 255, out=rgb)
        np.copyto(out, rgb, casting="unsafe")


def timed(fn, repeat: int = 1) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def stream_peak_rss(frames: int, height: int, width: int, pyramid: str = "laplacian") -> float:
    """Peak RSS (MB) of a fresh process streaming ``frames`` generated frames through a Magnifier."""
    code = (
        "import sys, numpy as np; sys.path.insert(0, %r); import evm;"
        "rng = np.random.default_rng(0); base = rng.integers(30, 225, (%d, %d, 3), dtype=np.uint8);"
        "m = evm.Magnifier(base.shape, 30.0, 10, 0.4, 3.0, pyramid=%r);"
        "exec('for t in range(%d): m.process(np.roll(base, t %% 3, axis=1))');"
        # VmHWM belongs to this exec'd image; ru_maxrss would carry the parent's peak over fork.
        "print([int(l.split()[1]) / 1024 for l in open('/proc/self/status') if l.startswith('VmHWM')][0])"
    ) % (str(Path(__file__).resolve().parents[1]), height, width, pyramid, frames)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--size", default="640x480", help="WxH")
    parser.add_argument("--quick", action="store_true", help="60 frames, no memory runs")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    frames = 60 if args.quick else args.frames
    clip = make_clip(frames, height, width)
    fps, band = 30.0, (0.4, 3.0)

    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    print(
        f"# evm benchmark: {frames} frames of {width}x{height} RGB, {os.cpu_count()} CPUs ({cpu}), "
        f"numba threads {_kernels.threads()}"
    )
    print()

    # Reference pipeline
    ref = ReferencePipeline(clip.shape[1:])
    ref_out = np.empty_like(clip[0])
    ref(clip[0], ref_out)
    t_ref = timed(lambda: [ref(f, ref_out) for f in clip], repeat=3)
    ref_fps = frames / t_ref

    rows = []
    for pyramid in ("laplacian", "gaussian"):
        for temporal in ("butterworth", "iir", "ideal"):
            kw = dict(pyramid=pyramid, temporal=temporal)
            evm.magnify(clip[:64], fps, 10, *band, **kw)  # compile
            t = timed(lambda kw=kw: evm.magnify(clip, fps, 10, *band, **kw), repeat=3)
            rows.append((f"evm.magnify {pyramid}+{temporal}", frames / t))

    m = evm.Magnifier(clip.shape[1:], fps, 10, *band)
    m.process(clip[0])

    def stream():
        for f in clip:
            m.process(f)

    rows.append(("Magnifier laplacian+butterworth, frame by frame", frames / timed(stream, repeat=3)))
    m = evm.Magnifier(clip.shape[1:], fps, 10, *band, temporal="iir", r1=0.4, r2=0.05)
    m.process(clip[0])
    rows.append(("Magnifier laplacian+iir, frame by frame", frames / timed(stream, repeat=3)))
    rows.append(("reference cv2+numpy laplacian+iir, frame by frame", ref_fps))

    # Phase method (Riesz pyramid), default sigma
    for temporal in ("butterworth", "ideal"):
        kw = dict(pyramid="riesz", temporal=temporal)
        evm.magnify(clip[:64], fps, 10, *band, **kw)  # compile
        t = timed(lambda kw=kw: evm.magnify(clip, fps, 10, *band, **kw), repeat=3)
        rows.append((f"evm.magnify riesz+{temporal}", frames / t))
    m = evm.Magnifier(clip.shape[1:], fps, 10, *band, pyramid="riesz")
    m.process(clip[0])
    rows.append(("Magnifier riesz+butterworth, frame by frame", frames / timed(stream, repeat=3)))
    m = evm.Magnifier(clip.shape[1:], fps, 10, *band, pyramid="riesz", temporal="iir", r1=0.4, r2=0.05)
    m.process(clip[0])
    rows.append(("Magnifier riesz+iir, frame by frame", frames / timed(stream, repeat=3)))
    ref_riesz = ReferenceRiesz(clip.shape[1:])
    ref_riesz(clip[0], ref_out)
    t_ref_riesz = timed(lambda: [ref_riesz(f, ref_out) for f in clip], repeat=3)
    rows.append(("reference cv2+numpy riesz+iir, frame by frame", frames / t_ref_riesz))

    print(f"| {'pipeline':52s} | {'frames/s':>9s} | {'x reference':>11s} |")
    print(f"|{'-' * 54}|{'-' * 11}|{'-' * 13}|")
    for name, value in rows:
        print(f"| {name:52s} | {value:9.1f} | {value / ref_fps:11.2f} |")

    if not args.quick:
        print()
        for pyramid in ("laplacian", "riesz"):
            short = stream_peak_rss(300, height, width, pyramid)
            long = stream_peak_rss(1200, height, width, pyramid)
            print(f"| streaming Magnifier ({pyramid}+butterworth), fresh process | peak RSS MB |")
            print("|---|---|")
            print(f"| 300 frames | {short:.0f} |")
            print(f"| 1200 frames | {long:.0f} |")
            print(f"| ratio 1200/300 | {long / short:.3f} |")
            print()
        print(f"\n(this process: peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)")


if __name__ == "__main__":
    main()
