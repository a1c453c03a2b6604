/*
 * A PSA service instance as the server answers it; what scripts change (status, variables, groups, added
 * deployments) goes back with ServiceInstanceRestApi.updateServiceInstance.
 */
package org.ow2.proactive.pca.service.client.model;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.ow2.proactive.pca.service.client.JSON;

public class ServiceInstanceData {
    private Long instanceId;
    private String serviceId;
    private String bucketName;
    private String userName;
    private String instanceStatus;
    private Map<String, String> variables = new LinkedHashMap<>();
    private List<String> groups = new ArrayList<>();
    private List<Deployment> deployments = new ArrayList<>();
    private List<JobSubmission> jobSubmissions = new ArrayList<>();
    private Map<String, String> instanceEndpoints = new LinkedHashMap<>();

    public Long getInstanceId() { return instanceId; }
    public String getServiceId() { return serviceId; }
    public String getBucketName() { return bucketName; }
    public String getUserName() { return userName; }
    public String getInstanceStatus() { return instanceStatus; }
    public void setInstanceStatus(String instanceStatus) { this.instanceStatus = instanceStatus; }
    public Map<String, String> getVariables() { return variables; }
    public void setVariables(Map<String, String> variables) { this.variables = new LinkedHashMap<>(variables); }
    public List<String> getGroups() { return groups; }
    public List<Deployment> getDeployments() { return deployments; }
    public List<JobSubmission> getJobSubmissions() { return jobSubmissions; }
    public Map<String, String> getInstanceEndpoints() { return instanceEndpoints; }

    public ServiceInstanceData addGroupsItem(String group) {
        groups.add(group);
        return this;
    }

    public ServiceInstanceData addDeploymentsItem(Deployment deployment) {
        deployments.add(deployment);
        return this;
    }

    public ServiceInstanceData putVariablesItem(String name, String value) {
        variables.put(name, value);
        return this;
    }

    public static ServiceInstanceData fromJson(Map<?, ?> json) {
        ServiceInstanceData data = new ServiceInstanceData();
        data.instanceId = JSON.number(json, "instance_id");
        data.serviceId = JSON.string(json, "service_id");
        data.bucketName = JSON.string(json, "bucket_name");
        data.userName = JSON.string(json, "user_name");
        data.instanceStatus = JSON.string(json, "instance_status");
        data.variables = JSON.strings(json.get("variables"));
        data.groups = new ArrayList<>();
        if (json.get("groups") instanceof List) {
            ((List<?>) json.get("groups")).forEach(group -> data.groups.add(String.valueOf(group)));
        }
        data.deployments = JSON.list(json.get("deployments"), Deployment::fromJson);
        data.jobSubmissions = JSON.list(json.get("job_submissions"), JobSubmission::fromJson);
        data.instanceEndpoints = JSON.strings(json.get("instance_endpoints"));
        return data;
    }

    /** What an update sends: the fields a workflow may change. */
    public Map<String, Object> toJson() {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("instance_id", instanceId);
        json.put("service_id", serviceId);
        json.put("instance_status", instanceStatus);
        json.put("variables", variables);
        json.put("groups", groups);
        List<Map<String, Object>> sent = new ArrayList<>();
        deployments.forEach(deployment -> sent.add(deployment.toJson()));
        json.put("deployments", sent);
        return json;
    }

    @Override
    public String toString() { return "ServiceInstanceData" + toJson(); }
}
