{{/*
Names and labels. Every service chart sets `service` in its values
(vendor, catalog, order, reporting): the service's name, which names its
binary's settings prefix (BLANGKON_<SERVICE>__) and its Kubernetes objects.
*/}}

{{- define "blangkon.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains .Values.service .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Values.service | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/*
The Service name of a sibling service `peer`: in the umbrella chart's
release "blangkon", blangkon-<peer>; in a release of this chart alone named
"<prefix>-<service>" (blangkon-order), <prefix>-<peer> (blangkon-vendor), as
the runbook installs them; in a release named "<service>", "<peer>".
*/}}
{{- define "blangkon.peerName" -}}
{{- $release := .root.Release.Name -}}
{{- $suffix := printf "-%s" .root.Values.service -}}
{{- if eq $release .root.Values.service -}}
{{- .peer -}}
{{- else if hasSuffix $suffix $release -}}
{{- printf "%s-%s" (trimSuffix $suffix $release) .peer | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" $release .peer | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "blangkon.selectorLabels" -}}
app.kubernetes.io/name: {{ .Values.service }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "blangkon.labels" -}}
{{ include "blangkon.selectorLabels" . }}
app.kubernetes.io/part-of: blangkon
app.kubernetes.io/version: {{ include "blangkon.imageTag" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "blangkon.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "blangkon.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The image tag: the chart's appVersion unless set; never `latest`. */}}
{{- define "blangkon.imageTag" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion -}}
{{- if eq $tag "latest" -}}
{{- fail "image.tag: `latest` is not allowed; pin a version (the chart's appVersion is the default)" -}}
{{- end -}}
{{- $tag -}}
{{- end -}}

{{- define "blangkon.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (include "blangkon.imageTag" .) -}}
{{- end -}}
{{- end -}}

{{/* BLANGKON_<SERVICE>__ */}}
{{- define "blangkon.envPrefix" -}}
{{- printf "BLANGKON_%s__" (upper .Values.service) -}}
{{- end -}}
