"""One safe way to read a user's YAML file: a size limit, a limit on what aliases expand to
("billion laughs"), safe tags only, and errors that quote at most a short excerpt."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import InputError, excerpt, input_error_from_os

MAX_BYTES = 1 * 2**20          # experiment files are a few KB
MAX_ALIASES = 1_000
MAX_EXPANDED_NODES = 200_000   # nodes of the document with every alias expanded


def load_yaml(path: str | Path, *, error: type[InputError] = InputError, max_bytes: int = MAX_BYTES) -> Any:
    """Parse the YAML file ``path``; ``error`` (an InputError class) names the file and the problem."""
    path = Path(path)
    try:
        if path.stat().st_size > max_bytes:
            raise error(f"the file is {path.stat().st_size / 2**20:.1f} MiB; a YAML file here may be at most "
                        f"{max_bytes / 2**20:.0f} MiB.", path)
        with open(path, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise (input_error_from_os(exc, path, error) or error(f"cannot read it: {exc}.", path)) from None
    if len(data) > max_bytes:   # grew while we looked
        raise error(f"the file is larger than {max_bytes / 2**20:.0f} MiB.", path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise error("not a text (UTF-8) file; expected YAML.", path) from None
    return parse_yaml(text, path, error=error)


def parse_yaml(text: str, source: str | Path | None = None, *, error: type[InputError] = InputError) -> Any:
    """Parse YAML text (a file's, or a form field's) with the alias and tag limits; ``source``
    names it in errors."""
    import yaml

    if len(text) > MAX_BYTES:
        raise error(f"the YAML text is longer than {MAX_BYTES / 2**20:.0f} MiB.", source)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        _check_expansion(node, source, error)
        return yaml.SafeLoader(text).construct_document(node) if node is not None else None
    except yaml.constructor.ConstructorError as exc:
        raise error(f"not plain YAML{_where(exc)}: {excerpt(exc.problem)} (only standard tags are allowed).",
                    source) from None
    except yaml.YAMLError as exc:
        raise error(f"not valid YAML{_where(exc)}: {excerpt(getattr(exc, 'problem', None) or exc)}.", source) from None
    except RecursionError:
        raise error("the YAML is nested too deeply.", source) from None


def _check_expansion(root, path: Path | str | None, error: type[InputError]) -> None:
    """Refuse documents whose aliases expand to more than MAX_EXPANDED_NODES nodes."""
    if root is None:
        return
    sizes: dict[int, int] = {}
    seen: dict[int, int] = {}   # how often each node is referenced (a second reference = an alias)
    aliases = 0

    def size(node) -> int:
        nonlocal aliases
        seen[id(node)] = seen.get(id(node), 0) + 1
        if seen[id(node)] > 1:
            aliases += 1
            if aliases > MAX_ALIASES:
                raise error(f"the YAML uses more than {MAX_ALIASES} aliases.", path)
        if id(node) in sizes:
            return sizes[id(node)]
        sizes[id(node)] = 1    # a recursive alias counts once
        value = node.value
        children = [c for pair in value for c in pair] if isinstance(value, list) and value and isinstance(value[0], tuple) \
            else (value if isinstance(value, list) else [])
        total = 1 + sum(size(c) for c in children)
        if total > MAX_EXPANDED_NODES:
            raise error(f"the YAML's aliases expand to more than {MAX_EXPANDED_NODES:,} values "
                        "(an alias bomb?); refusing it.", path)
        sizes[id(node)] = total
        return total

    size(root)


def _where(exc) -> str:
    mark = getattr(exc, "problem_mark", None)
    return f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
