"""The rule-evaluation settings that ``scan``, ``threats``, ``diff`` and ``fix`` share.

Each of them runs the scan pipeline, and a finding must mean the same in all four: the same
packs, config file, Pod Security level and version, target Kubernetes version and built-in
RBAC roles. :func:`rule_options` declares those options once and :func:`scan_options` turns
them into :class:`~auditor.pipeline.ScanOptions`, flags winning over the config file.
"""

from __future__ import annotations

from pathlib import Path

import click

from ..analysis.pss import parse_version
from ..analysis.registry import AnalysisSettings
from ..engine.baseline import load_baseline
from ..engine.config import Config, ConfigError, load_config
from ..inventory import LoadOptions, ParseLimits
from ..pipeline import ScanOptions
from . import fail, parse_size, policy_option


def rule_options(*, pss: bool = True, builtin_rbac: bool = True, config_help: str = "Configuration file (YAML)."):
    """``--policy``, ``--no-builtin-policies``, ``--config`` and, unless turned off,
    ``--pss-level``, ``--pss-version``, ``--kube-version`` and ``--no-builtin-rbac``."""
    options = [
        policy_option,
        click.option("--no-builtin-policies", is_flag=True, help="Use only the packs given with --policy."),
        click.option("--config", "config_path", type=click.Path(path_type=Path), help=config_help),
    ]
    if builtin_rbac:
        options.append(click.option("--no-builtin-rbac", is_flag=True, help="Do not merge Kubernetes' built-in RBAC roles and bindings."))
    if pss:
        options += [
            click.option(
                "--pss-level", type=click.Choice(["baseline", "restricted"]), default=None,
                help="Pod Security level the KA-PSS rules check (default: restricted, or the config's pss.level).",
            ),
            click.option(
                "--pss-version", metavar="v1.N|latest", default=None,
                help="Pod Security policy version the KA-PSS rules check (default: latest, or the config's pss.version).",
            ),
            click.option(
                "--kube-version", default=None, metavar="1.N",
                help="The target cluster's Kubernetes version (e.g. 1.30), for version-dependent rules.",
            ),
        ]

    def decorate(func):
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


#: ``--include-owned``, for the commands that report findings of a cluster
include_owned_option = click.option(
    "--include-owned", is_flag=True,
    help="Also list findings that objects owned by a controller in the input (a Deployment's "
    "ReplicaSets and Pods) repeat from it; by default they are reported once, on the owner.",
)


def load_config_file(path: Path | None) -> Config:
    """The configuration file's settings, or the defaults when none is given."""
    return load_config(path) if path else Config()


def scan_options(
    *,
    policy_dirs: tuple[Path, ...] = (),
    no_builtin_policies: bool = False,
    config: Config | None = None,
    baseline_path: Path | None = None,
    default_namespace: str = "default",
    max_file_size: str = "50MB",
    strict: bool = False,
    pss_level: str | None = None,
    pss_version: str | None = None,
    kube_version: str | None = None,
    builtin_rbac: bool = True,
    include_owned: bool = False,
) -> ScanOptions:
    """ScanOptions from command-line values; exits 2 on a bad version or size."""
    config = config if config is not None else Config()
    options = ScanOptions(
        policy_dirs=list(policy_dirs),
        builtin_policies=not no_builtin_policies,
        config=config,
        baseline=load_baseline(baseline_path) if baseline_path else None,
        default_namespace=default_namespace,
        strict=strict,
        load=LoadOptions(max_file_bytes=parse_size(max_file_size), limits=ParseLimits()),
        settings=pss_settings(config, pss_level, pss_version),
        fold_owned=not include_owned,
    )
    options.settings.extra["rbac.builtin"] = builtin_rbac
    options.settings.kube_version = checked_kube_version(kube_version)
    return options


def pss_settings(config: Config, level: str | None, version: str | None) -> AnalysisSettings:
    """The Pod Security level and version the scan checks: flags win over the config file."""
    if version is not None:
        try:
            version = parse_version(version).label
        except ValueError as error:
            fail(f"--pss-version: {error}")
    elif config.pss.version is not None:
        try:
            version = parse_version(config.pss.version).label
        except ValueError as error:
            raise ConfigError(f"{config.source or 'config'}: pss.version: {error}") from None
    return AnalysisSettings(
        pss_level=level or config.pss.level or "restricted", pss_version=version or "latest"
    )


def checked_kube_version(text: str | None) -> str | None:
    """``--kube-version``: ``1.30``, ``v1.30`` or ``1.30.2``, kept as given; else exit 2."""
    if text is None:
        return None
    from ..analysis.psp import parse_kube_version

    try:
        parse_kube_version(text)
    except ValueError as error:
        fail(f"--kube-version: {error}")
    return text


__all__ = ["checked_kube_version", "include_owned_option", "load_config_file", "pss_settings", "rule_options", "scan_options"]
