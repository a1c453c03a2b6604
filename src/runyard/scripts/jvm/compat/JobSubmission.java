/* A job submitted for a PSA service instance, and the transition it ran. */
package org.ow2.proactive.pca.service.client.model;

import java.util.Map;
import org.ow2.proactive.pca.service.client.JSON;

public class JobSubmission {
    private String transitionState;
    private Long jobId;
    private Long parentJobId;
    private Long submissionTime;

    public String getTransitionState() { return transitionState; }
    public Long getJobId() { return jobId; }
    public Long getParentJobId() { return parentJobId; }
    public Long getSubmissionTime() { return submissionTime; }

    public static JobSubmission fromJson(Map<?, ?> json) {
        JobSubmission submission = new JobSubmission();
        submission.transitionState = JSON.string(json, "transition_state");
        submission.jobId = JSON.number(json, "job_id");
        submission.parentJobId = JSON.number(json, "parent_job_id");
        submission.submissionTime = JSON.number(json, "submission_time");
        return submission;
    }

    @Override
    public String toString() {
        return "JobSubmission{transitionState=" + transitionState + ", jobId=" + jobId + "}";
    }
}
