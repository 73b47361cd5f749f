{{/*
The chart name, or nameOverride.
*/}}
{{- define "flux-operator-rs.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name of the release's objects: fullnameOverride, else the release name when it
already contains the chart name, else "<release>-<chart>"; at most 63 characters.
*/}}
{{- define "flux-operator-rs.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
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
The operator image tag: image.tag, else the chart's appVersion.
*/}}
{{- define "flux-operator-rs.tag" -}}
{{- .Values.image.tag | default .Chart.AppVersion }}
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
