"""Fixtures of the front ends' tests."""

import pytest


@pytest.fixture
def watched_epochs():
    """A plain PyTorch loop under `babysit.torch.watch`: `run(model, opt, X, y, epochs,
    batch)` trains on X (N, D), y (N,) class labels in consecutive batches with cross-entropy
    (or `loss_fn(output, labels)`), logs every step's loss, ends each epoch with the training
    accuracy (taken in eval mode; or `accuracy(output, labels)`) as both accuracies, or with
    `val=(Xv, yv)` the right share of those rows as the validation accuracy, and returns the
    sitter (not closed). `watching` goes to `watch` (probe=...)."""
    torch = pytest.importorskip("torch")
    from babysit.torch import watch

    def right(output, labels):
        return (output.argmax(1) == labels).float().mean().item()

    def run(model, opt, X, y, epochs: int, batch: int, loss_fn=None, accuracy=right,
            val=None, **watching):
        loss_fn = loss_fn or torch.nn.functional.cross_entropy
        sitter = watch(model, opt, **watching)
        for _ in range(epochs):
            for at in range(0, len(X), batch):
                opt.zero_grad()
                loss = loss_fn(model(X[at:at + batch]), y[at:at + batch])
                loss.backward()
                opt.step()
                sitter.log(loss)
            model.eval()
            with torch.no_grad():
                acc = accuracy(model(X), y)
                val_acc = acc if val is None else right(model(val[0]), val[1])
            model.train()
            sitter.end_epoch(train_acc=acc, val_acc=val_acc)
        return sitter

    return run
