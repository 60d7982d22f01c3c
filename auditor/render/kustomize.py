"""Kustomize: build with ``kustomize build`` and map every object to the file that declares it.

``kustomize build`` prints the final objects without saying where they came from (origin
annotations exist, but only when the kustomization itself asks for them with
``buildMetadata``, and kube-auditor does not rewrite the user's files). So the mapping is
done by reading the kustomization tree the same way Kustomize does, without running it:

1. Starting at the directory given, read its kustomization file (``kustomization.yaml``,
   ``kustomization.yml`` or ``Kustomization``) and, depth first, every local directory it
   lists in ``resources``, ``bases`` and ``components``. Remote resources (URLs, git
   repositories) are not read here: kustomize fetches them, a warning says so, and their
   objects are located at the kustomization file. With ``allow_remote=False``
   (``--no-remote-resources``) a tree that names one is refused before kustomize runs:
   a CI gate on untrusted changes need not let a pull request make it fetch from anywhere.
2. Index each object declared in a local resource file by kind and name, with its file
   and line, and with the name it will have after the ``namePrefix`` / ``nameSuffix`` of
   its kustomization and of every kustomization above it. ``configMapGenerator`` and
   ``secretGenerator`` entries are indexed too, at their ``name:`` line in the
   kustomization file (their output name carries a content hash, matched as a suffix).
3. Note the patch files (``patches``, ``patchesStrategicMerge``, ``patchesJson6902``) and
   the objects they target, by kind and name.
4. Each built object is looked up by kind and final name (then by its declared name);
   among several candidates the namespace decides. A unique match gives the file and line
   (a base's file when the object is declared in a base, an overlay's when declared
   there); otherwise the object is mapped to the kustomization file of the directory
   given, without a line. The patch files that target an object are named in its origin.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..inventory import (
    InputError,
    InputWarning,
    LoadOptions,
    Location,
    RawObject,
    load_paths,
    load_text,
)
from ..inventory.yamlsafe import parse_yaml_stream
from .helm import RenderedObject, RenderResult
from .tools import DEFAULT_TIMEOUT, RenderError, run_tool

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
_REMOTE = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|git@|github\.com/|gitlab\.com/|bitbucket\.org/)")


def kustomization_file(directory: str | os.PathLike[str]) -> Path | None:
    """The kustomization file of ``directory``, if it has one."""
    for name in KUSTOMIZATION_FILES:
        candidate = Path(directory, name)
        if candidate.is_file():
            return candidate
    return None


def is_kustomization_dir(path: str | os.PathLike[str]) -> bool:
    return Path(path).is_dir() and kustomization_file(path) is not None


@dataclass(frozen=True)
class KustomizeOptions:
    timeout: float = DEFAULT_TIMEOUT
    #: let ``kustomize build`` fetch remote resources (URLs, git repositories); when False
    #: a kustomization that names one is refused before kustomize runs
    allow_remote: bool = True


@dataclass(frozen=True)
class Declared:
    """An object a kustomization tree declares: where, and the name it will be built with."""

    kind: str
    name: str  #: as written
    final_name: str  #: after every namePrefix/nameSuffix above it
    namespace: str | None  #: as written, or the kustomization's ``namespace``
    location: Location
    generated: bool = False  #: a generator entry (output name has a hash suffix)


@dataclass
class KustomizeIndex:
    root: Path
    declared: list[Declared] = field(default_factory=list)
    #: (kind, name) → patch files that target it
    patches: dict[tuple[str, str], list[str]] = field(default_factory=lambda: defaultdict(list))
    remote: list[str] = field(default_factory=list)

    def locate(self, kind: str, name: str, namespace: str | None) -> Declared | None:
        """The unique declaration of a built object, or None (see the module docstring)."""
        for matches in (
            [d for d in self.declared if d.kind == kind and not d.generated and d.final_name == name],
            [d for d in self.declared if d.kind == kind and d.generated and _generated_name(d.final_name, name)],
            [d for d in self.declared if d.kind == kind and d.name == name],
        ):
            if len(matches) > 1 and namespace is not None:
                narrowed = [d for d in matches if d.namespace in (namespace, None)]
                exact = [d for d in narrowed if d.namespace == namespace]
                matches = exact if len(exact) == 1 else narrowed
            unique = {d.location: d for d in matches}
            if len(unique) == 1:
                return next(iter(unique.values()))
            if unique:
                return None
        return None

    def patch_files(self, kind: str, names: tuple[str, ...]) -> list[str]:
        found: list[str] = []
        for name in names:
            for file in [*self.patches.get((kind, name), []), *self.patches.get((kind, "*"), [])]:
                if file not in found:
                    found.append(file)
        return found


def _generated_name(base: str, built: str) -> bool:
    """``settings`` was built as ``settings`` (hash disabled) or ``settings-<hash>``."""
    return built == base or (built.startswith(base + "-") and built[len(base) + 1:].isalnum())


def build_index(directory: str, load: LoadOptions | None = None) -> KustomizeIndex:
    load = load or LoadOptions()
    index = KustomizeIndex(Path(directory))
    _walk(Path(directory), "", "", None, index, load, set())
    return index


def _display(path: Path) -> str:
    return os.path.normpath(str(path))


def _read_kustomization(file: Path, load: LoadOptions) -> tuple[dict[str, Any], str]:
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(Location(_display(file)), f"cannot read kustomization: {error}") from None
    warnings: list[InputWarning] = []
    documents = parse_yaml_stream(text, _display(file), load.limits, warnings)
    data = documents[0].data if documents else None
    return (data if isinstance(data, dict) else {}), text


def _strings(value: Any) -> list[str]:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def _line_of_name(text: str, name: str) -> int | None:
    pattern = re.compile(r"^\s*(?:-\s+)?name:\s*[\"']?" + re.escape(name) + r"[\"']?\s*$", re.M)
    match = pattern.search(text)
    return text.count("\n", 0, match.start()) + 1 if match else None


def _walk(
    directory: Path, prefix: str, suffix: str, namespace: str | None,
    index: KustomizeIndex, load: LoadOptions, visited: set[Path],
) -> None:
    """Index one kustomization; ``prefix``/``suffix``/``namespace`` come from above."""
    real = directory.resolve()
    if real in visited:
        return
    visited.add(real)
    file = kustomization_file(directory)
    if file is None:
        return
    data, text = _read_kustomization(file, load)
    own_prefix = data.get("namePrefix") if isinstance(data.get("namePrefix"), str) else ""
    own_suffix = data.get("nameSuffix") if isinstance(data.get("nameSuffix"), str) else ""
    own_namespace = data.get("namespace") if isinstance(data.get("namespace"), str) else None
    full_prefix, full_suffix = prefix + own_prefix, own_suffix + suffix
    effective_namespace = namespace or own_namespace

    entries = _strings(data.get("resources")) + _strings(data.get("bases")) + _strings(data.get("components"))
    for entry in entries:
        if _REMOTE.match(entry):
            index.remote.append(entry)
            continue
        target = directory / entry
        if target.is_dir():
            _walk(target, full_prefix, full_suffix, effective_namespace, index, load, visited)
        elif target.is_file():
            _index_file(target, full_prefix, full_suffix, effective_namespace, index, load)

    for key, kind in (("configMapGenerator", "ConfigMap"), ("secretGenerator", "Secret")):
        generators = data.get(key)
        for generator in generators if isinstance(generators, list) else ():
            if not isinstance(generator, dict) or not isinstance(generator.get("name"), str):
                continue
            name = generator["name"]
            gen_namespace = generator.get("namespace") if isinstance(generator.get("namespace"), str) else None
            index.declared.append(
                Declared(
                    kind, name, full_prefix + name + full_suffix,
                    effective_namespace or gen_namespace,
                    Location(_display(file), _line_of_name(text, name)),
                    generated=True,
                )
            )
    _index_patches(directory, data, index, load)


def _index_file(
    file: Path, prefix: str, suffix: str, namespace: str | None, index: KustomizeIndex,
    load: LoadOptions,
) -> None:
    try:
        loaded = load_paths([_display(file)], load)
    except InputError:
        return  # kustomize build already succeeded; a file we cannot read just stays unmapped
    for raw in loaded.objects:
        kind = raw.obj.get("kind")
        metadata = raw.obj.get("metadata")
        metadata = metadata if isinstance(metadata, dict) else {}
        name = metadata.get("name")
        if not isinstance(kind, str) or not isinstance(name, str):
            continue
        declared_ns = metadata.get("namespace") if isinstance(metadata.get("namespace"), str) else None
        final = name if kind == "CustomResourceDefinition" else prefix + name + suffix
        index.declared.append(Declared(kind, name, final, namespace or declared_ns, raw.location))


def _index_patches(directory: Path, data: dict[str, Any], index: KustomizeIndex, load: LoadOptions) -> None:
    def note(kind: Any, name: Any, file: str) -> None:
        if isinstance(kind, str) and kind:
            index.patches[(kind, name if isinstance(name, str) and name else "*")].append(file)

    def patch_file_targets(path: Path) -> None:
        if not path.is_file():
            return
        try:
            loaded = load_paths([_display(path)], load)
        except InputError:
            return
        for raw in loaded.objects:
            metadata = raw.obj.get("metadata")
            name = metadata.get("name") if isinstance(metadata, dict) else None
            note(raw.obj.get("kind"), name, _display(path))

    for entry in data.get("patchesStrategicMerge") or []:
        if isinstance(entry, str) and "\n" not in entry:
            patch_file_targets(directory / entry)
    for key in ("patches", "patchesJson6902"):
        for entry in data.get(key) or []:
            if not isinstance(entry, dict):
                continue
            path = entry.get("path")
            shown = _display(directory / path) if isinstance(path, str) else _display(
                kustomization_file(directory) or directory
            )
            target = entry.get("target")
            if isinstance(target, dict) and target.get("kind"):
                note(target.get("kind"), target.get("name"), shown)
            elif isinstance(path, str):
                patch_file_targets(directory / path)
            elif isinstance(entry.get("patch"), str):
                inline = load_text(entry["patch"], shown, load)
                for raw in inline.objects:
                    metadata = raw.obj.get("metadata")
                    note(raw.obj.get("kind"), metadata.get("name") if isinstance(metadata, dict) else None, shown)


def build_kustomization(
    directory: str, options: KustomizeOptions | None = None, load: LoadOptions | None = None
) -> RenderResult:
    """``kustomize build DIRECTORY``, each object mapped to the file that declares it."""
    options = options or KustomizeOptions()
    load = load or LoadOptions()
    where = Location(directory)
    if not Path(directory).is_dir():
        raise RenderError(where, "not a directory; --kustomize takes a directory with a kustomization.yaml")
    top = kustomization_file(directory)
    if top is None:
        raise RenderError(where, f"no {' or '.join(KUSTOMIZATION_FILES)} in this directory")
    index = build_index(directory, load)  # read first: remote resources are known before any fetch
    fallback = Location(_display(top))
    if index.remote and not options.allow_remote:
        raise RenderError(
            fallback,
            f"names remote resources ({', '.join(index.remote)}), which kustomize would fetch: "
            "refused (--no-remote-resources); vendor them into the repository, or drop the flag",
        )
    run = run_tool("kustomize", ["build", directory], where, load.max_file_bytes, options.timeout)
    loaded = load_text(run.stdout, f"<kustomize build {directory}>", load)
    result = RenderResult()
    if index.remote:
        result.warnings.append(InputWarning(
            fallback,
            f"kustomize fetched remote resources ({', '.join(index.remote)}); their objects are "
            "located at this kustomization file (--no-remote-resources refuses them)",
        ))
    for raw in loaded.objects:
        kind = str(raw.obj.get("kind", ""))
        metadata = raw.obj.get("metadata")
        metadata = metadata if isinstance(metadata, dict) else {}
        name = str(metadata.get("name") or "")
        namespace = metadata.get("namespace") if isinstance(metadata.get("namespace"), str) else None
        declared = index.locate(kind, name, namespace)
        location = declared.location if declared is not None else fallback
        origin = f"kustomize build output line {raw.location.line}"
        names = (name,) + ((declared.name,) if declared is not None else ())
        patched = index.patch_files(kind, names)
        if patched:
            origin += "; patched by " + ", ".join(patched)
        if location.file not in result.files:
            result.files.append(location.file)
        result.objects.append(RenderedObject(RawObject(raw.obj, location), origin))
    for warning in loaded.warnings:
        result.warnings.append(
            InputWarning(fallback, f"{warning.message} (kustomize build output line {warning.location.line})")
        )
    return result
