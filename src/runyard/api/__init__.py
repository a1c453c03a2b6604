"""The REST API (``/api/v1``): a FastAPI app over the platform; OpenAPI and docs at ``/api/v1/docs``."""
