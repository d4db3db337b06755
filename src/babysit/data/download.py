"""Fetch one file over HTTP(S) into a folder, verified by its sha256, or not at all.

The file is streamed into a temporary file next to its destination while being hashed;
only when the hash matches the published one is it moved into place (an atomic rename),
so a cache never holds a partial or corrupt file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

__all__ = ["DownloadError", "ChecksumError", "NetworkError", "fetch"]

_CHUNK = 1 << 20


class DownloadError(ValueError):
    """A dataset's files could not be had. A ValueError, like other bad input, because the
    name given to `load` / `--data` is what cannot be satisfied."""


class ChecksumError(DownloadError):
    """The downloaded bytes do not hash to the published sha256; nothing was saved."""


class NetworkError(DownloadError):
    """The server could not be reached or refused the request (no network, down, 404)."""


def fetch(url: str, dest, sha256: str, progress: bool | None = None,
          timeout: float = 30.0) -> Path:
    """Download `url` to `dest` (a file path), verifying its sha256; return `dest`.

    progress: a tqdm bar on stderr (None: only when stderr is a terminal).
    Raises NetworkError when the server cannot be reached, ChecksumError when the
    bytes are wrong; in both cases nothing is left at `dest` or beside it.
    """
    # imported here, not at the top: http and email cost `import babysit` ~15 ms
    import urllib.error
    import urllib.request

    from tqdm.auto import tqdm

    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                response = urllib.request.urlopen(url, timeout=timeout)
            except (urllib.error.URLError, OSError) as err:
                reason = getattr(err, "reason", err)
                raise NetworkError(f"could not download {url}: {reason}") from err
            with response, tqdm(total=int(response.headers.get("Content-Length") or 0) or None,
                                unit="B", unit_scale=True, desc=dest.name,
                                disable=None if progress is None else not progress) as bar:
                try:
                    for chunk in iter(lambda: response.read(_CHUNK), b""):
                        out.write(chunk)
                        digest.update(chunk)
                        bar.update(len(chunk))
                except OSError as err:
                    raise NetworkError(f"the download of {url} broke off: {err}") from err
        got = digest.hexdigest()
        if got != sha256.lower():
            raise ChecksumError(f"{url} has sha256 {got}, but the published checksum is "
                                f"{sha256}; the download is corrupt or the file changed, so "
                                f"nothing was saved")
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return dest
