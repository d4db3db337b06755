"""The rows of a CSV file: `babysit predict` keeps every one (a blank row predicted as a row
of missing cells, so the output lines up with the input), and every message about a row names
the line it is on, after blank lines, without a header, or after a cell that spans lines."""

import warnings

import numpy as np
import pytest

from babysit import cli
from babysit.data import datasets, formats, preprocess, tabular
from babysit.nn import layers
from babysit.runs.predict import predict_table
from babysit.training import checkpoint

HEADER = ["a", "b", "color", "label"]


def table_rows(n=40):
    return [[f"{(7 * i % 10) / 10}", f"{(3 * i % 10) / 10}", ["red", "blue"][i % 3 == 0],
             str(i % 2)] for i in range(n)]


def write(path, lines):
    path.write_text("\n".join(lines) + "\n")
    return path


def csv_lines(header, rows):
    return [",".join(row) for row in ([header] if header else []) + rows]


def saved_model(tmp_path, header=True):
    """A small untrained classifier on a, b, color, saved as a run saves it (fast: the tests
    are about rows and lines, not about what the network learned)."""
    path = write(tmp_path / "cls.csv", csv_lines(HEADER if header else None, table_rows()))
    data = datasets.load(path, target="label" if header else "4", header=header)
    data = data.preprocessed(preprocess.Standardize())
    net = layers.mlp(data.n_features, [4], data.n_outputs, seed=0)
    meta = {tabular.CHECKPOINT_KEY: tabular.to_checkpoint(data.table, data.target),
            "config": {"header": header}}
    return checkpoint.save(tmp_path / "model", net, preprocess=data.preprocess, meta=meta)


def test_predict_keeps_blank_rows_so_the_predictions_line_up_with_the_rows(tmp_path):
    model = saved_model(tmp_path)
    rows = write(tmp_path / "new.csv", ["a,b,color", "0.1,0.2,red", ",,", "", "   ",
                                        "0.3,0.1,blue", ""])
    with pytest.warns(formats.BlankRowsWarning, match=r"3 blank rows \(lines 3, 4, 5\)"):
        result = predict_table(model, rows)
    assert len(result.labels) == 5                  # the trailing blank line shifts nothing
    blank = result.probabilities[1:4]
    assert np.isfinite(blank).all() and (blank == blank[0]).all()   # all missing, alike
    plain = write(tmp_path / "plain.csv", ["a,b,color", "0.1,0.2,red", "0.3,0.1,blue"])
    expected = predict_table(model, plain).probabilities
    np.testing.assert_array_equal(result.probabilities[[0, 4]], expected)


def test_babysit_predict_writes_one_row_per_input_row(tmp_path, capsys):
    model = saved_model(tmp_path)
    rows = write(tmp_path / "blank2.csv", ["a,b,color", "0.1,0.2,red", ",,", "0.3,0.1,blue"])
    out = tmp_path / "bl.csv"
    assert cli.main(["predict", str(model), "--data", str(rows), "--out", str(out)]) == 0
    assert len(out.read_text().splitlines()) == 1 + 3
    assert "1 blank row (line 3) predicted as if every cell were missing" in \
        capsys.readouterr().err


def test_predict_names_the_line_of_a_bad_cell_after_blank_lines(tmp_path):
    model = saved_model(tmp_path)
    rows = write(tmp_path / "bad.csv", ["a,b,color", "0.1,0.2,red", "", "0.3,0.1,blue", "",
                                        "zzz,0.1,red"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                  # the blank rows' own warning
        with pytest.raises(ValueError, match=r"data row 4 \(line 6\) holds 'zzz'"):
            predict_table(model, rows)


def test_training_names_the_line_of_a_bad_cell_after_blank_lines(tmp_path):
    lines = csv_lines(HEADER, table_rows(60))
    lines = lines[:10] + ["", "", ""] + lines[10:]           # lines 11-13 are blank
    lines[57] = "oops," + lines[57].split(",", 1)[1]          # line 58: data row 53
    path = write(tmp_path / "blank_train.csv", lines)
    with pytest.raises(ValueError, match=r"column 'a' holds numbers, but data row 53 "
                                         r"\(line 58\) holds 'oops'"):
        datasets.load(path, target="label")


def test_without_a_header_the_first_line_is_line_1(tmp_path, capsys):
    lines = csv_lines(None, table_rows(40))
    lines[9] = "word," + lines[9].split(",", 1)[1]            # line 10: data row 9
    path = write(tmp_path / "nohdr_bad.csv", lines)
    assert cli.main(["train", "--data", str(path), "--no-header", "--target", "4",
                     "--epochs", "1", "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "data row 9 (line 10) holds 'word'" in err, err


def test_a_validation_file_names_its_own_lines(tmp_path):
    train = write(tmp_path / "cls.csv", csv_lines(HEADER, table_rows()))
    val = write(tmp_path / "val.csv", ["a,b,color,label", "0.1,0.2,red,0", "", "0.3,0.1,blue,1",
                                       "", "0.5,oops,red,1"])
    with pytest.raises(ValueError, match=r"val\.csv: column 'b' holds numbers, but data row 2 "
                                         r"\(line 6\) holds 'oops'"):
        datasets.load(train, target="label", val_data=val)


def test_a_row_of_the_wrong_width_names_its_line(tmp_path):
    path = write(tmp_path / "wide.csv", ["a,b,label", "1,2,0", "", "", "3,4,1", "5,6,7,0"])
    with pytest.raises(ValueError, match=r"has 4 cells but the header has 3 \(data row 2, "
                                         r"line 6\)"):
        formats.read_table(path)


def test_training_rows_skip_blank_lines_and_keep_their_lines(tmp_path):
    path = write(tmp_path / "t.csv", ["a,b,label", "1,2,0", "", " , ", "3,4,1", "5,6,0"])
    header, cells = formats.read_table(path)
    assert header == ["a", "b", "label"] and cells.tolist()[1] == ["3", "4", "1"]
    assert cells.lines.tolist() == [2, 5, 6]
    header, cells = formats.read_table(path, header=False)
    assert cells.lines.tolist() == [1, 2, 5, 6]


def test_a_cell_spanning_lines_puts_the_rows_after_it_further_down(tmp_path):
    path = write(tmp_path / "notes.csv", ["a,note,label", '1,"two', 'lines",0', "2,x,1",
                                          "zz,y,0", "4,z,1"])
    header, cells = formats.read_table(path)
    assert cells.lines.tolist() == [2, 4, 5, 6]
    with pytest.raises(ValueError, match=r"data row 2 \(line 5\) holds 'zz'"):
        tabular.TableEncoder().fit(cells[:, :2], header[:2])


def test_cells_keep_the_lines_of_the_rows_selected(tmp_path):
    path = write(tmp_path / "t.csv", ["a,b", "1,x", "", "2,y", "3,z"])
    _, cells = formats.read_table(path)
    assert cells[[2, 0]].lines.tolist() == [5, 2]
    assert cells[:, 1].lines.tolist() == [2, 4, 5]
    assert cells[np.array([False, True, True])][:, [1]].lines.tolist() == [4, 5]
    assert cells[1:].lines.tolist() == [4, 5]
    assert cells[0].lines is None and cells.T.lines is None     # not rows: no lines
    assert type(np.asarray(cells)) is np.ndarray
    table = tabular.TableEncoder().fit(np.array([["1"], ["2"]]), ["b"])
    with pytest.raises(ValueError, match=r"data row 0 \(line 4\) holds 'y'"):
        table.transform(cells[1:, 1:])           # rows numbered from 0, lines as carried
    with pytest.raises(ValueError, match=r"data row 7 \(line 5\) holds 'z'"):
        table.transform(cells[[2], 1:], rows=[7])


def test_predict_without_a_header_names_the_line(tmp_path):
    model = saved_model(tmp_path, header=False)
    rows = write(tmp_path / "new.csv", ["0.1,0.2,red", "0.3,zz,blue"])
    with pytest.raises(ValueError, match=r"data row 1 \(line 2\) holds 'zz'"):
        predict_table(model, rows)


def test_a_missing_target_after_blank_lines_names_its_line(tmp_path):
    lines = csv_lines(HEADER, table_rows(20))
    lines = lines[:3] + [""] + lines[3:]
    lines[6] = lines[6].rsplit(",", 1)[0] + ","                # line 7: data row 4
    path = write(tmp_path / "t.csv", lines)
    with pytest.raises(ValueError, match=r"data row 4 \(line 7\)"):
        datasets.load(path, target="label")


def test_lines_ending_in_a_carriage_return_alone_are_read(tmp_path):
    # an old Mac's CSV was refused: "new-line character seen in unquoted field"
    path = tmp_path / "cr.csv"
    path.write_bytes(b"a,b,label\r1,2,p\r3,4,q\r5,x,p\r")
    header, cells = formats.read_table(path)
    assert header == ["a", "b", "label"] and cells.tolist()[1] == ["3", "4", "q"]
    assert cells.lines.tolist() == [2, 3, 4]


def test_dates_of_a_split_part_without_rows_are_read(tmp_path):
    # a CSV's default split has no test part: dates not written as ISO failed on its 0 rows
    rows = [f"{i % 9},{i % 12 + 1:02d}/{i % 28 + 1:02d}/2024,{'pq'[i % 2]}" for i in range(60)]
    path = tmp_path / "d.csv"
    path.write_text("a,when,label\n" + "\n".join(rows) + "\n")
    data = datasets.load(path, target="label")
    assert len(data.test.y) == 0 and len(data.train.y) + len(data.val.y) == 60


@pytest.mark.parametrize("cell", ["-", "inf"])
def test_a_regression_target_that_is_no_number_is_named_by_its_place_in_the_file(tmp_path,
                                                                                 cell):
    # it was named by its place in the training part ("row 120"), without a line
    rows = [f"{i},{100 + i}" for i in range(200)]
    rows[150] = f"150,{cell}"
    path = tmp_path / "prices.csv"
    path.write_text("a,price\n\n" + "\n".join(rows) + "\n")
    with pytest.raises(ValueError, match=rf"holds '{cell}' in data row 150 \(line 153\), "
                                         r"which is no finite number"):
        datasets.load(path, target="price", task="regress")


def test_blank_lines_above_the_header_are_skipped_and_a_bad_cell_keeps_its_line(tmp_path):
    """An export that starts with an empty line (or one of spaces) has its header on the
    first line that holds anything; the lines counted are still the file's."""
    rows = table_rows()
    rows[5][0] = "oops"
    path = write(tmp_path / "t.csv", ["", "   ", *csv_lines(HEADER, rows)])
    with pytest.raises(ValueError, match=r"data row 5 \(line 9\)"):
        datasets.load(path, target="label")
    rows[5][0] = "0.5"
    names, cells = formats.read_table(write(tmp_path / "u.csv", ["", *csv_lines(HEADER, rows)]))
    assert names == HEADER and cells.shape == (40, 4) and cells.lines[0] == 3


def test_a_quoted_name_holding_a_comma_does_not_decide_the_separator(tmp_path):
    path = write(tmp_path / "s.csv", ['"Einkommen, netto";alter;klasse', "1200;34;a",
                                      "950;51;b"])
    names, cells = formats.read_table(path)
    assert names == ["Einkommen, netto", "alter", "klasse"]
    assert cells.tolist() == [["1200", "34", "a"], ["950", "51", "b"]]
