"""Read a seed file (YAML or JSON) and validate it, naming the key and line of any problem.

PyYAML parses JSON too, and its node tree keeps the line of every key, which is what lets errors
found later (by the schema or by the resource services) still point at the place in the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import yaml
from pydantic import ValidationError

from taskrouter_emulator.emulator_tools.seeding.schemas import SeedDocument
from taskrouter_emulator.errors import InvalidParameter

Location = Sequence[str | int]
# libyaml's parser when PyYAML was built with it (much faster), else the pure-Python one.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def describe_location(location: Location) -> str:
    """Render a location as `workspaces[0].task_queues[1].target_workers`."""
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "document"


@dataclass(frozen=True)
class SeedFile:
    """A validated seed document and the node tree that knows where each key is."""

    document: SeedDocument
    root: yaml.Node | None

    def line_of(self, location: Location) -> int | None:
        """Return the 1-based line of the deepest node on the location's path."""
        node = self.root
        line = node.start_mark.line + 1 if node is not None else None
        for part in location:
            if isinstance(node, yaml.MappingNode):
                for key, value in node.value:
                    if key.value == part:
                        line = key.start_mark.line + 1
                        node = value
                        break
                else:
                    return line
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
                if part >= len(node.value):
                    return line
                node = node.value[part]
                line = node.start_mark.line + 1
            else:
                return line
        return line

    def where(self, location: Location) -> str:
        """Return `key (line N)` for a message."""
        line = self.line_of(location)
        place = describe_location(location)
        return f"{place} (line {line})" if line is not None else place


def parse_seed(text: str) -> SeedFile:
    """Parse and validate a seed file, or raise a 400 naming the key and line."""
    loader = _LOADER(text)
    try:
        # One parse gives both the node tree (with line marks) and the data built from it.
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        position = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise InvalidParameter(
            f"Invalid seed file: {exc.problem or exc.context}{position}"
        ) from None
    except yaml.YAMLError as exc:
        raise InvalidParameter(f"Invalid seed file: {exc}") from None
    finally:
        loader.dispose()
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InvalidParameter("Invalid seed file: the document must be a mapping with `workspaces`")
    try:
        document = SeedDocument.model_validate(data)
    except ValidationError as exc:
        shell = SeedFile(document=SeedDocument(), root=root)
        problems = []
        for error in exc.errors()[:5]:
            location = [part for part in error["loc"] if not _is_union_tag(part)]
            problems.append(f"{shell.where(location)}: {_message(error['type'], error['msg'])}")
        raise InvalidParameter("Invalid seed file: " + "; ".join(problems)) from None
    return SeedFile(document=document, root=root)


def _is_union_tag(part: str | int) -> bool:
    # pydantic names the union member it tried (`str`, `dict[str,any]`) inside the location.
    return isinstance(part, str) and (part in ("str", "int", "bool") or "[" in part)


def _message(kind: str, message: str) -> str:
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key missing"
    return message
