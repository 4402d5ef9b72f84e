{{/*
Chart name, truncated to 63 characters (a Kubernetes label value limit).
*/}}
{{- define "serving-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified app name: the release name, plus the chart name unless the release already contains it.
*/}}
{{- define "serving-operator.fullname" -}}
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

{{- define "serving-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "serving-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "serving-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "serving-operator.labels" -}}
helm.sh/chart: {{ include "serving-operator.chart" . }}
{{ include "serving-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- /*
The name of what this release makes outside its namespace (ClusterRole, ClusterRoleBinding) or
in namespaces other releases may also watch (Roles, RoleBindings): the fullname plus the
release's namespace, so two releases of one name in two namespaces (shards) never collide.
Not truncated to 63: RBAC names may be 253 characters long.
*/ -}}
{{- define "serving-operator.qualifiedName" -}}
{{- printf "%s-%s" (include "serving-operator.fullname" .) .Release.Namespace | trunc 253 | trimSuffix "-" }}
{{- end }}

{{- /*
Every rule the operator needs, as a YAML list: files/clusterrole-rules.yaml, plus
files/peering-rules.yaml with peering.enabled (kopf reads and patches the peering objects only
then). Both files are shipped in the package too, for `serving-operator check`.
*/ -}}
{{- define "serving-operator.rules" -}}
{{- $rules := .Files.Get "files/clusterrole-rules.yaml" | fromYamlArray }}
{{- if .Values.peering.enabled }}
{{- $rules = concat $rules (.Files.Get "files/peering-rules.yaml" | fromYamlArray) }}
{{- end }}
{{- toYaml $rules }}
{{- end }}

{{- define "serving-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "serving-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "serving-operator.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{- /*
What the chart adds to each CRD's metadata (the caller indents it under `metadata:`).
*/ -}}
{{- define "serving-operator.crdMetadata" -}}
labels:
  {{- include "serving-operator.labels" . | nindent 2 }}
annotations:
  # Argo CD never prunes them: pruning a CRD deletes every object of its kind, whose finalizers
  # then delete their AWS resources. helm.sh/resource-policy: keep does not stop Argo CD's
  # pruning (argo-cd#17819); this does. docs/gitops.md.
  argocd.argoproj.io/sync-options: Prune=false
  # Argo CD applies them, and waits until they are Established, before the resources in the
  # default wave 0 that need them (the peering object; custom resources in the same Application).
  argocd.argoproj.io/sync-wave: "-1"
  {{- if .Values.crds.keep }}
  # `helm uninstall` leaves the CRDs, so the custom resources (and their AWS resources) stay.
  # Argo CD (2.8 and later) reads it as Delete=false: deleting the Application leaves them too.
  helm.sh/resource-policy: keep
  {{- end }}
{{- end }}

{{- /*
Is every watchNamespaces entry one exact namespace name? kopf also takes globs ("ml-*"),
negations ("!kube-*") and comma-separated lists; the chart cannot create a Role or a
KopfPeering in a namespace it only knows by a pattern.
*/ -}}
{{- define "serving-operator.patternsIn" -}}
{{- range .Values.watchNamespaces }}
{{- if not (regexMatch "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" .) }}{{ . }} {{ end }}
{{- end }}
{{- end }}

{{- /*
The rules of serving-operator.rules (files/clusterrole-rules.yaml and, with peering,
files/peering-rules.yaml: the single source), split by where they can be
granted. `want: namespaced` keeps the resources a Role can grant (everything but the
cluster-scoped ones); `want: clusterReads` keeps what a namespaced install still needs
cluster-wide: reading CRDs, which the operator checks at start and kopf watches to notice
upgrades. Namespaces are left out on purpose: with exact names kopf needs not list them.
*/ -}}
{{- define "serving-operator.rulesFor" -}}
{{- $clusterScoped := list "customresourcedefinitions" "namespaces" "clusterkopfpeerings" }}
{{- $want := .want }}
{{- $rules := list }}
{{- range (include "serving-operator.rules" .root | fromYamlArray) }}
{{- $resources := list }}
{{- range .resources }}
{{- if eq $want "namespaced" }}
{{- if not (has . $clusterScoped) }}{{ $resources = append $resources . }}{{ end }}
{{- else if eq . "customresourcedefinitions" }}
{{- $resources = append $resources . }}
{{- end }}
{{- end }}
{{- if $resources }}
{{- $rules = append $rules (dict "apiGroups" .apiGroups "resources" $resources "verbs" .verbs) }}
{{- end }}
{{- end }}
{{- toYaml $rules }}
{{- end }}

{{- /*
aws.rateLimits as SERVING_OPERATOR_AWS_RATE_LIMITS reads it: service=perSecond/burst,...
*/ -}}
{{- define "serving-operator.rateLimits" -}}
{{- $parts := list }}
{{- range $service, $rate := .Values.aws.rateLimits }}
{{- $parts = append $parts (printf "%s=%v/%v" $service $rate.perSecond $rate.burst) }}
{{- end }}
{{- join "," $parts }}
{{- end }}
