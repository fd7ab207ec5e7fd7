"""What a real API server writes into an object after it has recorded the writer's managedFields:
the mutating admission plugins every cluster runs (ServiceAccount, Priority,
DefaultTolerationSeconds, StorageObjectInUseProtection) and the registry strategies'
PrepareForCreate (Namespace finalizers, a new Pod's status, the Job selector).

The apiserver's create and update handlers compute managedFields from the decoded, defaulted
object before admission and before the registry, so none of these fields belongs to the client
that sent the request (pkg/endpoints/handlers/create.go: FieldManager.UpdateNoErrors runs before
mutatingAdmission.Admit). Pure functions over the object; the caller stores it.
"""

from __future__ import annotations

from typing import Any

from kdeploy.emulator.store import random_suffix

Obj = dict[str, Any]

SERVICE_ACCOUNT_MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
API_ACCESS_VOLUME_PREFIX = "kube-api-access-"
# The ServiceAccount admission plugin's token lifetime: an hour plus 7 s of jitter, so clients
# that still read the token file keep working while it rotates (serviceaccount/admission.go).
_TOKEN_EXPIRATION_SECONDS = 3607
PVC_PROTECTION_FINALIZER = "kubernetes.io/pvc-protection"
_NOT_READY_TOLERATIONS = ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable")


def admit_pod(pod: Obj, automount: bool = True) -> None:
    """ServiceAccount, Priority and DefaultTolerationSeconds admission of a new Pod.
    `automount` is the service account's `automountServiceAccountToken` (True when unset)."""
    spec = pod.get("spec")
    if not isinstance(spec, dict):
        return
    if not spec.get("serviceAccountName"):
        spec["serviceAccountName"] = "default"
    spec["serviceAccount"] = spec["serviceAccountName"]
    spec.setdefault("priority", 0)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    tolerations = spec.get("tolerations")
    if not isinstance(tolerations, list):
        tolerations = spec["tolerations"] = []
    present = {t.get("key") for t in tolerations if isinstance(t, dict)}
    for key in _NOT_READY_TOLERATIONS:
        if key not in present:
            tolerations.append(
                {"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
            )
    wanted = spec.get("automountServiceAccountToken")
    if wanted is False or (wanted is None and not automount):
        return
    _mount_api_access(spec)


def _mount_api_access(spec: Obj) -> None:
    """The projected `kube-api-access-<random>` volume (token, root CA, namespace), mounted
    read-only in every container and init container that has nothing at the mount path yet."""
    containers = [
        c
        for key in ("initContainers", "containers")
        for c in spec.get(key) or ()
        if isinstance(c, dict)
    ]

    def mounted(c: Obj) -> bool:
        return any(
            isinstance(m, dict) and m.get("mountPath") == SERVICE_ACCOUNT_MOUNT_PATH
            for m in c.get("volumeMounts") or ()
        )

    targets = [c for c in containers if not mounted(c)]
    if not targets:
        return
    volumes = spec.get("volumes")
    if not isinstance(volumes, list):
        volumes = spec["volumes"] = []
    name = next(
        (
            str(v["name"])
            for v in volumes
            if isinstance(v, dict) and str(v.get("name", "")).startswith(API_ACCESS_VOLUME_PREFIX)
        ),
        "",
    )
    if not name:
        name = API_ACCESS_VOLUME_PREFIX + random_suffix()
        volumes.append(_api_access_volume(name))
    for c in targets:
        mounts = c.get("volumeMounts")
        if not isinstance(mounts, list):
            mounts = c["volumeMounts"] = []
        mounts.append({"name": name, "readOnly": True, "mountPath": SERVICE_ACCOUNT_MOUNT_PATH})


def _api_access_volume(name: str) -> Obj:
    return {
        "name": name,
        "projected": {
            "sources": [
                {
                    "serviceAccountToken": {
                        "expirationSeconds": _TOKEN_EXPIRATION_SECONDS,
                        "path": "token",
                    }
                },
                {
                    "configMap": {
                        "name": "kube-root-ca.crt",
                        "items": [{"key": "ca.crt", "path": "ca.crt"}],
                    }
                },
                {
                    "downwardAPI": {
                        "items": [
                            {
                                "path": "namespace",
                                "fieldRef": {
                                    "apiVersion": "v1",
                                    "fieldPath": "metadata.namespace",
                                },
                            }
                        ]
                    }
                },
            ],
            "defaultMode": 420,
        },
    }


def admit_pvc(pvc: Obj) -> None:
    """StorageObjectInUseProtection: a new claim carries the pvc-protection finalizer, which the
    claim's protection controller removes once no pod uses it."""
    finalizers = pvc["metadata"].setdefault("finalizers", [])
    if PVC_PROTECTION_FINALIZER not in finalizers:
        finalizers.append(PVC_PROTECTION_FINALIZER)


def prepare_namespace(namespace: Obj) -> None:
    """The namespace strategy's PrepareForCreate: the `kubernetes` finalizer, phase Active."""
    spec = namespace.setdefault("spec", {})
    if isinstance(spec, dict) and spec.get("finalizers") is None:
        spec["finalizers"] = ["kubernetes"]
    status = namespace.setdefault("status", {})
    if isinstance(status, dict):
        status.setdefault("phase", "Active")


def select_job_pods(job: Obj) -> None:
    """Give a new Job the selector and pod-template labels the real server generates from its
    uid (unless it asks for a manual selector)."""
    spec = job.setdefault("spec", {})
    if spec.get("manualSelector"):
        return
    uid, name = job["metadata"]["uid"], job["metadata"]["name"]
    spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    meta = spec.setdefault("template", {}).setdefault("metadata", {})
    labels = meta.setdefault("labels", {})
    labels.update(
        {
            "batch.kubernetes.io/controller-uid": uid,
            "batch.kubernetes.io/job-name": name,
            "controller-uid": uid,
            "job-name": name,
        }
    )
