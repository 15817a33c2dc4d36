"""Loaded by every Python process of a test that puts this folder on PYTHONPATH (spawned children too).

With ``FORECOURT_TEST_DIE_AFTER_COMMIT`` naming a marker file, the first process that commits an SOS
or a crash SIGKILLs itself right after the commit, before any handler of the event has run — the
moment where an in-memory handler used to lose the case. The marker makes it happen once.
"""

import os

_MARKER = os.environ.get("FORECOURT_TEST_DIE_AFTER_COMMIT")

if _MARKER:
    import signal

    from forecourt.core import events
    from forecourt.telematics.ingest import VehicleSignalled

    def _die(event) -> None:
        if event.kind in ("sos", "crash") and not os.path.exists(_MARKER):
            with open(_MARKER, "w") as marker:
                marker.write(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)

    events.bus.subscribe(VehicleSignalled, _die)  # notices run before the durable fast lane
