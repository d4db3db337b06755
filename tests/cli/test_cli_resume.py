"""`babysit resume RUN`: a run that stopped goes on in its folder and ends bit for bit where an
uninterrupted run ends; what cannot be resumed is one line and exit status 2. `babysit train
--resume RUN` still works, and says it is now `babysit resume`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import babysit as bs
from babysit import cli
from babysit.training.checkpoint import Checkpoints

SMALL = ["--hidden", "32", "--dropout", "0.2", "--seed", "3"]   # dropout: its generator too


def train(tmp_path, capsys, name, *flags) -> tuple[int, str, str]:
    """`babysit train` in-process (`babysit resume RUN ...` for flags "--resume", RUN, ...):
    (status, stdout, stderr)."""
    code = cli.main(["resume", *flags[1:]] if flags[:1] == ("--resume",) else
                    ["train", *SMALL, "--no-report", "--out", str(tmp_path / name), *flags])
    out, err = capsys.readouterr()
    return code, out, err


def one_line(capsys, argv) -> str:
    """The one line on stderr of a command that exits 2."""
    assert cli.main(argv) == 2
    line, = capsys.readouterr().err.strip().splitlines()
    return line


def weights(run, epoch: int) -> dict[str, np.ndarray]:
    net, _ = bs.load(run / "checkpoints" / f"epoch-{epoch:03d}")
    return {name: p.value for name, p in net.params.items()}


def same_run(a, b, epochs: int) -> None:
    """Two run folders hold the same final weights, state and scores."""
    wa, wb = weights(a, epochs), weights(b, epochs)
    assert wa.keys() == wb.keys()
    for name in wa:
        assert np.array_equal(wa[name], wb[name]), name
    ha, hb = (bs.History.load(run / "history.json") for run in (a, b))
    assert ha.val_acc == hb.val_acc and ha.loss == hb.loss and len(ha.val_acc) == epochs
    sa, sb = (bs.checkpoint.checkpoint_file.read(run / "state.safetensors")[0] for run in (a, b))
    assert all(np.array_equal(sa[k], sb[k]) for k in sa) and sa.keys() == sb.keys()


def test_three_epochs_then_resumed_to_six_equal_six_straight(tmp_path, capsys):
    assert train(tmp_path, capsys, "straight", "--epochs", "6")[0] == 0
    assert train(tmp_path, capsys, "run", "--epochs", "3")[0] == 0
    code, out, _ = train(tmp_path, capsys, None, "--resume", str(tmp_path / "run"), "--epochs",
                         "6", "--no-report", "--json")
    assert code == 0
    assert f"resuming {tmp_path / 'run'} after epoch 3, to epoch 6" in out
    assert "diagnosis:" in out and json.loads(out.splitlines()[-1])["epochs"] == 6
    same_run(tmp_path / "straight", tmp_path / "run", 6)
    # The folder's config now says 6 epochs: resuming it again has nothing left to do.
    assert json.loads((tmp_path / "run" / "config.json").read_text())["epochs"] == 6


def ctrl_c_after(last: int):
    """Checkpoints.on_epoch_end that saves epoch `last`, then presses Ctrl-C."""
    saved = Checkpoints.on_epoch_end

    def on_epoch_end(self, trainer, epoch):
        saved(self, trainer, epoch)
        if epoch == last:
            raise KeyboardInterrupt

    return on_epoch_end


def test_a_run_interrupted_by_ctrl_c_says_how_to_resume_and_resumes_exactly(
        tmp_path, capsys, monkeypatch):
    assert train(tmp_path, capsys, "straight", "--epochs", "5")[0] == 0
    saved = Checkpoints.on_epoch_end
    monkeypatch.setattr(Checkpoints, "on_epoch_end", ctrl_c_after(2))
    code, _, err = train(tmp_path, capsys, "run", "--epochs", "5")
    assert code == 130
    run = tmp_path / "run"
    assert err.strip().endswith(f"to continue it: babysit resume {run}")
    monkeypatch.setattr(Checkpoints, "on_epoch_end", saved)
    assert train(tmp_path, capsys, None, "--resume", str(run))[0] == 0
    same_run(tmp_path / "straight", run, 5)
    assert (run / "report.html").is_file()          # the report, as a normal run writes it
    # Every record of the History matches too: the monitors sample on the run's cadence.
    assert bs.History.load(run / "history.json").monitors == \
        bs.History.load(tmp_path / "straight" / "history.json").monitors

    # Interrupted before its first epoch ended, a run has no state to go on from: no command.
    def ctrl_c_in_epoch_1(self, trainer, epoch):
        raise KeyboardInterrupt

    monkeypatch.setattr(Checkpoints, "on_epoch_end", ctrl_c_in_epoch_1)
    code, _, err = train(tmp_path, capsys, "early", "--epochs", "2")
    assert code == 130 and "kept" in err and "--resume" not in err


def test_a_run_stopped_after_its_last_epoch_is_ended_by_resume_without_training(
        tmp_path, capsys, monkeypatch):
    """A stop that lands while the last epoch's state is written arrives after it: the run had
    trained all its epochs, `resume` refused it as finished, and no command gave it its test
    score, history and report."""
    assert train(tmp_path, capsys, "straight", "--epochs", "3")[0] == 0
    saved = Checkpoints.on_epoch_end
    monkeypatch.setattr(Checkpoints, "on_epoch_end", ctrl_c_after(3))
    code, _, err = train(tmp_path, capsys, "run", "--epochs", "3")
    run = tmp_path / "run"
    assert code == 130 and "after its last epoch (3), before its end was written" in err
    assert err.strip().endswith(f"to continue it: babysit resume {run}")
    monkeypatch.setattr(Checkpoints, "on_epoch_end", saved)
    assert train(tmp_path, capsys, None, "--resume", str(run))[0] == 0
    same_run(tmp_path / "straight", run, 3)
    ended, straight = (bs.History.load(folder / "history.json").meta
                       for folder in (run, tmp_path / "straight"))
    assert ended["test_accuracy"] == straight["test_accuracy"]
    assert ended["kept_model"] == straight["kept_model"]
    line = one_line(capsys, ["resume", str(run)])                  # ended now: as any finished
    assert "it has finished the 3 epochs it has trained" in line


@pytest.mark.skipif(os.name != "posix", reason="SIGINT to a child process")
def test_a_real_sigint_then_resume_equals_the_straight_run(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    command = [sys.executable, "-m", "babysit", "train", *SMALL, "--no-report", "--epochs",
               "400"]
    run = tmp_path / "run"
    child = subprocess.Popen([*command, "--out", str(run)], env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
    state = run / "state.safetensors"
    while not state.exists() and child.poll() is None:  # the first epoch has ended
        time.sleep(0.05)
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=600)
    assert child.returncode == 130, err
    assert f"babysit resume {run}" in err
    done = bs.History.load(run / "history.json").epochs
    assert 1 <= done < 400
    # Continue to two epochs more than were done, and train the same length straight.
    epochs = str(done + 2)
    resumed = subprocess.run([sys.executable, "-m", "babysit", "resume", str(run),
                              "--epochs", epochs], env=env, capture_output=True, text=True,
                             timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    straight = subprocess.run([*command[:-1], epochs, "--out", str(tmp_path / "straight")],
                              env=env, capture_output=True, text=True, timeout=300)
    assert straight.returncode == 0, straight.stderr
    same_run(tmp_path / "straight", run, done + 2)


def test_a_table_run_resumes_with_its_encoders(tmp_path, capsys):
    rng = np.random.default_rng(0)
    lines = ["colour,size,kind"] + [
        f"{rng.choice(['red', 'green', 'blue'])},{rng.normal():.3f},"
        f"{rng.choice(['a', 'b'])}" for _ in range(120)]
    table = tmp_path / "t.csv"
    table.write_text("\n".join(lines) + "\n")
    flags = ["--data", str(table), "--target", "kind"]
    assert train(tmp_path, capsys, "straight", *flags, "--epochs", "4")[0] == 0
    assert train(tmp_path, capsys, "run", *flags, "--epochs", "2")[0] == 0
    assert train(tmp_path, capsys, None, "--resume", str(tmp_path / "run"), "--epochs", "4")[0] \
        == 0
    same_run(tmp_path / "straight", tmp_path / "run", 4)
    # The resumed run's checkpoints still carry the encoders that predict applies.
    meta = bs.checkpoint.read_meta(tmp_path / "run" / "checkpoints" / "epoch-004")
    assert meta == bs.checkpoint.read_meta(tmp_path / "straight" / "checkpoints" / "epoch-004")


def test_a_finished_run_is_refused_unless_it_is_given_more_epochs(tmp_path, capsys):
    assert train(tmp_path, capsys, "run", "--epochs", "2")[0] == 0
    run = tmp_path / "run"
    line = one_line(capsys, ["resume", str(run)])
    assert f"{run}: it has finished the 2 epochs" in line and "--epochs N" in line
    line = one_line(capsys, ["resume", str(run), "--epochs", "2"])
    assert "--epochs 2 is not more than the 2 epochs" in line


@pytest.mark.parametrize("flag", [["--lr", "0.1"], ["--out", "elsewhere"], ["--ensemble", "2"],
                                  ["--fix"], ["--config", "c.json"], ["--data", "digits"]])
def test_a_setting_beside_resume_is_refused_by_name(tmp_path, capsys, flag):
    line = one_line(capsys, ["train", "--resume", str(tmp_path), *flag])
    assert line.startswith(f"babysit train: error: {flag[0]} cannot be given with --resume")


def test_what_is_no_resumable_run_is_one_line_naming_it(tmp_path, capsys):
    missing = tmp_path / "nothing"
    assert f"babysit resume: error: {missing}: no such folder" in one_line(
        capsys, ["resume", str(missing)])
    assert f"{tmp_path} is not a run folder: it holds no config.json" in one_line(
        capsys, ["resume", str(tmp_path)])
    # A folder whose run stopped before its first epoch ended: config.json, no state.
    bs.config.RunConfig(epochs=2).save(tmp_path / "config.json")
    line = one_line(capsys, ["resume", str(tmp_path)])
    assert f"holds no training state ({tmp_path / 'state.safetensors'})" in line


def test_a_damaged_training_state_is_refused_naming_the_file(tmp_path, capsys):
    assert train(tmp_path, capsys, "run", "--epochs", "1")[0] == 0
    state = tmp_path / "run" / "state.safetensors"
    data = bytearray(state.read_bytes())
    data[-5] ^= 0xFF                                      # one flipped byte in a tensor
    state.write_bytes(bytes(data))
    line = one_line(capsys, ["resume", str(tmp_path / "run"), "--epochs", "3"])
    assert str(state) in line and "Traceback" not in line


def test_train_resume_still_resumes_and_says_it_is_now_babysit_resume(tmp_path, capsys):
    assert train(tmp_path, capsys, "straight", "--epochs", "4")[0] == 0
    assert train(tmp_path, capsys, "run", "--epochs", "2")[0] == 0
    run = tmp_path / "run"
    assert cli.main(["train", "--resume", str(run), "--epochs", "4", "--no-report"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"babysit train --resume is now babysit resume {run}\n")
    same_run(tmp_path / "straight", run, 4)


def test_resume_help_names_the_run_and_epochs(capsys):
    assert cli.main(["resume", "--help"]) == 0
    text = capsys.readouterr().out
    assert "RUN" in text and "--epochs N" in text and "--json" in text


def test_help_lists_resume_beside_config(capsys):
    assert cli.main(["train", "--help"]) == 0
    text = capsys.readouterr().out
    options = text[text.index("\noptions:"):text.index("\n  --data")]  # before the settings
    assert "--resume RUN" in options and "--config" in options


def test_a_data_file_changed_since_the_run_is_refused(tmp_path, capsys):
    rows = [f"{i % 7},{(i * 3) % 5},{'ab'[i % 2]}" for i in range(80)]
    table = tmp_path / "t.csv"
    table.write_text("x,z,kind\n" + "\n".join(rows) + "\n")
    assert train(tmp_path, capsys, "run", "--data", str(table), "--target", "kind",
                 "--epochs", "2")[0] == 0
    table.write_text("x,z,kind\n" + "\n".join(rows).replace("6,", "60,") + "\n")  # one value
    line = one_line(capsys, ["resume", str(tmp_path / "run"), "--epochs", "3"])
    assert "is not what the run trained on" in line and "preprocessing differs" in line


def test_a_config_edited_since_the_run_is_refused_naming_the_settings(tmp_path, capsys):
    """lr and reg changed in config.json were taken by the resumed run without a word: it
    went on as another run in the same folder."""
    assert train(tmp_path, capsys, "run", "--epochs", "2")[0] == 0
    config = tmp_path / "run" / "config.json"
    settings = json.loads(config.read_text())
    config.write_text(json.dumps({**settings, "lr": 0.5, "reg": 0.1}))
    line = one_line(capsys, ["resume", str(tmp_path / "run"), "--epochs", "3"])
    assert "is not the configuration its training state was made with" in line
    assert f"lr {settings['lr']!r} -> 0.5" in line and "reg" in line and "epochs" not in \
        line.split("(")[1].split(")")[0]
    config.write_text(json.dumps({**settings, "epochs": 3}))   # --epochs alone may change
    assert train(tmp_path, capsys, "run", "--resume", str(tmp_path / "run"))[0] == 0


def test_a_run_that_stopped_early_is_not_resumed(tmp_path, capsys):
    # A rate too small to change a prediction: validation accuracy stays flat, patience 1 ends it.
    assert train(tmp_path, capsys, "run", "--optimizer", "sgd", "--lr", "1e-12", "--patience",
                 "1", "--epochs", "6")[0] == 0
    line = one_line(capsys, ["resume", str(tmp_path / "run"), "--epochs", "9"])
    assert "stopped itself after epoch 2 (early stopping: no improvement in 1 epoch)" in line


def test_an_interrupted_resume_draws_the_folders_report_again(tmp_path, capsys, monkeypatch):
    # the report of epochs 1-2 must not stay beside a history of epochs 1-3
    run = tmp_path / "run"
    assert cli.main(["train", *SMALL, "--out", str(run), "--epochs", "2"]) == 0
    before = (run / "report.html").read_text()
    monkeypatch.setattr(Checkpoints, "on_epoch_end", ctrl_c_after(3))
    capsys.readouterr()
    assert cli.main(["resume", str(run), "--epochs", "5"]) == 130
    assert "report:" not in capsys.readouterr().out    # drawn without a word
    after = (run / "report.html").read_text()
    assert bs.History.load(run / "history.json").epochs == 3
    assert "2 finished of 2 asked" in before and "3 finished of 5 asked" in after
