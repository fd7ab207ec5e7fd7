"""Defaulting like the real API server for the built-in kinds (pkg/apis/*/v1/defaults.go), and the
generation rule: which writes bump `metadata.generation`.

Defaulting runs on every write and again after a server-side apply merge, so a field the
manifest omits but a default fills is present on both sides of `kubectl diff`. Every function
here is idempotent. Values the registry allocates (Service clusterIP and nodePorts, the Job
selector) are not defaults and are left to the server.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from typing import Any

Obj = dict[str, Any]

_POD_TEMPLATE_OWNERS = {"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job"}


def apply_defaults(obj: Obj) -> Obj:
    """Return a copy of `obj` with the server's defaults filled in for its kind (unknown kinds
    come back unchanged). Never mutates `obj`; applying it twice changes nothing more."""
    out = copy.deepcopy(obj)
    api_version = str(out.get("apiVersion", ""))
    group = api_version.rpartition("/")[0]
    kind = str(out.get("kind", ""))
    handler = _HANDLERS.get((group, kind))
    if handler is not None:
        handler(out)
    version = api_version.rpartition("/")[2]
    if _is_builtin(group, version, kind):
        from kdeploy.emulator.schema import type_for

        _drop_empty_collections(out, type_for((group, version, kind)))
    return out


def _is_builtin(group: str, version: str, kind: str) -> bool:
    from kdeploy.emulator.schema import default_registry

    registry = default_registry()
    gvk = (group, version, kind)
    return not registry.crd_schema_registered(gvk) and registry.definition_name(gvk) is not None


def _drop_empty_collections(value: Any, node: Any) -> None:
    """Built-in objects go through Go types on the real server: optional (`omitempty`) lists
    and maps that are empty vanish from the stored object; empty structs stay (`{}`)."""
    from kdeploy.emulator.schema import LIST, MAP, STRUCT

    if isinstance(value, dict) and node.kind in (STRUCT, MAP):
        for key in list(value):
            child = node.field(key)
            item = value[key]
            if item is None or (
                item in ([], {}) and child.kind in (LIST, MAP) and key not in node.required
            ):
                del value[key]
            elif isinstance(item, (dict, list)):
                _drop_empty_collections(item, child)
    elif isinstance(value, list) and node.kind == LIST:
        for item in value:
            if isinstance(item, (dict, list)):
                _drop_empty_collections(item, node.items)


# ---------------------------------------------------------------------------------------------
# Quantities


_DECIMAL_SUFFIXES = {
    "n": -9,
    "u": -6,
    "m": -3,
    "": 0,
    "k": 3,
    "M": 6,
    "G": 9,
    "T": 12,
    "P": 15,
    "E": 18,
}
_BINARY_SUFFIXES = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL_BY_EXP = {v: k for k, v in _DECIMAL_SUFFIXES.items()}
_BINARY_BY_EXP = {v: k for k, v in _BINARY_SUFFIXES.items()}


def canonical_quantity(value: Any, *, round_to_milli: bool = True) -> Any:
    """The canonical string form the server stores for a resource quantity (`0.5` -> `500m`,
    `1000m` -> `1`, `1024Mi` -> `1Gi`, `1` -> `1`), rounded up to milli precision like
    `SetDefaults_ResourceList`. Values that do not parse are returned unchanged (validation,
    not defaulting, rejects them)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return value
    text = str(value).strip() if not isinstance(value, float) else repr(value)
    parsed = _parse_quantity(text)
    if parsed is None:
        return value
    number, fmt = parsed
    if round_to_milli:
        number = (number * 1000).to_integral_value(rounding=ROUND_CEILING) / 1000
    if number == 0:
        return "0"
    if fmt == "binary" and abs(number) >= 1024 and number == number.to_integral_value():
        mantissa = int(number)
        exp = 0
        while exp < 60 and mantissa % 1024 == 0:
            mantissa //= 1024
            exp += 10
        return f"{mantissa}{_BINARY_BY_EXP.get(exp, '')}" if exp else str(mantissa)
    # Decimal forms: an integer mantissa with an exponent that is a multiple of 3.
    exp = 0
    scaled = number
    while scaled != scaled.to_integral_value():
        scaled *= 1000
        exp -= 3
    mantissa = int(scaled)
    while mantissa != 0 and mantissa % 1000 == 0 and exp < 18:
        mantissa //= 1000
        exp += 3
    if fmt == "exponent":
        return f"{mantissa}e{exp}" if exp else str(mantissa)
    suffix = _DECIMAL_BY_EXP.get(exp)
    if suffix is None:
        return f"{mantissa}e{exp}"
    return f"{mantissa}{suffix}"


def _parse_quantity(text: str) -> tuple[Decimal, str] | None:
    if not text:
        return None
    for suffix, exp in _BINARY_SUFFIXES.items():
        if text.endswith(suffix):
            number = _decimal(text[: -len(suffix)])
            return None if number is None else (number * (2**exp), "binary")
    lowered = text.lower()
    if "e" in lowered and not text.endswith("E"):
        head, _, tail = lowered.partition("e")
        number = _decimal(head)
        if number is None or not tail.lstrip("+-").isdigit():
            return None
        return number.scaleb(int(tail)), "exponent"
    suffix = text[-1] if text[-1] in "numkMGTPE" else ""
    number = _decimal(text[: len(text) - len(suffix)])
    if number is None:
        return None
    return number.scaleb(_DECIMAL_SUFFIXES[suffix]), "decimal"


def _decimal(text: str) -> Decimal | None:
    if not text or text.strip() != text or text[-1] == ".":
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _canonical_resource_list(resources: Any) -> None:
    if isinstance(resources, dict):
        for key, value in resources.items():
            resources[key] = canonical_quantity(value)


# ---------------------------------------------------------------------------------------------
# Pod spec


def _default(obj: Obj, key: str, value: Any) -> None:
    if obj.get(key) in (None, ""):
        obj[key] = value


def _image_pull_policy(image: str) -> str:
    # ParseImageName: no tag and no digest means the tag `latest`.
    if "@" in image:
        return "IfNotPresent"
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return "Always"
    return "Always" if last.rsplit(":", 1)[1] == "latest" else "IfNotPresent"


def _http_get(handler: Any) -> None:
    if isinstance(handler, dict) and isinstance(handler.get("httpGet"), dict):
        _default(handler["httpGet"], "path", "/")
        _default(handler["httpGet"], "scheme", "HTTP")
    if isinstance(handler, dict) and isinstance(handler.get("grpc"), dict):
        handler["grpc"].setdefault("service", "")


def _probe(probe: Any) -> None:
    if not isinstance(probe, dict):
        return
    for key, value in (
        ("timeoutSeconds", 1),
        ("periodSeconds", 10),
        ("successThreshold", 1),
        ("failureThreshold", 3),
    ):
        if not probe.get(key):
            probe[key] = value
    _http_get(probe)


def _env_var(env: Any) -> None:
    if isinstance(env, dict):
        field_ref = (env.get("valueFrom") or {}).get("fieldRef")
        if isinstance(field_ref, dict):
            _default(field_ref, "apiVersion", "v1")


def _container(c: Any) -> None:
    if not isinstance(c, dict):
        return
    if isinstance(c.get("image"), str) and c["image"]:
        _default(c, "imagePullPolicy", _image_pull_policy(c["image"]))
    _default(c, "terminationMessagePath", "/dev/termination-log")
    _default(c, "terminationMessagePolicy", "File")
    for port in c.get("ports") or ():
        if isinstance(port, dict):
            _default(port, "protocol", "TCP")
    for env in c.get("env") or ():
        _env_var(env)
    resources = c.get("resources")
    if resources is None:
        c["resources"] = {}
    elif isinstance(resources, dict):
        _canonical_resource_list(resources.get("limits"))
        _canonical_resource_list(resources.get("requests"))
    for key in ("livenessProbe", "readinessProbe", "startupProbe"):
        _probe(c.get(key))
    lifecycle = c.get("lifecycle")
    if isinstance(lifecycle, dict):
        _http_get(lifecycle.get("postStart"))
        _http_get(lifecycle.get("preStop"))


_VOLUME_SOURCES = (
    "hostPath",
    "emptyDir",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "secret",
    "nfs",
    "iscsi",
    "glusterfs",
    "persistentVolumeClaim",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "downwardAPI",
    "fc",
    "azureFile",
    "configMap",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "projected",
    "portworxVolume",
    "scaleIO",
    "storageos",
    "csi",
    "ephemeral",
    "image",
)


def _downward_items(items: Any) -> None:
    for item in items or ():
        if isinstance(item, dict) and isinstance(item.get("fieldRef"), dict):
            _default(item["fieldRef"], "apiVersion", "v1")


def _volume(v: Any) -> None:
    if not isinstance(v, dict):
        return
    if not any(k in v for k in _VOLUME_SOURCES):
        v["emptyDir"] = {}
    for key in ("secret", "configMap", "downwardAPI", "projected"):
        source = v.get(key)
        if isinstance(source, dict):
            source.setdefault("defaultMode", 420)
    if isinstance(v.get("emptyDir"), dict) and "sizeLimit" in v["emptyDir"]:
        v["emptyDir"]["sizeLimit"] = canonical_quantity(v["emptyDir"]["sizeLimit"])
    if isinstance(v.get("hostPath"), dict):
        v["hostPath"].setdefault("type", "")
    if isinstance(v.get("downwardAPI"), dict):
        _downward_items(v["downwardAPI"].get("items"))
    projected = v.get("projected")
    if isinstance(projected, dict):
        for source in projected.get("sources") or ():
            if not isinstance(source, dict):
                continue
            token = source.get("serviceAccountToken")
            if isinstance(token, dict):
                token.setdefault("expirationSeconds", 3600)
            if isinstance(source.get("downwardAPI"), dict):
                _downward_items(source["downwardAPI"].get("items"))
    ephemeral = v.get("ephemeral")
    if isinstance(ephemeral, dict) and isinstance(ephemeral.get("volumeClaimTemplate"), dict):
        spec = ephemeral["volumeClaimTemplate"].get("spec")
        if isinstance(spec, dict):
            _pvc_spec(spec)


def _pod_spec(spec: Any) -> None:
    if not isinstance(spec, dict):
        return
    _default(spec, "dnsPolicy", "ClusterFirst")
    _default(spec, "restartPolicy", "Always")
    if spec.get("securityContext") is None:
        spec["securityContext"] = {}
    if spec.get("terminationGracePeriodSeconds") is None:
        spec["terminationGracePeriodSeconds"] = 30
    _default(spec, "schedulerName", "default-scheduler")
    for key in ("containers", "initContainers", "ephemeralContainers"):
        for c in spec.get(key) or ():
            _container(c)
    for v in spec.get("volumes") or ():
        _volume(v)
    if isinstance(spec.get("overhead"), dict):
        _canonical_resource_list(spec["overhead"])


def _pod_template(template: Any) -> None:
    if isinstance(template, dict):
        _pod_spec(template.setdefault("spec", {}))


def _workload_template(obj: Obj) -> Obj:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        spec = obj["spec"] = {}
    _pod_template(spec.get("template"))
    return spec


# ---------------------------------------------------------------------------------------------
# Kinds


def _pod(obj: Obj) -> None:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    _pod_spec(spec)
    spec.setdefault("enableServiceLinks", True)
    for key in ("containers", "initContainers"):
        for c in spec.get(key) or ():
            resources = c.get("resources") if isinstance(c, dict) else None
            if isinstance(resources, dict) and isinstance(resources.get("limits"), dict):
                requests = resources.setdefault("requests", {})
                for name, value in resources["limits"].items():
                    requests.setdefault(name, value)
    if spec.get("hostNetwork"):
        for c in spec.get("containers") or ():
            for port in (c.get("ports") or ()) if isinstance(c, dict) else ():
                if isinstance(port, dict) and not port.get("hostPort"):
                    port["hostPort"] = port.get("containerPort")


def pod_qos_class(pod: Obj) -> str:
    """The pod's QoS class as the real server computes it at create (`qos.GetPodQOS`): cpu and
    memory requests and limits summed over containers and init containers (pod-level
    resources when set); Guaranteed when every container limits both and the sums of requests
    equal the sums of limits, BestEffort when nothing is requested or limited."""
    spec = pod.get("spec") if isinstance(pod.get("spec"), dict) else {}
    assert isinstance(spec, dict)
    requests: dict[str, Decimal] = {}
    limits: dict[str, Decimal] = {}
    guaranteed = True
    pod_level = spec.get("resources")
    if isinstance(pod_level, dict) and (pod_level.get("requests") or pod_level.get("limits")):
        sets = [pod_level]
    else:
        sets = [
            c.get("resources") or {}
            for key in ("containers", "initContainers")
            for c in spec.get(key) or ()
            if isinstance(c, dict)
        ]
    for res in sets:
        found = set()
        for target, section in ((requests, "requests"), (limits, "limits")):
            for name, value in (res.get(section) or {}).items():
                if name not in ("cpu", "memory"):
                    continue
                parsed = _parse_quantity(str(value))
                if parsed is None or parsed[0] <= 0:
                    continue
                target[name] = target.get(name, Decimal(0)) + parsed[0]
                if section == "limits":
                    found.add(name)
        if found != {"cpu", "memory"}:
            guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    equal = all(limits.get(k) == v for k, v in requests.items()) and len(requests) == len(limits)
    return "Guaranteed" if guaranteed and equal else "Burstable"


def _deployment(obj: Obj) -> None:
    spec = _workload_template(obj)
    if spec.get("replicas") is None:
        spec["replicas"] = 1
    strategy = spec.get("strategy")
    if not isinstance(strategy, dict):
        strategy = spec["strategy"] = {}
    _default(strategy, "type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.get("rollingUpdate")
        if not isinstance(rolling, dict):
            rolling = strategy["rollingUpdate"] = {}
        if rolling.get("maxUnavailable") is None:
            rolling["maxUnavailable"] = "25%"
        if rolling.get("maxSurge") is None:
            rolling["maxSurge"] = "25%"
    if spec.get("revisionHistoryLimit") is None:
        spec["revisionHistoryLimit"] = 10
    if spec.get("progressDeadlineSeconds") is None:
        spec["progressDeadlineSeconds"] = 600


def _replica_set(obj: Obj) -> None:
    spec = _workload_template(obj)
    if spec.get("replicas") is None:
        spec["replicas"] = 1


def _pvc_spec(spec: Obj) -> None:
    _default(spec, "volumeMode", "Filesystem")
    resources = spec.get("resources")
    if isinstance(resources, dict):
        _canonical_resource_list(resources.get("requests"))
        _canonical_resource_list(resources.get("limits"))


def _stateful_set(obj: Obj) -> None:
    spec = _workload_template(obj)
    _default(spec, "podManagementPolicy", "OrderedReady")
    strategy = spec.get("updateStrategy")
    if not isinstance(strategy, dict):
        strategy = spec["updateStrategy"] = {}
    if not strategy.get("type"):
        strategy["type"] = "RollingUpdate"
        if strategy.get("rollingUpdate") is None:
            strategy["rollingUpdate"] = {}
    rolling = strategy.get("rollingUpdate")
    if (
        strategy["type"] == "RollingUpdate"
        and isinstance(rolling, dict)
        and rolling.get("partition") is None
    ):
        rolling["partition"] = 0
    rolling_update = strategy["type"] == "RollingUpdate" and isinstance(rolling, dict)
    if rolling_update and isinstance(rolling, dict) and rolling.get("maxUnavailable") is None:
        # MaxUnavailableStatefulSet (beta, on by default since 1.35).
        rolling["maxUnavailable"] = 1
    retention = spec.get("persistentVolumeClaimRetentionPolicy")
    if not isinstance(retention, dict):
        retention = spec["persistentVolumeClaimRetentionPolicy"] = {}
    _default(retention, "whenDeleted", "Retain")
    _default(retention, "whenScaled", "Retain")
    if spec.get("replicas") is None:
        spec["replicas"] = 1
    if spec.get("revisionHistoryLimit") is None:
        spec["revisionHistoryLimit"] = 10
    for claim in spec.get("volumeClaimTemplates") or ():
        if not isinstance(claim, dict):
            continue
        _pvc_spec(claim.setdefault("spec", {}))
        status = claim.setdefault("status", {})
        if isinstance(status, dict):
            _default(status, "phase", "Pending")


def _daemon_set(obj: Obj) -> None:
    spec = _workload_template(obj)
    strategy = spec.get("updateStrategy")
    if not isinstance(strategy, dict):
        strategy = spec["updateStrategy"] = {}
    _default(strategy, "type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.get("rollingUpdate")
        if not isinstance(rolling, dict):
            rolling = strategy["rollingUpdate"] = {}
        if rolling.get("maxUnavailable") is None:
            rolling["maxUnavailable"] = 1
        if rolling.get("maxSurge") is None:
            rolling["maxSurge"] = 0
    if spec.get("revisionHistoryLimit") is None:
        spec["revisionHistoryLimit"] = 10


def _job(obj: Obj) -> None:
    spec = _workload_template(obj)
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
        spec["parallelism"] = 1
    if spec.get("parallelism") is None:
        spec["parallelism"] = 1
    if spec.get("backoffLimit") is None:
        spec["backoffLimit"] = 2147483647 if spec.get("backoffLimitPerIndex") is not None else 6
    template = spec.get("template")
    template_labels = (
        (template.get("metadata") or {}).get("labels") if isinstance(template, dict) else None
    )
    metadata = obj.setdefault("metadata", {})
    if isinstance(metadata, dict) and template_labels and not metadata.get("labels"):
        metadata["labels"] = dict(template_labels)
    _default(spec, "completionMode", "NonIndexed")
    if spec.get("suspend") is None:
        spec["suspend"] = False
    policy = spec.get("podFailurePolicy")
    if isinstance(policy, dict):
        for rule in policy.get("rules") or ():
            for cond in (rule.get("onPodConditions") or ()) if isinstance(rule, dict) else ():
                if isinstance(cond, dict):
                    _default(cond, "status", "True")
    _default(
        spec,
        "podReplacementPolicy",
        "Failed" if isinstance(policy, dict) else "TerminatingOrFailed",
    )
    if spec.get("manualSelector") is None:
        spec["manualSelector"] = False


def _cron_job(obj: Obj) -> None:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    _default(spec, "concurrencyPolicy", "Allow")
    if spec.get("suspend") is None:
        spec["suspend"] = False
    if spec.get("successfulJobsHistoryLimit") is None:
        spec["successfulJobsHistoryLimit"] = 3
    if spec.get("failedJobsHistoryLimit") is None:
        spec["failedJobsHistoryLimit"] = 1
    job_template = spec.get("jobTemplate")
    if isinstance(job_template, dict):
        # Non-pointer ObjectMeta structs: Go writes them even when empty.
        job_template.setdefault("metadata", {})
        job_spec = job_template.get("spec")
        if isinstance(job_spec, dict) and isinstance(job_spec.get("template"), dict):
            job_spec["template"].setdefault("metadata", {})
            _pod_template(job_spec["template"])
    if not isinstance(obj.get("status"), dict):
        obj["status"] = {}


def _service(obj: Obj) -> None:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        spec = obj["spec"] = {}
    _default(spec, "sessionAffinity", "None")
    if spec["sessionAffinity"] == "None":
        spec.pop("sessionAffinityConfig", None)
    elif spec["sessionAffinity"] == "ClientIP":
        config = spec.setdefault("sessionAffinityConfig", {})
        client_ip = config.setdefault("clientIP", {})
        if client_ip.get("timeoutSeconds") is None:
            client_ip["timeoutSeconds"] = 10800
    _default(spec, "type", "ClusterIP")
    svc_type = spec["type"]
    for port in spec.get("ports") or ():
        if not isinstance(port, dict):
            continue
        _default(port, "protocol", "TCP")
        if port.get("targetPort") in (None, 0, ""):
            port["targetPort"] = port.get("port")
    external = svc_type in ("NodePort", "LoadBalancer") or bool(spec.get("externalIPs"))
    if external:
        _default(spec, "externalTrafficPolicy", "Cluster")
    if svc_type != "ExternalName":
        _default(spec, "internalTrafficPolicy", "Cluster")
    if svc_type == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts") is None:
        spec["allocateLoadBalancerNodePorts"] = True
    status = obj.get("status")
    if not isinstance(status, dict):
        status = obj["status"] = {}
    status.setdefault("loadBalancer", {})


def service_ip_families(spec: Obj) -> None:
    """The IP family fields the Service registry fills when it allocates (not defaults: no
    field manager owns them)."""
    headless = spec.get("clusterIP") == "None"
    if spec.get("ipFamilyPolicy") is None:
        selectorless = not spec.get("selector")
        spec["ipFamilyPolicy"] = "RequireDualStack" if headless and selectorless else "SingleStack"
    if not spec.get("ipFamilies"):
        dual = spec["ipFamilyPolicy"] != "SingleStack" and headless and not spec.get("selector")
        spec["ipFamilies"] = ["IPv4", "IPv6"] if dual else ["IPv4"]


def structural_defaults(value: Any, schema: Any) -> None:
    """The `default`s of a CRD's structural schema, filled into a custom resource where a
    property is absent (apiextensions-apiserver structural defaulting), recursively."""
    if not isinstance(schema, dict):
        return
    if isinstance(value, dict):
        props = schema.get("properties")
        if isinstance(props, dict):
            for key, sub in props.items():
                if not isinstance(sub, dict):
                    continue
                if key not in value and "default" in sub:
                    value[key] = copy.deepcopy(sub["default"])
                if key in value:
                    structural_defaults(value[key], sub)
        addl = schema.get("additionalProperties")
        if isinstance(addl, dict):
            for key in value:
                if not isinstance(props, dict) or key not in props:
                    structural_defaults(value[key], addl)
    elif isinstance(value, list):
        for item in value:
            structural_defaults(item, schema.get("items"))


def _secret(obj: Obj) -> None:
    _default(obj, "type", "Opaque")


def _namespace(obj: Obj) -> None:
    metadata = obj.setdefault("metadata", {})
    name = metadata.get("name")
    if name:
        labels = metadata.get("labels")
        if not isinstance(labels, dict):
            labels = metadata["labels"] = {}
        labels["kubernetes.io/metadata.name"] = name
    status = obj.setdefault("status", {})
    if isinstance(status, dict):
        _default(status, "phase", "Active")


def _pvc(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    if isinstance(spec, dict):
        _pvc_spec(spec)
    status = obj.setdefault("status", {})
    if isinstance(status, dict):
        _default(status, "phase", "Pending")


def _pv(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    if isinstance(spec, dict):
        _default(spec, "persistentVolumeReclaimPolicy", "Retain")
        _default(spec, "volumeMode", "Filesystem")
        _canonical_resource_list(spec.get("capacity"))
    status = obj.setdefault("status", {})
    if isinstance(status, dict):
        _default(status, "phase", "Pending")


def _endpoints(obj: Obj) -> None:
    for subset in obj.get("subsets") or ():
        for port in (subset.get("ports") or ()) if isinstance(subset, dict) else ():
            if isinstance(port, dict):
                _default(port, "protocol", "TCP")


def _resource_quota(obj: Obj) -> None:
    spec = obj.get("spec")
    if isinstance(spec, dict):
        _canonical_resource_list(spec.get("hard"))


def _limit_range(obj: Obj) -> None:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    for item in spec.get("limits") or ():
        if not isinstance(item, dict):
            continue
        for key in ("max", "min", "default", "defaultRequest", "maxLimitRequestRatio"):
            _canonical_resource_list(item.get(key))
        if item.get("type") != "Container":
            continue
        default = dict(item.get("default") or {})
        request = dict(item.get("defaultRequest") or {})
        for name, value in (item.get("max") or {}).items():
            default.setdefault(name, value)
        for name, value in default.items():
            request.setdefault(name, value)
        for name, value in (item.get("min") or {}).items():
            request.setdefault(name, value)
        if default:
            item["default"] = default
        if request:
            item["defaultRequest"] = request


def _network_policy(obj: Obj) -> None:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        spec = obj["spec"] = {}
    for direction in ("ingress", "egress"):
        for rule in spec.get(direction) or ():
            for port in (rule.get("ports") or ()) if isinstance(rule, dict) else ():
                if isinstance(port, dict):
                    _default(port, "protocol", "TCP")
    if not spec.get("policyTypes"):
        types = ["Ingress"]
        if spec.get("egress"):
            types.append("Egress")
        spec["policyTypes"] = types


def _ingress(obj: Obj) -> None:
    # IngressStatus holds a non-pointer IngressLoadBalancerStatus: Go writes it even when empty.
    status = obj.get("status")
    if not isinstance(status, dict):
        status = obj["status"] = {}
    status.setdefault("loadBalancer", {})


def _ingress_class(obj: Obj) -> None:
    params = (obj.get("spec") or {}).get("parameters")
    if isinstance(params, dict):
        _default(params, "scope", "Cluster")


def _hpa_v2(obj: Obj) -> None:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    if spec.get("minReplicas") is None:
        spec["minReplicas"] = 1
    if not spec.get("metrics"):
        spec["metrics"] = [
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": 80},
                },
            }
        ]
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):
        up = behavior.get("scaleUp")
        if not isinstance(up, dict):
            up = behavior["scaleUp"] = {}
        if up.get("stabilizationWindowSeconds") is None:
            up["stabilizationWindowSeconds"] = 0
        _default(up, "selectPolicy", "Max")
        if not up.get("policies"):
            up["policies"] = [
                {"type": "Pods", "value": 4, "periodSeconds": 15},
                {"type": "Percent", "value": 100, "periodSeconds": 15},
            ]
        down = behavior.get("scaleDown")
        if not isinstance(down, dict):
            down = behavior["scaleDown"] = {}
        _default(down, "selectPolicy", "Max")
        if not down.get("policies"):
            down["policies"] = [{"type": "Percent", "value": 100, "periodSeconds": 15}]


def _hpa_v1(obj: Obj) -> None:
    spec = obj.get("spec")
    if isinstance(spec, dict) and spec.get("minReplicas") is None:
        spec["minReplicas"] = 1


def _rbac_binding(obj: Obj) -> None:
    for subject in obj.get("subjects") or ():
        if (
            isinstance(subject, dict)
            and not subject.get("apiGroup")
            and subject.get("kind") in ("User", "Group")
        ):
            subject["apiGroup"] = "rbac.authorization.k8s.io"


def _crd(obj: Obj) -> None:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    names = spec.get("names")
    if isinstance(names, dict) and names.get("kind"):
        _default(names, "singular", str(names["kind"]).lower())
        _default(names, "listKind", f"{names['kind']}List")
    conversion = spec.get("conversion")
    if not isinstance(conversion, dict):
        spec["conversion"] = {"strategy": "None"}
    else:
        _default(conversion, "strategy", "None")
        service = ((conversion.get("webhook") or {}).get("clientConfig") or {}).get("service")
        if isinstance(service, dict) and service.get("port") is None:
            service["port"] = 443
    status = obj.setdefault("status", {})
    if isinstance(status, dict) and not status.get("storedVersions"):
        stored = [
            v["name"]
            for v in spec.get("versions") or ()
            if isinstance(v, dict) and v.get("storage") and v.get("name")
        ]
        if stored:
            status["storedVersions"] = stored[:1]


_HANDLERS: dict[tuple[str, str], Callable[[Obj], None]] = {
    ("networking.k8s.io", "Ingress"): _ingress,
    ("", "Pod"): _pod,
    ("", "PodTemplate"): lambda o: _pod_template(o.get("template")),
    ("", "ReplicationController"): _replica_set,
    ("", "Service"): _service,
    ("", "Secret"): _secret,
    ("", "Namespace"): _namespace,
    ("", "PersistentVolumeClaim"): _pvc,
    ("", "PersistentVolume"): _pv,
    ("", "Endpoints"): _endpoints,
    ("", "ResourceQuota"): _resource_quota,
    ("", "LimitRange"): _limit_range,
    ("apps", "Deployment"): _deployment,
    ("apps", "ReplicaSet"): _replica_set,
    ("apps", "StatefulSet"): _stateful_set,
    ("apps", "DaemonSet"): _daemon_set,
    ("batch", "Job"): _job,
    ("batch", "CronJob"): _cron_job,
    ("networking.k8s.io", "NetworkPolicy"): _network_policy,
    ("networking.k8s.io", "IngressClass"): _ingress_class,
    ("autoscaling", "HorizontalPodAutoscaler"): _hpa_v2,
    ("rbac.authorization.k8s.io", "RoleBinding"): _rbac_binding,
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): _rbac_binding,
    ("apiextensions.k8s.io", "CustomResourceDefinition"): _crd,
}


def _hpa(obj: Obj) -> None:
    if str(obj.get("apiVersion", "")).endswith("/v1"):
        _hpa_v1(obj)
    else:
        _hpa_v2(obj)


_HANDLERS[("autoscaling", "HorizontalPodAutoscaler")] = _hpa


# ---------------------------------------------------------------------------------------------
# Generation

# Built-in kinds whose registry strategy never sets metadata.generation.
_NO_GENERATION = {
    ("", "ConfigMap"),
    ("", "Secret"),
    ("", "Service"),
    ("", "ServiceAccount"),
    ("", "Namespace"),
    ("", "PersistentVolumeClaim"),
    ("", "PersistentVolume"),
    ("", "Event"),
    ("events.k8s.io", "Event"),
    ("", "Endpoints"),
    ("", "ResourceQuota"),
    ("", "LimitRange"),
    ("", "Node"),
    ("", "Binding"),
    ("", "ComponentStatus"),
    ("discovery.k8s.io", "EndpointSlice"),
    ("coordination.k8s.io", "Lease"),
    ("rbac.authorization.k8s.io", "Role"),
    ("rbac.authorization.k8s.io", "RoleBinding"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("scheduling.k8s.io", "PriorityClass"),
    ("storage.k8s.io", "StorageClass"),
}

_BUILTIN_GROUPS = {
    "",
    "apps",
    "batch",
    "autoscaling",
    "policy",
    "networking.k8s.io",
    "rbac.authorization.k8s.io",
    "coordination.k8s.io",
    "apiextensions.k8s.io",
    "discovery.k8s.io",
    "events.k8s.io",
    "scheduling.k8s.io",
    "storage.k8s.io",
    "admissionregistration.k8s.io",
    "certificates.k8s.io",
    "node.k8s.io",
    "flowcontrol.apiserver.k8s.io",
    "apiregistration.k8s.io",
}


def tracks_generation(group: str, kind: str) -> bool:
    """True if objects of this kind carry `metadata.generation` (set to 1 on create)."""
    return (group, kind) not in _NO_GENERATION


def generation_changed(old: Obj, new: Obj, *, status_subresource: bool = True) -> bool:
    """True if writing `new` over `old` bumps `metadata.generation` (§1.7): for built-in kinds a
    change of anything but `metadata` and `status`; for custom resources any change outside
    `metadata` (`status` included unless the CRD has a status subresource). Always False for
    kinds without generation (ConfigMap, Secret, Service, ...)."""
    group = str(new.get("apiVersion", "")).rpartition("/")[0]
    kind = str(new.get("kind", ""))
    if not tracks_generation(group, kind):
        return False
    ignored = {"metadata", "apiVersion", "kind"}
    if group in _BUILTIN_GROUPS or status_subresource:
        ignored.add("status")
    keys = (set(old) | set(new)) - ignored
    return any(old.get(k) != new.get(k) for k in keys)
