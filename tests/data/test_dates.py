"""Dates as spreadsheets and people write them: Excel's 3/15/21, month names (15 Mar 2021,
Mar 15, 2021, 15-Mar-2021), a year and month (2021-03); and a date in ISO form read in any
date column of new rows, whatever the training rows wrote."""

import numpy as np
import pytest

from babysit.cli import main
from babysit.data import dates, tabular


def column(*cells):
    return np.array(cells, dtype=str)


def parsed(*cells):
    """(format, [[year, month, day of year], ...]) of a training column, None if no dates."""
    read = dates.parse(column(*cells), np.zeros(len(cells), bool))
    return None if read is None else (read[1], dates.features(read[0])[:, :3].tolist())


@pytest.mark.parametrize("written, fmt", [
    (["3/15/21", "12/1/20"], "mdy"),                     # Excel's US short date, m/d/yy
    (["15/03/21", "1/12/20"], "dmy"),
    (["15 Mar 2021", "1 Dec 2020"], "dmony"),
    (["15-Mar-2021", "01-dec-2020"], "dmony"),
    (["15-MAR-21", "1-Dec-20"], "dmony"),                # Excel's d-mmm-yy, Oracle's DD-MON-YY
    (["15 March 2021", "1 december 2020"], "dmony"),
    (["Mar 15, 2021", "Dec 1, 2020"], "monyd"),
    (["March 15 2021", "DECEMBER 1, 2020"], "monyd"),
    (["Mar. 15, 2021", "Dec. 1, 2020"], "monyd"),
])
def test_excel_and_month_name_dates_are_read(written, fmt):
    assert parsed(*written) == (fmt, [[2021, 3, 74], [2020, 12, 336]])


def test_a_year_and_month_is_the_first_of_the_month():
    assert parsed("2021-03", "2020-12") == ("iso", [[2021, 3, 60], [2020, 12, 336]])
    assert parsed("2019-20", "2020-21") is None          # seasons, not months


def test_two_digit_years_follow_pythons_percent_y():
    # 69-99 are the 1900s, 00-68 the 2000s, as datetime.strptime("%y") reads them
    assert parsed("1/1/69", "1/1/99", "1/1/00", "1/1/68")[1] == [
        [1969, 1, 1], [1999, 1, 1], [2000, 1, 1], [2068, 1, 1]]
    assert parsed("1-Jan-69", "1-Jan-68")[1] == [[1969, 1, 1], [2068, 1, 1]]


def test_two_digit_years_need_slashes_or_a_month_name():
    assert parsed("1.2.3", "2.7.18") is None             # versions, not dates
    assert parsed("15.03.21", "01.02.21") is None
    assert parsed("15 Foo 2021", "1 Bar 2020") is None   # no month by that name
    assert parsed("Mar 15, 21", "Dec 1, 20") is None     # Mar 15, 21: the year is unclear


def test_a_cell_in_iso_form_is_read_in_any_date_column():
    days = dates.read(column("2019-06-17", "06/17/2019", ""), np.array([0, 0, 1], bool), "mdy")
    assert days[0] == days[1] and np.isnan(days[2])
    dmony = dates.read(column("2019-06-17", "17 Jun 2019"), np.zeros(2, bool), "dmony")
    assert dmony[0] == dmony[1]
    with pytest.raises(dates.NotADate, match=r"row 1 holds '2019-02-30', which is no date in "
                                             r"the ISO 8601"):
        dates.read(column("06/17/2019", "2019-02-30"), np.zeros(2, bool), "mdy")


def test_the_encoder_names_the_format_a_bad_cell_was_read_in():
    enc = tabular.TableEncoder().fit(column("06/17/2019", "04/11/2019")[:, None], ["when"])
    with pytest.raises(ValueError, match=r"'2019-02-30', which is no date in the ISO 8601 "
                                         r"\(2024-03-01\) format; fix"):
        enc.transform(column("2019-02-30")[:, None])
    with pytest.raises(ValueError, match=r"'2019/06/17', which is no date in the "
                                         r"month/day/year format of the training rows"):
        enc.transform(column("2019/06/17")[:, None])


def test_predict_reads_iso_dates_for_a_model_trained_on_month_day_year(tmp_path, capsys):
    days = np.datetime64("2019-01-01") + np.arange(60) * 5
    us = [f"{d.month:02d}/{d.day:02d}/{d.year}" for d in days.astype(object)]
    rows = [f"{u},{i % 7 / 7:.3f},{'ab'[i % 2]}" for i, u in enumerate(us)]
    (tmp_path / "train.csv").write_text("\n".join(["when,x,y", *rows]) + "\n")
    run = tmp_path / "run"
    assert main(["train", "--data", str(tmp_path / "train.csv"), "--target", "y",
                 "--epochs", "1", "--no-report", "--out", str(run)]) == 0
    assert "column 'when': dates (month/day/year)" in capsys.readouterr().out
    (tmp_path / "new.csv").write_text("when,x\n2019-06-17,0.1\n06/17/2019,0.1\n")
    out = tmp_path / "p.csv"
    assert main(["predict", str(run), "--data", str(tmp_path / "new.csv"), "--out",
                 str(out)]) == 0
    first, second = out.read_text().splitlines()[1:]
    assert first == second                               # the same day, the same prediction
