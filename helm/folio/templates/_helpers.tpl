{{/*
The services' contract (ports' roles, who may call whom, what they depend
on). This is not configuration: it mirrors DESIGN.md sections 1-2 and the
services' code. Tunables (port numbers, sizes, URLs) are in values.yaml.

  grpc:      serves gRPC/mTLS on services.<s>.grpcPort
  opsPort:   values key of the port serving /healthz, /readyz, /metrics
  public:    that port is reached from the load balancer (HTTPS)
  callers:   services allowed to call its gRPC port
  callees:   services it calls over gRPC
  database:  uses MySQL;  redis: uses Redis;  https: calls HTTPS APIs
             (AWS S3/STS, Microsoft Graph). A service that reads a secret
             from Secrets Manager gets HTTPS egress too (networkpolicy.yaml).
  webhooks:  posts to client systems' endpoints (public addresses only)
  smtp:      sends mail through services.<s>.smtp when its url is set
*/}}
{{- define "folio.topology" -}}
bff:
  grpc: false
  opsPort: port
  public: true
  callers: []
  callees: [users, documents, integration, notifications]
  database: false
  redis: true
  https: true
users:
  grpc: true
  opsPort: httpPort
  public: false
  callers: [bff, documents, integration, notifications]
  callees: []
  database: true
  redis: false
  https: false
documents:
  grpc: true
  opsPort: httpPort
  public: false
  callers: [bff, integration, notifications]
  callees: [users]
  database: true
  redis: false
  https: true
integration:
  grpc: true
  opsPort: httpPort
  public: true
  callers: [bff]
  callees: [documents]
  database: true
  redis: false
  https: true
notifications:
  grpc: true
  opsPort: httpPort
  public: false
  callers: [bff]
  callees: [users, documents]
  database: true
  redis: false
  https: false
  webhooks: true
  smtp: true
{{- end -}}

{{/* Service names in a stable order. */}}
{{- define "folio.serviceNames" -}}
[bff, users, documents, integration, notifications]
{{- end -}}

{{- define "folio.chart" -}}
{{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end -}}

{{/* Selector labels of one service. Call with (dict "root" $ "svc" "users"). */}}
{{- define "folio.selectorLabels" -}}
app.kubernetes.io/name: {{ .svc }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{/* All labels of one service's objects. */}}
{{- define "folio.labels" -}}
{{ include "folio.selectorLabels" . }}
app.kubernetes.io/part-of: folio
app.kubernetes.io/component: {{ .svc }}
app.kubernetes.io/version: {{ .root.Values.image.tag | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ include "folio.chart" .root }}
folio.example/environment: {{ .root.Values.environment }}
{{- end -}}

{{/* Labels of objects that belong to no single service. */}}
{{- define "folio.commonLabels" -}}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: folio
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ include "folio.chart" . }}
folio.example/environment: {{ .Values.environment }}
{{- end -}}

{{- define "folio.image" -}}
{{- $tag := required "image.tag is required: it is pinned by the environment's Argo CD Application" .root.Values.image.tag -}}
{{ printf "%s/folio-%s:%s" .root.Values.image.registry .svc $tag }}
{{- end -}}

{{/* The services' OTLP endpoint: tracing.otlpEndpoint, else the release's
own collector (collector.yaml), else empty (telemetry export off). */}}
{{- define "folio.otlpEndpoint" -}}
{{- if .Values.tracing.otlpEndpoint -}}
{{- .Values.tracing.otlpEndpoint -}}
{{- else if .Values.collector.enabled -}}
{{- printf "http://otel-collector:%v" .Values.tracing.collectorPort -}}
{{- end -}}
{{- end -}}

{{/* Services with a database: they have migrations. */}}
{{- define "folio.databaseServices" -}}
{{- $topology := include "folio.topology" . | fromYaml -}}
{{- $out := list -}}
{{- range $svc := include "folio.serviceNames" . | fromYamlArray -}}
{{- if (index $topology $svc).database -}}
{{- $out = append $out $svc -}}
{{- end -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{/* Port number serving /healthz, /readyz and /metrics. */}}
{{- define "folio.opsPort" -}}
{{- $topo := index (include "folio.topology" .root | fromYaml) .svc -}}
{{- index .root.Values.services .svc $topo.opsPort -}}
{{- end -}}

{{/* https://<callee>:<grpcPort>, the in-cluster URL of a gRPC service. */}}
{{- define "folio.grpcUrl" -}}
{{- printf "https://%s:%v" .svc (index .root.Values.services .svc "grpcPort") -}}
{{- end -}}

{{/* Environment variables of one service's container. */}}
{{- define "folio.env" -}}
{{- $root := .root -}}
{{- $svc := .svc -}}
{{- $v := index $root.Values.services $svc -}}
{{- $p := printf "FOLIO_%s_" (upper $svc) -}}
{{- $tls := $root.Values.tls.mountPath -}}
- name: FOLIO_LOG_FORMAT
  value: {{ $root.Values.logFormat | quote }}
- name: RUST_LOG
  value: {{ default $root.Values.rustLog $v.rustLog | quote }}
# Local-run state (SQLite, dev PKI, blobs) defaults to ./.folio; nothing uses
# it here, but if anything did it must land on the writable /tmp.
- name: FOLIO_DATA_DIR
  value: "/tmp/folio"
# Traces: off while the endpoint is empty.
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ include "folio.otlpEndpoint" $root | quote }}
- name: OTEL_SERVICE_NAME
  value: {{ printf "folio-%s" $svc | quote }}
- name: OTEL_TRACES_SAMPLER
  value: {{ $root.Values.tracing.sampler | quote }}
- name: OTEL_TRACES_SAMPLER_ARG
  value: {{ $root.Values.tracing.samplerArg | quote }}
- name: OTEL_METRICS_EXPORTER
  value: {{ ternary "otlp" "none" $root.Values.tracing.metrics | quote }}
- name: OTEL_METRIC_EXPORT_INTERVAL
  value: {{ $root.Values.tracing.metricsIntervalMs | int64 | toString | quote }}
{{- if eq $svc "bff" }}
- name: FOLIO_BFF_ADDR
  value: {{ printf "0.0.0.0:%v" $v.port | quote }}
{{- if $v.redis.fromSecret.enabled }}
- name: FOLIO_BFF_REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ $v.redis.fromSecret.name }}
      key: {{ $v.redis.fromSecret.key }}
{{- else }}
- name: FOLIO_BFF_REDIS_URL
  value: {{ required "services.bff.redis.url is required when redis.fromSecret.enabled is false" $v.redis.url | quote }}
{{- if $v.redis.authToken.secretsManager.enabled }}
- name: FOLIO_BFF_REDIS_AUTH_TOKEN_SECRET
  value: {{ printf "aws:%s" (default (printf "folio/%s/bff/redis-auth-token" $root.Values.environment) $v.redis.authToken.secretsManager.secretId) | quote }}
- name: FOLIO_SECRETS_REFRESH_SECS
  value: {{ $root.Values.secretsRefreshSeconds | int64 | toString | quote }}
- name: AWS_REGION
  value: {{ $root.Values.awsRegion | quote }}
{{- end }}
{{- end }}
- name: FOLIO_BFF_USERS_URL
  value: {{ include "folio.grpcUrl" (dict "root" $root "svc" "users") | quote }}
- name: FOLIO_BFF_DOCUMENTS_URL
  value: {{ include "folio.grpcUrl" (dict "root" $root "svc" "documents") | quote }}
- name: FOLIO_BFF_INTEGRATION_URL
  value: {{ include "folio.grpcUrl" (dict "root" $root "svc" "integration") | quote }}
- name: FOLIO_BFF_NOTIFICATIONS_URL
  value: {{ include "folio.grpcUrl" (dict "root" $root "svc" "notifications") | quote }}
- name: FOLIO_BFF_COOKIE_SECURE
  value: {{ $v.cookieSecure | quote }}
- name: FOLIO_BFF_FORWARDED_HOPS
  value: {{ $v.forwardedHops | quote }}
# Sign-in with organisations' providers (docs/adr/0066): the callback is
# under the portal's public address; the deployment's Entra app is optional.
- name: FOLIO_PUBLIC_URL
  value: {{ printf "https://%s" $root.Values.gateway.bffHost | quote }}
{{- with $v.signIn.entraClientId }}
- name: FOLIO_BFF_ENTRA_CLIENT_ID
  value: {{ . | quote }}
{{- if eq (default "secret" $v.signIn.entraCredential) "certificate" }}
# The app's certificate credential: PEM key and certificate (docs/adr/0074).
- name: FOLIO_BFF_ENTRA_CLIENT_CERTIFICATE_SECRET
  value: {{ printf "aws:%s" (default (printf "folio/%s/bff/entra-client-certificate" $root.Values.environment) $v.signIn.entraClientCertificateId) | quote }}
{{- else }}
- name: FOLIO_BFF_ENTRA_CLIENT_SECRET_SECRET
  value: {{ printf "aws:%s" (default (printf "folio/%s/bff/entra-client-secret" $root.Values.environment) $v.signIn.entraClientSecretId) | quote }}
{{- end }}
{{- end }}
{{- else }}
- name: {{ $p }}GRPC_ADDR
  value: {{ printf "0.0.0.0:%v" $v.grpcPort | quote }}
- name: {{ $p }}HTTP_ADDR
  value: {{ printf "0.0.0.0:%v" $v.httpPort | quote }}
{{- $dbTls := $root.Values.databaseTls }}
{{- $dbParams := list (printf "ssl-mode=%s" $dbTls.sslMode) }}
{{- if and $dbTls.caConfigMap (ne $dbTls.sslMode "DISABLED") }}
{{- $dbParams = append $dbParams (printf "ssl-ca=%s/%s" $dbTls.mountPath $dbTls.caKey) }}
{{- end }}
- name: {{ $p }}DATABASE_URL
  value: {{ printf "%s?%s" $v.database.url (join "&" $dbParams) | quote }}
# Migrations (docs/adr/0060): the rollout's Job applies them with the DDL
# login; the serving pods verify, with a login that has no DDL rights.
- name: FOLIO_MIGRATIONS
  value: {{ ternary "only" (ternary "verify" "apply" $root.Values.migrations.job) (default false .migrations) | quote }}
{{- $sm := $v.database.secretsManager }}
{{- if $sm.enabled }}
{{- $secretId := default (printf "folio/%s/%s/database" $root.Values.environment $svc) $sm.secretId }}
{{- if .migrations }}
{{- $secretId = default (printf "folio/%s/%s/migrations" $root.Values.environment $svc) $root.Values.migrations.secretId }}
{{- end }}
{{- if $sm.usernameKey }}
- name: {{ $p }}DATABASE_USERNAME_SECRET
  value: {{ printf "aws:%s#%s" $secretId $sm.usernameKey | quote }}
{{- end }}
- name: {{ $p }}DATABASE_PASSWORD_SECRET
  value: {{ printf "aws:%s#%s" $secretId $sm.passwordKey | quote }}
{{- end }}
{{- if $v.database.password.fromSecret }}
- name: {{ $p }}DATABASE_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $v.database.password.name }}
      key: {{ $v.database.password.key }}
{{- end }}
- name: FOLIO_SECRETS_REFRESH_SECS
  value: {{ $root.Values.secretsRefreshSeconds | int64 | toString | quote }}
- name: AWS_REGION
  value: {{ $root.Values.awsRegion | quote }}
{{- end }}
- name: {{ $p }}TLS_CERT_FILE
  value: {{ printf "%s/tls.crt" $tls | quote }}
- name: {{ $p }}TLS_KEY_FILE
  value: {{ printf "%s/tls.key" $tls | quote }}
- name: {{ $p }}TLS_CA_FILE
  value: {{ printf "%s/ca.crt" $tls | quote }}
{{- if and (eq $svc "users") $v.signIn.secretsKey.secretsManager.enabled }}
# The key organisations' sign-in client secrets are sealed with (docs/adr/0066).
- name: FOLIO_USERS_SECRETS_KEY_SECRET
  value: {{ printf "aws:%s" (default (printf "folio/%s/users/secrets-key" $root.Values.environment) $v.signIn.secretsKey.secretsManager.secretId) | quote }}
{{- if not $v.database.secretsManager.enabled }}
- name: AWS_REGION
  value: {{ $root.Values.awsRegion | quote }}
{{- end }}
{{- end }}
{{- if eq $svc "documents" }}
- name: FOLIO_DOCUMENTS_BLOB_URL
  value: {{ $v.blobUrl | quote }}
{{- with $v.s3.region }}
- name: FOLIO_DOCUMENTS_S3_REGION
  value: {{ . | quote }}
{{- end }}
{{- with $v.s3.kmsKeyId }}
- name: FOLIO_DOCUMENTS_S3_KMS_KEY_ID
  value: {{ . | quote }}
{{- end }}
- name: FOLIO_DOCUMENTS_MAX_UPLOAD_BYTES
  value: {{ $v.maxUploadBytes | int64 | toString | quote }}
- name: FOLIO_DOCUMENTS_USERS_URL
  value: {{ include "folio.grpcUrl" (dict "root" $root "svc" "users") | quote }}
{{- end }}
{{- if (index (include "folio.topology" $root | fromYaml) $svc).public }}
# The load balancer's hop is TLS too (docs/adr/0069): the HTTP listener
# serves HTTPS with the service's cert-manager certificate.
- name: {{ $p }}HTTP_TLS_CERT_FILE
  value: {{ printf "%s/tls.crt" $tls | quote }}
- name: {{ $p }}HTTP_TLS_KEY_FILE
  value: {{ printf "%s/tls.key" $tls | quote }}
{{- end }}
{{- if eq $svc "integration" }}
- name: FOLIO_INTEGRATION_DOCUMENTS_URL
  value: {{ include "folio.grpcUrl" (dict "root" $root "svc" "documents") | quote }}
- name: FOLIO_INTEGRATION_PUBLIC_URL
  value: {{ default (printf "https://%s" $root.Values.gateway.webhookHost) $v.publicUrl | quote }}
- name: FOLIO_INTEGRATION_SECRETS_SOURCE
  value: {{ $v.graphSecrets.source | quote }}
{{- $prefix := $v.graphSecrets.prefix }}
{{- if and (not $prefix) (eq $v.graphSecrets.source "aws") }}
{{- $prefix = printf "folio/%s/integration/graph/" $root.Values.environment }}
{{- end }}
{{- with $prefix }}
- name: FOLIO_INTEGRATION_SECRETS_PREFIX
  value: {{ . | quote }}
{{- end }}
{{- end }}
{{- if eq $svc "notifications" }}
- name: FOLIO_NOTIFICATIONS_USERS_URL
  value: {{ include "folio.grpcUrl" (dict "root" $root "svc" "users") | quote }}
- name: FOLIO_NOTIFICATIONS_DOCUMENTS_URL
  value: {{ include "folio.grpcUrl" (dict "root" $root "svc" "documents") | quote }}
- name: FOLIO_NOTIFICATIONS_RETRY_BASE_SECS
  value: {{ $v.webhooks.retryBaseSeconds | int64 | toString | quote }}
- name: FOLIO_NOTIFICATIONS_ALLOW_PRIVATE_WEBHOOKS
  value: "false"
- name: FOLIO_PUBLIC_URL
  value: {{ printf "https://%s" $root.Values.gateway.bffHost | quote }}
{{- with $v.smtp.url }}
- name: FOLIO_SMTP_URL
  value: {{ . | quote }}
- name: FOLIO_SMTP_FROM
  value: {{ required "services.notifications.smtp.from is required with smtp.url" $v.smtp.from | quote }}
{{- with $v.smtp.credentialsSecret }}
- name: FOLIO_SMTP_USERNAME_SECRET
  value: {{ printf "aws:%s#username" . | quote }}
- name: FOLIO_SMTP_PASSWORD_SECRET
  value: {{ printf "aws:%s#password" . | quote }}
{{- end }}
{{- end }}
{{- end }}
{{- with $v.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Checks the schema cannot express. */}}
{{- define "folio.validate" -}}
{{- range $svc := include "folio.serviceNames" . | fromYamlArray -}}
{{- $v := index $.Values.services $svc -}}
{{- if gt (int $v.autoscaling.minReplicas) (int $v.autoscaling.maxReplicas) -}}
{{- fail (printf "services.%s.autoscaling: minReplicas (%v) is above maxReplicas (%v)" $svc $v.autoscaling.minReplicas $v.autoscaling.maxReplicas) -}}
{{- end -}}
{{- if and (hasKey $v.pdb "minAvailable") (ge (int $v.pdb.minAvailable) (int $v.autoscaling.minReplicas)) -}}
{{- fail (printf "services.%s.pdb.minAvailable (%v) must be below autoscaling.minReplicas (%v), or no pod could ever be evicted" $svc $v.pdb.minAvailable $v.autoscaling.minReplicas) -}}
{{- end -}}
{{- if and (not $v.database) (ne $svc "bff") -}}
{{- fail (printf "services.%s.database is required" $svc) -}}
{{- end -}}
{{- if and $v.database $v.database.secretsManager.enabled $v.database.password.fromSecret -}}
{{- fail (printf "services.%s.database: secretsManager.enabled and password.fromSecret are two sources of one password; choose one" $svc) -}}
{{- end -}}
{{- end -}}
{{- end -}}
