"""Reading Helm's release records, for `kdeploy import helm`."""
