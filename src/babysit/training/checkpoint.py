"""Checkpoints: a network, its preprocessing and a training run's state in safetensors files.

`save(path, net, preprocess=None, meta=None)` writes one file, `path` + ".safetensors":

- tensors: "param.<name>" for every Param under its dotted name ("param.0.W"),
  "buffer.<layer>.<name>" for state that is not learned ("buffer.1.running_mean"),
  "preprocess.<name>" for the preprocessing's arrays; a training state adds
  "optimizer.<param>.<key>" and "average.<param>".
- metadata (the safetensors header's string map): "babysit", a JSON document holding the
  format version, the architecture (each layer's type and `config()`), the random generators'
  states, the preprocessing's type and config and the caller's `meta`; and "sha256", a digest of
  that JSON and of every tensor's name, dtype, shape and bytes, so that an edited or damaged
  file is refused instead of loaded with silently wrong weights.

One file makes the write atomic: it goes to a temporary file in the same folder, is flushed to
disk, then renamed over the old one (`os.replace`), so a crash mid-write leaves the previous
checkpoint whole. Loading parses JSON and raw arrays only; nothing is ever unpickled. The file
itself (that write, and a read that verifies everything) is `babysit.training.checkpoint_file`.

`Checkpoints` is the Trainer callback that writes a run folder each epoch, and
`save_training` / `restore_training` (behind `Trainer.resume`) carry everything a run needs
to continue exactly where it stopped.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from babysit.backend import get_array_module, resolve_dtype, to_numpy
from babysit.diagnose.symptoms import exploded_at_epoch_end
from babysit.nn import layers as layer_module
from babysit.nn.layers.base import Layer, Sequential
from babysit.training import checkpoint_file
from babysit.training.callbacks import Callback
from babysit.validation import positive_int

__all__ = ["SUFFIX", "BEST_NAME", "EPOCHS_DIR", "checkpoint_path", "state_path", "models_in",
           "epoch_checkpoints", "model_path", "save", "load", "read_meta", "architecture", "build",
           "save_training", "restore_training", "Checkpoints", "stops_deferred"]

SUFFIX = ".safetensors"
STATE_NAME = "state"  # the training state inside a run folder: state.safetensors
BEST_NAME = "best"
EPOCHS_DIR = "checkpoints"
_HISTORY_NAME = "history.json"  # the History a run folder holds, beside its state
CLAIM_SLACK = 4  # how many times the values a layer's tensors hold its config may claim


# -- public: models -------------------------------------------------------------------------


def checkpoint_path(path) -> Path:
    """The file a checkpoint named `path` lives in: `path` itself when it ends in .safetensors,
    else `path` + ".safetensors" ("runs/demo/model" -> "runs/demo/model.safetensors")."""
    path = Path(path)
    return path if path.suffix == SUFFIX else path.with_name(path.name + SUFFIX)


def state_path(run_dir) -> Path:
    """The training state a run folder holds, whether it exists or not: state.safetensors,
    which `Checkpoints` rewrites after every epoch and `restore_training` reads."""
    return checkpoint_path(Path(run_dir) / STATE_NAME)


def epoch_checkpoints(run_dir) -> list[Path]:
    """The per-epoch checkpoints of a run folder (`Checkpoints`' epoch-NNN files), in epoch
    order: by number, so that epoch-1000 comes after epoch-999 (as text it came before)."""
    found = []
    for path in (Path(run_dir) / EPOCHS_DIR).glob(f"epoch-*{SUFFIX}"):
        number = path.stem.removeprefix("epoch-")
        if number.isdigit():
            found.append((int(number), path))
    return [path for _, path in sorted(found)]


def models_in(run_dir) -> list[Path]:
    """The model checkpoints a run folder (`Checkpoints`' layout) holds, in the order a user
    wants them: best.safetensors, then the last epoch's checkpoint; those that exist."""
    best = checkpoint_path(Path(run_dir) / BEST_NAME)
    return [path for path in (best, *epoch_checkpoints(run_dir)[-1:]) if path.is_file()]


def model_path(path) -> Path:
    """The file `load` reads for `path` (`checkpoint_path`); a folder is refused, naming the
    models a run folder holds."""
    if Path(path).is_dir():
        found = [f"{model} ({'the best epoch' if model.stem == BEST_NAME else 'the last'})"
                 for model in models_in(path)]
        pick = (f"load one of its checkpoints: {' or '.join(found)}" if found else
                f"it holds no {BEST_NAME}{SUFFIX} nor {EPOCHS_DIR}/epoch-NNN{SUFFIX}")
        raise ValueError(f"{path} is a folder, not a checkpoint file; {pick}")
    return checkpoint_path(path)


def save(path, net: Layer, preprocess=None, meta: dict | None = None) -> Path:
    """Write `net` (weights, buffers, architecture), its `preprocess` and `meta` to one file.

    `preprocess` is a fitted transform offering `to_state() -> (config, arrays)` (see
    `babysit.data.preprocess`); `meta` a JSON-serialisable dict kept alongside (epoch,
    accuracy, ...).
    Returns the path written (see `checkpoint_path`).
    """
    return _save_model(path, net, preprocess, meta)


def _save_model(path, net: Layer, preprocess=None, meta: dict | None = None,
                durable: bool = True) -> Path:
    """The body of `save`; durable=False for a new file that replaces nothing (see
    `checkpoint_file.write`)."""
    if not isinstance(net, Layer):   # save(net, path) swapped, most often
        raise ValueError(f"net must be a babysit Layer, got {net!r}: save(path, net)")
    if meta is not None and not isinstance(meta, dict):
        raise ValueError(f"meta must be a dict of JSON values, got {type(meta).__name__}")
    arrays, info = _net_state(net)
    info["kind"] = "model"
    info["preprocess"] = None
    if preprocess is not None:
        if not hasattr(preprocess, "to_state"):
            raise ValueError(f"preprocess must offer to_state() -> (config, arrays), got "
                             f"{type(preprocess).__name__}")
        config, pre_arrays = preprocess.to_state()
        info["preprocess"] = config
        arrays.update({f"preprocess.{k}": to_numpy(v) for k, v in pre_arrays.items()})
    info["meta"] = meta or {}
    path = checkpoint_path(path)
    checkpoint_file.write(path, arrays, info, durable=durable)
    return path


def load(path) -> tuple[Layer, object]:
    """Rebuild what `save` wrote: returns (net, preprocess); preprocess is None when none was saved.

    Raises ValueError naming the file and the problem when it is truncated, edited, not a
    babysit checkpoint, names an unknown layer type, or holds a tensor whose shape does not
    match its layer's config.
    """
    path = model_path(path)
    arrays, info = checkpoint_file.read(path)
    where = f"checkpoint {path}"
    with _damage_named(where, path):
        net = _build_net(info, arrays, where)
        preprocess = None
        if info.get("preprocess") is not None:
            preprocess = _restore_preprocess(info["preprocess"], _strip("preprocess.", arrays),
                                             where)
    return net, preprocess


@contextlib.contextmanager
def _damage_named(where: str, path: Path):
    """What the checksum cannot catch, a file written with a header that does not fit together,
    as a ValueError naming the file (`where`): the errors of reading such a header."""
    try:
        yield
    except (TypeError, AttributeError, KeyError, IndexError, OverflowError) as err:
        raise ValueError(f"{where} is damaged: its description does not fit together "
                         f"({type(err).__name__}: {err})") from None
    except ValueError as err:
        if str(path) in str(err):
            raise
        raise ValueError(f"{where}: {err}") from None


def read_meta(path) -> dict:
    """The `meta` dict saved with a checkpoint (verified like `load`, without building the net)."""
    path = model_path(path)
    meta = checkpoint_file.read(path)[1].get("meta", {})
    if not isinstance(meta, dict):
        raise ValueError(f"checkpoint {path} is damaged: its meta is {type(meta).__name__}, "
                         f"not a dict")
    return meta


def architecture(net: Layer) -> dict:
    """The JSON description that rebuilds `net`: {"type": "Linear", "config": {...}} for a layer,
    {"type": "Sequential", "layers": [...]} for a container."""
    if isinstance(net, Sequential):
        return {"type": "Sequential", "layers": [architecture(layer) for layer in net.layers]}
    name = type(net).__name__
    if _layer_types().get(name) is not type(net):
        raise ValueError(f"cannot save layer {name}: only the layers of babysit.nn.layers can be "
                         f"rebuilt from a checkpoint ({', '.join(sorted(_layer_types()))})")
    if list(net.modules()) != [net]:
        raise ValueError(f"cannot save {name}: it holds other layers; use Sequential")
    config = net.config()
    try:
        json.dumps(config)
    except TypeError as err:
        raise ValueError(f"cannot save {name}: its config {config!r} is not JSON ({err})") from None
    return {"type": name, "config": config}


def build(spec, where: str = "net") -> Layer:
    """The layer (fresh weights) that `architecture` described; ValueError naming the layer when
    its type is unknown or its config does not build."""
    if not isinstance(spec, dict) or "type" not in spec:
        raise ValueError(f"{where} is not a layer description ({{'type': ..., 'config': ...}}), "
                         f"got {spec!r}")
    kind = spec["type"]
    if kind == "Sequential":
        children = spec.get("layers")
        if not isinstance(children, list):
            raise ValueError(f"{where}: Sequential needs a list of layers, got {children!r}")
        return Sequential(*[build(child, f"{where}.{i}") for i, child in enumerate(children)])
    types = _layer_types()
    if kind not in types:
        raise ValueError(f"{where}: unknown layer type {kind!r}; babysit knows "
                         f"{', '.join(sorted(types))}")
    config = spec.get("config", {})
    if not isinstance(config, dict):
        raise ValueError(f"{where}: the config of {kind} must be a dict, got {config!r}")
    try:
        return types[kind](**config)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{where}: {kind} cannot be built from config {config!r}: {err}") from None


# -- public: training runs ------------------------------------------------------------------


def save_training(path, trainer) -> Path:
    """Write everything `restore_training` needs to continue `trainer`'s run exactly: the
    network (weights, buffers, generators) and `trainer.state()` (the optimizer's state by
    parameter name, the running average, the shuffling generator, the counters, the History).
    """
    arrays, info = _net_state(trainer.net)
    state = trainer.state(copy=False)  # written below, never kept
    optimizer = state.pop("optimizer")
    for name, slots in optimizer.pop("state").items():
        arrays.update({f"optimizer.{name}.{key}": value for key, value in slots.items()})
    average = state.pop("average")
    if average is not None:
        arrays.update({f"average.{k}": v for k, v in average["values"].items()})
    info.update(kind="training", optimizer=optimizer, history=state.pop("history"),
                average=None if average is None else average["config"], trainer=state)
    path = checkpoint_path(path)
    checkpoint_file.write(path, arrays, info)
    return path


def restore_training(path, trainer) -> None:
    """Load a state written by `save_training` into `trainer` (built like the original: same
    architecture, optimizer type, batch size and averaging): the weights into its network,
    the rest through `trainer.load_state`.

    `path` is the state file or the run folder holding state.safetensors. After this,
    `trainer.fit(X, y, val)` runs the remaining epochs as if the run had never stopped.
    """
    path = state_path(path) if Path(path).is_dir() else checkpoint_path(path)
    arrays, info = checkpoint_file.read(path)
    where = f"training state {path}"
    if info.get("kind") != "training":
        raise ValueError(f"{path} holds a model, not a training state; resume from the run "
                         f"folder's {STATE_NAME}{SUFFIX}")
    with _damage_named(where, path):
        _restore(trainer, arrays, info, where)


def _restore(trainer, arrays: dict[str, np.ndarray], info: dict, where: str) -> None:
    """The body of `restore_training`, once the file is read and verified."""
    if architecture(trainer.net) != info["architecture"]:
        raise ValueError(f"{where} was trained with the network {info['architecture']}, this "
                         f"trainer's is {architecture(trainer.net)}; build the same network")
    slots: dict[str, dict] = {}
    for key, arr in _strip("optimizer.", arrays).items():
        name, slot = key.rsplit(".", 1)
        slots.setdefault(name, {})[slot] = arr
    # a parameter whose rule keeps state (Adam's moments) but has none after steps were taken:
    # loaded, its state started again from zero, and the run went on unlike the original
    same_rule = info["optimizer"]["type"] == type(trainer.opt).__name__   # else said below
    lacking = [name for name, p in trainer.net.named_params().items() if name not in slots
               and same_rule and set(trainer.opt.init_state(p)) - set(trainer.opt.temporaries)]
    if lacking and info["optimizer"]["t"]:
        raise ValueError(f"{where} holds no optimizer state for {lacking}, after "
                         f"{info['optimizer']['t']} steps: the file is damaged or crafted")
    average = None if info["average"] is None else {
        "config": info["average"], "values": _strip("average.", arrays)}
    state = {**info["trainer"], "history": info["history"],
             "optimizer": {**info["optimizer"], "state": slots}, "average": average}
    try:
        _copy_into(trainer.net, info, arrays, where)
        trainer.load_state(state)
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from None


# The training state is written after an epoch when this many seconds have passed since it
# was last written, and after the run's last epoch (or the one a callback stopped it at): an
# interrupted run then loses at most this much training when resumed. Written after every
# epoch, the state (the whole History, grown by an epoch each time, and an fsync) took a third
# of a 400-row table's run of 150 short epochs.
STATE_EVERY_SECONDS = 2.0


class Checkpoints(Callback):
    """Writes a run folder as training goes, after each epoch's validation:

    - checkpoints/epoch-NNN.safetensors: the model as evaluated (the averaged weights when the
      trainer averages), with meta {"epoch", "train_acc", "val_acc"}; not with every_epoch=False;
      with keep_last=k only the newest k of them stay (a long run of short epochs would
      otherwise leave hundreds of files);
    - best.safetensors: the same for the epoch with the highest validation accuracy so far
      (the lower validation loss among epochs level on it), or for a regression the lowest
      validation loss (`History.validation_keys`; only when the trainer validates), never an
      epoch whose loss exploded (the diagnosis's `exploded_at_epoch_end`;
      history.meta["best_refused"] says why);
    - state.safetensors: the training state that `Trainer.resume(run_dir)` continues from,
      after the last epoch and, on the way, every `STATE_EVERY_SECONDS`;
    - history.json: the History, written with the state (just before it), so that a run
      killed outright (SIGKILL, a machine that went down) leaves a folder `babysit report`
      reads, its history never behind its state.

    `preprocess` is saved with each model so that `load` returns a ready pipeline; `meta` (such
    as {"config": RunConfig.to_dict()}) is added to each model's meta. "Best so far" is read
    from the History, so it survives a resume; the callback keeps only when it last wrote
    the state.
    """

    def __init__(self, run_dir, every_epoch: bool = True, best: bool = True, preprocess=None,
                 meta: dict | None = None, keep_last: int | None = None):
        self.run_dir = Path(run_dir)
        self.every_epoch, self.best, self.preprocess = every_epoch, best, preprocess
        self.meta = dict(meta or {})
        self.keep_last = None if keep_last is None else positive_int(keep_last, "keep_last")
        self._state_written = -math.inf     # time.monotonic() of the last state written

    def epoch_path(self, epoch: int) -> Path:
        """Where the checkpoint of `epoch` (1-based) is written."""
        return self.run_dir / EPOCHS_DIR / f"epoch-{epoch:03d}{SUFFIX}"

    def on_train_begin(self, trainer, X, y, val) -> None:
        """Remove the temporary files (`.NAME.PID.tmp`) that a writer killed outright left in
        the folder: one run writes a folder at a time (its lock), so any there now is stale."""
        for folder in (self.run_dir, self.run_dir / EPOCHS_DIR):
            for stale in folder.glob(".*.tmp"):
                stale.unlink(missing_ok=True)

    def on_epoch_end(self, trainer, epoch: int) -> None:
        h = trainer.history
        overflowed = _non_finite_tensor(trainer)
        if overflowed is not None:
            # The epoch's last update overflowed the network, its loss (taken before the
            # update) still finite: `save` refuses such a network, which ended the run in that
            # ValueError, with no history and no diagnosis. Nothing is written but the
            # history, which says why; the Trainer's next step, whose loss is not finite,
            # ends the run in its DivergedError, as it does without this callback.
            h.meta["checkpoint_refused"] = (f"epoch {epoch}'s checkpoints and training state "
                                            f"not written: {overflowed} is not finite")
            with stops_deferred():
                h.save(self.run_dir / _HISTORY_NAME)
            return
        scores = h.validation_keys()   # accuracy then val loss, or a regression's val loss
        val = scores[-1] if scores else None
        meta = {**self.meta, "epoch": epoch,
                "train_acc": h.train_acc[-1] if h.train_acc else None,
                "val_acc": h.val_acc[-1] if h.val_acc else None,
                "val_loss": h.val_loss[-1] if h.val_loss else None}
        earlier = [v for v in scores[:-1] if v is not None]
        best = self.best and val is not None and (not earlier or val > max(earlier))
        exploded = exploded_at_epoch_end(h)
        if best and exploded:
            # Its validation score may be the best so far, but the network is not a good
            # one: say so in the run's record instead of saving it as the best.
            h.meta["best_refused"] = (f"{BEST_NAME}{SUFFIX} not written for epoch {epoch}: "
                                      f"{exploded}")
        # the epoch's files as one: a stop that comes while they are written waits for them,
        # so that it never leaves a checkpoint half made or the history without its state
        with stops_deferred():
            with trainer.evaluated_weights():
                if self.every_epoch:  # a new file each epoch: no fsync (best and state have one)
                    _save_model(self.epoch_path(epoch), trainer.net, self.preprocess, meta,
                                durable=False)
                    if self.keep_last is not None and epoch > self.keep_last:
                        self.epoch_path(epoch - self.keep_last).unlink(missing_ok=True)
                if best and not exploded:
                    save(self.run_dir / BEST_NAME, trainer.net, self.preprocess, meta)
            now = time.monotonic()
            if epoch >= trainer.epochs or trainer.stop_training \
                    or now - self._state_written >= STATE_EVERY_SECONDS:
                # the history before the state: killed between the two, the history is ahead
                # of the state (the resumed run trains those epochs again), never behind it
                h.save(self.run_dir / _HISTORY_NAME)
                save_training(state_path(self.run_dir), trainer)
                self._state_written = now


# The signals that stop a run (Ctrl-C's SIGINT, SIGTERM, SIGHUP), held back while an epoch's
# files are written (and while a search writes its journal file: `babysit.search.studies`).
_STOPS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP")
               if hasattr(signal, name))


@contextlib.contextmanager
def stops_deferred() -> Iterator[None]:
    """Within the block, a stopping signal is noted instead of acted on; after it, the
    handlers that were in place come back and the first signal noted is handed to its own
    (Ctrl-C's KeyboardInterrupt, `finish.Stopped`, or the default action, sent again). Off
    the main thread, where Python allows no handler, nothing changes. Blocks may nest: an
    inner one hands its signal to the outer one's note."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    noted = []
    previous = {s: signal.signal(s, lambda signum, frame: noted.append(signum))
                for s in _STOPS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if noted:
            handler = previous[noted[0]]
            if callable(handler):
                handler(noted[0], None)
            elif handler == signal.SIG_DFL:
                os.kill(os.getpid(), noted[0])


def _non_finite_tensor(trainer) -> str | None:
    """The first of `trainer.net`'s weights and buffers, as trained and as evaluated (the
    running average), that holds NaN or inf, named ("weight 0.W"); None when all are finite,
    as `save` and `save_training` require."""
    named = {f"weight {name}": p.value for name, p in trainer.net.named_params().items()}
    for path, layer in trainer.net.named_modules():
        named.update({f"buffer {_join(path, name)}": b for name, b in layer.buffers.items()})
    if trainer.average is not None:
        named.update({f"averaged weight {name}": v for name, v in trainer.average.values.items()})
    return next((name for name, a in named.items()
                 if not bool(get_array_module(a).isfinite(a).all())), None)


# -- networks <-> arrays --------------------------------------------------------------------


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _net_state(net: Layer) -> tuple[dict[str, np.ndarray], dict]:
    """The arrays and JSON that describe `net`: weights, buffers, architecture, generators."""
    info = {"architecture": architecture(net), "dtype": str(net.dtype or np.dtype("float32"))}
    arrays = {f"param.{name}": to_numpy(p.value) for name, p in net.named_params().items()}
    rngs = {}
    for path, layer in net.named_modules():
        for name, b in layer.buffers.items():
            arrays[f"buffer.{_join(path, name)}"] = to_numpy(b)
        if isinstance(getattr(layer, "rng", None), np.random.Generator):
            rngs[path] = layer.rng.bit_generator.state
    info["rngs"] = rngs
    return arrays, info


def _build_net(info: dict, arrays: dict[str, np.ndarray], where: str) -> Layer:
    _check_claimed_sizes(info.get("architecture"), arrays, where)
    net = build(info.get("architecture"), where=f"{where}: layer")
    net.astype(resolve_dtype(info.get("dtype", "float32")))
    _copy_into(net, info, arrays, where)
    return net


def _check_claimed_sizes(spec, arrays: dict[str, np.ndarray], where: str, path: str = "") -> None:
    """Refuse, before anything is built, a layer whose config claims more values than the file
    holds for it: building allocates what the config says (a crafted 10^7 x 10^7 Linear would
    ask for terabytes), while the tensors that must fill it are bounded by the file's size.

    A layer's sizes are its config entries named `n` or `n_*` (n_in, n_out: babysit's
    convention); their product is at most the number of values its tensors hold. A small
    excess is left to `_copy_into`, which names the exact tensor and shapes; what is refused
    here is a claim that building alone would make costly (beyond `CLAIM_SLACK`).
    """
    if not isinstance(spec, dict):
        return                      # `build` says what is wrong with it
    if spec.get("type") == "Sequential":
        children = spec.get("layers")
        for i, child in enumerate(children if isinstance(children, list) else []):
            _check_claimed_sizes(child, arrays, where, _join(path, str(i)))
        return
    config = spec.get("config")
    sizes = [v for k, v in (config.items() if isinstance(config, dict) else ())
             if (k == "n" or k.startswith("n_")) and isinstance(v, int) and not isinstance(v, bool)]
    claimed = math.prod(sizes)
    scope = f"{path}." if path else ""
    prefixes = (f"param.{scope}", f"buffer.{scope}")
    held = sum(a.size for k, a in arrays.items() if k.startswith(prefixes))
    if claimed > CLAIM_SLACK * max(held, 1) + 2**16:
        raise ValueError(f"{where}: layer {path or '(root)'} ({spec.get('type')}) claims "
                         f"{claimed} values but the file holds {held} for it; the file is "
                         f"damaged or crafted")


def _copy_into(net: Layer, info: dict, arrays: dict[str, np.ndarray], where: str) -> None:
    """Copy saved weights, buffers and generator states into `net`, checking every name, shape
    and dtype against what the network's config built."""
    targets = {f"param.{name}": p.value for name, p in net.named_params().items()}
    owners = {}
    for path, layer in net.named_modules():
        for name, b in layer.buffers.items():
            targets[f"buffer.{_join(path, name)}"] = b
            owners[f"buffer.{_join(path, name)}"] = layer
    saved = {k: v for k, v in arrays.items() if k.startswith(("param.", "buffer."))}
    missing, extra = sorted(set(targets) - set(saved)), sorted(set(saved) - set(targets))
    if missing or extra:
        raise ValueError(f"{where}: the tensors do not match the architecture (missing "
                         f"{missing or 'none'}, unexpected {extra or 'none'})")
    layers = dict(net.named_modules())
    for key, target in targets.items():
        arr = saved[key]
        if arr.shape != target.shape or arr.dtype != target.dtype:
            layer_path = key.split(".", 1)[1].rpartition(".")[0]
            raise ValueError(f"{where}: tensor {key!r} is {arr.dtype} {arr.shape} but layer "
                             f"{layer_path or '(root)'} {layers[layer_path]!r} expects "
                             f"{target.dtype} {target.shape}")
        target[...] = get_array_module(target).asarray(arr)
    for path, state in info.get("rngs", {}).items():
        layer = layers.get(path)
        if not isinstance(getattr(layer, "rng", None), np.random.Generator):
            raise ValueError(f"{where}: a random generator state is saved for layer {path!r}, "
                             f"which has none")
        try:
            layer.rng.bit_generator.state = state
        except (TypeError, ValueError, KeyError, OverflowError) as err:
            raise ValueError(f"{where}: the generator state of layer {path!r} is invalid: "
                             f"{err}") from None


def _restore_preprocess(config: dict, arrays: dict[str, np.ndarray], where: str):
    """Rebuild a fitted transform with `babysit.data.preprocess.from_state(config, arrays)`."""
    # Imported here so that saving and loading bare networks never depends on that module.
    from babysit.data.preprocess import from_state

    try:
        return from_state(config, arrays)
    except (TypeError, ValueError, KeyError) as err:
        raise ValueError(f"{where}: its preprocessing cannot be rebuilt from {config!r}: "
                         f"{err}") from None


def _strip(prefix: str, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}


def _layer_types() -> dict[str, type]:
    """Layer classes that checkpoints can rebuild: those exported by babysit.nn.layers."""
    return {name: obj for name, obj in vars(layer_module).items()
            if isinstance(obj, type) and issubclass(obj, Layer) and obj is not Layer}


