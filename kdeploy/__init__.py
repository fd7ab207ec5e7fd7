"""kdeploy: declarative Kubernetes deployments."""

__version__ = "0.1.0"
