"""Pure planning logic (no I/O): normalize, diff, ownership, safety guards, fingerprints."""
