/* ProActive's job listing sort keys: those runyard's job listing sorts by. */
package org.ow2.proactive.scheduler.common;

public enum JobSortParameter {
    ID, NAME, OWNER, PROJECT_NAME, STATE, PRIORITY, SUBMIT_TIME, START_TIME, FINISH_TIME
}
