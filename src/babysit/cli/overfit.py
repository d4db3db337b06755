"""`babysit overfit`: the notes' first sanity run as a run of its own, with monitors and a
report: the configured network, regularization and dropout off, trained in full batches on a
few training examples until it knows each of them (exit 1 when it does not)."""

from __future__ import annotations

from babysit.cli import options
from babysit.cli.console import say
from babysit.runs.builders import load_data
from babysit.runs.run import Run

STEPS = 500  # full-batch steps unless --epochs says: what check.sanity allows its overfit
# the settings this run fixes: given, they are left out with a word (`cmd_overfit`)
LEFT_OUT = ("reg", "dropout", "input_noise", "batch_size")


def add_options(p) -> None:
    """The settings (those of LEFT_OUT accepted but not listed; --epochs counts full-batch
    steps), --examples N, --out, --json, --no-report."""
    options.add_config_options(p)
    options.unused(p, LEFT_OUT, {"epochs": f"full-batch steps on the --examples (default: "
                                           f"{STEPS}, as many as the sanity check's overfit "
                                           f"allows)"})
    p.add_argument("--examples", type=options.count, default=20,
                   help="training examples to learn by heart (default: 20)")
    options.add_output_options(p)
    options.add_report_flag(p)


def cmd_overfit(args) -> tuple[int, dict]:
    """Overfit the first --examples training examples: exit 0 when every one is learned."""
    fixed = {"reg": 0.0, "dropout": 0.0, "input_noise": 0.0, "batch_size": args.examples,
             "epochs": getattr(args, "epochs", STEPS)}
    options.left_out(args, LEFT_OUT, "overfit", "this run learns --examples by heart in one "
                     "full batch, without regularization, dropout or noise")
    cfg = options.run_config(args).replace(**fixed)
    data = load_data(cfg)    # refused before the run folder is made, as `babysit demo` does
    if data.task == "regress":
        raise ValueError(f"babysit overfit counts examples learned; {data.name}'s target is "
                         f"regressed: train it with babysit train")
    run = Run.prepare(cfg, data=data, out=args.out, command="overfit",
                      chosen=options.chosen_settings(args) | set(fixed), checkpoints=False)
    X, y = run.data.train.X[:args.examples], run.data.train.y[:args.examples]
    say(f"babysit overfit: {len(y)} training examples of {run.data.name}, no regularization, "
        f"{run.cfg.epochs} full-batch steps of {run.cfg.optimizer} at lr {run.cfg.lr:g}")
    run.fit(train=(X, y), val=(X, y))
    summary, outcome = run.finish(say, report=not args.no_report)
    learned = run.error is None and run.trainer.accuracy(X, y) == 1.0
    say(f"babysit overfit: {'every' if learned else 'NOT every'} example learned, final loss "
        f"{summary['final_loss'] or float('nan'):.4g} (run folder {run.out})")
    return outcome.status or (0 if learned else 1), {**summary, "learned": learned}


__all__ = ["add_options", "cmd_overfit"]
