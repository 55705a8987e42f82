"""The clips of a Replay-Attack or MSU-MFSD tree: their file names, subjects, kinds and conditions."""

from __future__ import annotations

from dataclasses import dataclass

from ..datasets import MSU_TEST, MSU_TRAIN, MSU_UPSIDE_DOWN, REPLAY_CLIENTS, msu_dev_test_split

# --------------------------------------------------------------------------------------------------
# Dataset trees


@dataclass(frozen=True)
class _Clip:
    rel: str  # relative video path with suffix
    face: str  # relative annotation path
    kind: str
    subject: int
    condition: str
    support: str
    device: str  # attack device for screens
    upside_down: bool = False


def _replay_clips(clients: int) -> list[_Clip]:
    if not 3 <= clients <= len(REPLAY_CLIENTS):
        raise ValueError(
            f"replay-attack needs 3 to {len(REPLAY_CLIENTS)} clients (one per split at least), got {clients}"
        )
    n_train = max(1, int(round(0.3 * clients)))
    n_dev = max(1, int(round(0.3 * clients)))
    ids = REPLAY_CLIENTS[:clients]
    groups = {"train": ids[:n_train], "devel": ids[n_train : n_train + n_dev], "test": ids[n_train + n_dev :]}
    kinds = {("print", "photo"): ("print", "highdef"), ("mobile", "photo"): ("screen_photo", "mobile"),
             ("mobile", "video"): ("screen_video", "mobile"), ("highdef", "photo"): ("screen_photo", "highdef"),
             ("highdef", "video"): ("screen_video", "highdef")}  # fmt: skip
    clips = []
    for folder, members in groups.items():
        for c in members:
            for light in ("controlled", "adverse"):
                for take in (1, 2):
                    stem = f"client{c:03d}_session01_webcam_authenticate_{light}_{take}"
                    clips.append(_Clip(f"{folder}/real/{stem}.mov", f"face-locations/{folder}/real/{stem}.face",
                                       "bona_fide", c, light, "fixed", "webcam"))  # fmt: skip
                for support in ("fixed", "hand"):
                    for (pai, sample), (kind, device) in kinds.items():
                        stem = f"attack_{pai}_client{c:03d}_session01_{device}_{sample}_{light}"
                        rel = f"{folder}/attack/{support}/{stem}"
                        clips.append(_Clip(f"{rel}.mov", f"face-locations/{rel}.face", kind, c, light, support,
                                           device))  # fmt: skip
    return clips


def _msu_clients(clients: int) -> list[int]:
    """Subjects from the official lists: about 15/35 of them from train, the rest alternating between
    the dev and test halves of the official test list, so every split of the default protocol is used."""
    if not 3 <= clients <= len(MSU_TRAIN) + len(MSU_TEST):
        raise ValueError(f"msu-mfsd needs 3 to 35 clients (one per split at least), got {clients}")
    n_train = min(len(MSU_TRAIN), max(1, int(round(clients * 15 / 35))))
    n_rest = clients - n_train
    if n_rest > len(MSU_TEST):
        n_train, n_rest = clients - len(MSU_TEST), len(MSU_TEST)
    dev, test = msu_dev_test_split(MSU_TEST)
    interleaved = [s for pair in zip(dev, test) for s in pair]
    return sorted(MSU_TRAIN[:n_train] + tuple(interleaved[:n_rest]))


def _msu_clips(clients: int) -> list[_Clip]:
    pai_kind = {"printed_photo": ("print", "highdef"), "ipad_video": ("screen_video", "highdef"),
                "iphone_video": ("screen_video", "mobile")}  # fmt: skip
    clips = []
    for c in _msu_clients(clients):
        for device, suffix in (("android", ".mp4"), ("laptop", ".mov")):
            stem = f"real_client{c:03d}_{device}_SD_scene01"
            clips.append(_Clip(f"scene01/real/{stem}{suffix}", f"scene01/real/{stem}.face", "bona_fide", c,
                               "controlled", "fixed", device, upside_down=stem in MSU_UPSIDE_DOWN))  # fmt: skip
            for pai, (kind, screen) in pai_kind.items():
                stem = f"attack_client{c:03d}_{device}_SD_{pai}_scene01"
                support = "hand" if pai == "iphone_video" else "fixed"
                clips.append(_Clip(f"scene01/attack/{stem}{suffix}", f"scene01/attack/{stem}.face", kind, c,
                                   "controlled", support, screen))  # fmt: skip
    return clips
