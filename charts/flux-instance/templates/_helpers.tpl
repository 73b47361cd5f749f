{{/*
The chart name, or nameOverride.
*/}}
{{- define "flux-instance.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The prefix of the hook's objects: fullnameOverride (upstream's default is "flux"), else
"<release>-<name>", or the release name when it already contains the name.
*/}}
{{- define "flux-instance.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := include "flux-instance.name" . }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
"<chart>-<version>" for the helm.sh/chart label.
*/}}
{{- define "flux-instance.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels of the FluxInstance: commonLabels, then the standard labels, which win on conflict.
*/}}
{{- define "flux-instance.labels" -}}
{{- $labels := dict
  "helm.sh/chart" (include "flux-instance.chart" .)
  "app.kubernetes.io/name" (include "flux-instance.name" .)
  "app.kubernetes.io/instance" .Release.Name
  "app.kubernetes.io/version" (.Chart.AppVersion | trunc 63 | trimSuffix "-")
  "app.kubernetes.io/managed-by" .Release.Service
}}
{{- toYaml (merge $labels (.Values.commonLabels | default dict)) }}
{{- end }}

{{/*
A map without its unset entries: empty strings, lists and maps and nulls are dropped,
booleans and numbers are kept (false is a value). Returns YAML; "{}" when nothing is left.
*/}}
{{- define "flux-instance.compact" -}}
{{- $out := dict }}
{{- range $key, $value := . }}
{{- if or (kindIs "bool" $value) (kindIs "float64" $value) (kindIs "int64" $value) (kindIs "int" $value) $value }}
{{- $_ := set $out $key $value }}
{{- end }}
{{- end }}
{{- toYaml $out }}
{{- end }}
