"""Face detection, steady tracks and crop geometry."""

import numpy as np
import pytest

from antispoof.data import NoFaceError, VideoRecord
from antispoof.data.faces import (
    FaceDetectorError,
    HaarDetector,
    YuNetDetector,
    crop_clip,
    crop_window,
    detect_clip,
    face_track,
    stable_track,
)
from antispoof.data.synth import render_sample


def centres(boxes):
    boxes = np.asarray(boxes, float)
    return boxes[:, :2] + boxes[:, 2:4] / 2


def iou(a, b):
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0, x1 - x0) * max(0, y1 - y0)
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


# --------------------------------------------------------------------------------------------------
# Crop geometry


def test_crop_window_is_the_enlarged_square_around_the_box():
    assert crop_window((10, 20, 40, 50), border=1.6) == pytest.approx((-10, 5, 80))  # side 1.6 * 50, same centre
    with pytest.raises(ValueError, match="not a face box"):
        crop_window((0, 0, 0, 10))


def test_crop_at_unit_scale_copies_pixels_exactly(rng):
    frame = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    out = crop_clip(frame[None], (30, 20, 40, 40), border=1.0, size=40)
    assert out.shape == (1, 40, 40, 3) and out.dtype == np.uint8
    assert np.array_equal(out[0], frame[20:60, 30:70])
    # border 1.6 on a 25-pixel box is a 40-pixel window centred on the box
    out = crop_clip(frame[None], (37.5, 27.5, 25, 25), border=1.6, size=40)
    assert np.array_equal(out[0], frame[20:60, 30:70])


def ramp_frame(height=200, width=256, slope=1):
    """R = slope * x, G = slope * y: every pixel states its own coordinates."""
    frame = np.zeros((height, width, 3), np.uint8)
    frame[..., 0] = slope * np.arange(width)[None, :]
    frame[..., 1] = slope * np.arange(height)[:, None]
    return frame


@pytest.mark.parametrize(
    "shape, slope, box, size",
    [
        ((128, 128), 2, (30, 30, 50, 50), 32),
        ((64, 64), 4, (20, 20, 16, 16), 224),
        ((100, 128), 2, (40, 30, 40, 35), 100),
    ],
)
def test_crop_maps_pixel_centres_to_pixel_centres(shape, slope, box, size):
    """Down- (area pre-shrink) and up-scaling: output pixel u sees input x0 + (u + 0.5) * s - 0.5."""
    frame = ramp_frame(*shape, slope)
    out = crop_clip(frame[None], box, border=1.6, size=size)[0].astype(float) / slope
    x0, y0, side = crop_window(box, 1.6)
    s = side / size
    u = np.arange(size)
    inside = slice(2, size - 2)  # away from the area filter's frame edge
    err_x = out[size // 2, inside, 0] - (x0 + (u[inside] + 0.5) * s - 0.5)
    err_y = out[inside, size // 2, 1] - (y0 + (u[inside] + 0.5) * s - 0.5)
    for err in (err_x, err_y):
        # two uint8 roundings (shrink, warp) bound single pixels; the mean shows a geometric offset
        assert np.abs(err).max() <= 1.0 / slope + 1e-9
        assert abs(err.mean()) < 0.2  # pixels: a half-pixel convention slip would give 0.5


def test_crop_pads_with_edge_pixels_outside_the_frame():
    frame = ramp_frame(100, 120)
    out = crop_clip(frame[None], (-20, 60, 40, 40), border=1.6, size=64)[0]
    x0, y0, side = crop_window((-20, 60, 40, 40), 1.6)  # window from x = -32 to 32, y = 48 to 112
    s = side / 64
    left = np.flatnonzero(x0 + (np.arange(64) + 0.5) * s - 0.5 < 0)
    below = np.flatnonzero(y0 + (np.arange(64) + 0.5) * s - 0.5 > 99)
    assert len(left) > 20 and len(below) > 5
    assert (out[:, left, 0] == 0).all()  # column 0 repeated
    assert (out[below, :, 1] == 99).all()  # last row repeated


def test_crop_clip_takes_one_box_per_frame(rng):
    frames = rng.integers(0, 256, (3, 60, 80, 3), dtype=np.uint8)
    boxes = np.array([[10, 10, 20, 20], [12, 10, 20, 20], [14, 10, 20, 20]], float)
    out = crop_clip(frames, boxes, border=1.0, size=20)
    for i in range(3):
        assert np.array_equal(out[i], frames[i, 10:30, 10 + 2 * i : 30 + 2 * i])
    with pytest.raises(ValueError, match="need one box per frame: 3 frames"):
        crop_clip(frames, boxes[:2])
    with pytest.raises(ValueError, match="RGB uint8"):
        crop_clip(frames.astype(np.float32), boxes)


# --------------------------------------------------------------------------------------------------
# Steady tracks


def noisy_track(rng, n=100, sigma=2.0, velocity=(0.0, 0.0)):
    truth = np.array([50.0, 40.0, 60.0, 60.0])
    t = np.arange(n)[:, None]
    true_boxes = np.repeat(truth[None], n, axis=0)
    true_boxes[:, :2] += t * np.asarray(velocity)
    noisy = true_boxes + rng.normal(0, sigma, (n, 4)) * [1, 1, 0.5, 0.5]
    return true_boxes, noisy


def test_fixed_track_does_not_move_and_sits_on_the_face(rng):
    truth, noisy = noisy_track(rng)
    per_frame = [[(*b, 10.0)] for b in noisy]
    per_frame[5] = []  # missed detections
    per_frame[6] = []
    per_frame[7] = [(*noisy[7], 3.0), (0.0, 0.0, 20.0, 20.0, 12.0)]  # a stronger false detection far away
    per_frame[8] = [(0.0, 0.0, 20.0, 20.0, 15.0)]  # only a false detection: dropped, then filled
    track = stable_track(per_frame)
    assert track.shape == (100, 4)
    assert np.ptp(track, axis=0).max() == 0.0  # the crop window never moves
    assert np.abs(centres(track[:1]) - centres(truth[:1])).max() < 1.0


def test_smooth_track_follows_motion_without_jitter(rng):
    truth, noisy = noisy_track(rng, n=150, sigma=2.0, velocity=(0.2, -0.1))
    track = stable_track(noisy, mode="smooth")
    steps = np.diff(centres(track), axis=0)
    # frame-to-frame change is the true motion (0.2, -0.1 px) up to far less than a pixel
    assert np.abs(steps - [0.2, -0.1]).max() < 0.2
    middle = slice(30, 120)  # the Gaussian's edges lag a drifting face
    assert np.abs(centres(track)[middle] - centres(truth)[middle]).max() < 1.0
    assert np.abs(np.diff(centres(noisy), axis=0)).max() > 3  # what it started from


def test_stable_track_rejects_clips_without_a_face():
    with pytest.raises(NoFaceError, match="no face in any of the 3 frames"):
        stable_track([[], [], []])
    with pytest.raises(NoFaceError):
        stable_track(np.full((4, 4), np.nan))
    with pytest.raises(ValueError, match="mode must be"):
        stable_track([[(0, 0, 1, 1)]], mode="median")


def test_haar_on_a_static_synthetic_face_gives_a_steady_box():
    """A printed photo on a fixed support: the face does not move, Haar boxes do (noise); the track must not."""
    video, truth = render_sample("print", seed=3, subject=3, size=(160, 120), frames=25, support="fixed")
    detections = detect_clip(video, HaarDetector())
    assert all(detections), "the rendered face should be found in every frame"
    raw = np.array([d[0][:4] for d in detections])
    assert np.abs(np.diff(centres(raw), axis=0)).max() >= 1.0  # raw detections jitter
    smooth = stable_track(detections, mode="smooth")
    assert np.abs(np.diff(centres(smooth), axis=0)).max() < 0.1
    fixed = stable_track(detections)
    assert np.ptp(fixed, axis=0).max() == 0.0
    assert iou(fixed[0], truth.mean(axis=0)) > 0.6


def test_detect_clip_stride(rng):
    calls = []

    def detector(frame):
        calls.append(frame)
        return [(1.0, 2.0, 3.0, 4.0, 1.0)]

    frames = rng.integers(0, 256, (7, 8, 8, 3), dtype=np.uint8)
    found = detect_clip(frames, detector, stride=3)
    assert len(calls) == 3 and [bool(f) for f in found] == [True, False, False, True, False, False, True]
    assert np.array_equal(stable_track(found), np.tile([1.0, 2.0, 3.0, 4.0], (7, 1)))


def test_face_track_prefers_the_annotation(tmp_path, rng):
    face = tmp_path / "a.face"
    face.write_text("0 10 20 30 30\n1 0 0 0 0\n2 12 20 30 30\n")
    record = VideoRecord("replay-attack", "a", tmp_path / "a.mov", 1, None, "001", "train",
                         annotation=face, annotation_format="replay")  # fmt: skip

    def failing_detector(frame):
        raise AssertionError("the annotation must be used")

    frames = rng.integers(0, 256, (4, 60, 80, 3), dtype=np.uint8)
    track = face_track(frames, record=record, detector=failing_detector)
    assert np.array_equal(track, np.tile([11.0, 20.0, 30.0, 30.0], (4, 1)))  # median of 10, 10, 12, 12
    face.write_text("0 0 0 0 0\n1 0 0 0 0\n")  # no face annotated at all: the detector takes over
    track = face_track(frames, record=record, detector=lambda f: [(5.0, 6.0, 7.0, 8.0, 1.0)])
    assert np.array_equal(track, np.tile([5.0, 6.0, 7.0, 8.0], (4, 1)))


# --------------------------------------------------------------------------------------------------
# Detectors


def test_haar_detector_checks_its_input(tmp_path):
    det = HaarDetector()
    assert det(np.zeros((60, 80, 3), np.uint8)) == []
    with pytest.raises(ValueError, match="RGB uint8 frame"):
        det(np.zeros((60, 80), np.uint8))
    with pytest.raises(FaceDetectorError, match="no such cascade file"):
        HaarDetector(tmp_path / "none.xml")
    bad = tmp_path / "bad.xml"
    bad.write_text("<opencv_storage></opencv_storage>")
    with pytest.raises(FaceDetectorError, match="not a usable OpenCV cascade file"):
        HaarDetector(bad)


def test_yunet_needs_a_real_model_file(tmp_path):
    with pytest.raises(FaceDetectorError, match="no such YuNet model file .*face_detection_yunet_2023mar.onnx"):
        YuNetDetector(tmp_path / "face_detection_yunet_2023mar.onnx")
    wrong = tmp_path / "model.pt"
    wrong.write_bytes(b"\0" * 16)
    with pytest.raises(FaceDetectorError, match="a YuNet model is an .onnx file"):
        YuNetDetector(wrong)
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"this is not an onnx graph")
    with pytest.raises(FaceDetectorError, match="not a usable YuNet ONNX model"):
        YuNetDetector(junk)
