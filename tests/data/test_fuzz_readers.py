"""Fuzzing every reader a user can point at a file: CSV, NPZ, IDX, CIFAR-10 binary batches and
checkpoints and training states (`Trainer.resume`): their bytes, and their JSON header with
the checksum recomputed, which is what a crafted file looks like. Inputs are generated from
scratch or mutated from a valid file; the only outcome allowed besides success is a
ValueError (or FileNotFoundError) whose message names the file.

Two profiles. By default (`make test`) each test runs a few dozen derandomized examples, a
few seconds in all. `BABYSIT_FUZZ_SECONDS=600` runs each reader for that many seconds with
fresh random examples (split between its tests), and prints how many examples each ran:

    BABYSIT_FUZZ_SECONDS=600 python -m pytest tests/data/test_fuzz_readers.py -k csv -s
"""

import csv
import gzip
import io
import json
import os
import time
from collections import Counter

import numpy as np
import pytest
import safetensors.numpy

hypothesis = pytest.importorskip("hypothesis", reason="fuzzing needs hypothesis (the test extra)")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

import babysit as bs  # noqa: E402
from babysit.data import datasets, formats, preprocess  # noqa: E402
from babysit.training import checkpoint, checkpoint_file  # noqa: E402

FUZZ_SECONDS = float(os.environ.get("BABYSIT_FUZZ_SECONDS", "0"))
TESTS_PER_READER = {"csv": 2, "npz": 2, "idx": 2, "cifar": 1, "checkpoint": 3, "resume": 2}
QUICK = settings(max_examples=30, deadline=None, database=None, derandomize=True,
                 suppress_health_check=list(HealthCheck))
LONG = settings(max_examples=300, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))
EXAMPLES = Counter()


@pytest.fixture(scope="module", autouse=True)
def say_the_counts():
    """In the long profile, print the number of examples each reader ran."""
    yield
    if FUZZ_SECONDS:
        for reader, n in sorted(EXAMPLES.items()):
            print(f"\nfuzz {reader}: {n} examples")


def run(reader: str, test) -> None:
    """Run the @given `test` once (quick profile), or again and again for this test's share of
    BABYSIT_FUZZ_SECONDS (long profile)."""
    if not FUZZ_SECONDS:
        QUICK(test)()
        return
    end = time.monotonic() + FUZZ_SECONDS / TESTS_PER_READER[reader]
    test = LONG(test)
    while time.monotonic() < end:
        test()


def reads_or_refuses(reader: str, path, read) -> None:
    """`read(path)` succeeds, or raises ValueError / FileNotFoundError naming the file."""
    EXAMPLES[reader] += 1
    try:
        read(path)
    except (ValueError, FileNotFoundError) as err:
        assert path.name in str(err), f"{type(err).__name__} does not name the file: {err}"


# -- mutations of a valid file ------------------------------------------------------------

INTERESTING = [0x00, 0x01, 0x7F, 0x80, 0xFF, ord(","), ord("\n"), ord('"'), ord("{"), ord("}"),
               ord("-"), ord("9"), ord("e"), ord("."), 0xEF, 0xBB, 0xBF]


@st.composite
def mutated(draw, seeds: list[bytes]) -> bytes:
    """One of `seeds` with 1-8 byte-level edits: flips, overwrites, insertions, deletions,
    truncation, and a chunk copied elsewhere."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate", "splice"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        byte = draw(st.sampled_from(INTERESTING) | st.integers(0, 255))
        if op == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and data:
            data[pos] = byte
        elif op == "insert":
            data[pos:pos] = bytes([byte]) * draw(st.integers(1, 16))
        elif op == "delete":
            del data[pos:pos + draw(st.integers(1, 64))]
        elif op == "truncate":
            del data[pos:]
        elif op == "splice" and data:
            start = draw(st.integers(0, len(data) - 1))
            data[pos:pos] = data[start:start + draw(st.integers(1, 64))]
    return bytes(data)


def maybe_gzipped(draw, raw: bytes) -> bytes:
    return gzip.compress(raw, mtime=0) if draw(st.booleans()) else raw


# -- CSV ----------------------------------------------------------------------------------

CELLS = (st.integers(-5, 5).map(str)
         | st.floats(allow_nan=True, allow_infinity=True).map(repr)
         | st.sampled_from(["", " ", "nan", "1e999", "-0", "1_0", "0x10", "\u0661", "1e20",
                            "9" * 40, "t", "a", "\ufeff", '"', "\x00", "\r"])
         | st.text(max_size=6))


@st.composite
def csv_texts(draw) -> tuple[bytes, str]:
    """A CSV file (bytes in some encoding) and the target column a user would name."""
    width = draw(st.integers(1, 5))
    header = draw(st.lists(st.sampled_from(["t", "a", "b", " t", ""]) | st.text(max_size=4),
                           min_size=width, max_size=width))
    if draw(st.booleans()):                           # a table that can train
        n = draw(st.integers(1, 40))
        classes = draw(st.integers(1, 4))
        rows = [[str(i % classes)] + [repr(draw(st.floats(-1e6, 1e6))) for _ in header[1:]]
                for i in range(n)]
    else:
        rows = draw(st.lists(st.lists(CELLS, max_size=width + 1), max_size=30))
    out = io.StringIO()
    if draw(st.booleans()):
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
    else:
        out.write("\n".join(",".join(row) for row in [header, *rows]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "latin-1"]))
    target = draw(st.sampled_from(header) | st.sampled_from(["t", "label"]))
    return out.getvalue().encode(encoding, errors="replace"), target


def blobs_csv() -> bytes:
    rng = np.random.default_rng(0)
    lines = ["t,a,b"] + [f"{i % 3},{a:.4f},{b:.4f}" for i, (a, b) in
                         enumerate(rng.standard_normal((30, 2)))]
    return ("\n".join(lines) + "\n").encode()


def test_fuzz_csv_generated(tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "fuzzed-input.csv"

    @given(csv_texts())
    def check(case):
        raw, target = case
        path.write_bytes(raw)
        reads_or_refuses("csv", path, lambda p: datasets.load(p, target=target))

    run("csv", check)


def test_fuzz_csv_mutated(tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "fuzzed-input.csv"
    seeds = [blobs_csv(), b"\xef\xbb\xbf" + blobs_csv()]

    @given(mutated(seeds), st.sampled_from(["t", "a"]))
    def check(raw, target):
        path.write_bytes(raw)
        reads_or_refuses("csv", path, lambda p: datasets.load(p, target=target))

    run("csv", check)


# -- NPZ ----------------------------------------------------------------------------------

DTYPES = st.sampled_from(["<f4", "<f8", ">f8", "<f2", "|i1", "<i8", "|u1", "|b1", "<c8",
                          "<U3", "|S3", "<M8[D]"])


@st.composite
def npz_archives(draw) -> bytes:
    """An .npz written by NumPy holding some of X, y and another array, of any dtype and shape
    (X and y often agreeing in length, so that reading goes deep)."""
    n = draw(st.integers(0, 12))
    arrays = {}
    if draw(st.booleans()):
        shape = (n, *draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)))
        arrays["X"] = draw(hnp.arrays(DTYPES, shape))
    if draw(st.booleans()):
        shape = (n,) if draw(st.booleans()) else draw(hnp.array_shapes(min_dims=0, max_dims=2))
        arrays["y"] = draw(hnp.arrays(DTYPES, shape))
    if draw(st.booleans()):
        arrays[draw(st.sampled_from(["z", "X.npy", "labels"]))] = np.arange(3)
    buf = io.BytesIO()
    (np.savez_compressed if draw(st.booleans()) else np.savez)(buf, **arrays)
    return buf.getvalue()


def valid_npz(compressed: bool) -> bytes:
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(
        buf, X=rng.standard_normal((30, 3)).astype(np.float32), y=np.arange(30) % 3)
    return buf.getvalue()


def test_fuzz_npz_generated(tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "fuzzed-input.npz"

    @given(npz_archives())
    def check(raw):
        path.write_bytes(raw)
        reads_or_refuses("npz", path, datasets.load)

    run("npz", check)


def test_fuzz_npz_mutated(tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "fuzzed-input.npz"
    seeds = [valid_npz(False), valid_npz(True)]

    @given(mutated(seeds))
    def check(raw):
        path.write_bytes(raw)
        reads_or_refuses("npz", path, datasets.load)

    run("npz", check)


# -- IDX and CIFAR-10 binary ----------------------------------------------------------------


@st.composite
def idx_files(draw) -> bytes:
    """An IDX header (any type code, up to 4 dimensions, sizes up to 2^32 - 1) and a payload
    that may or may not match it."""
    code = draw(st.sampled_from([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E]) | st.integers(0, 255))
    dims = draw(st.lists(st.integers(0, 6) | st.integers(0, 2**32 - 1), max_size=4))
    head = bytes([0, 0, code, len(dims)]) + b"".join(d.to_bytes(4, "big") for d in dims)
    return maybe_gzipped(draw, head + draw(st.binary(max_size=300)))


def valid_idx() -> bytes:
    images = np.arange(5 * 4 * 3, dtype=np.uint8).reshape(5, 4, 3)
    return bytes([0, 0, 0x08, 3]) + b"".join(d.to_bytes(4, "big") for d in images.shape) \
        + images.tobytes()


def test_fuzz_idx_generated(tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "fuzzed-input-idx3-ubyte"

    @given(idx_files())
    def check(raw):
        path.write_bytes(raw)
        reads_or_refuses("idx", path, formats.read_idx)

    run("idx", check)


def test_fuzz_idx_mutated(tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "fuzzed-input-idx3-ubyte.gz"
    seeds = [valid_idx(), gzip.compress(valid_idx(), mtime=0)]

    @given(mutated(seeds))
    def check(raw):
        path.write_bytes(raw)
        reads_or_refuses("idx", path, formats.read_idx)

    run("idx", check)


def test_fuzz_cifar_binary(tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "fuzzed-input_batch.bin"
    record = 1 + 32 * 32 * 3
    seed = bytes(np.arange(2 * record, dtype=np.uint8))

    @given(st.one_of(mutated([seed]), st.integers(0, 3).map(lambda k: bytes(k * record)),
                     st.binary(max_size=2 * record + 3)),
           st.booleans())
    def check(raw, gz):
        path.write_bytes(gzip.compress(raw, mtime=0) if gz else raw)
        reads_or_refuses("cifar", path, lambda p: formats.read_cifar_binary([p]))

    run("cifar", check)


# -- checkpoints ----------------------------------------------------------------------------


def valid_checkpoint(folder) -> bytes:
    """A checkpoint with every kind of content: weights, BatchNorm buffers, generator states,
    a fitted preprocessing and meta."""
    net = bs.mlp(3, [4], 2, batchnorm=True, dropout=0.2, input_noise=0.1, seed=0)
    pre = preprocess.Standardize().fit(np.random.default_rng(0).standard_normal((10, 3)))
    return bs.save(folder / "seed", net, preprocess=pre, meta={"epoch": 1}).read_bytes()


def read_checkpoint(path) -> None:
    bs.load(path)
    checkpoint.read_meta(path)


def test_fuzz_checkpoint_bytes(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / "fuzzed-input.safetensors"
    seeds = [valid_checkpoint(folder)]

    @given(mutated(seeds))
    def check(raw):
        path.write_bytes(raw)
        reads_or_refuses("checkpoint", path, read_checkpoint)

    run("checkpoint", check)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 10) | st.integers() | st.floats()
    | st.text(max_size=8) | st.sampled_from(["Linear", "Sequential", "ReLU", "BatchNorm",
                                             "float64", "float16", "Standardize"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                 max_size=4),
    max_leaves=12)


def json_paths(value, prefix=()):
    """Every position in a JSON tree, as the keys and indices that lead to it."""
    yield prefix
    items = value.items() if isinstance(value, dict) else \
        enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        yield from json_paths(child, (*prefix, key))


@st.composite
def crafted_checkpoints(draw, seed_blob: bytes) -> bytes:
    """The seed checkpoint with its babysit JSON edited (a value replaced or removed, or the
    text itself damaged) and its tensors edited (dropped, retyped, reshaped, made
    non-finite), the checksum recomputed so that only the meaning is wrong."""
    n = int.from_bytes(seed_blob[:8], "little")
    text = json.loads(seed_blob[8:8 + n])["__metadata__"]["babysit"]
    info = json.loads(text)
    arrays = safetensors.numpy.load(seed_blob)
    for _ in range(draw(st.integers(1, 4))):
        where = draw(st.sampled_from(list(json_paths(info))[1:]))
        parent = info
        for key in where[:-1]:
            parent = parent[key]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[where[-1]]
        else:
            parent[where[-1]] = draw(JSON_VALUES)
        if not isinstance(info, dict):
            break
    for _ in range(draw(st.integers(0, 2))):
        name = draw(st.sampled_from(sorted(arrays)))
        op = draw(st.sampled_from(["drop", "float64", "int32", "float16", "flat", "nan",
                                   "grow"]))
        a = arrays.pop(name)
        if op in ("float64", "int32", "float16"):
            arrays[name] = a.astype(op)
        elif op == "flat":
            arrays[name] = a.reshape(-1)
        elif op == "nan" and a.dtype.kind == "f":
            arrays[name] = np.full_like(a, np.nan)
        elif op == "grow":
            arrays[name] = np.zeros((draw(st.integers(0, 50)), *a.shape[1:]), a.dtype)
        if not arrays:
            break
    text = json.dumps(info)
    if draw(st.booleans()):
        text = draw(mutated([text.encode()])).decode("utf-8", errors="replace")
    return safetensors.numpy.save(arrays, metadata={"babysit": text,
                                                    "sha256": checkpoint_file.digest(text, arrays)})


def test_fuzz_checkpoint_header(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / "fuzzed-input.safetensors"
    seed = valid_checkpoint(folder)

    @given(crafted_checkpoints(seed))
    def check(raw):
        path.write_bytes(raw)
        reads_or_refuses("checkpoint", path, read_checkpoint)

    run("checkpoint", check)


@st.composite
def huge_claims(draw, seed_blob: bytes) -> bytes:
    """The seed checkpoint claiming a Linear or BatchNorm far larger than its tensors (the
    checksum recomputed): what a crafted file that tries to exhaust memory looks like."""
    n = int.from_bytes(seed_blob[:8], "little")
    info = json.loads(json.loads(seed_blob[8:8 + n])["__metadata__"]["babysit"])
    arrays = safetensors.numpy.load(seed_blob)
    layers = info["architecture"]["layers"]
    big = st.integers(1, 2**40)
    for spec in layers:
        for key in ("n_in", "n_out", "n"):
            if key in spec["config"] and draw(st.booleans()):
                spec["config"][key] = draw(big)
    text = json.dumps(info)
    return safetensors.numpy.save(arrays, metadata={"babysit": text,
                                                    "sha256": checkpoint_file.digest(text, arrays)})


def test_fuzz_checkpoint_size_claims(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / "fuzzed-input.safetensors"
    seed = valid_checkpoint(folder)

    @given(huge_claims(seed))
    def check(raw):
        path.write_bytes(raw)
        reads_or_refuses("checkpoint", path, read_checkpoint)

    run("checkpoint", check)


# -- training states (Trainer.resume) -------------------------------------------------------


def fresh_trainer() -> bs.Trainer:
    """A trainer built as the seed state's run was, ready to resume it."""
    net = bs.mlp(3, [4], 2, batchnorm=True, dropout=0.2, seed=0)
    return bs.Trainer(net, bs.losses.SoftmaxCrossEntropy(), bs.optim.Adam(1e-2), batch_size=8,
                      epochs=3, progress=False, average=0.9)


def valid_training_state(folder) -> bytes:
    from babysit.training.checkpoint import Checkpoints

    rng = np.random.default_rng(0)
    trainer = fresh_trainer()
    trainer.callbacks.append(Checkpoints(folder / "run", every_epoch=False))
    trainer.epochs = 1
    trainer.fit(rng.standard_normal((16, 3)), np.arange(16) % 2)
    return (folder / "run" / "state.safetensors").read_bytes()


def test_fuzz_resume_bytes(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / "fuzzed-input.safetensors"
    seeds = [valid_training_state(folder)]

    @given(mutated(seeds))
    def check(raw):
        path.write_bytes(raw)
        reads_or_refuses("resume", path, lambda p: fresh_trainer().resume(p))

    run("resume", check)


def test_fuzz_resume_header(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / "fuzzed-input.safetensors"
    seed = valid_training_state(folder)

    @given(crafted_checkpoints(seed))
    def check(raw):
        path.write_bytes(raw)
        reads_or_refuses("resume", path, lambda p: fresh_trainer().resume(p))

    run("resume", check)
