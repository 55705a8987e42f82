"""``evm pulse``: heart rate from a video file, its outputs and its one-line errors."""

import json

import numpy as np
import pytest

from cli.evm_cli import main
from evm.synthetic import pulse_clip
from videos import write_video


def run_cli(capsys, *args):
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    return exc.value.code, out, err


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """12 s at 72 bpm, near-lossless H.264 (crf 0), and its skin rectangle."""
    clip = pulse_clip(360, 30.0, bpm=72.0, noise=2.0, seed=8)
    path = write_video(tmp_path_factory.mktemp("pulse") / "pulse.mp4", clip.video)
    return path, ",".join(map(str, clip.roi))


def test_pulse_reports_the_rate_and_writes_the_plot_and_the_trace(synthetic, tmp_path, capsys):
    path, roi = synthetic
    plot, csv = tmp_path / "pulse.png", tmp_path / "trace.csv"
    code, out, err = run_cli(capsys, "pulse", path, "--roi", roi, "-o", plot, "--csv", csv)
    assert code == 0, err
    first, second = out.splitlines()
    assert first.startswith("pulse.mp4: 7") and "bpm, SNR" in first and f"roi {roi}" in first
    assert abs(float(first.split()[1]) - 72) < 2
    assert second.startswith("over time: 3 window(s) of 10 s, 3 with SNR >= 3 dB")
    assert plot.stat().st_size > 10_000
    rows = csv.read_text().splitlines()
    assert rows[0] == "frame,time_s,pulse" and len(rows) == 361
    assert rows[31].startswith("30,1.0000,")
    trace = np.array([float(r.split(",")[2]) for r in rows[1:]])
    spectrum = np.abs(np.fft.rfft(trace[60:] * np.hanning(300)))
    assert abs(np.argmax(spectrum) / 10 * 60 - 72) < 6  # the trace itself pulses at 72 bpm (0.1 Hz bins)


def test_pulse_json_has_the_windows_and_the_reason_when_unreliable(synthetic, capsys):
    path, roi = synthetic
    code, out, err = run_cli(capsys, "pulse", path, "--roi", roi, "--method", "green", "--json", "--window", 6)
    assert code == 0, err
    result = json.loads(out)
    assert result["method"] == "green" and result["reliable"] and result["reason"] == ""
    assert abs(result["bpm"] - 72) < 2 and len(result["windows"]) == 7 and not result["skin"]
    # a background corner: no pulse, no skin
    code, out, err = run_cli(capsys, "pulse", path, "--roi", "0,0,16,16", "--skin")
    assert code == 0, err
    assert out.startswith("pulse.mp4: no reliable pulse: no skin in the region in 100% of the frames; no clear pulse")


def test_pulse_roi_face_on_the_sample_clip(shared_videos, capsys):
    code, out, err = run_cli(capsys, "pulse", shared_videos / "face.mp4", "--roi", "face", "--duration", 8, "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["skin"] and result["reliable"] and 45 < result["bpm"] < 65  # MIT's face: 50-60 bpm
    x, y, w, h = result["roi"]
    assert w > 100 and h > 100


def test_pulse_on_a_flat_video_says_there_is_no_signal(tmp_path, capsys):
    path = write_video(tmp_path / "flat.mp4", np.full((180, 32, 32, 3), 128, np.uint8))
    code, out, err = run_cli(capsys, "pulse", path, "--no-skin")
    assert code == 0, err
    assert out.startswith("flat.mp4: no reliable pulse: no clear pulse peak (SNR -inf dB < 3 dB); no signal in")
    code, out, err = run_cli(capsys, "pulse", path, "--no-skin", "--json")
    result = json.loads(out)
    assert result["bpm"] is None and result["snr_db"] is None and not result["reliable"]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["missing.mp4"], 1, "missing.mp4"),
        (["{clip}", "--roi", "150,0,20,20"], 1, "roi x=150 y=0 w=20 h=20 is not inside the 160x120 frame"),
        (["{clip}", "--roi", "1,2,3"], 2, "Invalid value for --roi: expected x,y,w,h integers, got '1,2,3'"),
        (["{clip}", "--duration", 3], 1, "clip too short for a heart rate: 90 frames = 3.0 s at 30 fps"),
        (["{clip}", "--low", 100, "--high", 60], 1, "band low (100 bpm) must be below band high (60 bpm)"),
        (["{clip}", "--window", 2], 1, "window (s) must be >= 5"),
        (["{clip}", "--roi", "face"], 1, "no face found in 12 frames (every 5th of the first 60) of"),
        (["{clip}", "-o", "x.png", "--csv", "x.png"], 2, "-o and --csv name the same file"),
        (["{clip}", "--method", "ica"], 2, "Invalid value for '--method'"),
        (["{clip}", "--start", 20], 1, "no frames after --start 20 s (it lasts 12.0 s)"),
    ],
)
def test_pulse_hostile_input_is_one_line(synthetic, tmp_path, monkeypatch, capsys, args, code, message):
    monkeypatch.chdir(tmp_path)
    path, _ = synthetic
    got, out, err = run_cli(capsys, "pulse", *[str(a).replace("{clip}", str(path)) for a in args])
    assert got == code
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 if code == 1 else err.startswith("evm: error")
    assert not (tmp_path / "x.png").exists()
