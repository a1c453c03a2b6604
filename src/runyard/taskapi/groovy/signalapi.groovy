// signalapi for Groovy scripts: runyard.taskapi.signals does the work in the task process; this adapter
// passes JobVariables (org.ow2.proactive.scheduler.common.job.JobVariable, runyard's compat class) as maps
// and gives received signals their methods (getUpdatedVariables()...).
class signalapi {
    private static final List<String> FIELDS = ["name", "value", "model", "description", "group", "advanced", "hidden"]
    private final Object bridge

    signalapi(Object bridge) {
        this.bridge = bridge
    }

    def methodMissing(String name, Object args) {
        bridge.invokeMethod(name, args)
    }

    def readyForSignal(String signal, Collection variables = null) {
        bridge.invokeMethod("readyForSignal", [signal, variables?.collect { asMap(it) }] as Object[])
    }

    def waitFor(Object... args) { received(bridge.invokeMethod("waitFor", args)) }

    def waitForAny(Object... args) { received(bridge.invokeMethod("waitForAny", args)) }

    Map checkForSignals(Object signals) {
        Map found = bridge.invokeMethod("checkForSignals", [signals] as Object[]) as Map
        found.collectEntries { name, signal -> [(name): received(signal)] }
    }

    private ReceivedSignal received(Object document) {
        new ReceivedSignal(bridge, document)
    }

    /** A JobVariable (or a map of its fields, or any object with its getters), as the map the task process takes. */
    private static Map asMap(Object variable) {
        if (variable instanceof Map) {
            return variable
        }
        FIELDS.findAll { variable.hasProperty(it) }.collectEntries { [(it): variable."$it"] }
    }
}

/** A received signal: its methods run in the task process (runyard.taskapi.signals.Signal). */
class ReceivedSignal {
    final Object bridge
    final Object document

    ReceivedSignal(Object bridge, Object document) {
        this.bridge = bridge
        this.document = document
    }

    def methodMissing(String name, Object args) {
        bridge.invokeMethod("callReturned", ["Signal", document, name, (args as Object[]) as List] as Object[])
    }

    String toString() { bridge.invokeMethod("callReturned", ["Signal", document, "toString", []] as Object[]) }
}
