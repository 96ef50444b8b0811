"""YAML that names its duplicate keys: the one loader for every file where a repeated key is a mistake.

PyYAML keeps the last of two equal keys in a mapping without a word (as Kestra does), and has no
option to refuse them (yaml/pyyaml#41 and #165, open since 2016 and 2018); ruamel.yaml refuses them, but would be a
second YAML library beside the one every other module uses. So this one small SafeLoader subclass
stays hand-written: it loads exactly what `yaml.safe_load` loads and notes each repeated key on
the way, in a single parse.

    document, duplicates = load_noting_duplicates(text)   # flow files: a duplicate is a warning
    document = load_unique(text)                          # raises DuplicateKeyError on the first
"""

from __future__ import annotations

from typing import Any

import yaml


class DuplicateKeyError(yaml.constructor.ConstructorError):
    """A key that appears twice in one mapping; `problem_mark` is where the second one is."""


class _NotingLoader(yaml.SafeLoader):
    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[DuplicateKeyError] = []

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *base` merges; its keys may be overridden
                continue
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            try:
                repeated = key in seen
                seen.add(key)
            except TypeError:  # an unhashable key: SafeLoader's own error follows
                continue
            if repeated:
                message = f"key '{key}' appears twice in the same mapping"
                self.duplicates.append(DuplicateKeyError(None, None, message, key_node.start_mark))
        return super().construct_mapping(node, deep=deep)


def load_noting_duplicates(text: str) -> tuple[Any, list[DuplicateKeyError]]:
    """What `yaml.safe_load(text)` returns (the last of equal keys kept), and every repeated key in
    document order. Raises yaml.YAMLError, as safe_load does, when `text` is not YAML."""
    loader = _NotingLoader(text)
    try:
        document = loader.get_single_data()
        return document, sorted(loader.duplicates, key=lambda d: (d.problem_mark.line, d.problem_mark.column))
    finally:
        loader.dispose()  # type: ignore[no-untyped-call]


def load_unique(text: str) -> Any:
    """`yaml.safe_load(text)`, but a key repeated in one mapping raises DuplicateKeyError."""
    document, duplicates = load_noting_duplicates(text)
    if duplicates:
        raise duplicates[0]
    return document
