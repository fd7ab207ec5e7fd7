// Command etcd is upstream's etcd server entry point (etcdmain), built from the
// go.etcd.io/etcd/server/v3 version that the pinned k8s.io/kubernetes requires.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
