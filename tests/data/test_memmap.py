"""Data larger than memory: a .npy of features memory-mapped, its labels in <stem>.labels.npy
beside it, split in file order, trained in shuffled chunks; and a run under a memory limit
several times smaller than the file."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import babysit as bs
from babysit.data import arrays, datasets, is_memory_mapped
from babysit.training import trainer as train


def blobs(n: int, d: int, seed: int = 0):
    """n points in d dimensions around 3 centres (classes 0, 1, 2; the same centres for
    every seed), rows in random order."""
    centres = np.random.default_rng(d).normal(0, 1.5, size=(3, d))
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, size=n)
    X = centres[y] + rng.normal(0, 1, size=(n, d))
    return X.astype(np.float32), y


def save_pair(folder, X, y, name="big"):
    np.save(folder / f"{name}.npy", X)
    np.save(folder / f"{name}.labels.npy", y)
    return folder / f"{name}.npy"


def test_npy_is_memory_mapped_and_split_in_file_order(tmp_path):
    X, y = blobs(1000, 5)
    data = bs.data.load(save_pair(tmp_path, X, y))
    assert [len(s.y) for s in (data.train, data.val, data.test)] == [600, 200, 200]
    for split in (data.train, data.val, data.test):
        assert is_memory_mapped(split.X)
    np.testing.assert_array_equal(data.val.X, X[600:800])       # contiguous blocks, in order
    np.testing.assert_array_equal(data.test.y, y[800:])
    assert data.class_names == ["0", "1", "2"]
    assert not is_memory_mapped(X)


def test_npy_images_are_viewed_flat_and_keep_their_dtype(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, size=(90, 4, 4)).astype(np.uint8)
    data = bs.data.load(save_pair(tmp_path, images, np.arange(90) % 3))
    assert data.image_shape == (4, 4)
    assert data.train.X.shape == (54, 16) and data.train.X.dtype == np.uint8
    assert is_memory_mapped(data.train.X)


def test_npy_without_labels_beside_it_names_the_file_to_write(tmp_path):
    np.save(tmp_path / "big.npy", np.zeros((10, 2), np.float32))
    with pytest.raises(ValueError, match=r"big\.labels\.npy"):
        bs.data.load(tmp_path / "big.npy")


def test_npy_with_rows_sorted_by_label_is_refused(tmp_path):
    X, y = blobs(300, 2)
    order = np.argsort(y, kind="stable")
    with pytest.raises(ValueError, match="store its rows shuffled"):
        bs.data.load(save_pair(tmp_path, X[order], y[order]))
    names = np.array(["ant", "bee", "cat"])[y[order]]        # the class as the file writes it
    with pytest.raises(ValueError, match="train block .* holds no example of class 'cat'"):
        bs.data.load(save_pair(tmp_path, X[order], names))


def test_npy_with_a_nan_names_its_row_and_column(tmp_path):
    X, y = blobs(300, 4)
    X[123, 2] = np.nan
    with pytest.raises(ValueError, match="row 123, column 2"):
        bs.data.load(save_pair(tmp_path, X, y))


def test_preprocessing_a_mapped_dataset_asks_for_rows_stored_preprocessed(tmp_path):
    X, y = blobs(300, 4)
    data = bs.data.load(save_pair(tmp_path, X, y))
    with pytest.raises(ValueError, match="memory-mapped"):
        data.preprocessed(bs.preprocess.MeanCenter())


def fit_accuracy(data_train, data_val, data_test, seed=0):
    net = bs.mlp(data_train.X.shape[1], [32], 3, activation="relu", init="he", seed=seed)
    trainer = bs.Trainer(net, bs.losses.SoftmaxCrossEntropy(), bs.optim.Adam(lr=3e-3),
                         batch_size=64, epochs=3, seed=seed, progress=False)
    trainer.fit(data_train.X, data_train.y, val=data_val)
    return trainer, trainer.accuracy(*data_test)


def test_mapped_training_reaches_the_accuracy_of_in_memory_training(tmp_path, monkeypatch):
    """Chunks of 16 batches, visited in random order and shuffled inside: the same data
    learned as well as from memory (one shuffle over all rows)."""
    X, y = blobs(6000, 20, seed=1)
    mapped = bs.data.load(save_pair(tmp_path, X, y))
    in_memory = [datasets.Split(np.array(s.X), np.array(s.y))
                 for s in (mapped.train, mapped.val, mapped.test)]
    monkeypatch.setattr(train, "MAPPED_CHUNK_BYTES", 16 * 64 * 20 * 4)
    trainer, acc_mapped = fit_accuracy(mapped.train, mapped.val, mapped.test)
    _, acc_memory = fit_accuracy(*in_memory)
    assert trainer.history.iters_per_epoch == int(np.ceil(3600 / 64))
    assert len(trainer.history.loss) == 3 * trainer.history.iters_per_epoch
    assert acc_memory > 0.9
    assert abs(acc_mapped - acc_memory) <= 0.02


def test_mapped_chunks_cover_every_row_once_per_epoch(tmp_path, monkeypatch):
    """Each epoch sees every training row exactly once, in batches of the given size."""
    n = 1000
    X = np.arange(n, dtype=np.float32)[:, None].repeat(3, axis=1)
    y = np.arange(n) % 3
    np.save(tmp_path / "x.npy", X)
    X = np.load(tmp_path / "x.npy", mmap_mode="r")
    monkeypatch.setattr(train, "MAPPED_CHUNK_BYTES", 5 * 32 * 3 * 4)   # 5 batches a chunk
    trainer = bs.Trainer(bs.mlp(3, [], 3), bs.losses.SoftmaxCrossEntropy(), bs.optim.SGD(),
                         batch_size=32, progress=False)
    batches = list(trainer._batches(X, y))
    rows = np.concatenate([xb[:, 0] for xb, _ in batches]).astype(int)
    assert sorted(rows) == list(range(n))
    assert rows[:160].tolist() != sorted(rows[:160])          # shuffled inside a chunk
    assert sum(len(xb) < 32 for xb, _ in batches) == 1        # one short batch: the last rows
    assert all(xb.dtype == np.float32 and not is_memory_mapped(xb) for xb, _ in batches)


def test_a_batchnorm_net_never_gets_a_one_row_batch_from_a_mapped_file(tmp_path, monkeypatch):
    """161 rows in chunks of 5 batches of 32: the last row alone would make a chunk, and a
    batch, of one row, which BatchNorm cannot normalize; it joins the chunk before, whose
    last two batches take 31 and 2 rows."""
    n = 161
    np.save(tmp_path / "x.npy", np.arange(n, dtype=np.float32)[:, None].repeat(3, axis=1))
    X = np.load(tmp_path / "x.npy", mmap_mode="r")
    monkeypatch.setattr(train, "MAPPED_CHUNK_BYTES", 5 * 32 * 3 * 4)
    trainer = bs.Trainer(bs.mlp(3, [4], 3, batchnorm=True), bs.losses.SoftmaxCrossEntropy(),
                         bs.optim.SGD(), batch_size=32, epochs=2, progress=False)
    batches = list(trainer._batches(X, np.arange(n) % 3))
    assert sorted(np.concatenate([xb[:, 0] for xb, _ in batches]).astype(int)) == list(range(n))
    assert sorted(len(xb) for xb, _ in batches)[:2] == [2, 31]
    trainer.fit(X, np.arange(n) % 3)
    assert trainer.history.epochs == 2


LIMITED_RUN = textwrap.dedent("""
    import resource, sys
    import numpy as np
    import babysit as bs

    path, headroom = sys.argv[1], int(sys.argv[2])
    np.ones((512, 512), np.float32) @ np.ones((512, 512), np.float32)   # BLAS buffers: now

    def vm_data():
        for line in open("/proc/self/status"):
            if line.startswith("VmData:"):
                return int(line.split()[1]) * 1024

    limit = vm_data() + headroom
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    data = bs.data.load(path)
    try:
        np.array(data.train.X)                  # the file in memory: beyond the limit
        print("LIMIT DID NOT HOLD")
    except MemoryError:
        pass
    net = bs.mlp(data.n_features, [32], data.n_classes, activation="relu", init="he")
    trainer = bs.Trainer(net, bs.losses.SoftmaxCrossEntropy(), bs.optim.Adam(lr=1e-3),
                         batch_size=512, epochs=1, progress=False)
    trainer.fit(data.train.X, data.train.y, val=data.val)
    print("test accuracy", trainer.accuracy(*data.test))
""")


def test_training_on_a_file_four_times_the_memory_limit(tmp_path):
    """A 256 MB file, trained on with 64 MB of memory to spare above what the interpreter and
    libraries already hold (RLIMIT_DATA, which counts allocations but not the file mapping);
    reading the file into memory under the same limit fails, training does not."""
    headroom, d = 64 * 2**20, 64
    n = 4 * headroom // (d * 4)
    path = tmp_path / "big.npy"
    X = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, d))
    y = np.empty(n, dtype=np.int64)
    block = 2**16
    for start in range(0, n, block):
        Xb, yb = blobs(min(block, n - start), d, seed=start)
        X[start:start + len(yb)], y[start:start + len(yb)] = Xb, yb
    X.flush()
    del X
    np.save(tmp_path / "big.labels.npy", y)
    assert path.stat().st_size >= 4 * headroom

    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", LIMITED_RUN, str(path), str(headroom)],
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "LIMIT DID NOT HOLD" not in done.stdout
    accuracy = float(done.stdout.split("test accuracy")[1])
    assert accuracy > 0.95


def test_the_command_line_trains_on_a_npy_file(tmp_path, capsys):
    from babysit.cli import main

    path = save_pair(tmp_path, *blobs(2000, 20))
    argv = ["train", "--data", str(path), "--hidden", "16", "--epochs", "3", "--optimizer",
            "adam", "--lr", "3e-3", "--json", "--preprocess", "none",
            "--out", str(tmp_path / "run")]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["data"] == "big.npy" and summary["test_accuracy"] > 0.9
    assert main(argv[:-5] + ["--out", str(tmp_path / "run2")]) == 0     # auto: no transform
    assert "preprocessing none (auto: memory-mapped" in capsys.readouterr().out
    assert main(argv[:-5] + ["--preprocess", "center", "--out", str(tmp_path / "run3")]) == 2
    err = capsys.readouterr().err
    assert "memory-mapped" in err and "--preprocess none" in err and len(err.splitlines()) == 1


def test_a_mapped_file_keeps_runconfigs_defaults_not_those_of_a_small_table(tmp_path):
    from babysit.runs import builders
    from babysit.runs.config import RunConfig

    cfg = RunConfig(data=str(save_pair(tmp_path, *blobs(300, 5))))
    data = builders.load_data(cfg)
    # TABLE_DEFAULTS (60 epochs, a strong penalty) are for a CSV of a few hundred rows, not
    # for a file larger than memory
    fitted = builders.fit_to_data(cfg, data)
    assert (fitted.epochs, fitted.reg) == (RunConfig().epochs, RunConfig().reg)


@pytest.mark.parametrize("block_values", [2**20, 500])   # one block; blocks of 5 rows
def test_column_statistics_keep_a_small_spread_beside_a_large_mean(block_values):
    """Features far from zero (raw sensor readings, years) with a small spread: the sums in
    float32 are taken of the values less a first rough mean, so the spread is not lost in
    the rounding of the mean (a float32 sum of squares of the raw values would lose it)."""
    rng = np.random.default_rng(3)
    X = (rng.standard_normal((700, 100)) * np.linspace(0.01, 1, 100) + 2000).astype(np.float32)
    mean, std = arrays.column_mean_std(X, block_values)
    exact = X.astype(np.float64)
    np.testing.assert_allclose(mean, exact.mean(axis=0), rtol=1e-7)
    np.testing.assert_allclose(std, exact.std(axis=0), rtol=1e-4)
    assert mean.dtype == std.dtype == np.float64 and X.dtype == np.float32   # X not converted
