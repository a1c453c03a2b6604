// schedulerapi for Groovy scripts: runyard.taskapi.scheduler does the work in the task process; this
// adapter gives what it returns back its Java-like methods (jobId.value(), getJobResult(id).getResultMap()...).
class schedulerapi {
    private final Object bridge

    schedulerapi(Object bridge) {
        this.bridge = bridge
    }

    def methodMissing(String name, Object args) {
        bridge.invokeMethod(name, args)
    }

    def submit(Object... args) { returned("JobId", "submit", args) }

    def submitFromCatalog(Object... args) { returned("JobId", "submitFromCatalog", args) }

    def getJobState(Object jobId) { returned("JobState", "getJobState", [jobId] as Object[]) }

    def getJobInfo(Object jobId) { returned("JobInfo", "getJobInfo", [jobId] as Object[]) }

    def getJobResult(Object jobId) { returned("JobResult", "getJobResult", [jobId] as Object[]) }

    def waitForJob(Object... args) { returned("JobResult", "waitForJob", args) }

    /** ProActive's ``getJobs(offset, limit, JobFilterCriteria, [SortParameter...])``: a page of JobInfo (a
     *  list with ``getList()``), filtered and sorted by the job listing. */
    def getJobs(Object... args) {
        List sent = args.toList()
        if (sent.size() > 2) {
            sent[2] = filters(sent[2], sent.size() > 3 ? sent[3] : null)
            sent = sent.take(3)
        }
        new JobsPage(bridge.invokeMethod("getJobs", sent as Object[]).collect { new ReturnedObject(bridge, "JobInfo", it) })
    }

    private static final Map<String, List<String>> STATUSES = [
        pending : ["PENDING"],
        running : ["RUNNING", "STALLED", "PAUSED", "IN_ERROR"],
        finished: ["FINISHED", "CANCELED", "FAILED", "KILLED"],
    ]
    private static final Map<String, String> SORT_COLUMNS = [
        ID: "id", NAME: "name", OWNER: "owner", PROJECT_NAME: "project_name", STATE: "status",
        PRIORITY: "priority", SUBMIT_TIME: "submitted_at", START_TIME: "started_at", FINISH_TIME: "finished_at",
    ]

    /** The job listing's filters for a JobFilterCriteria (no state chosen: all) and the first sort key. */
    private static Map filters(Object criteria, Object sorts) {
        Map found = [:]
        if (criteria instanceof org.ow2.proactive.scheduler.common.JobFilterCriteria) {
            found.status = STATUSES.findAll { state, names -> criteria."$state" }.values().flatten()
            found.name = criteria.jobName
            found.project = criteria.projectName
        }
        def first = sorts instanceof Collection ? sorts.find { it != null } : sorts
        if (first instanceof org.ow2.proactive.db.SortParameter) {
            String column = SORT_COLUMNS[String.valueOf(first.parameter)]
            found.sort = first.sortOrder == org.ow2.proactive.db.SortOrder.DESC ? "-$column" : column
        }
        found.findAll { key, value -> value }
    }

    private ReturnedObject returned(String kind, String method, Object[] args) {
        new ReturnedObject(bridge, kind, bridge.invokeMethod(method, args))
    }
}

/** An object the task process returned: its methods run there (runyard.taskapi.returned). */
class ReturnedObject {
    final Object bridge
    final String kind
    final Object document

    ReturnedObject(Object bridge, String kind, Object document) {
        this.bridge = bridge
        this.kind = kind
        this.document = document
    }

    def methodMissing(String name, Object args) {
        bridge.invokeMethod("callReturned", [kind, document, name, (args as Object[]) as List] as Object[])
    }

    def propertyMissing(String name) {
        document instanceof Map ? document[name] : null
    }

    String toString() { String.valueOf(document) }

    boolean equals(Object other) {
        String.valueOf(document) == String.valueOf(other instanceof ReturnedObject ? other.document : other)
    }

    int hashCode() { String.valueOf(document).hashCode() }
}

/** ProActive's Page of jobs: the list, and the list again from ``getList()``. */
class JobsPage extends ArrayList {
    JobsPage(Collection jobs) {
        super(jobs)
    }

    List getList() { this }

    int getSize() { size() }
}
