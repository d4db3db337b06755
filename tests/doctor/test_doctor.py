"""The doctor: each root cause maps to the notes' remedy; the loop stops when cured, when a
round does not help, when the cause cannot be cured, or after max_rounds."""

import dataclasses
import html
import json
import shlex
from dataclasses import dataclass

import pytest

from babysit import doctor
from babysit.diagnose.causes import FIRST_LOSS_NONFINITE
from babysit.doctor import Visit, prescribe, train_command, treat
from babysit.report.folder import treatment_html
from babysit.runs.config import RunConfig as Config


@dataclass(frozen=True)
class Finding:
    severity: str
    cause: str
    evidence: str = "the numbers"
    what: str = ""
    advice: str = ""


def finding(cause, severity="warning", what=""):
    return Finding(severity, cause, evidence=f"evidence for {cause}", what=what)


def first_remedy(cause, cfg=None, rate=None):
    _, remedy, _ = prescribe(cfg or Config(), [finding(cause)], lambda c: rate)
    return None if remedy is None else remedy.changes


# -- the remedy table -------------------------------------------------------------------------

@pytest.mark.parametrize("cause, cfg, rate, changes", [
    # learning rate too high (or diverged, or collapsed): 10x lower, or the range test's
    # rate when that is lower still
    ("lr_too_high", Config(optimizer="sgd", lr=1.0), 0.05, {"lr": 0.05}),
    ("lr_too_high", Config(optimizer="sgd", lr=1.0), 0.3, {"lr": 0.1}),
    ("lr_too_high", Config(lr=1e-2), None, {"lr": 1e-3}),
    ("diverged", Config(lr=5.0), 0.02, {"lr": 0.02}),
    ("collapsed_predictions", Config(lr=0.5), 0.004, {"lr": 0.004}),
    # exploding gradients: a lower rate when the range test finds one, else smaller weights
    ("exploding_gradients", Config(lr=3.0), 0.01, {"lr": 0.01}),
    ("exploding_gradients", Config(lr=1e-3), 1e-2, {"init": "lecun"}),
    # too low: the range test's rate, else 10x higher
    ("lr_too_low", Config(lr=1e-6), 3e-3, {"lr": 3e-3}),
    ("lr_too_low", Config(lr=1e-5), None, {"lr": 1e-4}),
    # dead ReLUs: a too-large rate first, then He init, then leaky ReLU
    ("dead_units", Config(lr=0.5), 1e-3, {"lr": 1e-3}),
    ("dead_units", Config(init="small"), 1e-3, {"init": "he"}),
    ("dead_units", Config(), 1e-3, {"bias": 0.01}),
    ("dead_units", Config(bias=0.01), 1e-3, {"activation": "leaky_relu"}),
    # saturated units: scale the inputs, Xavier init, then BatchNorm
    ("saturated_units", Config(activation="tanh", preprocess="none"), None,
     {"preprocess": "standardize"}),
    ("saturated_units", Config(activation="tanh", init="small"), None, {"init": "xavier"}),
    ("saturated_units", Config(activation="tanh", init="xavier"), None, {"init": "lecun"}),
    # vanishing gradients: ReLU with He init, else BatchNorm
    ("vanishing_gradients", Config(activation="sigmoid", init="xavier"), None,
     {"activation": "relu", "init": "he"}),
    ("vanishing_gradients", Config(init="small"), None, {"init": "he"}),
    ("vanishing_gradients", Config(), None, {"batchnorm": True}),
    ("unscaled_inputs", Config(preprocess="none"), None, {"preprocess": "standardize"}),
    # overfitting: stronger L2, then dropout, then early stopping
    ("overfitting", Config(reg=1e-4), None, {"reg": 1e-3}),
    ("overfitting", Config(reg=0.0), None, {"reg": 1e-3}),
    ("overfitting", Config(reg=0.05), None, {"dropout": 0.5}),
    ("overfitting", Config(reg=0.05, dropout=0.5), None, {"patience": 5}),
    # under-fitting: weaker regularization, then a wider net
    ("underfitting", Config(reg=1e-2), None, {"reg": 1e-3}),
    ("underfitting", Config(reg=0.0, dropout=0.5), None, {"dropout": 0.0}),
    ("underfitting", Config(reg=0.0, hidden=(50,)), None, {"hidden": (100,)}),
    ("underfitting", Config(reg=0.0, hidden=()), None, {"hidden": (100,)}),
    ("reg_too_strong", Config(reg=1.0), None, {"reg": 0.01}),
    ("noisy_loss", Config(batch_size=8), None, {"batch_size": 32}),
    # a bad initial loss: the next smaller initialization
    ("bad_initial_loss", Config(init="he"), None, {"init": "lecun"}),
    ("bad_initial_loss", Config(activation="tanh", init="lecun"), None, {"init": "small"}),
])
def test_each_cause_maps_to_the_notes_remedy(cause, cfg, rate, changes):
    assert first_remedy(cause, cfg, rate) == changes


@pytest.mark.parametrize("what, changes", [
    ("diverged: learning rate too high", {"lr": 0.01}),
    ("diverged: inputs not scaled", {"preprocess": "standardize"}),
    ("diverged: exploding gradients", {"lr": 0.01}),
])
def test_a_diverged_run_is_treated_for_the_cause_the_diagnosis_names(what, changes):
    cfg = Config(preprocess="none", lr=3.0)
    _, remedy, _ = prescribe(cfg, [finding("diverged", "error", what)], lambda c: 0.01)
    assert remedy.changes == changes


def test_a_run_whose_first_loss_overflowed_is_not_given_a_lower_learning_rate():
    # the first loss is taken before any update: no rate caused it, so none is prescribed
    what = f"diverged: {FIRST_LOSS_NONFINITE}"
    _, remedy, why = prescribe(Config(lr=0.1), [finding("diverged", "error", what)],
                               lambda c: 0.01)
    assert remedy is None and "before any update" in why and "no learning rate" in why


def test_a_loss_that_does_not_fall_gets_the_range_tests_rate_only_when_far_off():
    assert first_remedy("loss_not_decreasing", Config(lr=1e-5), 1e-3) == {"lr": 1e-3}
    assert first_remedy("loss_not_decreasing", Config(lr=1e-3), 2e-3) is None


def test_the_second_candidate_comes_when_the_first_was_tried():
    cfg = Config(lr=3.0)
    tried = [("exploding_gradients", {"lr": 0.01})]
    _, remedy, _ = prescribe(cfg, [finding("exploding_gradients")], lambda c: 0.01, tried)
    assert remedy.changes == {"init": "lecun"}
    tried.append(("exploding_gradients", remedy.changes))
    _, remedy, _ = prescribe(cfg, [finding("exploding_gradients")], lambda c: 0.01, tried)
    assert remedy.changes == {"batchnorm": True, "lr": 0.01}
    tried.append(("exploding_gradients", remedy.changes))
    _, remedy, _ = prescribe(cfg, [finding("exploding_gradients")], lambda c: 0.01, tried)
    assert remedy.changes == {"max_norm": 3.0}


@pytest.mark.parametrize("cause", ["memorizing_noise", "single_class", "label_in_inputs",
                                   "validation_leakage", "val_scaled_otherwise"])
def test_data_problems_are_not_treated_but_named(cause):
    treated, remedy, reason = prescribe(Config(), [finding(cause, "error"),
                                                   finding("overfitting")], lambda c: None)
    assert remedy is None and treated.cause == cause and reason == doctor.INCURABLE[cause]


def test_collapsed_predictions_are_a_rate_problem_only_when_the_range_test_says_so():
    assert first_remedy("collapsed_predictions", Config(lr=0.5), 0.004) == {"lr": 0.004}
    treated, remedy, reason = prescribe(Config(lr=1e-3), [finding("collapsed_predictions")],
                                        lambda c: 2e-3)
    assert remedy is None and "no signal" in reason


def test_class_imbalance_is_noted_and_the_rest_is_treated():
    findings = [finding("class_imbalance"), finding("lr_too_low")]
    treated, remedy, _ = prescribe(Config(lr=1e-6), findings, lambda c: 1e-3)
    assert treated.cause == "lr_too_low"
    clinic = Clinic(lambda c: findings if c.lr < 1e-4 else findings[:1],
                    lambda c: 0.5 if c.lr < 1e-4 else 0.8)
    treatment, _ = treat(Config(lr=1e-6), train=clinic, suggest_lr=lambda c: 1e-3)
    assert len(treatment.rounds) == 1 and treatment.notes == [
        f"class_imbalance: {doctor.UNTREATED['class_imbalance']}"]
    assert treatment.cannot_cure == doctor.UNTREATED["class_imbalance"]
    assert treatment.stopped.startswith("cannot cure class_imbalance: one class dominates")


def test_info_findings_and_unknown_causes_are_left_alone():
    findings = [finding("no_such_cause", "error"), finding("overfitting", "info")]
    assert prescribe(Config(), findings, lambda c: None) == (None, None, None)


def test_a_cause_with_nothing_left_to_try_passes_the_turn_to_the_next():
    cfg = Config(preprocess="standardize")   # unscaled inputs: already standardized
    treated, remedy, _ = prescribe(cfg, [finding("unscaled_inputs"), finding("noisy_loss")],
                                   lambda c: None)
    assert treated.cause == "noisy_loss" and remedy.changes == {"batch_size": 128}


def test_every_cause_in_the_table_names_a_setting_of_the_run():
    fields = {f.name for f in dataclasses.fields(Config)}
    for cause, remedies in doctor.REMEDIES.items():
        for cfg in (Config(), Config(activation="tanh", init="small", preprocess="none",
                                     reg=0.1, dropout=0.5)):
            candidates = remedies(cfg, lambda c: 1e-3, finding(cause))
            if isinstance(candidates, str):   # this case cannot be cured: says why
                assert candidates, cause
                continue
            for remedy in candidates:
                assert set(remedy.changes) <= fields, cause
                assert remedy.because, cause


# -- the loop and its stopping rules ----------------------------------------------------------

class History:
    def __init__(self, findings):
        self.findings = findings

    def diagnose(self):
        return self.findings


class Clinic:
    """A fake trainer: `ill(cfg)` gives the findings, `score(cfg)` the validation accuracy;
    it records every configuration it trained."""

    def __init__(self, ill, score):
        self.ill, self.score, self.trained = ill, score, []

    def __call__(self, cfg):
        self.trained.append(cfg)
        return Visit(cfg, History(self.ill(cfg)), self.score(cfg))


def test_a_healthy_run_is_left_alone():
    clinic = Clinic(lambda c: [finding("overfitting", "info")], lambda c: 0.98)
    treatment, kept = treat(Config(), train=clinic, suggest_lr=lambda c: 1e-3)
    assert treatment.rounds == [] and clinic.trained == [Config()]
    assert treatment.final == Config() and treatment.stopped.startswith("healthy")
    assert treatment.command() == "babysit train --data digits"


def test_too_high_a_rate_is_cured_with_the_range_tests_rate_in_one_round():
    sick = Config(optimizer="sgd", lr=2.0)
    clinic = Clinic(lambda c: [finding("lr_too_high", "error")] if c.lr > 0.5 else [],
                    lambda c: 0.1 if c.lr > 0.5 else 0.97)
    treatment, kept = treat(sick, train=clinic, suggest_lr=lambda c: 0.12)
    assert len(treatment.rounds) == 1 and treatment.best == 1
    r = treatment.rounds[0]
    assert (r.cause, r.changes, r.val_before, r.val_after) == (
        "lr_too_high", {"lr": [2.0, 0.12]}, 0.1, 0.97)
    assert r.evidence == "evidence for lr_too_high" and r.left == []
    assert treatment.final == sick.replace(lr=0.12) and kept.cfg == treatment.final
    assert treatment.stopped.startswith("healthy")
    assert treatment.command() == "babysit train --data digits --optimizer sgd --lr 0.12"


def test_a_round_that_does_not_raise_val_accuracy_stops_and_the_best_round_is_kept():
    clinic = Clinic(lambda c: [finding("overfitting")],
                    lambda c: {1e-4: 0.90, 1e-3: 0.93, 0.01: 0.92}.get(c.reg, 0.5))
    treatment, kept = treat(Config(), train=clinic, suggest_lr=lambda c: None, max_rounds=5)
    assert [r.changes for r in treatment.rounds] == [{"reg": [1e-4, 1e-3]},
                                                     {"reg": [1e-3, 0.01]}]
    assert treatment.best == 1 and treatment.final.reg == 1e-3 and kept.val_acc == 0.93
    assert "did not raise" in treatment.stopped
    assert (treatment.val_initial, treatment.val_final) == (0.90, 0.93)


def test_a_diverged_round_counts_as_no_improvement():
    clinic = Clinic(lambda c: [finding("lr_too_low")], lambda c: None if c.lr > 1 else 0.5)
    treatment, kept = treat(Config(lr=0.3), train=clinic, suggest_lr=lambda c: 3.0)
    assert treatment.rounds[0].val_after is None and treatment.best == 0
    assert kept.cfg == Config(lr=0.3)


def test_at_most_max_rounds_are_run():
    clinic = Clinic(lambda c: [finding("underfitting")], lambda c: sum(c.hidden) / 1e5)
    treatment, _ = treat(Config(reg=0.0), train=clinic, suggest_lr=lambda c: None,
                         max_rounds=3)
    assert len(treatment.rounds) == 3 and len(clinic.trained) == 4
    assert treatment.final.hidden == (800, 800) and "3 rounds" in treatment.stopped
    none, _ = treat(Config(reg=0.0), train=clinic, suggest_lr=lambda c: None, max_rounds=0)
    assert none.rounds == [] and none.final == Config(reg=0.0)


def test_an_incurable_cause_stops_at_once_and_says_why():
    clinic = Clinic(lambda c: [finding("memorizing_noise", "error"),
                               finding("overfitting")], lambda c: 0.1)
    treatment, _ = treat(Config(), train=clinic, suggest_lr=lambda c: None)
    assert treatment.rounds == [] and treatment.cannot_cure == doctor.INCURABLE[
        "memorizing_noise"]
    assert "cannot cure memorizing_noise" in str(treatment)


def test_the_first_run_is_not_trained_again_when_given():
    clinic = Clinic(lambda c: [], lambda c: 0.9)
    first = Visit(Config(), History([]), 0.9)
    treatment, kept = treat(Config(), train=clinic, suggest_lr=lambda c: None, first=first)
    assert clinic.trained == [] and kept is first


def test_a_remedy_that_changes_the_network_brings_the_rate_found_for_the_new_one():
    rates = {"relu": 0.01, "leaky_relu": 0.02}
    _, remedy, _ = prescribe(Config(bias=0.01), [finding("dead_units")],
                             lambda c: rates[c.activation])
    assert remedy.changes == {"activation": "leaky_relu", "lr": 0.02}
    _, remedy, _ = prescribe(Config(activation="tanh", init="lecun"),
                             [finding("saturated_units")], lambda c: 0.005 if c.batchnorm else 1,
                             tried=[("saturated_units", {"init": "xavier"})])
    assert remedy.changes == {"batchnorm": True, "lr": 0.005}


def test_the_range_test_runs_once_per_network_not_once_per_rate():
    calls = []

    def suggest(cfg):
        calls.append(cfg)
        return 0.01

    clinic = Clinic(lambda c: [finding("dead_units")], lambda c: {1.0: 0.3}.get(c.lr, 0.6)
                    + (0.2 if c.activation == "leaky_relu" else 0))
    treatment, _ = treat(Config(lr=1.0, bias=0.01), train=clinic, suggest_lr=suggest,
                         max_rounds=2)
    assert [list(r.changes) for r in treatment.rounds] == [["lr"], ["activation"]]
    # two networks (ReLU, leaky ReLU), two range tests: the lr change reused the first's rate
    assert [c.activation for c in calls] == ["relu", "leaky_relu"]


def test_the_record_serializes_and_prints():
    clinic = Clinic(lambda c: [finding("noisy_loss")] if c.batch_size < 64 else [],
                    lambda c: c.batch_size / 200)
    treatment, _ = treat(Config(batch_size=16), train=clinic, suggest_lr=lambda c: None)
    d = json.loads(json.dumps(treatment.to_dict()))
    assert d["rounds"][0]["changes"] == {"batch_size": [16, 64]}
    assert d["changed"] == {"batch_size": [16, 64]} and d["best_round"] == 1
    assert d["final_config"]["batch_size"] == 64
    assert d["command"] == "babysit train --data digits --batch-size 64"
    text = str(treatment)
    assert "round 1: noisy_loss" in text and "0.0800 -> 0.3200" in text


def test_train_command_leaves_out_the_loss_a_regression_target_implies():
    # `--loss mse` is no choice of the command line's --loss: the printed command was refused
    cfg = Config(data="prices.csv", target="price", loss="mse", lr=0.01)
    command = train_command(cfg)
    assert "--loss" not in command and "--target price" in command and "--lr 0.01" in command
    assert "--loss svm" in train_command(Config(data="digits", loss="svm"))


def test_train_command_on_a_file_writes_the_settings_a_table_fills_in_itself():
    """--epochs 30 --reg 0.0001 --no-best-weights equal RunConfig's defaults and were left out:
    the printed command then trained a table's 150 epochs, its penalty and its best weights."""
    cfg = Config(data="prices.csv", target="price", epochs=30, reg=1e-4, best_weights=False)
    command = train_command(cfg)
    assert "--epochs 30" in command and "--reg 0.0001" in command
    assert "--no-best-weights" in command
    assert "--epochs" not in train_command(Config(data="digits"))   # no table: its defaults hold


def test_train_command_pastes_back_into_a_shell_as_printed():
    """A data path or target with a space was printed bare: pasted back, the shell split it
    ("unrecognized arguments: ace/lab.csv label")."""
    cfg = Config(data="my data/lab.csv", target="the label", hidden=(50, 20))
    words = shlex.split(train_command(cfg))
    assert words[words.index("--data") + 1].endswith("my data/lab.csv")
    assert words[words.index("--target") + 1] == "the label"
    assert words[words.index("--hidden") + 1] == "50,20"


def test_train_command_spells_every_kind_of_setting():
    cfg = Config(hidden=(50,), batchnorm=True, max_norm=3.0, lr=0.0025)
    assert train_command(cfg) == ("babysit train --data digits --hidden 50 --batchnorm "
                                  "--lr 0.0025 --max-norm 3")


def test_max_rounds_must_be_a_count():
    with pytest.raises(ValueError, match="max_rounds"):
        treat(Config(), train=lambda c: None, suggest_lr=lambda c: None, max_rounds=-1)


def test_the_record_renders_as_html_for_the_report():
    clinic = Clinic(lambda c: [finding("noisy_loss", what="noisy loss")]
                    if c.batch_size < 64 else [], lambda c: c.batch_size / 200)
    treatment, _ = treat(Config(batch_size=16), train=clinic, suggest_lr=lambda c: None)
    page = treatment_html(treatment.to_dict())
    # the cause in words, as the diagnosis says it, not its name in code
    assert "<td>noisy loss</td>" in page and "<td>noisy_loss</td>" not in page
    assert "batch_size 16 &rarr; 64" in page
    assert "babysit train --data digits --batch-size 64" in page
    assert "range test" not in page          # none ran: no chart


# -- the Runner: what treat trains and range-tests by default ---------------------------------

def test_the_runner_trains_and_range_tests_on_train_and_val_only(monkeypatch, digits_split):
    from babysit.data.datasets import Split
    from babysit.doctor import runs
    from babysit.runs import builders

    class Sealed(Split):
        """A test split that fails the moment anything reads it."""

        def __getattribute__(self, name):
            raise AssertionError(f"the doctor read the test split ({name})")

        def __iter__(self):
            raise AssertionError("the doctor read the test split")

        def __getitem__(self, i):
            raise AssertionError("the doctor read the test split")

    def load(cfg):
        data = builders.load_data(cfg)
        return dataclasses.replace(data, test=Sealed(data.test.X, data.test.y))

    monkeypatch.setattr(runs, "load_data", load)
    runner = runs.Runner()
    cfg = Config(hidden=(16,), epochs=2, optimizer="sgd", lr=0.1)
    visit = runner.train(cfg)
    assert visit.cfg == cfg and visit.history.epochs == 2
    assert visit.val_acc == visit.history.val_acc[-1] > 0.5
    rate = runner.suggest_lr(cfg)
    (tested, found), = runner.ranges
    assert tested == cfg and rate == found.suggestion and 1e-4 < rate < 10


def test_the_runner_keeps_each_round_in_its_folder_and_says_when_a_run_diverged(tmp_path):
    from babysit.doctor.runs import Runner

    runner = Runner(tmp_path)
    diverged = runner.train(Config(hidden=(16,), epochs=2, optimizer="sgd", lr=1e4))
    assert diverged.val_acc is None
    runner.train(Config(hidden=(16,), epochs=1))
    assert Config.load(tmp_path / "round-0" / "config.json").lr == 1e4
    assert (tmp_path / "round-1" / "history.json").is_file()
    assert (tmp_path / "round-1" / "best.safetensors").is_file()


def test_a_round_stopped_mid_fit_holds_its_config_and_resumes_alone(tmp_path, monkeypatch,
                                                                     capsys):
    """The round's config.json was written after its fit: a round stopped in it held no
    config, and `babysit resume fix/round-<k>` (what resuming the --fix folder advises)
    was refused as no run folder."""
    import pytest

    from babysit.cli import main
    from babysit.doctor.runs import Runner
    from babysit.training.checkpoint import Checkpoints

    saved = Checkpoints.on_epoch_end

    def stop_after_first(self, trainer, epoch):
        saved(self, trainer, epoch)
        raise KeyboardInterrupt

    monkeypatch.setattr(Checkpoints, "on_epoch_end", stop_after_first)
    with pytest.raises(KeyboardInterrupt):
        Runner(tmp_path).train(Config(hidden=(16,), epochs=3))
    assert Config.load(tmp_path / "round-0" / "config.json").epochs == 3
    monkeypatch.setattr(Checkpoints, "on_epoch_end", saved)
    assert main(["resume", str(tmp_path / "round-0"), "--no-report"]) == 0
    capsys.readouterr()


# -- babysit train --fix ----------------------------------------------------------------------

def test_train_fix_lowers_a_rate_that_is_too_high_and_keeps_the_record(tmp_path, capsys):
    from babysit.cli import main
    from babysit.training.history import History

    out = tmp_path / "fix"
    assert main(["train", "--hidden", "32", "--optimizer", "sgd", "--lr", "10", "--epochs", "8",
                 "--fix", "--max-rounds", "2", "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    treatment = summary["treatment"]
    first = treatment["rounds"][0]
    assert first["cause"] in ("lr_too_high", "diverged", "dead_units")
    assert first["changes"]["lr"][0] == 10.0 and first["changes"]["lr"][1] < 1.0
    assert first["val_after"] > first["val_before"]
    final = Config.load(out / "config.json")
    assert final.lr < 1.0 and final.to_dict() == treatment["final_config"]
    assert summary["command"] == train_command(final)
    assert History.load(out / "history.json").meta["treatment"]["best_round"] == \
        summary["kept_round"] >= 1
    assert (out / "round-0" / "history.json").is_file() and (out / "best.safetensors").is_file()
    assert (out / "report.html").is_file() and (out / "lr_range.json").is_file()
    assert not list(out.glob("*.png"))  # the range test is drawn on the page, not kept twice
    # `babysit report` on the folder draws the treatment again (it was lost on a redraw)
    first_page = (out / "report.html").read_text()
    assert main(["report", str(out)]) == 0
    page = (out / "report.html").read_text()
    for part in ('id="treatment"', "The last learning-rate range test of the treatment",
                 html.escape(summary["command"]), 'id="rounds"'):
        assert part in first_page and part in page, part


def test_train_fix_scores_the_test_rows_as_the_kept_run_prepared_them(tmp_path, capsys):
    """The kept round standardized the inputs; its test rows were scored unscaled, as the first
    run (--preprocess none) read them: 0.62 where training it again gave 0.97."""
    import numpy as np

    from babysit.cli import main
    from babysit.data import load

    digits = load("digits")
    X = np.concatenate([digits.train.X, digits.val.X, digits.test.X]) * 1000 + 500
    y = np.concatenate([digits.train.y, digits.val.y, digits.test.y])
    np.savez(tmp_path / "big.npz", X=X, y=y)
    out = tmp_path / "fix"
    assert main(["train", "--data", str(tmp_path / "big.npz"), "--epochs", "10",
                 "--preprocess", "none", "--fix", "--max-rounds", "1", "--out", str(out),
                 "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["treatment"]["final_config"]["preprocess"] == "standardize"
    assert summary["test_accuracy"] > 0.9


def test_train_fix_with_an_ensemble_is_refused_in_one_line(tmp_path, capsys):
    from babysit.cli import main

    assert main(["train", "--fix", "--ensemble", "2", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--fix" in err[0] and "--ensemble" in err[0]


def test_a_cause_with_every_remedy_in_effect_stops_the_treatment_and_names_it():
    clinic = Clinic(lambda c: [finding("unscaled_inputs")], lambda c: 0.9)
    treatment, _ = treat(Config(preprocess="standardize"), train=clinic,
                         suggest_lr=lambda c: None)
    assert treatment.rounds == [] and treatment.stopped == "no remedy left for: unscaled_inputs"
    assert treatment.cannot_cure is None


def test_a_negative_max_rounds_is_refused_before_any_run_folder_is_made(tmp_path, capsys):
    from babysit.cli import main

    assert main(["train", "--fix", "--max-rounds", "-1", "--out", str(tmp_path / "r")]) == 2
    assert "--max-rounds" in capsys.readouterr().err and not (tmp_path / "r").exists()


def test_train_fix_treats_a_regression_by_its_validation_loss(tmp_path, capsys):
    import json

    import numpy as np

    from babysit.cli import main

    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 3))
    path = tmp_path / "prices.csv"
    np.savetxt(path, np.c_[X, X @ [1.5, -2.0, 0.5] + 0.1], delimiter=",", comments="",
               header="a,b,c,price", fmt="%.6g")
    out = tmp_path / "run"
    assert main(["train", "--data", str(path), "--target", "price", "--task", "regress",
                 "--fix", "--max-rounds", "2", "--epochs", "8", "--hidden", "16",
                 "--split", "0.6,0.2,0.2", "--no-report", "--out", str(out), "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    summary = json.loads(lines[-1])
    assert summary["task"] == "regress" and summary["val_loss"] > 0
    assert summary["treatment"]["metric"] == "validation loss"
    assert summary["test_r2"] is not None and summary["test_rmse"] > 0
    assert any(line.startswith(f"kept round {summary['kept_round']}: validation loss ")
               and "test RMSE" in line for line in lines)
    assert (out / "best.safetensors").is_file() and (out / "treatment.json").is_file()


class LossClinic(Clinic):
    """A fake trainer of a regression: `score(cfg)` gives the validation loss."""

    def __call__(self, cfg):
        self.trained.append(cfg)
        return Visit(cfg, History(self.ill(cfg)), None, val_loss=self.score(cfg),
                     task="regress")


def test_a_regression_round_is_kept_when_it_lowers_the_validation_loss():
    clinic = LossClinic(lambda c: [finding("reg_too_strong")] if c.reg > 1e-3 else [],
                        lambda c: 0.5 if c.reg > 1e-3 else 0.2)
    treatment, kept = treat(Config(reg=3e-2), train=clinic, suggest_lr=lambda c: None)
    assert treatment.best == 1 and kept.val_loss == 0.2 and treatment.final.reg == 3e-4
    assert (treatment.val_initial, treatment.val_final) == (0.5, 0.2)
    assert "validation loss 0.5000 -> 0.2000" in str(treatment)
    worse = LossClinic(lambda c: [finding("reg_too_strong")], lambda c: 0.5 if c.reg > 1e-3
                       else 0.9)
    treatment, kept = treat(Config(reg=3e-2), train=worse, suggest_lr=lambda c: None)
    assert treatment.best == 0 and "did not lower validation loss" in treatment.stopped


def test_a_strong_penalty_is_weakened_first_for_dead_units():
    _, remedy, _ = prescribe(Config(reg=3e-2), [finding("dead_units")], lambda c: None)
    assert remedy.changes == {"reg": 3e-3} and "penalty of 0.03" in remedy.because
    _, remedy, _ = prescribe(Config(reg=1e-4), [finding("dead_units")], lambda c: None)
    assert "reg" not in remedy.changes
