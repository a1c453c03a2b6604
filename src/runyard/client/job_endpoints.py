"""A job's external endpoints (links its page shows) and the service instances attached to it."""

from __future__ import annotations

import httpx

from runyard.client.documents import AttachedService, JobEndpoint, JobEndpoints
from runyard.client.transport import Call, json_body, operation


class JobEndpointsApi:
    @operation
    def get_job_endpoints(self, job_id: int) -> Call[JobEndpoints]:
        """The job's links and the service instances attached to it."""
        return Call("GET", f"/jobs/{int(job_id)}/endpoints", json_body)

    @operation
    def add_job_endpoint(
        self, job_id: int, name: str, url: str, icon: str | None = None
    ) -> Call[JobEndpoint]:
        """Add (or replace the one of that name) an http(s) link; ``icon``: http(s) URL or server path."""
        body = {"name": name, "url": url, "icon": icon}
        return Call("POST", f"/jobs/{int(job_id)}/endpoints", json_body, json=body)

    @operation
    def remove_job_endpoint(self, job_id: int, name: str) -> Call[bool]:
        """Whether the job had an endpoint of that name."""
        return Call("DELETE", f"/jobs/{int(job_id)}/endpoints", _removed, params={"name": name})

    @operation
    def attach_service(
        self, job_id: int, instance_id: int, with_endpoints: bool = True
    ) -> Call[AttachedService]:
        """Attach one of your service instances to one of your jobs."""
        body = {"instance_id": int(instance_id), "with_endpoints": bool(with_endpoints)}
        return Call("POST", f"/jobs/{int(job_id)}/services", json_body, json=body)

    @operation
    def detach_service(self, job_id: int, instance_id: int) -> Call[bool]:
        """Whether the instance was attached to the job."""
        return Call("DELETE", f"/jobs/{int(job_id)}/services/{int(instance_id)}", _removed)


def _removed(response: httpx.Response) -> bool:
    return bool(response.json()["removed"])
