{{/*
The service's settings as its environment: each leaf of `.Values.settings`
becomes BLANGKON_<SERVICE>__<SECTION>__<KEY> (lists joined with commas, a
`.` in a key, as in kafka.properties, written `_`). values.schema.json lists
exactly the keys the binary reads, generated from its settings types, so a
key that is not a setting cannot be set.
*/}}
{{- define "blangkon.settingsEnv" -}}
{{- $prefix := .prefix -}}
{{- range $key, $value := .settings }}
{{- $name := printf "%s%s" $prefix (upper (replace "." "_" $key)) }}
{{- if kindIs "map" $value }}
{{- include "blangkon.settingsEnv" (dict "prefix" (printf "%s__" $name) "settings" $value) }}
{{- else if kindIs "slice" $value }}
- name: {{ $name }}
  value: {{ join "," $value | quote }}
{{- else if kindIs "float64" $value }}
- name: {{ $name }}
  value: {{ $value | int64 | toString | quote }}
{{- else if not (kindIs "invalid" $value) }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/* The settings the chart itself decides: ports, migrations, TLS files. */}}
{{- define "blangkon.managedEnv" -}}
{{- $p := include "blangkon.envPrefix" . -}}
{{- $env := dict -}}
{{- $_ := set $env "GRPC__LISTEN" (printf "0.0.0.0:%d" (int .Values.grpc.port)) -}}
{{- $_ := set $env "METRICS__ENABLED" (.Values.metrics.enabled | toString) -}}
{{- $_ := set $env "HTTP__ENABLED" (.Values.publicHttp.enabled | toString) -}}
{{- $_ := set $env "HTTP__LISTEN" (printf "0.0.0.0:%d" (int .Values.publicHttp.port)) -}}
{{- /* Links (links.next, OCDS uri) name the public host over https, not
whatever Host a client sent, unless settings.http.public_url says
otherwise. */ -}}
{{- if and .Values.publicHttp.enabled .Values.publicHttp.ingress.enabled .Values.publicHttp.ingress.host (not (dig "http" "public_url" "" .Values.settings)) -}}
{{- $_ := set $env "HTTP__PUBLIC_URL" (printf "https://%s" .Values.publicHttp.ingress.host) -}}
{{- end -}}
{{- /* On the pod's own address only: not on every interface of a pod
that may share a network namespace (POD_IP comes first in the env). */ -}}
{{- $_ := set $env "METRICS__LISTEN" (printf "$(POD_IP):%d" (int .Values.metrics.port)) -}}
{{- $_ := set $env "DATABASE__MIGRATE_ON_START" "false" -}}
{{- with .Values.database.tls.caSecret -}}
{{- $_ := set $env "DATABASE__TLS__MODE" "verify-full" -}}
{{- $_ := set $env "DATABASE__TLS__ROOT_CERT" (printf "/etc/blangkon/database-ca/%s" $.Values.database.tls.caKey) -}}
{{- end -}}
{{- if .Values.kafka.tls.caSecret -}}
{{- $_ := set $env "KAFKA__SECURITY__SSL_CA_LOCATION" (printf "/etc/blangkon/kafka-ca/%s" .Values.kafka.tls.caKey) -}}
{{- end -}}
{{- if .Values.kafka.tls.clientSecret -}}
{{- $_ := set $env "KAFKA__SECURITY__SSL_CERTIFICATE_LOCATION" (printf "/etc/blangkon/kafka-client/%s" .Values.kafka.tls.certificateKey) -}}
{{- $_ := set $env "KAFKA__SECURITY__SSL_KEY_LOCATION" (printf "/etc/blangkon/kafka-client/%s" .Values.kafka.tls.keyKey) -}}
{{- end -}}
{{- if .Values.strimziTopics.enabled -}}
{{- $_ := set $env "KAFKA__CREATE_TOPICS" "false" -}}
{{- end -}}
{{- with .Values.tls.secretName -}}
{{- $_ := set $env "GRPC__TLS__CERT_FILE" "/etc/blangkon/tls/tls.crt" -}}
{{- $_ := set $env "GRPC__TLS__KEY_FILE" "/etc/blangkon/tls/tls.key" -}}
{{- if $.Values.tls.requireClientCertificates -}}
{{- $_ := set $env "GRPC__TLS__CLIENT_CA_FILE" "/etc/blangkon/tls/ca.crt" -}}
{{- end -}}
{{- $_ := set $env "GRPC__HEALTH_LISTEN" (printf "0.0.0.0:%d" (int $.Values.tls.probePort)) -}}
{{- end -}}
{{- $scheme := ternary "https" "http" (not (empty .Values.tls.secretName)) -}}
{{- range $peer, $at := .Values.peers -}}
{{- if not (dig $.Values.service (printf "%s_endpoint" $peer) "" $.Values.settings) -}}
{{- $name := include "blangkon.peerName" (dict "root" $ "peer" $peer) -}}
{{- $_ := set $env (printf "%s__%s_ENDPOINT" (upper $.Values.service) (upper $peer)) (printf "%s://%s:%d" $scheme $name (int $at.port)) -}}
{{- end -}}
{{- end -}}
{{- /* The suite's services share one CA: peers are trusted by it, and
this service's own certificate answers a peer that asks for one. */ -}}
{{- if and .Values.peers .Values.tls.secretName -}}
{{- $section := printf "%s__PEER_TLS" (upper .Values.service) -}}
{{- $_ := set $env (printf "%s__CA_FILE" $section) "/etc/blangkon/tls/ca.crt" -}}
{{- $_ := set $env (printf "%s__CERT_FILE" $section) "/etc/blangkon/tls/tls.crt" -}}
{{- $_ := set $env (printf "%s__KEY_FILE" $section) "/etc/blangkon/tls/tls.key" -}}
{{- end -}}
{{- range $key, $value := $env }}
- name: {{ printf "%s%s" $p $key }}
  value: {{ $value | quote }}
{{- end }}
{{- end -}}

{{/* The whole environment of a container of the service. */}}
{{- define "blangkon.env" -}}
- name: POD_IP
  valueFrom:
    fieldRef:
      fieldPath: status.podIP
{{ include "blangkon.managedEnv" . }}
{{- include "blangkon.settingsEnv" (dict "prefix" (include "blangkon.envPrefix" .) "settings" .Values.settings) }}
{{ include "blangkon.secretEnvs" . }}
{{- end -}}

{{/* Checks the values a working install cannot do without. */}}
{{- define "blangkon.require" -}}
{{- if not (dig "kafka" "bootstrap_servers" "" .Values.settings) -}}
{{- fail "settings.kafka.bootstrap_servers is required: the Kafka bootstrap address, e.g. blangkon-kafka-bootstrap.kafka:9093" -}}
{{- end -}}
{{- if not (or .Values.database.existingSecret .Values.secrets.create) -}}
{{- fail "database.existingSecret is required: the Secret holding the PostgreSQL URL (CloudNativePG's <cluster>-app Secret, key uri), or secrets.create=true with secrets.databaseUrl for development" -}}
{{- end -}}
{{- if not (dig "auth" "issuer" "" .Values.settings) -}}
{{- fail "settings.auth.issuer is required: the identity provider's issuer, exactly as its tokens' iss (e.g. https://sso.jatengprov.go.id/realms/jateng)" -}}
{{- end -}}
{{- if .Values.auth.client.required -}}
{{- if not (dig "auth" "client" "id" "" .Values.settings) -}}
{{- fail "settings.auth.client.id is required: this service calls others with its own OAuth client (client credentials)" -}}
{{- end -}}
{{- if not (or .Values.auth.client.existingSecret .Values.secrets.create) -}}
{{- fail "auth.client.existingSecret is required: the Secret holding the service's client secret (key client-secret), or secrets.create=true with secrets.clientSecret for development" -}}
{{- end -}}
{{- end -}}
{{- if and (hasKey .Values.settings "grpc") (hasKey .Values.settings.grpc "shutdown_grace_secs") -}}
{{- if le (int .Values.terminationGracePeriodSeconds) (int .Values.settings.grpc.shutdown_grace_secs) -}}
{{- fail "terminationGracePeriodSeconds must be longer than settings.grpc.shutdown_grace_secs, or Kubernetes kills the pod while it drains" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* A Secret key reference as an env entry. */}}
{{- define "blangkon.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .secret }}
      key: {{ .key }}
      {{- if .optional }}
      optional: true
      {{- end }}
{{- end -}}

{{/* The secrets the service reads, each from the Secret the values name. */}}
{{- define "blangkon.secretEnvs" -}}
{{- $p := include "blangkon.envPrefix" . -}}
{{- $generated := include "blangkon.fullname" . -}}
{{- include "blangkon.secretEnv" (dict "name" (printf "%sDATABASE__URL" $p) "secret" (.Values.database.existingSecret | default $generated) "key" .Values.database.urlKey) }}
{{- if .Values.auth.client.required }}
{{ include "blangkon.secretEnv" (dict "name" (printf "%sAUTH__CLIENT__SECRET" $p) "secret" (.Values.auth.client.existingSecret | default $generated) "key" .Values.auth.client.secretKey) }}
{{- end }}
{{- if .Values.kafka.sasl.existingSecret }}
{{ include "blangkon.secretEnv" (dict "name" (printf "%sKAFKA__SECURITY__SASL_PASSWORD" $p) "secret" .Values.kafka.sasl.existingSecret "key" .Values.kafka.sasl.passwordKey) }}
{{- end }}
{{- if and .Values.kafka.tls.clientSecret .Values.kafka.tls.keyPasswordKey }}
{{ include "blangkon.secretEnv" (dict "name" (printf "%sKAFKA__SECURITY__SSL_KEY_PASSWORD" $p) "secret" .Values.kafka.tls.clientSecret "key" .Values.kafka.tls.keyPasswordKey) }}
{{- end }}
{{- end -}}
