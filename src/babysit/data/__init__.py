"""Data: datasets and their splits (`datasets`), the file readers (`formats`), where the
built-in datasets' files are found (`sources`) and how they are fetched (`download`).

`bs.data.load(name_or_path)` is the door; the names below are the ones front ends use.
"""

from babysit.data.arrays import class_labels, is_memory_mapped
from babysit.data.datasets import (
    BUILTIN,
    Dataset,
    Split,
    check_features,
    encode_labels,
    load,
    stratified_split,
    validate,
)

__all__ = ["BUILTIN", "Dataset", "Split", "check_features", "class_labels", "encode_labels",
           "is_memory_mapped", "load", "stratified_split", "validate"]
