"""`babysit demo`: the whole recipe on one run: preprocessing fitted on the training split,
the sanity checks, the gradient check, training with monitors, the diagnosis, the report and
the test accuracy (exit 0 when training finished, 3 when it diverged or exploded)."""

from __future__ import annotations

import argparse

from babysit import check
from babysit.cli.console import say
from babysit.cli.options import add_config_options, add_output_options, chosen_settings, run_config
from babysit.cli.running import say_notes, train_to_the_end
from babysit.runs.builders import layer_widths, load_data
from babysit.runs.run import Run


def add_options(p: argparse.ArgumentParser) -> None:
    """The settings, --out, --json."""
    add_config_options(p)
    add_output_options(p)


def cmd_demo(args) -> tuple[int, dict]:
    """The recipe on the run the options describe (digits by default)."""
    cfg = run_config(args)
    data = load_data(cfg)
    if data.task == "regress":
        raise ValueError("babysit demo runs the classification recipe (its sanity checks "
                         "start from the chance loss); train a regression with babysit train")
    run = Run.prepare(cfg, chosen=chosen_settings(args), data=data, out=args.out,
                      command="demo", checkpoints=False)
    cfg, net, trainer, out = run.cfg, run.net, run.trainer, run.out
    say(f"babysit demo: {data.name}, {len(data.train.y)} train / {len(data.val.y)} val / "
        f"{len(data.test.y)} test, {data.notes[0]}, fitted on the training split, model "
        f"{layer_widths(cfg, data)}")
    say_notes(data, cfg, chosen_settings(args))
    sanity = check.sanity(net, trainer.loss, data.train.X, data.train.y, reg=trainer.reg,
                          seed=cfg.seed)
    say(f"\n{sanity}")
    grads = check.gradients(net, trainer.loss, data.train.X[:4], data.train.y[:4],
                            reg=trainer.reg, seed=cfg.seed)
    (out / "gradient_check.txt").write_text(f"{grads}\n")
    say(f"\ngradient check ({grads.n_examples} examples, float64 copy; the full table "
        f"is in {out / 'gradient_check.txt'}):")
    for v in grads.verdicts:
        worst = f"{v.worst:.1e}" if v.worst is not None else "-"
        say(f"  {v.param:<8} {v.section:<15} worst relative error {worst:<8} {v.verdict}")
    say("  every parameter passes" if grads.ok else
        f"  WRONG gradient: {', '.join(grads.wrong)}")
    trainer.history.meta.update(sanity={**sanity.to_dict(), "text": str(sanity)},
                                gradient_check={**grads.summary(), "text": str(grads)})
    say(f"\ntraining for {cfg.epochs} epochs with monitors on")
    status, summary = train_to_the_end(run, "demo")
    summary.update(sanity_ok=sanity.ok, gradients_ok=grads.ok)
    return status, summary


__all__ = ["add_options", "cmd_demo"]
