"""``python -m bench``: see ``bench.runner``."""

from bench.runner import main

# Guarded: the telemetry benchmark starts helper processes with "spawn", which re-imports this
# module as ``__mp_main__``; unguarded, each helper would start the whole benchmark again.
if __name__ == "__main__":
    raise SystemExit(main())
