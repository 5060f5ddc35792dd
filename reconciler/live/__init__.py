"""Live state: backends behind one protocol (``local`` SQLite project, ``azure`` SDK client)."""
