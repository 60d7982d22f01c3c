"""admission.k8s.io/v1 AdmissionReview: reading requests strictly, writing responses.

Input is untrusted: anything that is not a well-formed v1 AdmissionReview raises
:class:`ReviewError`, which the server answers with a 400 naming the problem (never a 500).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

import orjson

API_VERSION = "admission.k8s.io/v1"
KIND = "AdmissionReview"
OPERATIONS = frozenset({"CREATE", "UPDATE", "DELETE", "CONNECT"})
#: The API server's uids are UUIDs; anything much longer is not one of its requests.
MAX_UID_LENGTH = 128


class ReviewError(ValueError):
    """A request that is not a usable AdmissionReview; the message says why (for a 400)."""


@dataclass(slots=True)
class AdmissionRequest:
    """The parts of ``request`` the webhook uses."""

    uid: str
    operation: str
    group: str
    version: str
    kind: str
    resource: str
    sub_resource: str
    namespace: str
    name: str
    object: dict[str, Any] | None
    old_object: dict[str, Any] | None
    username: str
    groups: list[str] = field(default_factory=list)
    dry_run: bool = False


def _text(value: Any, where: str, required: bool = False) -> str:
    if value is None:
        if required:
            raise ReviewError(f"{where} is missing")
        return ""
    if not isinstance(value, str):
        raise ReviewError(f"{where} must be a string")
    if required and not value:
        raise ReviewError(f"{where} is empty")
    return value


def _object(value: Any, where: str) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ReviewError(f"{where} must be an object")
    return value


def parse_review(body: bytes) -> AdmissionRequest:
    """Decode and check one AdmissionReview; raise :class:`ReviewError` on anything else."""
    try:
        review = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise ReviewError(f"the body is not valid JSON: {error}") from None
    if not isinstance(review, dict):
        raise ReviewError("the body must be a JSON object (an AdmissionReview)")
    api_version, kind = review.get("apiVersion"), review.get("kind")
    if api_version != API_VERSION or kind != KIND:
        raise ReviewError(
            f"expected apiVersion {API_VERSION} and kind {KIND}, got "
            f"{_shown(api_version)} and {_shown(kind)} (the webhook speaks admissionReviewVersions v1 only)"
        )
    request = review.get("request")
    if not isinstance(request, dict):
        raise ReviewError("request is missing or not an object")
    uid = _text(request.get("uid"), "request.uid", required=True)
    if len(uid) > MAX_UID_LENGTH:
        raise ReviewError(f"request.uid is longer than {MAX_UID_LENGTH} characters")
    operation = _text(request.get("operation"), "request.operation", required=True)
    if operation not in OPERATIONS:
        raise ReviewError(f"request.operation must be one of {', '.join(sorted(OPERATIONS))}")
    gvk = request.get("kind")
    if not isinstance(gvk, dict):
        raise ReviewError("request.kind is missing or not an object")
    resource = request.get("resource")
    resource = resource if isinstance(resource, dict) else {}
    user = request.get("userInfo")
    user = user if isinstance(user, dict) else {}
    groups = user.get("groups")
    if groups is not None and not (isinstance(groups, list) and all(isinstance(g, str) for g in groups)):
        raise ReviewError("request.userInfo.groups must be a list of strings")
    obj = _object(request.get("object"), "request.object")
    old = _object(request.get("oldObject"), "request.oldObject")
    if operation in ("CREATE", "UPDATE") and obj is None:
        raise ReviewError(f"request.object is required for {operation}")
    dry_run = request.get("dryRun")
    return AdmissionRequest(
        uid=uid,
        operation=operation,
        group=_text(gvk.get("group"), "request.kind.group"),
        version=_text(gvk.get("version"), "request.kind.version"),
        kind=_text(gvk.get("kind"), "request.kind.kind", required=True),
        resource=_text(resource.get("resource"), "request.resource.resource"),
        sub_resource=_text(request.get("subResource"), "request.subResource"),
        namespace=_text(request.get("namespace"), "request.namespace"),
        name=_text(request.get("name"), "request.name"),
        object=obj,
        old_object=old,
        username=_text(user.get("username"), "request.userInfo.username"),
        groups=list(groups or []),
        dry_run=dry_run is True,
    )


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return repr(value[:64])
    return "nothing" if value is None else f"a {type(value).__name__}"


def review_uid(body: bytes) -> str | None:
    """The uid of a request that failed validation, when it has one (for logs only)."""
    try:
        review = orjson.loads(body)
        uid = review["request"]["uid"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None
    return uid[:MAX_UID_LENGTH] if isinstance(uid, str) else None


def response_review(
    uid: str,
    allowed: bool,
    *,
    message: str | None = None,
    code: int = 403,
    warnings: list[str] | None = None,
    audit_annotations: dict[str, str] | None = None,
    patch: list[dict] | None = None,
) -> dict[str, Any]:
    """An AdmissionReview response for ``uid``."""
    response: dict[str, Any] = {"uid": uid, "allowed": allowed}
    if not allowed:
        response["status"] = {
            "code": code,
            "reason": "Forbidden" if code == 403 else "InternalError",
            "message": message or "denied by kube-auditor",
        }
    if warnings:
        response["warnings"] = warnings
    if audit_annotations:
        response["auditAnnotations"] = audit_annotations
    if patch:
        response["patchType"] = "JSONPatch"
        response["patch"] = base64.b64encode(orjson.dumps(patch)).decode("ascii")
    return {"apiVersion": API_VERSION, "kind": KIND, "response": response}
