"""A fleet simulator that speaks the platform's own device protocols, so the demo has live cars and
the ingest paths (MQTT, HTTP, OsmAnd, Teltonika) can be exercised end to end without hardware."""
