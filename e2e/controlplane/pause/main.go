// The pod sandbox ("pause") image of the e2e node: holds the pod's namespaces and does nothing
// until it is told to stop. Static (CGO_ENABLED=0), so its image is this one file.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	// As PID 1 of the sandbox it also reaps any child that ends up with it.
	signal.Ignore(syscall.SIGCHLD)
	<-sigs
}
