"""Views: the only code that writes to the terminal (text, JSON, markdown, GitHub annotations)."""
