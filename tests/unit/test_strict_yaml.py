"""The one YAML loader that names repeated keys (flowcheck/strict_yaml.py): what safe_load loads, plus the repeats."""

from __future__ import annotations

import pytest
import yaml

from flowcheck import strict_yaml


def test_it_loads_what_safe_load_loads_and_names_every_repeated_key_in_document_order() -> None:
    text = "a: 1\nb:\n  x: 1\n  x: 2\na: 3\n"
    document, duplicates = strict_yaml.load_noting_duplicates(text)
    assert document == yaml.safe_load(text) == {"a": 3, "b": {"x": 2}}
    assert [(d.problem, d.problem_mark.line + 1) for d in duplicates if d.problem_mark] == [
        ("key 'x' appears twice in the same mapping", 4),
        ("key 'a' appears twice in the same mapping", 5),
    ]


def test_merge_keys_are_not_repeats() -> None:
    text = "base: &base {x: 1, y: 1}\nuse:\n  <<: *base\n  x: 2\n"
    assert strict_yaml.load_noting_duplicates(text) == ({"base": {"x": 1, "y": 1}, "use": {"x": 2, "y": 1}}, [])


def test_load_unique_refuses_the_first_repeat_and_bad_yaml_stays_a_yaml_error() -> None:
    assert strict_yaml.load_unique("a: 1\nb: 2\n") == {"a": 1, "b": 2}
    with pytest.raises(strict_yaml.DuplicateKeyError, match="key 'a' appears twice"):
        strict_yaml.load_unique("a: 1\na: 2\n")
    with pytest.raises(yaml.YAMLError):
        strict_yaml.load_noting_duplicates("a: [1\n")
    with pytest.raises(yaml.constructor.ConstructorError, match="unhashable"):
        strict_yaml.load_noting_duplicates("? [1, 2]\n: x\n")
