"""COVESA Vehicle Signal Specification: the catalogue of signal paths every reading is checked against."""

from forecourt.telematics.vss.catalogue import Signal, catalogue, check

__all__ = ["Signal", "catalogue", "check"]
