"""Model as a Service: the MaaS_ML and MaaS_DL model servers a Service Automation instance starts.

Each is a program (``python -m runyard.maas.ml_server`` / ``runyard.maas.dl_server``) serving one
instance's models over HTTP under the instance's ``--base-path``; ``create_app(settings)`` in either
module builds the same application in-process. ``docs/model-serving.md`` holds the wire contract.
"""
