"""The embedded knowledge pack."""
