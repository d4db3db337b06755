"""`babysit resume ENSEMBLE`: an ensemble interrupted in a member goes on (finished
members loaded, the interrupted one continued from its state, the rest trained) and ends bit
for bit as the ensemble trained without a stop."""

from __future__ import annotations

import json

import numpy as np

import babysit as bs
from babysit import cli
from babysit.training import checkpoint
from babysit.training.checkpoint import Checkpoints

ENSEMBLE = ["--hidden", "32", "--dropout", "0.2", "--seed", "3", "--epochs", "3", "--ensemble",
            "3", "--no-report", "--json"]


def summary_of(capsys) -> dict:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def member_arrays(run, i: int) -> dict[str, np.ndarray]:
    """Member i's final weights and its whole training state, by name."""
    net, _ = bs.load(run / f"member-{i}" / "checkpoints" / "epoch-003")
    state, _ = bs.checkpoint.checkpoint_file.read(run / f"member-{i}" / "state.safetensors")
    return {**{f"W {n}": p.value for n, p in net.params.items()}, **state}


def test_an_ensemble_stopped_in_member_2_resumes_to_the_uninterrupted_result(
        tmp_path, capsys, monkeypatch):
    assert cli.main(["train", *ENSEMBLE, "--out", str(tmp_path / "straight")]) == 0
    straight = summary_of(capsys)
    saved = Checkpoints.on_epoch_end
    ended = []

    def ctrl_c_in_member_2(self, trainer, epoch):
        saved(self, trainer, epoch)
        ended.append((self.run_dir.name, epoch))
        if self.run_dir.name == "member-2" and epoch == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(Checkpoints, "on_epoch_end", ctrl_c_in_member_2)
    monkeypatch.setattr(checkpoint, "STATE_EVERY_SECONDS", 0.0)   # a state after every epoch
    run = tmp_path / "run"
    assert cli.main(["train", *ENSEMBLE, "--out", str(run)]) == 130
    err = capsys.readouterr().err
    assert err.strip().endswith(f"to continue it: babysit resume {run}")
    assert not (run / "member-3" / "state.safetensors").exists()     # member 3 not begun

    ended.clear()
    assert cli.main(["resume", str(run), "--json"]) == 0
    text = capsys.readouterr().out
    resumed = json.loads(text.strip().splitlines()[-1])
    # Member 1 loaded, not trained; member 2 ran its last epoch only; member 3 all three.
    assert ended == [("member-2", 3), ("member-3", 1), ("member-3", 2), ("member-3", 3)]
    assert f"member 1 (seed 3): finished earlier, loaded from {run / 'member-1'}" in text
    assert "member 2 (seed 4): resuming after epoch 2, to epoch 3" in text
    for key in ("test_accuracy", "member_test_scores", "member_findings", "members"):
        assert resumed[key] == straight[key], key
    for i in (1, 2, 3):
        a, b = member_arrays(tmp_path / "straight", i), member_arrays(run, i)
        assert a.keys() == b.keys()
        assert all(np.array_equal(a[k], b[k]) for k in a), i
    # Evaluated, the ensemble is finished: a further resume has nothing to do.
    line = cli.main(["resume", str(run)]), capsys.readouterr().err.strip()
    assert line == (2, f"babysit resume: error: {run}: the ensemble has finished its 3 "
                       f"members; train a new one (or resume a member alone with --epochs N)")


def test_more_epochs_for_a_whole_ensemble_are_refused_in_one_line(tmp_path, capsys):
    bs.config.RunConfig().save(tmp_path / "config.json")
    (tmp_path / "ensemble.json").write_text('{"members": 2, "finished": false}\n')
    assert cli.main(["resume", str(tmp_path), "--epochs", "9"]) == 2
    line, = capsys.readouterr().err.strip().splitlines()
    assert f"--epochs cannot be given for {tmp_path}, an ensemble" in line
    assert f"babysit resume {tmp_path / 'member-1'} --epochs N" in line


def test_a_damaged_ensemble_record_is_one_line_naming_it(tmp_path, capsys):
    bs.config.RunConfig().save(tmp_path / "config.json")
    (tmp_path / "ensemble.json").write_text('{"members": 0, "finished": false}\n')
    assert cli.main(["resume", str(tmp_path)]) == 2
    line, = capsys.readouterr().err.strip().splitlines()
    assert str(tmp_path / "ensemble.json") in line and "members=0" in line


def test_an_ensemble_stopped_in_a_members_first_epoch_says_how_to_go_on(
        tmp_path, capsys, monkeypatch):
    def ctrl_c_in_member_2(self, trainer, epoch):
        if self.run_dir.name == "member-2":
            raise KeyboardInterrupt
        saved(self, trainer, epoch)

    saved = Checkpoints.on_epoch_end
    monkeypatch.setattr(Checkpoints, "on_epoch_end", ctrl_c_in_member_2)
    monkeypatch.setattr(checkpoint, "STATE_EVERY_SECONDS", 0.0)   # a state after every epoch
    run = tmp_path / "run"
    assert cli.main(["train", *ENSEMBLE, "--out", str(run)]) == 130
    assert capsys.readouterr().err.strip().endswith(
        f"to continue the ensemble: babysit resume {run}")
