/* What starts a PSA service or runs an action: a catalog workflow and the variables to submit it with. */
package org.ow2.proactive.pca.service.client.model;

import java.util.LinkedHashMap;
import java.util.Map;

public class ServiceDescription {
    private String bucketName;
    private String workflowName;
    private Map<String, String> variables = new LinkedHashMap<>();

    public String getBucketName() { return bucketName; }
    public void setBucketName(String bucketName) { this.bucketName = bucketName; }
    public String getWorkflowName() { return workflowName; }
    public void setWorkflowName(String workflowName) { this.workflowName = workflowName; }
    public Map<String, String> getVariables() { return variables; }
    public void setVariables(Map<String, String> variables) { this.variables = new LinkedHashMap<>(variables); }

    public ServiceDescription putVariablesItem(String name, String value) {
        variables.put(name, value);
        return this;
    }

    public Map<String, Object> toJson() {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("bucket_name", bucketName);
        json.put("workflow_name", workflowName);
        json.put("variables", variables);
        return json;
    }

    @Override
    public String toString() { return "ServiceDescription" + toJson(); }
}
