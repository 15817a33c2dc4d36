"""Route tables of the areas of the site, merged into the access-control suite's ``ROUTES``.

Each module here defines ``ROUTES: dict[tuple[str, str], Rule]`` for its own operations.
"""

from __future__ import annotations

import importlib
import pkgutil


def more_routes() -> dict:
    merged: dict = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        overlap = set(merged) & set(module.ROUTES)
        assert not overlap, f"{info.name} classifies routes already classified elsewhere: {overlap}"
        merged |= module.ROUTES
    return merged
