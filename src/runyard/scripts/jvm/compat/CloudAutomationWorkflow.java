/* A service's workflow (activation or action) as PSA's catalog lists it. */
package org.ow2.proactive.pca.service.client.model;

import java.util.List;
import java.util.Map;
import org.ow2.proactive.pca.service.client.JSON;
import org.ow2.proactive.scheduler.common.job.JobVariable;

public class CloudAutomationWorkflow {
    private String bucket;
    private String name;
    private String description;
    private List<JobVariable> variables;
    private GenericInformation genericInformation;

    public String getBucket() { return bucket; }
    public String getName() { return name; }
    public String getDescription() { return description; }
    public List<JobVariable> getVariables() { return variables; }
    public GenericInformation getGenericInformation() { return genericInformation; }

    public static CloudAutomationWorkflow fromJson(Map<?, ?> json) {
        CloudAutomationWorkflow workflow = new CloudAutomationWorkflow();
        workflow.bucket = JSON.string(json, "bucket");
        workflow.name = JSON.string(json, "name");
        workflow.description = JSON.string(json, "description");
        workflow.variables = JSON.list(json.get("variables"), v -> new JobVariable(JSON.string(v, "name"),
                JSON.string(v, "value"), JSON.string(v, "model"), JSON.string(v, "description"),
                JSON.string(v, "group"), Boolean.TRUE.equals(JSON.bool(v, "advanced")),
                Boolean.TRUE.equals(JSON.bool(v, "hidden"))));
        workflow.genericInformation = new GenericInformation(JSON.strings(json.get("generic_information")));
        return workflow;
    }

    @Override
    public String toString() {
        return "CloudAutomationWorkflow{bucket=" + bucket + ", name=" + name + "}";
    }

    /** The generic information the service's workflow declares (`pca.service.id`, `pca.states`...). */
    public static class GenericInformation {
        private final Map<String, String> values;

        public GenericInformation(Map<String, String> values) {
            this.values = values;
        }

        public String getServiceId() { return values.get("pca.service.id"); }
        public String getPcaStates() { return values.get("pca.states"); }
        public Map<String, String> asMap() { return values; }
    }
}
