"""Country data shipped with the generators (see SOURCES.md)."""
