"""The names of the output formats (a module of its own: option definitions need the names,
not the views)."""

FORMATS = ("text", "json", "markdown", "github")
