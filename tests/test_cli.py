"""The ``loyalty`` command line: usage errors are short messages with exit status 2, never tracebacks."""

import pytest

from loyalty_lib import synth
from loyalty_lib.cli import main


def test_unknown_scenario_is_a_usage_error_listing_the_scenarios(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["generate", "--out", str(tmp_path / "out"), "--scenario", "nope", "--quiet"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'nope'" in err and "Traceback" not in err
    assert all(name in err for name in synth.SCENARIOS)
    assert not (tmp_path / "out").exists()


def test_generate_help_lists_the_scenarios(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["generate", "--help"])
    assert exit_.value.code == 0
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    assert "--scenario NAME" in out
    assert all(name in out for name in synth.SCENARIOS)


def test_a_listed_scenario_is_accepted(tmp_path, capsys):
    out = tmp_path / "points"
    assert main(["generate", "--out", str(out), "--customers", "150", "--scenario", "sergey_points", "--quiet"]) == 0
    assert "wrote sergey_points" in capsys.readouterr().out
    assert (out / "ground_truth.json").exists()
