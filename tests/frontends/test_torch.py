"""babysit for PyTorch: watch() fills the History babysit's own monitors fill, through hooks that
change nothing, and check_gradients() reads a torch module's gradients as the notes say."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn, F = torch.nn, torch.nn.functional

import babysit as bs  # noqa: E402
from babysit.diagnose import records  # noqa: E402
from babysit.torch import check_gradients, watch  # noqa: E402
from babysit.torch.lightning import _Hooks  # noqa: E402

torch.set_num_threads(1)  # tiny matrices: a second thread only spins (see conftest)


@pytest.fixture(scope="module")
def tensors(digits_split):
    """Standardized digits as float32 tensors: (X, y, Xv, yv)."""
    pre = bs.preprocess.Standardize().fit(digits_split.train.X)

    def t(X, y):
        return (torch.tensor(pre.transform(X), dtype=torch.float32),
                torch.tensor(y, dtype=torch.long))

    return (*t(digits_split.train.X, digits_split.train.y),
            *t(digits_split.val.X, digits_split.val.y))


def mlp(hidden=(100, 100), act=nn.ReLU, dropout=0.0, batchnorm=False, seed=0):
    torch.manual_seed(seed)
    layers, width = [], 64
    for h in hidden:
        layers += [nn.Linear(width, h), *([nn.BatchNorm1d(h)] if batchnorm else []), act(),
                   *([nn.Dropout(dropout)] if dropout else [])]
        width = h
    return nn.Sequential(*layers, nn.Linear(width, 10))


def cnn(seed=0):
    """A small CNN on the 8x8 digits: conv 3x3 -> ReLU -> max-pool -> linear."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Unflatten(1, (1, 8, 8)), nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(16 * 4 * 4, 10))


def train(model, tensors, epochs=3, lr=1e-3, optimizer=torch.optim.Adam, watched=True,
          batch_size=64, **options):
    """The issue's loop; returns (sitter or None, model, optimizer)."""
    X, y, Xv, yv = tensors
    opt = optimizer(model.parameters(), lr=lr)
    sitter = watch(model, opt, image_shape=(8, 8), **options) if watched else None
    order = torch.Generator().manual_seed(1)
    torch.manual_seed(2)  # dropout masks
    for _ in range(epochs):
        perm = torch.randperm(len(X), generator=order)
        for i in range(0, len(X), batch_size):
            xb, yb = X[perm[i:i + batch_size]], y[perm[i:i + batch_size]]
            opt.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            if sitter:
                sitter.log(loss)
        if sitter:
            model.eval()
            with torch.no_grad():
                train_acc = (model(X).argmax(1) == y).float().mean().item()
                val_acc = (model(Xv).argmax(1) == yv).float().mean().item()
            model.train()
            sitter.end_epoch(train_acc=train_acc, val_acc=val_acc)
    return sitter, model, opt


# -- watching changes nothing -------------------------------------------------------------------

@pytest.mark.parametrize("make", [lambda: mlp(dropout=0.3, batchnorm=True), cnn],
                         ids=["mlp-dropout-batchnorm", "cnn"])
def test_watching_leaves_the_weights_bit_for_bit_as_they_were(make, tensors):
    """Same weights, BatchNorm buffers and optimizer state after 3 epochs with and without the
    sitter: its hooks only read, and its probe pass saves and restores the random state."""
    _, plain, plain_opt = train(make(), tensors, watched=False)
    sitter, watched, watched_opt = train(make(), tensors, every=1)
    assert sitter.history.monitors["layers"]["samples"][-1]["iteration"] == 3 * 17
    for (name, a), b in zip(plain.state_dict().items(), watched.state_dict().values(),
                            strict=True):
        assert torch.equal(a, b), name
    for a, b in zip(plain_opt.state.values(), watched_opt.state.values(), strict=True):
        assert all(torch.equal(a[k], b[k]) for k in a)


def test_close_removes_every_hook(tensors):
    model = cnn()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sitter = watch(model, opt)
    train(model, tensors, epochs=1, watched=False)
    sitter.close()
    assert not any(m._forward_hooks or m._forward_pre_hooks or m._backward_hooks
                   for m in model.modules())
    assert not opt._optimizer_step_pre_hooks and not opt._optimizer_step_post_hooks
    assert sitter.history.iterations == 0  # training after close is not recorded


# -- the History it fills --------------------------------------------------------------------

@pytest.fixture(scope="module")
def babysit_history(digits_split):
    """What babysit's own monitors write for an MLP on digits (2 epochs)."""
    net = bs.mlp(64, [30], 10, seed=0)
    trainer = bs.Trainer(net, bs.losses.SoftmaxCrossEntropy(), bs.optim.Adam(1e-3), epochs=2,
                         callbacks=bs.monitors.default(image_shape=(8, 8)), progress=False)
    return trainer.fit(digits_split.train.X, digits_split.train.y,
                       val=(digits_split.val.X, digits_split.val.y))


def test_the_history_holds_the_keys_babysits_own_monitors_write(tensors, babysit_history):
    sitter, _, _ = train(mlp(hidden=(30,)), tensors, epochs=2)
    ours, theirs = sitter.history, babysit_history
    assert set(ours.monitors) == set(theirs.monitors) | {"torch"}  # ours adds the loop's checks
    for key in theirs.monitors:
        assert set(ours.monitors[key]) == set(theirs.monitors[key]), key
        assert records.fits(ours.monitors[key], records.RECORDS[key]), key  # load keeps it
    assert set(ours.monitors["torch"]) == set(records.TorchRecord.__annotations__)
    assert records.fits(ours.monitors["torch"], records.TorchRecord)
    assert set(theirs.meta) <= set(ours.meta)   # ours adds framework and input_shape
    sample, their_sample = ours.monitors["layers"]["samples"][-1], \
        theirs.monitors["layers"]["samples"][-1]
    assert set(sample) == set(their_sample)
    assert set(sample["activations"][1]) == set(their_sample["activations"][1])  # ReLU
    assert set(sample["gradients"][1]) == set(their_sample["gradients"][1])
    assert ours.monitors["layers"]["names"] == ["0 Linear", "1 ReLU", "2 Linear"]
    assert ours.monitors["update_ratio"]["weights"] == ["0.weight", "2.weight"]
    assert ours.iters_per_epoch == 17 and ours.iterations == 34 and ours.epochs == 2
    assert ours.meta["chance_loss"] == pytest.approx(np.log(10))
    assert ours.meta["n_train"] == tensors[0].shape[0] and ours.meta["batch_size"] == 64
    assert ours.meta["n_params"] == theirs.meta["n_params"] == 64 * 30 + 30 + 30 * 10 + 10
    json.dumps(ours.to_dict(), allow_nan=False)  # plain JSON, as History.save writes


def test_samples_are_taken_at_the_start_at_epochs_2_4_8_and_at_the_end(tensors):
    sitter, _, _ = train(mlp(hidden=(20,)), tensors, epochs=5)
    samples = sitter.history.monitors["layers"]["samples"]
    assert [s["iteration"] for s in samples] == [0, 2 * 17, 4 * 17, 5 * 17]
    # every sample got the gradients of a real step: the first, or the epoch's last
    assert all(g is not None for s in samples for g in s["grad_norm"])
    assert all(n is not None for n in sitter.history.monitors["params"]["grad_norm"]["0.weight"])


def test_a_labelled_probe_gives_the_probe_loss_and_the_class_counts(tensors):
    X, y = tensors[0][:200], tensors[1][:200]
    model = mlp(hidden=(20,))
    sitter = watch(model, torch.optim.SGD(model.parameters(), lr=0.0), probe=(X, y))
    model(X[:8]).sum().backward()
    with torch.no_grad():
        expected = float(F.cross_entropy(model.eval()(X), y))
    model.train()
    history = sitter.history
    assert history.monitors["layers"]["samples"][0]["loss"] == pytest.approx(expected)
    assert history.monitors["layers"]["probe_labels"] == torch.bincount(y, minlength=10).tolist()
    assert history.monitors["data"]["class_counts"] == history.monitors["layers"]["probe_labels"]
    assert history.monitors["data"]["n"] == 200


def test_a_step_given_a_closure_is_read_like_a_plain_one(tensors):
    """Lightning (and LBFGS) run the forward and backward passes inside optimizer.step."""
    X, y = tensors[0][:256], tensors[1][:256]

    def run(closure_style):
        model = mlp(hidden=(20,))
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        sitter = watch(model, opt, every=1)
        for _ in range(2):
            for i in range(0, 256, 64):
                def closure(i=i):
                    opt.zero_grad()
                    loss = F.cross_entropy(model(X[i:i + 64]), y[i:i + 64])
                    loss.backward()
                    return loss
                loss = opt.step(closure) if closure_style else (closure(), opt.step())[0]
                sitter.log(loss)
            sitter.end_epoch()
        return sitter.history.monitors

    plain, closure = run(False), run(True)
    assert closure["params"]["grad_norm"] == plain["params"]["grad_norm"]
    assert [s["grad_norm"] for s in closure["layers"]["samples"]] == \
        [s["grad_norm"] for s in plain["layers"]["samples"]]
    assert None not in closure["layers"]["samples"][-1]["grad_norm"]
    assert closure["update_ratio"] == plain["update_ratio"]


def test_the_update_ratio_is_the_norm_of_the_update_over_the_norm_of_the_weights(tensors):
    X, y = tensors[0][:64], tensors[1][:64]
    model = mlp(hidden=(20,))
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    sitter = watch(model, opt, every=1)
    before = model[0].weight.detach().clone()
    opt.zero_grad()
    F.cross_entropy(model(X), y).backward()
    grad = model[0].weight.grad.clone()
    opt.step()
    ratio = sitter.history.monitors["update_ratio"]["params"]["0.weight"][0]
    assert ratio == pytest.approx(float((0.5 * grad).norm() / before.norm()), rel=1e-5)
    assert sitter.history.monitors["params"]["grad_norm"]["0.weight"][0] == \
        pytest.approx(float(grad.norm()), rel=1e-5)


def test_a_relu_unit_that_is_negative_on_every_probe_example_is_dead(tensors):
    model = mlp(hidden=(20,))
    with torch.no_grad():
        model[0].bias[:5] = -100.0   # 5 of 20 units never fire
    train(model, tensors, epochs=0)
    sitter = watch(model, torch.optim.SGD(model.parameters(), lr=0.0))
    model(tensors[0][:64]).sum().backward()   # the first training forward starts the run
    relu = sitter.history.monitors["layers"]["samples"][0]["activations"][1]
    assert relu["dead"] == pytest.approx(5 / 20)


def test_a_cnn_draws_its_first_layer_filters_and_the_report_works(tensors, tmp_path):
    sitter, model, _ = train(cnn(), tensors, epochs=2, data="digits")
    history = sitter.history
    first = history.monitors["first_layer"]
    assert first["name"] == "1.weight" and first["shape"] == [9, 16]
    W = np.array(first["W"])
    filters = model[1].weight.detach().numpy()          # kept to 4 digits of the largest
    np.testing.assert_allclose(W[:, 3], filters[3, 0].ravel(), rtol=0,
                               atol=5e-4 * np.abs(filters).max())
    assert history.meta["image_shape"] == [3, 3] and history.meta["input_shape"] == [8, 8]
    names = history.monitors["layers"]["names"]
    assert names == ["1 Conv2d", "2 ReLU", "3 MaxPool2d", "4 Flatten", "5 Linear"]
    assert "dead" in history.monitors["layers"]["samples"][-1]["activations"][1]
    assert all(g is not None for g in history.monitors["layers"]["samples"][-1]["gradients"])
    history.save(tmp_path / "history.json")
    html = bs.report.write(bs.History.load(tmp_path / "history.json"), tmp_path)
    assert "digits" in html.read_text()


def test_watch_refuses_what_is_not_a_model_or_optimizer():
    model = mlp(hidden=(5,))
    with pytest.raises(ValueError, match="model must be a torch.nn.Module, got str"):
        watch("net", torch.optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(ValueError, match="optimizer must be a torch.optim.Optimizer"):
        watch(model, None)
    with pytest.raises(ValueError, match="every must be a positive integer, got 0"):
        watch(model, torch.optim.SGD(model.parameters(), lr=0.1), every=0)
    sitter = watch(model, torch.optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(ValueError, match=r"val_acc must be a fraction in \[0, 1\] or None, got 97"):
        sitter.end_epoch(train_acc=torch.tensor(0.9), val_acc=97)


# -- the diagnosis, as for babysit's own networks ---------------------------------------------

def _serious(history) -> list:
    return [f for f in history.diagnose() if f.severity in ("warning", "error")]


@pytest.mark.parametrize("make", [mlp, cnn], ids=["mlp", "cnn"])
def test_a_healthy_run_gets_no_warning(make, tensors):
    sitter, _, _ = train(make(), tensors, epochs=8)
    assert _serious(sitter.history) == []
    assert sitter.history.val_acc[-1] > 0.9


@pytest.mark.parametrize("make", [mlp, cnn], ids=["mlp", "cnn"])
def test_a_far_too_high_learning_rate_is_named(make, tensors):
    sitter, model, _ = train(make(), tensors, epochs=4, lr=0.3)
    top = _serious(sitter.history)[0]
    assert top.cause == "lr_too_high"
    assert set(top.concerns) <= {name for name, _ in model.named_parameters()}


@pytest.mark.parametrize("make", [mlp, cnn], ids=["mlp", "cnn"])
def test_dying_relus_are_named(make, tensors):
    """Biases started at -1 with small weights: most ReLUs never fire."""
    model = make()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Linear | nn.Conv2d) and m is not list(model.modules())[-1]:
                m.weight.mul_(0.1)
                m.bias.fill_(-1.0)
    sitter, _, _ = train(model, tensors, epochs=4)
    top = _serious(sitter.history)[0]
    assert top.cause == "dead_units"
    assert top.concerns and set(top.concerns) <= set(sitter.history.monitors["layers"]["names"])


def test_vanishing_gradients_are_named_as_for_babysits_own_network(tensors, digits_split):
    """A deep sigmoid net with tiny weights, the same in babysit and in torch: the diagnosis
    names the same root cause first."""
    depth, std, lr, epochs = 5, 0.01, 0.1, 4
    net = bs.mlp(64, [50] * depth, 10, activation="sigmoid", init="lecun", seed=0)
    model = mlp(hidden=(50,) * depth, act=nn.Sigmoid)
    rng = np.random.default_rng(0)
    for layer, m in zip([lay for lay in net.layers if "W" in lay.params],
                        [m for m in model if isinstance(m, nn.Linear)], strict=True):
        W = (std * rng.standard_normal(layer.params["W"].shape)).astype(np.float32)
        layer.params["W"].value[...] = W
        with torch.no_grad():
            m.weight.copy_(torch.from_numpy(W.T.copy()))
            m.bias.zero_()
    X, y, Xv, yv = (a.numpy() for a in tensors)
    trainer = bs.Trainer(net, bs.losses.SoftmaxCrossEntropy(), bs.optim.SGD(lr), batch_size=64,
                         epochs=epochs, callbacks=bs.monitors.default(), progress=False)
    theirs = _serious(trainer.fit(X, y, val=(Xv, yv)))
    sitter, _, _ = train(model, tensors, epochs=epochs, lr=lr, optimizer=torch.optim.SGD)
    ours = _serious(sitter.history)
    assert ours[0].cause == theirs[0].cause == "vanishing_gradients"


# -- the gradient check ----------------------------------------------------------------------

class _WrongLinear(nn.Module):
    """y = x W^T + b whose backward doubles dL/dW: a planted bug in one parameter."""

    class _Function(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, weight, bias):
            ctx.save_for_backward(x, weight)
            return x @ weight.T + bias

        @staticmethod
        def backward(ctx, grad):
            x, weight = ctx.saved_tensors
            return grad @ weight, 2 * grad.T @ x, grad.sum(0)

    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_out, n_in) * 0.3)
        self.bias = nn.Parameter(torch.zeros(n_out))

    def forward(self, x):
        return self._Function.apply(x, self.weight, self.bias)


def test_a_correct_network_passes_and_is_left_unchanged(tensors):
    model = mlp(hidden=(20, 20), dropout=0.5)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    state = torch.get_rng_state()
    report = check_gradients(model, F.cross_entropy, tensors[0][:4], tensors[1][:4])
    assert isinstance(report, bs.check.GradientReport)
    assert report.ok, str(report)
    assert {v.param for v in report.verdicts} == {name for name, _ in model.named_parameters()}
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert model[0].weight.dtype == torch.float32
    assert torch.equal(torch.get_rng_state(), state)


def test_a_planted_wrong_backward_fails_on_its_parameter(tensors):
    torch.manual_seed(0)
    model = nn.Sequential(_WrongLinear(64, 10), nn.Tanh(), nn.Linear(10, 10))
    report = check_gradients(model, F.cross_entropy, tensors[0][:4], tensors[1][:4])
    assert not report.ok
    assert report.wrong == ["0.weight"]
    assert report.verdict("0.weight").worst > 0.1
    assert report.verdict("0.bias").verdict == "excellent"


def test_a_frozen_layer_is_left_out_and_named(tensors):
    """Fine-tuning freezes layers: autograd refused to differentiate their parameters (a raw
    RuntimeError) although the trainable ones can be checked."""
    model = mlp(hidden=(20,))
    model[0].requires_grad_(False)
    report = check_gradients(model, F.cross_entropy, tensors[0][:4], tensors[1][:4])
    assert report.ok, str(report)
    assert {v.param for v in report.verdicts} == {"2.weight", "2.bias"}
    assert any("2 frozen parameter(s) not checked" in note and "0.weight" in note
               for note in report.notes)


def test_a_step_across_a_relu_kink_is_flagged_not_blamed():
    """A hidden unit sits 1e-7 from its kink: the bias's finite difference (h = 1e-5) crosses
    it, so f(x+h) and f(x-h) lie on different sides and their slope is half the truth."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 3))
    X, y = torch.randn(1, 3), torch.tensor([1])
    with torch.no_grad():
        model[0].bias[2] = 1e-7 - (X[0] @ model[0].weight[2])
    report = check_gradients(model, F.cross_entropy, X, y)
    row = next(r for r in report.rows if r.param == "0.bias" and r.index == (2,))
    assert row.kink and row.rel_error > 1e-2
    assert report.ok
    assert any("crossed a kink" in note for note in report.notes)


@pytest.mark.parametrize("make, loss_fn", [
    (cnn, F.cross_entropy),                             # max-pool
    (lambda: mlp(hidden=(8,), act=nn.LeakyReLU), F.multi_margin_loss),  # the SVM's hinge
], ids=["maxpool", "hinge"])
def test_other_kinks_are_recorded(make, loss_fn, tensors):
    from babysit.torch import kinks

    model = make().double()
    with kinks.recording() as masks:
        loss_fn(model(tensors[0][:4].double()), tensors[1][:4])
    assert len(masks) == 2  # relu + max-pool; leaky relu + hinge
    report = check_gradients(model, loss_fn, tensors[0][:4], tensors[1][:4])
    assert report.ok and not any(v.smooth for v in report.verdicts)


def test_check_gradients_refuses_bad_input():
    with pytest.raises(ValueError, match="model must be a torch.nn.Module, got list"):
        check_gradients([], F.cross_entropy, torch.zeros(2, 3), torch.zeros(2))
    with pytest.raises(ValueError, match="X must hold at least one example"):
        check_gradients(nn.Linear(3, 2), F.cross_entropy, torch.zeros(0, 3), torch.zeros(0))


# -- Lightning ---------------------------------------------------------------------------------

class _FakeTrainer:
    """The Trainer attributes the callback reads."""

    def __init__(self, optimizer):
        self.optimizers, self.callback_metrics = [optimizer], {}


def _lightning_batches(trainer, hooks, model, opt, X, y, batch=64):
    """One epoch's steps over (X, y) in order, each ended by the hook Lightning calls after a
    training batch (`on_train_batch_end`), as Lightning's loop would."""
    for i in range(0, len(X), batch):
        opt.zero_grad()
        loss = F.cross_entropy(model(X[i:i + batch]), y[i:i + batch])
        loss.backward()
        opt.step()
        hooks.on_train_batch_end(trainer, model, {"loss": loss}, None, i)


def test_the_lightning_hooks_fill_the_same_history(tensors):
    """Lightning calls these hooks around its own loop; here a loop calls them by hand."""
    X, y = tensors[0][:256], tensors[1][:256]
    model = mlp(hidden=(20,))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    trainer, hooks = _FakeTrainer(opt), _Hooks(image_shape=(8, 8))
    hooks.on_train_start(trainer, model)
    for epoch in range(2):
        _lightning_batches(trainer, hooks, model, opt, X, y)
        trainer.callback_metrics = {"train_acc": torch.tensor(0.5 + epoch / 10)}
        hooks.on_train_epoch_end(trainer, model)
    hooks.on_train_end(trainer, model)
    history = hooks.history
    assert history.iterations == 8 and history.train_acc == pytest.approx([0.5, 0.6])
    assert history.val_acc == [None, None]
    assert set(history.monitors) >= {"update_ratio", "layers", "first_layer"}
    assert not opt._optimizer_step_pre_hooks


def test_a_lightning_fit_that_raises_takes_the_hooks_off(tensors):
    """Lightning skips `on_train_end` when a fit raises (or Ctrl-C stops it) and calls
    `on_exception`: the sitter's hooks stayed on the module and its optimizer."""
    X, y = tensors[0][:128], tensors[1][:128]
    model = mlp(hidden=(20,))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    trainer, hooks = _FakeTrainer(opt), _Hooks()
    hooks.on_train_start(trainer, model)
    _lightning_batches(trainer, hooks, model, opt, X, y)
    hooks.on_exception(trainer, model, RuntimeError("a bad batch"))
    assert not opt._optimizer_step_pre_hooks and not opt._optimizer_step_post_hooks
    assert not any(m._forward_hooks or m._forward_pre_hooks for m in model.modules())
    assert hooks.history.iterations == 2


def test_without_lightning_the_callback_import_says_what_to_install():
    import babysit.torch.lightning as module
    if module._lightning_callback_base() is not None:
        pytest.skip("Lightning is installed here")
    with pytest.raises(ImportError, match="needs PyTorch Lightning.*pip install lightning"):
        from babysit.torch.lightning import BabysitCallback  # noqa: F401


def fit_in_lightning(pl, callback, X, y, tmp_path, optimizer, **options):
    """A 64-20-10 LightningModule (its `training_step` calls `self(x)`) trained by a Lightning
    Trainer with `callback` on (X, y) in batches of 64, `optimizer(parameters)` its
    optimizer, `options` the Trainer's (max_epochs, accumulate_grad_batches, ...)."""

    class Module(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = mlp(hidden=(20,))

        def forward(self, x):
            return self.net(x)

        def training_step(self, batch, batch_idx):
            return F.cross_entropy(self(batch[0]), batch[1])

        def configure_optimizers(self):
            return optimizer(self.parameters())

    trainer = pl.Trainer(callbacks=[callback], logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, default_root_dir=tmp_path, **options)
    data = torch.utils.data.TensorDataset(X, y)
    trainer.fit(Module(), torch.utils.data.DataLoader(data, batch_size=64))


def test_the_lightning_callback_runs_in_a_lightning_trainer(tensors, tmp_path):
    pl = pytest.importorskip("lightning.pytorch")
    from babysit.torch.lightning import BabysitCallback

    callback = BabysitCallback(image_shape=(8, 8))
    fit_in_lightning(pl, callback, tensors[0], tensors[1], tmp_path,
                     lambda params: torch.optim.Adam(params, lr=1e-3), max_epochs=2)
    assert callback.history.iterations == 2 * 17
    assert callback.history.monitors["layers"]["names"][0] == "net.0 Linear"


def test_the_lightning_callback_logs_one_loss_a_step_when_batches_accumulate(tensors, tmp_path):
    # with accumulate_grad_batches=2 every micro-batch was logged: twice the steps taken
    pl = pytest.importorskip("lightning.pytorch")
    from babysit.torch.lightning import BabysitCallback

    callback = BabysitCallback()
    fit_in_lightning(pl, callback, tensors[0][:512], tensors[1][:512], tmp_path,
                     lambda params: torch.optim.SGD(params, lr=1e-2), max_epochs=1,
                     accumulate_grad_batches=2)
    assert callback.sitter.steps == 4 and callback.history.iterations == 4
