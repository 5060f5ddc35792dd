"""The Foundry Routines service contract: limits and rules the service enforces.

Both the manifest validator (client side) and the embedded project / emulator (service side)
use these modules, so a rule is written once and behaves the same everywhere.
"""
