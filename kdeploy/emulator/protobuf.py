"""Decode Kubernetes protobuf request bodies (`k8s\\x00` + runtime.Unknown) into JSON-shaped dicts.

client-go sends built-in types as protobuf by default, with no JSON fallback: helm's release
storage (Secrets or ConfigMaps) and DeleteOptions, and kubectl's generators (`kubectl create
deployment|service|job|...`, `kubectl run`, `expose`, `autoscale`). The kinds those clients write
are described here, field numbers from the upstream `generated.proto` files of k8s.io/api and
k8s.io/apimachinery; fields outside these schemas are refused with a message rather than dropped.
Responses stay JSON, which every client accepts.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any

MAGIC = b"k8s\x00"
PROTOBUF_CONTENT_TYPE = "application/vnd.kubernetes.protobuf"

_VARINT, _I64, _LEN, _I32 = 0, 1, 2, 5


class ProtobufDecodeError(ValueError):
    """The body is not a well-formed Kubernetes protobuf message of a supported kind."""


def is_protobuf(content_type: str, body: bytes) -> bool:
    """True if the request body is a Kubernetes protobuf envelope (by Content-Type or magic)."""
    media = content_type.split(";", 1)[0].strip().lower()
    return media == PROTOBUF_CONTENT_TYPE or body.startswith(MAGIC)


# ---------------------------------------------------------------- wire format


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ProtobufDecodeError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ProtobufDecodeError("varint longer than 64 bits")


def _fields(buf: bytes) -> list[tuple[int, int, Any]]:
    """Split a message into (field number, wire type, value) triples; LEN values stay bytes."""
    out: list[tuple[int, int, Any]] = []
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise ProtobufDecodeError("field number 0")
        value: Any
        if wire == _VARINT:
            value, pos = _varint(buf, pos)
        elif wire == _LEN:
            size, pos = _varint(buf, pos)
            if pos + size > len(buf):
                raise ProtobufDecodeError(f"field {number}: length {size} runs past the end")
            value = buf[pos : pos + size]
            pos += size
        elif wire == _I64:
            value = int.from_bytes(buf[pos : pos + 8], "little")
            pos += 8
        elif wire == _I32:
            value = int.from_bytes(buf[pos : pos + 4], "little")
            pos += 4
        else:
            raise ProtobufDecodeError(f"field {number}: unsupported wire type {wire}")
        if pos > len(buf):
            raise ProtobufDecodeError(f"field {number}: truncated")
        out.append((number, wire, value))
    return out


# ---------------------------------------------------------------- schema-driven decoding

# A field decoder turns the raw wire value into its JSON form.
Decoder = Callable[[Any], Any]


def _string(value: Any) -> str:
    if not isinstance(value, bytes):
        raise ProtobufDecodeError("expected a length-delimited string")
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProtobufDecodeError(f"string is not UTF-8: {exc}") from exc


def _string_or_empty(value: Any) -> str:
    return _string(value) if value else ""


def _bytes_b64(value: Any) -> str:
    if not isinstance(value, bytes):
        raise ProtobufDecodeError("expected bytes")
    return base64.b64encode(value).decode("ascii")


def _int64(value: Any) -> int:
    if not isinstance(value, int):
        raise ProtobufDecodeError("expected a varint")
    return value - (1 << 64) if value >= 1 << 63 else value


def _bool(value: Any) -> bool:
    return bool(_int64(value))


def _time(value: Any) -> str | None:
    """meta/v1 Time {seconds=1, nanos=2} as RFC 3339; an empty message is the zero time (null)."""
    seconds = 0
    for number, _, v in _fields(value):
        if number == 1:
            seconds = _int64(v)
    if not seconds:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def _map(value_decoder: Decoder) -> Callable[[Any], tuple[str, Any]]:
    def entry(value: Any) -> tuple[str, Any]:
        key, val = "", value_decoder(b"")
        for number, _, v in _fields(value):
            if number == 1:
                key = _string(v)
            elif number == 2:
                val = value_decoder(v)
        return key, val

    return entry


def _zero(value: Any) -> bool:
    return value == "" or value is False or (isinstance(value, int) and value == 0)


def _message(schema: dict[int, tuple[str, str, Any]], what: str = "message") -> Decoder:
    """Build a decoder from {number: (json name, shape, decoder)}. Shapes:
    'one' (kept even when zero: pointers and structs), 'opt' (dropped when "", 0 or false, as
    JSON omitempty does for the non-pointer scalars protobuf always writes), 'list' (repeated),
    'map' (decoder yields (key, value)), 'inline' (an embedded struct whose fields JSON
    flattens into the parent) and 'skip' (read-only parts such as status).

    A non-empty field the schema does not know raises ProtobufDecodeError rather than being
    dropped, so that no user data disappears silently."""

    def decode(value: Any) -> dict[str, Any]:
        if not isinstance(value, bytes):
            raise ProtobufDecodeError(f"{what}: expected an embedded message")
        out: dict[str, Any] = {}
        for number, _, raw in _fields(value):
            if number not in schema:
                if raw in (0, b""):
                    continue
                raise ProtobufDecodeError(
                    f"{what} field {number} is not understood by the emulator's protobuf "
                    "decoder; send the object as JSON (e.g. kubectl create -f / apply -f)"
                )
            name, shape, decoder = schema[number]
            if shape == "skip":
                continue
            if shape == "map":
                key, val = decoder(raw)
                out.setdefault(name, {})[key] = val
            elif shape == "list":
                out.setdefault(name, []).append(decoder(raw))
            elif shape == "inline":
                out.update(decoder(raw))
            else:
                decoded = decoder(raw)
                if decoded is None or (shape == "opt" and _zero(decoded)):
                    continue
                out[name] = decoded
        return out

    return decode


_OWNER_REFERENCE = _message(
    {
        1: ("kind", "one", _string),
        3: ("name", "one", _string),
        4: ("uid", "one", _string),
        5: ("apiVersion", "one", _string),
        6: ("controller", "one", _bool),
        7: ("blockOwnerDeletion", "one", _bool),
    }
)


def _fields_v1(value: Any) -> Any:
    for number, _, raw in _fields(value):
        if number == 1:
            try:
                return json.loads(raw)
            except ValueError as exc:
                raise ProtobufDecodeError(f"managedFields fieldsV1 is not JSON: {exc}") from exc
    return {}


_MANAGED_FIELDS_ENTRY = _message(
    {
        1: ("manager", "opt", _string),
        2: ("operation", "opt", _string),
        3: ("apiVersion", "opt", _string),
        4: ("time", "one", _time),
        6: ("fieldsType", "opt", _string),
        7: ("fieldsV1", "one", _fields_v1),
        8: ("subresource", "opt", _string),
    }
)

_OBJECT_META = _message(
    {
        1: ("name", "opt", _string),
        2: ("generateName", "opt", _string),
        3: ("namespace", "opt", _string),
        4: ("selfLink", "opt", _string),
        5: ("uid", "opt", _string),
        6: ("resourceVersion", "opt", _string),
        7: ("generation", "opt", _int64),
        8: ("creationTimestamp", "one", _time),
        9: ("deletionTimestamp", "one", _time),
        10: ("deletionGracePeriodSeconds", "one", _int64),
        11: ("labels", "map", _map(_string_or_empty)),
        12: ("annotations", "map", _map(_string_or_empty)),
        13: ("ownerReferences", "list", _OWNER_REFERENCE),
        14: ("finalizers", "list", _string),
        17: ("managedFields", "list", _MANAGED_FIELDS_ENTRY),
    },
    "ObjectMeta",
)

_SECRET = _message(
    {
        1: ("metadata", "one", _OBJECT_META),
        2: ("data", "map", _map(_bytes_b64)),
        3: ("type", "opt", _string),
        4: ("stringData", "map", _map(_string_or_empty)),
        5: ("immutable", "one", _bool),
    }
)

_CONFIG_MAP = _message(
    {
        1: ("metadata", "one", _OBJECT_META),
        2: ("data", "map", _map(_string_or_empty)),
        3: ("binaryData", "map", _map(_bytes_b64)),
        4: ("immutable", "one", _bool),
    }
)

_PRECONDITIONS = _message({1: ("uid", "one", _string), 2: ("resourceVersion", "one", _string)})

_DELETE_OPTIONS = _message(
    {
        1: ("gracePeriodSeconds", "one", _int64),
        2: ("preconditions", "one", _PRECONDITIONS),
        3: ("orphanDependents", "one", _bool),
        4: ("propagationPolicy", "one", _string),
        5: ("dryRun", "list", _string),
        6: ("ignoreStoreReadErrorWithClusterBreakingPotential", "one", _bool),
    }
)

# `kubectl create namespace` sends its Namespace as protobuf too.
_NAMESPACE = _message(
    {
        1: ("metadata", "one", _OBJECT_META),
        2: ("spec", "one", _message({1: ("finalizers", "list", _string)}, "NamespaceSpec")),
        3: ("status", "skip", None),
    },
    "Namespace",
)

# ---------------------------------------------------------------- workload kinds
# kubectl's generators (`kubectl create deployment|job|cronjob|service|serviceaccount|role|...`,
# `kubectl run`) use typed clients, which send protobuf just like helm's storage driver.


def _int_or_string(value: Any) -> int | str:
    """intstr.IntOrString {type=1 (0 int, 1 string), intVal=2, strVal=3}."""
    kind, int_val, str_val = 0, 0, ""
    for number, _, v in _fields(value):
        if number == 1:
            kind = _int64(v)
        elif number == 2:
            int_val = _int64(v)
        elif number == 3:
            str_val = _string(v)
    return str_val if kind == 1 else int_val


def _quantity(value: Any) -> str:
    """resource.Quantity {string=1}."""
    for number, _, v in _fields(value):
        if number == 1:
            return _string(v)
    return "0"


def _m(what: str, **fields: tuple[int, str, Any]) -> Decoder:
    """A message schema written as json_name=(number, shape, decoder)."""
    return _message({num: (name, shape, dec) for name, (num, shape, dec) in fields.items()}, what)


S, OPT, ONE, LIST, MAP, INLINE, SKIP = _string, "opt", "one", "list", "map", "inline", "skip"

_LABEL_SELECTOR = _m(
    "LabelSelector",
    matchLabels=(1, MAP, _map(_string_or_empty)),
    matchExpressions=(
        2,
        LIST,
        _m("LabelSelectorRequirement", key=(1, OPT, S), operator=(2, OPT, S), values=(3, LIST, S)),
    ),
)
_LOCAL_REF = _m("LocalObjectReference", name=(1, OPT, S))
_OBJECT_REFERENCE = _m(
    "ObjectReference",
    kind=(1, OPT, S),
    namespace=(2, OPT, S),
    name=(3, OPT, S),
    uid=(4, OPT, S),
    apiVersion=(5, OPT, S),
    resourceVersion=(6, OPT, S),
    fieldPath=(7, OPT, S),
)
_KEY_TO_PATH = _m("KeyToPath", key=(1, OPT, S), path=(2, OPT, S), mode=(3, ONE, _int64))
_KEY_SELECTOR = _m(
    "KeySelector", ref=(1, INLINE, _LOCAL_REF), key=(2, OPT, S), optional=(3, ONE, _bool)
)
_VOLUME_SOURCE = _m(
    "VolumeSource",
    hostPath=(1, ONE, _m("HostPathVolumeSource", path=(1, OPT, S), type=(2, ONE, S))),
    emptyDir=(
        2,
        ONE,
        _m("EmptyDirVolumeSource", medium=(1, OPT, S), sizeLimit=(2, ONE, _quantity)),
    ),
    secret=(
        6,
        ONE,
        _m(
            "SecretVolumeSource",
            secretName=(1, OPT, S),
            items=(2, LIST, _KEY_TO_PATH),
            defaultMode=(3, ONE, _int64),
            optional=(4, ONE, _bool),
        ),
    ),
    persistentVolumeClaim=(
        10,
        ONE,
        _m("PVCVolumeSource", claimName=(1, OPT, S), readOnly=(2, OPT, _bool)),
    ),
    configMap=(
        19,
        ONE,
        _m(
            "ConfigMapVolumeSource",
            ref=(1, INLINE, _LOCAL_REF),
            items=(2, LIST, _KEY_TO_PATH),
            defaultMode=(3, ONE, _int64),
            optional=(4, ONE, _bool),
        ),
    ),
)
_VOLUME = _m("Volume", name=(1, OPT, S), source=(2, INLINE, _VOLUME_SOURCE))
_ENV_VAR = _m(
    "EnvVar",
    name=(1, OPT, S),
    value=(2, OPT, S),
    valueFrom=(
        3,
        ONE,
        _m(
            "EnvVarSource",
            fieldRef=(
                1,
                ONE,
                _m("ObjectFieldSelector", apiVersion=(1, OPT, S), fieldPath=(2, OPT, S)),
            ),
            resourceFieldRef=(
                2,
                ONE,
                _m(
                    "ResourceFieldSelector",
                    containerName=(1, OPT, S),
                    resource=(2, OPT, S),
                    divisor=(3, OPT, _quantity),
                ),
            ),
            configMapKeyRef=(3, ONE, _KEY_SELECTOR),
            secretKeyRef=(4, ONE, _KEY_SELECTOR),
        ),
    ),
)
_ENV_FROM_REF = _m("EnvFromRef", ref=(1, INLINE, _LOCAL_REF), optional=(2, ONE, _bool))
_ENV_FROM = _m(
    "EnvFromSource",
    prefix=(1, OPT, S),
    configMapRef=(2, ONE, _ENV_FROM_REF),
    secretRef=(3, ONE, _ENV_FROM_REF),
)
_RESOURCES = _m(
    "ResourceRequirements",
    limits=(1, MAP, _map(_quantity)),
    requests=(2, MAP, _map(_quantity)),
    claims=(3, LIST, _m("ResourceClaim", name=(1, OPT, S), request=(2, OPT, S))),
)
_VOLUME_MOUNT = _m(
    "VolumeMount",
    name=(1, OPT, S),
    readOnly=(2, OPT, _bool),
    mountPath=(3, OPT, S),
    subPath=(4, OPT, S),
    mountPropagation=(5, ONE, S),
    subPathExpr=(6, OPT, S),
    recursiveReadOnly=(7, ONE, S),
)
_PROBE_HANDLER = _m(
    "ProbeHandler",
    exec=(1, ONE, _m("ExecAction", command=(1, LIST, S))),
    httpGet=(
        2,
        ONE,
        _m(
            "HTTPGetAction",
            path=(1, OPT, S),
            port=(2, ONE, _int_or_string),
            host=(3, OPT, S),
            scheme=(4, OPT, S),
            httpHeaders=(5, LIST, _m("HTTPHeader", name=(1, OPT, S), value=(2, OPT, S))),
        ),
    ),
    tcpSocket=(
        3,
        ONE,
        _m("TCPSocketAction", port=(1, ONE, _int_or_string), host=(2, OPT, S)),
    ),
    grpc=(4, ONE, _m("GRPCAction", port=(1, OPT, _int64), service=(2, ONE, S))),
)
_PROBE = _m(
    "Probe",
    handler=(1, INLINE, _PROBE_HANDLER),
    initialDelaySeconds=(2, OPT, _int64),
    timeoutSeconds=(3, OPT, _int64),
    periodSeconds=(4, OPT, _int64),
    successThreshold=(5, OPT, _int64),
    failureThreshold=(6, OPT, _int64),
    terminationGracePeriodSeconds=(7, ONE, _int64),
)
_SECCOMP = _m("SeccompProfile", type=(1, OPT, S), localhostProfile=(2, ONE, S))
_SECURITY_CONTEXT = _m(
    "SecurityContext",
    capabilities=(1, ONE, _m("Capabilities", add=(1, LIST, S), drop=(2, LIST, S))),
    privileged=(2, ONE, _bool),
    runAsUser=(4, ONE, _int64),
    runAsNonRoot=(5, ONE, _bool),
    readOnlyRootFilesystem=(6, ONE, _bool),
    allowPrivilegeEscalation=(7, ONE, _bool),
    runAsGroup=(8, ONE, _int64),
    procMount=(9, ONE, S),
    seccompProfile=(11, ONE, _SECCOMP),
)
_CONTAINER = _m(
    "Container",
    name=(1, OPT, S),
    image=(2, OPT, S),
    command=(3, LIST, S),
    args=(4, LIST, S),
    workingDir=(5, OPT, S),
    ports=(
        6,
        LIST,
        _m(
            "ContainerPort",
            name=(1, OPT, S),
            hostPort=(2, OPT, _int64),
            containerPort=(3, OPT, _int64),
            protocol=(4, OPT, S),
            hostIP=(5, OPT, S),
        ),
    ),
    env=(7, LIST, _ENV_VAR),
    resources=(8, ONE, _RESOURCES),
    volumeMounts=(9, LIST, _VOLUME_MOUNT),
    livenessProbe=(10, ONE, _PROBE),
    readinessProbe=(11, ONE, _PROBE),
    terminationMessagePath=(13, OPT, S),
    imagePullPolicy=(14, OPT, S),
    securityContext=(15, ONE, _SECURITY_CONTEXT),
    stdin=(16, OPT, _bool),
    stdinOnce=(17, OPT, _bool),
    tty=(18, OPT, _bool),
    envFrom=(19, LIST, _ENV_FROM),
    terminationMessagePolicy=(20, OPT, S),
    startupProbe=(22, ONE, _PROBE),
    restartPolicy=(24, ONE, S),
)
_POD_SPEC = _m(
    "PodSpec",
    volumes=(1, LIST, _VOLUME),
    containers=(2, LIST, _CONTAINER),
    restartPolicy=(3, OPT, S),
    terminationGracePeriodSeconds=(4, ONE, _int64),
    activeDeadlineSeconds=(5, ONE, _int64),
    dnsPolicy=(6, OPT, S),
    nodeSelector=(7, MAP, _map(_string_or_empty)),
    serviceAccountName=(8, OPT, S),
    serviceAccount=(9, OPT, S),
    nodeName=(10, OPT, S),
    hostNetwork=(11, OPT, _bool),
    hostPID=(12, OPT, _bool),
    hostIPC=(13, OPT, _bool),
    securityContext=(
        14,
        ONE,
        _m(
            "PodSecurityContext",
            runAsUser=(2, ONE, _int64),
            runAsNonRoot=(3, ONE, _bool),
            supplementalGroups=(4, LIST, _int64),
            fsGroup=(5, ONE, _int64),
            runAsGroup=(6, ONE, _int64),
            fsGroupChangePolicy=(9, ONE, S),
            seccompProfile=(10, ONE, _SECCOMP),
        ),
    ),
    imagePullSecrets=(15, LIST, _LOCAL_REF),
    hostname=(16, OPT, S),
    subdomain=(17, OPT, S),
    schedulerName=(19, OPT, S),
    initContainers=(20, LIST, _CONTAINER),
    automountServiceAccountToken=(21, ONE, _bool),
    tolerations=(
        22,
        LIST,
        _m(
            "Toleration",
            key=(1, OPT, S),
            operator=(2, OPT, S),
            value=(3, OPT, S),
            effect=(4, OPT, S),
            tolerationSeconds=(5, ONE, _int64),
        ),
    ),
    hostAliases=(23, LIST, _m("HostAlias", ip=(1, OPT, S), hostnames=(2, LIST, S))),
    priorityClassName=(24, OPT, S),
    priority=(25, ONE, _int64),
    shareProcessNamespace=(27, ONE, _bool),
    runtimeClassName=(29, ONE, S),
    enableServiceLinks=(30, ONE, _bool),
    preemptionPolicy=(31, ONE, S),
    setHostnameAsFQDN=(35, ONE, _bool),
    hostUsers=(37, ONE, _bool),
)
_POD_TEMPLATE = _m("PodTemplateSpec", metadata=(1, ONE, _OBJECT_META), spec=(2, ONE, _POD_SPEC))
_POD = _m("Pod", metadata=(1, ONE, _OBJECT_META), spec=(2, ONE, _POD_SPEC), status=(3, SKIP, None))

_DEPLOYMENT = _m(
    "Deployment",
    metadata=(1, ONE, _OBJECT_META),
    spec=(
        2,
        ONE,
        _m(
            "DeploymentSpec",
            replicas=(1, ONE, _int64),
            selector=(2, ONE, _LABEL_SELECTOR),
            template=(3, ONE, _POD_TEMPLATE),
            strategy=(
                4,
                ONE,
                _m(
                    "DeploymentStrategy",
                    type=(1, OPT, S),
                    rollingUpdate=(
                        2,
                        ONE,
                        _m(
                            "RollingUpdateDeployment",
                            maxUnavailable=(1, ONE, _int_or_string),
                            maxSurge=(2, ONE, _int_or_string),
                        ),
                    ),
                ),
            ),
            minReadySeconds=(5, OPT, _int64),
            revisionHistoryLimit=(6, ONE, _int64),
            paused=(7, OPT, _bool),
            progressDeadlineSeconds=(9, ONE, _int64),
        ),
    ),
    status=(3, SKIP, None),
)

_JOB_SPEC = _m(
    "JobSpec",
    parallelism=(1, ONE, _int64),
    completions=(2, ONE, _int64),
    activeDeadlineSeconds=(3, ONE, _int64),
    selector=(4, ONE, _LABEL_SELECTOR),
    manualSelector=(5, ONE, _bool),
    template=(6, ONE, _POD_TEMPLATE),
    backoffLimit=(7, ONE, _int64),
    ttlSecondsAfterFinished=(8, ONE, _int64),
    completionMode=(9, ONE, S),
    suspend=(10, ONE, _bool),
    backoffLimitPerIndex=(12, ONE, _int64),
    maxFailedIndexes=(13, ONE, _int64),
    podReplacementPolicy=(14, ONE, S),
    managedBy=(15, ONE, S),
)
_JOB = _m("Job", metadata=(1, ONE, _OBJECT_META), spec=(2, ONE, _JOB_SPEC), status=(3, SKIP, None))
_CRON_JOB = _m(
    "CronJob",
    metadata=(1, ONE, _OBJECT_META),
    spec=(
        2,
        ONE,
        _m(
            "CronJobSpec",
            schedule=(1, OPT, S),
            startingDeadlineSeconds=(2, ONE, _int64),
            concurrencyPolicy=(3, OPT, S),
            suspend=(4, ONE, _bool),
            jobTemplate=(
                5,
                ONE,
                _m("JobTemplateSpec", metadata=(1, ONE, _OBJECT_META), spec=(2, ONE, _JOB_SPEC)),
            ),
            successfulJobsHistoryLimit=(6, ONE, _int64),
            failedJobsHistoryLimit=(7, ONE, _int64),
            timeZone=(8, ONE, S),
        ),
    ),
    status=(3, SKIP, None),
)

_SERVICE = _m(
    "Service",
    metadata=(1, ONE, _OBJECT_META),
    spec=(
        2,
        ONE,
        _m(
            "ServiceSpec",
            ports=(
                1,
                LIST,
                _m(
                    "ServicePort",
                    name=(1, OPT, S),
                    protocol=(2, OPT, S),
                    port=(3, OPT, _int64),
                    targetPort=(4, ONE, _int_or_string),
                    nodePort=(5, OPT, _int64),
                    appProtocol=(6, ONE, S),
                ),
            ),
            selector=(2, MAP, _map(_string_or_empty)),
            clusterIP=(3, OPT, S),
            type=(4, OPT, S),
            externalIPs=(5, LIST, S),
            sessionAffinity=(7, OPT, S),
            loadBalancerIP=(8, OPT, S),
            loadBalancerSourceRanges=(9, LIST, S),
            externalName=(10, OPT, S),
            externalTrafficPolicy=(11, OPT, S),
            healthCheckNodePort=(12, OPT, _int64),
            publishNotReadyAddresses=(13, OPT, _bool),
            ipFamilyPolicy=(17, ONE, S),
            clusterIPs=(18, LIST, S),
            ipFamilies=(19, LIST, S),
            allocateLoadBalancerNodePorts=(20, ONE, _bool),
            loadBalancerClass=(21, ONE, S),
            internalTrafficPolicy=(22, ONE, S),
        ),
    ),
    status=(3, SKIP, None),
)
_SERVICE_ACCOUNT = _m(
    "ServiceAccount",
    metadata=(1, ONE, _OBJECT_META),
    secrets=(2, LIST, _OBJECT_REFERENCE),
    imagePullSecrets=(3, LIST, _LOCAL_REF),
    automountServiceAccountToken=(4, ONE, _bool),
)

_POLICY_RULE = _m(
    "PolicyRule",
    verbs=(1, LIST, S),
    apiGroups=(2, LIST, S),
    resources=(3, LIST, S),
    resourceNames=(4, LIST, S),
    nonResourceURLs=(5, LIST, S),
)
_ROLE = _m("Role", metadata=(1, ONE, _OBJECT_META), rules=(2, LIST, _POLICY_RULE))
_CLUSTER_ROLE = _m(
    "ClusterRole",
    metadata=(1, ONE, _OBJECT_META),
    rules=(2, LIST, _POLICY_RULE),
    aggregationRule=(
        3,
        ONE,
        _m("AggregationRule", clusterRoleSelectors=(1, LIST, _LABEL_SELECTOR)),
    ),
)
_ROLE_BINDING = _m(
    "RoleBinding",
    metadata=(1, ONE, _OBJECT_META),
    subjects=(
        2,
        LIST,
        _m(
            "Subject",
            kind=(1, OPT, S),
            apiGroup=(2, OPT, S),
            name=(3, OPT, S),
            namespace=(4, OPT, S),
        ),
    ),
    roleRef=(3, ONE, _m("RoleRef", apiGroup=(1, OPT, S), kind=(2, OPT, S), name=(3, OPT, S))),
)
_RESOURCE_QUOTA = _m(
    "ResourceQuota",
    metadata=(1, ONE, _OBJECT_META),
    spec=(
        2,
        ONE,
        _m("ResourceQuotaSpec", hard=(1, MAP, _map(_quantity)), scopes=(2, LIST, S)),
    ),
    status=(3, SKIP, None),
)
_POD_DISRUPTION_BUDGET = _m(
    "PodDisruptionBudget",
    metadata=(1, ONE, _OBJECT_META),
    spec=(
        2,
        ONE,
        _m(
            "PodDisruptionBudgetSpec",
            minAvailable=(1, ONE, _int_or_string),
            selector=(2, ONE, _LABEL_SELECTOR),
            maxUnavailable=(3, ONE, _int_or_string),
            unhealthyPodEvictionPolicy=(4, ONE, S),
        ),
    ),
    status=(3, SKIP, None),
)

_BACKEND = _m(
    "IngressBackend",
    resource=(
        3,
        ONE,
        _m("TypedLocalObjectReference", apiGroup=(1, ONE, S), kind=(2, OPT, S), name=(3, OPT, S)),
    ),
    service=(
        4,
        ONE,
        _m(
            "IngressServiceBackend",
            name=(1, OPT, S),
            port=(2, ONE, _m("ServiceBackendPort", name=(1, OPT, S), number=(2, OPT, _int64))),
        ),
    ),
)
_INGRESS = _m(
    "Ingress",
    metadata=(1, ONE, _OBJECT_META),
    spec=(
        2,
        ONE,
        _m(
            "IngressSpec",
            defaultBackend=(1, ONE, _BACKEND),
            tls=(2, LIST, _m("IngressTLS", hosts=(1, LIST, S), secretName=(2, OPT, S))),
            rules=(
                3,
                LIST,
                _m(
                    "IngressRule",
                    host=(1, OPT, S),
                    value=(
                        2,
                        INLINE,
                        _m(
                            "IngressRuleValue",
                            http=(
                                1,
                                ONE,
                                _m(
                                    "HTTPIngressRuleValue",
                                    paths=(
                                        1,
                                        LIST,
                                        _m(
                                            "HTTPIngressPath",
                                            path=(1, OPT, S),
                                            backend=(2, ONE, _BACKEND),
                                            pathType=(3, ONE, S),
                                        ),
                                    ),
                                ),
                            ),
                        ),
                    ),
                ),
            ),
            ingressClassName=(4, ONE, S),
        ),
    ),
    status=(3, SKIP, None),
)
_METRIC_TARGET = _m(
    "MetricTarget",
    type=(1, OPT, S),
    value=(2, ONE, _quantity),
    averageValue=(3, ONE, _quantity),
    averageUtilization=(4, ONE, _int64),
)
_HPA = _m(
    "HorizontalPodAutoscaler",
    metadata=(1, ONE, _OBJECT_META),
    spec=(
        2,
        ONE,
        _m(
            "HorizontalPodAutoscalerSpec",
            scaleTargetRef=(
                1,
                ONE,
                _m(
                    "CrossVersionObjectReference",
                    kind=(1, OPT, S),
                    name=(2, OPT, S),
                    apiVersion=(3, OPT, S),
                ),
            ),
            minReplicas=(2, ONE, _int64),
            maxReplicas=(3, OPT, _int64),
            metrics=(
                4,
                LIST,
                _m(
                    "MetricSpec",
                    type=(1, OPT, S),
                    resource=(
                        4,
                        ONE,
                        _m(
                            "ResourceMetricSource",
                            name=(1, OPT, S),
                            target=(2, ONE, _METRIC_TARGET),
                        ),
                    ),
                    containerResource=(
                        7,
                        ONE,
                        _m(
                            "ContainerResourceMetricSource",
                            name=(1, OPT, S),
                            target=(2, ONE, _METRIC_TARGET),
                            container=(3, OPT, S),
                        ),
                    ),
                ),
            ),
        ),
    ),
    status=(3, SKIP, None),
)

_KINDS: dict[str, Decoder] = {
    "Namespace": _NAMESPACE,
    "Pod": _POD,
    "Deployment": _DEPLOYMENT,
    "Job": _JOB,
    "CronJob": _CRON_JOB,
    "Service": _SERVICE,
    "ServiceAccount": _SERVICE_ACCOUNT,
    "Role": _ROLE,
    "ClusterRole": _CLUSTER_ROLE,
    "RoleBinding": _ROLE_BINDING,
    "ClusterRoleBinding": _ROLE_BINDING,
    "ResourceQuota": _RESOURCE_QUOTA,
    "PodDisruptionBudget": _POD_DISRUPTION_BUDGET,
    "Ingress": _INGRESS,
    "HorizontalPodAutoscaler": _HPA,
    "Secret": _SECRET,
    "ConfigMap": _CONFIG_MAP,
    "DeleteOptions": _DELETE_OPTIONS,
}

_TYPE_META = _message({1: ("apiVersion", "one", _string), 2: ("kind", "one", _string)})
_UNKNOWN = _message(
    {
        1: ("typeMeta", "one", _TYPE_META),
        2: ("raw", "one", lambda v: v),
        3: ("contentEncoding", "one", _string),
        4: ("contentType", "one", _string),
    }
)


def decode_request_body(body: bytes) -> dict[str, Any]:
    """Decode a `k8s\\x00`-prefixed runtime.Unknown envelope into the JSON-equivalent object,
    with `apiVersion` and `kind` from the envelope (DeleteOptions bodies often carry only those).

    Raises ProtobufDecodeError for a missing magic prefix, malformed wire data, a content
    encoding other than none, a kind without a schema here, or a non-empty field the schema
    does not know.
    """
    if not body.startswith(MAGIC):
        raise ProtobufDecodeError("protobuf body does not start with the k8s\\x00 magic prefix")
    envelope = _UNKNOWN(body[len(MAGIC) :])
    if envelope.get("contentEncoding"):
        raise ProtobufDecodeError(
            f"unsupported protobuf content encoding {envelope['contentEncoding']!r}"
        )
    type_meta = envelope.get("typeMeta", {})
    kind = type_meta.get("kind", "")
    decoder = _KINDS.get(kind)
    if decoder is None:
        supported = ", ".join(sorted(_KINDS))
        raise ProtobufDecodeError(
            f"protobuf bodies of kind {kind or '(none)'!r} are not supported "
            f"(supported: {supported}); send JSON instead"
        )
    obj: dict[str, Any] = {}
    if type_meta.get("apiVersion"):
        obj["apiVersion"] = type_meta["apiVersion"]
    obj["kind"] = kind
    obj.update(decoder(envelope.get("raw", b"")))
    return obj
