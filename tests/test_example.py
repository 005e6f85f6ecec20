"""The main job: python -m framework.examples.lenet."""
import framework
from framework.examples import lenet


def test_lenet_main_job_reaches_95_percent_and_reloads(tmp_path, capsys):
    out = tmp_path / "lenet.fwt"
    accuracy = lenet.main(["--out", str(out)])
    text = capsys.readouterr().out
    assert accuracy >= 0.95, text
    assert "predictions identical: True" in text and str(out) in text
    checkpoint = framework.load(out)
    assert set(checkpoint) == {"model", "optimizer", "epoch", "dataset", "accuracy"}
    assert list(checkpoint["model"]) == list(lenet.Net().state_dict())
