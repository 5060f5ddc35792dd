"""reconciler: GitOps for Azure AI Foundry Routines."""

__version__ = "0.1.0"
