"""How babysit's objects print: `Name(arg=value, ...)` from the arguments that rebuild them."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["config_repr"]


def config_repr(obj, config: Mapping) -> str:
    """`TypeName(k=v, ...)` for `obj`, each value as its repr, e.g. "Adam(lr=0.001, ...)"."""
    args = ", ".join(f"{k}={v!r}" for k, v in config.items())
    return f"{type(obj).__name__}({args})"
