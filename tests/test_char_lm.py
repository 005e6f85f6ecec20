"""The character-level Transformer example trains: a few steps at a tiny size lower the loss."""
from framework.examples import char_lm


def test_char_lm_loss_falls():
    lines = []
    losses = char_lm.train(
        steps=30, module="textwrap", block=16, batch=8, d_model=16, heads=2, layers=1, lr=1e-2, print_every=10,
        sample_length=20, log=lines.append)
    assert len(losses) == 30
    assert sum(losses[-5:]) / 5 < sum(losses[:5]) / 5 - 0.5, losses
    assert any(line.startswith("step    10  loss") for line in lines), lines
    assert lines[-1].startswith("sample:\ndef ")


def test_char_lm_command_line(capsys):
    losses = char_lm.main(["--steps", "2", "--block", "8", "--batch", "2", "--d-model", "8", "--heads", "2",
                           "--layers", "1", "--print-every", "1", "--sample-length", "0"])
    assert len(losses) == 2
    out = capsys.readouterr().out
    assert "argparse.py:" in out and "step     2  loss" in out
