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

    def getJobs(Object... args) {
        bridge.invokeMethod("getJobs", args).collect { new ReturnedObject(bridge, "JobInfo", it) }
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
