"""Connected vehicles: decoders, ingest, signal store, twin."""
