{{/* Names, labels and shared values of the jostle chart. */}}

{{- define "jostle.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "jostle.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector labels of one component: include with (list . "agent"). */}}
{{- define "jostle.selectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ $root.Chart.Name }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "jostle.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "jostle.collectorName" -}}
{{- printf "%s-collector" (include "jostle.fullname" .) -}}
{{- end -}}

{{- define "jostle.agentName" -}}
{{- printf "%s-agent" (include "jostle.fullname" .) -}}
{{- end -}}

{{- define "jostle.tokensSecret" -}}
{{- default (printf "%s-tokens" (include "jostle.fullname" .)) .Values.tokens.existingSecret -}}
{{- end -}}

{{/*
A token of the chart's Secret: the value given, else the one already stored (so upgrades keep
tokens), else a new random one. Include with (list . "agent").
*/}}
{{- define "jostle.token" -}}
{{- $root := index . 0 -}}
{{- $scope := index . 1 -}}
{{- $given := index $root.Values.tokens $scope -}}
{{- if $given -}}
{{- $given -}}
{{- else -}}
{{- $existing := lookup "v1" "Secret" $root.Release.Namespace (include "jostle.tokensSecret" $root) -}}
{{- $key := printf "%s-token" $scope -}}
{{- if and $existing (hasKey $existing.data $key) -}}
{{- index $existing.data $key | b64dec -}}
{{- else -}}
{{- randAlphaNum 40 -}}
{{- end -}}
{{- end -}}
{{- end -}}
