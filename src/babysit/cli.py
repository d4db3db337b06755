"""The `babysit` command: `demo`, `train`, and the other steps of the recipe.

Every command takes `--data NAME|PATH` and writes into a run folder (`--out DIR`,
by default a new folder under `runs/`); `--json` prints a machine-readable
summary as the last line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from babysit import check, ensemble, initializers, layers, losses, optim, preprocess, regularizers
from babysit.backend import DEVICES, FLOAT_DTYPES
from babysit.checkpoint import Checkpoints
from babysit.data import datasets
from babysit.train import DivergedError, EarlyStopping, Trainer

# -- shared options -----------------------------------------------------------------------


def add_data_options(p: argparse.ArgumentParser) -> None:
    """--data, --target, --preprocess, --seed: which data, and how it is prepared."""
    p.add_argument("--data", default="digits", help="built-in name, a .csv (with --target) "
                   "or a .npz holding X and y (default: digits)")
    p.add_argument("--target", help="the label column of a .csv file")
    p.add_argument("--preprocess", default="center", choices=preprocess.CHOICES,
                   help="fitted on the training split only, applied to val and test "
                        "(default: center, subtract the training mean)")
    p.add_argument("--seed", type=int, default=0, help="seeds the split, init and shuffles")


def add_model_options(p: argparse.ArgumentParser) -> None:
    """The network `build_model` builds: widths, activation, init, BatchNorm, dropout, loss."""
    g = p.add_argument_group("model")
    g.add_argument("--hidden", type=_widths, default=[100, 100],
                   help="hidden layer widths, comma-separated (default: 100,100)")
    g.add_argument("--activation", default="relu", choices=sorted(layers.ACTIVATIONS))
    g.add_argument("--init", default="he",
                   help=", ".join(k for k in initializers.INITIALIZERS if k != "zeros"))
    g.add_argument("--batchnorm", action="store_true", help="BatchNorm after each hidden Linear")
    g.add_argument("--dropout", type=float, default=0.0, help="probability of zeroing a unit")
    g.add_argument("--input-noise", type=float, default=0.0, help="std of input noise")
    # The command line trains classifiers (its datasets hold class labels); mean squared error
    # is for babysit.sklearn.BabysitRegressor, which builds its trainer from these options.
    g.add_argument("--loss", default="softmax",
                   choices=sorted(k for k, v in losses.LOSSES.items() if v.classification))
    g.add_argument("--dtype", default="float32", choices=FLOAT_DTYPES)
    g.add_argument("--device", default="cpu", choices=DEVICES,
                   help="where the network trains: cpu (NumPy) or gpu (CuPy, babysit[gpu])")


def add_training_options(p: argparse.ArgumentParser) -> None:
    """The Trainer `build_trainer` builds: optimizer, lr, regularization, epochs, batches."""
    g = p.add_argument_group("training")
    g.add_argument("--optimizer", default="adam", help=", ".join(optim.OPTIMIZERS))
    g.add_argument("--lr", type=float, default=1e-3, help="learning rate (default: 1e-3)")
    g.add_argument("--reg", type=float, default=1e-4, help="regularization strength")
    g.add_argument("--reg-kind", default="l2", choices=REG_KINDS)
    g.add_argument("--max-norm", type=float, default=None, help="max-norm constraint c")
    g.add_argument("--epochs", type=_positive_int, default=30)
    g.add_argument("--batch-size", type=int, default=32)
    g.add_argument("--average", type=float, default=None, metavar="DECAY",
                   help="evaluate with a running average of the weights (e.g. 0.999)")
    g.add_argument("--patience", type=_positive_int, default=None,
                   help="stop after this many epochs without a better val accuracy")


def add_ensemble_options(p: argparse.ArgumentParser) -> None:
    """--ensemble K: train K seeds of one configuration and average them."""
    p.add_argument("--ensemble", type=int, default=1, metavar="K",
                   help="train K models from seeds seed..seed+K-1 and average their "
                        "probabilities (default: 1, a single model)")


def add_output_options(p: argparse.ArgumentParser) -> None:
    """--out (the run folder) and --json (a summary as stdout's last line)."""
    p.add_argument("--out", type=Path, help="run folder (default: a new folder under runs/)")
    p.add_argument("--json", action="store_true", help="print a JSON summary as the last line")


def add_check_options(p: argparse.ArgumentParser) -> None:
    """The gradient check's options: examples, coordinates per parameter, step, burn-in."""
    g = p.add_argument_group("gradient check")
    g.add_argument("--examples", type=int, default=4,
                   help="training examples the check runs on (default: 4; the notes advise few)")
    g.add_argument("--per-param", type=int, default=10,
                   help="coordinates checked in each parameter (default: 10)")
    g.add_argument("--step", type=float, default=1e-5, help="finite-difference step h")
    g.add_argument("--burn-in", type=int, default=0,
                   help="training iterations (--optimizer, --lr) before the check")


def _widths(text: str) -> list[int]:
    text = text.strip()
    if text in ("", "none", "0"):
        return []
    try:
        widths = [int(w) for w in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--hidden takes comma-separated integers like 100,100, got {text!r}") from None
    if any(w < 1 for w in widths):
        raise argparse.ArgumentTypeError(f"--hidden widths must be positive, got {text!r}")
    return widths


def _positive_int(text: str) -> int:
    """argparse type for counts that must be at least 1 (epochs, patience)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def load_data(args) -> datasets.Dataset:
    """The --data dataset split in three, with the --preprocess transform fitted on the
    training split only and applied to all three (kept as `data.preprocess`)."""
    data = datasets.load(args.data, seed=args.seed, target=args.target)
    return data.preprocessed(preprocess.get(args.preprocess), copy=False)


def build_model(args, n_in: int, n_out: int):
    """The --hidden network from n_in inputs to n_out scores (a Sequential, see bs.mlp)."""
    return layers.mlp(n_in, args.hidden, n_out, activation=args.activation, init=args.init,
                      batchnorm=args.batchnorm, dropout=args.dropout,
                      input_noise=args.input_noise, seed=args.seed,
                      dtype=args.dtype).to(args.device)


def layer_widths(args, data: datasets.Dataset) -> str:
    """The widths of the --hidden network on `data`, input to output, e.g. "64-100-100-10"."""
    return "-".join(map(str, [data.n_features, *args.hidden, data.n_classes]))


# --reg-kind's names, each with the penalty it builds from the strength --reg.
REG_KINDS = {
    "l2": regularizers.L2,
    "l1": regularizers.L1,
    "elastic": lambda lam: regularizers.ElasticNet(lam, lam),
}


def build_regularizer(args):
    """The --reg-kind penalty of strength --reg, or None when --reg is 0."""
    if args.reg_kind not in REG_KINDS:
        raise ValueError(f"reg_kind must be one of {tuple(REG_KINDS)}, got {args.reg_kind!r}")
    return REG_KINDS[args.reg_kind](args.reg) if args.reg else None


def build_trainer(args, net, quiet: bool = False, data: datasets.Dataset | None = None
                  ) -> Trainer:
    """The Trainer the options describe. With `data`, the default monitors record into the
    History too (babysit.monitors.default: cheap, and they never change training)."""
    from babysit import monitors

    constraints = [regularizers.MaxNorm(args.max_norm)] if args.max_norm else []
    watch = monitors.default(data.image_shape, data=data.name) if data is not None else []
    stop = [EarlyStopping(args.patience)] if args.patience is not None else []
    return Trainer(net, losses.get(args.loss), optim.get(args.optimizer, args.lr),
                   reg=build_regularizer(args), constraints=constraints,
                   batch_size=args.batch_size, epochs=args.epochs, seed=args.seed,
                   progress=None if not quiet else False, average=args.average,
                   callbacks=watch + stop)


def run_folder(args, command: str) -> Path:
    """Create and return --out, or a new runs/<command>-<timestamp>[-k] folder."""
    if args.out is not None:
        out = Path(args.out)
    else:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        out = Path("runs") / f"{command}-{stamp}"
        suffix = 1
        while out.exists():
            suffix += 1
            out = Path("runs") / f"{command}-{stamp}-{suffix}"
    out.mkdir(parents=True, exist_ok=True)
    return out


def say(text: str = "") -> None:
    """Human-readable output, flushed at once; the JSON summary of --json is printed after
    it, so that it stays stdout's last line."""
    print(text, flush=True)


# -- commands -----------------------------------------------------------------------------


def cmd_train(args) -> int:
    """Train one model (or --ensemble K), save its checkpoints and history, report accuracies."""
    if getattr(args, "ensemble", 1) != 1:
        return cmd_train_ensemble(args)
    data = load_data(args)
    net = build_model(args, data.n_features, data.n_classes)
    trainer = build_trainer(args, net, data=data)
    out = run_folder(args, "train")
    trainer.callbacks.append(Checkpoints(out, preprocess=data.preprocess))
    say(f"babysit train: {data.name}, {len(data.train.y)} train / {len(data.val.y)} val / "
        f"{len(data.test.y)} test, model {layer_widths(args, data)}")
    start = time.perf_counter()
    trainer.fit(data.train.X, data.train.y, val=data.val)
    seconds = time.perf_counter() - start
    summary = summarize(trainer, data, seconds, out)
    trainer.history.save(out / "history.json")
    report_summary(args, summary)
    return 0


def cmd_train_ensemble(args) -> int:
    """`train --ensemble K`: K models of one configuration from seeds seed..seed+K-1, each in
    its own run folder member-<i>/, then the test accuracy of each and of their average."""
    if args.ensemble < 1:
        raise ValueError(f"--ensemble must be a positive number of models, got {args.ensemble}")
    data = load_data(args)
    out = run_folder(args, "train")
    say(f"babysit train: {data.name}, an ensemble of {args.ensemble} models, seeds "
        f"{args.seed}..{args.seed + args.ensemble - 1}")
    start = time.perf_counter()

    def member(seed: int) -> Trainer:
        member_args = argparse.Namespace(**{**vars(args), "seed": seed})
        trainer = build_trainer(member_args, build_model(member_args, data.n_features,
                                                         data.n_classes))
        folder = out / f"member-{seed - args.seed + 1}"
        trainer.callbacks.append(Checkpoints(folder, preprocess=data.preprocess))
        return trainer

    seeds = range(args.seed, args.seed + args.ensemble)
    models = ensemble.of_seeds(member, seeds, data.train.X, data.train.y, val=data.val)
    members = models.member_accuracies(*data.test)
    for i, (seed, trainer) in enumerate(zip(seeds, models.models, strict=True)):
        trainer.history.save(out / f"member-{i + 1}" / "history.json")
        say(f"  member {i + 1} (seed {seed}): test accuracy {members[i]:.4f}")
    summary = {"data": data.name, "members": args.ensemble, "member_test_accuracies": members,
               "member_mean_test_accuracy": float(np.mean(members)),
               "test_accuracy": models.accuracy(*data.test),
               "seconds": round(time.perf_counter() - start, 3), "run_dir": str(out)}
    say(f"ensemble of {args.ensemble}: test accuracy {summary['test_accuracy']:.4f} "
        f"(members {summary['member_mean_test_accuracy']:.4f} on average; "
        f"{summary['seconds']:.1f} s, run folder {out})")
    if args.json:
        print(json.dumps(summary))
    return 0


def summarize(trainer: Trainer, data: datasets.Dataset, seconds: float, out: Path) -> dict:
    """The run's final numbers as a JSON-ready dict (what --json prints)."""
    h = trainer.history
    return {
        "data": data.name,
        "epochs": h.epochs,
        "final_loss": h.loss[-1] if h.loss else None,
        "train_accuracy": h.train_acc[-1] if h.train_acc else None,
        "val_accuracy": h.val_acc[-1] if h.val_acc else None,
        "test_accuracy": trainer.accuracy(*data.test),
        "seconds": round(seconds, 3),
        "run_dir": str(out),
    }


def report_summary(args, summary: dict) -> None:
    """Print the accuracies of `summarize`, then the JSON line with --json."""
    say(f"train accuracy {summary['train_accuracy']:.4f}  "
        f"val accuracy {summary['val_accuracy']:.4f}  "
        f"test accuracy {summary['test_accuracy']:.4f}  "
        f"({summary['seconds']:.1f} s, run folder {summary['run_dir']})")
    if args.json:
        print(json.dumps(summary))


def cmd_demo(args) -> int:
    """The whole recipe: preprocessing fitted on the training split (--preprocess), the
    sanity checks, the gradient check, training with monitors, the diagnosis, the report
    and the test accuracy. Exit 0 when training finished, 2 when it diverged."""
    from babysit import report

    data = load_data(args)
    net = build_model(args, data.n_features, data.n_classes)
    loss, reg = losses.get(args.loss), build_regularizer(args)
    out = run_folder(args, "demo")
    say(f"babysit demo: {data.name}, {len(data.train.y)} train / {len(data.val.y)} val / "
        f"{len(data.test.y)} test, preprocessing {args.preprocess!r} fitted on the "
        f"training split, model {layer_widths(args, data)}")
    sanity = check.sanity(net, loss, data.train.X, data.train.y, reg=reg, seed=args.seed)
    say(f"\n{sanity}")
    grads = check.gradients(net, loss, data.train.X[:4], data.train.y[:4], reg=reg,
                            seed=args.seed)
    (out / "gradient_check.txt").write_text(f"{grads}\n")
    say(f"\ngradient check ({grads.n_examples} examples, float64 copy; the full table "
        f"is in {out / 'gradient_check.txt'}):")
    for v in grads.verdicts:
        worst = f"{v.worst:.1e}" if v.worst is not None else "-"
        say(f"  {v.param:<8} {v.section:<15} worst relative error {worst:<8} {v.verdict}")
    say("  every parameter passes" if grads.ok else
        f"  WRONG gradient: {', '.join(grads.wrong)}")

    trainer = build_trainer(args, net, data=data)
    trainer.history.meta.update(sanity={**sanity.to_dict(), "text": str(sanity)},
                                gradient_check={**grads.summary(), "text": str(grads)})
    say(f"\ntraining for {args.epochs} epochs with monitors on")
    start = time.perf_counter()
    diverged = None
    try:
        trainer.fit(data.train.X, data.train.y, val=data.val)
    except DivergedError as err:
        diverged = err
    seconds = time.perf_counter() - start
    history = trainer.history
    history.save(out / "history.json")
    findings = say_findings(history)
    page = report.write(history, out, preprocess=data.preprocess,
                        image_shape=data.raw_image_shape)
    say(f"\nreport: {page}")
    if diverged is not None:
        say(f"babysit demo: {diverged}")
        return 2
    summary = summarize(trainer, data, seconds, out)
    summary.update(sanity_ok=sanity.ok, gradients_ok=grads.ok, report=str(page),
                   findings=[[f.severity, f.what] for f in findings])
    report_summary(args, summary)
    return 0


def say_findings(history):
    """Print the diagnosis of `history` (babysit.diagnose), one finding per line; return it."""
    findings = history.diagnose()
    say("\ndiagnosis:")
    for f in findings:
        say(f"  {f}")
    if not findings:
        say("  too little was recorded to judge")
    return findings


def add_report_options(p: argparse.ArgumentParser) -> None:
    """RUN_DIR, the run folder whose report is drawn again, and --json."""
    p.add_argument("run_dir", type=Path, help="a run folder holding history.json "
                   "(written by babysit train or demo)")
    p.add_argument("--json", action="store_true", help="print a JSON summary as the last line")


def cmd_report(args) -> int:
    """Re-render report.html and the plots of a saved run from its history.json."""
    from babysit import report
    from babysit.history import History

    path = args.run_dir / "history.json"
    if not path.is_file():
        raise ValueError(f"RUN_DIR {str(args.run_dir)!r} holds no history.json: give a run "
                         f"folder written by babysit train or babysit demo")
    history = History.load(path)
    findings = say_findings(history)
    page = report.write(history, args.run_dir)
    say(f"\nreport: {page}")
    if args.json:
        print(json.dumps({"report": str(page), "run_dir": str(args.run_dir),
                          "findings": [[f.severity, f.what] for f in findings]}))
    return 0


def cmd_check(args) -> int:
    """Gradient-check the model the options describe: exit 0 when every parameter passes."""
    if args.examples < 1:
        raise ValueError(f"--examples must be a positive integer, got {args.examples}")
    data = load_data(args)
    net = build_model(args, data.n_features, data.n_classes)
    out = run_folder(args, "check")
    report = check.gradients(net, losses.get(args.loss), data.train.X[:args.examples],
                             data.train.y[:args.examples], reg=build_regularizer(args),
                             per_param=args.per_param, h=args.step, seed=args.seed,
                             burn_in=args.burn_in, opt=optim.get(args.optimizer, args.lr))
    text = str(report)
    (out / "gradient_check.txt").write_text(text + "\n")
    say(text)
    if args.json:
        print(json.dumps({**report.summary(), "run_dir": str(out)}))
    return 0 if report.ok else 1


def add_search_options(p: argparse.ArgumentParser) -> None:
    """Trials, stages, the space (--param), sampler, folds, workers and the shared storage."""
    g = p.add_argument_group("search")
    g.add_argument("--trials", type=int, default=None,
                   help="trials in all (default: 30); finished trials already in the study "
                        "count, so running the same command again resumes a search")
    g.add_argument("--stages", help="trials:epochs for each coarse-to-fine stage, e.g. 20:6,10:30 "
                   "(default: two thirds of the trials at a fifth of --epochs over the full "
                   "ranges, then a third at --epochs in ranges narrowed around the best)")
    g.add_argument("--param", action="append", metavar="NAME=RANGE",
                   help="a hyperparameter to search, repeatable: lr=loguniform(1e-5,1e-1), "
                        "dropout=uniform(0,0.5), batch_size=intuniform(16,256), "
                        "hidden=choice(50 | 100,100) (default: lr, reg, hidden, dropout)")
    g.add_argument("--sampler", default="random", choices=["random", "tpe"])
    g.add_argument("--folds", type=int, default=1,
                   help="1: one validation split (default); k: k-fold cross-validation")
    g.add_argument("--workers", type=int, default=1, help="processes sharing the study")
    g.add_argument("--storage", help="an Optuna storage URL that workers on many machines share, "
                   "e.g. postgresql://user:password@host/db (default: a journal file in the "
                   "run folder)")
    g.add_argument("--study", default="babysit", help="the study's name in the storage")
    g.add_argument("--top-k", type=int, default=5,
                   help="the best configurations retrained as an ensemble (default: 5)")


def cmd_search(args) -> int:
    """Search hyperparameters; the run folder defaults to runs/search-<data>-<study>, so the
    same command resumes the same search."""
    from babysit import search

    data = load_data(args)
    space = dict(search.parse_param(text) for text in args.param) if args.param else None
    base = {k: v for k, v in vars(args).items() if k in search.base_config()}
    result = search.run(space, data, args.trials,
                        stages=search.parse_stages(args.stages) if args.stages else None,
                        base=base, workers=args.workers, storage=args.storage,
                        study=args.study, out=args.out, sampler=args.sampler, folds=args.folds,
                        seed=args.seed, top_k=args.top_k, say=say)
    if args.json:
        print(json.dumps(result.summary(), default=str))
    return 0


COMMANDS = {
    "demo": ("run the whole recipe on the embedded digits data", cmd_demo,
             [add_data_options, add_model_options, add_training_options, add_output_options]),
    "report": ("re-render report.html and the plots of a run folder from its history.json",
               cmd_report, [add_report_options]),
    "train": ("train a model and report train/val/test accuracy", cmd_train,
              [add_data_options, add_model_options, add_training_options, add_ensemble_options,
               add_output_options]),
    "search": ("search hyperparameters: random or TPE, coarse to fine, in parallel, resumable",
               cmd_search, [add_data_options, add_model_options, add_training_options,
                            add_search_options, add_output_options]),
    "check": ("check the model's gradients against numerical ones (exit 1 if any is wrong)",
              cmd_check, [add_data_options, add_model_options, add_training_options,
                          add_check_options, add_output_options]),
}


def parser() -> argparse.ArgumentParser:
    """The `babysit` parser: one subcommand per entry of COMMANDS, with its option groups."""
    p = argparse.ArgumentParser(prog="babysit", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    for name, (help_text, _, option_groups) in COMMANDS.items():
        sp = sub.add_parser(name, help=help_text, description=help_text)
        for add in option_groups:
            add(sp)
    return p


def main(argv=None) -> int:
    """Run one command; bad input (a ValueError) or divergence prints one line and exits 2."""
    args = parser().parse_args(argv)
    _, run, _ = COMMANDS[args.command]
    try:
        with np.errstate(over="ignore", under="ignore"):  # unlike np.seterr, nothing lingers
            return run(args)
    except DivergedError as err:
        print(f"babysit {args.command}: {err}", file=sys.stderr)
        return 2
    except ValueError as err:
        print(f"babysit {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
