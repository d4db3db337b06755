"""Bad input as a new user gives it (issue 15): each is refused where it enters, in one
sentence that names the file or the argument, instead of running on silently or ending in a
misleading message."""

import json

import numpy as np
import pytest

import babysit as bs
from babysit import cli
from babysit.data import datasets, formats
from babysit.training import checkpoint, checkpoint_file


def write_text(path, text: str, encoding: str = "utf-8"):
    path.write_text(text, encoding=encoding)
    return path


def blobs_csv(n: int = 30, classes: int = 3) -> str:
    """A header and `n` rows of two features and a label cycling through `classes` classes."""
    rng = np.random.default_rng(0)
    rows = [f"{c},{a:.3f},{b:.3f}" for c, (a, b) in
            zip(np.arange(n) % classes, rng.standard_normal((n, 2)), strict=True)]
    return "t,a,b\n" + "\n".join(rows) + "\n"


def small_net(seed=0):
    return bs.mlp(4, [5], 3, seed=seed)


# -- data files ----------------------------------------------------------------------------


def test_a_target_of_one_class_is_refused_not_learned_at_100_percent(tmp_path):
    path = write_text(tmp_path / "one.csv", blobs_csv(classes=1))
    with pytest.raises(ValueError, match=r"one\.csv: the target 't' holds a single class \('0'\)"):
        datasets.load(path, target="t")
    np.savez(tmp_path / "one.npz", X=np.ones((20, 2)), y=np.zeros(20))
    with pytest.raises(ValueError, match=r"one\.npz: the target 'y' holds a single class"):
        datasets.load(tmp_path / "one.npz")


def test_a_csv_with_a_byte_order_mark_reads_like_one_without(tmp_path):
    plain = datasets.load(write_text(tmp_path / "plain.csv", blobs_csv()), target="t")
    excel = datasets.load(write_text(tmp_path / "excel.csv", blobs_csv(), "utf-8-sig"),
                          target="t")
    assert (tmp_path / "excel.csv").read_bytes()[:3] == b"\xef\xbb\xbf"
    assert np.array_equal(plain.train.X, excel.train.X)
    assert plain.class_names == excel.class_names


def test_a_header_naming_a_column_twice_says_which_names_repeat(tmp_path):
    text = blobs_csv().replace("t,a,b", "t,a,a", 1)
    with pytest.raises(ValueError, match=r"dup\.csv.*'a' names columns 2 and 3"):
        datasets.load(write_text(tmp_path / "dup.csv", text), target="t")


def test_a_csv_that_is_not_text_names_the_file(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes(blobs_csv().encode() + b"\xff\xfe,1,2\n")
    with pytest.raises(ValueError, match=r"latin\.csv is not UTF-8 text"):
        datasets.load(path, target="t")


def test_zeros_named_npz_are_not_an_archive_rather_than_object_arrays(tmp_path):
    path = tmp_path / "zeros.npz"
    path.write_bytes(bytes(100))
    with pytest.raises(ValueError, match=r"zeros\.npz is not an \.npz archive") as err:
        datasets.load(path)
    assert "object" not in str(err.value)


def test_a_npy_file_named_npz_is_not_an_archive(tmp_path):
    np.save(tmp_path / "X.npy", np.ones((3, 2)))
    (tmp_path / "X.npy").rename(tmp_path / "X.npz")
    with pytest.raises(ValueError, match=r"X\.npz is not an \.npz archive"):
        datasets.load(tmp_path / "X.npz")


def test_npz_claiming_more_values_than_it_holds_is_refused_before_allocating(tmp_path):
    """An .npy header inside the archive that claims a shape of 10^12 values: refused from
    the sizes, not after trying to allocate terabytes."""
    import zipfile

    header = {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**6)}
    npy = np.lib.format.magic(1, 0) + _npy_header(header) + bytes(80)
    with zipfile.ZipFile(tmp_path / "huge.npz", "w") as z:
        z.writestr("X.npy", npy)
        buf = __import__("io").BytesIO()
        np.save(buf, np.zeros(3))
        z.writestr("y.npy", buf.getvalue())
    with pytest.raises(ValueError, match=r"huge\.npz: X claims shape \(1000000, 1000000\)"):
        datasets.load(tmp_path / "huge.npz")


def _npy_header(d: dict) -> bytes:
    text = repr(d).encode()
    pad = 64 - (10 + len(text) + 1) % 64
    text += b" " * pad + b"\n"
    return len(text).to_bytes(2, "little") + text


def test_a_negative_seed_is_named_as_the_seed(tmp_path, capsys):
    path = write_text(tmp_path / "ok.csv", blobs_csv())
    with pytest.raises(ValueError, match=r"seed must be a non-negative integer or None, got -1"):
        datasets.load(path, target="t", seed=-1)
    assert cli.main(["train", "--data", "digits", "--seed", "-1", "--epochs", "1",
                     "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("babysit train: error: argument --seed: seed "
                                               "must be a non-negative integer or None, got -1")


# -- checkpoints ---------------------------------------------------------------------------


def test_save_refuses_non_finite_weights_and_keeps_the_good_file(tmp_path):
    net = small_net()
    good = bs.save(tmp_path / "model", net)
    before = good.read_bytes()
    net.layers[0].params["W"].value[1, 2] = np.nan
    with pytest.raises(ValueError,
                       match=r"model\.safetensors: tensor 'param\.0\.W' holds 1 NaN of 20 values"):
        bs.save(tmp_path / "model", net)
    assert good.read_bytes() == before


def test_load_refuses_non_finite_weights(tmp_path):
    """A file with inf weights (written by hand, checksum and all) does not load."""
    net = small_net()
    net.layers[0].params["b"].value[0] = np.inf
    arrays, info = checkpoint._net_state(net)
    info.update(kind="model", preprocess=None, meta={})
    checkpoint_file.write(tmp_path / "inf.safetensors", arrays, info, check_finite=False)
    with pytest.raises(ValueError, match=r"inf\.safetensors.*'param\.0\.b' holds 1 inf"):
        bs.load(tmp_path / "inf.safetensors")


def test_an_optimizers_overflowed_moment_is_saved_and_resumed_but_not_a_nan(tmp_path):
    """Adam's second moment of a gradient beyond 1.8e19 is inf in float32 while the weights
    and the loss stay finite: the training state keeps it (the run goes on, and resumes with
    it); a NaN in the optimizer's state is refused as in the weights."""
    X = np.random.default_rng(0).normal(size=(40, 4)).astype(np.float32)
    trainer = bs.Trainer(small_net(), bs.losses.SoftmaxCrossEntropy(), bs.optim.Adam(1e-3),
                         batch_size=8, epochs=1, callbacks=(), progress=False)
    trainer.fit(X, np.arange(40) % 3)
    trainer.opt.state["0.W"]["v"][1, 2] = np.inf
    path = checkpoint.save_training(tmp_path / "state", trainer)
    resumed = bs.Trainer(small_net(1), bs.losses.SoftmaxCrossEntropy(), bs.optim.Adam(1e-3),
                         batch_size=8, epochs=1, callbacks=(), progress=False).resume(path)
    assert np.isinf(resumed.opt.state["0.W"]["v"][1, 2])
    trainer.opt.state["0.W"]["v"][1, 2] = np.nan
    with pytest.raises(ValueError, match=r"'optimizer\.0\.W\.v' holds 1 NaN of 20 values; "
                                         r"an optimizer's state"):
        checkpoint.save_training(tmp_path / "state", trainer)


def rewrite_architecture(path, out, edit):
    """The checkpoint at `path` with its architecture edited by `edit` and the checksum
    recomputed: a crafted file that the checksum alone cannot catch."""
    arrays, info = checkpoint_file.read(path)
    edit(info["architecture"])
    checkpoint_file.write(out, arrays, {k: v for k, v in info.items()
                                    if k not in ("format", "version")})
    return out


def test_a_checkpoint_claiming_a_huge_layer_is_refused_before_building_it(tmp_path):
    path = bs.save(tmp_path / "model", small_net())

    def huge(arch):
        arch["layers"][0]["config"].update(n_in=10**7, n_out=10**7)

    crafted = rewrite_architecture(path, tmp_path / "crafted.safetensors", huge)
    with pytest.raises(ValueError, match=r"crafted\.safetensors: layer 0 \(Linear\) claims "
                                         r"100000000000000 values but the file holds 25 for it"):
        bs.load(crafted)


def test_save_under_a_file_names_it(tmp_path):
    (tmp_path / "afile").write_text("not a folder")
    with pytest.raises(ValueError, match=r"afile is a file, not a folder"):
        bs.save(tmp_path / "afile" / "model", small_net())
    (tmp_path / "adir.safetensors").mkdir()
    with pytest.raises(ValueError, match=r"adir\.safetensors is a folder"):
        bs.save(tmp_path / "adir", small_net())


def test_a_damaged_babysit_header_names_the_file(tmp_path):
    path = bs.save(tmp_path / "model", small_net())
    arrays, info = checkpoint_file.read(path)
    info["rngs"] = ["not", "a", "dict"]
    checkpoint_file.write(tmp_path / "odd.safetensors", arrays,
                      {k: v for k, v in info.items() if k not in ("format", "version")})
    with pytest.raises(ValueError, match=r"odd\.safetensors"):
        bs.load(tmp_path / "odd.safetensors")
    assert json.loads(json.dumps(info))  # what was written is JSON: only its meaning is wrong


# -- the Python API ------------------------------------------------------------------------


def test_trainer_with_zero_epochs_is_refused_when_built():
    with pytest.raises(ValueError, match="epochs must be a positive integer, got 0"):
        bs.Trainer(small_net(), bs.losses.SoftmaxCrossEntropy(), bs.optim.Adam(), epochs=0)


@pytest.mark.parametrize("method", ["predict", "predict_proba", "accuracy"])
def test_trainer_predictions_refuse_nan_inputs(method):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((20, 4)).astype(np.float32), np.arange(20) % 3
    trainer = bs.Trainer(small_net(), bs.losses.SoftmaxCrossEntropy(), bs.optim.Adam(),
                         epochs=1, progress=False)
    trainer.fit(X, y)
    X[3, 1] = np.nan
    args = (X, y) if method == "accuracy" else (X,)
    with pytest.raises(ValueError, match=r"X holds a non-finite value \(nan\) at row 3, column 1"):
        getattr(trainer, method)(*args)


# -- found by fuzzing (tests/test_fuzz_readers.py) -------------------------------------------


def test_a_damaged_gzip_stream_names_the_file(tmp_path):
    import gzip

    raw = bytearray(gzip.compress(bytes(range(256)) * 4, mtime=0))
    raw[12:16] = b"\xff\xff\xff\xff"                # inside the deflate stream: a zlib.error
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte\.gz looks gzipped"):
        formats.read_idx(path)


def test_features_beyond_float32_are_named_not_turned_into_inf(tmp_path):
    X = np.ones((30, 2))
    X[7, 1] = 1e300
    np.savez(tmp_path / "big.npz", X=X.astype(">f8"), y=np.arange(30) % 3)
    with pytest.raises(ValueError, match=r"big\.npz holds 1e\+300 at row 7, column 1, beyond "
                                         r"the range of float32"):
        datasets.load(tmp_path / "big.npz")
    X[7, 1] = 2.0                                   # big-endian float64 reads like native
    np.savez(tmp_path / "ok.npz", X=X.astype(">f8"), y=np.arange(30) % 3)
    assert datasets.load(tmp_path / "ok.npz").train.X.dtype == np.float32


def test_labels_too_large_for_a_float_to_tell_apart_are_refused(tmp_path):
    y = np.arange(30) % 3 + 1e20
    np.savez(tmp_path / "ids.npz", X=np.ones((30, 2)), y=y)
    with pytest.raises(ValueError, match=r"ids\.npz: labels must be class labels, got 1e\+20 "
                                         r"at row 0, too large"):
        datasets.load(tmp_path / "ids.npz")


def test_float16_labels_read_as_classes(tmp_path):
    np.savez(tmp_path / "half.npz", X=np.ones((30, 2), np.float32),
             y=(np.arange(30) % 3).astype(np.float16))
    assert datasets.load(tmp_path / "half.npz").class_names == ["0", "1", "2"]


def test_every_refusal_of_a_data_file_names_it(tmp_path):
    np.savez(tmp_path / "half.npz", X=np.ones((30, 2)), y=np.full(30, 0.5))
    with pytest.raises(ValueError, match=r"half\.npz: labels must be class labels, got 0\.5"):
        datasets.load(tmp_path / "half.npz")
    np.savez(tmp_path / "few.npz", X=np.ones((2, 2)), y=[0, 1])
    with pytest.raises(ValueError, match=r"few\.npz: cannot split 2 examples"):
        datasets.load(tmp_path / "few.npz")
    np.savez(tmp_path / "rare.npz", X=np.ones((10, 2)), y=["a"] * 4 + ["b"] * 4 + ["z", "q"])
    with pytest.raises(ValueError, match=r"rare\.npz: .* the smallest classes, 'q' and 'z', "
                                         r"have 1 example each"):
        datasets.load(tmp_path / "rare.npz")
    np.savez(tmp_path / "empty.npz", X=np.ones((0, 3, 3)), y=np.zeros(0))
    with pytest.raises(ValueError, match=r"empty\.npz"):
        datasets.load(tmp_path / "empty.npz")


def test_an_idx_header_whose_size_overflows_int64_is_refused(tmp_path):
    """Four dimensions of 2^16 make 2^64 values, which a 64-bit product wraps to 0: the
    file of a bare header would then pass the size check."""
    path = tmp_path / "wrap-idx4-ubyte"
    path.write_bytes(bytes([0, 0, 0x08, 4]) + (2**16).to_bytes(4, "big") * 4)
    with pytest.raises(ValueError, match=r"wrap-idx4-ubyte: IDX header gives shape \(65536, "):
        formats.read_idx(path)


def test_large_finite_features_pass_the_check_and_a_nan_among_them_is_named():
    """The check sums X first (a NaN or inf makes the sum non-finite); values whose sum
    overflows although each is finite must still pass."""
    X = np.full((4, 3), 3e38, np.float32)
    assert datasets.check_features(X).shape == (4, 3)
    X[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"non-finite value \(nan\) at row 2, column 1"):
        datasets.check_features(X)


def test_an_idx_header_of_no_values_but_an_impossible_shape_is_refused(tmp_path):
    """Found by fuzzing: a zero dimension makes the size check pass with no data, but the
    other dimensions make a shape NumPy cannot hold."""
    path = tmp_path / "odd-idx4-ubyte"
    path.write_bytes(bytes([0, 0, 0x08, 4]) + b"\x00\x00\x00\x00\x00\x00\x08\x0f"
                     b"\x03\xfc1\xb2\x03\xfcX\xca")
    with pytest.raises(ValueError, match=r"odd-idx4-ubyte: IDX header gives shape \(0, 2063, "):
        formats.read_idx(path)


def test_a_crafted_dtype_in_a_checkpoint_names_the_file(tmp_path):
    """Found by fuzzing: the network's dtype in the header is checked by the backend, whose
    refusal must still say which file it is about."""
    path = bs.save(tmp_path / "model", small_net())
    arrays, info = checkpoint_file.read(path)
    info["dtype"] = "void"
    checkpoint_file.write(tmp_path / "void.safetensors", arrays,
                          {k: v for k, v in info.items() if k not in ("format", "version")})
    with pytest.raises(ValueError, match=r"void\.safetensors: dtype must be one of"):
        bs.load(tmp_path / "void.safetensors")


def test_a_csv_feature_beyond_float32_is_named_not_turned_into_inf(tmp_path):
    """Found by fuzzing the tabular reader: 1e57 is a float64 but no float32."""
    lines = blobs_csv().splitlines()
    lines[2] = "1,1e57,0.5"                          # data row 1, line 3
    path = write_text(tmp_path / "big.csv", "\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"big\.csv: column 'a' holds 1e\+57 in data row 1 "
                                         r"\(line 3\), beyond the range of float32"):
        datasets.load(path, target="t")


def test_a_crafted_generator_state_names_the_file(tmp_path):
    """Found by fuzzing: a negative PCG64 state overflows inside NumPy."""
    net = bs.mlp(4, [5], 3, dropout=0.2, seed=0)
    path = bs.save(tmp_path / "model", net)
    arrays, info = checkpoint_file.read(path)
    layer = next(iter(info["rngs"]))
    info["rngs"][layer]["state"]["state"] = -1
    checkpoint_file.write(tmp_path / "rng.safetensors", arrays,
                          {k: v for k, v in info.items() if k not in ("format", "version")})
    with pytest.raises(ValueError, match=r"rng\.safetensors: the generator state of layer"):
        bs.load(tmp_path / "rng.safetensors")


def test_complex_labels_are_refused_naming_the_file(tmp_path):
    """Found by fuzzing: complex labels were cast to real, the imaginary part dropped."""
    np.savez(tmp_path / "cplx.npz", X=np.ones((30, 2)), y=(np.arange(30) % 3) + 1j)
    with pytest.raises(ValueError, match=r"cplx\.npz: labels must be class labels \(numbers or "
                                         r"text\), got dtype complex128"):
        datasets.load(tmp_path / "cplx.npz")


def test_an_npz_whose_member_claims_encryption_is_refused_naming_the_file(tmp_path):
    # Found by the long fuzz run: zipfile raised RuntimeError("... is encrypted, password
    # required") from a mutated archive whose central directory set the encryption flag.
    path = tmp_path / "locked.npz"
    np.savez(path, X=np.ones((20, 2)), y=np.arange(20) % 2)
    raw = bytearray(path.read_bytes())
    at = raw.find(b"PK\x01\x02")
    while at != -1:
        raw[at + 8] |= 0x1                      # general-purpose flag bits of each entry
        at = raw.find(b"PK\x01\x02", at + 4)
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match=r"locked\.npz: its member X\.npy is encrypted"):
        datasets.load(path)


# -- the Python API's arguments and data (a second review) -----------------------------------


@pytest.mark.parametrize("build, message", [
    (lambda: bs.optim.Adam(eps=0), "Adam: eps must be a finite number > 0, got 0"),
    (lambda: bs.optim.Adagrad(eps=float("nan")), "Adagrad: eps must be a finite number > 0"),
    (lambda: bs.optim.RMSprop(eps=-1.0), "RMSprop: eps must be"),
    (lambda: bs.optim.SGD(float("inf")), r"SGD: lr \(or a schedule\) must be a finite number > 0"),
    (lambda: bs.optim.SGD(True), r"got True \(a bool\)"),
    (lambda: bs.optim.Momentum(0.1, mu="0.9"), "Momentum: mu must be a finite number >= 0 and < 1"),
    (lambda: bs.regularizers.L2(float("nan")), "L2: the regularization strength must be"),
    (lambda: bs.regularizers.ElasticNet(float("nan"), 0.1), "ElasticNet"),
    (lambda: bs.losses.MulticlassSVM(float("nan")), "MulticlassSVM: margin must be"),
    (lambda: bs.layers.GaussianNoise(float("nan")), "GaussianNoise: std must be"),
    (lambda: bs.layers.BatchNorm(4, eps=-1), "BatchNorm: eps must be"),
    (lambda: bs.mlp(4, [5], 3, bias=float("nan")), "Linear: bias must be a finite number"),
    (lambda: bs.mlp(4, [5], 3, dropout="0.5"), "Dropout: drop"),
    (lambda: bs.mlp(4, [5], 3, dtype=np.int32), "dtype must be one of"),
    (lambda: bs.mlp(4, [5], 3, seed=-3), "mlp: seed must be a non-negative integer"),
    (lambda: bs.training.callbacks.EarlyStopping(min_delta=float("nan")),
     "EarlyStopping: min_delta must be"),
])
def test_a_number_that_would_corrupt_training_is_refused_where_it_is_given(build, message):
    # each of these was accepted, and turned the weights into NaN or ended in a misleading
    # "diverged: lower the learning rate" (a NaN fails every comparison, so `x < 0` let it in)
    with pytest.raises(ValueError, match=message):
        build()


def _checks_data():
    X = np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32)
    return small_net(), bs.losses.SoftmaxCrossEntropy(), X, np.arange(6) % 3


@pytest.mark.parametrize("build, message", [
    (lambda: bs.monitors.UpdateRatios(every=0), "UpdateRatios: every must be a positive integer"),
    (lambda: bs.monitors.UpdateRatios(samples=0), "UpdateRatios: samples must be a positive"),
    (lambda: bs.monitors.LayerStats(every=-1), "LayerStats: every must be a positive integer"),
    (lambda: bs.monitors.LayerStats(probe_size=0), "LayerStats: probe_size must be a positive"),
    (lambda: bs.monitors.LayerStats(samples=2.5), "LayerStats: samples must be a positive"),
    (lambda: bs.monitors.LayerStats(seed=-1), "LayerStats: seed must be a non-negative integer"),
    (lambda: bs.monitors.FirstLayerWeights(max_units=-1), "FirstLayerWeights: max_units must"),
    (lambda: bs.monitors.FirstLayerWeights(samples=None), "FirstLayerWeights: samples must"),
    (lambda: bs.check.numerical_gradient(lambda x: float(x.sum()), np.ones(2), h=float("nan")),
     "h must be a finite number > 0, got nan"),
    (lambda: bs.check.step_sizes(*_checks_data(), steps=1e-3), "steps must be a sequence"),
    (lambda: bs.check.sanity(*_checks_data(), chance_tol="x"), "chance_tol must be a finite"),
    (lambda: bs.check.sanity(*_checks_data(), seed=-1), "seed must be a non-negative integer"),
    (lambda: bs.check.lr_range(*_checks_data(), smoothing="x"), "smoothing must be a finite"),
    (lambda: bs.check.lr_range(*_checks_data(), seed=1.5), "seed must be a non-negative integer"),
    (lambda: bs.check.gradients(*_checks_data(), seed=-2), "seed must be a non-negative integer"),
])
def test_a_monitors_or_a_checks_argument_is_refused_where_it_is_given(build, message):
    # these stopped a fit later with a ZeroDivisionError or NumPy's own error, were silently
    # read as another value (every=0 as None), or returned NaN (a NaN step h)
    with pytest.raises(ValueError, match=message):
        build()


def test_checks_take_numpy_integers_and_trainers_take_no_constraints_as_none():
    net, loss, X, y = _checks_data()
    assert bs.check.gradients(net, loss, X, y, burn_in=np.int64(2)).burn_in == 2
    trainer = bs.Trainer(net, loss, bs.optim.SGD(0.1), constraints=None, epochs=1,
                         callbacks=(), progress=False)
    assert trainer.constraints == []


@pytest.mark.parametrize("kwargs, message", [
    ({"seed": -1}, "seed must be a non-negative integer or None"),
    ({"callbacks": 3}, "callbacks must be a list of callbacks"),
    ({"reg": bs.regularizers.L2}, "reg must be a babysit penalty"),          # the class itself
    ({"constraints": [bs.regularizers.MaxNorm]}, "constraints must be constraints"),
])
def test_the_trainer_refuses_arguments_that_would_fail_later(kwargs, message):
    with pytest.raises(ValueError, match=message):
        bs.Trainer(small_net(), bs.losses.SoftmaxCrossEntropy(), bs.optim.SGD(0.1), **kwargs)


def test_a_layer_with_parameters_used_twice_is_refused():
    # it would be listed as 0.W and 2.W, and each step would move its weights twice
    shared = bs.layers.Linear(4, 4)
    with pytest.raises(ValueError, match="parameter 2.W is 0.W again"):
        bs.Sequential(shared, bs.layers.Tanh(), shared)
    relu = bs.layers.ReLU()   # a layer without parameters may stand in two places
    assert len(bs.Sequential(bs.layers.Linear(4, 4), relu, bs.layers.Linear(4, 2), relu)) == 4


def fitted_classifier():
    X = np.random.default_rng(0).standard_normal((20, 4)).astype(np.float32)
    y = np.arange(20) % 3
    trainer = bs.Trainer(small_net(), bs.losses.SoftmaxCrossEntropy(), bs.optim.SGD(0.1),
                         epochs=2, callbacks=(), progress=False)
    trainer.fit(X, y)
    return trainer, X, y


@pytest.mark.parametrize("labels, message", [
    (lambda y: y[:, None], "1-d array of class indices"),   # was broadcast: a wrong number
    (lambda y: y + 10, "out of range for 3 classes"),       # was 0.0
    (lambda y: y.astype(str), "integer class indices"),     # was 0.0
    (lambda y: y[:5], "X has 20 rows but y has 5 labels"),
])
def test_accuracy_refuses_labels_it_cannot_score(labels, message):
    trainer, X, y = fitted_classifier()
    expected = float((trainer.predict(X) == y).mean())
    assert trainer.accuracy(X, list(y)) == expected
    with pytest.raises(ValueError, match=message):
        trainer.accuracy(X, labels(y))


def test_a_regression_trainer_refuses_the_classifiers_methods_and_bad_targets():
    X = np.random.default_rng(0).standard_normal((30, 4)).astype(np.float32)
    targets = X.sum(axis=1, keepdims=True)
    trainer = bs.Trainer(bs.mlp(4, [5], 1), bs.losses.MeanSquaredError(), bs.optim.SGD(0.01),
                         epochs=1, callbacks=(), progress=False)
    trainer.fit(X, targets)
    for method in ("predict", "predict_proba"):   # argmax of one column: a silent 0
        with pytest.raises(ValueError, match=f"Trainer.{method}: .* is a regression loss"):
            getattr(trainer, method)(X)
    with pytest.raises(ValueError, match="Trainer.accuracy"):
        trainer.accuracy(X, np.zeros(30, int))
    bad = targets.copy()
    bad[3] = np.nan         # was a "diverged: lower the learning rate" at the first step
    fresh = bs.Trainer(bs.mlp(4, [5], 1), bs.losses.MeanSquaredError(), bs.optim.SGD(0.01),
                       callbacks=(), progress=False)
    with pytest.raises(ValueError, match=r"the targets of X holds a non-finite value .* row 3"):
        fresh.fit(X, bad)
    with pytest.raises(ValueError, match=r"the targets of val X holds a non-finite value"):
        fresh.fit(X, targets, val=(X, bad))


def test_an_ensemble_refuses_a_nan_row_and_labels_out_of_range():
    X = np.random.default_rng(0).standard_normal((10, 4)).astype(np.float32)
    ensemble = bs.ensemble.Ensemble([small_net()])
    X[2, 1] = np.nan        # was predicted as a confident class 0
    with pytest.raises(ValueError, match="non-finite value"):
        ensemble.predict(X)
    X[2, 1] = 0.0
    with pytest.raises(ValueError, match="out of range for 3 classes"):
        ensemble.accuracy(X, np.arange(10) % 3 + 5)


def test_preprocessing_a_memory_mapped_integer_array_computes_in_floats(tmp_path):
    np.save(tmp_path / "u8.npy", np.array([[10, 250], [20, 240]], np.uint8))
    mapped = np.load(tmp_path / "u8.npy", mmap_mode="r")
    # the uint8 means cast to uint8 wrapped around: 10 - 15 = 251
    np.testing.assert_allclose(bs.data.preprocess.MeanCenter().fit(mapped).transform(mapped),
                               [[-5, 5], [5, -5]])
    np.testing.assert_allclose(bs.data.preprocess.Standardize().fit_transform(mapped),
                               [[-1, 1], [1, -1]], rtol=1e-6)


def test_sanity_leaves_the_callers_optimizer_as_it_was():
    X = np.random.default_rng(0).standard_normal((40, 4)).astype(np.float32)
    opt = bs.optim.Momentum(0.1)
    bs.check.sanity(small_net(), bs.losses.SoftmaxCrossEntropy(), X, np.arange(40) % 3,
                    overfit_opt=opt)
    assert opt.t == 0 and opt.state == {}


def test_a_full_disk_while_writing_a_checkpoint_names_the_file_and_leaves_nothing(tmp_path,
                                                                                  monkeypatch):
    import safetensors.numpy

    def full_disk(*args, **kwargs):   # what safetensors raises: no OSError, no file name
        raise safetensors.SafetensorError(
            "Error while serializing: I/O error: No space left on device (os error 28)")

    monkeypatch.setattr(safetensors.numpy, "save_file", full_disk)
    path = tmp_path / "model.safetensors"
    with pytest.raises(OSError, match="No space left on device") as info:
        checkpoint_file.write(path, {"w": np.zeros(3, np.float32)}, {})
    assert info.value.filename == str(path) and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("build, message", [
    (lambda: bs.data.preprocess.MinMax(float("-inf"), 1.0), "MinMax: low must be a finite"),
    (lambda: bs.data.preprocess.Whiten(eps=float("inf")), "Whiten: eps must be a finite"),
    (lambda: bs.data.preprocess.MeanCenter(per="channel", image_shape="abc"),
     r"image_shape, which must be an image's shape \(H, W, C\)"),
    (lambda: bs.monitors.default(image_shape="ab"), r"image_shape must be an image's shape"),
])
def test_preprocessing_and_monitor_settings_are_checked_where_given(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_numpy_scalars_are_numbers_to_the_checks():
    X = np.random.default_rng(0).standard_normal((40, 4)).astype(np.float32)
    y = np.arange(40) % 3
    loss = bs.losses.SoftmaxCrossEntropy()
    assert bs.check.gradients(small_net(), loss, X[:4], y[:4], h=np.float32(1e-3)).ok
    assert bs.check.lr_range(small_net(), loss, X, y, iterations=np.int64(20)).suggestion > 0


def test_an_optimizer_state_of_another_network_is_refused_by_shape():
    X = np.random.default_rng(0).standard_normal((40, 4)).astype(np.float32)
    opt = bs.optim.Adam()
    bs.Trainer(small_net(), bs.losses.SoftmaxCrossEntropy(), opt, epochs=1, callbacks=(),
               progress=False).fit(X, np.arange(40) % 3)
    with pytest.raises(ValueError, match=r"'m' of '0.W' has shape \(4, 5\), the parameter "
                                         r"\(4, 6\)"):
        bs.optim.Adam().load_state_dict(opt.state_dict(), bs.mlp(4, [6], 3).named_params())


def test_sanity_does_not_fail_a_penalty_of_ones_own_for_its_unknown_strength():
    class Squares(bs.regularizers.Regularizer):      # no config(): its strength is unknown
        def penalty(self, params):
            return 1e-3 * sum(float((p.value ** 2).sum()) for p in self.covered(params))

        def add_grad(self, params):
            for p in self.covered(params):
                p.grad += 2e-3 * p.value

    X = np.random.default_rng(0).standard_normal((40, 4)).astype(np.float32)
    report = bs.check.sanity(small_net(), bs.losses.SoftmaxCrossEntropy(), X, np.arange(40) % 3,
                             reg=Squares())
    check = next(c for c in report.checks if c.name == "regularization raises the loss")
    assert check.passed and "10x of it is not tried" in check.message


def test_saving_and_reporting_refuse_what_they_cannot_write(tmp_path):
    with pytest.raises(ValueError, match="holds what JSON cannot write"):
        bs.save(tmp_path / "m.safetensors", small_net(), meta={"tags": {1, 2}})
    with pytest.raises(ValueError, match=r"net must be a babysit Layer.*save\(path, net\)"):
        bs.save(small_net(), tmp_path / "m.safetensors")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="history must be a babysit History"):
        bs.report.write(None, tmp_path)
    (tmp_path / "taken").write_text("x")
    with pytest.raises(ValueError, match="is a file, not a folder"):
        bs.report.write(bs.History(loss=[1.0, 0.5]), tmp_path / "taken")


def test_a_missing_test_data_file_is_named_with_its_option(tmp_path):
    path = write_text(tmp_path / "t.csv", blobs_csv())
    with pytest.raises(ValueError, match=r"no such file: .*nofile.csv \(expected --test-data"):
        datasets.load(path, target="t", test_data=tmp_path / "nofile.csv")


def test_report_on_an_ensembles_folder_names_its_members(tmp_path, capsys):
    for member in ("member-1", "member-2"):
        (tmp_path / "e1" / member).mkdir(parents=True)
        bs.History(loss=[1.0, 0.5]).save(tmp_path / "e1" / member / "history.json")
    assert cli.main(["report", str(tmp_path / "e1")]) == 2
    err = capsys.readouterr().err
    assert "is an ensemble's folder" in err and "member-1" in err and "member-2" in err


def test_regression_targets_of_the_wrong_shape_are_named_with_the_whole_arrays_shapes():
    """The shapes checked are the first row's; the message gives the user's arrays'."""
    X = np.random.default_rng(0).normal(size=(40, 4)).astype(np.float32)
    trainer = bs.Trainer(small_net(), bs.losses.MeanSquaredError(), bs.optim.SGD(0.1),
                         epochs=1, callbacks=(), progress=False)
    with pytest.raises(ValueError, match=r"the targets of X have shape \(40,\) and the network "
                                         r"gives 3 output\(s\) a row, for \(40, 4\) inputs"):
        trainer.fit(X, np.zeros(40))
