"""An in-memory Kubernetes API server for tests, demos and CI without a cluster."""
