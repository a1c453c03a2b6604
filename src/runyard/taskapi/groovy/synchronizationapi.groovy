// synchronizationapi for Groovy scripts: closures (or ProActive's closure strings, "{k, v -> v + 1}") run
// here in the JVM; each atomic operation reads the key with its version and writes only if the key is still
// at that version, else it reads again (runyard.taskapi.synchronization holds the primitives).
class synchronizationapi {
    private static final double WAIT_STEP = 20.0
    private final Object bridge
    private final Map<String, Closure> closures = [:]

    synchronizationapi(Object bridge) {
        this.bridge = bridge
    }

    def methodMissing(String name, Object args) {
        bridge.invokeMethod(name, args)
    }

    def compute(String channel, String key, Object remapping) {
        Closure function = closure(remapping)
        update(channel, key) { k, v, present -> [true, function.call(k, v)] }[1]
    }

    def computeIfAbsent(String channel, String key, Object mapping) {
        Closure function = closure(mapping)
        List change = update(channel, key) { k, v, present -> [v == null, function.call(k)] }
        change[0] == null ? change[1] : change[0]
    }

    def computeIfPresent(String channel, String key, Object remapping) {
        Closure function = closure(remapping)
        List change = update(channel, key) { k, v, present -> [v != null, function.call(k, v)] }
        change[0] == null ? null : change[1]
    }

    def merge(String channel, String key, Object value, Object remapping) {
        Closure function = closure(remapping)
        update(channel, key) { k, v, present -> [true, v == null ? value : function.call(v, value)] }[1]
    }

    PredicateActionResult conditionalCompute(String channel, String key, Object predicate, Object then,
            Object otherwise = null) {
        Closure test = closure(predicate)
        Closure thenFunction = closure(then)
        Closure elseFunction = otherwise == null ? null : closure(otherwise)
        boolean held = false
        List change = update(channel, key) { k, v, present ->
            held = test.call(k, v) as boolean
            held ? [true, thenFunction.call(k, v)] : [elseFunction != null, elseFunction?.call(k, v)]
        }
        new PredicateActionResult(held, held || elseFunction != null ? change[1] : change[0])
    }

    boolean waitUntil(String channel, String key, Object predicate, Object timeout = null) {
        Closure test = closure(predicate)
        long deadline = timeout ? System.currentTimeMillis() + (timeout as long) : Long.MAX_VALUE
        Map found = bridge.versioned(channel, key) as Map
        while (!(test.call(key, found.value) as boolean)) {
            long remaining = deadline - System.currentTimeMillis()
            if (remaining <= 0) {
                throw new java.util.concurrent.TimeoutException("key " + key + " of channel " + channel
                        + " did not meet the condition in " + timeout + " ms")
            }
            found = bridge.awaitChange(channel, key, found.version, Math.min(remaining / 1000.0d, WAIT_STEP)) as Map
        }
        true
    }

    PredicateActionResult waitUntilThen(String channel, String key, Object predicate, Object then,
            Object timeout = null) {
        long deadline = timeout ? System.currentTimeMillis() + (timeout as long) : 0
        while (true) {
            waitUntil(channel, key, predicate, deadline ? Math.max(1, deadline - System.currentTimeMillis()) : null)
            PredicateActionResult result = conditionalCompute(channel, key, predicate, then)
            if (result.isPredicateTrue()) {
                return result
            }
        }
    }

    /** Compare-and-set loop: change(key, value, present) gives [write?, new value (null: remove)]. */
    private List update(String channel, String key, Closure change) {
        while (true) {
            Map found = bridge.versioned(channel, key) as Map
            def before = found.value
            long version = found.version as long
            List decision = change.call(key, found.value, version > 0) as List
            if (!decision[0]) {
                return [before, before]
            }
            def after = decision[1]
            if (after == null) {
                if (version == 0 || bridge.removeVersioned(channel, key, version)) {
                    return [before, null]
                }
            } else if (bridge.replaceVersioned(channel, key, after, version)) {
                return [before, after]
            }
        }
    }

    private Closure closure(Object given) {
        if (given instanceof Closure) {
            return given
        }
        String text = String.valueOf(given)
        Closure found = closures[text]
        if (found == null) {
            Object made = new GroovyShell(this.class.classLoader).evaluate("return " + text)
            if (!(made instanceof Closure)) {
                throw new IllegalArgumentException("not a closure: " + text)
            }
            found = made
            closures[text] = found
        }
        found
    }
}

/** What waitUntilThen and conditionalCompute return, as ProActive's. */
class PredicateActionResult {
    final boolean predicate
    final Object actionResult

    PredicateActionResult(boolean predicate, Object actionResult) {
        this.predicate = predicate
        this.actionResult = actionResult
    }

    boolean isPredicateTrue() { predicate }

    Object getActionResult() { actionResult }

    String toString() { "PredicateActionResult{predicate=" + predicate + ", actionResult=" + actionResult + "}" }
}
