"""The label among the inputs, and validation rows that are training rows
(`babysit.data.leaks`)."""

from __future__ import annotations

import numpy as np

from babysit.data import leaks


def _table(n=300, d=8, classes=4, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, d)).astype(np.float32),
            rng.integers(0, classes, n))


def test_a_column_holding_one_value_per_class_is_the_label():
    X, y = _table()
    standardized = ((y - 1.5) / 1.1).astype(np.float32)
    assert leaks.label_columns(X, y, "classify") == []
    assert leaks.label_columns(np.c_[X, standardized], y, "classify") == [8]
    assert leaks.label_columns(np.c_[standardized, X], y, "classify") == [0]


def test_a_column_that_only_groups_the_classes_or_misses_a_row_is_not_the_label():
    X, y = _table()
    coarse = (y >= 2).astype(np.float32)                 # two values for four classes
    off = y.astype(np.float32)
    off[7] += 0.5                                         # one row of its class differs
    gap = y.astype(np.float32)
    gap[3] = np.nan
    for column in (coarse, off, gap):
        assert leaks.label_columns(np.c_[X, column], y, "classify") == []


def test_a_few_rows_agreeing_by_chance_name_no_column():
    """Binary features over 2 classes: 8 rows agree by chance with odds near 1/128; the rule
    needs LABEL_AGREEMENTS agreements within the classes."""
    y = np.array([0, 1] * 4)
    X = np.c_[y.astype(np.float32), np.ones(8, np.float32)]
    assert leaks.label_columns(X, y, "classify") == []
    y = np.array([0, 1] * 20)
    assert leaks.label_columns(np.c_[y.astype(np.float32)], y, "classify") == [0]


def test_a_regression_target_scaled_and_shifted_is_the_label_but_a_noisy_copy_is_not():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((500, 5))
    y = X @ rng.standard_normal(5)
    noisy = 2 * y + 3 + 0.05 * y.std() * rng.standard_normal(500)
    found = leaks.label_columns(np.c_[X, -2 * y + 3, noisy].astype(np.float32), y, "regress")
    assert found == [5]
    assert leaks.label_columns(X, y.reshape(-1, 1), "regress") == []
    assert leaks.label_columns(X, np.c_[y, y], "regress") == []   # two targets a row


def test_copied_rows_count_validation_rows_found_in_training_against_its_own_repeats():
    X, _ = _table()
    train, val = X[:200], X[200:]
    assert leaks.copied_rows(train, val) == {"val": 0.0, "train": 0.0}
    copied = np.r_[val[:60], train[:40]]
    assert leaks.copied_rows(train, copied) == {"val": 0.4, "train": 0.0}
    repeated = np.r_[train, train[:50]]                   # 100 of 250 rows have a twin
    assert leaks.copied_rows(repeated, val)["train"] == 0.4
    near = train[:1].copy()
    near[0, 0] = np.nextafter(near[0, 0], np.float32(np.inf))    # one float32 step away
    assert leaks.copied_rows(train, near)["val"] == 0.0
    zeros = np.zeros((4, 8), np.float32)
    assert leaks.copied_rows(zeros, -zeros)["val"] == 0.0         # bit for bit: -0.0 is not 0.0


def test_copied_rows_compares_nothing_too_large_or_of_another_width():
    X, _ = _table(n=10)
    assert leaks.copied_rows(X, X[:, :4]) is None
    assert leaks.copied_rows(X[:0], X) is None
    wide = np.zeros((leaks.COPIED_VALUES // 8 + 1, 8), np.float32)
    assert leaks.copied_rows(wide, wide[:1]) is None


def test_a_sparse_column_of_a_class_with_one_row_is_no_label():
    """Bag-of-words rows, one positive among them: a word that is 0 on every negative row and
    happens to be set on the positive one agrees 'within each class' for free. A class must
    hold two rows or more to vouch for its value."""
    rng = np.random.default_rng(0)
    X = (rng.random((200, 500)) < 0.01).astype(np.float32)
    y = np.zeros(200, np.int64)
    y[17] = 1
    assert leaks.label_columns(X, y, "classify") == []
    y[18] = 1
    X[17:19, 499], X[:17, 499], X[19:, 499] = 5.0, 0.0, 0.0   # a real leak, two rows a class
    assert leaks.label_columns(X, y, "classify") == [499]


def test_integer_ids_above_two_to_the_53_are_hashed_exactly():
    ids = np.arange(2000, dtype=np.int64) + 2**60
    train, val = ids[0::2].reshape(-1, 1), ids[1::2].reshape(-1, 1)
    assert leaks.copied_rows(train, val) == {"val": 0.0, "train": 0.0}


def test_the_regression_screen_reads_a_wide_table_without_copying_it():
    """256 rows of 20,000 float32 features, one of them the target: the screen runs in the
    table's own type, and only the candidates are read in float64."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((256, 20_000)).astype(np.float32)
    y = rng.standard_normal(256)
    X[:, 12_345] = (3 * y - 1).astype(np.float32)
    assert leaks.label_columns(X, y, "regress") == [12_345]


def test_the_label_one_hot_encoded_is_named_by_its_columns_together():
    """No one indicator gives four classes, but together they do; indicators of a coarser
    grouping (two groups of two classes) do not."""
    X, y = _table()
    one_hot = np.eye(4, dtype=np.float32)[y]
    assert leaks.label_columns(np.c_[X, one_hot], y, "classify") == [8, 9, 10, 11]
    grouped = np.eye(2, dtype=np.float32)[y // 2]
    assert leaks.label_columns(np.c_[X, grouped], y, "classify") == []


def test_words_shared_by_small_classes_and_two_near_labels_are_no_one_hot_label():
    """A reviewer's two healthy tables: (1) 100 rows of class 0 and 6 of each of three small
    classes, a word in every row of each small class and none of the others (class 0 has no
    mark of its own); (2) a team's department and building, each the team but for 4 rows, so
    that dept=C, dept=D, building=n, building=s each mark one team exactly: marks from two
    encoded columns are no label one-hot encoded."""
    rng = np.random.default_rng(0)
    y = np.r_[np.zeros(100, np.int64), np.repeat([1, 2, 3], 6)]
    words = (rng.random((118, 12)) < 0.15).astype(np.float32)
    words[:, :3] = 0
    for k in (1, 2, 3):
        words[y == k, k - 1] = 1
    assert leaks.label_columns(words, y, "classify") == []
    team = rng.integers(0, 4, 400)
    dept, building = team.copy(), team.copy()
    dept[np.flatnonzero(team == 0)[:4]] = 1
    building[np.flatnonzero(team == 3)[:4]] = 2
    X = np.c_[np.eye(4)[dept], np.eye(4)[building]].astype(np.float32)
    groups = ["dept"] * 4 + ["building"] * 4
    assert leaks.label_columns(X, team, "classify", groups) == []
    assert leaks.label_columns(X, team, "classify") == [2, 3, 4, 5]   # unnamed: read as one
