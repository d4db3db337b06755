"""Fixtures of the front ends' tests."""

import pytest


@pytest.fixture
def watched_epochs():
    """A plain PyTorch loop under `babysit.torch.watch`: `run(model, opt, X, y, epochs,
    batch)` trains on X (N, D), y (N,) class labels in consecutive batches with cross-entropy,
    logs every step's loss, ends each epoch with the training accuracy (taken in eval mode) as
    both accuracies, and returns the sitter (not closed)."""
    torch = pytest.importorskip("torch")
    from babysit.torch import watch

    def run(model, opt, X, y, epochs: int, batch: int):
        sitter = watch(model, opt)
        for _ in range(epochs):
            for at in range(0, len(X), batch):
                opt.zero_grad()
                loss = torch.nn.functional.cross_entropy(model(X[at:at + batch]),
                                                         y[at:at + batch])
                loss.backward()
                opt.step()
                sitter.log(loss)
            model.eval()
            with torch.no_grad():
                acc = (model(X).argmax(1) == y).float().mean().item()
            model.train()
            sitter.end_epoch(train_acc=acc, val_acc=acc)
        return sitter

    return run
