"""What the commands write is theirs to write: `search` refuses an --out holding another run,
`report RUN1 RUN2 --out FILE` refuses a folder and, without --force, a file that exists, and
writes its page whole; `check` and `lr-find` refuse a bad option before any folder is made."""

import json
from pathlib import Path

import pytest

from babysit import cli
from babysit.report import compare

SMALL = ["--hidden", "10", "--seed", "3", "--no-report"]


def one_line_error(capsys, argv) -> str:
    """Run the CLI; assert status 2 and a single line on stderr; return that line."""
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """Two finished one-epoch runs, r1 and r2, in one folder."""
    root = tmp_path_factory.mktemp("runs")
    for name in ("r1", "r2"):
        assert cli.main(["train", "--epochs", "1", *SMALL, "--out", str(root / name)]) == 0
    return root / "r1", root / "r2"


def _files(folder) -> dict:
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def test_search_refuses_an_out_holding_a_run_and_leaves_it_as_it_was(two_runs, capsys):
    """It replaced the run's config.json, history.json, best.safetensors and report, so that
    `babysit resume` of the run broke."""
    r1 = two_runs[0]
    before = _files(r1)
    line = one_line_error(capsys, ["search", "--trials", "2", "--stages", "2:1", "--top-k", "1",
                                   *SMALL, "--out", str(r1)])
    assert f"--out {r1} already holds" in line and "best.safetensors" in line
    assert _files(r1) == before              # no lock, no journal, config.json the run's


def test_search_resumes_its_own_folder(tmp_path, capsys):
    """A folder holding a search's study.journal is the search's: running it again goes on."""
    out = tmp_path / "search"
    argv = ["search", "--trials", "2", "--stages", "2:1", "--top-k", "1", *SMALL,
            "--out", str(out)]
    assert cli.main(argv) == 0
    assert (out / "study.journal").is_file() and (out / "history.json").is_file()
    assert cli.main(argv) == 0
    assert "2 trials finished" in capsys.readouterr().out


def test_report_refuses_an_out_that_exists_unless_forced(two_runs, tmp_path, capsys):
    table = tmp_path / "table.csv"
    table.write_text("a,b\n1,2\n")
    argv = ["report", *map(str, two_runs), "--out", str(table)]
    line = one_line_error(capsys, argv)
    assert f"--out {table} exists: add --force" in line
    assert table.read_text() == "a,b\n1,2\n"
    assert cli.main([*argv, "--force"]) == 0
    assert table.read_text().startswith("<!")


def test_report_writes_a_new_out_and_its_folder(two_runs, tmp_path, capsys):
    page = tmp_path / "pages" / "both.html"
    assert cli.main(["report", *map(str, two_runs), "--out", str(page)]) == 0
    assert "2 runs compared" in page.read_text()
    assert [p.name for p in page.parent.iterdir()] == ["both.html"]  # no temporary file left


def test_a_comparison_by_default_replaces_its_own_page_and_no_other(two_runs, capsys):
    """Every comparison wrote compare.html beside its first run: comparing other runs replaced
    the earlier comparison's page without a word."""
    first, second = two_runs
    assert cli.main(["report", str(first), str(second)]) == 0
    assert cli.main(["report", str(second), str(first)]) == 0
    pages = sorted(p.name for p in first.parent.glob("compare-*.html"))
    assert pages == sorted([f"compare-{first.name}-{second.name}.html",
                            f"compare-{second.name}-{first.name}.html"])
    assert cli.main(["report", str(first), str(second)]) == 0     # the same runs: its page
    assert len(list(first.parent.glob("compare-*.html"))) == 2


def test_report_refuses_a_folder_as_out(two_runs, tmp_path, capsys):
    line = one_line_error(capsys, ["report", *map(str, two_runs), "--out", str(tmp_path)])
    assert f"--out {tmp_path} is a folder" in line and "compare.html" in line
    assert "Is a directory" not in line


def test_report_refuses_force_without_out(two_runs, capsys):
    line = one_line_error(capsys, ["report", *map(str, two_runs), "--force"])
    assert "--force" in line and "--out" in line


def test_a_page_whose_writing_fails_leaves_the_earlier_page_as_it_was(two_runs, tmp_path,
                                                                      monkeypatch):
    """Written in place, a full disk left half a page where the whole one was."""
    page = tmp_path / "compare.html"
    page.write_text("the earlier page")
    write_text = Path.write_text

    def half_then_full(self, text, *args, **kwargs):
        write_text(self, text[:len(text) // 2], *args, **kwargs)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_text", half_then_full)
    with pytest.raises(OSError, match="No space left"):
        compare.write_comparison(list(two_runs), page)
    monkeypatch.undo()
    assert page.read_text() == "the earlier page"
    assert [p.name for p in tmp_path.iterdir()] == ["compare.html"]  # no temporary file left


def test_write_comparison_refuses_a_folder(two_runs, tmp_path):
    with pytest.raises(ValueError, match="is a folder; expected a .html file name"):
        compare.write_comparison(list(two_runs), tmp_path)


@pytest.mark.parametrize("argv, flag, expected", [
    (["check", "--step", "0"], "--step", "expected a positive finite number"),
    (["check", "--step", "nan"], "--step", "expected a positive finite number"),
    (["check", "--burn-in", "-5"], "--burn-in", "expected a whole number from 0 to 100,000"),
    (["lr-find", "--iterations", "0"], "--iterations", "expected a whole number, at least 2"),
    (["lr-find", "--iterations", "1"], "--iterations", "expected a whole number, at least 2"),
    (["lr-find", "--start", "0"], "--start", "expected a positive finite number"),
    (["lr-find", "--end", "inf"], "--end", "expected a positive finite number"),
    # a step this large read as a wrong gradient in correct code; a burn-in this long ran on
    (["check", "--step", "1"], "--step", "expected a step of at most 0.1"),
    (["check", "--burn-in", "99999999999"], "--burn-in", "from 0 to 100,000"),
])
def test_a_bad_check_or_lr_find_option_is_refused_before_any_folder(tmp_path, capsys, argv,
                                                                    flag, expected):
    """`check --step 0` wrote k2/config.json, then failed naming the check's `h`."""
    out = tmp_path / "k2"
    line = one_line_error(capsys, [*argv, "--out", str(out)])
    assert f"argument {flag}: expected " in line and expected in line and " h " not in line
    assert not out.exists()


def test_lr_find_refuses_a_start_above_the_end_before_any_folder(tmp_path, capsys):
    out = tmp_path / "k2"
    line = one_line_error(capsys, ["lr-find", "--start", "10", "--end", "1", "--out", str(out)])
    assert "--start below --end" in line and "got --start 10 and --end 1" in line
    assert not out.exists()


def test_search_keeps_a_setting_given_as_a_flag_out_of_its_default_space(tmp_path, capsys):
    # --hidden 10 was searched over all the same, without a word
    out = tmp_path / "s"
    assert cli.main(["search", "--hidden", "10", "--trials", "2", "--stages", "2:1",
                     "--top-k", "1", "--no-report", "--out", str(out)]) == 0
    assert "--hidden as given, not searched; searching lr, reg, dropout" in \
        capsys.readouterr().out
    trials = json.loads((out / "trials.json").read_text())
    assert len(trials) == 2 and all("lr" in t and "hidden" not in t for t in trials)


@pytest.mark.parametrize("argv, expected", [
    (["train", "--out", ""], "argument --out: expected a path, got an empty one"),
    (["train", "--ep", "2"], "unrecognized arguments: --ep 2"),   # not read as --epochs
    (["search", "--param", "lr=loguniform(1e-3,1e-2)", "--param", "lr=loguniform(1e-2,1e-1)"],
     "--param names lr more than once"),
    (["search", "--lr", "0.5", "--param", "lr=loguniform(1e-4,1e-3)"],
     "--lr given both as a flag and as a --param"),
    (["search", "--seed", "none"], "a search needs a fixed --seed"),
    (["search", "--storage", "sqlite://"], "is an in-memory SQLite database"),
    (["search", "--storage", ""], "storage is empty"),
    (["search", "--workers", "1000"], "workers must be a positive integer up to 64"),
    (["train", "--reg", "1e300"], "argument --reg: reg must be in [0, 3.40282e+38], got 1e+300"),
    (["train", "--input-noise", "1e300"], "argument --input-noise: input_noise must be in [0, 3"),
    # the best trial's command split the data with the searched seed: another score
    (["search", "--param", "seed=intuniform(0,3)"], "space: seed also splits the data"),
    (["search", "--trials", "3", "--stages", "2:1"], "trials=3 but the stages hold 2"),
    # negative numbers argparse took for options ("expected one argument")
    (["train", "--reg", "-1e-3"], "argument --reg: reg must be in [0, 3.40282e+38], got -0.001"),
    (["train", "--lr", "-inf"], "argument --lr: lr must be > 0, got -inf"),
    (["train", "--input-noise", "-2E1"], "argument --input-noise: input_noise must be in [0, 3"),
])
def test_an_option_silently_dropped_or_changed_before_is_refused_by_name(tmp_path, capsys, argv,
                                                                        expected):
    """Each was taken: a run written into the current folder, an abbreviation read as another
    option, one of two values dropped, a seed of None searched as 0, a database that ends with
    its connection, 1000 processes started behind a barrier."""
    line = one_line_error(capsys, [*argv, "--data", "digits", "--epochs", "1",
                                   *([] if "--out" in argv else ["--out", str(tmp_path / "o")])])
    assert expected in line
    assert not (tmp_path / "o").exists()   # refused before the run's folder is made
