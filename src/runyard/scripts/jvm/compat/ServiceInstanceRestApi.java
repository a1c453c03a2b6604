/* PSA's service instances, as the generated Java client calls them (`/serviceInstances`). */
package org.ow2.proactive.pca.service.client.api;

import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.ow2.proactive.pca.service.client.ApiClient;
import org.ow2.proactive.pca.service.client.ApiException;
import org.ow2.proactive.pca.service.client.JSON;
import org.ow2.proactive.pca.service.client.model.ServiceDescription;
import org.ow2.proactive.pca.service.client.model.ServiceInstanceData;

public class ServiceInstanceRestApi {
    private static final String PATH = "/serviceInstances";
    private final ApiClient client;

    public ServiceInstanceRestApi(ApiClient client) {
        this.client = client;
    }

    public ApiClient getApiClient() {
        return client;
    }

    /** Every instance you may see; `active` (when true) keeps those neither FINISHED nor KILLED. */
    public List<ServiceInstanceData> getServiceInstances(String sessionId, Boolean active) throws ApiException {
        String path = Boolean.TRUE.equals(active) ? PATH + "/active" : PATH;
        return JSON.list(client.invoke("GET", path, null, sessionId, null), ServiceInstanceData::fromJson);
    }

    public ServiceInstanceData getServiceInstance(String sessionId, Long instanceId) throws ApiException {
        return read(client.invoke("GET", PATH + "/" + instanceId, null, sessionId, null));
    }

    /** Record the status, variables, groups and the deployments added since it was read. */
    public ServiceInstanceData updateServiceInstance(String sessionId, Long instanceId, ServiceInstanceData data)
            throws ApiException {
        return read(client.invoke("PUT", PATH + "/" + instanceId, null, sessionId, data.toJson()));
    }

    /** Start the service whose activation workflow `service` names; recorded under `jobId` (your job). */
    public ServiceInstanceData createRunningServiceInstance(String sessionId, ServiceDescription service,
            Integer jobId) throws ApiException {
        return read(client.invoke("POST", PATH, jobQuery(jobId), sessionId, service.toJson()));
    }

    public ServiceInstanceData launchServiceInstanceAction(String sessionId, Long instanceId,
            ServiceDescription action, Integer jobId) throws ApiException {
        return read(client.invoke("PUT", PATH + "/" + instanceId + "/action", jobQuery(jobId), sessionId,
                action.toJson()));
    }

    private static Map<String, Object> jobQuery(Integer jobId) {
        return jobId == null ? null : Collections.singletonMap("jobId", jobId);
    }

    private static ServiceInstanceData read(Object json) {
        return ServiceInstanceData.fromJson(JSON.object(json));
    }
}
