"""The application layer: the steps plan, apply, drift and export share, between the commands
(``cli/``, which parse flags and pick a view) and the layers that do the work (``manifest/``,
``plan/``, ``live/``, ``apply.py``). It returns plans and results and reports through a
``views.base.View``; it never writes to the terminal itself.

``engine``: load the manifests and plan against a backend. ``planning``: the same with the
command's header, diagnostics, time limit and stack lock, and mapping a service error's field
back to its manifest line.
"""
