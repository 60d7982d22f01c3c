"""The Helm and Kustomize options that ``scan`` and ``diff`` share, and the render settings they make."""

from __future__ import annotations

import click

from ..render import (
    DEFAULT_RELEASE,
    HelmOptions,
    KustomizeOptions,
    RenderOptions,
)


def helm_options(func=None, *, namespace: bool = True):
    """``--values``, ``--set``, ``--release`` and (unless the command has its own
    ``-n/--namespace``, as ``scan`` does) ``--namespace``, applied to every chart."""
    if func is None:
        return lambda f: helm_options(f, namespace=namespace)
    if namespace:
        func = click.option(
            "--namespace", "release_namespace", metavar="NS", default=None,
            help="Namespace charts are rendered for (.Release.Namespace), and of rendered objects "
            "that name none (default: --default-namespace).",
        )(func)
    func = click.option(
        "--release", metavar="NAME", default=None,
        help=f"Helm release name (default: {DEFAULT_RELEASE}, as helm template uses).",
    )(func)
    func = click.option(
        "--set", "set_values", metavar="KEY=VALUE", multiple=True,
        help="Helm value to set, as helm --set (repeatable).",
    )(func)
    func = click.option(
        "--values", "values_files", metavar="FILE", multiple=True,
        help="Helm values file, as helm --values (repeatable).",
    )(func)
    return func


#: ``--no-remote-resources``: a kustomization may not make kustomize fetch from the network
no_remote_option = click.option(
    "--no-remote-resources", "no_remote", is_flag=True,
    help="Refuse kustomizations that name remote resources (URLs, git repositories) instead "
    "of letting kustomize fetch them: for gates on untrusted changes.",
)


def render_settings(
    values_files: tuple[str, ...],
    set_values: tuple[str, ...],
    release: str | None,
    namespace: str,
    allow_remote: bool = True,
) -> RenderOptions:
    return RenderOptions(
        helm=HelmOptions(
            release=release or DEFAULT_RELEASE,
            namespace=namespace,
            values=tuple(values_files),
            set_values=tuple(set_values),
        ),
        kustomize=KustomizeOptions(allow_remote=allow_remote),
    )
