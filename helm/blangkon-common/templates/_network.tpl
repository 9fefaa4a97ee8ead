{{- define "blangkon.service" -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "blangkon.fullname" . }}
  labels:
    {{- include "blangkon.labels" . | nindent 4 }}
spec:
  type: ClusterIP
  selector:
    {{- include "blangkon.selectorLabels" . | nindent 4 }}
  ports:
    - name: grpc
      port: {{ .Values.grpc.port }}
      targetPort: grpc
      protocol: TCP
      {{- if not .Values.tls.secretName }}
      appProtocol: kubernetes.io/h2c
      {{- end }}
    {{- if .Values.metrics.enabled }}
    - name: metrics
      port: {{ .Values.metrics.port }}
      targetPort: metrics
      protocol: TCP
    {{- end }}
    {{- if .Values.publicHttp.enabled }}
    - name: http
      port: {{ .Values.publicHttp.port }}
      targetPort: http
      protocol: TCP
      appProtocol: http
    {{- end }}
{{- end -}}

{{- define "blangkon.serviceAccount" -}}
{{- if .Values.serviceAccount.create -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "blangkon.serviceAccountName" . }}
  labels:
    {{- include "blangkon.labels" . | nindent 4 }}
automountServiceAccountToken: false
{{- end -}}
{{- end -}}

{{- define "blangkon.podDisruptionBudget" -}}
{{- if or (gt (int .Values.replicaCount) 1) .Values.autoscaling.enabled -}}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "blangkon.fullname" . }}
  labels:
    {{- include "blangkon.labels" . | nindent 4 }}
spec:
  maxUnavailable: 1
  selector:
    matchLabels:
      {{- include "blangkon.selectorLabels" . | nindent 6 }}
{{- end -}}
{{- end -}}

{{- define "blangkon.hpa" -}}
{{- if .Values.autoscaling.enabled -}}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "blangkon.fullname" . }}
  labels:
    {{- include "blangkon.labels" . | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "blangkon.fullname" . }}
  minReplicas: {{ .Values.autoscaling.minReplicas }}
  maxReplicas: {{ .Values.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ .Values.autoscaling.targetCPUUtilizationPercentage }}
{{- end -}}
{{- end -}}

{{/*
Ingress: gRPC from the suite's services that call this one
(networkPolicy.callers), the ingress controller's pods when the service is
exposed (externalAccess.enabled) and any more peers the values name, and
metrics from the scraper's namespace. Egress: DNS, PostgreSQL, Kafka, the peers,
the OTLP collector; each by port (and destination where given).
*/}}
{{- define "blangkon.networkPolicy" -}}
{{- if .Values.networkPolicy.enabled -}}
{{- $np := .Values.networkPolicy -}}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "blangkon.fullname" . }}
  labels:
    {{- include "blangkon.labels" . | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "blangkon.selectorLabels" . | nindent 6 }}
  policyTypes: [Ingress, Egress]
  ingress:
    {{- $fromIngress := and .Values.externalAccess.enabled $np.ingressControllerNamespace }}
    {{- if or $np.callers $fromIngress $np.grpcFrom }}
    - ports:
        - port: grpc
          protocol: TCP
      from:
        {{- range $np.callers }}
        - podSelector:
            matchLabels:
              app.kubernetes.io/name: {{ . }}
              app.kubernetes.io/part-of: blangkon
        {{- end }}
        {{- if $fromIngress }}
        - namespaceSelector:
            matchLabels:
              kubernetes.io/metadata.name: {{ $np.ingressControllerNamespace }}
          {{- with $np.ingressControllerPodLabels }}
          podSelector:
            matchLabels:
              {{- toYaml . | nindent 14 }}
          {{- end }}
        {{- end }}
        {{- with $np.grpcFrom }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    {{- end }}
    {{- if and .Values.publicHttp.enabled .Values.publicHttp.ingress.enabled $np.ingressControllerNamespace }}
    - ports:
        - port: http
          protocol: TCP
      from:
        - namespaceSelector:
            matchLabels:
              kubernetes.io/metadata.name: {{ $np.ingressControllerNamespace }}
          {{- with $np.ingressControllerPodLabels }}
          podSelector:
            matchLabels:
              {{- toYaml . | nindent 14 }}
          {{- end }}
    {{- end }}
    {{- if .Values.metrics.enabled }}
    - ports:
        - port: metrics
          protocol: TCP
      from:
        - namespaceSelector:
            matchLabels:
              kubernetes.io/metadata.name: {{ $np.metricsNamespace }}
          {{- with $np.metricsPodLabels }}
          podSelector:
            matchLabels:
              {{- toYaml . | nindent 14 }}
          {{- end }}
    {{- end }}
  egress:
    - ports:
        - port: 53
          protocol: UDP
        - port: 53
          protocol: TCP
      to:
        - namespaceSelector:
            matchLabels:
              kubernetes.io/metadata.name: kube-system
    {{- range $name, $target := dict "database" $np.database "kafka" $np.kafka "otlp" $np.otlp "identityProvider" $np.identityProvider }}
    {{- if $target.ports }}
    - ports:
        {{- range $target.ports }}
        - port: {{ . }}
          protocol: TCP
        {{- end }}
      {{- with $target.to }}
      to:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    {{- end }}
    {{- end }}
    {{- range $peer, $at := .Values.peers }}
    - ports:
        - port: {{ $at.port }}
          protocol: TCP
      to:
        - podSelector:
            matchLabels:
              app.kubernetes.io/name: {{ $peer }}
              app.kubernetes.io/part-of: blangkon
    {{- end }}
{{- end -}}
{{- end -}}

{{- define "blangkon.serviceMonitor" -}}
{{- if .Values.serviceMonitor.enabled -}}
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {{ include "blangkon.fullname" . }}
  labels:
    {{- include "blangkon.labels" . | nindent 4 }}
    {{- with .Values.serviceMonitor.labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  selector:
    matchLabels:
      {{- include "blangkon.selectorLabels" . | nindent 6 }}
  endpoints:
    - port: metrics
      path: /metrics
      interval: {{ .Values.serviceMonitor.interval }}
{{- end -}}
{{- end -}}

{{/*
External gRPC access: an Ingress with the backend speaking gRPC (ingress-nginx
annotation) or a Gateway API GRPCRoute, with TLS at the edge.
*/}}
{{- define "blangkon.externalAccess" -}}
{{- $ext := .Values.externalAccess -}}
{{- if and $ext.enabled (eq $ext.kind "ingress") -}}
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {{ include "blangkon.fullname" . }}
  labels:
    {{- include "blangkon.labels" . | nindent 4 }}
  annotations:
    nginx.ingress.kubernetes.io/backend-protocol: {{ ternary "GRPCS" "GRPC" (not (empty .Values.tls.secretName)) }}
    {{- with $ext.annotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  {{- with $ext.ingressClassName }}
  ingressClassName: {{ . }}
  {{- end }}
  tls:
    - hosts: [{{ required "externalAccess.host is required when externalAccess.enabled" $ext.host | quote }}]
      secretName: {{ required "externalAccess.tlsSecret is required: external gRPC is served over TLS" $ext.tlsSecret }}
  rules:
    - host: {{ $ext.host | quote }}
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: {{ include "blangkon.fullname" . }}
                port:
                  name: grpc
{{- else if and $ext.enabled (eq $ext.kind "grpcroute") -}}
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata:
  name: {{ include "blangkon.fullname" . }}
  labels:
    {{- include "blangkon.labels" . | nindent 4 }}
spec:
  parentRefs:
    {{- required "externalAccess.gateway.parentRefs is required for a GRPCRoute (the Gateway's TLS listener)" $ext.gateway.parentRefs | toYaml | nindent 4 }}
  hostnames: [{{ required "externalAccess.host is required when externalAccess.enabled" $ext.host | quote }}]
  rules:
    - backendRefs:
        - name: {{ include "blangkon.fullname" . }}
          port: {{ .Values.grpc.port }}
{{- end -}}
{{- end -}}

{{/* Strimzi topics of the topics the service writes; see values. */}}
{{- define "blangkon.kafkaTopics" -}}
{{- if .Values.strimziTopics.enabled -}}
{{- $root := . -}}
{{- range $i, $topic := .Values.strimziTopics.topics }}
{{- if $i }}
---
{{- end }}
apiVersion: kafka.strimzi.io/v1
kind: KafkaTopic
metadata:
  name: {{ $topic.name | replace "." "-" }}
  labels:
    {{- include "blangkon.labels" $root | nindent 4 }}
    strimzi.io/cluster: {{ required "strimziTopics.cluster is required: the Strimzi Kafka cluster's name" $root.Values.strimziTopics.cluster }}
spec:
  topicName: {{ printf "%s%s" (dig "kafka" "topic_prefix" "" $root.Values.settings) $topic.name }}
  partitions: {{ $topic.partitions }}
  replicas: {{ $root.Values.strimziTopics.replicas }}
  config:
    {{- if $topic.compacted }}
    cleanup.policy: compact
    {{- else }}
    retention.ms: {{ $root.Values.strimziTopics.retentionMs | int64 }}
    {{- end }}
    min.insync.replicas: {{ $root.Values.strimziTopics.minInsyncReplicas }}
{{- end }}
{{- end -}}
{{- end -}}

{{/* Development only: a Secret made from values (secrets.create). */}}
{{- define "blangkon.secret" -}}
{{- if .Values.secrets.create -}}
apiVersion: v1
kind: Secret
metadata:
  name: {{ include "blangkon.fullname" . }}
  labels:
    {{- include "blangkon.labels" . | nindent 4 }}
  annotations:
    # Made before the migration Job, which reads it.
    helm.sh/hook: pre-install,pre-upgrade
    helm.sh/hook-weight: "-10"
    helm.sh/hook-delete-policy: before-hook-creation
type: Opaque
stringData:
  {{ .Values.database.urlKey }}: {{ required "secrets.databaseUrl is required with secrets.create" .Values.secrets.databaseUrl | quote }}
  {{- if .Values.auth.client.required }}
  {{ .Values.auth.client.secretKey }}: {{ required "secrets.clientSecret is required with secrets.create" .Values.secrets.clientSecret | quote }}
  {{- end }}
{{- end -}}
{{- end -}}


{{/* The public HTTP API's Ingress: TLS at the controller, plain HTTP to
the pods, the service's path prefixes only. */}}
{{- define "blangkon.publicIngress" -}}
{{- $http := .Values.publicHttp -}}
{{- if and $http.enabled $http.ingress.enabled -}}
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {{ include "blangkon.fullname" . }}-public
  labels:
    {{- include "blangkon.labels" . | nindent 4 }}
  {{- with $http.ingress.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  {{- with $http.ingress.ingressClassName }}
  ingressClassName: {{ . }}
  {{- end }}
  tls:
    - hosts: [{{ required "publicHttp.ingress.host is required when publicHttp.ingress.enabled" $http.ingress.host | quote }}]
      secretName: {{ required "publicHttp.ingress.tlsSecret is required: the public API is served over TLS" $http.ingress.tlsSecret }}
  rules:
    - host: {{ $http.ingress.host | quote }}
      http:
        paths:
          {{- range (required "publicHttp.ingress.paths names the path prefixes to route" $http.ingress.paths) }}
          - path: {{ . }}
            pathType: Prefix
            backend:
              service:
                name: {{ include "blangkon.fullname" $ }}
                port:
                  name: http
          {{- end }}
{{- end -}}
{{- end -}}
