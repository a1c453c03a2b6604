"""Every bound and default of the model servers, in one place."""

from __future__ import annotations

#: Largest model file a deploy accepts (bytes); beyond it the answer is 413.
MAX_MODEL_BYTES = 200 * 1024 * 1024
#: Largest baseline CSV (bytes); beyond it the answer is 413.
MAX_CSV_BYTES = 50 * 1024 * 1024
#: Largest JSON body (predict, config upload) in bytes; beyond it the answer is 413.
MAX_JSON_BYTES = 64 * 1024 * 1024
#: Largest multipart body: a model, a baseline and a few small fields.
MAX_FORM_BYTES = MAX_MODEL_BYTES + MAX_CSV_BYTES + 1024 * 1024
#: Rows one predict call may score.
MAX_ROWS = 100_000
#: Columns one predict call (or a baseline) may have, and the longest column name.
MAX_COLUMNS = 10_000
MAX_COLUMN_NAME = 256
#: Longest model or user name; names use letters, digits, ``_``, ``-`` and ``.`` (not first).
MAX_NAME_LENGTH = 64
#: Highest model version number.
MAX_VERSION = 1_000_000_000
#: Tokens kept at once; issuing more forgets the oldest.
MAX_TOKENS = 10_000
#: Trace entries kept (in memory and in the state folder).
TRACE_KEPT = 10_000
#: Stored predictions kept (``LOGGING_PREDICTION``), each with the values of its first rows and columns.
PREDICTIONS_KEPT = 1_000
PREDICTION_ROWS_KEPT = 100
PREDICTION_COLUMNS_KEPT = 100
#: Drift results kept for the audit page.
DRIFTS_KEPT = 1_000
#: Seconds between two flushes of the trace, stored predictions and drift results to disk.
FLUSH_INTERVAL = 0.5
#: Notifications waiting to be sent; beyond it new ones are dropped (and logged).
NOTIFY_QUEUE = 100
#: Seconds a notification POST may take.
NOTIFY_TIMEOUT = 5.0
#: Rows and columns of a drifted request named in a notification (the platform takes 16 KB of details),
#: the characters kept of each column name, and of the message (the platform takes 4,000).
NOTIFY_ROWS = 100
NOTIFY_COLUMNS = 100
NOTIFY_NAME_LENGTH = 100
NOTIFY_MESSAGE_LENGTH = 4000
#: Default drift threshold (``DRIFT_THRESHOLD``), see ``runyard.maas.drift``.
DRIFT_THRESHOLD = 1.9
#: Seed of the baseline sampling (``drift_window_size``) and of the KSWIN detector.
SEED = 0
#: Predict calls with at most this many rows run on the event loop; bigger ones in a worker thread.
INLINE_ROWS = 256
#: Seconds between two reads of MaaS_DL's model configuration (``--refresh``).
DL_REFRESH = 30.0
