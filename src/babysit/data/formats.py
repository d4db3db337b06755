"""Readers for dataset files on disk: IDX (the MNIST family), CIFAR-10 binary batches,
CSV (or TSV) with a header row, NPZ holding X and y, and single NPY arrays (memory-mapped or
read).

Readers only parse: they return raw arrays and leave scaling, label encoding and
splitting to `babysit.data.datasets`. Gzipped files are recognised by their first two bytes,
whatever their name. Nothing here unpickles.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import re
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np

from babysit.data.cells import missing_cells
from babysit.data.frames import repeated_names

__all__ = ["CIFAR_IMAGE_SHAPE", "TABLE_SUFFIXES", "BlankRowsWarning", "Cells", "looks_like_data",
           "names_in_words", "no_header_remedy", "read_bytes",
           "read_idx", "read_cifar_binary", "read_table", "read_npy", "read_npz"]

_GZIP_MAGIC = b"\x1f\x8b"
_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")  # a zip with members, an empty zip
_ZIP_ENCRYPTED = 0x1  # a zip entry's flag bit for encryption (zipfile then asks a password)

# IDX type codes -> big-endian NumPy dtypes (http://yann.lecun.com/exdb/mnist/, "IDX format").
_IDX_DTYPES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"),
              0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}

CIFAR_IMAGE_SHAPE = (32, 32, 3)

_NPY_HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0,
                      (2, 0): np.lib.format.read_array_header_2_0}

TABLE_SUFFIXES = (".csv", ".tsv")          # the files `read_table` reads
_SEPARATOR_NAMES = {",": "','", ";": "';'", "\t": "tabs"}   # for the note reading leaves


def read_bytes(path) -> bytes:
    """The contents of `path`, gunzipped when the file starts with the gzip magic bytes."""
    raw = Path(path).read_bytes()
    if raw[:2] == _GZIP_MAGIC:
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as err:
            raise ValueError(f"{path} looks gzipped but cannot be decompressed ({err}); the "
                             f"file is probably truncated: delete it and fetch it again") from err
    return raw


def read_idx(path) -> np.ndarray:
    """Read an IDX file (gzipped or not) into an array of the shape its header gives.

    Header: two zero bytes, a type code (0x08 = uint8 ...), the number of dimensions,
    then each dimension as a big-endian uint32; then the values, big-endian.
    E.g. MNIST training images -> (60000, 28, 28) uint8.
    """
    raw = read_bytes(path)
    if len(raw) < 4 or raw[:2] != b"\x00\x00" or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"{path} is not an IDX file: it should start with two zero bytes and "
                         f"a type code in {[hex(c) for c in _IDX_DTYPES]}, got {raw[:4]!r}")
    dtype, ndim = _IDX_DTYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: IDX header promises {ndim} dimensions but the file is "
                         f"only {len(raw)} bytes")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = header + math.prod(shape) * dtype.itemsize     # exact: np.prod would wrap
    if len(raw) != expected:
        raise ValueError(f"{path}: IDX header gives shape {shape}, which needs {expected} "
                         f"bytes, but the file holds {len(raw)}; it is truncated or corrupt")
    try:
        values = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    except ValueError as err:   # e.g. (0, 2^26, 2^26, 2^26): no values, yet too big a shape
        raise ValueError(f"{path}: IDX header gives shape {shape}, which NumPy cannot hold "
                         f"({err})") from None
    return values.astype(dtype.newbyteorder("="), copy=False)


def read_cifar_binary(paths) -> tuple[np.ndarray, np.ndarray]:
    """Read CIFAR-10 binary batches (data_batch_1.bin ...): each record is one label byte
    then 3072 pixel bytes, the red 32x32 plane, then green, then blue.

    Returns images (N, 32, 32, 3) uint8 in height, width, channel order and labels (N,) uint8.
    """
    record = 1 + int(np.prod(CIFAR_IMAGE_SHAPE))
    images, labels = [], []
    for path in paths:
        raw = read_bytes(path)
        if len(raw) == 0 or len(raw) % record:
            raise ValueError(f"{path} is not a CIFAR-10 binary batch: its size {len(raw)} is "
                             f"not a positive multiple of the {record}-byte record")
        rows = np.frombuffer(raw, dtype=np.uint8).reshape(-1, record)
        labels.append(rows[:, 0])
        planes = rows[:, 1:].reshape(-1, 3, 32, 32)
        images.append(planes.transpose(0, 2, 3, 1))
    return np.concatenate(images), np.concatenate(labels)


def read_table(path, notes: list | None = None, header: bool = True,
               columns: list[str] | None = None,
               keep_blank: bool | None = None) -> tuple[list[str], Cells]:
    """Read a CSV file with a header row into its column names and its cells as text.

    Returns the header (C,) stripped names and cells (N, C) str, one row per data line, as
    `Cells`: each row remembers the line of the file it starts on (`Cells.lines`), which
    every message about a row names. A row of the wrong width is a ValueError naming its
    line. A header row of numbers alone is a ValueError asking whether the file has a header:
    its first example would otherwise become the column names, lost without a word.
    header=False reads a file without one: every row is data, and the columns are named by
    their position, "1", "2", ... `columns`, the names a trained model reads (`babysit
    predict`), is what that question then asks the header to hold.

    Blank rows (an empty line, a line of spaces, a row of empty cells) hold no example. Rows
    to train on skip them. Rows a model predicts (keep_blank; by default when `columns` is
    given) keep each one between data rows, as a row of missing cells filled in as training
    taught (a `BlankRowsWarning` names their lines), so that the predictions line up with
    the rows of the file; blank lines after the last data row shift nothing and are dropped.
    The cells are left as written: which column is a number, a category or a missing value
    is decided later (`babysit.data.tabular`), from the training rows only.

    A file whose header holds semicolons and no comma is read as separated by ';', the CSV
    that Excel writes where the comma is the decimal sign ("a;b;c", "1,5;2;x"); there, numbers
    written with a decimal comma are read with a point (`_decimal_points`). A `.tsv` file, or
    one whose header holds tabs and no comma, is read as separated by tabs; its decimal
    commas likewise, where one of them cannot be a thousands separator ("1,5", "0,25": a TSV
    whose numbers are all written like "1,200" keeps them as written, for the table's
    thousands reading) and no column of numbers writes them with a point (then "12,7" is a
    list). What reading decided is appended to `notes` when given.

    Columns with no name and no value in any row (the trailing commas of an Excel export,
    one or several) are left out, with a note (`_unnamed_empty_left_out`); an unnamed column
    that holds values is read as any other (two of them are refused as repeated names).
    """
    path = Path(path)
    rows, lines, separator = _csv_rows(path)
    if not rows:
        raise ValueError(f"{path} is empty: expected a header row and data rows")
    if header:
        while rows and not any(cell.strip() for cell in rows[0]):   # blank lines above it
            rows, lines = rows[1:], lines[1:]
        if not rows:
            raise ValueError(f"{path} holds blank lines only: expected a header row and data "
                             f"rows")
        names = [name.strip() for name in rows[0]]
        _refuse_numbers_as_names(names, path, columns)
        rows, lines = rows[1:], lines[1:]
    else:
        names = [str(j) for j in range(1, len(rows[0]) + 1)]
    keep = columns is not None if keep_blank is None else keep_blank
    rows, lines = (_blank_rows_kept(rows, lines, len(names), path) if keep else
                   _blank_rows_skipped(rows, lines))
    if not rows:
        raise ValueError(f"{path} has a header but no data rows")
    for i, row in enumerate(rows):
        if len(row) != len(names):
            raise ValueError(f"{path}: a data row has {len(row)} cells but the header has "
                             f"{len(names)} (data row {i}, line {lines[i]})")
    cells = np.array(rows, dtype=str).reshape(len(rows), len(names))
    names, cells = _unnamed_empty_left_out(names, cells, path, notes)
    _refuse_repeated_names(names, path)
    converted = False
    if separator != ",":
        cells, converted = _decimal_points(cells, path, separator)
    if separator != "," and notes is not None:
        notes.append(f"{path.name} read as separated by {_SEPARATOR_NAMES[separator]}"
                     + (", its decimal commas as points" if converted else ""))
    return names, Cells.of(cells, lines)


class Cells(np.ndarray):
    """A table's text cells (N, C), or a column of them (N,), that remember the line of the
    file each row starts on: `lines` (N,) int, 1-based, None where unknown. Blank lines, a
    header (or none) and cells that span lines put a row elsewhere than its position says,
    so a message about a row names `lines[i]`. Selecting rows (`cells[rows]`, `cells[mask]`,
    `cells[:, columns]`, `cells[:, j]`) keeps their lines; any other array made from the
    cells (a reshape, a transpose, arithmetic) has lines None, and `np.asarray` gives a
    plain array."""

    lines = None

    @classmethod
    def of(cls, cells: np.ndarray, lines) -> Cells:
        """`cells` (N, ...) as Cells whose rows start on `lines` (N,)."""
        out = np.asarray(cells).view(cls)
        out.lines = np.asarray(lines, dtype=np.int64).reshape(len(out))
        return out

    def __array_finalize__(self, obj) -> None:
        self.lines = None   # a view may reorder or reshape the rows: who made it says

    def __getitem__(self, key):
        out = super().__getitem__(key)
        if isinstance(out, Cells) and self.lines is not None:
            out.lines = _selected_lines(self.lines, key, out.shape)
        return out


def _selected_lines(lines: np.ndarray, key, shape: tuple) -> np.ndarray | None:
    """The lines of the rows that indexing with `key` selected into an array of `shape`, or
    None when its first axis is not rows (a single row's cells, a new axis, an Ellipsis)."""
    rows = key[0] if isinstance(key, tuple) else key
    if rows is Ellipsis or rows is None or np.ndim(rows) == 0 and not isinstance(rows, slice):
        return None
    try:
        selected = lines[rows]
    except (IndexError, TypeError, ValueError):
        return None
    return selected if len(shape) and selected.shape == shape[:1] else None


class BlankRowsWarning(UserWarning):
    """Rows to predict were blank: each was predicted as a row of missing cells."""


def _is_blank(row: list[str]) -> bool:
    """Whether a CSV row holds no value: no cell, or cells of spaces alone."""
    return not any(cell.strip() for cell in row)


def _blank_rows_skipped(rows: list, lines: list) -> tuple[list, list]:
    """The rows (and their lines) that are not blank: those that hold an example."""
    kept = [k for k, row in enumerate(rows) if not _is_blank(row)]
    return [rows[k] for k in kept], [lines[k] for k in kept]


def _blank_rows_kept(rows: list, lines: list, width: int, path: Path) -> tuple[list, list]:
    """The rows up to the last that is not blank, each blank one as `width` empty cells (a
    row of missing values), with their lines; a `BlankRowsWarning` names the blank ones."""
    end = max((k + 1 for k, row in enumerate(rows) if not _is_blank(row)), default=0)
    rows, lines = rows[:end], lines[:end]
    blank = [k for k, row in enumerate(rows) if _is_blank(row)]
    for k in blank:
        rows[k] = [""] * width
    if blank:
        shown = ", ".join(str(lines[k]) for k in blank[:5]) + (", ..." if len(blank) > 5
                                                                else "")
        many = len(blank) > 1
        warnings.warn(f"{path}: {len(blank)} blank row{'s' if many else ''} (line"
                      f"{'s' if many else ''} {shown}) predicted as if every cell were "
                      f"missing, filled in as training taught: such a prediction says nothing "
                      f"of its row, and is there to keep the output in line with the file",
                      BlankRowsWarning, stacklevel=3)
    return rows, lines


def _csv_rows(path: Path) -> tuple[list[list[str]], list[int], str]:
    """The rows of a CSV file as lists of cells, the line each starts on (1-based: a row
    whose quoted cells hold line breaks spans several), and the separator (`_separator`). A
    UTF-8 byte-order mark (Excel's "CSV UTF-8") is dropped: it would otherwise glue itself,
    invisibly, to the first column's name."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            text = f.read()
    except UnicodeDecodeError as err:
        raise ValueError(f"{path} is not UTF-8 text ({err.reason}); save it as CSV UTF-8"
                         ) from None
    # lines end in \n, \r\n or, as old Macs wrote them, \r alone; blank lines above the
    # header hold nothing to tell the separator by
    first = re.search(r"[^\r\n]*\S[^\r\n]*", text)
    separator = _separator(path, first.group() if first else "")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    rows, lines, end = [], [], 0            # end: the last line of the row read before
    try:
        for row in reader:
            rows.append(row)
            lines.append(end + 1)
            end = reader.line_num
    except csv.Error as err:
        raise ValueError(f"{path} is not a CSV file babysit can read: {err} (line "
                         f"{reader.line_num})") from None
    return rows, lines, separator


def _separator(path: Path, header: str) -> str:
    """The separator of a table whose first line is `header`: a tab for a `.tsv` file; else
    ',' unless the header holds no comma but semicolons or tabs, then the one it holds more
    of (a one-column file has no separator to see, and reads alike with any). Quoted names
    are not read: '"income, net";age;class' is separated by ';'."""
    if path.suffix.lower() == ".tsv":
        return "\t"
    header = _QUOTED.sub("", header)
    if "," in header:
        return ","
    counts = {separator: header.count(separator) for separator in (";", "\t")}
    most = max(counts, key=counts.get)
    return most if counts[most] else ","


# A quoted cell, its quotes doubled inside ("a ""b"", c")
_QUOTED = re.compile(r'"(?:[^"]|"")*"')
_DECIMAL_COMMA = re.compile(r"\s*[+-]?\d*,\d+(?:[eE][+-]?\d+)?\s*")
_DECIMAL_POINT = re.compile(r"\s*[+-]?\d*\.\d+(?:[eE][+-]?\d+)?\s*")
# A number a comma splits into thousands ("1,200", "-12,500"; not "0,672"): in a
# tab-separated file, a thousands separator as much as a decimal comma
_THOUSANDS_GROUP = re.compile(r"\s*[+-]?[1-9]\d{0,2},\d{3}\s*")


def _decimal_points(cells: np.ndarray, path: Path, separator: str) -> tuple[np.ndarray, bool]:
    """The cells (N, C) of a ';'- or tab-separated file with every number written with a
    decimal comma ("1,5") rewritten with a point, and whether there was one. A ';' file that
    writes numbers both ways ("1,5" and "2.5", or "1.234" as a thousands separator) is
    refused: which way it means each number cannot be told. A tab-separated file frees the
    comma for other uses, so its commas are read as decimal signs only where one of them
    cannot be a thousands separator (`_THOUSANDS_GROUP`) and no column of numbers writes
    them with a point (`_point_numbers`: then "12,7" is a list); then all of them are, as a
    file has one decimal sign ("1,000" beside "0,05" is one)."""
    comma = np.vectorize(lambda cell: _DECIMAL_COMMA.fullmatch(cell) is not None,
                         otypes=[bool])(cells)
    if not comma.any():
        return cells, False
    point = np.vectorize(lambda cell: _DECIMAL_POINT.fullmatch(cell) is not None,
                         otypes=[bool])(cells)
    if separator == "\t":
        if _point_numbers(cells, point) or all(
                _THOUSANDS_GROUP.fullmatch(cell) for cell in np.asarray(cells)[comma].tolist()):
            return cells, False
    elif point.any():
        (i, j), (k, m) = np.argwhere(comma)[0], np.argwhere(point)[0]
        raise ValueError(f"{path} writes numbers with a decimal comma ({str(cells[i, j])!r} "
                         f"in data row {i}) and with a point ({str(cells[k, m])!r} in data row "
                         f"{k}); write them one way, without thousands separators")
    return np.where(comma, np.char.replace(cells, ",", "."), cells), True


def _point_numbers(cells: np.ndarray, point: np.ndarray) -> bool:
    """Whether a column of `cells` (N, C) holds numbers written with a decimal point (`point`
    (N, C) marks them), its other cells numbers or missing (`missing_cells`: "", "NA", ...):
    a file whose decimal sign is the point. A lone "2.5" in a column of text is no such
    evidence."""
    for j in np.flatnonzero(point.any(axis=0)):
        rest = np.asarray(cells)[~point[:, j], j]
        if all(_is_number(cell) for cell in np.char.strip(rest[~missing_cells(rest)]).tolist()):
            return True
    return False


def names_in_words(names: list[str]) -> str:
    """Column names for a message, separated by ", ": in quotes where a name holds a comma or
    starts or ends with a space (`sepal, length` would read as two names)."""
    return ", ".join(repr(name) if "," in name or name != name.strip() else name
                     for name in names)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def no_header_remedy(header: list[str]) -> str:
    """How to read a file whose first row (`header`) is data: what a message suggests when the
    names look like numbers."""
    return (f"add --no-header (header=False; the columns are then named 1, 2, ... by "
            f"position, e.g. --target {len(header)})")


def looks_like_data(header: list[str]) -> bool:
    """Whether most of a first row's names are numbers: a row of data more likely than
    column names (iris without its header: 5.1, 3.5, 1.4, 0.2, setosa)."""
    return 2 * sum(map(_is_number, header)) > len(header)


def _refuse_numbers_as_names(header: list[str], path: Path,
                             columns: list[str] | None = None) -> None:
    """A header of numbers alone is more likely a first row of data than column names. The
    question says how to go on: read the file without a header (training), or, for a model
    that reads the `columns` by name, give it a header naming them."""
    if not all(map(_is_number, header)):
        return
    shown = ",".join(header[:5]) + (",..." if len(header) > 5 else "")
    if columns is None:
        remedy = no_header_remedy(header)
    else:
        remedy = (f"add a header row naming the columns the model was trained on: "
                  f"{','.join(columns)}")
    raise ValueError(f"{path}: its first row ({shown}) holds numbers alone: does the file "
                     f"have a header? If that row is data, {remedy}; if those are the column "
                     f"names, start them with a letter")


def _unnamed_empty_left_out(names: list[str], cells: np.ndarray, path: Path,
                            notes: list | None) -> tuple[list[str], np.ndarray]:
    """The names and cells (N, C) without the columns whose name is empty and whose cells
    are all blank: an Excel export's trailing commas hold nothing, and two of them would
    otherwise be refused as repeated names. Left out with a note in `notes` naming their
    positions (counted from 1, as `_refuse_repeated_names` counts)."""
    empty = [j for j, name in enumerate(names)
             if not name and not np.char.strip(cells[:, j]).astype(bool).any()]
    if not empty:
        return names, cells
    if notes is not None:
        many = len(empty) > 1
        notes.append(f"{path.name}: left out the unnamed column{'s' if many else ''} "
                     f"{' and '.join(str(j + 1) for j in empty)}, holding no value in any row")
    kept = [j for j in range(len(names)) if j not in empty]
    return [names[j] for j in kept], cells[:, kept]


def _refuse_repeated_names(header: list[str], path: Path) -> None:
    """A header that names two columns alike leaves no way to tell them apart."""
    repeated = repeated_names(header)
    if repeated:
        raise ValueError(f"{path}: the header repeats column names ({repeated}); give every "
                         f"column its own name")


def read_npy(path, mmap: bool = False) -> np.ndarray:
    """Read one array from a .npy file (np.save); mmap=True maps it read-only instead of
    reading it (the array stays on disk and pages in as it is used). Object arrays are
    refused."""
    with open(path, "rb") as f:
        if f.read(len(_NPY_MAGIC)) != _NPY_MAGIC:   # np.load would take it for a pickle
            raise ValueError(f"{path} is not a .npy file: it does not start as np.save writes "
                             f"one (the bytes {_NPY_MAGIC!r})")
    try:
        return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except ValueError as err:
        if "pickle" in str(err) or "object" in str(err):
            raise ValueError(f"{path} holds an object array, which would need unpickling; "
                             f"save a plain numeric (or string) array") from err
        raise ValueError(f"{path} is not a readable .npy file ({err})") from err


def read_npz(path) -> tuple[np.ndarray, np.ndarray]:
    """Read X and y from a .npz file (np.savez(path, X=X, y=y)).

    The archive is checked before anything is read: it must be a zip file, and each array's
    header must promise no more bytes than the archive holds for it, so that a damaged or
    crafted header is an error rather than an attempt to allocate what it claims. Object
    arrays are refused (they would need unpickling).
    """
    path = Path(path)
    with path.open("rb") as f:
        magic = f.read(4)
    if magic not in _ZIP_MAGICS:
        raise ValueError(f"{path} is not an .npz archive (np.savez writes a zip file; this one "
                         f"starts with {magic!r})")
    try:
        with zipfile.ZipFile(path) as archive:
            members = {name.removesuffix(".npy"): name for name in archive.namelist()}
            missing = [key for key in ("X", "y") if key not in members]
            if missing:
                raise ValueError(f"{path} must hold arrays named X and y; it lacks "
                                 f"{', '.join(missing)} (it holds {', '.join(members)})")
            return tuple(_npy_member(archive, members[key], key, path) for key in ("X", "y"))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError, EOFError,
            zlib.error) as err:
        raise ValueError(f"{path} is a damaged .npz archive ({err})") from None


def _npy_member(archive: zipfile.ZipFile, member: str, key: str, path: Path) -> np.ndarray:
    """One .npy array of an open .npz archive, its header checked against its size first."""
    info = archive.getinfo(member)
    if info.flag_bits & _ZIP_ENCRYPTED:
        raise ValueError(f"{path}: its member {member} is encrypted (password-protected); "
                         f"np.savez writes plain archives, so save the arrays again with it")
    size = info.file_size
    try:
        with archive.open(member) as f:
            version = np.lib.format.read_magic(f)
            if version not in _NPY_HEADER_READERS:
                raise ValueError(f"{path}: {key} is an .npy of version {version}, which "
                                 f"babysit does not read (1.0 and 2.0 are what np.save writes)")
            shape, _, dtype = _NPY_HEADER_READERS[version](f)
            header_size = f.tell()
        if dtype.hasobject:
            raise ValueError(f"{path}: {key} is an object array, which would need unpickling; "
                             f"save X and y as plain numeric (or string) arrays")
        needed = math.prod(shape) * dtype.itemsize
        if header_size + needed != size:
            raise ValueError(f"{path}: {key} claims shape {shape} of {dtype}, "
                             f"{needed} bytes, but the archive holds {size - header_size}")
        with archive.open(member) as f:
            return np.lib.format.read_array(f, allow_pickle=False)
    except ValueError as err:
        if str(path) in str(err):
            raise
        raise ValueError(f"{path}: {key} is not a readable array ({err})") from None
