"""What the commands that train a run (`train`, `demo`, `resume`, `overfit`) print around it:
its opening lines, and its end (the diagnosis, the report, the numbers)."""

from __future__ import annotations

from babysit.cli.console import say
from babysit.data import datasets
from babysit.runs.builders import best_weights_note, layer_widths, table_epochs_note, table_reg_note
from babysit.runs.config import RunConfig
from babysit.runs.finish import report_summary
from babysit.runs.resume import resume_command
from babysit.runs.run import Run


def say_opening(run: Run, command: str, chosen=()) -> None:
    """What a run says first: its data, splits, model and preprocessing, then `say_notes`."""
    data = run.data
    say(f"babysit {command}: {data.name}, {len(data.train.y)} train / {len(data.val.y)} val / "
        f"{len(data.test.y)} test, model {layer_widths(run.cfg, data)}, {data.notes[0]}")
    say_notes(data, run.cfg, chosen)


def say_notes(data: datasets.Dataset, cfg: RunConfig, chosen=()) -> None:
    """Print what loading decided (a table's task, encodings, imputation) under line one,
    the epochs a table's update rule chose and the model it ends with (when not in `chosen`,
    the settings the user gave) and a batch size beyond the training rows (each epoch is
    then one full batch)."""
    for note in data.notes[1:]:
        say(f"  {note}")
    for note in (table_epochs_note(cfg, data, chosen), table_reg_note(cfg, data, chosen),
                 best_weights_note(cfg, data, chosen)):
        if note:
            say(f"  {note}")
    if cfg.batch_size > len(data.train.y):
        say(f"  batch size {cfg.batch_size} is more than the {len(data.train.y)} training "
            f"examples: each epoch is one full batch of {len(data.train.y)}")


def train_to_the_end(run: Run, command: str, report: bool = True) -> tuple[int, dict]:
    """Fit `run` (an interrupted one says how to resume it), finish it, print its numbers;
    the exit status (3 when it diverged or exploded) and the --json summary."""
    run.fit(resume_hint=resume_command(run.out) if run.out is not None else None)
    summary, outcome = run.finish(say, report=report)
    if "best_refused" in run.history.meta:
        say(f"warning: {run.history.meta['best_refused']}")
    report_summary(summary, outcome, run.out, command, say)
    return outcome.status, summary


__all__ = ["say_notes", "say_opening", "train_to_the_end"]
