"""reconciler: GitOps for Azure AI Foundry Routines."""

__version__ = "0.1.0"
DISTRIBUTION = "foundry-routines-reconciler"
"""The name on PyPI (``pip install foundry-routines-reconciler``); the command is ``reconciler``."""
REPOSITORY = "foundry-routines/reconciler"
"""The GitHub repository that publishes releases, the action and the schemas."""
