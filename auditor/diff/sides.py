"""The two sides of a diff: two paths, or one path at two git revisions.

A side is scanned exactly as ``scan`` would scan it (a chart directory is rendered with
Helm, ``kustomize=True`` builds it with Kustomize), with the same rules, config and
waivers on both sides. For git revisions each revision's whole tree is written to a
temporary directory with ``git archive`` (so overlays can reach their bases and charts
their subcharts), scanned there, and every file name is then given back as the path the
file has in the repository, relative to the working directory, so findings of a revision
read like findings of the working tree.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..engine.notices import Notice
from ..engine.result import ScanResult
from ..inventory import InputError, InputWarning, Location
from ..pipeline import ScanOptions, scan_loaded
from ..render import LoadedInputs, RenderOptions, annotate_origins, load_inputs
from ..render.tools import one_line


class GitError(InputError):
    """A revision or repository that cannot be read (exit code 2)."""


@dataclass
class DiffOptions:
    scan: ScanOptions = field(default_factory=ScanOptions)
    render: RenderOptions = field(default_factory=RenderOptions)
    #: BASE and HEAD are kustomization directories (built with ``kustomize build``)
    kustomize: bool = False
    #: merge Kubernetes' built-in RBAC roles (as ``scan`` does unless --no-builtin-rbac)
    builtin_rbac: bool = True


@dataclass
class Side:
    label: str
    result: ScanResult
    #: the path does not exist on this side (a git revision before the path was added)
    missing: bool = False


def _load(path: str, options: DiffOptions, render: RenderOptions | None = None) -> LoadedInputs:
    render = render or options.render
    if options.kustomize:
        return load_inputs([], [], [path], render, options.scan.load)
    return load_inputs([path], [], [], render, options.scan.load)


def _scan(inputs: LoadedInputs, options: DiffOptions) -> ScanResult:
    result = scan_loaded(inputs.load_result(), options.scan)
    annotate_origins(result.findings, inputs)
    return result


def scan_path(path: str, options: DiffOptions) -> Side:
    if not Path(path).exists():
        raise InputError(Location(path), "no such file or directory")
    return Side(path, _scan(_load(path, options), options))


# ------------------------------------------------------------------------------ git


def _git(args: list[str], cwd: str, where: Location, binary: bool = False) -> str | bytes:
    git = shutil.which("git")
    if git is None:
        raise GitError(where, "git not found on PATH: install git to diff revisions")
    completed = subprocess.run(
        [git, *args], cwd=cwd, capture_output=True, stdin=subprocess.DEVNULL, check=False
    )
    if completed.returncode != 0:
        message = one_line(completed.stderr.decode("utf-8", "replace")) or f"exit code {completed.returncode}"
        raise GitError(where, f"git {args[0]} failed: {message}")
    return completed.stdout if binary else completed.stdout.decode("utf-8", "replace").strip()


@dataclass(frozen=True)
class Repository:
    top: Path  #: the working tree's top directory
    prefix: str  #: the diffed path, relative to ``top`` (posix, ``.`` for the whole tree)


def find_repository(path: str) -> Repository:
    """The repository holding ``path`` (which need not exist in the working tree)."""
    where = Location(path)
    target = Path(os.path.realpath(path))  # resolves what exists; a missing tail is kept
    start = target
    while not start.is_dir() and start != start.parent:
        start = start.parent
    top = Path(str(_git(["rev-parse", "--show-toplevel"], str(start), where))).resolve()
    try:
        relative = target.relative_to(top)
    except ValueError:
        raise GitError(where, f"not inside the repository at {top}") from None
    return Repository(top, relative.as_posix() or ".")


def resolve_revision(repo: Repository, revision: str) -> str:
    """The commit a revision names (``main``, ``HEAD~1``, ``origin/main``, a hash)."""
    where = Location(revision)
    if not revision or revision.startswith("-"):
        raise GitError(where, "not a revision")
    try:
        return str(_git(["rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}"], str(repo.top), where))
    except GitError:
        raise GitError(where, f"unknown revision in the repository at {repo.top}") from None


def _safe_members(archive: tarfile.TarFile, root: Path) -> Iterator[tarfile.TarInfo]:
    """Members that stay inside ``root`` (no absolute paths, no ``..``, no links out)."""
    for member in archive:
        name = Path(member.name)
        if name.is_absolute() or ".." in name.parts:
            continue
        if member.issym() or member.islnk():
            target = (root / name.parent / member.linkname) if member.issym() else root / member.linkname
            try:
                Path(os.path.normpath(target)).relative_to(root)
            except ValueError:
                continue
        if not (member.isfile() or member.isdir() or member.issym() or member.islnk()):
            continue
        yield member


def materialise(repo: Repository, commit: str, directory: Path) -> None:
    """Write the tree of ``commit`` into ``directory`` with ``git archive``."""
    where = Location(commit)
    git = shutil.which("git")
    if git is None:
        raise GitError(where, "git not found on PATH: install git to diff revisions")
    with subprocess.Popen(
        [git, "archive", "--format=tar", commit],
        cwd=repo.top, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
    ) as process:
        assert process.stdout is not None
        with tarfile.open(fileobj=process.stdout, mode="r|") as archive:
            root = directory.resolve()
            for member in _safe_members(archive, root):
                if hasattr(tarfile, "data_filter"):
                    archive.extract(member, root, filter="data")
                else:  # pragma: no cover - Python without the extraction filters
                    archive.extract(member, root)
        stderr = process.stderr.read() if process.stderr else b""
        process.wait()
    if process.returncode != 0:
        raise GitError(where, f"git archive failed: {one_line(stderr.decode('utf-8', 'replace'))}")


def _shown_path(file: str, tree: Path, repo: Repository) -> str:
    """A file of a materialised tree as the path it has in the repository (from the cwd)."""
    try:
        inside = Path(file).resolve().relative_to(tree)
    except (ValueError, OSError):
        return file
    real = repo.top / inside
    relative = os.path.relpath(real, Path.cwd())
    return real.as_posix() if relative.startswith("..") else Path(relative).as_posix()


def _relocate(inputs: LoadedInputs, tree: Path, repo: Repository) -> None:
    for raw in inputs.objects:
        raw.location = Location(_shown_path(raw.location.file, tree, repo), raw.location.line, raw.location.column)
    inputs.warnings[:] = [
        InputWarning(Location(_shown_path(w.location.file, tree, repo), w.location.line), w.message)
        for w in inputs.warnings
    ]
    inputs.files[:] = [_shown_path(f, tree, repo) for f in inputs.files]
    inputs.charts[:] = [_shown_path(f, tree, repo) for f in inputs.charts]


def _tree_render(render: RenderOptions, tree: Path, repo: Repository, revision: str) -> RenderOptions:
    """Values files inside the repository are read from the revision's own tree."""
    values = []
    for file in render.helm.values:
        try:
            inside = Path(file).resolve().relative_to(repo.top)
        except ValueError:
            values.append(file)
            continue
        at_revision = tree / inside
        if not at_revision.is_file():
            raise GitError(Location(file), f"values file does not exist at {revision}")
        values.append(str(at_revision))
    return replace(render, helm=replace(render.helm, values=tuple(values)))


@contextmanager
def _temporary_tree() -> Iterator[Path]:
    directory = Path(tempfile.mkdtemp(prefix="kube-auditor-diff-")).resolve()
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def scan_revision(repo: Repository, revision: str, options: DiffOptions) -> Side:
    commit = resolve_revision(repo, revision)
    label = commit[:12] if commit.startswith(revision) else f"{revision} ({commit[:12]})"
    with _temporary_tree() as tree:
        materialise(repo, commit, tree)
        path = tree / repo.prefix
        if not path.exists():
            # added (or deleted) by the change: this side has nothing, which is what it is
            result = _scan(LoadedInputs(), options)
            result.notices.append(Notice("input", f"{repo.prefix} does not exist at {revision}: compared as empty"))
            return Side(label, result, missing=True)
        render = _tree_render(options.render, tree, repo, revision)
        inputs = _load(str(path), options, render)
        _relocate(inputs, tree, repo)
        return Side(label, _scan(inputs, options))
