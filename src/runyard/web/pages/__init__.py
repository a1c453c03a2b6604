"""The portal's pages, one module per portal of the seeds; :func:`register` declares them all."""

from __future__ import annotations

import importlib

#: The modules declaring pages (each declares its routes when imported).
MODULES = ("login", "home", "resources")


def register() -> None:
    for name in MODULES:
        importlib.import_module(f"{__name__}.{name}")
