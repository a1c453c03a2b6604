/*
 * ProActive's job listing filter, as scripts pass it to schedulerapi.getJobs(offset, limit, criteria, sort).
 */
package org.ow2.proactive.scheduler.common;

import java.io.Serializable;

public class JobFilterCriteria implements Serializable {
    private final boolean myJobsOnly;
    private final boolean pending;
    private final boolean running;
    private final boolean finished;
    private final boolean childJobs;
    private final String jobName;
    private final String projectName;
    private final String userName;
    private final Long parentId;

    public JobFilterCriteria(boolean myJobsOnly, boolean pending, boolean running, boolean finished,
            boolean childJobs, String jobName, String projectName, String userName, Long parentId) {
        this.myJobsOnly = myJobsOnly;
        this.pending = pending;
        this.running = running;
        this.finished = finished;
        this.childJobs = childJobs;
        this.jobName = jobName;
        this.projectName = projectName;
        this.userName = userName;
        this.parentId = parentId;
    }

    public boolean isMyJobsOnly() { return myJobsOnly; }
    public boolean isPending() { return pending; }
    public boolean isRunning() { return running; }
    public boolean isFinished() { return finished; }
    public boolean isChildJobs() { return childJobs; }
    public String getJobName() { return jobName; }
    public String getProjectName() { return projectName; }
    public String getUserName() { return userName; }
    public Long getParentId() { return parentId; }
}
