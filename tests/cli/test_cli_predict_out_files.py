"""`babysit predict --out FILE [--force]` writes a file, whole, and only a file: through a
symbolic link to the file it points to, keeping the permissions of the file it replaces, and
never over a named pipe, a device or a socket (as root, `--out /dev/full --force` replaced the
device itself)."""

from __future__ import annotations

import errno
import os
import socket
import stat

import pytest

from babysit import cli


@pytest.fixture(scope="module")
def table_run(tmp_path_factory):
    """(a run folder trained on a small table, a CSV of new rows)."""
    folder = tmp_path_factory.mktemp("table")
    train, rows = folder / "train.csv", folder / "new.csv"
    train.write_text("x,z,y\n" + "".join(f"{i % 7},{(3 * i) % 5},{['a', 'b'][i % 2]}\n"
                                         for i in range(40)))
    rows.write_text("x,z\n1,2\n3,4\n")
    run = folder / "run"
    assert cli.main(["train", "--data", str(train), "--target", "y", "--epochs", "1",
                     "--hidden", "4", "--no-report", "--out", str(run)]) == 0
    return run, rows


def predict(table_run, out, *more) -> int:
    run, rows = table_run
    return cli.main(["predict", str(run), "--data", str(rows), "--out", str(out), *more])


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_force_through_a_symbolic_link_replaces_the_file_it_points_to(table_run, tmp_path):
    target, link = tmp_path / "kept" / "target.csv", tmp_path / "link.csv"
    target.parent.mkdir()
    target.write_text("old\n")
    link.symlink_to(target)
    assert predict(table_run, link, "--force") == 0
    assert link.is_symlink() and os.readlink(link) == str(target)     # the link stays
    assert target.read_text().startswith("predicted y,")
    assert sorted(p.name for p in target.parent.iterdir()) == ["target.csv"]  # no temporary


def test_force_keeps_the_permission_bits_of_the_file_it_replaces(table_run, tmp_path):
    out = tmp_path / "read-only.csv"
    out.write_text("old\n")
    out.chmod(0o444)
    assert predict(table_run, out, "--force") == 0
    assert out.read_text().startswith("predicted y,")
    assert stat.S_IMODE(out.stat().st_mode) == 0o444


def test_a_named_pipe_is_refused_in_one_line_force_or_not_and_kept(table_run, tmp_path,
                                                                   capsys):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    for force in ([], ["--force"]):
        assert predict(table_run, fifo, *force) == 2
        assert one_error_line(capsys) == (
            f"babysit predict: error: --out {fifo} is a named pipe (FIFO), not a regular "
            f"file: --out writes a file whole, replacing the one there, which would destroy "
            f"this; give a file name")
        assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_a_socket_and_a_link_to_one_are_refused(table_run, tmp_path, capsys):
    """A link is judged by what it points to: a device behind /dev/stdout-like links too."""
    path, link = tmp_path / "s.sock", tmp_path / "link.csv"
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(path))
        link.symlink_to(path)
        for out in (path, link):
            assert predict(table_run, out, "--force") == 2
            assert f"--out {out} is a socket, not a regular file" in one_error_line(capsys)
        assert stat.S_ISSOCK(path.stat().st_mode) and link.is_symlink()
    finally:
        server.close()


def test_a_write_that_fails_names_the_out_given_not_a_temporary_file(table_run, tmp_path,
                                                                     capsys, monkeypatch):
    """A read-only folder behind a link: the error names --out as given, and leaves the file
    and no temporary one."""
    target, link = tmp_path / "kept" / "target.csv", tmp_path / "link.csv"
    target.parent.mkdir()
    target.write_text("old\n")
    link.symlink_to(target)

    def read_only(src, dst):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(src), str(dst))

    monkeypatch.setattr(os, "replace", read_only)
    assert predict(table_run, link, "--force") == 2
    line = one_error_line(capsys)
    assert line.startswith(f"babysit predict: error: {link}: Permission denied"), line
    assert ".tmp" not in line
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["target.csv"]


def test_a_training_state_given_as_the_model_names_babysit_resume(tmp_path, capsys):
    """It said `babysit train --resume`, the command's old name."""
    (tmp_path / "state.safetensors").write_bytes(b"")
    (tmp_path / "rows.csv").write_text("x\n1\n")
    assert cli.main(["predict", str(tmp_path / "state.safetensors"), "--data",
                     str(tmp_path / "rows.csv")]) == 2
    line = one_error_line(capsys)
    assert f"what babysit resume {tmp_path} goes on from" in line
    assert "--resume" not in line


def test_a_tsv_out_is_separated_by_tabs(table_run, tmp_path):
    """`--out predictions.tsv` held commas, which a reader of a .tsv takes for one column."""
    out = tmp_path / "predictions.tsv"
    assert predict(table_run, out) == 0
    header, *rows = out.read_text().splitlines()
    assert header.split("\t")[:3] == ["predicted y", "P(a)", "P(b)"] and "," not in header
    assert len(rows) == 2 and all(len(row.split("\t")) == len(header.split("\t"))
                                  for row in rows)
