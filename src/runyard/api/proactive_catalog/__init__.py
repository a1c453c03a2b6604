"""ProActive's catalog REST (``/catalog``) and Service Automation REST (``/cloud-automation-service``) over
runyard's catalog and services code: ProActive's paths, parameters and JSON shapes, no behaviour of their own.

Errors answer in ProActive's JSON (:mod:`runyard.api.proactive.common`); the routes are kept out of the
native OpenAPI document (``docs/proactive-catalog-rest.md`` describes them).
"""

from fastapi import FastAPI

from runyard.api.proactive_catalog import buckets, endpoints, instances, resources, revisions, service_catalog

CATALOG = "/catalog"
SERVICE_AUTOMATION = "/cloud-automation-service"


def include(app: FastAPI) -> None:
    """Add the routes to ``app`` under their prefixes."""
    for module in (buckets, resources, revisions):
        app.include_router(module.router, prefix=CATALOG)
    for module in (instances, service_catalog, endpoints):
        app.include_router(module.router, prefix=SERVICE_AUTOMATION)


__all__ = ["CATALOG", "SERVICE_AUTOMATION", "include"]
