"""appArmorProfile: overriding or disabling the default AppArmor profile (baseline, v1.0).

Two channels are checked, both at every policy version (upstream amended the single
v1.0 revision when the fields arrived in Kubernetes 1.30):

* ``securityContext.appArmorProfile.type`` on the pod and on each container must be
  ``RuntimeDefault`` or ``Localhost``. A pod-level ``Unconfined`` is reported even when
  every container overrides it: PSA judges each field as written, not the effective
  profile. A profile object without a ``type`` reports the empty type ``""``.
* the beta annotations ``container.apparmor.security.beta.kubernetes.io/<name>`` must be
  empty, ``runtime/default`` or ``localhost/<profile>``.
"""

from __future__ import annotations

from ..podview import PodView, as_text, profile_type
from ..result import Violation
from ..wording import containers_phrase, go_quote, join_quote, pluralize

CHECK_ID = "appArmorProfile"

ANNOTATION_PREFIX = "container.apparmor.security.beta.kubernetes.io/"
_ALLOWED_TYPES = frozenset({"RuntimeDefault", "Localhost"})


def _allowed_annotation(value: str) -> bool:
    return not value or value == "runtime/default" or value.startswith("localhost/")


def app_armor_profile_v1_0(pod: PodView) -> Violation | None:
    """Forbid AppArmor profile types and annotation values other than the default or localhost."""
    setters = []
    bad_values: set[str] = set()
    paths = []
    pod_type = profile_type(pod.pod_sc, "appArmorProfile")
    if pod_type is not None and pod_type not in _ALLOWED_TYPES:
        setters.append("pod")
        bad_values.add(pod_type)
        paths.append("spec.securityContext.appArmorProfile.type")

    names = []
    for kind, index, name, sc, _ in pod.containers:
        container_type = profile_type(sc, "appArmorProfile")
        if container_type is not None and container_type not in _ALLOWED_TYPES:
            names.append(name)
            bad_values.add(container_type)
            paths.append(f"spec.{kind}[{index}].securityContext.appArmorProfile.type")
    if names:
        setters.append(containers_phrase(names))

    bad_annotations = []
    for key, value in pod.annotations.items():
        if isinstance(key, str) and key.startswith(ANNOTATION_PREFIX):
            value = as_text(value)
            if not _allowed_annotation(value):
                bad_annotations.append((f"{key}={go_quote(value)}", key))
    bad_value_list = sorted(bad_values)
    if bad_annotations:
        bad_annotations.sort()
        bad_value_list.extend(text for text, _ in bad_annotations)
        setters.append(pluralize("annotation", "annotations", len(bad_annotations)))
        paths.extend(f"metadata.annotations[{key}]" for _, key in bad_annotations)
        names.extend(key[len(ANNOTATION_PREFIX) :] for _, key in bad_annotations)

    if not setters:
        return None
    return Violation(
        CHECK_ID,
        pluralize("forbidden AppArmor profile", "forbidden AppArmor profiles", len(bad_value_list)),
        f"{' and '.join(setters)} must not set AppArmor profile type to {join_quote(bad_value_list)}",
        tuple(dict.fromkeys(names)),
        tuple(paths),
    )
