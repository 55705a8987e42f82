"""antispoof.profiles: the cpu and paper settings are valid configs, ``auto`` picks as documented, and the
paper profile is the library's defaults (the benchmark's recipe is the cpu profile)."""

import sys
from pathlib import Path

import pytest

from antispoof import PrepareConfig, TrainConfig
from antispoof.models import ModelConfig
from antispoof.profiles import CPU, PAPER, PROFILES, auto_profile, get_profile
from evm.presets import MagnifyParams

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))


def configs(profile):
    prepare = dict(profile.prepare)
    alpha = prepare.pop("alpha")
    prep = PrepareConfig(**prepare, magnify=MagnifyParams(alpha=alpha))
    model = ModelConfig(**profile.model, image_size=prep.size, num_frames=prep.clip_len)
    return prep, model, TrainConfig(**profile.train)


@pytest.mark.parametrize("name", ["cpu", "paper"])
def test_every_profile_is_a_valid_prepare_model_and_train_config(name):
    profile = get_profile(name)
    prep, model, train = configs(profile)
    assert profile is PROFILES[name] and profile.name == name
    assert prep.size == profile.prepare["size"] and model.image_size == (prep.size, prep.size)
    assert all(getattr(train, k) == v for k, v in profile.train.items())
    with pytest.raises(TypeError):
        profile.train["lr"] = 1.0  # read-only: a caller copies before changing


def test_the_paper_profile_is_the_library_defaults():
    prep, model, train = configs(PAPER)
    defaults = PrepareConfig()
    for key in PAPER.prepare:
        wanted = MagnifyParams().alpha if key == "alpha" else getattr(defaults, key)
        assert PAPER.prepare[key] == wanted, key
    assert train == TrainConfig()
    assert model == ModelConfig(image_size=prep.size, num_frames=prep.clip_len, trunk_channels=model.trunk_channels)


def test_the_cpu_profile_differs_where_the_docs_say():
    prep, model, train = configs(CPU)
    assert (prep.size, prep.frame_step, prep.clips_per_video, prep.warmup, prep.magnify.alpha) == (64, 3, 4, 0.5, 20.0)
    assert model.trunk == "small" and model.trunk_channels == (16, 32, 64, 128)
    assert model.temporal_delta and model.motion_stream == 16
    assert (train.lr, train.lr_schedule, train.epochs, train.batch_size) == (1e-3, "cosine", 16, 16)
    assert (train.still_prob, train.still_noise) == (0.5, 0.01)


def test_auto_follows_the_cache_then_the_device():
    assert auto_profile(gpu=False)[0] is CPU and auto_profile(gpu=True)[0] is PAPER
    cache = PrepareConfig(**{k: v for k, v in CPU.prepare.items() if k != "alpha"}).as_dict()
    chosen, why = auto_profile(cache, gpu=True)
    assert chosen is CPU and why == "the cache was prepared with it"
    # magnification settings do not matter (a --no-magnify cache is still the profile's), crops do
    assert auto_profile({**cache, "magnify": None}, gpu=True)[0] is CPU
    assert auto_profile({**cache, "size": 96}, gpu=True) == (PAPER, "a CUDA GPU is available")
    assert auto_profile({**cache, "size": 96}, gpu=False) == (CPU, "no CUDA GPU")
    paper_cache = PrepareConfig().as_dict()
    assert auto_profile(paper_cache, gpu=False)[0] is PAPER
    with pytest.raises(ValueError, match="profile must be one of cpu, paper, got 'gpu'"):
        get_profile("gpu")


def test_the_seed_benchmark_measures_the_cpu_profile():
    import bench_seeds

    recipe = bench_seeds.RECIPE
    assert recipe["prepare"] == {k: CPU.prepare[k] for k in recipe["prepare"]}
    assert set(recipe["prepare"]) == set(CPU.prepare)
    model = {k: list(v) if isinstance(v, tuple) else v for k, v in CPU.model.items()}
    assert recipe["model"] == model and recipe["train"] == dict(CPU.train)
