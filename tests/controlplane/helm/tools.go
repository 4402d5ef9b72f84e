//go:build tools

// Package helm pins the helm command the chart tests run (`make controlplane` builds it).
// It is its own module: helm brings its own k8s.io versions.
package helm

import (
	_ "helm.sh/helm/v3/cmd/helm"
)
