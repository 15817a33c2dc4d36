"""Forecourt: the platform a carmaker, its dealers and partners share to serve a driver."""

__version__ = "0.1.0"
