# Copyright 2026 The diffusers-freqca authors. All rights reserved.
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
"""A griffe extension that lets mkdocstrings render diffusers-style docstrings.

diffusers writes Google-style sections with Markdown inside the parentheses and bracketed cross-references:

    Args:
        cache_interval (`int`, defaults to `6`): ...
    Returns:
        `str`: the path.
    ... the inverse of [`apply_freqca`] ...

Griffe's Google parser would show "`int`, defaults to `6`" as the type (backticks included) and leave
"[`apply_freqca`]" as literal brackets. This extension rewrites every docstring of the package once it is loaded:

- item types become Python-like annotations (`int`; `str | os.PathLike` for "`str` or `os.PathLike`"); the default
  is shown from the signature anyway;
- `[`name`]` (also `[`~module.name`]`) becomes an autorefs link to the object's entry in the API reference when that
  object is rendered there (a `::: path` line under `docs/api/`), and plain code otherwise, so `mkdocs build --strict`
  never sees an unresolvable reference.

The source docstrings are not changed: only what griffe hands to mkdocstrings.
"""

import re
from pathlib import Path

from griffe import Extension, Module, Object


_API_DIR = Path(__file__).resolve().parent.parent / "api"
_SECTION = re.compile(r"^(\w[\w ]*):\s*$")
_TYPED_SECTIONS = {"args", "arguments", "parameters", "params", "attributes", "other parameters"}
_RETURN_SECTIONS = {"returns", "return", "raises", "raise", "yields", "yield"}
# `name (`type`, *optional*, defaults to `x`): description`
_PARAMETER = re.compile(r"^(?P<indent>\s+)(?P<name>\*{0,2}[A-Za-z_]\w*) \((?P<type>`.*?)\):(?P<rest>\s.*|)$")
# `` `type`: description `` or `[`Type`]: description` (possibly several types joined by "or" / ",").
_RETURN = re.compile(r"^(?P<indent>\s+)(?P<type>\[?`[^`]+`\]?(?:(?:,\s*|\s+or\s+)\[?`[^`]+`\]?)*):(?P<rest>\s.*|)$")
_UNTYPED = re.compile(r"^\s+\*{0,2}[A-Za-z_]\w*:(\s|$)")
_CROSSREF = re.compile(r"\[`~?(?P<path>[A-Za-z_][\w.]*)`\](?![\[(])")
_DEFAULT = re.compile(r",?\s*defaults to\b.*$")


def clean_type(text: str) -> str:
    """`"`str`, *optional*, defaults to `None`"` -> `"str"`; `"`str` or `os.PathLike`"` -> `"str | os.PathLike"`."""
    text = _DEFAULT.sub("", text)
    pieces = [piece.lstrip("~") for piece in re.findall(r"`([^`]+)`", text)]
    return " | ".join(pieces) if pieces else text.replace("*optional*", "").strip(" ,")


def rewrite_docstring(text: str, targets: dict[str, str]) -> str:
    """Applies the rewrites described in the module docstring to one docstring."""
    lines = []
    section, item_indent = None, None
    for line in text.splitlines():
        indent = len(line) - len(line.lstrip())
        header = _SECTION.match(line)
        if header:
            section, item_indent = header.group(1).strip().lower(), None
        elif line.strip() and indent == 0:
            section = None
        elif section in _TYPED_SECTIONS | _RETURN_SECTIONS and line.strip():
            pattern = _PARAMETER if section in _TYPED_SECTIONS else _RETURN
            match = pattern.match(line)
            item_indent = indent if item_indent is None else item_indent
            if match and section in _TYPED_SECTIONS:
                line = f"{match['indent']}{match['name']} ({clean_type(match['type'])}):{match['rest']}"
            elif match:
                line = f"{match['indent']}{clean_type(match['type'])}:{match['rest']}"
            elif indent == item_indent and not (section in _TYPED_SECTIONS and _UNTYPED.match(line)):
                # diffusers often continues an item at the item's own indent; Google style needs it deeper.
                line = "    " + line
        lines.append(line)

    def link(match: re.Match) -> str:
        path = match["path"]
        head, _, tail = path.partition(".")
        # `[`FreqCaConfig.from_pretrained`]` links into the class's entry; `[`~hooks.Name`]` shows `Name`.
        target = targets.get(path) or targets.get(path.rsplit(".", 1)[-1])
        if target is None and tail and head in targets:
            target = f"{targets[head]}.{tail}"
        shown = path if tail and head in targets else path.rsplit(".", 1)[-1]
        return f"[`{shown}`][{target}]" if target else f"`{shown}`"

    return _CROSSREF.sub(link, "\n".join(lines))


def _documented_paths() -> list[str]:
    paths = []
    for page in sorted(_API_DIR.glob("**/*.md")):
        paths += re.findall(r"^:::\s+(\S+)", page.read_text(encoding="utf-8"), flags=re.MULTILINE)
    return paths


def _walk(obj: Object):
    yield obj
    for member in obj.members.values():
        if not member.is_alias:
            yield from _walk(member)


class DiffusersDocstrings(Extension):
    """Rewrites diffusers-style docstrings of a loaded package for mkdocstrings (see the module docstring)."""

    def on_package(self, *, pkg: Module, **kwargs) -> None:
        targets: dict[str, str] = {}
        modules = []
        # Objects named in a `::: path` line first, so that one documented both at the package top level and in a
        # module page links to its top-level entry; then the public members of documented modules (not imports).
        for path in _documented_paths():
            if path != pkg.path and not path.startswith(pkg.path + "."):
                continue
            try:
                obj = pkg[path[len(pkg.path) + 1 :]] if path != pkg.path else pkg
            except KeyError:
                continue
            targets.setdefault(path, path)
            targets.setdefault(path.rsplit(".", 1)[-1], path)
            if obj.is_module:
                modules.append((path, obj))
        for path, module in modules:
            for name, member in module.members.items():
                if not name.startswith("_") and not member.is_alias:
                    targets.setdefault(name, f"{path}.{name}")
                    targets.setdefault(f"{path}.{name}", f"{path}.{name}")
        for obj in _walk(pkg):
            if obj.docstring is not None:
                obj.docstring.value = rewrite_docstring(obj.docstring.value, targets)
