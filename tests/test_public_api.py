"""The public names that design.md and the issues promise exist, with the promised arguments,
and every module says which of its names are public (`__all__`; the rest start with `_`).

Outside checks call these names; a rename or a dropped argument breaks them, so it fails here
first.
"""

import ast
import importlib
import inspect
import re
from pathlib import Path

import pytest

import babysit as bs

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "babysit"

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
    # the Layer protocol (nn/layers/base.py): what a layer of one's own and its callers use
    "layers.Layer.forward": ["x", "train"],
    "layers.Layer.backward_params": ["backward", "dy"],
    "layers.Layer.named_params": [],
    "layers.Layer.named_modules": [],
    "layers.Layer.zero_grad": [],
    "layers.Param.accumulate": ["op"],
    "layers.Param.zero_grad": [],
    "layers.Param.swap_grad": ["grad"],
    "layers.Param.restore_grad": ["held"],
    "optim.Optimizer.step": ["params"],
    "optim.Optimizer.state_dict": [],
    "optim.Optimizer.load_state_dict": ["saved", "params"],
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


# -- the declared surface: `__all__` in every module ------------------------------------------


def _public_modules() -> list[Path]:
    """Every module of the package but `__main__` (`python -m babysit`)."""
    return [p for p in sorted(PACKAGE.rglob("*.py")) if p.name != "__main__.py"]


def _statements(body):
    """The statements a module runs at import: its top level and the bodies of top-level
    if/try blocks (optional imports, names that exist only where a library does)."""
    for node in body:
        yield node
        if isinstance(node, ast.If | ast.Try):
            for block in (node.body, node.orelse, getattr(node, "finalbody", []),
                          *(h.body for h in getattr(node, "handlers", []))):
                yield from _statements(block)


def _surface(path: Path) -> tuple[list[str] | None, set[str], set[str]]:
    """(the names `__all__` lists, or None without one; every name the module binds; the
    public functions and classes it defines), read from the source, so that modules of the
    optional extras (torch) are checked without importing them."""
    declared, bound, defined = None, set(), set()
    for node in _statements(ast.parse(path.read_text()).body):
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            bound.add(node.name)
            if not node.name.startswith("_"):
                defined.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                names = {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
                bound |= names
                if "__all__" in names and node.value is not None:
                    declared = (declared or []) + ast.literal_eval(node.value)
        elif isinstance(node, ast.For):   # `for name in ...:` at the top level binds it
            bound.update(n.id for n in ast.walk(node.target) if isinstance(n, ast.Name))
    return declared, bound, defined


@pytest.mark.parametrize("path", _public_modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_every_module_declares_its_public_names(path):
    """`__all__` lists names the module has, each once, and every function or class it
    defines without a leading underscore: a helper is either declared or marked internal."""
    declared, bound, defined = _surface(path)
    assert declared is not None, f"{path.name} has no __all__"
    assert len(declared) == len(set(declared)), f"{path.name}: __all__ repeats a name"
    assert not set(declared) - bound, f"{path.name}: __all__ names what it lacks"
    undeclared = sorted(defined - set(declared))
    assert not undeclared, (f"{path.name} defines {undeclared} without a leading underscore "
                            f"but leaves them out of __all__: declare them or mark them internal")


# The public names of the modules a user meets first, as design.md and the README promise them
# (plus the registries the command line reads): a name added to or dropped from one of these is
# a change of the promise, made here on purpose.
PROMISED_SURFACE = {
    "babysit": {
        "DivergedError", "History", "Sequential", "Trainer", "mlp", "load", "save", "init",
        "check", "data", "diagnose", "doctor", "report", "search", "config", "ensemble",
        "layers", "losses", "optim", "regularizers", "initializers", "average", "preprocess",
        "checkpoint", "monitors"},
    "babysit.nn.layers": {
        "Param", "Layer", "Sequential", "Linear", "ReLU", "LeakyReLU", "Tanh", "Sigmoid",
        "Dropout", "BatchNorm", "GaussianNoise", "mlp", "activation", "ACTIVATIONS"},
    "babysit.nn.losses": {"Loss", "SoftmaxCrossEntropy", "MulticlassSVM", "MeanSquaredError",
                          "softmax", "log_softmax", "get", "LOSSES"},
    "babysit.nn.optim": {"Optimizer", "SGD", "Momentum", "Adagrad", "RMSprop", "Adam",
                         "StepDecay", "ExponentialDecay", "InverseTimeDecay", "get",
                         "OPTIMIZERS"},
    "babysit.nn.regularizers": {"Regularizer", "L2", "L1", "ElasticNet", "MaxNorm",
                                "check_penalty"},
    "babysit.nn.initializers": {"small", "lecun", "xavier", "he", "sparse", "zeros", "weights",
                                "bias", "INITIALIZERS"},
    "babysit.data": {"load", "validate", "class_labels", "encode_labels", "check_features",
                     "is_memory_mapped", "stratified_split", "Dataset", "Split", "BUILTIN"},
    "babysit.data.preprocess": {"Transform", "MeanCenter", "Standardize", "MinMax", "PCA",
                                "Whiten", "Pipeline", "from_state", "resolve", "get",
                                "CHOICES"},
    "babysit.check": {
        "gradients", "sanity", "lr_range", "step_sizes", "numerical_gradient",
        "numerical_gradient_array", "centered_difference", "rel_error", "GradientReport",
        "GradientRow", "ParamVerdict", "StepSizes", "SanityCheck", "SanityReport", "LRRange"},
    "babysit.runs.config": {"RunConfig", "config_fields", "unknown_fields", "REG_KINDS",
                            "parse_bool", "parse_names", "parse_real", "parse_whole",
                            "parse_widths"},
    "babysit.sklearn": {"BabysitClassifier", "BabysitRegressor"},
    "babysit.cli": {"main", "parser"},
}


@pytest.mark.parametrize("module", sorted(PROMISED_SURFACE))
def test_the_main_modules_offer_what_the_docs_promise(module):
    declared = set(importlib.import_module(module).__all__)
    assert declared == PROMISED_SURFACE[module], (
        f"{module}: new {sorted(declared - PROMISED_SURFACE[module])}, "
        f"gone {sorted(PROMISED_SURFACE[module] - declared)}")


def test_the_module_paths_from_before_the_layout_still_work():
    """`bs.train.accuracy`, `from babysit.losses import ...`: what scripts written against
    0.1's flat package call reaches the moved modules, as attributes and as imports."""
    from babysit.losses import SoftmaxCrossEntropy
    from babysit.train import Trainer

    assert bs.train is bs.training.trainer and bs.train.accuracy is bs.training.trainer.accuracy
    assert Trainer is bs.Trainer and SoftmaxCrossEntropy is bs.nn.losses.SoftmaxCrossEntropy
    assert bs.callbacks.EarlyStopping is bs.training.callbacks.EarlyStopping


def _names_in_the_docs() -> list[str]:
    """Every dotted name the README and docs/ pages write as `bs.<name>` or `babysit.<name>`
    (`bs.` read as `babysit.`), each once."""
    root = PACKAGE.parents[1]
    pages = [root / "README.md", *sorted((root / "docs").glob("*.md"))]
    text = "\n".join(p.read_text() for p in pages)
    dotted = re.findall(r"\b(?:bs|babysit)\.([A-Za-z_][\w.]*[A-Za-z0-9_])", text)
    return sorted({"babysit." + name for name in dotted})


@pytest.mark.parametrize("dotted", _names_in_the_docs())
def test_every_name_the_docs_write_exists(dotted):
    """A reader who types what the manual shows finds it: the longest importable module of
    the name, then attributes (a page naming a moved or renamed thing fails here)."""
    parts = dotted.split(".")
    if parts[1] == "torch":
        pytest.importorskip("torch")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
            break
        except ModuleNotFoundError:
            continue
    for part in parts[i:]:
        assert hasattr(obj, part), f"{dotted}: {'.'.join(parts[:i])} has no {part!r}"
        obj = getattr(obj, part)
