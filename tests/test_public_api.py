"""The public names that design.md and the issues promise exist, with the promised arguments.

Outside checks call these names; a rename or a dropped argument breaks them, so it fails here
first.
"""

import inspect

import pytest

import babysit as bs

# name -> the parameters the contract says it takes (a subset; more may follow with defaults)
PROMISED = {
    "data.load": ["name_or_path"],
    "data.validate": ["X", "y"],
    "data.class_labels": ["y"],
    "preprocess.MeanCenter": ["per"],
    "preprocess.Standardize": [],
    "preprocess.MinMax": ["low", "high"],
    "preprocess.PCA": [],
    "preprocess.Whiten": ["kind"],
    "preprocess.Pipeline": [],
    "preprocess.from_state": ["config", "arrays"],
    "mlp": ["n_in", "hidden", "n_out", "activation", "init", "batchnorm", "dropout"],
    "Sequential": [],
    "layers.Param": ["value"],
    "layers.Linear": ["n_in", "n_out", "init", "bias"],
    "layers.ReLU": [],
    "layers.LeakyReLU": ["alpha"],
    "layers.Tanh": [],
    "layers.Sigmoid": [],
    "layers.Dropout": ["drop"],
    "layers.BatchNorm": ["n"],
    "losses.SoftmaxCrossEntropy": [],
    "losses.MulticlassSVM": ["margin"],
    "losses.MeanSquaredError": [],
    "regularizers.L2": ["lam"],
    "regularizers.L1": ["lam"],
    "regularizers.ElasticNet": ["l1", "l2"],
    "regularizers.MaxNorm": ["c"],
    "optim.SGD": ["lr"],
    "optim.Momentum": ["lr", "mu", "nesterov"],
    "optim.Adagrad": ["lr"],
    "optim.RMSprop": ["lr", "decay"],
    "optim.Adam": ["lr", "beta1", "beta2", "eps"],
    "optim.StepDecay": [],
    "optim.ExponentialDecay": [],
    "optim.InverseTimeDecay": [],
    "check.gradients": ["net", "loss", "X", "y", "reg", "per_param", "h", "seed", "burn_in"],
    "check.sanity": ["net", "loss", "X", "y", "reg"],
    "check.numerical_gradient": ["f", "x", "h"],
    "check.numerical_gradient_array": ["f", "x", "dout", "h"],
    "check.rel_error": ["a", "b"],
    "check.step_sizes": ["net", "loss", "X", "y"],
    "Trainer": ["net", "loss", "opt", "reg", "constraints", "batch_size", "epochs", "seed",
                "callbacks", "progress", "average"],
    "Trainer.fit": ["X", "y", "val"],
    "Trainer.step": [],
    "Trainer.predict": [],
    "Trainer.predict_proba": [],
    "Trainer.accuracy": [],
    "History.diagnose": [],
    "History.save": [],
    "History.load": [],
    "report.write": ["history", "run_dir"],
    "save": ["path", "net", "preprocess", "meta"],
    "load": ["path"],
    "ensemble.Ensemble": ["models"],
    "ensemble.distill": ["teacher", "student", "X", "temperature", "alpha"],
    "search.run": [],
    "search.loguniform": ["lo", "hi"],
    "search.uniform": ["lo", "hi"],
    "search.intuniform": ["lo", "hi"],
    "search.choice": ["values"],
    "config.RunConfig": ["hidden", "lr"],
    "check.lr_range": ["net", "loss", "X", "y", "optimizer", "start", "end", "iterations"],
    "doctor.treat": ["cfg", "max_rounds"],
    "ensemble.of_seeds": [],
    "ensemble.top_k": [],
    "ensemble.of_run": [],
    "Trainer.resume": ["path"],
    "Trainer.state": [],
    "Trainer.load_state": ["state"],
    "History.when": ["iteration"],
}


def resolve(dotted):
    obj = bs
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


@pytest.mark.parametrize("name", sorted(PROMISED))
def test_promised_name_exists_with_its_arguments(name):
    obj = resolve(name)
    assert callable(obj), f"bs.{name} is not callable"
    params = inspect.signature(obj).parameters
    missing = [p for p in PROMISED[name] if p not in params]
    assert not missing, f"bs.{name} lacks the promised arguments {missing}"


def test_init_offers_the_notes_schemes():
    for scheme in ("small", "lecun", "xavier", "he", "sparse", "zeros"):
        assert scheme in bs.initializers.INITIALIZERS


def test_the_engine_issues_bs_init_is_the_initializers_module():
    assert bs.init is bs.initializers


def test_diverged_error_carries_the_history():
    assert bs.DivergedError is bs.train.DivergedError
    history = bs.History()
    err = bs.DivergedError("the loss became nan", 7, history)
    assert err.history is history and err.iteration == 7


def test_sklearn_estimators_are_importable():
    from babysit.sklearn import BabysitClassifier, BabysitRegressor

    for cls in (BabysitClassifier, BabysitRegressor):
        for arg in ("hidden", "activation", "lr", "reg", "epochs", "batch_size", "seed"):
            assert arg in inspect.signature(cls).parameters


def test_import_babysit_loads_no_heavy_optional_library():
    """matplotlib, optuna, scipy, scikit-learn, torch, CuPy, Hypothesis and the PostgreSQL
    drivers load only where they are used."""
    import subprocess
    import sys

    code = ("import sys, babysit; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'matplotlib', 'optuna', 'scipy', 'sklearn', 'torch', 'lightning', 'cupy', "
            "'hypothesis', 'psycopg', 'psycopg2', 'sqlalchemy'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("argv, says", [
    (["--epochs", "0"], "argument --epochs: epochs must be a positive integer, got 0"),
    (["--patience", "0"], "argument --patience: patience must be a positive integer, got 0"),
    (["--hidden", "abc"], "--hidden takes comma-separated integers"),
    (["--data", "nosuch"], "unknown dataset 'nosuch'"),
    (["--lr", "-1"], "lr must be > 0"),
    (["--batch-size", "0"], "batch_size must be a positive integer, got 0"),
    (["--dropout", "1.5"], "must be in [0, 1), got 1.5"),
    (["--optimizer", "foo"], "unknown optimizer 'foo'; known: sgd"),
])
def test_the_command_line_refuses_bad_input_in_one_line(argv, says, tmp_path, capsys):
    """Exit status 2 and one line on stderr naming the argument, never a traceback."""
    from babysit.cli import main

    try:
        code = main(["train", *argv, "--out", str(tmp_path)])
    except SystemExit as exit_:   # argparse's own refusals
        code = exit_.code
    err = capsys.readouterr().err
    assert code == 2
    assert says in err.splitlines()[-1]
    assert "Traceback" not in err


def test_a_text_feature_column_is_named_with_its_row(tmp_path, capsys):
    from babysit.cli import main

    csv = tmp_path / "text.csv"
    csv.write_text("a,b,label\n1,2,x\n3,foo,y\n" + "5,6,x\n7,8,y\n1,1,x\n2,2,y\n" * 3)
    code = main(["train", "--data", str(csv), "--target", "label", "--out", str(tmp_path)])
    line = capsys.readouterr().err.strip()
    assert code == 2
    assert "column 'b' holds numbers, but data row 1 (line 3) holds 'foo'" in line


def test_rel_error_refuses_arrays_of_different_shapes():
    import numpy as np

    with pytest.raises(ValueError, match=r"one shape, got a \(3,\) and b \(4,\)"):
        bs.check.rel_error(np.zeros(3), np.zeros(4))


@pytest.mark.parametrize("text, says", [
    ("{not json", "is not a history written by History.save: Expecting property name"),
    ("[1, 2]", "expected a JSON object, got list"),
    ('{"loss": ["x"]}', "'loss' must be a list of numbers"),
])
def test_report_refuses_a_file_that_is_not_a_history(text, says, tmp_path, capsys):
    from babysit.cli import main

    (tmp_path / "history.json").write_text(text)
    code = main(["report", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert says in err.strip()
    assert "Traceback" not in err


@pytest.mark.parametrize("make, says", [
    (lambda: bs.optim.StepDecay(1e-3, every=0), "StepDecay: every must be a positive integer"),
    (lambda: bs.optim.StepDecay(1e-3, factor=2.0), r"StepDecay: factor must be in \(0, 1\]"),
    (lambda: bs.optim.ExponentialDecay(-1.0, k=0.1), "ExponentialDecay: lr0 must be a number > 0"),
    (lambda: bs.optim.InverseTimeDecay(0.1, k=-1.0), "InverseTimeDecay: k must be a number >= 0"),
])
def test_schedules_refuse_bad_settings_when_built(make, says):
    """Not at step 1000, where StepDecay(every=0) divided by zero and a negative k overflowed."""
    with pytest.raises(ValueError, match=says):
        make()


@pytest.mark.parametrize("loss, opt, says", [
    ("softmax", bs.optim.SGD(), r"loss must be a babysit Loss such as .*, got 'softmax'"),
    (bs.losses.SoftmaxCrossEntropy(), "adam", r"opt must be a babysit Optimizer .*, got 'adam'"),
])
def test_the_trainer_names_a_string_given_for_an_object(loss, opt, says):
    with pytest.raises(ValueError, match=says):
        bs.Trainer(bs.mlp(4, [3], 2), loss, opt)
