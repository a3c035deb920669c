"""AWS's own input constraints (length and pattern of a string shape), read from botocore's
service models, so the config accepts exactly what the services accept.

The models' patterns are Java regular expressions, which AWS matches against the whole
value. Two differences from Python's `re` matter: `\\w`, `\\d`, `\\s` and `\\b` are ASCII in
Java (so patterns compile with re.ASCII), and `\\p{L}`-style Unicode categories, which `re`
lacks, are translated into character classes built from `unicodedata`. Lengths count UTF-16
code units, as Java's String.length() does.

botocore is imported on first use only: loading a config must not slow down `--help`.

The functools caches below hold only pure functions of their arguments: the service models
installed with botocore, the patterns compiled from them, and Unicode's categories. None of
it is AWS state or depends on a caller, a Region or a client, so it is not the module-level
cache of AWS state the house rules forbid; it is the same for every run of the process.
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata
from dataclasses import dataclass
from typing import Any

# A pattern that is one character class repeated (`[...]+`, `([...]*)`): every character of
# the value must be in the class, so the offending ones can be named.
_REPEATED_CLASS = re.compile(r"^\(?(\[(?:\\.|[^\]\\])*\])[+*]\)?$")


@dataclass(frozen=True)
class StringShape:
    """One string shape of a service model: its length bounds and its pattern."""

    service: str
    name: str
    min: int
    max: int | None
    pattern: str | None  # the model's (Java) source, for messages

    def length(self, value: str) -> int:
        """The length AWS counts: UTF-16 code units (an emoji counts 2)."""
        return len(value.encode("utf-16-le", "surrogatepass")) // 2

    def fits(self, value: str) -> bool:
        return self.min <= self.length(value) and (self.max is None or self.length(value) <= self.max)

    def matches(self, value: str) -> bool:
        return self.pattern is None or _compiled(self.pattern).fullmatch(value) is not None

    def refused_characters(self, value: str) -> list[str]:
        """The distinct characters the pattern refuses anywhere, for a one-class pattern; else []."""
        if self.pattern is None or not _REPEATED_CLASS.match(self.pattern):
            return []
        single = _compiled(_REPEATED_CLASS.sub(r"\1", self.pattern))
        return list(dict.fromkeys(c for c in value if not single.fullmatch(c)))


@functools.cache
def string_shape(service: str, name: str) -> StringShape:
    """The named string shape of `service`'s model (e.g. 'sso-admin', 'PermissionSetName')."""
    shape = _model(service)["shapes"][name]
    if shape.get("type") != "string":
        raise KeyError(f"{service} {name} is not a string shape")
    return StringShape(service, name, int(shape.get("min", 0)), shape.get("max"), shape.get("pattern"))


@dataclass(frozen=True)
class ListShape:
    """One list shape of a service model: how many members it may have."""

    service: str
    name: str
    min: int
    max: int | None

    def bounds(self) -> str:
        if self.max is None:
            return f"at least {self.min}"
        return f"exactly {self.min}" if self.min == self.max else f"{self.min} to {self.max}"


@functools.cache
def list_shape(service: str, name: str) -> ListShape:
    """The named list (or map) shape of `service`'s model: its bounds on the member count."""
    shape = _model(service)["shapes"][name]
    if shape.get("type") not in ("list", "map"):
        raise KeyError(f"{service} {name} is not a list shape")
    return ListShape(service, name, int(shape.get("min", 0)), shape.get("max"))


def has_member(service: str, structure: str, member: str) -> bool:
    """Whether the installed model's `structure` has `member` (newer API features, such as
    identitystore's attribute extensions, are missing from older botocore)."""
    shape = _model(service)["shapes"].get(structure) or {}
    return member in (shape.get("members") or {})


@functools.cache
def _model(service: str) -> dict[str, Any]:
    import botocore.loaders

    model: dict[str, Any] = botocore.loaders.create_loader().load_service_model(service, "service-2")
    return model


@functools.cache
def _compiled(java_pattern: str) -> re.Pattern[str]:
    return re.compile(java_to_python(java_pattern), re.ASCII)


def java_to_python(pattern: str) -> str:
    """Translate the Java regex constructs the AWS models use into Python `re` syntax.

    `\\p{X}` / `\\P{X}` (Unicode general categories) become explicit code point ranges; all
    else is shared syntax once compiled with re.ASCII. Constructs that have no faithful
    translation here (nested classes, intersections, quoting) raise ValueError rather than
    matching something else.
    """
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            escaped = pattern[i + 1 : i + 2]
            if escaped in ("p", "P"):
                match = re.match(r"\{(\w+)\}|([A-Z])", pattern[i + 2 :])
                if not match:
                    raise ValueError(f"unsupported Unicode property at {i} in {pattern!r}")
                ranges = category_ranges(match.group(1) or match.group(2))
                if escaped == "P":
                    if in_class:
                        raise ValueError(f"unsupported negated property inside a class in {pattern!r}")
                    out.append(f"[^{ranges}]")
                else:
                    out.append(ranges if in_class else f"[{ranges}]")
                i += 2 + match.end()
                continue
            if escaped in ("Q", "E", "h", "H", "R", "X", "z", "Z", "G", "A", "") or pattern.startswith("\\x{", i):
                raise ValueError(f"unsupported escape \\{escaped} in {pattern!r}")
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class and (char == "[" or pattern.startswith("&&", i)):
            raise ValueError(f"unsupported nested class or intersection in {pattern!r}")
        if char == "[":
            in_class = True
        elif char == "]" and in_class:
            in_class = False
        out.append(char)
        i += 1
    return "".join(out)


@functools.cache
def category_ranges(category: str) -> str:
    """The body of a character class for a Unicode general category: 'L', 'Lu', 'Z', ..."""
    table = _categories()
    if category not in table:
        raise ValueError(f"unsupported Unicode category {category!r}")
    return "".join(
        f"{_class_char(low)}-{_class_char(high)}" if high > low else _class_char(low) for low, high in table[category]
    )


def _class_char(code_point: int) -> str:
    return f"\\U{code_point:08x}"


@functools.cache
def _categories() -> dict[str, list[tuple[int, int]]]:
    """Code point ranges per general category ('Lu') and per major class ('L'), in one pass."""
    ranges: dict[str, list[tuple[int, int]]] = {}
    category = unicodedata.category
    start, current = 0, category("\x00")
    for code_point in range(1, sys.maxunicode + 2):
        here = category(chr(code_point)) if code_point <= sys.maxunicode else ""
        if here != current:
            ranges.setdefault(current, []).append((start, code_point - 1))
            start, current = code_point, here
    for major in {name[0] for name in ranges}:
        merged: list[tuple[int, int]] = []
        for low, high in sorted(r for name, spans in ranges.items() if name[0] == major for r in spans):
            if merged and merged[-1][1] == low - 1:
                merged[-1] = (merged[-1][0], high)
            else:
                merged.append((low, high))
        ranges[major] = merged
    return ranges
