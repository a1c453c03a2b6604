/* PSA's service catalog: the services' workflows, by service id and by instance. */
package org.ow2.proactive.pca.service.client.api;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.ow2.proactive.pca.service.client.ApiClient;
import org.ow2.proactive.pca.service.client.ApiException;
import org.ow2.proactive.pca.service.client.JSON;
import org.ow2.proactive.pca.service.client.model.CloudAutomationWorkflow;

public class CatalogRestApi {
    private final ApiClient client;

    public CatalogRestApi(ApiClient client) {
        this.client = client;
    }

    /** Service id → all its workflows. */
    public Map<String, List<CloudAutomationWorkflow>> listAllWorkflowsByServiceId(String sessionId)
            throws ApiException {
        return byServiceId(workflows(sessionId, null, null));
    }

    /** Service id → its activation workflows. */
    public Map<String, List<CloudAutomationWorkflow>> listStartingWorkflowsByServiceId(String sessionId)
            throws ApiException {
        return byServiceId(workflows(sessionId, null, true));
    }

    /** The activation workflows of the service `serviceId`. */
    public List<CloudAutomationWorkflow> getWorkflowsByServiceId(String sessionId, String serviceId)
            throws ApiException {
        return workflows(sessionId, serviceId, true);
    }

    /** The service workflow `bucketName/name`, or null. */
    public CloudAutomationWorkflow getWorkflowByCatalogObject(String sessionId, String bucketName, String name)
            throws ApiException {
        return find(workflows(sessionId, null, null), bucketName, name);
    }

    /** Instance id (as text) → the actions it allows now. */
    public Map<String, List<CloudAutomationWorkflow>> listExecutableActionsByInstanceId(String sessionId,
            Long instanceId) throws ApiException {
        Object json = client.invoke("GET", "/serviceInstances/" + instanceId + "/actions", null, sessionId, null);
        return Collections.singletonMap(String.valueOf(instanceId), JSON.list(json, CloudAutomationWorkflow::fromJson));
    }

    /** The action `bucketName/name` if the instance allows it now, else null. */
    public CloudAutomationWorkflow getExecutableActionByCatalogObject(String sessionId, Long instanceId,
            String bucketName, String name) throws ApiException {
        return find(listExecutableActionsByInstanceId(sessionId, instanceId).get(String.valueOf(instanceId)),
                bucketName, name);
    }

    private List<CloudAutomationWorkflow> workflows(String sessionId, String serviceId, Boolean activation)
            throws ApiException {
        Map<String, Object> query = new LinkedHashMap<>();
        query.put("serviceId", serviceId);
        query.put("activation", activation);
        return JSON.list(client.invoke("GET", "/catalog", query, sessionId, null), CloudAutomationWorkflow::fromJson);
    }

    private static Map<String, List<CloudAutomationWorkflow>> byServiceId(List<CloudAutomationWorkflow> workflows) {
        Map<String, List<CloudAutomationWorkflow>> grouped = new LinkedHashMap<>();
        for (CloudAutomationWorkflow workflow : workflows) {
            String serviceId = workflow.getGenericInformation().getServiceId();
            grouped.computeIfAbsent(serviceId, id -> new java.util.ArrayList<>()).add(workflow);
        }
        return grouped;
    }

    private static CloudAutomationWorkflow find(List<CloudAutomationWorkflow> workflows, String bucket, String name) {
        for (CloudAutomationWorkflow workflow : workflows) {
            if (workflow.getBucket().equals(bucket) && workflow.getName().equals(name)) {
                return workflow;
            }
        }
        return null;
    }
}
