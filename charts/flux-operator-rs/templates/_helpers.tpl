{{/*
The upstream chart's name, "flux-operator", or nameOverride: object names and the
app.kubernetes.io/name label are those of the upstream chart, so that `helm install
flux-operator` names everything "flux-operator" and selectors written for upstream's
objects (ServiceMonitors, NetworkPolicies, dashboards) match these too.
*/}}
{{- define "flux-operator-rs.name" -}}
{{- default "flux-operator" .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name of the release's objects: fullnameOverride, else the release name when it
already contains the chart name, else "<release>-<chart>"; at most 63 characters.
*/}}
{{- define "flux-operator-rs.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := include "flux-operator-rs.name" . }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
"<chart>-<version>" for the helm.sh/chart label.
*/}}
{{- define "flux-operator-rs.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The operator image tag: image.tag, else (and always for an upstream image) the chart's
appVersion.
*/}}
{{- define "flux-operator-rs.tag" -}}
{{- if include "flux-operator-rs.upstreamImage" . }}
{{- .Chart.AppVersion }}
{{- else }}
{{- .Values.image.tag | default .Chart.AppVersion }}
{{- end }}
{{- end }}

{{/*
Whether image.repository names the upstream operator's image (as upstream's values files
do): that image cannot run this chart's Deployment (other command line, no `run`), so the
chart runs this project's image instead, and says so in NOTES.
*/}}
{{- define "flux-operator-rs.upstreamImage" -}}
{{- if has .Values.image.repository (list "ghcr.io/controlplaneio-fluxcd/flux-operator" "quay.io/fluxoperatordev/flux-operator") }}true{{ end }}
{{- end }}

{{/*
The operator image: image.repository:tag, or this project's image for an upstream one.
*/}}
{{- define "flux-operator-rs.image" -}}
{{- $upstream := eq (include "flux-operator-rs.upstreamImage" .) "true" }}
{{- $repository := ternary "flux-operator-rs" .Values.image.repository $upstream }}
{{- printf "%s:%s" $repository (include "flux-operator-rs.tag" .) }}
{{- end }}

{{/*
Selector labels: stable for the life of a release (a Deployment's selector is immutable).
*/}}
{{- define "flux-operator-rs.selectorLabels" -}}
app.kubernetes.io/name: {{ include "flux-operator-rs.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Labels of every object: commonLabels, then the standard labels, which win on conflict.
*/}}
{{- define "flux-operator-rs.labels" -}}
{{- $labels := dict
  "helm.sh/chart" (include "flux-operator-rs.chart" .)
  "app.kubernetes.io/name" (include "flux-operator-rs.name" .)
  "app.kubernetes.io/instance" .Release.Name
  "app.kubernetes.io/version" (include "flux-operator-rs.tag" . | trunc 63 | trimSuffix "-")
  "app.kubernetes.io/managed-by" .Release.Service
  "app.kubernetes.io/part-of" "flux-operator-rs"
}}
{{- toYaml (merge $labels (.Values.commonLabels | default dict)) }}
{{- end }}

{{/*
The metadata.annotations block of every object (indented for metadata at column 0), or
nothing when there are none.
*/}}
{{- define "flux-operator-rs.annotations" -}}
{{- with .Values.commonAnnotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
{{- end }}
{{- end }}

{{/*
The operator's service account.
*/}}
{{- define "flux-operator-rs.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "flux-operator-rs.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
Non-empty when any value of a map is set (non-empty, true, non-zero): upstream values files
carry empty placeholders that should not count as "set".
*/}}
{{- define "flux-operator-rs.anySet" -}}
{{- range $key, $value := . }}{{ if $value }}{{ $key }}{{ end }}{{ end }}
{{- end }}
