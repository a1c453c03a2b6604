"""Drift notifications sent to the platform by a background thread: POSTed to ``RUNYARD_NOTIFY_URL``
with the instance's notification token, or, for a server in a container (which reaches nothing of the
host's loopback), appended as JSON lines to ``RUNYARD_NOTIFY_FILE``, which the service's health check
posts for it (:func:`runyard.services.model_serving.relay_notifications`).

A prediction only puts the notification in a bounded queue; when the queue is full the notification
is dropped and logged, so a slow or absent platform never slows or fails a prediction.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from pathlib import Path
from typing import Any

import httpx

from runyard.maas.defaults import NOTIFY_QUEUE, NOTIFY_TIMEOUT
from runyard.tls import verification

log = logging.getLogger(__name__)
_STOP: dict[str, Any] = {}


class Notifier:
    """Sends each notification given to :meth:`send` to ``url`` with ``Bearer token``, or to ``file``."""

    def __init__(self, url: str | None, token: str | None, file: Path | None = None) -> None:
        self._url = url
        self._file = file
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
        verify = verification(self._url or "")
        with httpx.Client(timeout=NOTIFY_TIMEOUT, headers=self._headers, verify=verify) as client:
            while (notification := self._queue.get()) is not _STOP:
                try:
                    if self._file is not None:
                        with self._file.open("a", encoding="utf-8") as lines:
                            lines.write(json.dumps(notification) + "\n")
                    elif self._url is not None:
                        client.post(self._url, json=notification).raise_for_status()
                except (httpx.HTTPError, OSError) as error:
                    log.warning("notification not delivered to %s: %s", self._file or self._url, error)
