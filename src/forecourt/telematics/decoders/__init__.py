"""Decoders turn bytes or parameters from one protocol into ``Reading``s, or raise ``DecodeError``."""
