"""Ensembles average probabilities (a regression's: predicted values); distillation trains on
a teacher's softened ones."""

import json

import numpy as np
import pytest

import babysit as bs
from babysit.check import numerical_gradient, rel_error
from babysit.nn.losses import softmax
from babysit.runs import ensemble
from babysit.runs.ensemble import DistillationLoss, Ensemble, SoftTargetCrossEntropy
from babysit.training import checkpoint


def make_trainer(seed, epochs=3, hidden=(32,), average=None):
    net = bs.mlp(64, list(hidden), 10, seed=seed)
    return bs.Trainer(net, bs.losses.SoftmaxCrossEntropy(), bs.optim.Adam(3e-3),
                      batch_size=64, epochs=epochs, seed=seed, average=average, progress=False)


@pytest.fixture(scope="module")
def three(digits_split):
    return ensemble.of_seeds(make_trainer, [0, 1, 2], *digits_split.train, val=digits_split.val)


def test_the_ensemble_averages_its_members_probabilities(three, digits_split):
    X = digits_split.test.X
    each = [t.predict_proba(X) for t in three.models]
    proba = three.predict_proba(X)
    np.testing.assert_allclose(proba, np.mean(each, axis=0), rtol=1e-6)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    assert np.array_equal(three.predict(X), proba.argmax(axis=1))
    assert three.accuracy(X, digits_split.test.y) == float(
        (proba.argmax(axis=1) == digits_split.test.y).mean())


def test_seeds_give_different_members(three, digits_split):
    assert len(three) == 3
    w = [t.net.params["0.W"].value for t in three.models]
    assert not np.array_equal(w[0], w[1]) and not np.array_equal(w[1], w[2])
    accs = three.member_accuracies(*digits_split.test)
    assert accs == [t.accuracy(*digits_split.test) for t in three.models]


def test_a_regression_ensemble_averages_its_members_values():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4)).astype(np.float32)
    y = (X @ np.array([1.0, -2.0, 0.5, 0.0]) + rng.normal(0, 0.1, 200)).astype(np.float32)

    def regressor(seed):
        return bs.Trainer(bs.mlp(4, [16], 1, seed=seed), bs.losses.MeanSquaredError(),
                          bs.optim.Adam(1e-2), batch_size=32, epochs=5, seed=seed,
                          progress=False)

    pair = ensemble.of_seeds(regressor, [0, 1], X, y, task="regress")
    each = pair.member_values(X)
    assert [v.shape for v in each] == [(200,), (200,)] and not np.array_equal(*each)
    np.testing.assert_allclose(each[0], pair.models[0].scores(X)[:, 0], rtol=1e-6)
    np.testing.assert_allclose(pair.predict_values(X), (each[0] + each[1]) / 2, rtol=1e-6)
    assert np.array_equal(pair.predict(X), pair.predict_values(X))
    # the mean of two members errs less than the members do on average (squared error: Jensen)
    errors = [np.mean((v - y) ** 2) for v in each]
    assert np.mean((pair.predict(X) - y) ** 2) <= np.mean(errors)
    members, mean = pair.evaluate(X, y, restore=lambda v: 10 * np.asarray(v))  # in units
    assert [m["rmse"] for m in members] == pytest.approx([10 * np.sqrt(e) for e in errors])
    assert mean["rmse"] == pytest.approx(10 * np.sqrt(np.mean((pair.predict(X) - y) ** 2)))
    with pytest.raises(ValueError, match="task is 'regress': it has no class probabilities"):
        pair.predict_proba(X)
    with pytest.raises(ValueError, match="task is 'classify': it has no predicted values"):
        Ensemble(pair.models).member_values(X)
    with pytest.raises(ValueError, match="task must be"):
        Ensemble(pair.models, task="rank")


def test_an_ensemble_of_one_network_is_that_network(three, digits_split):
    net = three.models[0].net
    alone = Ensemble([net])
    np.testing.assert_allclose(alone.predict_proba(digits_split.test.X),
                               three.models[0].predict_proba(digits_split.test.X), rtol=1e-6)


def test_top_k_keeps_the_highest_scores(three):
    nets = [t.net for t in three.models]
    top = ensemble.top_k([(0.90, nets[0]), (0.95, nets[1]), (0.80, nets[2])], k=2)
    assert top.models == [nets[1], nets[0]]
    built = []
    top = ensemble.top_k([(0.5, {"seed": 7}), (0.7, {"seed": 8})], k=1,
                         build=lambda config: built.append(config) or nets[2])
    assert built == [{"seed": 8}] and top.models == [nets[2]]
    with pytest.raises(ValueError, match="pass build"):
        ensemble.top_k([(0.5, {"seed": 7})], k=1)
    # a diverged candidate's NaN score ranks last (it sorted anywhere)
    top = ensemble.top_k([(float("nan"), nets[0]), (0.9, nets[1]), (0.5, nets[2])], k=1)
    assert top.models == [nets[1]]


def test_members_load_from_checkpoints_with_their_preprocessing(digits_split, tmp_path):
    from babysit.data import preprocess

    pre = preprocess.Standardize().fit(digits_split.train.X)
    trainer = make_trainer(0, epochs=2)
    trainer.fit(pre.transform(digits_split.train.X), digits_split.train.y)
    bs.save(tmp_path / "standardized", trainer.net, preprocess=pre)
    from_file = Ensemble([tmp_path / "standardized"])
    np.testing.assert_allclose(from_file.predict_proba(digits_split.test.X),
                               trainer.predict_proba(pre.transform(digits_split.test.X)), rtol=1e-6)


def test_the_checkpoints_of_one_run(digits_split, tmp_path):
    trainer = make_trainer(0, epochs=3)
    trainer.callbacks.append(checkpoint.Checkpoints(tmp_path))
    trainer.fit(*digits_split.train, val=digits_split.val)
    run = ensemble.of_run(tmp_path, last=2)
    assert len(run) == 2
    with pytest.raises(ValueError, match="no checkpoints"):
        ensemble.of_run(tmp_path / "elsewhere")


def test_members_must_share_their_classes(three, digits_split):
    with pytest.raises(ValueError, match="member 1 gives probabilities of shape"):
        Ensemble([three.models[0], bs.mlp(64, [8], 5)]).predict_proba(digits_split.test.X)
    with pytest.raises(ValueError, match="at least one model"):
        Ensemble([])


def test_soft_targets_at_temperature_t_are_softmax_of_scores_over_t():
    z = np.random.default_rng(0).standard_normal((5, 4)) * 3
    np.testing.assert_allclose(ensemble.soften(softmax(z), 4.0), softmax(z / 4.0), rtol=1e-10)
    q = ensemble.soften(softmax(z), 1e6)  # a very high temperature flattens everything
    np.testing.assert_allclose(q, 0.25, atol=1e-5)


@pytest.mark.parametrize("loss", [SoftTargetCrossEntropy(3.0), DistillationLoss(3.0, 0.7)])
def test_the_distillation_gradients_match_numerical_ones(loss):
    rng = np.random.default_rng(1)
    scores = rng.standard_normal((6, 5))
    soft = softmax(rng.standard_normal((6, 5)))
    targets = soft if isinstance(loss, SoftTargetCrossEntropy) else \
        DistillationLoss.pack(soft, rng.integers(0, 5, 6))
    _, dscores = loss(scores, targets)
    numeric = numerical_gradient(lambda: loss(scores, targets)[0], scores)
    assert rel_error(dscores, numeric).max() < 1e-6  # a wrong factor would give ~1


def test_the_soft_loss_is_flat_where_the_student_matches_the_teacher():
    z = np.random.default_rng(2).standard_normal((4, 3))
    _, d = SoftTargetCrossEntropy(2.0)(z, softmax(z / 2.0))
    np.testing.assert_allclose(d, 0, atol=1e-15)


def test_alpha_zero_is_plain_training_on_the_labels(three, digits_split):
    student = bs.mlp(64, [32], 10, seed=5)
    distilled = ensemble.distill(three, student, *digits_split.train, temperature=1.0, alpha=0.0,
                                 opt=bs.optim.Adam(3e-3), epochs=2, batch_size=64, seed=5)
    plain = make_trainer(5, epochs=2)
    plain.fit(*digits_split.train)
    for name, p in plain.net.params.items():
        assert np.array_equal(p.value, distilled.net.params[name].value), name
    assert distilled.history.train_acc == plain.history.train_acc


def test_a_distilled_student_learns_from_the_teacher(three, digits_split):
    student = bs.mlp(64, [32], 10, seed=9)
    trainer = ensemble.distill(three, student, *digits_split.train, temperature=4.0, alpha=0.9,
                               opt=bs.optim.Adam(3e-3), epochs=6, batch_size=64,
                               val=digits_split.val)
    agree = (trainer.predict(digits_split.test.X) == three.predict(digits_split.test.X)).mean()
    assert trainer.history.val_acc[-1] > 0.85 and agree > 0.85
    # What comes back is public, a Trainer that scores plain labels.
    assert isinstance(trainer, ensemble.DistillTrainer) and isinstance(trainer, bs.Trainer)
    assert trainer.accuracy(*digits_split.test) == (trainer.predict(digits_split.test.X) ==
                                              digits_split.test.y).mean()
    # Without labels the student learns from the teacher alone.
    unlabeled = ensemble.distill(three, bs.mlp(64, [32], 10, seed=9), digits_split.train.X,
                                 alpha=1.0, epochs=1, batch_size=64)
    assert unlabeled.history.epochs == 1
    with pytest.raises(ValueError, match="y is None; pass the labels or alpha=1.0"):
        ensemble.distill(three, bs.mlp(64, [32], 10), digits_split.train.X, alpha=0.5)


def test_cli_trains_an_averaged_ensemble(tmp_path, capsys):
    from babysit.cli import main

    code = main(["train", "--ensemble", "2", "--average", "0.99", "--epochs", "2",
                 "--hidden", "16", "--out", str(tmp_path), "--json"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert [set(m) for m in summary["member_test_scores"]] == [{"accuracy"}] * 2
    assert 0 <= summary["test_accuracy"] <= 1
    assert (tmp_path / "member-1" / "best.safetensors").exists()


def test_scikit_learn_members_answer_in_their_own_labels():
    # predict gave column indices, and accuracy and distill refused the labels fit was given
    from babysit.sklearn import BabysitClassifier

    rng = np.random.default_rng(0)
    X = rng.standard_normal((90, 4)).astype(np.float32)
    names = np.array(["cat", "dog", "eel"])[(X[:, 0] > 0).astype(int) + (X[:, 1] > 0)]
    members = [BabysitClassifier(hidden=(8,), epochs=20, seed=s).fit(X, names) for s in (0, 1)]
    both = ensemble.Ensemble(members)
    assert both.classes_.tolist() == ["cat", "dog", "eel"]
    predicted = both.predict(X)
    assert set(predicted) <= {"cat", "dog", "eel"}
    assert both.accuracy(X, names) == float((predicted == names).mean()) > 0.4   # chance 1/3
    with pytest.raises(ValueError, match=r"labels \['fox'\] are not among"):
        both.accuracy(X[:1], ["fox"])
    student = ensemble.distill(both, bs.mlp(4, [8], 3), X, names, epochs=2)
    assert len(student.history.train_acc) == 2
    other = BabysitClassifier(hidden=(8,), epochs=2).fit(X, (X[:, 0] > 0).astype(int) * 2)
    with pytest.raises(ValueError, match="the members' classes_ differ"):
        ensemble.Ensemble([members[0], other])
    # a Trainer's column j is class index j: matched to "cat", "dog", "eel" by chance only
    trainer = bs.Trainer(bs.mlp(4, [8], 3), bs.losses.SoftmaxCrossEntropy(), bs.optim.SGD(0.1),
                         epochs=1, callbacks=())
    trainer.fit(X, (X[:, 0] > 0).astype(int))
    with pytest.raises(ValueError, match=r"members \[1\] do not name their classes"):
        ensemble.Ensemble([members[0], trainer])
    indexed = BabysitClassifier(hidden=(8,), epochs=2).fit(X, np.arange(90) % 3)
    assert ensemble.Ensemble([indexed, trainer]).classes_.tolist() == [0, 1, 2]  # the same
    with pytest.raises(ValueError, match="member 0 is a classifier"):
        ensemble.Ensemble([trainer, trainer], task="regress")
    with pytest.raises(ValueError, match="member 1 is a classifier"):
        ensemble.Ensemble([BabysitRegressorLike(), members[0]], task="regress")


class BabysitRegressorLike:
    """A regression member of the scikit-learn kind: predict, no classes."""

    def predict(self, X):
        return np.zeros(len(X))


@pytest.mark.parametrize("temperature", [2e6, 1e300, 0.0, float("inf")])
def test_a_temperature_beyond_what_softening_can_use_is_refused_by_name(temperature):
    with pytest.raises(ValueError, match=r"temperature must be a positive number up to 1e\+06"):
        SoftTargetCrossEntropy(temperature)


@pytest.mark.parametrize("outputs", [5, 12])
def test_a_student_without_the_teachers_classes_is_refused_naming_both(three, digits_split,
                                                                      outputs):
    # 12 outputs failed at the first step on the shapes of packed targets ((64, 13) and
    # (64, 11)), 5 on a label out of range for 5 classes
    with pytest.raises(ValueError, match=f"the student gives {outputs} outputs a row but the "
                                         f"teacher's soft targets have 10 classes"):
        ensemble.distill(three, bs.mlp(64, [8], outputs), *digits_split.train, epochs=1)


def test_a_numpy_number_is_a_temperature_and_alpha_and_a_bool_or_text_is_not(three,
                                                                            digits_split):
    # np.int64 and np.float32 (from np.arange, a float32 array) were refused, True taken as 1,
    # and alpha="x" a TypeError
    X, y = digits_split.train.X[:64], digits_split.train.y[:64]
    for temperature in (np.int64(2), np.float32(2.5)):
        ensemble.distill(three, bs.mlp(64, [8], 10), X, y, temperature=temperature,
                         alpha=np.float32(0.5), epochs=1)
    with pytest.raises(ValueError, match="temperature must be a positive number"):
        ensemble.distill(three, bs.mlp(64, [8], 10), X, y, temperature=True, epochs=1)
    with pytest.raises(ValueError, match=r"alpha .* must be in \[0, 1\], got 'x'"):
        DistillationLoss(alpha="x")
