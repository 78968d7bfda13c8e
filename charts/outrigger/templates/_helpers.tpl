{{/*
The chart's name, or nameOverride.
*/}}
{{- define "outrigger.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The base name of every resource: fullnameOverride, else the release name (with the chart
name appended unless the release name already contains it). Names are DNS labels, so they are
cut at 63 characters; the hub's and injector's names leave room for their suffix.
*/}}
{{- define "outrigger.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 54 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 54 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 54 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "outrigger.hub.fullname" -}}
{{- printf "%s-hub" (include "outrigger.fullname" .) -}}
{{- end -}}

{{- define "outrigger.injector.fullname" -}}
{{- printf "%s-injector" (include "outrigger.fullname" .) -}}
{{- end -}}

{{/*
Cluster-scoped objects carry the release namespace in their name, so releases of the same
name in two namespaces do not collide.
*/}}
{{- define "outrigger.hub.clusterName" -}}
{{- printf "%s-%s" (include "outrigger.hub.fullname" .) .Release.Namespace -}}
{{- end -}}

{{- define "outrigger.injector.clusterName" -}}
{{- printf "%s-%s" (include "outrigger.injector.fullname" .) .Release.Namespace -}}
{{- end -}}

{{- define "outrigger.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Labels on every object.
*/}}
{{- define "outrigger.labels" -}}
helm.sh/chart: {{ include "outrigger.chart" . }}
app.kubernetes.io/name: {{ include "outrigger.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: outrigger
{{- end -}}

{{- define "outrigger.hub.selectorLabels" -}}
app.kubernetes.io/name: {{ include "outrigger.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: hub
{{- end -}}

{{- define "outrigger.hub.labels" -}}
{{ include "outrigger.labels" . }}
app.kubernetes.io/component: hub
{{- end -}}

{{- define "outrigger.injector.selectorLabels" -}}
app.kubernetes.io/name: {{ include "outrigger.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: injector
{{- end -}}

{{- define "outrigger.injector.labels" -}}
{{ include "outrigger.labels" . }}
app.kubernetes.io/component: injector
{{- end -}}

{{/*
The Outrigger image: repository:tag, the tag defaulting to the chart's appVersion.
*/}}
{{- define "outrigger.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{- define "outrigger.hub.serviceAccountName" -}}
{{- if .Values.hub.serviceAccount.create -}}
{{- default (include "outrigger.hub.fullname" .) .Values.hub.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.hub.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
The hub's gRPC address as injected sidecars dial it.
*/}}
{{- define "outrigger.hub.grpcAddress" -}}
{{- printf "%s.%s.svc:%v" (include "outrigger.hub.fullname" .) .Release.Namespace .Values.hub.config.grpc_port -}}
{{- end -}}

{{- define "outrigger.injector.tlsSecretName" -}}
{{- printf "%s-tls" (include "outrigger.injector.fullname" .) -}}
{{- end -}}

{{/*
The injector's CA and serving certificate, computed once per render and kept in the root
context (shared by every template of the chart) under "outriggerInjectorTLS", so the Secret,
the webhook's caBundle and the Deployment's checksum all see the same certificate.

On install and upgrade, `lookup` finds the Secret of an earlier release and its certificate is
reused, so the caBundle stays in step with the Secret the injector serves. Where lookup has no
cluster to ask (`helm template`, `--dry-run` without `=server`), a new CA and certificate are
generated on every render.

Values are base64 (as Secret data and caBundle want them): ca, crt, key.
*/}}
{{- define "outrigger.injector.tls" -}}
{{- if not (hasKey . "outriggerInjectorTLS") -}}
{{- $secret := lookup "v1" "Secret" .Release.Namespace (include "outrigger.injector.tlsSecretName" .) -}}
{{- $data := dict -}}
{{- if $secret -}}
{{- $data = $secret.data | default dict -}}
{{- end -}}
{{- $tls := dict -}}
{{- if and (hasKey $data "ca.crt") (hasKey $data "tls.crt") (hasKey $data "tls.key") -}}
{{- $_ := set $tls "ca" (index $data "ca.crt") -}}
{{- $_ := set $tls "crt" (index $data "tls.crt") -}}
{{- $_ := set $tls "key" (index $data "tls.key") -}}
{{- else -}}
{{- $svc := include "outrigger.injector.fullname" . -}}
{{- $cn := printf "%s.%s.svc" $svc .Release.Namespace -}}
{{- $days := int .Values.injector.tls.validityDays -}}
{{- $ca := genCA (printf "%s-ca" $svc) $days -}}
{{- $sans := list $cn $svc (printf "%s.%s" $svc .Release.Namespace) -}}
{{- $cert := genSignedCert $cn nil $sans $days $ca -}}
{{- $_ := set $tls "ca" ($ca.Cert | b64enc) -}}
{{- $_ := set $tls "crt" ($cert.Cert | b64enc) -}}
{{- $_ := set $tls "key" ($cert.Key | b64enc) -}}
{{- end -}}
{{- $_ := set . "outriggerInjectorTLS" $tls -}}
{{- end -}}
{{- end -}}

{{/*
Read access to what the hub's Kubernetes source lists and watches.
*/}}
{{- define "outrigger.hub.rbacRules" -}}
- apiGroups: [""]
  resources: ["services"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["discovery.k8s.io"]
  resources: ["endpointslices"]
  verbs: ["get", "list", "watch"]
{{- end -}}
