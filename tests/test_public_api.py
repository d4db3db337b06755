"""The public names that design.md and the issues promise exist, with the promised arguments.

Outside checks call these names; a rename or a dropped argument breaks them, so it breaks here first.
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
                "callbacks", "progress"],
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
        assert scheme in bs.init.INITIALIZERS


def test_diverged_error_carries_the_history():
    assert issubclass(bs.DivergedError, Exception)
    assert bs.DivergedError is bs.train.DivergedError


def test_sklearn_estimators_are_importable():
    from babysit.sklearn import BabysitClassifier, BabysitRegressor

    for cls in (BabysitClassifier, BabysitRegressor):
        for arg in ("hidden", "activation", "lr", "reg", "epochs", "batch_size", "seed"):
            assert arg in inspect.signature(cls).parameters


def test_import_babysit_loads_no_heavy_optional_library():
    """matplotlib, optuna, scipy and scikit-learn load only where they are used."""
    import subprocess
    import sys

    code = ("import sys, babysit; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'matplotlib', 'optuna', 'scipy', 'sklearn'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
