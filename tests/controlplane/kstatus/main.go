// kstatus prints how sigs.k8s.io/cli-utils' kstatus reads each object given as JSON on
// stdin (one object per line): the status Flux and kubectl-wait-style tools compute.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

func main() {
	scanner := bufio.NewScanner(os.Stdin)
	scanner.Buffer(make([]byte, 1<<20), 1<<24)
	for scanner.Scan() {
		// Unstructured's own decoder keeps integers int64, as the apiserver's client does.
		object := &unstructured.Unstructured{}
		if err := object.UnmarshalJSON(scanner.Bytes()); err != nil {
			fmt.Fprintln(os.Stderr, "kstatus: not a Kubernetes object:", err)
			os.Exit(2)
		}
		result, err := status.Compute(object)
		if err != nil {
			fmt.Fprintln(os.Stderr, "kstatus:", err)
			os.Exit(1)
		}
		line, _ := json.Marshal(map[string]string{"status": result.Status.String(), "message": result.Message})
		fmt.Println(string(line))
	}
}
