"""The package layout: curated, lazily loaded top-level names; the sub-packages re-export what the old modules had."""

import subprocess
import sys

import antispoof


def test_top_level_names_are_the_defining_modules_objects():
    from antispoof import cache, data, evaluation, experiment, predict, rundir, train_config, training

    assert antispoof.open_dataset is data.open_dataset and antispoof.prepare is cache.prepare
    assert antispoof.ClipDataset is cache.ClipDataset and antispoof.PrepareConfig is cache.PrepareConfig
    assert antispoof.train is training.train and antispoof.TrainConfig is train_config.TrainConfig
    assert antispoof.evaluate is evaluation.evaluate and antispoof.Predictor is predict.Predictor
    assert antispoof.run_experiment is experiment.run_experiment and antispoof.RunDir is rundir.RunDir
    assert set(antispoof.__all__) <= set(dir(antispoof))
    try:
        antispoof.no_such_name  # noqa: B018
    except AttributeError as exc:
        assert "no attribute 'no_such_name'" in str(exc)
    else:
        raise AssertionError("an unknown name must raise AttributeError")


def test_import_antispoof_stays_light():
    code = "import sys, antispoof; print(sorted(m for m in ('torch', 'numpy', 'numba') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_split_packages_keep_the_old_import_paths():
    from antispoof.data.datasets import DATASETS, MSU_TEST, MsuMfsd, open_dataset
    from antispoof.data.synth import KINDS, LAYOUTS, generate, render_sample
    from antispoof.experiment import SYNTHETIC, ConfigError, StudyConfig, load_config, table_markdown

    assert DATASETS == ("replay-attack", "msu-mfsd", "casia-fasd", "oulu-npu", "folder") and len(MSU_TEST) == 20
    assert MsuMfsd.scan_options == ("msu_flip",) and callable(open_dataset)
    assert LAYOUTS == ("replay-attack", "msu-mfsd") and "print" in KINDS and callable(generate)
    assert callable(render_sample) and callable(load_config) and callable(table_markdown)
    assert issubclass(ConfigError, ValueError) and set(SYNTHETIC) == {"full", "quick"} and StudyConfig
