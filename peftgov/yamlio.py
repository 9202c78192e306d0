"""Strict YAML for recipes and suites: a key written twice in one mapping is an error.

Plain YAML keeps the last of two equal keys, so a second ``train:`` section pasted at the end of
a recipe silently drops the first one. :func:`load` refuses that, naming the key's dotted path
and both line numbers. Anchors, aliases and merge keys (``<<: *defaults``) stay allowed: a key
that a merge brings in and the mapping then sets explicitly is YAML's documented override,
not a mistake.
"""

from __future__ import annotations

from typing import Any

import yaml

MERGE_TAG = "tag:yaml.org,2002:merge"


class DuplicateKeyError(yaml.YAMLError):
    def __init__(self, key: str, first_line: int, second_line: int) -> None:
        self.key, self.first_line, self.second_line = key, first_line, second_line
        super().__init__(
            f"{key}: duplicate key (lines {first_line} and {second_line}); YAML would keep only "
            "the last one, silently dropping the first"
        )


def _check(node: yaml.Node, path: tuple[str, ...], seen: set[int]) -> None:
    if id(node) in seen:  # an alias points back at a node already checked
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        lines: dict[str, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == MERGE_TAG:
                continue
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in lines:
                raise DuplicateKeyError(".".join((*path, key)), lines[key], line)
            lines[key] = line
            _check(value_node, (*path, key), seen)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _check(item, (*path, str(i)), seen)


def load(text: str) -> Any:
    """``yaml.safe_load`` that raises :class:`DuplicateKeyError` for a repeated key."""
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    if node is not None:
        _check(node, (), set())
    return yaml.safe_load(text)
