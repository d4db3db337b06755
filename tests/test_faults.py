"""What a run says when the machine or the input is at fault: a full disk names the file and
the command that resumes the run; the last unclear input errors each get one clear line."""

from __future__ import annotations

import errno
import os

from babysit import cli

SMALL = ["--hidden", "16", "--seed", "3", "--no-report"]


def one_line(capsys, argv, status: int = 2) -> str:
    """The one line on stderr of a command that exits `status`."""
    assert cli.main(argv) == status
    line, = capsys.readouterr().err.strip().splitlines()
    return line


def test_a_full_disk_names_the_file_and_the_command_that_resumes(tmp_path, capsys,
                                                                 monkeypatch):
    """It said "OSError: [Errno 28] No space left on device", no file, no way on."""
    run, fsyncs = tmp_path / "run", []
    real = os.fsync

    def full_after_epoch_1(fd):    # epoch 1 writes best and state: two fsyncs
        fsyncs.append(fd)
        if len(fsyncs) > 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(fd)

    monkeypatch.setattr(os, "fsync", full_after_epoch_1)
    line = one_line(capsys, ["train", *SMALL, "--epochs", "5", "--out", str(run)])
    assert line.startswith(f"babysit train: error: {run / 'best.safetensors'}: No space left "
                           f"on device; once it can be written, to continue the run: "
                           f"babysit train --resume {run}")
    assert not [p for p in run.iterdir() if p.name.endswith(".tmp")]
    monkeypatch.setattr(os, "fsync", real)
    assert cli.main(["train", "--resume", str(run)]) == 0
