"""ProActive's REST API (``/rest/scheduler``, ``/rest/common``, ``/rest/rm``, ``/rest/data``) over runyard's
application code: ProActive's paths, parameters and JSON shapes, no behaviour of its own."""
