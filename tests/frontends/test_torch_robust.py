"""babysit for PyTorch on models of many shapes: several inputs (positional or keyword), a
tuple or mapping output, token ids, sparse gradients are watched; a model whose output the
hooks cannot read stops the watching, which says why in `unmeasured`, and the caller's
training goes on exactly as it would unwatched (a babysitter never raises into the loop it
watches); and arguments refused where they are given."""

from __future__ import annotations

import copy
import math

import pytest

torch = pytest.importorskip("torch")
nn, F = torch.nn, torch.nn.functional

from babysit.torch import watch  # noqa: E402

torch.set_num_threads(1)


class TupleOut(nn.Module):
    """A model whose forward returns (logits, an auxiliary output)."""

    def __init__(self):
        super().__init__()
        self.body, self.head = nn.Linear(16, 32), nn.Linear(32, 4)

    def forward(self, x):
        h = torch.relu(self.body(x))
        return self.head(h), h


class TwoInputs(nn.Module):
    """A model whose forward takes the inputs and a mask."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 4))

    def forward(self, x, mask):
        return self.net(x * mask)


class Bag(nn.Module):
    """Token ids of a length that changes from batch to batch, sparse embedding gradients."""

    def __init__(self, sparse):
        super().__init__()
        self.embed, self.head = nn.Embedding(50, 8, sparse=sparse), nn.Linear(8, 4)

    def forward(self, ids):
        return self.head(self.embed(ids).mean(dim=1))


class DictOut(nn.Module):
    """A model whose forward returns a mapping with "logits" (as Hugging Face's models do)."""

    def __init__(self):
        super().__init__()
        self.body, self.head = nn.Linear(16, 32), nn.Linear(32, 4)

    def forward(self, x):
        h = torch.relu(self.body(x))
        return {"hidden": h, "logits": self.head(h)}


class Scores:
    """An output object holding no tensor where the sitter looks (not a tensor, tuple or
    mapping)."""

    def __init__(self, logits):
        self.logits = logits


class ObjectOut(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 4))

    def forward(self, x):
        return Scores(self.net(x))


def _scores(out):
    if isinstance(out, dict):
        return out["logits"]
    if isinstance(out, Scores):
        return out.logits
    return out[0] if isinstance(out, tuple) else out


def batches(kind, n=8):
    g = torch.Generator().manual_seed(0)
    for i in range(n):
        y = torch.randint(0, 4, (32,), generator=g)
        if kind == "ids":
            yield (torch.randint(0, 50, (32, 5 + i % 3), generator=g),), {}, y
        elif kind == "mask":
            yield (torch.randn(32, 16, generator=g), torch.ones(32, 16)), {}, y
        elif kind == "keywords":
            yield (), {"x": torch.randn(32, 16, generator=g), "mask": torch.ones(32, 16)}, y
        else:
            yield (torch.randn(32, 16, generator=g),), {}, y


def train(make, kind, watched, epochs=2):
    """Weights after `epochs` epochs of plain SGD, and the sitter (None unwatched)."""
    torch.manual_seed(0)
    model = make()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sitter = watch(model, opt) if watched else None
    for _ in range(epochs):
        for args, kwargs, y in batches(kind):
            opt.zero_grad()
            loss = F.cross_entropy(_scores(model(*args, **kwargs)), y)
            loss.backward()
            opt.step()
            if sitter is not None:
                sitter.log(loss)
        if sitter is not None:
            sitter.end_epoch()
    return [p.detach().clone() for p in model.parameters()], sitter


@pytest.mark.parametrize("make, kind", [
    (TupleOut, "x"),                       # was: 'tuple' object has no attribute 'ndim'
    (DictOut, "x"),
    (TwoInputs, "mask"),                   # was: forward() missing ... 'mask' (the probe)
    (TwoInputs, "keywords"),               # model(x=..., mask=...)
    (lambda: Bag(sparse=False), "ids"),    # was: sizes of tensors must match (end_epoch)
    (lambda: Bag(sparse=True), "ids"),     # was: linalg_vector_norm on SparseCPU (step)
])
def test_models_of_several_inputs_or_outputs_are_watched_without_changing_training(make, kind):
    plain, _ = train(make, kind, watched=False)
    weights, sitter = train(make, kind, watched=True)
    assert all(torch.equal(a, b) for a, b in zip(plain, weights, strict=True))
    history = sitter.history
    torch_rec = history.monitors["torch"]
    assert torch_rec["stopped_at"] is None
    assert not any(note.startswith("the monitors stopped") for note in torch_rec["unmeasured"])
    assert torch_rec["steps"] == 16 and len(history.monitors["layers"]["samples"]) >= 2
    ratios = history.monitors["update_ratio"]["params"]
    assert all(len(values) == 1 for values in ratios.values())   # steps 10: every=10
    grad_norms = history.monitors["params"]["grad_norm"]
    assert all(v[-1] is not None and v[-1] > 0 for v in grad_norms.values())
    causes = {f.cause for f in history.diagnose()}
    assert not causes & {"no_optimizer_step", "no_gradient", "gradients_not_zeroed"}


def test_integer_inputs_are_ids_whose_scale_is_not_judged():
    _, sitter = train(lambda: Bag(sparse=False), "ids", watched=True)
    history = sitter.history
    assert history.monitors["data"]["feature_mean"] == []
    assert any("inputs are integers" in n for n in history.monitors["torch"]["unmeasured"])
    assert "unscaled_inputs" not in {f.cause for f in history.diagnose()}


def test_a_model_the_hooks_cannot_read_trains_as_unwatched():
    plain, _ = train(ObjectOut, "x", watched=False)
    weights, sitter = train(ObjectOut, "x", watched=True)
    assert all(torch.equal(a, b) for a, b in zip(plain, weights, strict=True))
    history = sitter.history
    assert history.loss and len(history.train_acc) == 2     # what the loop logged is kept
    stopped = history.monitors["torch"]["unmeasured"][0]
    assert stopped.startswith("the monitors stopped at step 0 (_on_forward: ValueError: "
                              "the model's output holds no tensor to read)")
    assert stopped.endswith("the rest of the run was not watched")
    assert sitter._hooks == [] and sitter._step_hooks == []     # none left on the model
    # steps went uncounted once watching stopped: that is no "step() never called"
    assert "no_optimizer_step" not in {f.cause for f in history.diagnose()}


def test_steps_skipped_between_zero_grads_are_not_gradients_not_zeroed():
    # zero_grad every iteration, step every other one (AMP's GradScaler skips steps so)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 4))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sitter = watch(model, opt, every=1)
    for _ in range(3):
        for k, (inputs, _, y) in enumerate(batches("x")):
            opt.zero_grad()
            loss = F.cross_entropy(model(*inputs), y)
            loss.backward()
            if k % 2 == 0:
                opt.step()
                sitter.log(loss)
        sitter.end_epoch()
    assert sitter.history.monitors["torch"]["carried_steps"] == 0
    assert "gradients_not_zeroed" not in {f.cause for f in sitter.history.diagnose()}


@pytest.mark.parametrize("edit", ["l2", "noise"])
def test_a_gradient_edited_after_zero_grad_and_backward_is_not_gradients_not_zeroed(edit):
    """An L2 term or noise added to `.grad` by hand between backward() and step() turns the
    gradient away from what backward made; nothing of earlier steps is in it, as the cleared
    `.grad` at the step's first backward shows. It read as an error, zero_grad() forgotten."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 4))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sitter = watch(model, opt, every=1)
    for _ in range(3):
        for inputs, _, y in batches("x"):
            opt.zero_grad()
            loss = F.cross_entropy(model(*inputs), y)
            loss.backward()
            for p in model.parameters():
                p.grad.add_(p.detach() if edit == "l2" else torch.randn_like(p), alpha=5e-2)
            opt.step()
            sitter.log(loss)
        sitter.end_epoch()
    assert sitter.history.monitors["torch"]["carried_steps"] == 0
    assert "gradients_not_zeroed" not in {f.cause for f in sitter.history.diagnose()}
    sitter.close()


@pytest.mark.parametrize("kwargs, message", [
    ({"loss_fn": "cross_entropy"}, "loss_fn must be the loss the loop calls"),
    ({"probe_sise": 8}, r"probe_sise= is no argument of watch \(did you mean probe_size=\?\)"),
    ({"loss": nn.CrossEntropyLoss()}, "the meta entry loss= must be text, a number"),
    ({"image_shape": 8}, r"image_shape must be an image's shape"),
])
def test_watch_refuses_arguments_it_would_choke_on_later(kwargs, message):
    model = nn.Sequential(nn.Linear(16, 4))
    with pytest.raises(ValueError, match=message):
        watch(model, torch.optim.SGD(model.parameters(), lr=0.1), **kwargs)


def test_log_refuses_what_is_no_loss():
    model = nn.Sequential(nn.Linear(16, 4))
    sitter = watch(model, torch.optim.SGD(model.parameters(), lr=0.1))
    for bad in (None, torch.ones(3)):
        with pytest.raises(ValueError, match="log: loss must be the step's loss"):
            sitter.log(bad)
    sitter.close()


def test_a_deep_copy_of_the_watched_model_shares_the_sitter_and_is_not_watched():
    # an EMA or SWA copy made while watching carried a copy of the sitter, its optimizer and
    # History in its hooks, which stayed after close()
    import copy

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 4))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sitter = watch(model, opt)
    inputs, _, y = next(batches("x"))
    opt.zero_grad()
    loss = F.cross_entropy(model(*inputs), y)
    loss.backward()
    opt.step()
    sitter.log(loss)
    rows = sitter._rows_first_epoch
    twin = copy.deepcopy(model)
    hooks = list(twin._forward_pre_hooks.values()) + list(twin._forward_hooks.values())
    assert hooks and all(h.__self__ is sitter for h in hooks)
    twin(*inputs).sum().backward()                     # a forward the sitter must not count
    assert sitter._rows_first_epoch == rows and sitter.history.loss == [loss.item()]
    sitter.close()


class FlatBag(nn.Module):
    """nn.EmbeddingBag fed a flat token list and each bag's offset: the first tensor's rows
    are tokens, not the batch's examples."""

    def __init__(self):
        super().__init__()
        self.bag, self.head = nn.EmbeddingBag(50, 8, mode="mean"), nn.Linear(8, 4)

    def forward(self, tokens, offsets):
        return self.head(self.bag(tokens, offsets))


def test_a_flat_token_list_with_offsets_is_probed_whole():
    torch.manual_seed(0)
    model = FlatBag()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sitter = watch(model, opt)
    g = torch.Generator().manual_seed(0)
    for _ in range(2):
        for _ in range(6):
            lengths = torch.randint(3, 9, (32,), generator=g)
            tokens = torch.randint(0, 50, (int(lengths.sum()),), generator=g)
            offsets = torch.cat([torch.zeros(1, dtype=torch.long), lengths.cumsum(0)[:-1]])
            opt.zero_grad()
            loss = F.cross_entropy(model(tokens, offsets), torch.randint(0, 4, (32,), generator=g))
            loss.backward()
            opt.step()
            sitter.log(loss)
        sitter.end_epoch()
    history = sitter.history
    assert history.monitors["torch"]["stopped_at"] is None
    assert len(history.monitors["layers"]["samples"]) >= 2


def test_a_loss_module_given_while_no_training_forward_is_seen_stops_nothing():
    """Every forward under no_grad with loss_fn= given: the targets were read while the
    output's units were unknown (a TypeError stopped the monitors at the first epoch's end)."""
    model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 4))
    opt = torch.optim.Adam(model.parameters())
    loss_fn = nn.CrossEntropyLoss()
    sitter = watch(model, opt, loss_fn=loss_fn)
    for _ in range(2):
        for args, _, y in batches("x"):
            opt.zero_grad()
            with torch.no_grad():
                loss = loss_fn(model(*args), y)
            loss.requires_grad_(True)
            loss.backward()
            opt.step()
            sitter.log(loss)
        sitter.end_epoch()
    assert sitter.history.monitors["torch"]["stopped_at"] is None
    assert sitter.history.meta["setup"]["targets"]["counts"] is not None


@pytest.mark.parametrize("mode", ["autocast", "model"])
def test_a_bfloat16_run_is_watched_to_its_end(mode):
    """NumPy holds no bfloat16: the gradients read at the epoch's last step stopped the
    monitors at the first step ("Got unsupported ScalarType BFloat16")."""
    torch.manual_seed(0)
    X, y = torch.randn(256, 12), torch.randint(0, 3, (256,))
    model = torch.nn.Sequential(torch.nn.Linear(12, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
    if mode == "model":
        model = model.bfloat16()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    with watch(model, opt) as sitter:
        for _ in range(3):
            for i in range(0, 256, 32):
                opt.zero_grad()
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=mode == "autocast"):
                    out = model(X[i:i + 32].to(next(model.parameters()).dtype))
                loss = torch.nn.functional.cross_entropy(out.float(), y[i:i + 32])
                loss.backward()
                opt.step()
                sitter.log(loss)
            sitter.end_epoch()
        history = sitter.history
    assert history.monitors["torch"]["unmeasured"] == []
    assert len(history.monitors["layers"]["samples"]) >= 3
    assert history.monitors["update_ratio"]["iterations"]
    assert history.monitors["layers"]["samples"][-1]["gradients"][0] is not None


def train_epoch(model, opt, sitter, X, y, batch=32, after_step=lambda: None,
                wrap=lambda x: x):
    """One epoch of a plain classification loop over (X, y) in order, each step logged when
    watched (`sitter` None: unwatched); the model is called on wrap(the batch's rows)."""
    for i in range(0, len(X), batch):
        opt.zero_grad()
        loss = F.cross_entropy(model(wrap(X[i:i + batch])), y[i:i + batch])
        loss.backward()
        opt.step()
        if sitter:
            sitter.log(loss)
        after_step()
    if sitter:
        sitter.end_epoch()


def test_a_diverged_steps_gradients_name_no_class():
    """The sitter reads the labels from the gradient at the output; after a step that
    diverged, NaN rows were read as class 0, and a balanced set looked 48% class 0."""
    torch.manual_seed(0)
    X, y = torch.randn(512, 12) * 3, torch.arange(512) % 4
    model = nn.Sequential(nn.Linear(12, 32), nn.ReLU(), nn.Linear(32, 4))
    opt = torch.optim.SGD(model.parameters(), lr=1e3)
    with watch(model, opt) as sitter:
        train_epoch(model, opt, sitter, X, y)
        history = sitter.history
    assert not all(map(math.isfinite, history.loss))      # it diverged within the epoch
    counts = history.monitors["data"]["class_counts"]
    assert max(counts) < 1.5 * min(counts), counts      # 4 classes in equal numbers
    assert "class_imbalance" not in [f.cause for f in history.diagnose()]


class Stateful(nn.Module):
    """A GRU carrying its hidden state from one chunk of the sequences to the next on itself
    (truncated backpropagation through time), its own noise generator, and a buffer its
    forward updates in eval mode as well (as a quantization observer does)."""

    def __init__(self):
        super().__init__()
        self.rnn, self.fc, self.h = nn.GRU(4, 16, batch_first=True), nn.Linear(16, 4), None
        self.noise = torch.Generator().manual_seed(3)
        self.register_buffer("seen", torch.zeros(()))

    def forward(self, x):
        self.seen += 1
        out, h = self.rnn(x + 0.01 * torch.randn(x.shape, generator=self.noise), self.h)
        self.h = h.detach()
        return self.fc(out)


def test_the_probe_leaves_a_models_own_state_as_the_loop_left_it():
    """The probe ran the model on 128 rows: 200 streams a batch then crashed the loop's own
    forward ("Expected hidden size (1, 200, 16), got [1, 128, 16]"), and fewer trained to
    other weights."""
    torch.manual_seed(0)
    seq = torch.randn(200, 81, 4).cumsum(1) * 0.1

    def run(watched):
        torch.manual_seed(1)
        model = Stateful()
        opt = torch.optim.Adam(model.parameters(), 1e-2)
        sitter = watch(model, opt) if watched else None
        for t in range(0, 80, 20):
            opt.zero_grad()
            loss = F.mse_loss(model(seq[:, t:t + 20]), seq[:, t + 1:t + 21])
            loss.backward()
            opt.step()
            if sitter:
                sitter.log(loss)
        if sitter:
            assert sitter.history.iterations == 4   # reading it probes the moved weights
            sitter.close()
        return model

    plain, watched = run(False), run(True)
    for (name, a), b in zip(plain.state_dict().items(), watched.state_dict().values(),
                            strict=True):
        assert torch.equal(a, b), name
    assert torch.equal(plain.h, watched.h)
    assert torch.equal(plain.noise.get_state(), watched.noise.get_state())


def test_a_watched_model_saved_whole_pickles_at_every_step_without_the_sitter():
    """torch.save(model) pickles the hooks on it: a step's output hooks were closures (it
    failed before an epoch's last step), and the sitter's own hooks carried it, its
    optimizer and its History, into the file."""
    import io

    torch.manual_seed(0)
    X, y = torch.randn(128, 12), torch.randint(0, 3, (128,))
    model = nn.Sequential(nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    state = io.BytesIO()
    torch.save(model.state_dict(), state)
    with watch(model, opt) as sitter:
        sizes = []

        def save_whole():
            saved = io.BytesIO()
            torch.save(model, saved)
            sizes.append(len(saved.getvalue()))
            return saved

        for _ in range(3):
            train_epoch(model, opt, sitter, X, y, after_step=save_whole)
        assert len(sizes) == 12 and max(sizes) < 2 * len(state.getvalue())
        saved = save_whole()
    saved.seek(0)
    loaded = torch.load(saved, weights_only=False)
    assert torch.equal(loaded(X), model(X))
    assert torch.equal(copy.deepcopy(loaded)(X), model(X))


def test_an_epoch_closed_before_any_step_records_nothing_and_says_so():
    """An "epoch 0" evaluation ended an epoch of no step: the first epoch's rows, labels and
    batches were read from nothing, and its hooks stayed on for the whole run."""
    torch.manual_seed(0)
    X, y = torch.randn(128, 12), torch.arange(128) % 3
    model = nn.Sequential(nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with watch(model, opt) as sitter:
        with pytest.warns(UserWarning, match="end_epoch\\(\\) before any optimizer step"):
            sitter.end_epoch(val_acc=0.33)
        for _ in range(2):
            train_epoch(model, opt, sitter, X, y)
        history = sitter.history
    assert history.epochs == 2 and history.iters_per_epoch == 4
    assert history.monitors["data"]["class_counts"] == [43, 43, 42]


def test_watching_a_watched_model_again_closes_the_earlier_sitter():
    """A notebook cell run twice stacked a second set of hooks on the first."""
    model = nn.Sequential(nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    first = watch(model, opt)
    with pytest.warns(UserWarning, match="still watched by an earlier sitter"):
        second = watch(model, opt)
    assert len(model._forward_pre_hooks) == 1 and len(opt._optimizer_step_pre_hooks) == 1
    with pytest.raises(ValueError, match="this sitter was closed"):
        first.end_epoch()
    second.close()


def test_a_time_first_rnn_with_a_smaller_last_batch_is_watched_past_its_first_epoch():
    """An LSTM fed (time, batch, features), PyTorch's default layout: the first epoch's rows
    were joined along the time axis, and the smaller last batch stopped the monitors
    ("Sizes of tensors must match") as the first epoch ended."""

    class TimeFirst(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn, self.fc = nn.LSTM(4, 8), nn.Linear(8, 3)

        def forward(self, x):                   # x (T, B, 4) -> (B, 3)
            return self.fc(self.rnn(x)[0][-1])

    torch.manual_seed(0)
    X, y = torch.randn(6, 100, 4), torch.arange(100) % 3
    model = TimeFirst()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    with watch(model, opt) as sitter:
        for _ in range(2):
            for i in range(0, 100, 32):        # the last batch holds 4 sequences
                opt.zero_grad()
                loss = F.cross_entropy(model(X[:, i:i + 32]), y[i:i + 32])
                loss.backward()
                opt.step()
                sitter.log(loss)
            sitter.end_epoch()
        history = sitter.history
    assert not any("stopped" in note for note in history.monitors["torch"]["unmeasured"])
    assert history.epochs == 2 and len(history.monitors["layers"]["samples"]) >= 2


class DictIn(nn.Module):
    """A model called with its batch as one dict, model({"x": x})."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 3))

    def forward(self, batch):
        return self.net(batch["x"])


class ListIn(nn.Module):
    """A model called with its inputs as one list, model([x1, x2])."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 3))

    def forward(self, parts):
        return self.net(torch.cat(parts, 1))


@pytest.mark.parametrize("make, wrap", [(DictIn, lambda x: {"x": x}),
                                        (ListIn, lambda x: [x[:, :5], x[:, 5:]])])
def test_a_batch_given_as_one_dict_or_list_is_watched_without_changing_training(make, wrap):
    """Only top-level tensor arguments were read: nothing was watched, and the note asked
    whether the model given to watch was the one trained."""
    X, y = torch.randn(128, 12), torch.arange(128) % 3

    def run(watched):
        torch.manual_seed(0)
        model = make()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        sitter = watch(model, opt) if watched else None
        for _ in range(2):
            train_epoch(model, opt, sitter, X, y, wrap=wrap)
        return model, sitter

    (plain, _), (model, sitter) = run(False), run(True)
    assert all(torch.equal(a, b) for a, b in zip(plain.parameters(), model.parameters(),
                                                  strict=True))
    history = sitter.history
    sitter.close()
    assert history.monitors["torch"]["unmeasured"] == []
    assert {"layers", "update_ratio", "data"} <= set(history.monitors)


def test_parameters_a_second_optimizer_trains_are_not_left_out_of_the_optimizer():
    """SGD for the hidden layer, Adam for the head, the first watched: the head's parameters,
    held by no group of the watched optimizer, read as left out ("they keep their initial
    values"), and their update ratios as 0, while their norms moved every sample."""
    torch.manual_seed(0)
    X, y = torch.randn(256, 12), torch.arange(256) % 3
    model = nn.Sequential(nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 3))
    hidden = torch.optim.SGD(model[0].parameters(), lr=0.1)
    head = torch.optim.Adam(model[2].parameters(), lr=1e-2)
    with watch(model, hidden) as sitter:
        for _ in range(4):
            for i in range(0, 256, 32):
                hidden.zero_grad()
                head.zero_grad()
                loss = F.cross_entropy(model(X[i:i + 32]), y[i:i + 32])
                loss.backward()
                hidden.step()
                head.step()
                sitter.log(loss)
            sitter.end_epoch()
        history = sitter.history
    assert history.monitors["torch"]["not_in_optimizer"] == ["2.weight", "2.bias"]
    assert "params_not_in_optimizer" not in {f.cause for f in history.diagnose()}
    assert set(history.monitors["update_ratio"]["params"]["2.weight"]) == {None}


@pytest.mark.parametrize("probe", [False, True])
def test_a_lazy_model_is_refused_until_its_first_forward_then_watched(probe):
    """watch() read `numel()` of a LazyLinear's parameters (PyTorch's "Attempted to use an
    uninitialized parameter"); with probe= its check pass built them under a restored random
    state, and the run started from other weights than unwatched."""
    model = nn.Sequential(nn.LazyLinear(16), nn.ReLU(), nn.Linear(16, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    X = torch.randn(32, 12)
    options = {"probe": X} if probe else {}
    with pytest.raises(ValueError, match=r"lazy modules have not made their parameters yet "
                                         r"\(2 tensors, e.g. '0.weight'\): run one forward"):
        watch(model, opt, **options)
    assert not model._forward_pre_hooks and not opt._optimizer_step_pre_hooks
    model(X)
    with watch(model, opt, **options) as sitter:
        train_epoch(model, opt, sitter, X, torch.arange(32) % 3)
        assert sitter.history.meta["n_params"] == 12 * 16 + 16 + 16 * 3 + 3
