"""Drift notifications POSTed to the platform (``RUNYARD_NOTIFY_URL``) by a background thread.

A prediction only puts the notification in a bounded queue; when the queue is full the notification
is dropped and logged, so a slow or absent platform never slows or fails a prediction.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Any

import httpx

from runyard.maas.defaults import NOTIFY_QUEUE, NOTIFY_TIMEOUT

log = logging.getLogger(__name__)
_STOP: dict[str, Any] = {}


class Notifier:
    """Sends each notification given to :meth:`send` to ``url`` with ``Bearer token``."""

    def __init__(self, url: str, token: str | None) -> None:
        self._url = url
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._queue: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=NOTIFY_QUEUE)
        self._thread = threading.Thread(target=self._run, name="maas-notifier", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Send what is queued (each within the timeout), then stop."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()

    def send(self, notification: dict[str, Any]) -> None:
        try:
            self._queue.put_nowait(notification)
        except queue.Full:
            log.warning("notification dropped (%d waiting): %s", NOTIFY_QUEUE, notification.get("title"))

    def _run(self) -> None:
        with httpx.Client(timeout=NOTIFY_TIMEOUT, headers=self._headers) as client:
            while (notification := self._queue.get()) is not _STOP:
                try:
                    client.post(self._url, json=notification).raise_for_status()
                except httpx.HTTPError as error:
                    log.warning("notification not delivered to %s: %s", self._url, error)
