{{/*
The pod both the Deployment and the Jobs run: the restricted Pod Security
Standard, no service account token, settings from the ConfigMap, secrets by
reference, Kafka TLS material mounted read-only.
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

{{/* A container of the service's image running `args`. */}}
{{- define "blangkon.container" -}}
- name: {{ .name }}
  image: {{ include "blangkon.image" .root | quote }}
  imagePullPolicy: {{ .root.Values.image.pullPolicy }}
  args: {{ toJson .args }}
  env:
    {{- include "blangkon.env" .root | trim | nindent 4 }}
  securityContext:
    {{- include "blangkon.containerSecurityContext" .root | nindent 4 }}
  {{- with .resources }}
  resources:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with include "blangkon.kafkaMounts" .root }}
  {{- . | nindent 2 }}
  {{- end }}
{{- end -}}

{{- define "blangkon.kafkaMounts" -}}
{{- if or .Values.kafka.tls.caSecret .Values.kafka.tls.clientSecret -}}
volumeMounts:
  {{- if .Values.kafka.tls.caSecret }}
  - name: kafka-ca
    mountPath: /etc/blangkon/kafka-ca
    readOnly: true
  {{- end }}
  {{- if .Values.kafka.tls.clientSecret }}
  - name: kafka-client
    mountPath: /etc/blangkon/kafka-client
    readOnly: true
  {{- end }}
{{- end -}}
{{- end -}}

{{- define "blangkon.kafkaVolumes" -}}
{{- if or .Values.kafka.tls.caSecret .Values.kafka.tls.clientSecret -}}
volumes:
  {{- if .Values.kafka.tls.caSecret }}
  - name: kafka-ca
    secret:
      secretName: {{ .Values.kafka.tls.caSecret }}
  {{- end }}
  {{- if .Values.kafka.tls.clientSecret }}
  - name: kafka-client
    secret:
      secretName: {{ .Values.kafka.tls.clientSecret }}
  {{- end }}
{{- end -}}
{{- end -}}

{{/* What every pod of the service shares, beside its containers. */}}
{{- define "blangkon.podCommon" -}}
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
{{- with include "blangkon.kafkaVolumes" . }}
{{ . }}
{{- end }}
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
