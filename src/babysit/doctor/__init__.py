"""The doctor: follow the diagnosis's advice, train again, and keep a record of the cure.

The notes' babysitting is a loop: watch the run, read the symptoms, change one thing, train
again. `treat(cfg)` closes it over a run configuration:

1. train `cfg` (a fresh, seed-fixed run) and diagnose it (`History.diagnose`);
2. take the top root cause among the warnings and errors and look up the notes' remedy for it
   (`REMEDIES`): a change of one or two settings, the first of its candidates that is not
   already in effect and was not tried before;
3. train the changed configuration from scratch with the same seed, diagnose it again;
4. stop when no warning or error is left (cured), when a round does not raise validation
   accuracy (the best round is kept), when the top cause is one no setting can cure
   (`INCURABLE`: labels that look random, a single class, the label among the inputs,
   validation rows copied from training or scaled otherwise), or after `max_rounds`.

A healthy run is left alone: zero rounds. Every decision reads the training and validation
splits only; the test split is never looked at. The record (`Treatment`) holds each round's
change, the evidence that called for it and validation accuracy before and after; it prints,
serializes (`to_dict`) and gives the `babysit train` command of the final configuration.

The configuration is anything with the run configuration's field names as attributes and a
`replace(**changes)` that returns a changed copy (`babysit.runs.config.RunConfig`).
"""

from babysit.doctor.remedies import INCURABLE, REMEDIES, UNTREATED, Remedy, prescribe
from babysit.doctor.runs import Runner, Visit
from babysit.doctor.treatment import Round, Treatment, train_command, treat

__all__ = ["INCURABLE", "REMEDIES", "UNTREATED", "Remedy", "Round", "Runner", "Treatment",
           "Visit", "prescribe", "train_command", "treat"]
