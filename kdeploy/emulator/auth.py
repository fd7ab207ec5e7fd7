"""Bearer-token authentication and a simple per-user verb policy (for HTTPS mode), so tests can
exercise 401 Unauthorized and 403 Forbidden answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from kdeploy.emulator.apierrors import ApiError

_PUBLIC = ("/version", "/healthz", "/livez", "/readyz")


def request_verb(method: str, path: str) -> tuple[str, str, str]:
    """The RBAC verb, resource and namespace of a request (resource '' for non-resource URLs)."""
    url = urlsplit(path)
    parts = [p for p in url.path.split("/") if p]
    query = dict(parse_qsl(url.query))
    rest: list[str] = []
    if parts[:2] == ["api", "v1"]:
        rest = parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 3:
        rest = parts[3:]
    namespace = ""
    if len(rest) >= 3 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
    resource = rest[0] if rest else ""
    named = len(rest) >= 2
    verb = {
        "GET": "get" if named else "list",
        "HEAD": "get" if named else "list",
        "POST": "create",
        "PUT": "update",
        "PATCH": "patch",
        "DELETE": "delete" if named else "deletecollection",
    }.get(method, method.lower())
    if method == "GET" and query.get("watch") in ("1", "true"):
        verb = "watch"
    return verb, resource, namespace


@dataclass
class AuthPolicy:
    """`tokens` maps a bearer token to a user name; `allow` maps a user to the verbs it may use
    ('*' for all). Users missing from `allow` may do everything."""

    tokens: dict[str, str]
    allow: dict[str, set[str]] = field(default_factory=dict)

    def check(self, authorization: str, method: str, path: str) -> str:
        """The user making the request. Raises ApiError 401 for a missing or unknown token and
        403 when the user's verbs do not include the request's."""
        token = authorization[7:].strip() if authorization.startswith("Bearer ") else ""
        user = self.tokens.get(token)
        if user is None:
            if urlsplit(path).path in _PUBLIC:
                return "system:anonymous"
            raise ApiError(401, "Unauthorized", "Unauthorized")
        verbs = self.allow.get(user)
        if verbs is None or "*" in verbs:
            return user
        verb, resource, namespace = request_verb(method, path)
        if not resource or verb in verbs:
            return user
        where = f' in the namespace "{namespace}"' if namespace else " at the cluster scope"
        raise ApiError(
            403,
            "Forbidden",
            f'{resource} is forbidden: User "{user}" cannot {verb} resource "{resource}"{where}',
            {"kind": resource},
        )
