"""The portal's pages, one module per portal of the seeds; :func:`register` declares them all.

Each module of this package declares its routes when imported (``@page``/``@ui.page``).
"""

from __future__ import annotations

import importlib
import pkgutil


def register() -> None:
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
