"""PyTorch's own training-loop bugs: watch() refuses what cannot train, the sitter records the
loop's mechanisms and setup, and the diagnosis names each planted bug first (the fast subset of
benchmarks/torch_bugs.py: its MLP cases)."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
nn, F = torch.nn, torch.nn.functional

from babysit.torch import watch  # noqa: E402
from babysit.torch.setup import labels_from_gradient, measured_activation  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def bugs(benchmark):
    """benchmarks/torch_bugs.py as a module."""
    return benchmark("torch_bugs", "torch_bugs")


# -- refusals at watch() ---------------------------------------------------------------------

def _refusal(model, optimizer) -> str:
    with pytest.raises(ValueError) as caught:
        watch(model, optimizer)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_a_model_with_nothing_to_train_is_refused_in_one_line():
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    model.requires_grad_(False)
    assert "every parameter of the model has requires_grad=False" in _refusal(model, opt)
    empty = nn.Sequential(nn.ReLU())
    assert "model has no parameters" in _refusal(empty, opt)


def test_an_optimizer_over_another_models_parameters_is_refused():
    model, other = nn.Linear(4, 2), nn.Linear(4, 2)
    message = _refusal(model, torch.optim.Adam(other.parameters()))
    assert "holds none of the model's trainable parameters" in message
    assert "model.parameters()" in message


# -- what the sitter records -----------------------------------------------------------------

def _steps(model, opt, criterion=F.cross_entropy, n=3, backward=True, as_float=False,
           no_grad_forward=False, after_backward=None, **options):
    """`n` watched steps on one batch of 64 random rows; `no_grad_forward`: the forward under
    torch.no_grad(), the loss then made to require gradients; `after_backward(model)` runs
    between backward and step (a clipping)."""
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(64, 8, generator=g), torch.randint(0, 4, (64,), generator=g)
    sitter = watch(model, opt, every=1, **options)
    for _ in range(n):
        opt.zero_grad()
        with torch.set_grad_enabled(not no_grad_forward):
            loss = criterion(model(X), y)
        if no_grad_forward:
            loss.requires_grad_(True)
        if backward:
            loss.backward()
        if after_backward is not None:
            after_backward(model)
        opt.step()
        sitter.log(loss.item() if as_float else loss)
    sitter.end_epoch()
    return sitter, y


def test_the_setup_names_a_softmax_fed_to_cross_entropy(bugs):
    model = bugs.Then(nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4)),
                      lambda x: F.softmax(x, 1))
    sitter, _ = _steps(model, torch.optim.Adam(model.parameters()))
    setup = sitter.history.meta["setup"]
    assert setup["output"] == {"activation": "softmax", "units": 4, "seen": "measured"}
    assert setup["loss"] == {"name": "cross_entropy", "reduction": "mean"}
    assert setup["task"] == "classify"


def test_the_setup_reads_a_declared_loss_and_the_label_counts(bugs):
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
    loss_fn = nn.CrossEntropyLoss(reduction="sum")
    # a float to log(): no graph to read, so the setup is what watch() was told
    sitter, y = _steps(model, torch.optim.Adam(model.parameters()), loss_fn, n=1,
                       as_float=True, loss_fn=loss_fn)
    setup = sitter.history.meta["setup"]
    assert setup["loss"] == {"name": "cross_entropy", "reduction": "sum"}
    assert setup["output"]["activation"] == "none"
    # one epoch of one batch: its labels, read from the output's gradient
    assert setup["targets"]["counts"] == torch.bincount(y, minlength=4).tolist()
    assert sitter.history.monitors["data"]["class_counts"] == setup["targets"]["counts"]


def test_labels_are_the_argmin_of_a_cross_entropy_gradient():
    g = torch.Generator().manual_seed(1)
    scores = torch.randn(32, 5, generator=g, requires_grad=True)
    y = torch.randint(0, 5, (32,), generator=g)
    F.cross_entropy(scores, y, label_smoothing=0.1).backward()
    assert torch.equal(labels_from_gradient(scores.grad), y)


@pytest.mark.parametrize("values, expected", [
    (torch.softmax(torch.randn(6, 3), 1), "softmax"),
    (torch.log_softmax(torch.randn(6, 3), 1), "log_softmax"),
    (torch.relu(torch.randn(6, 3)), "relu"),
    (torch.sigmoid(torch.randn(6, 3)), "sigmoid"),
    (torch.randn(6, 3), "none"),
    (torch.sigmoid(torch.randn(6)), "sigmoid"),   # a binary output squeezed to (N,)
    (torch.randn(6), "none"),
])
def test_output_values_say_which_activation_made_them(values, expected):
    assert measured_activation(values) == expected


def test_a_softmax_over_the_batch_and_a_broadcast_target_are_seen_in_the_graph(bugs):
    model = bugs.Then(nn.Linear(8, 4), lambda x: F.log_softmax(x, 0))
    sitter, _ = _steps(model, torch.optim.Adam(model.parameters()), F.nll_loss)
    assert sitter.history.monitors["torch"]["softmax_dim"] == 0
    one = nn.Linear(8, 1)
    with pytest.warns(UserWarning, match="target size"):
        sitter, _ = _steps(one, torch.optim.Adam(one.parameters()),
                           lambda out, y: F.mse_loss(out, y.float()))
    assert sitter.history.monitors["torch"]["broadcast"] is True


def test_functional_relus_are_measured_like_relu_modules(bugs):
    model = bugs.FunctionalNet(classes=4)
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(32, 64, generator=g), torch.randint(0, 4, (32,), generator=g)
    opt = torch.optim.Adam(model.parameters())
    sitter = watch(model, opt)
    opt.zero_grad()
    F.cross_entropy(model(X), y).backward()
    opt.step()
    sitter.log(0.0)
    layers = sitter.history.monitors["layers"]
    functional = [i for i, name in enumerate(layers["names"]) if name.startswith("relu()")]
    assert len(functional) == 3
    assert all("dead" in layers["samples"][0]["activations"][i] for i in functional)
    assert len(layers["samples"][0]["gradients"]) == len(layers["names"])


def test_training_in_eval_mode_is_still_recorded_and_counted():
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 4))
    model.eval()
    sitter, _ = _steps(model, torch.optim.Adam(model.parameters()))
    rec = sitter.history.monitors["torch"]
    assert rec["eval_steps"] == rec["checked_steps"] == 3 and rec["mode_modules"] == ["2"]
    assert sitter.history.monitors["layers"]["samples"]  # the monitors are not blind


def test_a_loop_without_backward_counts_steps_without_gradient():
    model = nn.Sequential(nn.Linear(8, 4))
    sitter, _ = _steps(model, torch.optim.SGD(model.parameters(), lr=0.1), backward=False)
    rec = sitter.history.monitors["torch"]
    assert rec["no_grad_steps"] == rec["checked_steps"] == 3
    assert sitter.history.diagnose()[0].cause == "no_gradient"


def test_a_forward_under_no_grad_is_named_not_a_missing_backward():
    """The training step copied from evaluation code, under torch.no_grad(), and the error
    backward() raises "fixed" with loss.requires_grad_(): backward runs, nothing reaches the
    weights, and no training forward is seen."""
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
    sitter, _ = _steps(model, torch.optim.SGD(model.parameters(), lr=0.1),
                       no_grad_forward=True)
    rec = sitter.history.monitors["torch"]
    assert rec["no_grad_forwards"] == 3 and rec["no_grad_steps"] == 3
    top = sitter.history.diagnose()[0]
    assert top.cause == "no_gradient" and "ran under torch.no_grad()" in top.evidence
    assert "never called" not in top.evidence
    assert "ran without gradients" in rec["unmeasured"][0]


def test_batchnorm_on_batches_of_two_rows_is_named(watched_epochs):
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    X = torch.randn(600, 8, generator=g)
    y = (X[:, 0] + X[:, 1] > 0).long() + (X[:, 2] > 1).long()
    def fit(batch):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(8, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 3))
        opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        sitter = watched_epochs(model, opt, X, y, 4, batch)
        return {f.cause: f for f in sitter.history.diagnose()}
    found = fit(2)
    assert "batchnorm_small_batch" in found
    assert "BatchNorm layers 1 normalize" in found["batchnorm_small_batch"].evidence
    assert "batchnorm_small_batch" not in fit(32)


@pytest.mark.parametrize("given_loss_fn", [False, True])
def test_raw_regression_targets_that_blow_up_are_named_before_the_rate(given_loss_fn):
    """Targets of size 150 under MSE: the first loss is their mean square, the run diverges;
    the cause is their scale, known from the targets the loss module was given, or else from
    the first loss on unit-scale inputs."""
    g = torch.Generator().manual_seed(0)
    X = torch.randn(512, 8, generator=g)
    y = X @ torch.randn(8, generator=g) * 50 + 20
    model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = nn.MSELoss()
    sitter = watch(model, opt, **({"loss_fn": loss_fn} if given_loss_fn else {}))
    for _ in range(3):
        for at in range(0, 512, 32):
            opt.zero_grad()
            loss = loss_fn(model(X[at:at + 32])[:, 0], y[at:at + 32])
            loss.backward()
            opt.step()
            sitter.log(loss)
        sitter.end_epoch()
    top = sitter.history.diagnose()[0]
    assert top.cause == "unscaled_targets" and top.severity == "error"
    assert ("std 161" in top.evidence) == given_loss_fn


def test_a_weight_decay_that_crushes_the_weights_is_named_not_the_rate(watched_epochs):
    """SGD weight_decay=0.5 (meant 5e-4): lr * wd / (1 - momentum) shrinks every weight by a
    quarter a step, the weights end 1e-13 of their size, and their penalty is nothing, so the
    decay's share of the loss could not tell; the update ratios are huge beside them."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    X = torch.randn(512, 8, generator=g)
    y = (X[:, 0] > 0).long() + (X[:, 1] > 0).long()
    model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(),
                          nn.Linear(32, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=0.5)
    top = watched_epochs(model, opt, X, y, 6, 32).history.diagnose()[0]
    assert top.cause == "reg_too_strong" and "crushed the weights" in top.evidence


def test_gradients_that_come_back_zero_are_no_missing_backward():
    """A ReLU output clipped by the loss to [1e-7, 1 - 1e-7] (Keras' binary cross-entropy)
    sends back zeros: backward ran, so the loop is not told it never calls it, and rows whose
    gradient is 0 name no class."""
    model = nn.Sequential(nn.Linear(8, 1), nn.ReLU())
    with torch.no_grad():
        model[0].bias.fill_(-100.0)  # every output 0: clipped, no gradient

    def clipped_bce(out, y):
        return F.binary_cross_entropy(out.clamp(1e-7, 1 - 1e-7)[:, 0], (y % 2).float())

    sitter, _ = _steps(model, torch.optim.SGD(model.parameters(), lr=0.1), clipped_bce)
    rec = sitter.history.monitors["torch"]
    assert rec["zero_grad_steps"] == rec["no_grad_steps"] == rec["checked_steps"] == 3
    findings = sitter.history.diagnose()
    assert not any("backward() is never called" in f.evidence for f in findings)
    assert "single_class" not in {f.cause for f in findings}


def test_soft_targets_have_no_class_counts_even_when_a_constant_output_names_one():
    """A softmax over one output is 1 for every row: its binary cross-entropy gradient has one
    sign everywhere (one 'class'), but the targets the loss saw are soft, so no counts."""
    model = nn.Sequential(nn.Linear(8, 1), nn.Softmax(dim=1))
    loss_fn = nn.BCELoss()
    g = torch.Generator().manual_seed(0)
    X, p = torch.randn(64, 8, generator=g), torch.rand(64, 1, generator=g)
    opt = torch.optim.Adam(model.parameters())
    sitter = watch(model, opt, loss_fn=loss_fn)
    for _ in range(3):
        opt.zero_grad()
        loss = loss_fn(model(X), p)
        loss.backward()
        opt.step()
        sitter.log(loss)
    sitter.end_epoch()
    assert sitter.history.monitors["data"]["class_counts"] is None
    assert sitter.history.diagnose()[0].cause == "softmax_one_output"


def test_a_gradient_clipped_entry_by_entry_is_clipping_not_gradients_carried_over():
    """clip_grad_value_ turns the gradient (each entry capped), so the step's gradient is no
    scaled copy of backward's; but no entry grows or changes sign, as a gradient carried over
    from earlier steps makes them do."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
    sitter, _ = _steps(model, torch.optim.SGD(model.parameters(), lr=0.1), n=5,
                       after_backward=lambda m: nn.utils.clip_grad_value_(m.parameters(), 1e-6))
    rec = sitter.history.monitors["torch"]
    assert rec["carried_steps"] == 0 and rec["kept_steps"] == rec["checked_steps"] == 5
    assert max(rec["grad_kept"]) < 1e-3     # the share of backward's gradient step() used


def test_a_sigmoid_fed_to_bce_with_logits_is_an_activation_on_the_logits():
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1), nn.Sigmoid())
    criterion = nn.BCEWithLogitsLoss()

    def loss(out, y):
        return criterion(out[:, 0], (y % 2).float())

    sitter, _ = _steps(model, torch.optim.Adam(model.parameters()), loss, n=3)
    setup = sitter.history.meta["setup"]
    assert (setup["output"]["activation"], setup["loss"]["name"]) == ("sigmoid",
                                                                      "bce_with_logits")
    found = {f.cause: f for f in sitter.history.diagnose()}
    assert "BCEWithLogitsLoss" in found["logit_activation"].evidence


def test_probabilities_fed_to_nll_loss_are_the_wrong_loss():
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4), nn.Softmax(dim=1))
    sitter, _ = _steps(model, torch.optim.Adam(model.parameters()), F.nll_loss)
    found = sitter.history.diagnose()
    assert found[0].cause == "wrong_loss" and found[0].severity == "error"
    assert "fed probabilities (a softmax)" in found[0].evidence


# -- the benchmark's fast subset ---------------------------------------------------------------

MINE = {"gradients_not_zeroed", "no_gradient", "no_optimizer_step", "eval_mode_training",
        "train_mode_evaluation", "params_not_in_optimizer", "frozen_params",
        "params_without_gradient", "reg_too_strong", "softmax_wrong_dim", "summed_loss",
        "labels_without_signal", "class_imbalance", "target_broadcast", "lr_decayed_too_fast",
        "batches_sorted_by_label", "gradients_clipped", "symmetry", "unscaled_inputs",
        "refused", ""}


def test_the_fast_subset_of_the_torch_bugs_is_named_first(bugs):
    """The MLP variant of every case whose cause this sitter measures, and the healthy MLP
    runs: each bug named by the top warning or error, no healthy run with one."""
    wrong = []
    for case in bugs.CASES:
        if case.expected not in MINE or "mlp" not in case.models:
            continue
        top, verdict = bugs.evaluate(case, "mlp")
        if verdict != "ok":
            wrong.append(f"{case.name}: expected {case.expected or '(none)'}, top {top}")
    assert not wrong, "\n".join(wrong)


def test_a_rate_that_collapses_early_is_named_but_a_warm_up_from_zero_is_not():
    import babysit as bs

    def causes(rates):
        history = bs.History(iters_per_epoch=10)
        for i, lr in enumerate(rates):
            history.record_step(2.3 * 0.99 ** i, 0.0, lr)
        return {f.cause for f in history.diagnose()}

    steps = range(200)
    assert "lr_decayed_too_fast" in causes([0.1 * 0.8 ** i for i in steps])  # per batch
    warm_then_cosine = [0.1 * min(1.0, i / 20) * (1 + math.cos(math.pi * i / 200)) / 2
                        for i in steps]
    assert "lr_decayed_too_fast" not in causes(warm_then_cosine)


def _causes(rates, per_epoch=10):
    import babysit as bs

    history = bs.History(iters_per_epoch=per_epoch)
    for i, lr in enumerate(rates):
        history.record_step(2.3 * 0.995 ** i, 0.0, lr)
    return {f.cause for f in history.diagnose()}


def test_milestones_meant_for_epochs_reached_in_the_first_steps_are_named():
    # MultiStepLR(milestones=[30, 60], gamma=0.1) stepped every batch, 1,000 steps
    per_batch = [0.05 * 0.1 ** ((i >= 30) + (i >= 60)) for i in range(1000)]
    assert "lr_decayed_too_fast" in _causes(per_batch)
    # the same stepped per epoch (10 steps each, 100 epochs): cut at 30% and 60%
    per_epoch = [0.05 * 0.1 ** ((i >= 300) + (i >= 600)) for i in range(1000)]
    assert "lr_decayed_too_fast" not in _causes(per_epoch)
    # cosine to nearly 0 within the first tenth, then restarted (SGDR): raised again
    restarts = [0.05 * (1 + math.cos(math.pi * (i % 100) / 100)) / 2 + 1e-7 for i in range(1000)]
    assert "lr_decayed_too_fast" not in _causes(restarts)


def test_a_rate_of_zero_for_the_whole_first_epoch_is_named():
    # LambdaLR(lambda s: min(1, s / 500)) stepped per epoch: 0, then 1/500, 2/500, ...
    per_epoch = [0.05 * min(1.0, (i // 10) / 500) for i in range(200)]
    assert "lr_zero_at_start" in _causes(per_epoch)
    # the same warm-up stepped every batch starts at 0 for one step only
    per_batch = [0.05 * min(1.0, i / 500) for i in range(200)]
    assert "lr_zero_at_start" not in _causes(per_batch)


def _blobs(classes: int, rows: int, width: int):
    """Gaussian blobs: X (rows, width) around `classes` centres, y their labels (rows,)."""
    torch.manual_seed(0)
    centres = torch.randn(classes, width) * 3
    y = torch.arange(rows) % classes
    return centres[y] + torch.randn(rows, width), y


def _findings_of(sitter) -> list:
    """The closed sitter's findings."""
    sitter.close()
    return sitter.history.diagnose()


def _findings(sitter) -> list[tuple[str, str]]:
    return [(f.cause, f.severity) for f in _findings_of(sitter)]


def test_an_accuracy_that_the_loss_rules_out_is_named(watched_epochs):
    """Accuracy from out.max(1)[0] (the highest scores, not the classes): 0 reported while the
    loss says nearly every row is right. The same loop with the accuracy taken right is
    quiet."""
    X, y = _blobs(10, 600, 16)

    def loop(accuracy=None):
        model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 10))
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        more = {"accuracy": accuracy} if accuracy else {}
        return _findings(watched_epochs(model, opt, X, y, 12, 50, **more))

    values = loop(lambda s, y: (s.max(1)[0] == y).float().mean().item())
    assert values[0] == ("accuracy_contradicts_loss", "warning")
    right = loop()
    assert all(cause != "accuracy_contradicts_loss" for cause, _ in right)
    assert all(severity == "info" for _, severity in right)


def test_a_softmax_fed_to_mse_on_one_hot_targets_is_the_wrong_loss(watched_epochs):
    """One-hot float targets against softmax probabilities with MSELoss: the sitter cannot
    read the classes from such a gradient, but a softmax's rows are classes whatever the
    targets are."""
    X, y = _blobs(4, 400, 8)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4), nn.Softmax(dim=1))
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    def one_hot_mse(output, labels):
        return F.mse_loss(output, F.one_hot(labels, 4).float())

    sitter = watched_epochs(model, opt, X, y, 5, 40, loss_fn=one_hot_mse)
    sitter.close()
    found = {f.cause: f for f in sitter.history.diagnose()}
    assert "MSE on a softmax over 4 classes" in found["wrong_loss"].evidence


def test_a_bounded_output_below_targets_it_cannot_reach_is_named_from_the_first_loss(
        watched_epochs):
    """A sigmoid on scores of 0 to 100 in a loop that gave watch() no loss_fn (its targets are
    never seen): the first MSE is far above the 1 that any error inside [0, 1] can cost. The
    same loop on scores scaled into [0, 1] is quiet."""
    X, y = _blobs(4, 400, 8)
    scores = (y.float() * 25 + X[:, 0]).clamp(0, 100)

    def loop(targets):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1), nn.Sigmoid())
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)

        def mse(output, rows):
            return F.mse_loss(output.squeeze(1), targets[rows])

        rows = torch.arange(400)
        return {f.cause: f for f in _findings_of(watched_epochs(
            model, opt, X, rows, 4, 40, loss_fn=mse, accuracy=lambda *_: None))}

    assert loop(scores)["output_range"].severity == "error"
    assert "output_range" not in loop(scores / 100)


def test_a_softmax_over_one_unit_is_named_as_such_not_as_one_class(watched_epochs):
    """nn.Softmax over one output before BCELoss: the output is 1 on every row, which a
    sigmoid's range holds too, and its gradient names one class for every row. The module
    says it is a softmax, and labels read from a constant output's gradient are no evidence
    of a single class."""
    X, y = _blobs(2, 200, 6)
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 1), nn.Softmax(dim=1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)

    def bce(output, labels):
        return F.binary_cross_entropy(output.squeeze(1), labels.float())

    findings = _findings(watched_epochs(model, opt, X, y, 3, 20, loss_fn=bce,
                                        accuracy=lambda *_: None))
    assert findings[0] == ("softmax_one_output", "error")
    assert all(cause != "single_class" for cause, _ in findings)


def test_the_label_left_among_a_loops_inputs_is_named_from_its_first_batch(watched_epochs):
    """A loop whose inputs end with the class (standardized): the probe, its first batch,
    holds one value of that column per class, read against the labels its gradient names."""
    g = torch.Generator().manual_seed(0)
    X = torch.randn(512, 8, generator=g)
    y = (X[:, 0] > 0).long() + (X[:, 1] > 0).long()
    leaked = torch.cat([X, ((y.float() - 1) / 0.8)[:, None]], 1)
    torch.manual_seed(0)
    for inputs, named in ((leaked, True), (X, False)):
        model = nn.Sequential(nn.Linear(inputs.shape[1], 16), nn.ReLU(), nn.Linear(16, 3))
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        history = watched_epochs(model, opt, inputs, y, 3, 64).history
        found = {f.cause: f for f in history.diagnose()}
        assert ("label_in_inputs" in found) == named
        if named:
            assert "input feature 8 holds one value for each class" \
                in found["label_in_inputs"].evidence


def test_the_label_among_a_given_probes_inputs_is_named_from_its_labels(watched_epochs):
    g = torch.Generator().manual_seed(1)
    X = torch.randn(256, 6, generator=g)
    y = (X[:, 0] > 0).long()
    X = torch.cat([X, y[:, None].float()], 1)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(7, 16), nn.ReLU(), nn.Linear(16, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sitter = watched_epochs(model, opt, X, y, 2, 32, probe=(X[:64], y[:64]))
    assert sitter.history.monitors["data"]["label_columns"] == [6]


class _Sequences(nn.Module):
    """An LSTM over 3 features read at its last step; `transpose`: the loop's (batch, time,
    features) turned to (time, batch, features) for an LSTM built time-first."""

    def __init__(self, batch_first: bool, transpose: bool):
        super().__init__()
        self.lstm, self.head = nn.LSTM(3, 8, batch_first=batch_first), nn.Linear(8, 2)
        self.transpose = transpose

    def forward(self, x):
        out, _ = self.lstm(x.transpose(0, 1) if self.transpose else x)
        return self.head(out[-1] if self.transpose else out[:, -1])


@pytest.mark.parametrize("batch_first, transpose, named", [
    (False, False, True),      # time-first LSTM given (batch, time, features)
    (False, True, False),      # given (time, batch, features)
    (True, False, False),      # built batch-first
])
def test_an_rnn_given_the_batch_on_its_time_axis_is_named(watched_epochs, batch_first,
                                                          transpose, named):
    g = torch.Generator().manual_seed(0)
    X = torch.randn(256, 5, 3, generator=g)
    y = (X[:, :, 0].sum(1) > 0).long()
    torch.manual_seed(0)
    model = _Sequences(batch_first, transpose)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    found = {f.cause: f for f in watched_epochs(model, opt, X, y, 2, 32).history.diagnose()}
    assert ("rnn_not_batch_first" in found) == named
    if named:
        assert found["rnn_not_batch_first"].severity == "error"
        assert found["rnn_not_batch_first"].evidence.startswith("lstm reads (time, batch")


class _Tagger(nn.Module):
    """PyTorch's LSTM part-of-speech tutorial: one sentence (T,) of word ids, the LSTM built
    time-first run on (T, 1, E), a tag for every word (T, C)."""

    def __init__(self):
        super().__init__()
        self.emb, self.lstm, self.out = nn.Embedding(20, 8), nn.LSTM(8, 16), nn.Linear(16, 5)

    def forward(self, sentence):
        states, _ = self.lstm(self.emb(sentence).view(len(sentence), 1, -1))
        return F.log_softmax(self.out(states.view(len(sentence), -1)), dim=1)


class _TimeFirstTagger(nn.Module):
    """A time-first LSTM that tags every step: (T, B, F) in, (T, B, C) out."""

    def __init__(self):
        super().__init__()
        self.lstm, self.out = nn.LSTM(4, 16), nn.Linear(16, 3)

    def forward(self, x):
        return self.out(self.lstm(x)[0])


def test_time_first_models_that_answer_every_step_are_no_rnn_given_the_batch_first():
    """Both run time-first as built; their outputs have a row (or a plane) per time step,
    so the RNN's first axis matches the output's rows without being the batch."""
    g = torch.Generator().manual_seed(0)
    runs = ((_Tagger(), lambda: (lambda s: (s, s % 5))(torch.randint(0, 20, (7,), generator=g)),
             F.nll_loss),
            (_TimeFirstTagger(), lambda: (lambda x: (x, (x[..., 0] > 0).long()))(
                torch.randn(10, 32, 4, generator=g)),
             lambda out, y: F.cross_entropy(out.reshape(-1, 3), y.reshape(-1))))
    for model, batch, loss_fn in runs:
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        sitter = watch(model, opt)
        for _ in range(20):
            x, y = batch()
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            sitter.log(loss)
        sitter.end_epoch()
        assert sitter.history.monitors["torch"]["rnn_fed_batch_first"] == []
        assert all(f.cause != "rnn_not_batch_first" for f in sitter.history.diagnose())


def test_a_loop_reporting_a_harder_training_accuracy_is_no_noisy_labels(watched_epochs):
    """A loop's own training accuracy may be a running one under mixup, augmentation or
    dropout, lower than validation's for reasons of its own: the rule reads Trainer runs."""
    g = torch.Generator().manual_seed(0)
    X = torch.randn(256, 8, generator=g)
    y = (X[:, 0] > 0).long()
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    sitter = watched_epochs(model, opt, X, y, 6, 32, val=(X, y),
                            accuracy=lambda output, labels: 0.6)   # mixup's weighted accuracy
    assert sitter.history.val_acc[-1] >= 0.9
    assert all(f.cause != "noisy_train_labels" for f in sitter.history.diagnose())


def test_shuffled_labels_from_a_large_first_loss_are_labels_without_signal(watched_epochs):
    """Digits with shuffled labels under weights of std 0.5: the loss comes down steeply from
    several times chance to chance, the accuracy flat. That is no learning."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = torch.tensor((X - X.mean(0)) / (X.std(0) + 1e-6), dtype=torch.float32)
    y = torch.tensor(y)[torch.randperm(len(y), generator=torch.Generator().manual_seed(0))]
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(),
                          nn.Linear(32, 10))
    for m in model:
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=0.5)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    sitter = watched_epochs(model, opt, X[:1347], y[:1347], 10, 32, val=(X[1347:], y[1347:]))
    assert "labels_without_signal" in {f.cause for f in sitter.history.diagnose()}


def test_validation_rows_a_loop_evaluates_off_the_training_scale_are_named(watched_epochs):
    """The loop standardizes its training rows and evaluates validation rows left raw (a mean
    near 10 spreads, the spread 4x): the sitter reads them from the forward under no_grad, not
    from anything the loop hands it. The same rows standardized alike are no finding; neither
    is the sitter's own probe pass, in a loop that evaluates nothing else."""
    g = torch.Generator().manual_seed(0)
    raw = 10 + 4 * torch.randn(640, 6, generator=g)
    y = (raw[:, 0] + raw[:, 1] > 20).long()
    mean, std = raw[:512].mean(0), raw[:512].std(0)
    X = (raw[:512] - mean) / std
    for val_rows, off in ((raw[512:], True), ((raw[512:] - mean) / std, False)):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 2))
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        history = watched_epochs(model, opt, X, y[:512], 3, 64, val=(val_rows, y[512:])).history
        scale = history.monitors["data"]["val_scale"]
        assert scale["of"] == "evaluated" and scale["rows"] >= 20
        found = {f.cause: f for f in history.diagnose()}
        assert ("val_scaled_otherwise" in found) == off
        if off:
            assert scale["off"] == scale["features"] == 6
            assert "rows the model was evaluated on" in found["val_scaled_otherwise"].evidence
            assert "class_imbalance" not in found
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 2))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    sitter = watch(model, opt)
    for at in range(0, 512, 64):
        opt.zero_grad()
        loss = F.cross_entropy(model(X[at:at + 64]), y[at:at + 64])
        loss.backward()
        opt.step()
        sitter.log(loss)
    sitter.end_epoch()
    assert sitter.history.monitors["data"]["val_scale"] is None


def _loop_of_batches(model, opt, batches, steps: int, epochs: int = 2, closure: bool = False):
    """A loop of `epochs` epochs of `steps` steps, each on `batches(step)`, cross-entropy;
    `closure`: the step's forward and backward inside opt.step (LBFGS)."""
    sitter = watch(model, opt)
    for _ in range(epochs):
        for step in range(steps):
            xb, yb = batches(step)

            def forward_backward(xb=xb, yb=yb):
                opt.zero_grad()
                loss = F.cross_entropy(model(xb), yb)
                loss.backward()
                return loss
            loss = opt.step(forward_backward) if closure else forward_backward()
            if not closure:
                opt.step()
            sitter.log(loss)
        sitter.end_epoch()
    return sitter


def test_a_loop_training_on_the_same_batch_at_every_step_is_named():
    """next(iter(loader)) inside the loop, without shuffling: the first batch at every step.
    Batches in turn, or the same rows under LBFGS (full-batch by design), are no finding; nor
    is a loop that copies each new batch into one buffer it reuses."""
    g = torch.Generator().manual_seed(0)
    X = torch.randn(512, 8, generator=g)
    y = (X[:, 0] > 0).long()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=64)
    buffer = torch.empty(64, 8)

    def reused(step):
        buffer.copy_(X[step * 64:(step + 1) * 64])
        return buffer, y[step * 64:(step + 1) * 64]

    for batches, named in ((lambda step: next(iter(loader)), True),
                           (lambda step: (X[step * 64:(step + 1) * 64],
                                          y[step * 64:(step + 1) * 64]), False),
                           (reused, False)):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))
        sitter = _loop_of_batches(model, torch.optim.Adam(model.parameters(), lr=1e-2),
                                  batches, 8)
        found = {f.cause: f for f in sitter.history.diagnose()}
        assert sitter.history.monitors["torch"]["repeated_steps"] == (7 if named else 0)
        assert ("same_batch_every_step" in found) == named
        if named:
            assert "8 steps trained on the same 64 rows" in found["same_batch_every_step"].evidence
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))
    sitter = _loop_of_batches(model, torch.optim.LBFGS(model.parameters(), max_iter=3),
                              lambda step: (X, y), 5, closure=True)
    assert sitter.history.monitors["torch"]["repeated_steps"] == 4
    assert all(f.cause not in ("same_batch_every_step", "no_gradient")
               for f in sitter.history.diagnose())


def test_updates_recorded_after_a_run_converged_are_no_missing_gradient():
    """LBFGS on wine, full-batch: the loss falls from 1.1 to about 1e-7 in the first steps and
    every update the sitter samples afterwards is exactly 0. The loss fell: gradients arrived.
    The same loop with its weights cut off from the loss (a detached output) is named."""
    from sklearn.datasets import load_wine

    X, y = load_wine(return_X_y=True)
    X = torch.tensor((X - X.mean(0)) / X.std(0), dtype=torch.float32)
    y = torch.tensor(y)
    def diagnosed(detached: bool) -> set[str]:
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(13, 32), nn.ReLU(), nn.Linear(32, 3))
        opt = torch.optim.LBFGS(model.parameters(), lr=0.5, max_iter=4)
        sitter = watch(model, opt)

        def closure():
            opt.zero_grad()
            out = model(X)
            loss = F.cross_entropy(out.detach().requires_grad_() if detached else out, y)
            loss.backward()
            return loss
        for _ in range(6):
            for _ in range(5):
                sitter.log(opt.step(closure))
            sitter.end_epoch()
        return {f.cause for f in sitter.history.diagnose()}

    assert "no_gradient" not in diagnosed(False)
    assert "no_gradient" in diagnosed(True)


def test_an_optimizer_created_inside_the_loop_is_named_with_its_fix():
    """The loop builds a new Adam at every step: the watched one never steps, and the advice
    says where the optimizer belongs."""
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(256, 6, generator=g), torch.randint(0, 2, (256,), generator=g)
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 2))
    sitter = watch(model, torch.optim.Adam(model.parameters(), lr=1e-2))
    for _ in range(2):
        for at in range(0, 256, 32):
            opt = torch.optim.Adam(model.parameters(), lr=1e-2)
            opt.zero_grad()
            loss = F.cross_entropy(model(X[at:at + 32]), y[at:at + 32])
            loss.backward()
            opt.step()
            sitter.log(loss)
        sitter.end_epoch()
    top = sitter.history.diagnose()[0]
    assert top.cause == "no_optimizer_step"
    assert "created inside the loop" in top.advice


def test_a_flat_negative_loss_with_no_update_is_still_no_gradient():
    """A dead output ReLU under a Gaussian NLL: the loss sits near -2.2 throughout and no
    weight moves. A negative loss did not fall ten times over: it is no converged run."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1), nn.ReLU())
    with torch.no_grad():
        model[2].bias.fill_(-100.0)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    nll, var = nn.GaussianNLLLoss(), torch.full((64, 1), 0.01)
    sitter = watch(model, opt)
    X, y = torch.randn(1280, 4), 0.05 * torch.randn(1280, 1)
    for _ in range(3):
        for at in range(0, 1280, 64):
            opt.zero_grad()
            loss = nll(model(X[at:at + 64]), y[at:at + 64], var)
            loss.backward()
            opt.step()
            sitter.log(loss)
        sitter.end_epoch()
    assert "no_gradient" in {f.cause for f in sitter.history.diagnose()}


def test_pytorchs_hinge_chance_loss_is_in_the_meta_from_the_first_step():
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(64, 6, generator=g), torch.randint(0, 10, (64,), generator=g)
    model = nn.Sequential(nn.Linear(6, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    sitter = watch(model, opt, loss_fn=nn.MultiMarginLoss(margin=2.0))
    loss = nn.MultiMarginLoss(margin=2.0)(model(X), y)
    loss.backward()
    opt.step()
    sitter.log(loss)
    assert sitter.history.meta["chance_loss"] == pytest.approx(9 * 2.0 / 10)


def _steps_on_one_batch(model, opt, sitter, xb, yb, steps: int) -> None:
    """`steps` cross-entropy steps on the one batch xb, yb, logged."""
    for _ in range(steps):
        opt.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        sitter.log(loss)


def test_a_loop_that_never_closes_an_epoch_still_shows_its_same_batch():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    sitter = watch(model, opt)
    _steps_on_one_batch(model, opt, sitter, torch.randn(32, 8), torch.randint(0, 2, (32,)), 20)
    rec = sitter.history.monitors["torch"]
    assert (rec["compared_steps"], rec["repeated_steps"]) == (20, 19)
    assert "same_batch_every_step" in {f.cause for f in sitter.history.diagnose()}


def test_a_summed_loss_is_named_under_sgd_but_not_under_adam(watched_epochs):
    """reduction='sum' makes SGD's step batch-size times a mean's; Adam divides each step by
    the gradient's running size, so the same sum trains as the mean does (PyTorch's VAE
    example sums its loss under Adam) and is no finding there."""
    X, y = _blobs(10, 600, 16)

    def causes(optimizer):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 10))
        sitter = watched_epochs(model, optimizer(model.parameters()), X, y, 12, 50,
                                loss_fn=lambda out, t: F.cross_entropy(out, t, reduction="sum"))
        return [cause for cause, _ in _findings(sitter)], sitter.history.train_acc[-1]

    named, _ = causes(lambda params: torch.optim.SGD(params, lr=0.1))
    assert named[0] == "summed_loss"
    named, accuracy = causes(lambda params: torch.optim.Adam(params, lr=1e-3))
    assert accuracy > 0.95
    assert "summed_loss" not in named


def _epoch_of_steps(model, opt, sitter, X, y, batch: int) -> None:
    """One pass over X (N, D), y (N,) in consecutive batches: a cross-entropy step each,
    logged."""
    for at in range(0, len(X), batch):
        opt.zero_grad()
        loss = F.cross_entropy(model(X[at:at + batch]), y[at:at + batch])
        loss.backward()
        opt.step()
        sitter.log(loss)


def _frozen_backbone_loop(freeze: bool, by_optimizer: bool = False) -> list[tuple[str, str]]:
    """A backbone with BatchNorm and dropout, pretrained, then (`freeze`) frozen with a new
    head trained on it (`by_optimizer`: left out of the optimizer rather than set
    requires_grad=False); each epoch begins `model.eval(); model[1].train()`, the backbone
    kept at its running statistics. Without `freeze` the backbone trains too: in eval mode."""
    X, y = _blobs(10, 600, 16)
    torch.manual_seed(2)
    backbone = nn.Sequential(nn.Linear(16, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Dropout(0.1),
                             nn.Linear(64, 64), nn.BatchNorm1d(64), nn.ReLU())
    pretrained = nn.Sequential(backbone, nn.Linear(64, 10))
    opt = torch.optim.Adam(pretrained.parameters(), 1e-2)
    for _ in range(30):
        opt.zero_grad()
        F.cross_entropy(pretrained(X), y).backward()
        opt.step()
    backbone.requires_grad_(not freeze or by_optimizer)
    model = nn.Sequential(backbone, nn.Linear(64, 10))
    trained = model[1] if freeze else model
    opt = torch.optim.Adam(trained.parameters(), lr=1e-2)
    sitter = watch(model, opt)
    for _ in range(12):
        model.eval()
        model[1].train()
        _epoch_of_steps(model, opt, sitter, X, y, 50)
        with torch.no_grad():
            accuracy = (model(X).argmax(1) == y).float().mean().item()
        sitter.end_epoch(train_acc=accuracy, val_acc=accuracy)
    return _findings(sitter)


def test_a_frozen_backbone_kept_in_eval_mode_is_no_eval_mode_training():
    """Dropout and BatchNorm in eval mode where nothing around them trains is how a frozen
    pretrained part is meant to run; the same modes where the backbone trains are the bug."""
    frozen = _frozen_backbone_loop(freeze=True)
    assert "eval_mode_training" not in {cause for cause, _ in frozen}
    assert all(severity == "info" for _, severity in frozen)
    left_out = _frozen_backbone_loop(freeze=True, by_optimizer=True)
    assert "eval_mode_training" not in {cause for cause, _ in left_out}
    assert _frozen_backbone_loop(freeze=False)[0] == ("eval_mode_training", "warning")


class _RoundRobinHeads(nn.Module):
    """A shared body and five heads, one task a step; `cut`: the last head's output detached
    (a head that never gets a gradient; the loop keeps its loss in the body's graph)."""

    def __init__(self, cut: bool = False):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(16, 32), nn.ReLU())
        self.heads = nn.ModuleList(nn.Linear(32, 2) for _ in range(5))
        self.task, self.cut = 0, cut

    def forward(self, x):
        out = self.heads[self.task](self.body(x))
        return out.detach() if self.cut and self.task == 4 else out


def _round_robin_findings(cut: bool) -> set[str]:
    """Five tasks trained in turn, one a step, so that the checked steps (every 10th) always
    meet the same task."""
    torch.manual_seed(0)
    X = torch.randn(500, 16)
    ys = [(X[:, k] > 0).long() for k in range(5)]
    model = _RoundRobinHeads(cut)
    opt = torch.optim.Adam(model.parameters(), 1e-2)
    sitter = watch(model, opt)
    step = 0
    for _ in range(8):
        for at in range(0, 500, 25):
            model.task = step % 5
            opt.zero_grad()
            out = model(X[at:at + 25])
            loss = F.cross_entropy(out, ys[model.task][at:at + 25])
            if cut and model.task == 4:
                loss = loss + 0 * sum(p.sum() for p in model.body.parameters())
            loss.backward()
            opt.step()
            sitter.log(loss)
            step += 1
        with torch.no_grad():
            right = []
            for k in range(5):
                model.task = k
                right.append((model(X).argmax(1) == ys[k]).float().mean().item())
        sitter.end_epoch(train_acc=sum(right) / 5, val_acc=sum(right) / 5)
    return {cause for cause, _ in _findings(sitter)}


def test_heads_trained_in_turn_are_not_parameters_without_a_gradient():
    """The heads the checked steps never meet moved over the run: they have gradients on other
    steps, and their updates there are not measured as zeros (a learning rate too low). A head
    whose gradient is cut is still named."""
    found = _round_robin_findings(cut=False)
    assert not found & {"params_without_gradient", "lr_too_low"}
    assert "params_without_gradient" in _round_robin_findings(cut=True)


def _mining_loop(measure_in_train_mode: bool) -> set[str]:
    """Online hard-example mining: each step scores its batch without gradients in training
    mode (on purpose), then trains on the hardest half; the epoch's accuracy is measured in
    eval mode, or (`measure_in_train_mode`) with dropout left on."""
    X, y = _blobs(4, 512, 16)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Dropout(0.3), nn.Linear(64, 4))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    sitter = watch(model, opt)
    for _ in range(6):
        model.train()
        for at in range(0, len(X), 64):
            xb, yb = X[at:at + 64], y[at:at + 64]
            with torch.no_grad():
                hard = F.cross_entropy(model(xb), yb, reduction="none").topk(32).indices
            opt.zero_grad()
            loss = F.cross_entropy(model(xb[hard]), yb[hard])
            loss.backward()
            opt.step()
            sitter.log(loss)
        model.train(measure_in_train_mode)
        with torch.no_grad():
            accuracy = (model(X).argmax(1) == y).float().mean().item()
        sitter.end_epoch(train_acc=accuracy, val_acc=accuracy)
    return {cause for cause, _ in _findings(sitter)}


def test_hard_example_mining_without_gradients_is_no_evaluation_in_training_mode():
    """The scoring forwards run rows the step then trains on: part of the step. The accuracy
    measured with dropout on is still named."""
    assert "train_mode_evaluation" not in _mining_loop(measure_in_train_mode=False)
    assert "train_mode_evaluation" in _mining_loop(measure_in_train_mode=True)


def _watched_sequences(model_class, steps: int):
    """256 sequences of `steps` steps of 3 features, batch-first (X, y: the sign of the first
    feature's sum), and a fresh `model_class()` with Adam, watched."""
    g = torch.Generator().manual_seed(0)
    X = torch.randn(256, steps, 3, generator=g)
    y = (X[:, :, 0].sum(1) > 0).long()
    torch.manual_seed(0)
    model = model_class()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    return X, y, model, opt, watch(model, opt)


class _TimeFirstDropout(nn.Module):
    """A time-first LSTM classifier with dropout on its last state."""

    def __init__(self):
        super().__init__()
        self.lstm, self.drop, self.head = nn.LSTM(3, 8), nn.Dropout(0.2), nn.Linear(8, 2)

    def forward(self, x):
        return self.head(self.drop(self.lstm(x)[0][-1]))


def test_hard_example_mining_on_time_first_batches_is_no_evaluation_either():
    """The hardest sequences are picked on the batch axis, x[:, hard]: rows keyed along time
    never matched."""
    X, y, model, opt, sitter = _watched_sequences(_TimeFirstDropout, steps=5)
    for _ in range(2):
        for at in range(0, len(X), 64):
            xb, yb = X[at:at + 64].transpose(0, 1), y[at:at + 64]
            with torch.no_grad():
                hard = F.cross_entropy(model(xb), yb, reduction="none").topk(32).indices
            opt.zero_grad()
            loss = F.cross_entropy(model(xb[:, hard]), yb[hard])
            loss.backward()
            opt.step()
            sitter.log(loss)
        sitter.end_epoch()
    assert sitter.history.monitors["torch"]["train_mode_evals"] == 0


class _TimeFirstClassifier(nn.Module):
    """PyTorch's RNN default: an LSTM built time-first, given (time, batch, features), one
    answer a sequence from its last step."""

    def __init__(self):
        super().__init__()
        self.lstm, self.head = nn.LSTM(3, 8), nn.Linear(8, 2)

    def forward(self, x):
        return self.head(self.lstm(x)[0][-1])


@pytest.mark.parametrize("batch, steps", [(32, 5), (8, 5), (128, 200)])
def test_a_time_first_rnn_counts_its_sequences_not_its_time_steps(batch, steps):
    """(time, batch, features) batches: the rows are the sequences on the second axis. The
    run read 5 time steps a batch as its rows (n_train 5 a batch, batch size 5); batches of
    8 sequences, too few for a probe, gather a probe of sequences, still time-first; 200 steps
    of 128 sequences, more steps than a probe's rows, are no 128 x 128 square."""
    X, y, model, opt, sitter = _watched_sequences(_TimeFirstClassifier, steps)
    for _ in range(2):
        for at in range(0, len(X), batch):
            opt.zero_grad()
            loss = F.cross_entropy(model(X[at:at + batch].transpose(0, 1)), y[at:at + batch])
            loss.backward()
            opt.step()
            sitter.log(loss)
        sitter.end_epoch()
    sitter.close()
    meta, layers = sitter.history.meta, sitter.history.monitors["layers"]
    assert (meta["n_train"], meta["batch_size"], meta["n_features"]) == (256, batch, 3 * steps)
    assert layers["probe_size"] == (batch if batch >= 32 else 128)   # PROBE_MIN_ROWS, probe_size
    assert sum(layers["samples"][-1]["predicted"]) == layers["probe_size"]   # ran time-first
    assert all(f.cause != "rnn_not_batch_first" for f in sitter.history.diagnose())


def _loop_evaluating_in_training_mode(border: bool, close_epochs: bool) -> dict:
    """Steps on batches of 32, each epoch's validation rows evaluated without gradients but
    with dropout on (no model.eval()), and a forward on no rows; `border`: every row begins
    with 16 zeros (an image's black corner); without `close_epochs`, end_epoch is never
    called and the run is read as it stands. Returns monitors["torch"]."""
    X, y = _blobs(4, 256, 32)
    if border:
        X[:, :16] = 0
    Xv = X[:64] + 0.1
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(32, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 4))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    sitter = watch(model, opt)
    for _ in range(2):
        _epoch_of_steps(model, opt, sitter, X, y, 32)
        with torch.no_grad():
            model(Xv)
            model(Xv[:0])
        if close_epochs:
            sitter.end_epoch()
    return sitter.history.monitors["torch"]


@pytest.mark.parametrize("border, close_epochs", [(False, True), (True, True), (False, False)])
def test_evaluations_in_training_mode_are_counted_whatever_their_rows_begin_with(
        border, close_epochs):
    """Rows that all begin alike were taken for the training rows (a mined batch), a forward
    on no rows stopped the watching, and a loop that never closes an epoch lost the
    evaluations after its last step."""
    record = _loop_evaluating_in_training_mode(border, close_epochs)
    assert record["train_mode_evals"] >= 1          # the forward on no rows evaluates nothing
    assert not any("stopped" in what for what in record["unmeasured"])


class _MultiSampleDropout(nn.Module):
    """A head averaged over several dropout masks, its dropouts in a list of their own."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(16, 32), nn.ReLU())
        self.dropouts = nn.ModuleList(nn.Dropout(0.5) for _ in range(4))
        self.head = nn.Linear(32, 10)

    def forward(self, x):
        h = self.body(x)
        return torch.stack([self.head(d(h)) for d in self.dropouts]).mean(0)


def test_dropouts_held_in_a_list_serve_the_model_around_it():
    """The list holds no parameter: its dropouts serve the model's. Trained under
    model.eval() throughout, that is eval_mode_training."""
    X, y = _blobs(10, 320, 16)
    torch.manual_seed(0)
    model = _MultiSampleDropout()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    sitter = watch(model, opt)
    model.eval()
    for _ in range(3):
        _epoch_of_steps(model, opt, sitter, X, y, 32)
        sitter.end_epoch()
    assert "eval_mode_training" in {cause for cause, _ in _findings(sitter)}


def test_a_time_first_loop_on_one_batch_counts_the_batchs_sequences():
    """The same (time, batch, features) batch at every step: 32 sequences repeated, not the
    5 time steps the run read as its rows."""
    X, y, model, opt, sitter = _watched_sequences(_TimeFirstClassifier, steps=5)
    _steps_on_one_batch(model, opt, sitter, X[:32].transpose(0, 1), y[:32], 8)
    sitter.end_epoch()
    record = sitter.history.monitors["torch"]
    assert record["repeated_steps"] == 7 and record["repeated_rows"] == 32


class _TimeFirstTokens(nn.Module):
    """(time, batch) token ids through an embedding into a time-first GRU, one answer a
    sequence."""

    def __init__(self):
        super().__init__()
        self.emb, self.gru, self.head = nn.Embedding(20, 8), nn.GRU(8, 8), nn.Linear(8, 2)

    def forward(self, tokens):
        return self.head(self.gru(self.emb(tokens))[0][-1])


def test_time_first_token_ids_count_their_sequences():
    g = torch.Generator().manual_seed(0)
    tokens = torch.randint(0, 20, (256, 7), generator=g)
    y = (tokens[:, 0] > 9).long()
    torch.manual_seed(0)
    model = _TimeFirstTokens()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    sitter = watch(model, opt)
    for at in range(0, 256, 32):
        opt.zero_grad()
        loss = F.cross_entropy(model(tokens[at:at + 32].T), y[at:at + 32])
        loss.backward()
        opt.step()
        sitter.log(loss)
    sitter.end_epoch()
    meta = sitter.history.meta
    assert (meta["n_train"], meta["batch_size"], meta["n_features"]) == (256, 32, 7)


class _PackedClassifier(nn.Module):
    """An LSTM over padded sequences of several lengths, given as a PackedSequence."""

    def __init__(self):
        super().__init__()
        self.lstm, self.head = nn.LSTM(3, 8, batch_first=True), nn.Linear(8, 2)

    def forward(self, packed):
        return self.head(self.lstm(packed)[1][0][-1])


def test_packed_sequences_are_named_as_what_the_monitors_cannot_read():
    """A PackedSequence holds no tensor of rows: the run was told no forward pass was seen and
    asked whether the model watched was the one trained."""
    g = torch.Generator().manual_seed(0)
    X, lengths = torch.randn(64, 6, 3, generator=g), torch.randint(2, 7, (64,), generator=g)
    y = (X[:, 0, 0] > 0).long()
    net = _PackedClassifier()
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    sitter = watch(net, opt)
    for at in range(0, 64, 16):
        opt.zero_grad()
        packed = nn.utils.rnn.pack_padded_sequence(X[at:at + 16], lengths[at:at + 16],
                                                   batch_first=True, enforce_sorted=False)
        loss = F.cross_entropy(net(packed), y[at:at + 16])
        loss.backward()
        opt.step()
        sitter.log(loss)
    sitter.end_epoch()
    unmeasured = " ".join(sitter.history.monitors["torch"]["unmeasured"])
    assert "PackedSequence" in unmeasured and "is the model given to watch" not in unmeasured


class _TurnedInside(nn.Module):
    """A time-first LSTM in a model given batch-first rows, which it turns itself."""

    def __init__(self):
        super().__init__()
        self.lstm, self.head = nn.LSTM(3, 8), nn.Linear(8, 2)

    def forward(self, x):
        return self.head(self.lstm(x.transpose(0, 1))[0][-1])


def _sequence_run(model_class, batches, probe=None):
    """One epoch of cross-entropy steps on `batches` ((x, y) pairs), watched (with `probe`):
    the run's meta."""
    torch.manual_seed(0)
    model = model_class()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    sitter = watch(model, opt, **({} if probe is None else {"probe": probe}))
    for xb, yb in batches:
        opt.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        sitter.log(loss)
    sitter.end_epoch()
    return sitter.history.meta


def test_square_probes_and_given_probes_read_the_batch_on_the_right_axis():
    """Batch-first rows of 128 steps, cut to a probe of 128 rows, look time-first by shape
    alone (read as 512 sequences of 128 in a run of 1,024); a time-first run given its own
    probe of 100 sequences was read along time, and refused with their labels."""
    g = torch.Generator().manual_seed(0)
    X = torch.randn(512, 128, 3, generator=g)
    y = (X[:, 0, 0] > 0).long()
    meta = _sequence_run(_TurnedInside, [(X[at:at + 256], y[at:at + 256]) for at in (0, 256)])
    assert (meta["n_train"], meta["batch_size"]) == (512, 256)
    X, y = torch.randn(5, 256, 3, generator=g), torch.randint(0, 2, (256,), generator=g)
    for probe in (torch.randn(5, 100, 3, generator=g),
                  (torch.randn(5, 100, 3, generator=g), torch.randint(0, 2, (100,), generator=g))):
        meta = _sequence_run(_TimeFirstClassifier,
                             [(X[:, at:at + 64], y[at:at + 64]) for at in range(0, 256, 64)],
                             probe=probe)
        assert (meta["n_train"], meta["batch_size"], meta["n_features"]) == (256, 64, 15)


def test_a_training_batch_filtered_to_no_rows_stops_nothing():
    """Threshold mining (`xb[loss > t]`) can leave a batch empty: the run started on it and the
    monitors stopped at its reshape; it is skipped, and the rows trained are counted."""
    X, y = _blobs(2, 256, 16)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 2))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    sitter = watch(model, opt)
    for epoch in range(2):
        for at in range(0, len(X), 32):
            rows = slice(at, at) if (epoch, at) == (0, 0) else slice(at, at + 32)
            opt.zero_grad()
            loss = F.cross_entropy(model(X[rows]), y[rows], reduction="sum") / 32
            loss.backward()
            opt.step()
            sitter.log(loss)
        sitter.end_epoch()
    history = sitter.history
    assert history.monitors["torch"]["unmeasured"] == [] and history.meta["n_train"] == 224
