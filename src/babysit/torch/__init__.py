"""babysit for PyTorch: the same monitors, diagnosis, report and gradient check for torch.nn models.

Optional (`pip install babysit[torch]`); `import babysit` never imports torch, `import
babysit.torch` does.

    from babysit.torch import watch, check_gradients
    sitter = watch(model, optimizer, image_shape=(8, 8))   # hooks, no change to training
    ... optimizer.step(); sitter.log(loss) ... sitter.end_epoch(train_acc=..., val_acc=...)
    sitter.history.diagnose(); bs.report.write(sitter.history, "runs/torch-run"); sitter.close()

    report = check_gradients(model, F.cross_entropy, X[:4], y[:4])   # a bs.check.GradientReport

`babysit.torch.lightning.BabysitCallback` does what `watch` does inside a Lightning Trainer.
"""

from babysit.torch.gradcheck import check_gradients
from babysit.torch.sitter import Sitter, watch

__all__ = ["Sitter", "check_gradients", "watch"]
