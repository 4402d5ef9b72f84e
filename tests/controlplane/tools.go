//go:build tools

// Package controlplane pins the Kubernetes and etcd commands the tests run.
// `make controlplane` builds them with `go build` from this module.
package controlplane

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
