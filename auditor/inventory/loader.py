"""From input paths to Resources: the manifest source of the pipeline."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import InputWarning, Location
from .sources import DEFAULT_MAX_FILE_BYTES, iter_manifest_files, read_source
from .yamlsafe import Document, ParseLimits, parse_json_stream, parse_yaml_stream


@dataclass(frozen=True, slots=True)
class LoadOptions:
    """How manifests are read; the defaults suit CI use on untrusted input."""

    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    limits: ParseLimits = field(default_factory=ParseLimits)


@dataclass(slots=True)
class RawObject:
    """A Kubernetes object as read, before the inventory resolves its namespace."""

    obj: dict[str, Any]
    location: Location


@dataclass(slots=True)
class LoadResult:
    objects: list[RawObject]
    warnings: list[InputWarning]
    files: list[str]


def _unwrap(
    data: Any, location: Location, item_lines: list[int] | None, out: list[RawObject],
    warnings: list[InputWarning],
) -> None:
    """Validate one document's top-level value and unwrap ``List`` kinds into their items."""
    if not isinstance(data, dict):
        warnings.append(
            InputWarning(location, f"document is a {type(data).__name__}, not an object; skipped")
        )
        return
    kind = data.get("kind")
    api_version = data.get("apiVersion")
    if not isinstance(kind, str) or not kind or not isinstance(api_version, str) or not api_version:
        missing = [
            name
            for name, value in (("apiVersion", api_version), ("kind", kind))
            if not isinstance(value, str) or not value
        ]
        warnings.append(
            InputWarning(location, f"object without {' and '.join(missing)}; skipped")
        )
        return
    items = data.get("items")
    if kind.endswith("List") and isinstance(items, list) and "spec" not in data:
        lines = item_lines if item_lines is not None and len(item_lines) == len(items) else None
        item_kind = kind[: -len("List")] if kind != "List" else None
        for index, item in enumerate(items):
            item_location = Location(location.file, lines[index]) if lines else location
            if item_kind and isinstance(item, dict) and "kind" not in item:
                # typed lists (PodList, NamespaceList) may leave kind/apiVersion implied
                item = {"apiVersion": api_version, "kind": item_kind, **item}
            _unwrap(item, item_location, None, out, warnings)
        return
    out.append(RawObject(data, location))


def load_documents(
    documents: list[Document], file: str, out: list[RawObject], warnings: list[InputWarning]
) -> None:
    for document in documents:
        _unwrap(document.data, Location(file, document.line), document.item_lines, out, warnings)


def load_paths(
    paths: list[str],
    options: LoadOptions | None = None,
    skip_dir: Callable[[str], bool] | None = None,
) -> LoadResult:
    """Read every manifest under ``paths`` (files, directories, ``-`` for stdin), leaving out
    directories for which ``skip_dir`` is true (see ``iter_manifest_files``).

    Raises :class:`~auditor.inventory.errors.InputError` for input that cannot be read;
    recoverable problems (non-object documents, objects without kind) become warnings.
    """
    options = options or LoadOptions()
    objects: list[RawObject] = []
    warnings: list[InputWarning] = []
    files: list[str] = []
    for path in iter_manifest_files(paths, skip_dir):
        source = read_source(path, options.max_file_bytes)
        files.append(source.name)
        if source.is_json:
            documents = parse_json_stream(source.text, source.name, warnings)
        else:
            documents = parse_yaml_stream(source.text, source.name, options.limits, warnings)
        load_documents(documents, source.name, objects, warnings)
    return LoadResult(objects, warnings, files)


def load_text(text: str, name: str = "<input>", options: LoadOptions | None = None) -> LoadResult:
    """Read manifests from a string (tests, the admission webhook, snapshots)."""
    options = options or LoadOptions()
    objects: list[RawObject] = []
    warnings: list[InputWarning] = []
    documents = parse_yaml_stream(text, name, options.limits, warnings)
    load_documents(documents, name, objects, warnings)
    return LoadResult(objects, warnings, [name])
