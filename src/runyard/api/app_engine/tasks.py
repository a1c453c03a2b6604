"""``/app-engine/v1/tasks…``: task bundles uploaded, listed, read and deleted."""

from __future__ import annotations

from runyard.api.app_engine.common import app_engine_router

router = app_engine_router(tags=["app engine"])
