"""One checkpoint file on disk (the layout is described in `babysit.training.checkpoint`): written
atomically, read back verified. Reading refuses, with a ValueError naming the file, what is
truncated, not JSON, not babysit's, edited (the sha256 over the JSON and every tensor), newer
than this babysit, or holding NaN or inf; writing refuses non-finite values before anything
is written, so a diverged network never replaces a good checkpoint. Nothing is unpickled.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import safetensors.numpy

from babysit.backend import to_numpy
from babysit.validation import make_folder

__all__ = ["digest", "read", "replaced_atomically", "write"]

FORMAT = "babysit"
VERSION = 1


def write(path: Path, arrays: dict[str, np.ndarray], info: dict,
           check_finite: bool = True, durable: bool = True) -> None:
    """Serialize and write atomically: temporary file in the same folder, fsync, os.replace.

    Non-finite values are refused before anything is written (`check_finite`), so that a
    diverged network never replaces a good checkpoint; so is a path under a file, or a folder.
    durable=False skips the fsync, for a file that replaces nothing (an epoch's checkpoint: a
    new one each epoch; on the penguins' 215 short epochs the fsyncs, two an epoch, took a
    third of the run): a power cut may then leave it torn, and `read` refuses it by name. The
    fsync is there to protect the file being replaced, and such a file has none.
    """
    if check_finite:
        _refuse_non_finite(arrays, f"cannot save {path}")
    info = {"format": FORMAT, "version": VERSION, **info}
    try:
        text = json.dumps(info, default=_jsonable)
    except (TypeError, ValueError) as err:   # a set, an object of one's own, a NaN in `meta`
        raise ValueError(f"cannot save {path}: its information (such as a `meta` given) "
                         f"holds what JSON cannot write: {err}") from None
    arrays = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
    metadata = {"babysit": text, "sha256": digest(text, arrays)}
    _make_parent(path)
    with replaced_atomically(path, durable) as tmp:
        # straight from the arrays into the file: no serialized copy of them in memory
        try:
            safetensors.numpy.save_file(arrays, tmp, metadata=metadata)
        except safetensors.SafetensorError as err:   # its I/O errors are no OSError
            raise _os_error(err) from err


def _jsonable(x):
    """Make NumPy scalars and arrays JSON-serialisable (a `default=` for json.dumps)."""
    if hasattr(x, "tolist"):
        return x.tolist()
    raise TypeError(f"cannot write {type(x).__name__} to JSON")


@contextlib.contextmanager
def replaced_atomically(path: Path, durable: bool = True) -> Iterator[Path]:
    """Write `path` whole or not at all: the block writes the temporary file it is given (in
    the same folder, so that the rename stays on one file system); after the block it is
    flushed to disk (unless `durable=False`) and renamed over `path` (`os.replace`). An error
    in the block, or a disk that fills up, leaves `path` as it was (absent, or the previous
    file) and no temporary file; an OSError is raised again naming `path`, since the
    temporary name means nothing to the user. The file gets the permissions of the one it
    replaces (a read-only one stays read-only), or a new file's under the umask (safetensors
    created its files readable by their owner alone, whatever the umask)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        mode = stat.S_IMODE(path.stat().st_mode) if path.is_file() else _new_file_mode()
        yield tmp
        if durable:
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as err:
        raise OSError(err.errno, err.strerror or str(err), str(path)) from err
    finally:
        tmp.unlink(missing_ok=True)


@functools.cache
def _new_file_mode() -> int:
    """The permissions `open` gives a new file: rw for all, less the process's umask (read
    once: setting it to read it is not atomic, and it does not change in a run)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def _os_error(err: Exception) -> OSError:
    """An OSError for safetensors' error `err`, with the errno its text names ("... No space
    left on device (os error 28)"), so `replaced_atomically` reports it as a disk's error
    naming the file."""
    found = re.search(r"os error (\d+)", str(err))
    if found is None:
        return OSError(str(err))
    code = int(found.group(1))
    return OSError(code, os.strerror(code))


def _make_parent(path: Path) -> None:
    """Create the folder `path` is written into; a file in the way is a ValueError naming it."""
    if path.is_dir():
        raise ValueError(f"cannot save {path}: {path} is a folder; name a file")
    make_folder(path.parent, "cannot save into")


def _refuse_non_finite(arrays: dict[str, np.ndarray], where: str) -> None:
    """A ValueError naming the first float tensor of `arrays` that holds NaN or inf. An
    optimizer's state ("optimizer.*") may hold inf: Adam's second moment of a gradient beyond
    1.8e19 overflows float32 while the weights and the loss stay finite (the update it gives is
    0), and the run goes on; a NaN there is refused as anywhere."""
    for name, arr in arrays.items():
        arr = to_numpy(arr)
        if arr.dtype.kind not in "fc" or np.isfinite(arr).all():
            continue
        n_nan = int(np.isnan(arr).sum())
        n_inf = int(np.isinf(arr).sum())
        optimizer_state = name.startswith("optimizer.")
        if optimizer_state and not n_nan:
            continue
        counts = " and ".join(f"{n} {kind}" for n, kind in ((n_nan, "NaN"), (n_inf, "inf")) if n)
        what = ("an optimizer's state that is not a number came of a diverged step"
                if optimizer_state else
                "a network with non-finite weights diverged and predicts nothing useful")
        raise ValueError(f"{where}: tensor {name!r} holds {counts} of {arr.size} values; {what}")


def read(path: Path) -> tuple[dict[str, np.ndarray], dict]:
    """Read and verify a checkpoint file: (arrays by tensor name, the babysit JSON as a dict)."""
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    blob = path.read_bytes()
    where = f"checkpoint {path}"
    if len(blob) < 8:
        raise ValueError(f"{where} is truncated: {len(blob)} bytes, less than a header")
    n = int.from_bytes(blob[:8], "little")
    if 8 + n > len(blob):
        raise ValueError(f"{where} is truncated: its header announces {n} bytes but the file "
                         f"holds {len(blob) - 8} after the length")
    try:
        header = json.loads(blob[8:8 + n])
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise ValueError(f"{where} is damaged: its header is not JSON (edited, or not a "
                         f"safetensors file)") from None
    meta = header.get("__metadata__") if isinstance(header, dict) else None
    if not isinstance(meta, dict) or "babysit" not in meta:
        raise ValueError(f"{where} is not a babysit checkpoint: its header has no 'babysit' "
                         f"entry (written by another program?)")
    try:
        arrays = safetensors.numpy.load(blob)
    except Exception as err:  # safetensors reports any inconsistency as its own error type
        raise ValueError(f"{where} is truncated or damaged: {err}") from None
    text = meta["babysit"]
    if meta.get("sha256") != digest(text, arrays):
        raise ValueError(f"{where} is damaged or was edited: its contents do not match the "
                         f"checksum written with them; use an intact copy")
    try:
        info = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        raise ValueError(f"{where} is damaged: its 'babysit' entry is not JSON") from None
    if not isinstance(info, dict):
        raise ValueError(f"{where} is damaged: its 'babysit' entry is not a JSON object")
    if info.get("format") != FORMAT or not isinstance(info.get("version"), int):
        raise ValueError(f"{where} is not a babysit checkpoint (format {info.get('format')!r})")
    if info["version"] > VERSION:
        raise ValueError(f"{where} has format version {info['version']}, newer than this "
                         f"babysit reads ({VERSION}); upgrade babysit")
    _refuse_non_finite(arrays, where)
    return arrays, info


def digest(text: str, arrays: dict[str, np.ndarray]) -> str:
    """sha256 of the JSON text and of each tensor's name, dtype, shape and bytes, by name."""
    h = hashlib.sha256(text.encode())
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"\n{name}|{a.dtype.str}|{a.shape}\n".encode())
        h.update(a.reshape(-1).view(np.uint8))
    return h.hexdigest()
