"""Upper bounds of the numbers a user gives (options, study configs, arguments) and of what input files may make
us allocate: sanity bounds far above any useful setting, checked before anything is allocated.

A light module (no torch, no numpy) so that the command line can show them in its option checks.
"""

from __future__ import annotations

#: PrepareConfig numbers: crop side in pixels, frames per clip, frame step, clips per video, detector stride,
#: border (x the face box side), warm-up in seconds.
PREPARE = {
    "size": 1024,
    "clip_len": 1024,
    "frame_step": 1000,
    "clips_per_video": 10_000,
    "detect_stride": 10_000,
    "border": 20.0,
    "warmup": 86_400.0,
}
#: At most this many bytes of clips per video (what prepare stores for a video).
MAX_VIDEO_BYTES = 4 * 2**30
#: Worker processes and threads (prepare, DataLoader workers, synth, torch threads).
MAX_WORKERS = 256
#: Training epochs (and early-stopping patience).
MAX_EPOCHS = 100_000
#: Clips per batch (training, evaluation, prediction).
MAX_BATCH_SIZE = 65_536
#: Layer widths: LSTM hidden size, attention and projection sizes, trunk channels.
MAX_WIDTH = 65_536
#: Frame numbers in a face annotation file when the video's frame count is unknown (24 h at 115 fps).
MAX_ANNOTATED_FRAMES = 10_000_000
#: Seeds (numpy's and torch's generators take 63-bit seeds).
MAX_SEED = 2**63 - 1
#: Scale of a generated person's motion (``antispoof synth --live-motion``): ten times the usual motion already
#: moves the face by a sixth of its width.
MAX_LIVE_MOTION = 10.0
