"""The commands, as functions that return result objects: the CLI parses their options,
calls them, and renders what they return (report.py) as text or JSON."""
