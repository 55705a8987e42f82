"""The XT-slice figure of docs/method.md: input | linear EVM | Riesz phase method on a sample clip.

python benchmarks/phase_figure.py [--video ../shared/data/videos/baby.mp4] [-o docs/phase-xt.png]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import evm  # noqa: E402
from evm.io import read_video  # noqa: E402
from evm.visualize import save_png, spatiotemporal_slice  # noqa: E402

VIDEO = Path(__file__).resolve().parents[2] / "shared" / "data" / "videos" / "baby.mp4"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--video", type=Path, default=VIDEO)
    default_png = Path(__file__).resolve().parents[1] / "docs" / "phase-xt.png"
    parser.add_argument("-o", "--output", type=Path, default=default_png)
    parser.add_argument("--alpha", type=float, default=20.0)
    parser.add_argument("--row", type=float, default=0.55, help="slice row as a fraction of the height")
    parser.add_argument("--duration", type=float, default=8.0)
    parser.add_argument("--scale", type=float, default=0.5)
    args = parser.parse_args()
    frames, fps = read_video(args.video, duration=args.duration, scale=args.scale)
    band = (0.4, 3.0)
    linear = evm.magnify(frames, fps, args.alpha, *band, lambda_c=16)
    riesz = evm.magnify(frames, fps, args.alpha, *band, pyramid="riesz")
    row = int(args.row * frames.shape[1])
    slices = [spatiotemporal_slice(v, row=row) for v in (frames, linear, riesz)]
    gap = np.full((slices[0].shape[0], 4, 3), 255, np.uint8)
    image = np.concatenate([slices[0], gap, slices[1], gap, slices[2]], axis=1)
    save_png(args.output, image)
    print(
        f"wrote {args.output} ({image.shape[1]}x{image.shape[0]}): row {row} of {args.video.name} at scale "
        f"{args.scale:g}, {len(frames)} frames; input | linear (alpha {args.alpha:g}, lambda_c 16) | riesz "
        f"(alpha {args.alpha:g}, sigma {evm.phase.DEFAULT_SIGMA:g}), Butterworth {band[0]:g}-{band[1]:g} Hz"
    )


if __name__ == "__main__":
    main()
