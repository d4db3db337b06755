"""Code names in words: a constructor's repr as a person reads it, for the page's table and the
charts' titles alike (so that no "SGD()" or "image_shape=None" reaches the page), and a run
setting's value as the command line writes it."""

from __future__ import annotations

import re


def readable(text: str) -> str:
    """A constructor's repr in words: "Adam(lr=0.0016209, beta1=0.9)" -> "Adam, lr 0.00162,
    beta1 0.9"; "L2(lam=0.0001)" -> "L2, lam 0.0001"; "Softmax()" -> "Softmax"; a setting
    that is None says nothing and is left out; underscores become spaces ("n components 20");
    a Pipeline's steps are read in turn ("MeanCenter, per feature; then PCA, n components 20").
    Numbers keep 3 significant digits; text that is no repr is returned as it is."""
    match = re.fullmatch(r"\s*(\w+)\((.*)\)\s*", text, flags=re.S)
    parts = _top_level(match.group(2)) if match else None
    if parts is None:
        return text
    args = []
    for part in parts:
        key, _, value = part.partition("=")
        value = value.strip()
        steps = _steps(value)
        if steps and len(parts) == 1:   # a Pipeline: its steps are the thing
            return "; then ".join(steps)
        if value and value != "None":
            args.append(f"{key.strip().replace('_', ' ')} {'; then '.join(steps) or _short(value)}")
    return ", ".join([match.group(1), *args])


def _top_level(inside: str) -> list[str] | None:
    """`inside` split at the commas outside any bracket or quote ([] for none); None when its
    brackets do not balance (the text is not one constructor's arguments)."""
    parts, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(inside):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
            if depth < 0:
                return None
        elif ch == "," and depth == 0:
            parts.append(inside[start:i])
            start = i + 1
    if depth or quote:
        return None
    parts.append(inside[start:])
    return [p.strip() for p in parts if p.strip()]


def _steps(value: str) -> list[str]:
    """A tuple or list of constructors ("(MeanCenter(...), PCA(...))"), each in words; [] for
    any other value."""
    if len(value) < 2 or value[0] + value[-1] not in ("()", "[]"):
        return []
    items = _top_level(value[1:-1]) or []
    words = [readable(item) for item in items]
    return words if items and all(w != item for w, item in zip(words, items, strict=True)) else []


def _short(value: str) -> str:
    value = value.strip().strip("'")
    try:
        return f"{float(value):.3g}"
    except ValueError:
        return value


def setting(value) -> str:
    """A run setting's value as the command line writes it: hidden widths "100,100" ("none" for
    no hidden layer, or no value), a float as %g (0.003, 1e-05), anything else as text."""
    if value is None:
        return "none"
    if isinstance(value, tuple | list):
        return ",".join(map(str, value)) or "none"
    return f"{value:g}" if isinstance(value, float) else str(value)


__all__ = ["readable", "setting"]
