"""The realistic render workload: the same app as a kdeploy package and as a Helm chart.

Each app renders 6 objects of the size production charts have: a ConfigMap with multi-line files, a
Deployment with two containers (24 environment variables, liveness/readiness/startup probes,
resources, security contexts, volume mounts), five volumes, affinity and topology spread, a Service
with two ports, an Ingress with four hosts and TLS, an HPA with two metrics and scaling behaviour, and
a PodDisruptionBudget. Both tools read the same values.yaml and their templates do the same work:
`toyaml`/`toYaml` for nested values, loops over env vars, ingress hosts and config files, a checksum
of the config in the pod template.
"""

from __future__ import annotations

import shutil
from pathlib import Path

_ENV = "\n".join(f'  {name}: "{value}"' for name, value in [
    ("APP_ENV", "production"),
    ("LOG_LEVEL", "info"),
    ("LOG_FORMAT", "json"),
    ("HTTP_PORT", "8080"),
    ("METRICS_PORT", "9090"),
    ("DATABASE_HOST", "postgres.db.svc.cluster.local"),
    ("DATABASE_PORT", "5432"),
    ("DATABASE_NAME", "shop"),
    ("DATABASE_POOL_SIZE", "20"),
    ("REDIS_URL", "redis://redis.cache.svc.cluster.local:6379/0"),
    ("CACHE_TTL_SECONDS", "300"),
    ("FEATURE_NEW_CHECKOUT", "true"),
    ("FEATURE_RECOMMENDATIONS", "false"),
    ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://otel-collector.observability:4317"),
    ("OTEL_SERVICE_NAME", "shop-api"),
    ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
    ("OTEL_TRACES_SAMPLER_ARG", "0.1"),
    ("SESSION_COOKIE_NAME", "shop_session"),
    ("SESSION_TIMEOUT", "30m"),
    ("UPLOAD_MAX_BYTES", "10485760"),
    ("TZ", "Europe/Berlin"),
    ("LANG", "en_US.UTF-8"),
])  # fmt: skip

VALUES_YAML = f"""\
replicaCount: 2
image:
  repository: registry.example.com/shop/api
  tag: "2.14.1"
  pullPolicy: IfNotPresent
args: ["serve", "--config", "/etc/app/app.yaml"]
env:
{_ENV}
podSecurityContext:
  runAsNonRoot: true
  runAsUser: 10001
  fsGroup: 10001
  seccompProfile:
    type: RuntimeDefault
securityContext:
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  capabilities:
    drop: [ALL]
resources:
  requests: {{cpu: 250m, memory: 512Mi}}
  limits: {{cpu: "2", memory: 1Gi}}
livenessProbe:
  httpGet: {{path: /healthz, port: http}}
  initialDelaySeconds: 10
  periodSeconds: 10
  timeoutSeconds: 2
  failureThreshold: 3
readinessProbe:
  httpGet: {{path: /ready, port: http}}
  periodSeconds: 5
  timeoutSeconds: 2
  successThreshold: 1
  failureThreshold: 3
startupProbe:
  httpGet: {{path: /healthz, port: http}}
  periodSeconds: 5
  failureThreshold: 30
proxy:
  image: registry.example.com/platform/envoy:1.31.2
  args: ["--config-path", "/etc/envoy/envoy.yaml", "--log-level", "warn"]
  env:
    - name: ENVOY_UID
      value: "10001"
    - name: NODE_NAME
      valueFrom:
        fieldRef:
          fieldPath: spec.nodeName
  readinessProbe:
    tcpSocket: {{port: 8443}}
    periodSeconds: 10
  resources:
    requests: {{cpu: 50m, memory: 64Mi}}
    limits: {{cpu: 500m, memory: 256Mi}}
service:
  type: ClusterIP
  port: 80
  targetPort: 8080
ingress:
  className: nginx
  annotations:
    cert-manager.io/cluster-issuer: letsencrypt-prod
    nginx.ingress.kubernetes.io/proxy-body-size: 10m
    nginx.ingress.kubernetes.io/proxy-read-timeout: "60"
    nginx.ingress.kubernetes.io/ssl-redirect: "true"
  hosts:
    - host: shop.example.com
      paths: [/, /static]
    - host: www.shop.example.com
      paths: [/]
    - host: api.shop.example.com
      paths: [/v1, /v2]
    - host: admin.shop.example.com
      paths: [/]
  tls:
    - secretName: shop-example-com-tls
      hosts: [shop.example.com, www.shop.example.com]
    - secretName: api-shop-example-com-tls
      hosts: [api.shop.example.com, admin.shop.example.com]
autoscaling:
  enabled: true
  minReplicas: 2
  maxReplicas: 10
  targetCPUUtilizationPercentage: 70
  targetMemoryUtilizationPercentage: 80
  behavior:
    scaleDown:
      stabilizationWindowSeconds: 300
      policies:
        - type: Percent
          value: 50
          periodSeconds: 60
    scaleUp:
      stabilizationWindowSeconds: 0
      policies:
        - type: Pods
          value: 4
          periodSeconds: 15
podDisruptionBudget:
  minAvailable: 1
affinity:
  podAntiAffinity:
    preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 100
        podAffinityTerm:
          topologyKey: kubernetes.io/hostname
          labelSelector:
            matchLabels:
              app.kubernetes.io/component: api
tolerations:
  - key: dedicated
    operator: Equal
    value: web
    effect: NoSchedule
config:
  log.level: info
  cache.enabled: "true"
  files:
    app.yaml: |
      server:
        port: 8080
        readTimeout: 30s
        writeTimeout: 30s
        idleTimeout: 120s
      database:
        host: postgres.db.svc.cluster.local
        port: 5432
        name: shop
        sslmode: require
        pool:
          max: 20
          idle: 5
      cache:
        url: redis://redis.cache.svc.cluster.local:6379/0
        ttl: 300s
      features:
        newCheckout: true
        recommendations: false
    nginx.conf: |
      worker_processes auto;
      events {{
        worker_connections 1024;
      }}
      http {{
        sendfile on;
        keepalive_timeout 65;
        gzip on;
        gzip_types text/plain application/json application/javascript text/css;
        upstream app {{
          server 127.0.0.1:8080;
          keepalive 32;
        }}
        server {{
          listen 8081;
          location / {{
            proxy_pass http://app;
            proxy_set_header Host $host;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
          }}
          location /static/ {{
            root /var/www;
            expires 7d;
          }}
        }}
      }}
    logging.properties: |
      handlers=console
      console.level=INFO
      console.format=json
      logger.root.level=INFO
      logger.sql.level=WARN
      logger.http.level=INFO
"""

PACKAGE_YAML = """\
name: app
version: 0.1.0
description: A production-sized web app, for benchmarks.
"""

KDEPLOY_HELPERS = """\
{% macro labels(release, package) -%}
app.kubernetes.io/version: {{ package.version | quote }}
app.kubernetes.io/component: api
app.kubernetes.io/part-of: shop
helm.sh/chart: {{ package.name }}-{{ package.version }}
{{ selector(release, package) }}
{%- endmacro %}
{% macro selector(release, package) -%}
app.kubernetes.io/name: {{ package.name }}
app.kubernetes.io/instance: {{ release.name }}
{%- endmacro %}
"""

KDEPLOY_TEMPLATES = {
    "configmap.yaml": """\
{% import "_helpers.j2" as h %}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ release.name }}
  labels:
    {{ h.labels(release, package) | indent(4) }}
data:
  log.level: {{ values.config["log.level"] | quote }}
  cache.enabled: {{ values.config["cache.enabled"] | quote }}
{% for name, text in values.config.files | dictsort %}
  {{ name }}: |
    {{ text | indent(4) }}
{% endfor %}
""",
    "deployment.yaml": """\
{% import "_helpers.j2" as h %}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ release.name }}
  labels:
    {{ h.labels(release, package) | indent(4) }}
spec:
{% if not values.autoscaling.enabled %}
  replicas: {{ values.replicaCount }}
{% endif %}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      {{ h.selector(release, package) | indent(6) }}
  template:
    metadata:
      annotations:
        checksum/config: {{ values.config | sha256 }}
      labels:
        {{ h.labels(release, package) | indent(8) }}
    spec:
      serviceAccountName: default
      securityContext:
{{ values.podSecurityContext | toyaml(indent=8, first=True) }}
      containers:
        - name: app
          image: "{{ values.image.repository }}:{{ values.image.tag }}"
          imagePullPolicy: {{ values.image.pullPolicy }}
          args:
{{ values.args | toyaml(indent=12, first=True) }}
          ports:
            - name: http
              containerPort: {{ values.service.targetPort }}
              protocol: TCP
            - name: metrics
              containerPort: 9090
              protocol: TCP
          env:
{% for name, value in values.env | dictsort %}
            - name: {{ name }}
              value: {{ value | quote }}
{% endfor %}
            - name: POD_NAME
              valueFrom:
                fieldRef:
                  fieldPath: metadata.name
            - name: POD_NAMESPACE
              valueFrom:
                fieldRef:
                  fieldPath: metadata.namespace
          livenessProbe:
{{ values.livenessProbe | toyaml(indent=12, first=True) }}
          readinessProbe:
{{ values.readinessProbe | toyaml(indent=12, first=True) }}
          startupProbe:
{{ values.startupProbe | toyaml(indent=12, first=True) }}
          resources:
{{ values.resources | toyaml(indent=12, first=True) }}
          securityContext:
{{ values.securityContext | toyaml(indent=12, first=True) }}
          volumeMounts:
            - name: config
              mountPath: /etc/app
              readOnly: true
            - name: tmp
              mountPath: /tmp
            - name: cache
              mountPath: /var/cache/app
        - name: proxy
          image: {{ values.proxy.image | quote }}
          args:
{{ values.proxy.args | toyaml(indent=12, first=True) }}
          ports:
            - name: proxy
              containerPort: 8443
              protocol: TCP
          env:
{{ values.proxy.env | toyaml(indent=12, first=True) }}
          readinessProbe:
{{ values.proxy.readinessProbe | toyaml(indent=12, first=True) }}
          resources:
{{ values.proxy.resources | toyaml(indent=12, first=True) }}
          securityContext:
{{ values.securityContext | toyaml(indent=12, first=True) }}
          volumeMounts:
            - name: proxy-config
              mountPath: /etc/envoy
              readOnly: true
            - name: tls
              mountPath: /etc/tls
              readOnly: true
      volumes:
        - name: config
          configMap:
            name: {{ release.name }}
        - name: proxy-config
          configMap:
            name: {{ release.name }}
            items:
              - key: nginx.conf
                path: envoy.yaml
        - name: tmp
          emptyDir: {}
        - name: cache
          emptyDir:
            sizeLimit: 1Gi
        - name: tls
          secret:
            secretName: {{ release.name }}-tls
            defaultMode: 0400
      affinity:
{{ values.affinity | toyaml(indent=8, first=True) }}
      tolerations:
{{ values.tolerations | toyaml(indent=8, first=True) }}
      topologySpreadConstraints:
        - maxSkew: 1
          topologyKey: topology.kubernetes.io/zone
          whenUnsatisfiable: ScheduleAnyway
          labelSelector:
            matchLabels:
              {{ h.selector(release, package) | indent(14) }}
""",
    "service.yaml": """\
{% import "_helpers.j2" as h %}
apiVersion: v1
kind: Service
metadata:
  name: {{ release.name }}
  labels:
    {{ h.labels(release, package) | indent(4) }}
spec:
  type: {{ values.service.type }}
  ports:
    - port: {{ values.service.port }}
      targetPort: http
      protocol: TCP
      name: http
    - port: 9090
      targetPort: metrics
      protocol: TCP
      name: metrics
  selector:
    {{ h.selector(release, package) | indent(4) }}
""",
    "ingress.yaml": """\
{% import "_helpers.j2" as h %}
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {{ release.name }}
  labels:
    {{ h.labels(release, package) | indent(4) }}
  annotations:
{{ values.ingress.annotations | toyaml(indent=4, first=True) }}
spec:
  ingressClassName: {{ values.ingress.className }}
  tls:
{% for tls in values.ingress.tls %}
    - secretName: {{ tls.secretName }}
      hosts:
{% for host in tls.hosts %}
        - {{ host | quote }}
{% endfor %}
{% endfor %}
  rules:
{% for host in values.ingress.hosts %}
    - host: {{ host.host | quote }}
      http:
        paths:
{% for path in host.paths %}
          - path: {{ path }}
            pathType: Prefix
            backend:
              service:
                name: {{ release.name }}
                port:
                  name: http
{% endfor %}
{% endfor %}
""",
    "hpa.yaml": """\
{% import "_helpers.j2" as h %}
{% if values.autoscaling.enabled %}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ release.name }}
  labels:
    {{ h.labels(release, package) | indent(4) }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ release.name }}
  minReplicas: {{ values.autoscaling.minReplicas }}
  maxReplicas: {{ values.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ values.autoscaling.targetCPUUtilizationPercentage }}
    - type: Resource
      resource:
        name: memory
        target:
          type: Utilization
          averageUtilization: {{ values.autoscaling.targetMemoryUtilizationPercentage }}
  behavior:
{{ values.autoscaling.behavior | toyaml(indent=4, first=True) }}
{% endif %}
""",
    "pdb.yaml": """\
{% import "_helpers.j2" as h %}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ release.name }}
  labels:
    {{ h.labels(release, package) | indent(4) }}
spec:
  minAvailable: {{ values.podDisruptionBudget.minAvailable }}
  selector:
    matchLabels:
      {{ h.selector(release, package) | indent(6) }}
""",
}

HELM_CHART_YAML = "apiVersion: v2\nname: {name}\nversion: 0.1.0\n"

HELM_HELPERS = """\
{{- define "app.selector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}
{{- define "app.labels" -}}
app.kubernetes.io/version: {{ .Chart.Version | quote }}
app.kubernetes.io/component: api
app.kubernetes.io/part-of: shop
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{ include "app.selector" . }}
{{- end }}
{{- define "app.fullname" -}}
{{ .Release.Name }}-{{ .Chart.Name }}
{{- end }}
"""

HELM_TEMPLATES = {
    "configmap.yaml": """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "app.fullname" . }}
  labels:
    {{- include "app.labels" . | nindent 4 }}
data:
  log.level: {{ index .Values.config "log.level" | quote }}
  cache.enabled: {{ index .Values.config "cache.enabled" | quote }}
  {{- range $name, $text := .Values.config.files }}
  {{ $name }}: |
    {{- $text | nindent 4 }}
  {{- end }}
""",
    "deployment.yaml": """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "app.fullname" . }}
  labels:
    {{- include "app.labels" . | nindent 4 }}
spec:
  {{- if not .Values.autoscaling.enabled }}
  replicas: {{ .Values.replicaCount }}
  {{- end }}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      {{- include "app.selector" . | nindent 6 }}
  template:
    metadata:
      annotations:
        checksum/config: {{ toJson .Values.config | sha256sum }}
      labels:
        {{- include "app.labels" . | nindent 8 }}
    spec:
      serviceAccountName: default
      securityContext:
        {{- toYaml .Values.podSecurityContext | nindent 8 }}
      containers:
        - name: app
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          args:
            {{- toYaml .Values.args | nindent 12 }}
          ports:
            - name: http
              containerPort: {{ .Values.service.targetPort }}
              protocol: TCP
            - name: metrics
              containerPort: 9090
              protocol: TCP
          env:
            {{- range $name, $value := .Values.env }}
            - name: {{ $name }}
              value: {{ $value | quote }}
            {{- end }}
            - name: POD_NAME
              valueFrom:
                fieldRef:
                  fieldPath: metadata.name
            - name: POD_NAMESPACE
              valueFrom:
                fieldRef:
                  fieldPath: metadata.namespace
          livenessProbe:
            {{- toYaml .Values.livenessProbe | nindent 12 }}
          readinessProbe:
            {{- toYaml .Values.readinessProbe | nindent 12 }}
          startupProbe:
            {{- toYaml .Values.startupProbe | nindent 12 }}
          resources:
            {{- toYaml .Values.resources | nindent 12 }}
          securityContext:
            {{- toYaml .Values.securityContext | nindent 12 }}
          volumeMounts:
            - name: config
              mountPath: /etc/app
              readOnly: true
            - name: tmp
              mountPath: /tmp
            - name: cache
              mountPath: /var/cache/app
        - name: proxy
          image: {{ .Values.proxy.image | quote }}
          args:
            {{- toYaml .Values.proxy.args | nindent 12 }}
          ports:
            - name: proxy
              containerPort: 8443
              protocol: TCP
          env:
            {{- toYaml .Values.proxy.env | nindent 12 }}
          readinessProbe:
            {{- toYaml .Values.proxy.readinessProbe | nindent 12 }}
          resources:
            {{- toYaml .Values.proxy.resources | nindent 12 }}
          securityContext:
            {{- toYaml .Values.securityContext | nindent 12 }}
          volumeMounts:
            - name: proxy-config
              mountPath: /etc/envoy
              readOnly: true
            - name: tls
              mountPath: /etc/tls
              readOnly: true
      volumes:
        - name: config
          configMap:
            name: {{ include "app.fullname" . }}
        - name: proxy-config
          configMap:
            name: {{ include "app.fullname" . }}
            items:
              - key: nginx.conf
                path: envoy.yaml
        - name: tmp
          emptyDir: {}
        - name: cache
          emptyDir:
            sizeLimit: 1Gi
        - name: tls
          secret:
            secretName: {{ include "app.fullname" . }}-tls
            defaultMode: 0400
      affinity:
        {{- toYaml .Values.affinity | nindent 8 }}
      tolerations:
        {{- toYaml .Values.tolerations | nindent 8 }}
      topologySpreadConstraints:
        - maxSkew: 1
          topologyKey: topology.kubernetes.io/zone
          whenUnsatisfiable: ScheduleAnyway
          labelSelector:
            matchLabels:
              {{- include "app.selector" . | nindent 14 }}
""",
    "service.yaml": """\
apiVersion: v1
kind: Service
metadata:
  name: {{ include "app.fullname" . }}
  labels:
    {{- include "app.labels" . | nindent 4 }}
spec:
  type: {{ .Values.service.type }}
  ports:
    - port: {{ .Values.service.port }}
      targetPort: http
      protocol: TCP
      name: http
    - port: 9090
      targetPort: metrics
      protocol: TCP
      name: metrics
  selector:
    {{- include "app.selector" . | nindent 4 }}
""",
    "ingress.yaml": """\
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {{ include "app.fullname" . }}
  labels:
    {{- include "app.labels" . | nindent 4 }}
  annotations:
    {{- toYaml .Values.ingress.annotations | nindent 4 }}
spec:
  ingressClassName: {{ .Values.ingress.className }}
  tls:
    {{- range .Values.ingress.tls }}
    - secretName: {{ .secretName }}
      hosts:
        {{- range .hosts }}
        - {{ . | quote }}
        {{- end }}
    {{- end }}
  rules:
    {{- range .Values.ingress.hosts }}
    - host: {{ .host | quote }}
      http:
        paths:
          {{- range .paths }}
          - path: {{ . }}
            pathType: Prefix
            backend:
              service:
                name: {{ include "app.fullname" $ }}
                port:
                  name: http
          {{- end }}
    {{- end }}
""",
    "hpa.yaml": """\
{{- if .Values.autoscaling.enabled }}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "app.fullname" . }}
  labels:
    {{- include "app.labels" . | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "app.fullname" . }}
  minReplicas: {{ .Values.autoscaling.minReplicas }}
  maxReplicas: {{ .Values.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ .Values.autoscaling.targetCPUUtilizationPercentage }}
    - type: Resource
      resource:
        name: memory
        target:
          type: Utilization
          averageUtilization: {{ .Values.autoscaling.targetMemoryUtilizationPercentage }}
  behavior:
    {{- toYaml .Values.autoscaling.behavior | nindent 4 }}
{{- end }}
""",
    "pdb.yaml": """\
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "app.fullname" . }}
  labels:
    {{- include "app.labels" . | nindent 4 }}
spec:
  minAvailable: {{ .Values.podDisruptionBudget.minAvailable }}
  selector:
    matchLabels:
      {{- include "app.selector" . | nindent 6 }}
""",
}

# What every release overrides on both sides (an environment overlay / the umbrella's values).
OVERRIDE_MAX_REPLICAS = 20


def write_kdeploy_project(root: Path, apps: int) -> None:
    """A project with the realistic package and a `prod` environment holding `apps` releases."""
    pkg = root / "packages" / "app"
    (pkg / "templates").mkdir(parents=True)
    (pkg / "package.yaml").write_text(PACKAGE_YAML)
    (pkg / "values.yaml").write_text(VALUES_YAML)
    (pkg / "templates" / "_helpers.j2").write_text(KDEPLOY_HELPERS)
    for name, text in KDEPLOY_TEMPLATES.items():
        (pkg / "templates" / name).write_text(text)
    envs = root / "environments"
    envs.mkdir()
    lines = ["cluster: {context: bench}", "namespace: bench", "releases:"]
    for i in range(apps):
        lines += [
            f"  app-{i:04d}:",
            "    package: app",
            "    values:",
            "      autoscaling:",
            f"        maxReplicas: {OVERRIDE_MAX_REPLICAS}",
        ]
    (envs / "prod.yaml").write_text("\n".join(lines) + "\n")


def write_helm_charts(root: Path, helm: str, apps: int) -> tuple[Path, list[Path]]:
    """An umbrella chart with `apps` subcharts of the realistic chart, and the subcharts themselves
    (for one-`helm template`-per-app runs). `helm` is unused: the chart is written, not created."""
    del helm
    (root / "home").mkdir(exist_ok=True)
    base = root / "base"
    (base / "templates").mkdir(parents=True)
    (base / "values.yaml").write_text(VALUES_YAML)
    (base / "templates" / "_helpers.tpl").write_text(HELM_HELPERS)
    for name, text in HELM_TEMPLATES.items():
        (base / "templates" / name).write_text(text)
    umbrella = root / "umbrella"
    (umbrella / "charts").mkdir(parents=True)
    (umbrella / "Chart.yaml").write_text(HELM_CHART_YAML.format(name="umbrella"))
    overrides, singles = [], []
    for i in range(apps):
        name = f"app-{i:04d}"
        dest = umbrella / "charts" / name
        shutil.copytree(base, dest)
        (dest / "Chart.yaml").write_text(HELM_CHART_YAML.format(name=name))
        overrides.append(f"{name}:\n  autoscaling:\n    maxReplicas: {OVERRIDE_MAX_REPLICAS}\n")
        singles.append(dest)
    (umbrella / "values.yaml").write_text("".join(overrides))
    return umbrella, singles
