"""API errors as the real server reports them: `Status` objects with reason, code and details."""

from __future__ import annotations

from typing import Any

from kdeploy.emulator.registry import ResourceType

Obj = dict[str, Any]


class ApiError(Exception):
    """A request failed; `status()` is the Status object to answer with `code`."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        details: Obj | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or {}

    def status(self) -> Obj:
        """The `Status` object for this error."""
        out: Obj = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
        }
        if self.reason:
            out["reason"] = self.reason
        if self.details is not None:
            out["details"] = self.details
        out["code"] = self.code
        return out


def _details(rt: ResourceType | None, name: str) -> Obj:
    d: Obj = {"name": name}
    if rt is not None:
        if rt.group:
            d["group"] = rt.group
        d["kind"] = rt.plural
    return d


def not_found(rt: ResourceType, name: str) -> ApiError:
    """404 `deployments.apps "x" not found`."""
    return ApiError(404, "NotFound", f'{rt.group_resource} "{name}" not found', _details(rt, name))


def namespace_not_found(name: str) -> ApiError:
    """404 `namespaces "x" not found`."""
    return ApiError(
        404, "NotFound", f'namespaces "{name}" not found', {"name": name, "kind": "namespaces"}
    )


def no_route() -> ApiError:
    """404 for an unknown URL or resource type."""
    return ApiError(404, "NotFound", "the server could not find the requested resource", {})


def already_exists(rt: ResourceType, name: str) -> ApiError:
    """409 AlreadyExists."""
    return ApiError(
        409, "AlreadyExists", f'{rt.group_resource} "{name}" already exists', _details(rt, name)
    )


def conflict(rt: ResourceType, name: str, why: str | None = None) -> ApiError:
    """409 Conflict for a stale resourceVersion or a failed precondition."""
    why = why or (
        "the object has been modified; please apply your changes to the latest version and try again"
    )
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {rt.group_resource} "{name}": {why}',
        _details(rt, name),
    )


def precondition_failed(
    rt: ResourceType, name: str, what: str, wanted: str, found: str
) -> ApiError:
    """409 Conflict for a DELETE whose `uid` or `resourceVersion` precondition does not hold
    (the storage layer's wording, with the qualified kind)."""
    why = "recreated" if what == "UID" else "modified"
    details: Obj = {"name": name, **({"group": rt.group} if rt.group else {}), "kind": rt.kind}
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {rt.group_kind} "{name}": the {what} in the '
        f"precondition ({wanted}) does not match the {what} in record ({found}). The object "
        f"might have been {why}",
        details,
    )


def rejected() -> ApiError:
    """422 with the generic text, as a JSON patch that does not apply is answered."""
    return ApiError(
        422, "Invalid", "the server rejected our request due to an error in our request", {}
    )


def apply_conflict(conflicts: list[tuple[str, str]], api_version: str) -> ApiError:
    """409 for server-side apply conflicts: (manager, field path) pairs, grouped by manager."""
    by_manager: dict[str, list[str]] = {}
    for manager, path in conflicts:
        by_manager.setdefault(manager, []).append(path)
    causes = []
    for manager in sorted(by_manager):
        for path in by_manager[manager]:
            causes.append(
                {
                    "reason": "FieldManagerConflict",
                    "message": f'conflict with "{manager}" using {api_version}',
                    "field": path,
                }
            )
    n = len(causes)
    if n == 1:
        m, p = conflicts[0]
        message = f'Apply failed with 1 conflict: conflict with "{m}" using {api_version}: {p}'
    else:
        lines = [f"Apply failed with {n} conflicts:"]
        for manager in sorted(by_manager):
            lines.append(f'conflicts with "{manager}" using {api_version}:')
            lines.extend(f"- {p}" for p in by_manager[manager])
        message = " ".join(lines[:1]) + " " + "\n".join(lines[1:])
    return ApiError(409, "Conflict", message, {"causes": causes})


def invalid(
    rt: ResourceType | None, kind: str, name: str, causes: list[tuple[str, str, str]]
) -> ApiError:
    """422 Invalid. `causes` are (reason, field, message) triples like
    ('FieldValueInvalid', 'metadata.name', 'Invalid value: "X": ...')."""
    group_kind = rt.group_kind if rt is not None else kind
    parts = [f"{f}: {m}" if f else m for _, f, m in causes]
    body = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    details: Obj = {"name": name} if name else {}  # Go's omitempty
    details["kind"] = rt.kind if rt else kind
    if rt is not None and rt.group:
        details["group"] = rt.group
    details["causes"] = [{"reason": r, "message": m, "field": f} for r, f, m in causes]
    return ApiError(422, "Invalid", f'{group_kind} "{name}" is invalid: {body}', details)


def options_invalid(kind: str, causes: list[tuple[str, str, str]]) -> ApiError:
    """422 Invalid for request options (`CreateOptions`, `PatchOptions`, ...), which the real
    server reports in the meta.k8s.io group with no name."""
    parts = [f"{f}: {m}" for _, f, m in causes]
    body = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    details: Obj = {
        "group": "meta.k8s.io",
        "kind": kind,
        "causes": [{"reason": r, "message": m, "field": f} for r, f, m in causes],
    }
    return ApiError(422, "Invalid", f'{kind}.meta.k8s.io "" is invalid: {body}', details)


def bad_request(message: str) -> ApiError:
    """400 BadRequest."""
    return ApiError(400, "BadRequest", message)


def forbidden(rt: ResourceType, name: str, why: str, causes: list[Obj] | None = None) -> ApiError:
    """403 Forbidden `<resource> "<name>" is forbidden: <why>`."""
    details = _details(rt, name)
    if causes:
        details["causes"] = causes
    subject = f'{rt.group_resource} "{name}"' if name else rt.group_resource
    return ApiError(403, "Forbidden", f"{subject} is forbidden: {why}", details)


def method_not_allowed(verb: str, kind: str) -> ApiError:
    """405 MethodNotAllowed."""
    return ApiError(
        405,
        "MethodNotAllowed",
        "the server does not allow this method on the requested resource",
        {},
    )


def expired(message: str) -> ApiError:
    """410 Expired (too old resourceVersion)."""
    return ApiError(410, "Expired", message)


def too_large(message: str) -> ApiError:
    """413 RequestEntityTooLarge."""
    return ApiError(413, "RequestEntityTooLarge", message)


def unsupported_media_type(accepted: list[str] | tuple[str, ...]) -> ApiError:
    """415 UnsupportedMediaType, listing the media types the endpoint accepts (the real
    server's negotiation error, word for word)."""
    return ApiError(
        415,
        "UnsupportedMediaType",
        "the body of the request was in an unknown format - accepted media types include: "
        + ", ".join(accepted),
    )


def internal(message: str) -> ApiError:
    """500 InternalError."""
    return ApiError(
        500,
        "InternalError",
        f"Internal error occurred: {message}",
        {"causes": [{"message": message}]},
    )
