"""Pydantic shapes of the On Call API, one module per area (inputs forbid unknown fields)."""
