"""Pydantic shapes of the sales API, one module per area (inputs forbid unknown fields)."""
