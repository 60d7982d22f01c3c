{{- define "kube-auditor.name" -}}
{{- required "name is required" .Values.name -}}
{{- end -}}

{{- define "kube-auditor.labels" -}}
app.kubernetes.io/name: kube-auditor-webhook
app.kubernetes.io/instance: {{ include "kube-auditor.name" . }}
app.kubernetes.io/component: admission-webhook
app.kubernetes.io/part-of: kube-auditor
{{- end -}}

{{- define "kube-auditor.selector" -}}
app.kubernetes.io/name: kube-auditor-webhook
app.kubernetes.io/instance: {{ include "kube-auditor.name" . }}
{{- end -}}

{{- define "kube-auditor.secretName" -}}
{{- .Values.tlsSecret | default (printf "%s-tls" (include "kube-auditor.name" .)) -}}
{{- end -}}

{{- define "kube-auditor.webhookMetadata" -}}
name: {{ include "kube-auditor.name" . }}
labels:
  {{- include "kube-auditor.labels" . | nindent 2 }}
{{- if .Values.certManager }}
annotations:
  cert-manager.io/inject-ca-from: {{ .Release.Namespace }}/{{ include "kube-auditor.name" . }}
{{- end }}
{{- end -}}

{{- define "kube-auditor.clientConfig" -}}
service:
  name: {{ include "kube-auditor.name" .root }}
  namespace: {{ .root.Release.Namespace }}
  path: {{ .path }}
  port: 443
{{- if and .root.Values.caBundle (not .root.Values.certManager) }}
caBundle: {{ .root.Values.caBundle }}
{{- end }}
{{- end -}}

{{- define "kube-auditor.namespaceSelector" -}}
matchExpressions:
  - key: kubernetes.io/metadata.name
    operator: NotIn
    values:
      {{- toYaml (list .Release.Namespace "kube-system" | uniq | sortAlpha) | nindent 6 }}
{{- end -}}
