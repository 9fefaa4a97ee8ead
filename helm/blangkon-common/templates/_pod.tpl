{{/*
The pod both the Deployment and the Jobs run: the restricted Pod Security
Standard, no service account token, settings from the ConfigMap, secrets by
reference, Kafka and gRPC TLS material mounted read-only, and for a serving pod of a
chart with `searchIndex` (the catalog) an emptyDir for its search index.
*/}}
{{- define "blangkon.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "blangkon.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* A container of the service's image running `args`; `serving` for the
Deployment's. */}}
{{- define "blangkon.container" -}}
- name: {{ .name }}
  image: {{ include "blangkon.image" .root | quote }}
  imagePullPolicy: {{ .root.Values.image.pullPolicy }}
  args: {{ toJson .args }}
  env:
    {{- include "blangkon.env" .root | trim | nindent 4 }}
    {{- if and .serving .root.Values.searchIndex }}
    - name: {{ printf "%s%s__SEARCH_INDEX_DIR" (include "blangkon.envPrefix" .root) (upper .root.Values.service) }}
      value: {{ include "blangkon.searchIndexPath" . | quote }}
    {{- end }}
  securityContext:
    {{- include "blangkon.containerSecurityContext" .root | nindent 4 }}
  {{- with .resources }}
  resources:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with include "blangkon.mounts" . }}
  {{- . | nindent 2 }}
  {{- end }}
{{- end -}}

{{/* Where a serving catalog keeps its search index. */}}
{{- define "blangkon.searchIndexPath" -}}
/var/lib/blangkon/search-index
{{- end -}}

{{- define "blangkon.mounts" -}}
{{- $values := .root.Values -}}
{{- $index := and .serving $values.searchIndex -}}
{{- if or $values.kafka.tls.caSecret $values.kafka.tls.clientSecret $index $values.tls.secretName $values.database.tls.caSecret -}}
volumeMounts:
  {{- if $values.database.tls.caSecret }}
  - name: database-ca
    mountPath: /etc/blangkon/database-ca
    readOnly: true
  {{- end }}
  {{- if $values.tls.secretName }}
  - name: tls
    mountPath: /etc/blangkon/tls
    readOnly: true
  {{- end }}
  {{- if $values.kafka.tls.caSecret }}
  - name: kafka-ca
    mountPath: /etc/blangkon/kafka-ca
    readOnly: true
  {{- end }}
  {{- if $values.kafka.tls.clientSecret }}
  - name: kafka-client
    mountPath: /etc/blangkon/kafka-client
    readOnly: true
  {{- end }}
  {{- if $index }}
  - name: search-index
    mountPath: {{ include "blangkon.searchIndexPath" . }}
  {{- end }}
{{- end -}}
{{- end -}}

{{- define "blangkon.volumes" -}}
{{- $values := .root.Values -}}
{{- $index := and .serving $values.searchIndex -}}
{{- if or $values.kafka.tls.caSecret $values.kafka.tls.clientSecret $index $values.tls.secretName $values.database.tls.caSecret -}}
volumes:
  {{- if $values.database.tls.caSecret }}
  - name: database-ca
    secret:
      secretName: {{ $values.database.tls.caSecret }}
  {{- end }}
  {{- if $values.tls.secretName }}
  - name: tls
    secret:
      secretName: {{ $values.tls.secretName }}
  {{- end }}
  {{- if $values.kafka.tls.caSecret }}
  - name: kafka-ca
    secret:
      secretName: {{ $values.kafka.tls.caSecret }}
  {{- end }}
  {{- if $values.kafka.tls.clientSecret }}
  - name: kafka-client
    secret:
      secretName: {{ $values.kafka.tls.clientSecret }}
  {{- end }}
  {{- if $index }}
  # Rebuilt from the catalog tables at every start: the pod's own, on the
  # node's disk (or tmpfs, counted in the memory limit, with medium Memory).
  - name: search-index
    emptyDir:
      {{- with $values.searchIndex.medium }}
      medium: {{ . }}
      {{- end }}
      sizeLimit: {{ $values.searchIndex.sizeLimit }}
  {{- end }}
{{- end -}}
{{- end -}}

{{/* What every pod of the service shares, beside its containers; `root`,
and `serving` for the Deployment's pods. */}}
{{- define "blangkon.podCommon" -}}
{{- $ctx := . -}}
{{- with .root -}}
automountServiceAccountToken: false
securityContext:
  {{- include "blangkon.podSecurityContext" . | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with include "blangkon.volumes" $ctx }}
{{ . }}
{{- end }}
{{- end -}}
{{- end -}}

{{/*
Annotations that roll the pods when their configuration changes: the
settings are in the pod's environment (a change rolls the pods anyway; the
hash shows which configuration a pod runs), a generated Secret is not.
*/}}
{{- define "blangkon.checksums" -}}
checksum/settings: {{ include "blangkon.env" . | sha256sum }}
{{- if .Values.secrets.create }}
checksum/secrets: {{ include "blangkon.secret" . | sha256sum }}
{{- end }}
{{- end -}}
