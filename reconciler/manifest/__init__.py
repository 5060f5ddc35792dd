"""Desired state: YAML manifests, their schema, and the service rules applied offline."""
