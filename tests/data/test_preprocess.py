"""Preprocessing: statistics from the training data only, as the notes insist."""

import json

import numpy as np
import pytest

from babysit.data import datasets
from babysit.data import preprocess as pp

SCALES = np.array([10.0, 5.0, 2.0, 1.0, 0.5, 0.1])


@pytest.fixture
def X():
    """Correlated data with a known spectrum: a random rotation of scaled Gaussians, shifted."""
    rng = np.random.default_rng(0)
    rotation, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    return rng.normal(size=(2000, 6)) * SCALES @ rotation + np.arange(6) * 3.0


def fitted_transforms():
    return [pp.MeanCenter(), pp.MeanCenter(per="global"),
            pp.MeanCenter(per="channel", image_shape=(1, 2, 3)), pp.Standardize(), pp.MinMax(),
            pp.MinMax(0, 1), pp.PCA(6), pp.Whiten("pca"), pp.Whiten("zca"),
            pp.Pipeline(pp.Standardize(), pp.Whiten("zca"))]


def covariance(Z):
    Zc = Z - Z.mean(axis=0)
    return Zc.T @ Zc / len(Z)


def test_mean_centering_uses_the_training_mean_on_other_data(X):
    center = pp.MeanCenter().fit(X[:1000])
    assert np.allclose(center.transform(X[:1000]).mean(axis=0), 0, atol=1e-10)
    assert np.allclose(center.transform(X[1000:]), X[1000:] - X[:1000].mean(axis=0))


def test_global_and_per_channel_means():
    rng = np.random.default_rng(1)
    images = rng.normal(size=(50, 4, 4, 3)) + np.array([1.0, 5.0, -2.0])   # H, W, C
    X = images.reshape(50, -1)
    per_channel = pp.MeanCenter(per="channel", image_shape=(4, 4, 3)).fit(X)
    assert np.allclose(per_channel.mean_, images.mean(axis=(0, 1, 2)))
    centred = per_channel.transform(X).reshape(50, 4, 4, 3)
    assert np.allclose(centred.mean(axis=(0, 1, 2)), 0, atol=1e-12)
    one = pp.MeanCenter(per="global").fit(X)
    assert one.mean_.shape == (1,)
    assert np.allclose(one.transform(X), X - X.mean())


def test_per_channel_needs_an_image_shape_that_fits():
    with pytest.raises(ValueError, match=r"needs image_shape, which must be an image.s shape "
                                         r"\(H, W, C\)"):
        pp.MeanCenter(per="channel")
    with pytest.raises(ValueError, match="holds 48 values, but X has 10 columns"):
        pp.MeanCenter(per="channel", image_shape=(4, 4, 3)).fit(np.ones((5, 10)))
    with pytest.raises(ValueError, match="per must be one of"):
        pp.MeanCenter(per="pixel")


def test_standardize_gives_zero_mean_unit_std_and_leaves_constant_features_finite(X):
    X = np.column_stack([X, np.full(len(X), 7.0)])
    Z = pp.Standardize().fit_transform(X)
    assert np.allclose(Z.mean(axis=0), 0, atol=1e-10)
    assert np.allclose(Z[:, :-1].std(axis=0), 1)
    assert np.all(Z[:, -1] == 0)


def test_a_column_constant_up_to_rounding_is_centred_not_blown_up():
    """Seven float64 0.1s have a std of 1.4e-17: rounding, not spread. Dividing by it would
    send a new 0.1000001 to 7e9; the column is treated as constant (scale 1) instead, while a
    narrow but real spread (a year over a decade) is still standardized."""
    X = np.column_stack([np.full(7, 0.1), 2000.0 + np.arange(7)])
    assert 0 < X[:, 0].std() < 1e-16
    std = pp.Standardize().fit(X)
    assert std.scale_[0] == 1.0 and std.scale_[1] == pytest.approx(2.0)
    new = std.transform(np.array([[0.1000001, 2003.0]]))
    assert abs(new[0, 0]) < 1e-6 and new[0, 1] == pytest.approx(0.0)


def test_minmax_maps_the_training_range_onto_low_high(X):
    Z = pp.MinMax().fit_transform(X)
    assert np.allclose(Z.min(axis=0), -1) and np.allclose(Z.max(axis=0), 1)
    Z = pp.MinMax(low=0, high=1).fit_transform(X)
    assert np.allclose(Z.min(axis=0), 0) and np.allclose(Z.max(axis=0), 1)
    with pytest.raises(ValueError, match="low < high"):
        pp.MinMax(low=1, high=1)


def test_pca_variance_keeps_the_fewest_components_explaining_that_fraction(X):
    pca = pp.PCA(variance=0.99).fit(X)
    # The spectrum computed independently, from the singular values of the centred data.
    singular = np.linalg.svd(X - X.mean(axis=0), compute_uv=False)
    ratio = singular**2 / np.sum(singular**2)
    k = pca.n_features_out_
    assert ratio[:k].sum() >= 0.99 > ratio[:k - 1].sum()
    assert 1 < k < 6                       # the data makes this a real choice
    assert np.allclose(pca.explained_variance_ratio_, ratio[:k])
    assert pca.transform(X).shape == (len(X), k)
    assert pp.PCA().fit(X).n_features_out_ == k       # variance=0.99 is the default


def test_pca_components_are_orthonormal_and_sorted(X):
    pca = pp.PCA(4).fit(X)
    assert np.allclose(pca.components_ @ pca.components_.T, np.eye(4))
    assert np.all(np.diff(pca.explained_variance_) < 0)
    assert np.allclose(pca.explained_variance_, SCALES[:4] ** 2, rtol=0.1)


def test_pca_whitening_makes_the_training_covariance_the_identity(X):
    Z = pp.Whiten(kind="pca", eps=1e-9).fit_transform(X)
    assert np.abs(covariance(Z) - np.eye(6)).max() < 1e-3


def test_eps_shrinks_each_direction_by_variance_over_variance_plus_eps(X):
    white = pp.Whiten(kind="pca", eps=0.5).fit(X)
    S = white.explained_variance_
    assert np.allclose(covariance(white.transform(X)), np.diag(S / (S + 0.5)), atol=1e-9)


def test_whitening_without_eps_refuses_a_flat_direction(X):
    flat = np.column_stack([X, X[:, 0] + X[:, 1]])           # 7 columns, rank 6
    with pytest.raises(ValueError, match="zero variance.*eps > 0"):
        pp.Whiten(eps=0).fit(flat)
    assert np.isfinite(pp.Whiten().fit_transform(flat)).all()


def test_zca_output_stays_closest_to_the_input_among_whitening_transforms(X):
    Xc = X - X.mean(axis=0)
    zca = pp.Whiten(kind="zca", eps=1e-9).fit_transform(X)
    pca = pp.Whiten(kind="pca", eps=1e-9).fit_transform(X)
    assert np.abs(covariance(zca) - np.eye(6)).max() < 1e-3
    distance = np.linalg.norm(zca - Xc)
    assert distance < np.linalg.norm(pca - Xc)
    # Every whitening transform is ZCA followed by a rotation; none of them gets closer.
    rng = np.random.default_rng(2)
    for _ in range(20):
        rotation, _ = np.linalg.qr(rng.normal(size=(6, 6)))
        assert distance < np.linalg.norm(zca @ rotation - Xc)


@pytest.mark.parametrize("transform", fitted_transforms(), ids=repr)
def test_inverse_transform_round_trips(transform, X):
    Z = transform.fit_transform(X)
    assert np.allclose(transform.inverse_transform(Z), X, atol=1e-8)


def test_reduced_pca_reconstructs_what_it_kept(X):
    pca = pp.PCA(2).fit(X)
    back = pca.inverse_transform(pca.transform(X))
    assert back.shape == X.shape
    assert np.allclose(pca.transform(back), pca.transform(X))


@pytest.mark.parametrize("transform", fitted_transforms(), ids=repr)
def test_statistics_in_float64_applied_in_float32(transform, X):
    Z = transform.fit_transform(X.astype(np.float32))
    assert Z.dtype == np.float32
    state = transform.to_state()[1]
    assert all(a.dtype == np.float64 for a in state.values())
    assert transform.fit_transform(X).dtype == np.float64


@pytest.mark.parametrize("transform", fitted_transforms(), ids=repr)
def test_transform_before_fit_is_a_clear_error(transform, X):
    with pytest.raises(ValueError, match="not fitted yet: call fit"):
        transform.transform(X)


def test_a_width_mismatch_names_both_widths(X):
    pca = pp.PCA(3).fit(X)
    with pytest.raises(ValueError, match="expects 6 features, got X with 5 columns"):
        pca.transform(X[:, :5])
    with pytest.raises(ValueError, match="expects 3 features, got X with 6 columns"):
        pca.inverse_transform(X)


def test_fit_refuses_nan_naming_row_and_column(X):
    X = X.copy()
    X[7, 2] = np.nan
    with pytest.raises(ValueError, match="row 7, column 2"):
        pp.Standardize().fit(X)


def test_pca_hyperparameters_are_checked():
    with pytest.raises(ValueError, match="not both"):
        pp.PCA(3, variance=0.9)
    with pytest.raises(ValueError, match="variance must be a fraction"):
        pp.PCA(variance=1.5)
    with pytest.raises(ValueError, match="more than the 6 features"):
        pp.PCA(7).fit(np.random.default_rng(0).normal(size=(10, 6)))


def test_hyperparameters_are_stored_as_given_and_learned_ones_end_in_underscore(X):
    pca = pp.PCA(variance=0.95)
    assert pca.get_params() == {"n_components": None, "variance": 0.95}
    assert pca.fit(X) is pca
    assert pca.get_params() == {"n_components": None, "variance": 0.95}
    assert {"mean_", "components_", "explained_variance_"} <= set(vars(pca))


@pytest.mark.parametrize("transform", fitted_transforms(), ids=repr)
def test_state_round_trips_through_json_and_safetensors(transform, X, tmp_path):
    from safetensors.numpy import load_file, save_file

    transform.fit(X)
    config, arrays = transform.to_state()
    save_file(arrays, str(tmp_path / "pre.safetensors"))
    config = json.loads(json.dumps(config))
    rebuilt = pp.from_state(config, load_file(str(tmp_path / "pre.safetensors")))
    assert type(rebuilt) is type(transform)
    assert np.array_equal(rebuilt.transform(X), transform.transform(X))


def test_from_state_refuses_an_unknown_class():
    with pytest.raises(ValueError, match="unknown transform class 'Pickle'"):
        pp.from_state({"class": "Pickle"}, {})


def test_pipeline_fits_each_step_on_the_output_of_the_last(X):
    pipe = pp.Pipeline(pp.MeanCenter(), pp.PCA(3), pp.Whiten())
    Z = pipe.fit_transform(X)
    assert Z.shape == (len(X), 3) and pipe.n_features_out_ == 3
    assert pipe.steps[1].n_features_in_ == 6 and pipe.steps[2].n_features_in_ == 3
    assert np.abs(covariance(Z) - np.eye(3)).max() < 1e-3
    with pytest.raises(ValueError, match="Pipeline step 1 must be"):
        pp.Pipeline(pp.MeanCenter(), np.mean)


def test_pca_components_as_images(X):
    images = pp.PCA(4).fit(X).components_images((2, 3), top=2)
    assert images.shape == (2, 2, 3)
    assert np.allclose(images.min(axis=(1, 2)), 0) and np.allclose(images.max(axis=(1, 2)), 1)
    with pytest.raises(ValueError, match="fitted on 6 features"):
        pp.PCA(4).fit(X).components_images((3, 3))


def test_dataset_preprocessed_fits_on_the_training_split_only():
    data = datasets.load("digits")
    out = data.preprocessed(pp.Standardize())
    assert np.allclose(out.preprocess.mean_, data.train.X.mean(axis=0))
    assert not np.allclose(out.preprocess.mean_, data.val.X.mean(axis=0))
    assert np.allclose(out.val.X, (data.val.X - out.preprocess.mean_) / out.preprocess.scale_,
                       atol=1e-5)
    assert out.train.X.dtype == np.float32 and out.val.y is data.val.y
    assert data.preprocessed(None) is data


@pytest.mark.parametrize("make", [pp.MeanCenter, pp.Standardize, pp.MinMax,
                                  lambda: pp.PCA(10)])
def test_preprocessed_without_a_copy_overwrites_the_splits_with_the_same_numbers(make):
    """copy=False (how the command line preprocesses) holds the data once: a transform that
    keeps the width writes over the arrays it came from, block by block, with the numbers a
    copy gets, bit for bit."""
    copied = datasets.load("digits").preprocessed(make())
    data = datasets.load("digits")
    arrays = [data.train.X, data.val.X, data.test.X]
    out = data.preprocessed(make(), copy=False)
    for before, got, want in zip(arrays, (out.train.X, out.val.X, out.test.X),
                                 (copied.train.X, copied.val.X, copied.test.X), strict=True):
        np.testing.assert_array_equal(got, want)
        assert (got is before) == (got.shape == before.shape)     # PCA narrows: a new array


def test_statistics_accumulate_in_float64_from_float32_data():
    """No float64 copy of the data, and the statistics of one: float32 data and its float64
    copy give the same mean and scale."""
    X32 = datasets.load("digits").train.X
    a, b = pp.Standardize().fit(X32), pp.Standardize().fit(X32.astype(np.float64))
    assert a.mean_.dtype == np.float64
    np.testing.assert_array_equal(a.mean_, b.mean_)
    np.testing.assert_array_equal(a.scale_, b.scale_)


def test_images_stay_images_only_where_columns_stay_pixels():
    data = datasets.load("digits")
    assert data.preprocessed(pp.Whiten(kind="zca")).image_shape == (8, 8)
    assert data.preprocessed(pp.Pipeline(pp.MeanCenter(), pp.MinMax())).image_shape == (8, 8)
    assert data.preprocessed(pp.Whiten(kind="pca")).image_shape is None
    assert data.preprocessed(pp.Pipeline(pp.MeanCenter(), pp.PCA(10))).image_shape is None


@pytest.mark.parametrize("name", pp.CHOICES)
def test_every_command_line_choice_names_a_transform(name):
    name = pp.resolve(name, images=False)[0]
    transform = pp.get(name)
    assert (transform is None) == (name == "none")
    with pytest.raises(ValueError, match="choose one of"):
        pp.get("sphere")


def test_auto_centres_images_and_standardizes_tables():
    assert pp.resolve("auto", images=True)[0] == "center"
    assert pp.resolve("auto", images=False)[0] == "standardize"
    assert pp.resolve("minmax", images=True) == ("minmax", "as asked")
    with pytest.raises(ValueError, match="resolve it first"):
        pp.get("auto")


def test_standardize_can_keep_one_hot_columns_as_they_are():
    X = np.array([[0.0, 10.0], [0.0, 20.0], [1.0, 30.0], [0.0, 40.0]])
    kept = pp.Standardize(keep_binary=True).fit(X)
    Z = kept.transform(X)
    assert Z[:, 0].tolist() == [0, 0, 1, 0]               # a rare 1 stays 1, not sqrt(3)
    assert np.allclose([Z[:, 1].mean(), Z[:, 1].std()], [0, 1])
    assert pp.Standardize().fit_transform(X)[2, 0] == pytest.approx(np.sqrt(3))
    assert isinstance(pp.get("standardize"), pp.Standardize) and pp.get("standardize").keep_binary


@pytest.mark.parametrize("kind", ["pca", "zca"])
def test_whitening_keeps_a_row_off_a_flat_direction_within_the_training_spread(kind):
    # one-hot columns sum to 1 in every training row: a direction with no variance at all
    rng = np.random.default_rng(0)
    one_hot = np.eye(3, dtype=np.float32)[np.arange(90) % 3]
    X = np.column_stack([rng.normal(size=90).astype(np.float32), one_hot])
    white = pp.Whiten(kind).fit(X)
    bound = np.abs(white.transform(X)).max()
    unseen = np.array([[0.1, 0, 0, 0]], dtype=np.float32)    # an unseen category: all zeros
    assert np.abs(white.transform(unseen)).max() < bound
    assert np.allclose(white.inverse_transform(white.transform(unseen)), unseen, atol=1e-5)
