"""BestWeights: a run ends with the network of its lowest validation loss."""

import numpy as np

import babysit as bs
from babysit.training import checkpoint
from babysit.training.callbacks import BestWeights


def overfitting_run(callbacks):
    """A wide network on 40 noisy rows, trained long at a high rate: its validation loss
    falls, then rises as it learns the noise."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 5)).astype(np.float32)
    y = (X[:, :1] + rng.normal(scale=1.0, size=(80, 1))).astype(np.float32)
    net = bs.mlp(5, [200, 200], 1, batchnorm=True, seed=0)
    trainer = bs.Trainer(net, bs.losses.MeanSquaredError(), bs.optim.Adam(1e-2),
                         batch_size=8, epochs=40, seed=0, progress=False, callbacks=callbacks)
    trainer.fit(X[:40], y[:40], val=(X[40:], y[40:]))
    return trainer, (X[40:], y[40:])


def test_the_run_ends_with_the_epoch_of_the_lowest_validation_loss():
    trainer, (X, y) = overfitting_run([BestWeights()])
    losses = trainer.history.val_loss
    best = int(np.argmin(losses)) + 1
    assert best < trainer.epoch                # the last epoch was not the best one
    assert trainer.history.meta["best_weights"]["epoch"] == best
    now = float(trainer.loss(trainer.scores(X), y)[0])
    assert np.isclose(now, min(losses), rtol=1e-5)   # BatchNorm's statistics came back too
    assert now < losses[-1]


def test_without_the_callback_the_last_epoch_stays():
    trainer, (X, y) = overfitting_run([])
    assert "best_weights" not in trainer.history.meta
    assert np.isclose(float(trainer.loss(trainer.scores(X), y)[0]), trainer.history.val_loss[-1],
                      rtol=1e-5)


def test_the_run_ends_with_the_network_its_folder_keeps_as_best(tmp_path):
    trainer, _ = overfitting_run([checkpoint.Checkpoints(tmp_path), BestWeights()])
    kept, _ = checkpoint.load(tmp_path / "best.safetensors")
    for name, p in trainer.net.named_params().items():
        np.testing.assert_array_equal(p.value, kept.named_params()[name].value)


def test_among_epochs_level_on_validation_accuracy_the_lower_validation_loss_is_best():
    # 18 validation rows: the accuracy reaches its ceiling at epoch 2 and stays there while
    # the loss goes on falling, so the first epoch at 1.0 is not the best-trained one
    history = bs.History(val_acc=[0.9, 1.0, 1.0, 1.0], val_loss=[0.6, 0.4, 0.2, 0.3])
    keys = history.validation_keys()
    assert keys.index(max(keys)) == 2
    regression = bs.History(val_acc=[None, None], val_loss=[0.5, 0.3])
    assert regression.validation_keys() == [(-0.5,), (-0.3,)]
