"""Checkpoints: bit-exact round trips, clear errors for damaged files, atomic writes."""

import os
import pickle
from pathlib import Path

import numpy as np
import pytest

import babysit as bs
from babysit.data import preprocess
from babysit.nn.layers import Layer
from babysit.training import checkpoint, checkpoint_file


def trained_net(dtype="float32"):
    """A small net with every kind of state: weights, BatchNorm statistics, dropout and noise
    generators, moved away from their initial values by a few steps."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 8)).astype(dtype)
    y = rng.integers(0, 3, 64)
    net = bs.mlp(8, [16, 12], 3, batchnorm=True, dropout=0.3, input_noise=0.1, seed=1,
                 dtype=dtype)
    trainer = bs.Trainer(net, bs.losses.SoftmaxCrossEntropy(), bs.optim.Adam(1e-2),
                         batch_size=16, epochs=2, progress=False)
    trainer.fit(X, y)
    return net, X


def assert_same_net(a, b):
    assert repr(a) == repr(b)
    assert list(a.params) == list(b.params)
    for name, p in a.params.items():
        q = b.params[name]
        assert q.value.dtype == p.value.dtype and np.array_equal(q.value, p.value), name
    for la, lb in zip(a.modules(), b.modules(), strict=True):
        assert la.buffers.keys() == lb.buffers.keys()
        for name, buf in la.buffers.items():
            assert np.array_equal(buf, lb.buffers[name]), name


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_round_trip_is_bit_exact(tmp_path, dtype):
    net, X = trained_net(dtype)
    written = bs.save(tmp_path / "model", net, meta={"epoch": 2, "note": "digits"})
    assert written == tmp_path / "model.safetensors"
    loaded, pre = bs.load(tmp_path / "model")
    assert pre is None
    assert_same_net(net, loaded)
    assert np.array_equal(net(X), loaded(X))
    # The dropout and noise generators continue from the same state: training goes on alike.
    assert np.array_equal(net(X, train=True), loaded(X, train=True))
    assert checkpoint.read_meta(written) == {"epoch": 2, "note": "digits"}


def test_preprocessing_travels_with_the_network(tmp_path):
    net, X = trained_net()
    pre = preprocess.Standardize().fit(X * 3 + 1)
    bs.save(tmp_path / "model.safetensors", net, preprocess=pre)
    loaded, pre2 = bs.load(tmp_path / "model.safetensors")
    assert type(pre2) is type(pre)
    assert np.array_equal(pre2.transform(X), pre.transform(X))
    assert_same_net(net, loaded)


def test_saving_again_replaces_the_file_and_leaves_no_temporary(tmp_path):
    net, _ = trained_net()
    bs.save(tmp_path / "m", net, meta={"v": 1})
    bs.save(tmp_path / "m", net, meta={"v": 2})
    assert checkpoint.read_meta(tmp_path / "m") == {"v": 2}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors"]


@pytest.mark.parametrize("crash_in", ["fsync", "replace"])
def test_a_crash_mid_write_leaves_the_old_checkpoint_intact(tmp_path, monkeypatch, crash_in):
    old, _ = trained_net()
    bs.save(tmp_path / "m", old)
    new = bs.mlp(8, [16, 12], 3, batchnorm=True, dropout=0.3, input_noise=0.1, seed=7)

    def crash(*args):
        raise OSError("disk unplugged")

    monkeypatch.setattr(os, crash_in, crash)
    with pytest.raises(OSError, match="unplugged"):
        bs.save(tmp_path / "m", new)
    monkeypatch.undo()
    loaded, _ = bs.load(tmp_path / "m")
    assert_same_net(old, loaded)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors"]


def test_a_run_fsyncs_what_replaces_a_file_and_not_each_new_epoch_file(tmp_path, monkeypatch):
    """best and state replace the last good ones, so a crash must never leave them torn: they
    reach the disk before the rename. An epoch's checkpoint is a new file each epoch (a torn
    one is refused by name on reading), so a run of many short epochs skips that fsync."""
    synced = []
    fsync = os.fsync

    def record(fd):
        synced.append(Path(os.readlink(f"/proc/self/fd/{fd}")).name)
        fsync(fd)

    monkeypatch.setattr(os, "fsync", record)
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((48, 4)).astype("float32"), rng.integers(0, 2, 48)
    trainer = bs.Trainer(bs.mlp(4, [8], 2, seed=0), bs.losses.SoftmaxCrossEntropy(),
                         bs.optim.Adam(1e-2), batch_size=16, epochs=3, progress=False,
                         callbacks=[checkpoint.Checkpoints(tmp_path)])
    monkeypatch.setattr(checkpoint, "STATE_EVERY_SECONDS", 1e9)    # epochs faster than that
    trainer.fit(X, y, val=(X, y))
    assert len(list((tmp_path / checkpoint.EPOCHS_DIR).iterdir())) == 3
    assert not [name for name in synced if name.startswith(".epoch-")]
    # the state: after the first epoch, then not before STATE_EVERY_SECONDS, and after the last
    assert sum(name.startswith(".state.") for name in synced) == 2
    assert any(name.startswith(".best.") for name in synced)


def test_weights_an_epochs_last_step_overflowed_end_the_run_as_diverged(tmp_path):
    """A rate so high that the first update makes the weights inf (its loss, taken before it,
    finite), one step an epoch: no checkpoint of that network is written, the history keeps
    the epoch, and the run ends in the DivergedError it ends in without Checkpoints (not in
    a ValueError from the refused save, which left no history and no diagnosis)."""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((48, 4)).astype("float32"), rng.integers(0, 2, 48)
    trainer = bs.Trainer(bs.mlp(4, [], 2, seed=0), bs.losses.SoftmaxCrossEntropy(),
                         bs.optim.SGD(1e39), batch_size=48, epochs=3, progress=False,
                         callbacks=[checkpoint.Checkpoints(tmp_path)])
    with pytest.raises(bs.DivergedError, match="iteration 2"):
        trainer.fit(X, y, val=(X, y))
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["history.json"]
    kept = bs.History.load(tmp_path / "history.json")
    assert kept.epochs == 1 and "weight 0.W is not finite" in kept.meta["checkpoint_refused"]


def test_a_long_run_keeps_its_best_and_its_last_epoch_only(tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((48, 4)).astype("float32"), rng.integers(0, 2, 48)
    trainer = bs.Trainer(bs.mlp(4, [8], 2, seed=0), bs.losses.SoftmaxCrossEntropy(),
                         bs.optim.Adam(1e-2), batch_size=16, epochs=5, progress=False,
                         callbacks=[checkpoint.Checkpoints(tmp_path, keep_last=1)])
    trainer.fit(X, y, val=(X, y))
    names = [p.name for p in (tmp_path / checkpoint.EPOCHS_DIR).iterdir()]
    assert names == ["epoch-005.safetensors"] and (tmp_path / "best.safetensors").is_file()
    with pytest.raises(ValueError, match="keep_last"):
        checkpoint.Checkpoints(tmp_path, keep_last=0)


def test_a_new_run_removes_the_temporary_files_a_killed_writer_left(tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((32, 4)).astype("float32"), rng.integers(0, 2, 32)
    (tmp_path / checkpoint.EPOCHS_DIR).mkdir()
    left = [tmp_path / ".best.safetensors.4242.tmp",
            tmp_path / checkpoint.EPOCHS_DIR / ".epoch-002.safetensors.4242.tmp"]
    for path in left:
        path.write_bytes(b"half a file")
    trainer = bs.Trainer(bs.mlp(4, [8], 2, seed=0), bs.losses.SoftmaxCrossEntropy(),
                         bs.optim.Adam(1e-2), batch_size=16, epochs=1, progress=False,
                         callbacks=[checkpoint.Checkpoints(tmp_path)])
    trainer.fit(X, y, val=(X, y))
    assert not [p for p in tmp_path.rglob("*.tmp")]
    assert (tmp_path / "best.safetensors").is_file()


@pytest.mark.parametrize("keep", [0, 5, 100, -1])
def test_a_truncated_file_is_a_clear_error(tmp_path, keep):
    net, _ = trained_net()
    path = bs.save(tmp_path / "m", net)
    blob = path.read_bytes()
    path.write_bytes(blob[:keep] if keep >= 0 else blob[:keep - 1])
    with pytest.raises(ValueError, match=r"m\.safetensors is (truncated|damaged)"):
        bs.load(path)


def test_an_edited_weight_is_a_clear_error(tmp_path):
    net, _ = trained_net()
    path = bs.save(tmp_path / "m", net)
    blob = bytearray(path.read_bytes())
    blob[-3] ^= 0x10  # one bit of the last tensor's data
    path.write_bytes(bytes(blob))
    with pytest.raises(ValueError, match="damaged or was edited"):
        bs.load(path)


def test_an_edited_architecture_is_a_clear_error(tmp_path):
    net, _ = trained_net()
    path = bs.save(tmp_path / "m", net)
    blob = path.read_bytes()
    assert b'\\"n_out\\": 12' in blob  # the JSON sits, escaped, in the header's metadata
    path.write_bytes(blob.replace(b'\\"n_out\\": 12', b'\\"n_out\\": 13'))
    with pytest.raises(ValueError, match="damaged or was edited"):
        bs.load(path)


def test_a_shape_that_does_not_match_its_config_is_a_clear_error(tmp_path):
    net, _ = trained_net()
    arrays, info = checkpoint._net_state(net)
    info["architecture"]["layers"][5]["config"]["n_out"] = 13  # the second hidden Linear
    info["kind"], info["preprocess"], info["meta"] = "model", None, {}
    # Written with a valid checksum: the check is the architecture's, not the checksum's.
    checkpoint_file.write(tmp_path / "m.safetensors", arrays, info)
    with pytest.raises(ValueError, match=r"param\.5\.W.*\(16, 12\).*Linear.*expects.*\(16, 13\)"):
        bs.load(tmp_path / "m")


def test_an_unknown_layer_type_is_a_clear_error(tmp_path):
    net, _ = trained_net()
    arrays, info = checkpoint._net_state(net)
    info["architecture"]["layers"][2]["type"] = "Maxout"
    info["kind"], info["preprocess"], info["meta"] = "model", None, {}
    checkpoint_file.write(tmp_path / "m.safetensors", arrays, info)
    with pytest.raises(ValueError, match=r"layer\.2: unknown layer type 'Maxout'; babysit knows"):
        bs.load(tmp_path / "m")


def test_a_layer_outside_babysit_cannot_be_saved(tmp_path):
    class Custom(Layer):
        pass

    with pytest.raises(ValueError, match="cannot save layer Custom"):
        bs.save(tmp_path / "m", bs.Sequential(bs.layers.Linear(2, 2), Custom()))
    assert not list(tmp_path.iterdir())


def test_a_safetensors_file_from_elsewhere_is_refused(tmp_path):
    import safetensors.numpy

    path = tmp_path / "other.safetensors"
    safetensors.numpy.save_file({"weight": np.ones((2, 2), np.float32)}, str(path))
    with pytest.raises(ValueError, match="not a babysit checkpoint"):
        bs.load(path)


def test_loading_never_unpickles(tmp_path):
    marker = tmp_path / "pickle-ran"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    path = tmp_path / "m.safetensors"
    path.write_bytes(pickle.dumps(Payload()))
    with pytest.raises(ValueError):
        bs.load(path)
    assert not marker.exists()


def test_a_missing_file_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint at .*nothing.safetensors"):
        bs.load(tmp_path / "nothing")


def test_a_run_folder_is_refused_pointing_at_the_models_in_it(tmp_path):
    net, X = trained_net()
    checkpoint.save(tmp_path / "run" / "best", net)
    checkpoint.save(tmp_path / "run" / "checkpoints" / "epoch-002", net)
    checkpoint.save(tmp_path / "run" / "checkpoints" / "epoch-001", net)
    with pytest.raises(ValueError, match=r"run is a folder, not a checkpoint file; load one of "
                                         r"its checkpoints: .*run/best\.safetensors \(the best "
                                         r"epoch\) or .*epoch-002\.safetensors \(the last\)"):
        bs.load(tmp_path / "run")
    with pytest.raises(ValueError, match="holds no best.safetensors nor checkpoints/epoch-NNN"):
        checkpoint.read_meta(tmp_path)                       # a folder holding no model


def test_a_deliberately_zero_initialized_net_round_trips(tmp_path):
    net = bs.Sequential(bs.layers.Linear(3, 2, init="zeros", allow_zeros=True))
    bs.save(tmp_path / "zeros", net)
    loaded, _ = bs.load(tmp_path / "zeros")
    assert (loaded.params["0.W"].value == 0).all()


def test_a_saved_model_is_readable_as_the_umask_allows(tmp_path):
    """safetensors creates its files readable by their owner alone: a model that a group or a
    serving account can see could not be read by it (0600 whatever the umask)."""
    import stat

    mask = os.umask(0o022)
    os.umask(mask)
    path = checkpoint.save(tmp_path / "m", bs.mlp(3, [4], 2, seed=0))
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask
    path.chmod(0o640)                       # a file replaced keeps its own permissions
    checkpoint.save(tmp_path / "m", bs.mlp(3, [4], 2, seed=1))
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert checkpoint_file._new_file_mode() == 0o666 & ~mask
