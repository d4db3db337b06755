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
checkpoint whole. Loading parses JSON and raw arrays only; nothing is ever unpickled.

`Checkpoints` is the Trainer callback that writes a run folder each epoch, and
`save_training` / `restore_training` (behind `Trainer.resume`) carry everything a run needs
to continue exactly where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import safetensors.numpy

from babysit import layers as layer_module
from babysit.backend import get_array_module, resolve_dtype, to_numpy
from babysit.callbacks import Callback
from babysit.history import _jsonable
from babysit.layers.base import Layer, Sequential

FORMAT = "babysit"
VERSION = 1
SUFFIX = ".safetensors"
STATE_NAME = "state"  # the training state inside a run folder: state.safetensors
BEST_NAME = "best"
EPOCHS_DIR = "checkpoints"


# -- public: models -------------------------------------------------------------------------


def checkpoint_path(path) -> Path:
    """The file a checkpoint named `path` lives in: `path` itself when it ends in .safetensors,
    else `path` + ".safetensors" ("runs/demo/model" -> "runs/demo/model.safetensors")."""
    path = Path(path)
    return path if path.suffix == SUFFIX else path.with_name(path.name + SUFFIX)


def save(path, net: Layer, preprocess=None, meta: dict | None = None) -> Path:
    """Write `net` (weights, buffers, architecture), its `preprocess` and `meta` to one file.

    `preprocess` is a fitted transform offering `to_state() -> (config, arrays)` (see
    `babysit.preprocess`); `meta` a JSON-serialisable dict kept alongside (epoch, accuracy, ...).
    Returns the path written (see `checkpoint_path`).
    """
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
    _write(path, arrays, info)
    return path


def load(path) -> tuple[Layer, object]:
    """Rebuild what `save` wrote: returns (net, preprocess); preprocess is None when none was saved.

    Raises ValueError naming the file and the problem when it is truncated, edited, not a
    babysit checkpoint, names an unknown layer type, or holds a tensor whose shape does not
    match its layer's config.
    """
    path = checkpoint_path(path)
    arrays, info = _read(path)
    where = f"checkpoint {path}"
    net = _build_net(info, arrays, where)
    preprocess = None
    if info.get("preprocess") is not None:
        preprocess = _restore_preprocess(info["preprocess"], _strip("preprocess.", arrays), where)
    return net, preprocess


def read_meta(path) -> dict:
    """The `meta` dict saved with a checkpoint (verified like `load`, without building the net)."""
    return _read(checkpoint_path(path))[1].get("meta", {})


def architecture(net: Layer) -> dict:
    """The JSON description that rebuilds `net`: {"type": "Linear", "config": {...}} for a layer,
    {"type": "Sequential", "layers": [...]} for a container."""
    if isinstance(net, Sequential):
        return {"type": "Sequential", "layers": [architecture(layer) for layer in net.layers]}
    name = type(net).__name__
    if _layer_types().get(name) is not type(net):
        raise ValueError(f"cannot save layer {name}: only the layers of babysit.layers can be "
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
    state = trainer.state()
    optimizer = state.pop("optimizer")
    for name, slots in optimizer.pop("state").items():
        arrays.update({f"optimizer.{name}.{key}": value for key, value in slots.items()})
    average = state.pop("average")
    if average is not None:
        arrays.update({f"average.{k}": v for k, v in average["values"].items()})
    info.update(kind="training", optimizer=optimizer, history=state.pop("history"),
                average=None if average is None else average["config"], trainer=state)
    path = checkpoint_path(path)
    _write(path, arrays, info)
    return path


def restore_training(path, trainer) -> None:
    """Load a state written by `save_training` into `trainer` (built like the original: same
    architecture, optimizer type, batch size and averaging): the weights into its network,
    the rest through `trainer.load_state`.

    `path` is the state file or the run folder holding state.safetensors. After this,
    `trainer.fit(X, y, val)` runs the remaining epochs as if the run had never stopped.
    """
    path = Path(path)
    if path.is_dir():
        path = path / (STATE_NAME + SUFFIX)
    path = checkpoint_path(path)
    arrays, info = _read(path)
    where = f"training state {path}"
    if info.get("kind") != "training":
        raise ValueError(f"{path} holds a model, not a training state; resume from the run "
                         f"folder's {STATE_NAME}{SUFFIX}")
    if architecture(trainer.net) != info["architecture"]:
        raise ValueError(f"{where} was trained with the network {info['architecture']}, this "
                         f"trainer's is {architecture(trainer.net)}; build the same network")
    slots: dict[str, dict] = {}
    for key, arr in _strip("optimizer.", arrays).items():
        name, slot = key.rsplit(".", 1)
        slots.setdefault(name, {})[slot] = arr
    average = None if info["average"] is None else {
        "config": info["average"], "values": _strip("average.", arrays)}
    state = {**info["trainer"], "history": info["history"],
             "optimizer": {**info["optimizer"], "state": slots}, "average": average}
    try:
        _copy_into(trainer.net, info, arrays, where)
        trainer.load_state(state)
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from None


class Checkpoints(Callback):
    """Writes a run folder as training goes, after each epoch's validation:

    - checkpoints/epoch-NNN.safetensors: the model as evaluated (the averaged weights when the
      trainer averages), with meta {"epoch", "train_acc", "val_acc"}; not with every_epoch=False;
    - best.safetensors: the same for the epoch with the highest validation accuracy so far,
      or for a regression the lowest validation loss (the earliest on ties; only when the
      trainer validates);
    - state.safetensors: the training state that `Trainer.resume(run_dir)` continues from.

    `preprocess` is saved with each model so that `load` returns a ready pipeline; `meta` (such
    as {"config": RunConfig.to_dict()}) is added to each model's meta. Nothing is kept on the
    callback: "best so far" is read from the History, so it survives a resume.
    """

    def __init__(self, run_dir, every_epoch: bool = True, best: bool = True, preprocess=None,
                 meta: dict | None = None):
        self.run_dir = Path(run_dir)
        self.every_epoch, self.best, self.preprocess = every_epoch, best, preprocess
        self.meta = dict(meta or {})

    def epoch_path(self, epoch: int) -> Path:
        """Where the checkpoint of `epoch` (1-based) is written."""
        return self.run_dir / EPOCHS_DIR / f"epoch-{epoch:03d}{SUFFIX}"

    def on_epoch_end(self, trainer, epoch: int) -> None:
        h = trainer.history
        scores = h.validation_scores()       # accuracy, or a regression's negated val loss
        val = scores[-1] if scores else None
        meta = {**self.meta, "epoch": epoch,
                "train_acc": h.train_acc[-1] if h.train_acc else None,
                "val_acc": h.val_acc[-1] if h.val_acc else None,
                "val_loss": h.val_loss[-1] if h.val_loss else None}
        earlier = [v for v in scores[:-1] if v is not None]
        with trainer.evaluated_weights():
            if self.every_epoch:
                save(self.epoch_path(epoch), trainer.net, self.preprocess, meta)
            if self.best and val is not None and (not earlier or val > max(earlier)):
                save(self.run_dir / BEST_NAME, trainer.net, self.preprocess, meta)
        save_training(self.run_dir / STATE_NAME, trainer)


# -- the file format ------------------------------------------------------------------------


def _write(path: Path, arrays: dict[str, np.ndarray], info: dict) -> None:
    """Serialize and write atomically: temporary file in the same folder, fsync, os.replace."""
    info = {"format": FORMAT, "version": VERSION, **info}
    text = json.dumps(info, default=_jsonable)
    arrays = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
    metadata = {"babysit": text, "sha256": _digest(text, arrays)}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        # straight from the arrays into the file: no serialized copy of them in memory
        safetensors.numpy.save_file(arrays, tmp, metadata=metadata)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _read(path: Path) -> tuple[dict[str, np.ndarray], dict]:
    """Read and verify a checkpoint file: (arrays by tensor name, the babysit JSON as a dict)."""
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    blob = path.read_bytes()
    where = f"checkpoint {path}"
    if len(blob) < 8:
        raise ValueError(f"{where} is truncated: {len(blob)} bytes, less than a header")
    n = int.from_bytes(blob[:8], "little")
    if 8 + n > len(blob):
        raise ValueError(f"{where} is truncated: its header announces {n} bytes but the file "
                         f"holds {len(blob) - 8} after the length")
    try:
        header = json.loads(blob[8:8 + n])
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValueError(f"{where} is damaged: its header is not JSON (edited, or not a "
                         f"safetensors file)") from None
    meta = header.get("__metadata__") if isinstance(header, dict) else None
    if not isinstance(meta, dict) or "babysit" not in meta:
        raise ValueError(f"{where} is not a babysit checkpoint: its header has no 'babysit' "
                         f"entry (written by another program?)")
    try:
        arrays = safetensors.numpy.load(blob)
    except Exception as err:  # safetensors reports any inconsistency as its own error type
        raise ValueError(f"{where} is truncated or damaged: {err}") from None
    text = meta["babysit"]
    if meta.get("sha256") != _digest(text, arrays):
        raise ValueError(f"{where} is damaged or was edited: its contents do not match the "
                         f"checksum written with them; use an intact copy")
    info = json.loads(text)
    if info.get("format") != FORMAT or not isinstance(info.get("version"), int):
        raise ValueError(f"{where} is not a babysit checkpoint (format {info.get('format')!r})")
    if info["version"] > VERSION:
        raise ValueError(f"{where} has format version {info['version']}, newer than this "
                         f"babysit reads ({VERSION}); upgrade babysit")
    return arrays, info


def _digest(text: str, arrays: dict[str, np.ndarray]) -> str:
    """sha256 of the JSON text and of each tensor's name, dtype, shape and bytes, by name."""
    h = hashlib.sha256(text.encode())
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"\n{name}|{a.dtype.str}|{a.shape}\n".encode())
        h.update(a.reshape(-1).view(np.uint8))
    return h.hexdigest()


# -- networks <-> arrays --------------------------------------------------------------------


def _leaves(net: Layer, path: str = "") -> Iterator[tuple[str, Layer]]:
    """(dotted position, layer) for each layer that is not a Sequential, in order."""
    if isinstance(net, Sequential):
        for i, layer in enumerate(net.layers):
            yield from _leaves(layer, _join(path, str(i)))
    else:
        yield path, net


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _net_state(net: Layer) -> tuple[dict[str, np.ndarray], dict]:
    """The arrays and JSON that describe `net`: weights, buffers, architecture, generators."""
    info = {"architecture": architecture(net), "dtype": str(net.dtype or np.dtype("float32"))}
    arrays = {f"param.{name}": to_numpy(p.value) for name, p in net.named_params().items()}
    rngs = {}
    for path, layer in _leaves(net):
        for name, b in layer.buffers.items():
            arrays[f"buffer.{_join(path, name)}"] = to_numpy(b)
        if isinstance(getattr(layer, "rng", None), np.random.Generator):
            rngs[path] = layer.rng.bit_generator.state
    info["rngs"] = rngs
    return arrays, info


def _build_net(info: dict, arrays: dict[str, np.ndarray], where: str) -> Layer:
    net = build(info.get("architecture"), where=f"{where}: layer")
    net.astype(resolve_dtype(info.get("dtype", "float32")))
    _copy_into(net, info, arrays, where)
    return net


def _copy_into(net: Layer, info: dict, arrays: dict[str, np.ndarray], where: str) -> None:
    """Copy saved weights, buffers and generator states into `net`, checking every name, shape
    and dtype against what the network's config built."""
    targets = {f"param.{name}": p.value for name, p in net.named_params().items()}
    owners = {}
    for path, layer in _leaves(net):
        for name, b in layer.buffers.items():
            targets[f"buffer.{_join(path, name)}"] = b
            owners[f"buffer.{_join(path, name)}"] = layer
    saved = {k: v for k, v in arrays.items() if k.startswith(("param.", "buffer."))}
    missing, extra = sorted(set(targets) - set(saved)), sorted(set(saved) - set(targets))
    if missing or extra:
        raise ValueError(f"{where}: the tensors do not match the architecture (missing "
                         f"{missing or 'none'}, unexpected {extra or 'none'})")
    layers = dict(_leaves(net))
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
        except (TypeError, ValueError, KeyError) as err:
            raise ValueError(f"{where}: the generator state of layer {path!r} is invalid: "
                             f"{err}") from None


def _restore_preprocess(config: dict, arrays: dict[str, np.ndarray], where: str):
    """Rebuild a fitted transform with `babysit.preprocess.from_state(config, arrays)`."""
    # Imported here so that saving and loading bare networks never depends on that module.
    from babysit.preprocess import from_state

    try:
        return from_state(config, arrays)
    except (TypeError, ValueError, KeyError) as err:
        raise ValueError(f"{where}: its preprocessing cannot be rebuilt from {config!r}: "
                         f"{err}") from None


def _strip(prefix: str, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}


def _layer_types() -> dict[str, type]:
    """Layer classes that checkpoints can rebuild: those exported by babysit.layers."""
    return {name: obj for name, obj in vars(layer_module).items()
            if isinstance(obj, type) and issubclass(obj, Layer) and obj is not Layer}


