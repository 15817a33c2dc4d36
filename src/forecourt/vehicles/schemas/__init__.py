"""Pydantic shapes of the vehicles API, one module per area (inputs forbid unknown fields)."""
