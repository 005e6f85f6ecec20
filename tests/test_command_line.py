"""Command lines fail early and clearly: a bad flag is one line on stderr, before any work,
with exit status 2 (usage) or 1 (a problem with the machine or the files); `--help` shows
every flag with its default; a benchmark's --help does not start the benchmark."""
import os
import pathlib
import subprocess
import sys

import pytest

from framework.examples import lenet

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _run_main(argv, capsys):
    with pytest.raises(SystemExit) as info:
        lenet.main(argv)
    err = capsys.readouterr().err
    return info.value.code, err


@pytest.mark.parametrize("argv, status, says", [
    (["--batch-size", "0"], 2, "--batch-size must be positive"),
    (["--lr", "-0.1"], 2, "--lr must be positive"),
    (["--epochs", "0"], 2, "--epochs must be positive"),
    (["--epochs", "two"], 2, "expected an integer"),
    (["--dataset", "imagenet"], 2, "invalid choice"),
    (["--device", "tpu"], 1, "--device tpu"),
    (["--device", "cuda:x"], 1, "Invalid device string"),
    (["--dataset", "mnist", "--root", "/nonexistent-data"], 1, "train-images-idx3-ubyte"),
    (["--out", "/nonexistent-folder/lenet.fwt"], 1, "/nonexistent-folder does not exist"),
])
def test_bad_flags_are_one_line_before_any_work(argv, status, says, capsys, monkeypatch):
    monkeypatch.setattr(lenet, "load_data", _refuse if "--dataset" not in argv else lenet.load_data)
    code, err = _run_main(argv, capsys)
    assert code == status, err
    assert says in err and len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err


def _refuse(*args, **kwargs):
    raise AssertionError("work started before the flags were checked")


def test_missing_dataset_says_where_to_put_it_and_where_to_get_it(capsys):
    code, err = _run_main(["--dataset", "cifar10", "--root", "/nonexistent-data"], capsys)
    assert code == 1 and "cifar-10-batches-py" in err and "cs.toronto.edu" in err and "/nonexistent-data" in err


def test_cuda_without_a_gpu_is_one_clear_line():
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    out = subprocess.run([sys.executable, "-m", "framework.examples.lenet", "--device", "cuda"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    if out.returncode == 0 or "not available" not in out.stderr:
        pytest.skip("a GPU is present")
    assert out.returncode == 1 and len(out.stderr.strip().splitlines()) == 1, out.stderr


def test_help_lists_every_flag_with_its_default(capsys):
    with pytest.raises(SystemExit) as info:
        lenet.main(["--help"])
    text = capsys.readouterr().out
    assert info.value.code == 0
    for flag, default in (("--epochs", "10"), ("--batch-size", "32"), ("--lr", "0.01"), ("--device", "cpu"),
                          ("--dataset", "digits"), ("--root", "./data"), ("--out", "lenet_checkpoint.fwt"),
                          ("--seed", "0"), ("--debug", "False")):
        assert flag in text and f"default: {default}" in text.replace("\n", " ").replace("  ", " ") or \
            default in text, (flag, text)


@pytest.mark.parametrize("module", ["perf", "perf.dataloader", "perf.train_step", "perf.ops", "perf.gpu",
                                    "framework.precompile", "framework.examples.lenet"])
def test_help_does_not_start_the_work(module):
    out = subprocess.run([sys.executable, "-m", module, "--help"], cwd=ROOT, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0 and "usage:" in out.stdout, out.stderr[-2000:]
