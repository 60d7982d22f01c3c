"""hostPathVolumes (baseline, v1.0) and restrictedVolumes (restricted, v1.0).

Volume sources are recognised by key: a source counts as set when its key holds a
non-null value. A volume with no recognised source is what the API server defaults to
``emptyDir`` before admission, and it is judged as such (upstream's own restricted
fixtures rely on this for a bare ``- name: volume0``).
"""

from __future__ import annotations

from ..podview import PodView, as_dict, as_list, as_text
from ..result import Violation
from ..wording import join_quote, pluralize

HOST_PATH_CHECK_ID = "hostPathVolumes"
RESTRICTED_CHECK_ID = "restrictedVolumes"

#: Inline volume sources restricted pods may use.
RESTRICTED_ALLOWED_SOURCES = (
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "image",
    "persistentVolumeClaim",
    "projected",
    "secret",
)

#: Every other source of core/v1 VolumeSource, in the order PSA tests them.
RESTRICTED_FORBIDDEN_SOURCES = (
    "hostPath",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "nfs",
    "iscsi",
    "glusterfs",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "fc",
    "azureFile",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "portworxVolume",
    "scaleIO",
    "storageos",
)


def _volumes(pod: PodView) -> list | tuple:
    return as_list(pod.spec.get("volumes"))


def host_path_volumes_v1_0(pod: PodView) -> Violation | None:
    """Forbid ``hostPath`` volumes."""
    names = []
    paths = []
    for index, volume in enumerate(_volumes(pod)):
        volume = as_dict(volume)
        if volume is not None and volume.get("hostPath") is not None:
            names.append(as_text(volume.get("name")))
            paths.append(f"spec.volumes[{index}].hostPath")
    if not names:
        return None
    return Violation(
        HOST_PATH_CHECK_ID,
        "hostPath volumes",
        f"{pluralize('volume', 'volumes', len(names))} {join_quote(names)}",
        (),
        tuple(paths),
    )


def _restricted_source(volume: dict) -> str | None:
    """The forbidden source type of a volume, or None when it is allowed."""
    for source in RESTRICTED_ALLOWED_SOURCES:
        if volume.get(source) is not None:
            return None
    for source in RESTRICTED_FORBIDDEN_SOURCES:
        if volume.get(source) is not None:
            return source
    return None  # no source at all: defaulted to emptyDir by the API server


def restricted_volumes_v1_0(pod: PodView) -> Violation | None:
    """Allow only configMap, csi, downwardAPI, emptyDir, ephemeral, image, PVC, projected,
    secret."""
    names = []
    types: set[str] = set()
    paths = []
    for index, volume in enumerate(_volumes(pod)):
        volume = as_dict(volume)
        if volume is None:
            continue
        source = _restricted_source(volume)
        if source is not None:
            names.append(as_text(volume.get("name")))
            types.add(source)
            paths.append(f"spec.volumes[{index}].{source}")
    if not names:
        return None
    return Violation(
        RESTRICTED_CHECK_ID,
        "restricted volume types",
        f"{pluralize('volume', 'volumes', len(names))} {join_quote(names)} "
        f"{pluralize('uses', 'use', len(names))} "
        f"{pluralize('restricted volume type', 'restricted volume types', len(types))} "
        f"{join_quote(sorted(types))}",
        (),
        tuple(paths),
    )
