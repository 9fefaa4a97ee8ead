{{- define "blangkon.deployment" -}}
{{- include "blangkon.require" . -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "blangkon.fullname" . }}
  labels:
    {{- include "blangkon.labels" . | nindent 4 }}
spec:
  {{- if not .Values.autoscaling.enabled }}
  replicas: {{ .Values.replicaCount }}
  {{- end }}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      {{- include "blangkon.selectorLabels" . | nindent 6 }}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxUnavailable: 0
      maxSurge: 1
  template:
    metadata:
      labels:
        {{- include "blangkon.labels" . | nindent 8 }}
        {{- with .Values.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      annotations:
        {{- include "blangkon.checksums" . | nindent 8 }}
        {{- with .Values.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ include "blangkon.serviceAccountName" . }}
      {{- include "blangkon.podCommon" (dict "root" . "serving" true) | nindent 6 }}
      terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
      {{- if .Values.topologySpread.enabled }}
      topologySpreadConstraints:
        - maxSkew: 1
          topologyKey: kubernetes.io/hostname
          whenUnsatisfiable: {{ .Values.topologySpread.whenUnsatisfiable }}
          labelSelector:
            matchLabels:
              {{- include "blangkon.selectorLabels" . | nindent 14 }}
        - maxSkew: 1
          topologyKey: topology.kubernetes.io/zone
          whenUnsatisfiable: ScheduleAnyway
          labelSelector:
            matchLabels:
              {{- include "blangkon.selectorLabels" . | nindent 14 }}
      {{- end }}
      {{- with .Values.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        {{- include "blangkon.container" (dict "root" . "name" .Values.service "args" (list "serve") "resources" .Values.resources "serving" true) | nindent 8 }}
          ports:
            - name: grpc
              containerPort: {{ .Values.grpc.port }}
              protocol: TCP
            {{- if .Values.metrics.enabled }}
            - name: metrics
              containerPort: {{ .Values.metrics.port }}
              protocol: TCP
            {{- end }}
            {{- if .Values.publicHttp.enabled }}
            - name: http
              containerPort: {{ .Values.publicHttp.port }}
              protocol: TCP
            {{- end }}
            {{- if .Values.tls.secretName }}
            - name: probes
              containerPort: {{ .Values.tls.probePort }}
              protocol: TCP
            {{- end }}
          {{- /* The kubelet's gRPC probe speaks plaintext only: with TLS on,
          it asks the port that serves health alone. */}}
          {{- $probePort := ternary .Values.tls.probePort .Values.grpc.port (not (empty .Values.tls.secretName)) }}
          # gRPC health: the server's own status is SERVING while the
          # database answers (startup, readiness); "liveness" only says the
          # process answers, as restarting pods does not bring a database
          # back.
          startupProbe:
            grpc:
              port: {{ $probePort }}
            periodSeconds: 2
            failureThreshold: {{ .Values.probes.startupFailureThreshold }}
          readinessProbe:
            grpc:
              port: {{ $probePort }}
            periodSeconds: 5
            failureThreshold: 2
          livenessProbe:
            grpc:
              port: {{ $probePort }}
              service: liveness
            periodSeconds: 10
            failureThreshold: 6
{{- end -}}

{{/* A Job of the service's image: `migrate`, or reporting's `rebuild`. */}}
{{- define "blangkon.job" -}}
{{- $root := .root -}}
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ printf "%s-%s" (include "blangkon.fullname" $root) .name | trunc 63 | trimSuffix "-" }}
  labels:
    {{- include "blangkon.labels" $root | nindent 4 }}
    app.kubernetes.io/component: {{ .name }}
  {{- with .annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  backoffLimit: {{ $root.Values.jobs.backoffLimit }}
  activeDeadlineSeconds: {{ $root.Values.jobs.activeDeadlineSeconds }}
  ttlSecondsAfterFinished: {{ $root.Values.jobs.ttlSecondsAfterFinished }}
  template:
    metadata:
      labels:
        {{- include "blangkon.selectorLabels" $root | nindent 8 }}
        app.kubernetes.io/component: {{ .name }}
    spec:
      restartPolicy: Never
      serviceAccountName: {{ $root.Values.jobs.serviceAccountName }}
      {{- include "blangkon.podCommon" (dict "root" $root) | nindent 6 }}
      containers:
        {{- include "blangkon.container" (dict "root" $root "name" .name "args" .args "resources" $root.Values.jobs.resources) | nindent 8 }}
{{- end -}}

{{/*
The migration Job, before the Deployment rolls: Helm runs it before an
install or upgrade and stops if it fails. Concurrent migrators take turns
under an advisory lock, so a retry is safe.
*/}}
{{- define "blangkon.migrationJob" -}}
{{- include "blangkon.require" . -}}
{{- $hook := dict "helm.sh/hook" "pre-install,pre-upgrade" "helm.sh/hook-weight" "0" "helm.sh/hook-delete-policy" "before-hook-creation,hook-succeeded" -}}
{{- include "blangkon.job" (dict "root" . "name" "migrate" "args" (list "migrate") "annotations" $hook) -}}
{{- end -}}
