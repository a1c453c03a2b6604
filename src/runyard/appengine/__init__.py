"""The App Engine: Cytomine-compatible task bundles and task runs, on runyard's nodes.

A *task* is a container image plus a descriptor (``descriptor.yml``) declaring typed inputs and
outputs; a *run* of it gets its inputs provisioned (each validated against its type), is executed as
a runyard job of one containerised task, and has its outputs read back and validated. The REST API
is Cytomine's (``/app-engine/v1/…``, :mod:`runyard.api.app_engine`), behind runyard's authentication.

Modules: :mod:`~runyard.appengine.errors` (Cytomine's error envelope), :mod:`~runyard.appengine.storage`
(where files live). See docs/app-engine.md.
"""
