{{/* Names. */}}
{{- define "scopekeeper.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "scopekeeper.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "scopekeeper.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "scopekeeper.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: scopekeeper
{{- end -}}

{{- define "scopekeeper.selectorLabels" -}}
app.kubernetes.io/name: {{ include "scopekeeper.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end -}}

{{- define "scopekeeper.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "scopekeeper.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "scopekeeper.image" -}}
{{- $repo := .repository -}}
{{- if .digest -}}
{{- printf "%s@%s" $repo .digest -}}
{{- else -}}
{{- printf "%s:%s" $repo .tag -}}
{{- end -}}
{{- end -}}

{{- define "scopekeeper.operatorImage" -}}
{{- include "scopekeeper.image" (dict "repository" .Values.image.repository "tag" (default .Chart.AppVersion .Values.image.tag) "digest" .Values.image.digest) -}}
{{- end -}}

{{- define "scopekeeper.sidecarImage" -}}
{{- if .Values.sidecar.image.repository -}}
{{- include "scopekeeper.image" (dict "repository" .Values.sidecar.image.repository "tag" (default .Chart.AppVersion .Values.sidecar.image.tag) "digest" "") -}}
{{- else -}}
{{- include "scopekeeper.operatorImage" . -}}
{{- end -}}
{{- end -}}

{{- define "scopekeeper.webhookService" -}}
{{- include "scopekeeper.fullname" . -}}
{{- end -}}

{{- define "scopekeeper.certSecret" -}}
{{- printf "%s-webhook-cert" (include "scopekeeper.fullname" .) -}}
{{- end -}}

{{- define "scopekeeper.certificate" -}}
{{- printf "%s-webhook" (include "scopekeeper.fullname" .) -}}
{{- end -}}

{{/* Namespaces that are never injected or enforced. */}}
{{- define "scopekeeper.excludedNamespaces" -}}
{{- $list := concat (list "kube-system" .Release.Namespace) .Values.webhook.excludeNamespaces | uniq -}}
{{- toJson $list -}}
{{- end -}}

{{/* The objectSelector of the injection webhooks (see values.yaml webhook.injection.selector). */}}
{{- define "scopekeeper.injectObjectSelector" -}}
{{- if eq .Values.webhook.injection.selector "label" -}}
matchLabels:
  scopekeeper.dev/inject: "true"
{{- else -}}
matchExpressions:
  - key: scopekeeper.dev/inject
    operator: NotIn
    values: ["false"]
{{- end -}}
{{- end -}}

{{/* What /validate-pod is sent: pod creation and updates, ephemeral containers, resizes. */}}
{{- define "scopekeeper.podValidationRules" -}}
- apiGroups: [""]
  apiVersions: ["v1"]
  operations: ["CREATE", "UPDATE"]
  resources: ["pods"]
  scope: Namespaced
- apiGroups: [""]
  apiVersions: ["v1"]
  operations: ["UPDATE"]
  resources: ["pods/ephemeralcontainers", "pods/resize"]
  scope: Namespaced
{{- end -}}

{{/* clientConfig for a webhook path. */}}
{{- define "scopekeeper.clientConfig" -}}
service:
  name: {{ include "scopekeeper.webhookService" .root }}
  namespace: {{ .root.Release.Namespace }}
  path: {{ .path }}
  port: 443
{{- end -}}

{{/* The injection settings the operator hands to the webhook (InjectionConfig). */}}
{{- define "scopekeeper.injectionConfig" -}}
{{- $c := dict "image" (include "scopekeeper.sidecarImage" .) "issuers" .Values.sidecar.issuers "upstreamKeySecret" .Values.sidecar.upstreamKeySecret "audit" .Values.sidecar.audit "nativeSidecar" .Values.sidecar.nativeSidecar "resources" .Values.sidecar.resources -}}
{{- with (default .Values.image.pullPolicy .Values.sidecar.image.pullPolicy) }}{{ $_ := set $c "imagePullPolicy" . }}{{ end -}}
{{- with .Values.sidecar.issuerCAFile }}{{ $_ := set $c "issuerCAFile" . }}{{ end -}}
{{- with .Values.sidecar.serviceAccountIssuer }}{{ $_ := set $c "serviceAccountIssuer" . }}{{ end -}}
{{- with .Values.sidecar.groupsClaim }}{{ $_ := set $c "groupsClaim" . }}{{ end -}}
{{- with .Values.sidecar.saml }}{{ if .idpMetadata -}}
{{- $s := dict "idpMetadata" .idpMetadata -}}
{{- with .audience }}{{ $_ := set $s "audience" . }}{{ end -}}
{{- with .groupsAttribute }}{{ $_ := set $s "groupsAttribute" . }}{{ end -}}
{{- $_ := set $c "saml" $s -}}
{{- end }}{{ end -}}
{{- with .Values.sidecar.upstream }}{{ $_ := set $c "upstream" . }}{{ end -}}
{{- with .Values.sidecar.protectedHostPaths }}{{ $_ := set $c "protectedHostPaths" . }}{{ end -}}
{{- with .Values.sidecar.allowedHostPaths }}{{ $_ := set $c "allowedHostPaths" . }}{{ end -}}
{{- toPrettyJson $c -}}
{{- end -}}
