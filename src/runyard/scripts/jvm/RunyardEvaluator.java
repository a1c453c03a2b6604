/*
 * The warm JVM of runyard's groovy and javascript engines (docs/scripts.md, "Groovy and JavaScript").
 *
 * Started by a task process (runyard.scripts.jvm.launcher) inside its scope's sandbox, with its
 * working folder where it listens and its holder's lifeline as standard input:
 * `java RunyardEvaluator SOCKET IDLE_SECONDS`. It serves one connection at a time: a run request, then,
 * while the script runs, its output and its API calls going one way and the answers the other, and last
 * the outcome. It exits when its holder process (the scope's zygote or worker) and the holder's children
 * have exited, when idle too long, and halts at once when a client goes away mid-script (the task
 * process was killed: the script must stop with it).
 *
 * Frames both ways: a 4-byte big-endian length, a kind byte ('J' JSON, 'O' stdout bytes, 'E' stderr
 * bytes), the payload. `java RunyardEvaluator --train` runs each engine a few times and exits (for the
 * class data sharing archive made once per machine).
 */

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.EOFException;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.reflect.Array;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.Permission;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.TimeZone;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;

public final class RunyardEvaluator {
    /** The bindings a script sets for the platform to read back (as cpython's). */
    static final String[] OUTPUTS = {"result", "selected", "branch", "runs", "loop"};

    static volatile long lastActivity = System.nanoTime();
    static volatile boolean busy;
    static Properties initialProperties;
    static Locale initialLocale;
    static TimeZone initialTimeZone;

    public static void main(String[] args) throws Exception {
        System.setSecurityManager(new ExitInterceptor());
        if (args.length == 1 && args[0].equals("--train")) {
            installStreams();
            train();
            return;
        }
        String socket = args[0];
        long idleNanos = Long.parseLong(args[1]) * 1_000_000_000L;
        watchLifeline();
        Files.deleteIfExists(Path.of(socket));
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        initialProperties = (Properties) System.getProperties().clone();
        initialLocale = Locale.getDefault();
        initialTimeZone = TimeZone.getDefault();
        watchIdleness(idleNanos);
        installStreams(); // from now on, what is printed goes to the execution printing it
        REAL_OUT.write("ready\n".getBytes(StandardCharsets.US_ASCII));
        REAL_OUT.flush();
        while (true) {
            SocketChannel channel = server.accept();
            busy = true;
            try {
                serve(channel);
            } finally {
                channel.close();
                lastActivity = System.nanoTime();
                busy = false;
            }
        }
    }

    /** A few executions of each engine, so that their classes go in the archive (see the header). */
    static void train() throws Exception {
        for (int i = 0; i < 3; i++) {
            for (String language : new String[] {"groovy", "javascript"}) {
                Map<String, Object> bindings = new LinkedHashMap<>();
                bindings.put("variables", new LinkedHashMap<String, Object>(Map.of("x", "1")));
                Execution execution = new Execution(null, language, "result = variables.get('x')", "<training>",
                        bindings, new LinkedHashMap<>());
                try {
                    execution.run();
                } catch (LinkageError | Exception absent) {
                    // an engine whose jar is missing is simply not trained
                }
            }
        }
    }

    /** Standard input is the holder's lifeline (launcher.py): its end is the holder's. */
    static void watchLifeline() {
        java.io.InputStream lifeline = System.in;
        Thread watcher = new Thread(() -> {
            try {
                while (lifeline.read() >= 0) {
                    // nobody writes to it
                }
            } catch (IOException closed) {
                // as good as the end
            }
            Runtime.getRuntime().halt(0);
        }, "runyard-lifeline");
        watcher.setDaemon(true);
        watcher.start();
    }

    static void watchIdleness(long idleNanos) {
        Thread watcher = new Thread(() -> {
            while (true) {
                try {
                    Thread.sleep(1000);
                } catch (InterruptedException e) {
                    return;
                }
                if (!busy && System.nanoTime() - lastActivity > idleNanos) {
                    Runtime.getRuntime().halt(0);
                }
            }
        }, "runyard-idle-watch");
        watcher.setDaemon(true);
        watcher.start();
    }

    /** One client: its run request, the script in a thread of its own while this thread reads. */
    static void serve(SocketChannel channel) throws IOException {
        Connection connection = new Connection(channel);
        connection.sendJson(Map.of("type", "hello")); // this JVM took the connection (see launcher.py)
        Object first = connection.readJson();
        if (!(first instanceof Map)) {
            return;
        }
        Map<?, ?> request = (Map<?, ?>) first;
        resetGlobalState();
        ExecutionGroup group = new ExecutionGroup(connection);
        Thread script = new Thread(group, () -> {
            Map<String, Object> done;
            try {
                Execution execution = new Execution(connection, (String) request.get("language"),
                        (String) request.get("source"), (String) request.get("origin"),
                        asMap(request.get("bindings")), asMap(request.get("apis")));
                done = execution.run();
            } catch (Throwable error) {
                done = new LinkedHashMap<>();
                done.put("error", "the JVM evaluator failed: " + error);
            }
            connection.finish(done);
        }, "runyard-script");
        script.setDaemon(true);
        script.start();
        connection.readAnswers();
        group.interrupt(); // what the script left running is asked to stop
    }

    /** What a script may change for the whole JVM, put back as it was before each execution. */
    static void resetGlobalState() {
        Properties properties = new Properties();
        properties.putAll(initialProperties);
        System.setProperties(properties);
        Locale.setDefault(initialLocale);
        TimeZone.setDefault(initialTimeZone);
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> asMap(Object value) {
        return value instanceof Map ? (Map<String, Object>) value : new LinkedHashMap<>();
    }

    // -- one execution ---------------------------------------------------------------------------

    /** The threads of one execution: what they print goes to its client. */
    static final class ExecutionGroup extends ThreadGroup {
        final Connection connection;

        ExecutionGroup(Connection connection) {
            super("runyard-execution");
            this.connection = connection;
            setDaemon(true); // gone with its last thread
        }
    }

    static final class Execution {
        final Connection connection;
        final String language;
        final String source;
        final String origin;
        final Map<String, Object> bindings;
        final Map<String, Object> apis;

        Execution(Connection connection, String language, String source, String origin,
                Map<String, Object> bindings, Map<String, Object> apis) {
            this.connection = connection;
            this.language = language;
            this.source = source;
            this.origin = origin;
            this.bindings = bindings;
            this.apis = apis;
        }

        /** The names a script sees, from the JSON bindings. */
        Map<String, Object> names() {
            Map<String, Object> names = new LinkedHashMap<>();
            for (String map : new String[] {"variables", "resultMap", "genericInformation", "credentials"}) {
                names.put(map, new LinkedHashMap<>(asMap(bindings.get(map))));
            }
            List<TaskResult> results = new ArrayList<>();
            Object parents = bindings.get("results");
            if (parents instanceof List) {
                for (Object parent : (List<?>) parents) {
                    Map<String, Object> p = asMap(parent);
                    results.add(new TaskResult((String) p.get("name"), p.get("value"), (String) p.get("error")));
                }
            }
            names.put("results", results);
            Object args = bindings.get("args");
            List<?> argList = args instanceof List ? (List<?>) args : List.of();
            String[] argArray = new String[argList.size()];
            for (int i = 0; i < argArray.length; i++) {
                argArray[i] = String.valueOf(argList.get(i));
            }
            names.put("args", argArray);
            for (String space : new String[] {"localspace", "userspace", "globalspace", "cachespace",
                    "inputspace", "outputspace"}) {
                names.put(space, bindings.getOrDefault(space, ""));
            }
            names.put("nodesurl", new ArrayList<String>()); // a runyard task holds one node
            names.put("resultMetadata", new LinkedHashMap<String, Object>());
            names.putAll(asMap(bindings.get("extra")));
            return names;
        }

        Map<String, Object> run() throws Exception {
            Map<String, Object> names = names();
            Map<String, Object> done = new LinkedHashMap<>();
            Map<String, Object> set;
            WorkingFolder.change((String) names.get("localspace"));
            Environment.set(asMap(bindings.get("environment")));
            try {
                if ("groovy".equals(language)) {
                    set = GroovyRunner.run(this, names);
                } else if ("javascript".equals(language)) {
                    set = JavaScriptRunner.run(this, names);
                } else {
                    throw new ScriptError("unknown language " + language);
                }
            } catch (ScriptError error) {
                done.put("error", error.getMessage());
                return done;
            } finally {
                WorkingFolder.change(WorkingFolder.HOME); // the localspace goes with the execution
                Environment.set(Environment.INITIAL);
            }
            Map<String, Object> values = new LinkedHashMap<>();
            for (String output : OUTPUTS) {
                if (set.containsKey(output)) {
                    values.put(output, set.get(output));
                }
            }
            done.put("values", values);
            done.put("variables", names.get("variables"));
            done.put("resultMap", names.get("resultMap"));
            done.put("resultMetadata", names.get("resultMetadata"));
            return done;
        }

        /** ``origin`` in place of the file name the compiler gave the script. */
        String named(String text, String fileName) {
            return text == null ? "" : text.replace(fileName, origin);
        }

        /** The exception and where in the script it was thrown. */
        String describe(Throwable error, String fileName) {
            StringBuilder text = new StringBuilder(named(String.valueOf(error), fileName));
            for (StackTraceElement frame : error.getStackTrace()) {
                if (fileName.equals(frame.getFileName()) && frame.getLineNumber() > 0) {
                    text.append("\n\tat ").append(origin).append(", line ").append(frame.getLineNumber());
                }
            }
            Throwable cause = error.getCause();
            if (cause != null && cause != error) {
                text.append("\nCaused by: ").append(describe(cause, fileName));
            }
            return text.toString();
        }
    }

    /** The JVM's working folder, the execution's localspace while its script runs (as in ProActive's
     *  forked task JVM): ``chdir`` through the foreign function API (JDK 17's incubator), and the
     *  folder java.io resolves relative files against. Without that API it stays where the JVM started. */
    static final class WorkingFolder {
        static final String HOME = System.getProperty("user.dir");
        static final java.lang.invoke.MethodHandle CHDIR = chdir();
        static final java.lang.reflect.Field USER_DIR = userDirField();
        static final Object FILE_SYSTEM = fileSystem();

        static java.lang.invoke.MethodHandle chdir() {
            return Native.function("chdir", 1);
        }

        static Object fileSystem() {
            try {
                java.lang.reflect.Field field = File.class.getDeclaredField("fs");
                field.setAccessible(true);
                return field.get(null);
            } catch (Exception | LinkageError closed) {
                return null;
            }
        }

        static java.lang.reflect.Field userDirField() {
            try {
                java.lang.reflect.Field field = fileSystem().getClass().getDeclaredField("userDir");
                field.setAccessible(true);
                return field;
            } catch (Exception | LinkageError closed) {
                return null;
            }
        }

        static void change(String folder) {
            if (CHDIR == null || folder == null || folder.isEmpty() || !new File(folder).isDirectory()) {
                return;
            }
            try (jdk.incubator.foreign.ResourceScope scope = jdk.incubator.foreign.ResourceScope.newConfinedScope()) {
                jdk.incubator.foreign.MemorySegment path = jdk.incubator.foreign.CLinker.toCString(folder, scope);
                if ((int) CHDIR.invokeExact(path.address()) != 0) {
                    return;
                }
                System.setProperty("user.dir", folder);
                if (USER_DIR != null) {
                    USER_DIR.set(FILE_SYSTEM, folder);
                }
            } catch (Throwable failed) {
                // the working folder stays as it was
            }
        }
    }

    /** C functions of the JVM's process taking ``pointers`` strings (and, for setenv, an int), answering
     *  an int, through JDK 17's incubating foreign function API; null where it is not there. */
    static final class Native {
        static java.lang.invoke.MethodHandle function(String name, int pointers) {
            try {
                jdk.incubator.foreign.CLinker linker = jdk.incubator.foreign.CLinker.getInstance();
                boolean flag = name.equals("setenv");
                Class<?>[] types = new Class<?>[pointers + (flag ? 1 : 0)];
                jdk.incubator.foreign.MemoryLayout[] layouts = new jdk.incubator.foreign.MemoryLayout[types.length];
                for (int i = 0; i < types.length; i++) {
                    boolean pointer = i < pointers;
                    types[i] = pointer ? jdk.incubator.foreign.MemoryAddress.class : int.class;
                    layouts[i] = pointer ? jdk.incubator.foreign.CLinker.C_POINTER : jdk.incubator.foreign.CLinker.C_INT;
                }
                return linker.downcallHandle(
                        jdk.incubator.foreign.CLinker.systemLookup().lookup(name).orElseThrow(),
                        java.lang.invoke.MethodType.methodType(int.class, types),
                        jdk.incubator.foreign.FunctionDescriptor.of(jdk.incubator.foreign.CLinker.C_INT, layouts));
            } catch (Throwable unavailable) {
                return null;
            }
        }
    }

    /** The process environment scripts and the commands they start see: the task process's, for the
     *  time of its script (the JVM outlives the execution that started it): Java's copy, and the
     *  process's own, which the commands a script starts inherit. */
    static final class Environment {
        static final java.lang.invoke.MethodHandle CLEARENV = Native.function("clearenv", 0);
        static final java.lang.invoke.MethodHandle SETENV = Native.function("setenv", 2);
        static final Map<String, Object> INITIAL = new LinkedHashMap<>(System.getenv());
        static final Map<String, String> WRITABLE = writable();

        /** The map behind ``System.getenv()``'s read-only view; ``ProcessBuilder`` copies it too. */
        @SuppressWarnings("unchecked")
        static Map<String, String> writable() {
            try {
                Map<String, String> view = System.getenv();
                java.lang.reflect.Field inner = view.getClass().getDeclaredField("m");
                inner.setAccessible(true);
                return (Map<String, String>) inner.get(view);
            } catch (Exception | LinkageError closed) {
                return null;
            }
        }

        static void set(Map<String, Object> environment) {
            if (WRITABLE == null || environment.isEmpty()) {
                return;
            }
            WRITABLE.clear();
            environment.forEach((name, value) -> WRITABLE.put(name, String.valueOf(value)));
            if (CLEARENV == null || SETENV == null) {
                return;
            }
            try (jdk.incubator.foreign.ResourceScope scope = jdk.incubator.foreign.ResourceScope.newConfinedScope()) {
                int cleared = (int) CLEARENV.invokeExact();
                for (Map.Entry<String, String> entry : WRITABLE.entrySet()) {
                    int set = (int) SETENV.invokeExact(
                            jdk.incubator.foreign.CLinker.toCString(entry.getKey(), scope).address(),
                            jdk.incubator.foreign.CLinker.toCString(entry.getValue(), scope).address(), 1);
                }
            } catch (Throwable failed) {
                // the commands a script starts get the environment as it was
            }
        }
    }

    /** A failure of the user's script, its message for the task's error. */
    static final class ScriptError extends Exception {
        ScriptError(String message) {
            super(message, null, false, false);
        }
    }

    /** ``results[i]`` as ProActive's TaskResult. */
    public static final class TaskResult {
        final String taskName;
        final Object value;
        final String error;

        TaskResult(String taskName, Object value, String error) {
            this.taskName = taskName;
            this.value = value;
            this.error = error;
        }

        public Object value() {
            if (error != null) {
                throw new RuntimeException(error);
            }
            return value;
        }

        public Object getValue() {
            return value();
        }

        public boolean hadException() {
            return error != null;
        }

        public String getException() {
            return error;
        }

        public String getTaskName() {
            return taskName;
        }

        @Override
        public String toString() {
            return error != null ? "" : String.valueOf(value);
        }
    }

    /** What ``System.exit(n)`` throws in a script: the script ends with that status. */
    static final class ScriptExit extends SecurityException {
        final int status;

        ScriptExit(int status) {
            super("System.exit(" + status + ")");
            this.status = status;
        }
    }

    /** Allows everything but an exit from a script's threads. */
    static final class ExitInterceptor extends SecurityManager {
        @Override
        public void checkPermission(Permission permission) {
        }

        @Override
        public void checkPermission(Permission permission, Object context) {
        }

        @Override
        public void checkExit(int status) {
            if (executionOf(Thread.currentThread()) != null) {
                throw new ScriptExit(status);
            }
        }
    }

    static ExecutionGroup executionOf(Thread thread) {
        for (ThreadGroup group = thread.getThreadGroup(); group != null; group = group.getParent()) {
            if (group instanceof ExecutionGroup) {
                return (ExecutionGroup) group;
            }
        }
        return null;
    }

    /** ``status`` of a ScriptExit in ``error``'s causes, or null. */
    static ScriptExit exitOf(Throwable error) {
        for (Throwable t = error; t != null; t = t.getCause()) {
            if (t instanceof ScriptExit) {
                return (ScriptExit) t;
            }
            if (t.getCause() == t) {
                break;
            }
        }
        return null;
    }

    /** Completes a run whose script threw ``error``: an exit with status 0 is a normal end. */
    static void endedBy(Throwable error, Execution execution, String fileName) throws ScriptError {
        ScriptExit exit = exitOf(error);
        if (exit != null) {
            if (exit.status != 0) {
                throw new ScriptError("script exited with System.exit(" + exit.status + ")");
            }
            return;
        }
        throw new ScriptError(execution.describe(error, fileName));
    }

    // -- the API bridge --------------------------------------------------------------------------

    /** ``N.m(a, b)`` of a task-side API: answered by the task process. */
    public static class ApiBridge {
        final Connection connection;
        final String api;

        ApiBridge(Connection connection, String api) {
            this.connection = connection;
            this.api = api;
        }

        public Object invoke(String method, Object[] args) {
            if (connection == null) {
                throw new ApiException(api + " is not available here");
            }
            return connection.call(api, method, args);
        }

        @Override
        public String toString() {
            return "<" + api + ">";
        }
    }

    /** An API call the task process refused or that failed there. */
    public static final class ApiException extends RuntimeException {
        public ApiException(String message) {
            super(message);
        }
    }

    // -- the connection --------------------------------------------------------------------------

    static final class Connection {
        final DataInputStream in;
        final DataOutputStream out;
        final BlockingQueue<Object> answers = new LinkedBlockingQueue<>();
        volatile boolean finished;

        Connection(SocketChannel channel) {
            // Not Channels.newInputStream / newOutputStream: a read blocked in one would block the other.
            in = new DataInputStream(new BufferedInputStream(new InputStream() {
                @Override
                public int read() throws IOException {
                    byte[] one = new byte[1];
                    return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
                }

                @Override
                public int read(byte[] bytes, int offset, int length) throws IOException {
                    return channel.read(ByteBuffer.wrap(bytes, offset, length));
                }
            }));
            out = new DataOutputStream(new BufferedOutputStream(new OutputStream() {
                @Override
                public void write(int b) throws IOException {
                    write(new byte[] {(byte) b}, 0, 1);
                }

                @Override
                public void write(byte[] bytes, int offset, int length) throws IOException {
                    ByteBuffer buffer = ByteBuffer.wrap(bytes, offset, length);
                    while (buffer.hasRemaining()) {
                        channel.write(buffer);
                    }
                }
            }));
        }

        Object readJson() throws IOException {
            int size = in.readInt();
            int kind = in.readByte();
            byte[] payload = new byte[size - 1];
            in.readFully(payload);
            if (kind != 'J') {
                throw new IOException("unexpected frame kind " + kind);
            }
            return new Json(new String(payload, StandardCharsets.UTF_8)).parse();
        }

        /** Reads answers to API calls until the client closes: before the script ended, the JVM halts. */
        void readAnswers() {
            try {
                while (true) {
                    answers.put(readJson());
                }
            } catch (EOFException end) {
                // the client closed
            } catch (IOException | InterruptedException | RuntimeException broken) {
                // a broken client is a gone one
            }
            if (!finished) {
                Runtime.getRuntime().halt(137);
            }
        }

        /** A frame, unless the execution is over (what its threads print later goes nowhere). */
        void send(int kind, byte[] payload, int offset, int length) {
            synchronized (out) {
                if (!finished) {
                    write(kind, payload, offset, length);
                }
            }
        }

        void write(int kind, byte[] payload, int offset, int length) {
            try {
                out.writeInt(length + 1);
                out.writeByte(kind);
                out.write(payload, offset, length);
                out.flush();
            } catch (IOException gone) {
                Runtime.getRuntime().halt(137);
            }
        }

        void sendJson(Object message) {
            byte[] payload = Json.write(message).getBytes(StandardCharsets.UTF_8);
            send('J', payload, 0, payload.length);
        }

        /** The last frame: finished is set first, the client closing after it is no early end. */
        void finish(Map<String, Object> done) {
            Map<String, Object> message = new LinkedHashMap<>(done);
            message.put("type", "done");
            byte[] payload = Json.write(message).getBytes(StandardCharsets.UTF_8);
            synchronized (out) {
                finished = true;
                write('J', payload, 0, payload.length);
            }
        }

        Object call(String api, String method, Object[] args) {
            Map<String, Object> message = new LinkedHashMap<>();
            message.put("type", "call");
            message.put("api", api);
            message.put("method", method);
            message.put("args", args == null ? List.of() : java.util.Arrays.asList(args));
            synchronized (this) { // one call at a time: answers come in order
                sendJson(message);
                Object answer;
                try {
                    answer = answers.take();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new ApiException(api + "." + method + " interrupted");
                }
                Map<String, Object> fields = asMap(answer);
                if (fields.containsKey("error")) {
                    throw new ApiException(String.valueOf(fields.get("error")));
                }
                return fields.get("value");
            }
        }
    }

    // -- standard streams --------------------------------------------------------------------------

    static final PrintStream REAL_OUT = System.out;

    static void installStreams() {
        System.setOut(new PrintStream(new ExecutionOutput('O'), true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(new ExecutionOutput('E'), true, StandardCharsets.UTF_8));
    }

    /** What a thread prints goes to its execution's client; elsewhere (the evaluator's own) nowhere. */
    static final class ExecutionOutput extends OutputStream {
        final int kind;

        ExecutionOutput(int kind) {
            this.kind = kind;
        }

        @Override
        public void write(int b) {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] bytes, int offset, int length) {
            ExecutionGroup group = executionOf(Thread.currentThread());
            if (group != null && length > 0) {
                group.connection.send(kind, bytes, offset, length);
            }
        }
    }

    // -- JSON --------------------------------------------------------------------------------------

    /** JSON both ways: numbers as Integer, Long, BigInteger or Double; ``{"$bytes": base64}`` as
     *  byte[]; ``{"$map": [[key, value]...]}`` as a map whose keys are not all strings (Groovy's
     *  ``[0: "a"]``); a value that is not JSON as its toString(). */
    static final class Json {
        final String text;
        int at;

        Json(String text) {
            this.text = text;
        }

        Object parse() {
            Object value = value();
            space();
            if (at != text.length()) {
                throw error("trailing text");
            }
            return value;
        }

        RuntimeException error(String what) {
            return new IllegalArgumentException("bad JSON at " + at + ": " + what);
        }

        void space() {
            while (at < text.length() && Character.isWhitespace(text.charAt(at))) {
                at++;
            }
        }

        Object value() {
            space();
            if (at >= text.length()) {
                throw error("end of text");
            }
            char c = text.charAt(at);
            switch (c) {
                case '{':
                    return object();
                case '[':
                    return array();
                case '"':
                    return string();
                case 't':
                    return literal("true", Boolean.TRUE);
                case 'f':
                    return literal("false", Boolean.FALSE);
                case 'n':
                    return literal("null", null);
                case 'N':
                    return literal("NaN", Double.NaN);
                case 'I':
                    return literal("Infinity", Double.POSITIVE_INFINITY);
                default:
                    return number();
            }
        }

        Object literal(String word, Object value) {
            if (!text.startsWith(word, at)) {
                throw error("unexpected text");
            }
            at += word.length();
            return value;
        }

        Object object() {
            Map<String, Object> map = new LinkedHashMap<>();
            at++;
            space();
            if (text.charAt(at) == '}') {
                at++;
                return map;
            }
            while (true) {
                space();
                String key = string();
                space();
                expect(':');
                map.put(key, value());
                space();
                if (text.charAt(at) == ',') {
                    at++;
                } else {
                    expect('}');
                    break;
                }
            }
            if (map.size() == 1 && map.get("$bytes") instanceof String) {
                return Base64.getDecoder().decode((String) map.get("$bytes"));
            }
            if (map.size() == 1 && map.get("$map") instanceof List) {
                Map<Object, Object> keyed = new LinkedHashMap<>();
                for (Object entry : (List<?>) map.get("$map")) {
                    List<?> pair = (List<?>) entry;
                    keyed.put(pair.get(0), pair.get(1));
                }
                return keyed;
            }
            return map;
        }

        Object array() {
            List<Object> list = new ArrayList<>();
            at++;
            space();
            if (text.charAt(at) == ']') {
                at++;
                return list;
            }
            while (true) {
                list.add(value());
                space();
                if (text.charAt(at) == ',') {
                    at++;
                } else {
                    expect(']');
                    return list;
                }
            }
        }

        void expect(char c) {
            if (at >= text.length() || text.charAt(at) != c) {
                throw error("expected " + c);
            }
            at++;
        }

        String string() {
            expect('"');
            StringBuilder out = new StringBuilder();
            while (true) {
                char c = text.charAt(at++);
                if (c == '"') {
                    return out.toString();
                }
                if (c != '\\') {
                    out.append(c);
                    continue;
                }
                char e = text.charAt(at++);
                switch (e) {
                    case 'n': out.append('\n'); break;
                    case 't': out.append('\t'); break;
                    case 'r': out.append('\r'); break;
                    case 'b': out.append('\b'); break;
                    case 'f': out.append('\f'); break;
                    case 'u':
                        out.append((char) Integer.parseInt(text.substring(at, at + 4), 16));
                        at += 4;
                        break;
                    default: out.append(e);
                }
            }
        }

        Object number() {
            int start = at;
            if (text.charAt(at) == '-') {
                at++;
                if (text.startsWith("Infinity", at)) {
                    at += 8;
                    return Double.NEGATIVE_INFINITY;
                }
            }
            boolean integral = true;
            while (at < text.length() && "0123456789.eE+-".indexOf(text.charAt(at)) >= 0) {
                integral &= Character.isDigit(text.charAt(at)) || text.charAt(at) == '-';
                at++;
            }
            String number = text.substring(start, at);
            if (number.isEmpty()) {
                throw error("unexpected character");
            }
            if (!integral) {
                return Double.parseDouble(number);
            }
            BigInteger big = new BigInteger(number);
            if (big.bitLength() < 32) {
                return big.intValue();
            }
            return big.bitLength() < 64 ? (Object) big.longValue() : big;
        }

        static String write(Object value) {
            StringBuilder out = new StringBuilder();
            write(out, value, 0);
            return out.toString();
        }

        static void write(StringBuilder out, Object value, int depth) {
            if (depth > 100) {
                quote(out, String.valueOf(value));
            } else if (value == null) {
                out.append("null");
            } else if (value instanceof Boolean) {
                out.append(value);
            } else if (value instanceof Double || value instanceof Float) {
                double d = ((Number) value).doubleValue();
                if (Double.isNaN(d) || Double.isInfinite(d)) {
                    quote(out, value.toString());
                } else {
                    out.append(value);
                }
            } else if (value instanceof Integer || value instanceof Long || value instanceof Short
                    || value instanceof Byte || value instanceof BigInteger || value instanceof BigDecimal) {
                out.append(value);
            } else if (value instanceof CharSequence || value instanceof Character || value instanceof Enum) {
                quote(out, value instanceof Enum ? ((Enum<?>) value).name() : value.toString());
            } else if (value instanceof byte[]) {
                out.append("{\"$bytes\":\"").append(Base64.getEncoder().encodeToString((byte[]) value)).append("\"}");
            } else if (value instanceof Map && !stringKeyed((Map<?, ?>) value)) {
                out.append("{\"$map\":[");
                boolean first = true;
                for (Map.Entry<?, ?> entry : ((Map<?, ?>) value).entrySet()) {
                    out.append(first ? "[" : ",[");
                    first = false;
                    write(out, entry.getKey(), depth + 1);
                    out.append(',');
                    write(out, entry.getValue(), depth + 1);
                    out.append(']');
                }
                out.append("]}");
            } else if (value instanceof Map) {
                out.append('{');
                boolean first = true;
                for (Map.Entry<?, ?> entry : ((Map<?, ?>) value).entrySet()) {
                    if (!first) {
                        out.append(',');
                    }
                    first = false;
                    quote(out, String.valueOf(entry.getKey()));
                    out.append(':');
                    write(out, entry.getValue(), depth + 1);
                }
                out.append('}');
            } else if (value instanceof Collection || value.getClass().isArray()) {
                out.append('[');
                Collection<?> items = value instanceof Collection ? (Collection<?>) value : arrayItems(value);
                boolean first = true;
                for (Object item : items) {
                    if (!first) {
                        out.append(',');
                    }
                    first = false;
                    write(out, item, depth + 1);
                }
                out.append(']');
            } else {
                quote(out, String.valueOf(value));
            }
        }

        static boolean stringKeyed(Map<?, ?> map) {
            for (Object key : map.keySet()) {
                if (!(key instanceof CharSequence)) {
                    return false;
                }
            }
            return true;
        }

        static List<Object> arrayItems(Object array) {
            int length = Array.getLength(array);
            List<Object> items = new ArrayList<>(length);
            for (int i = 0; i < length; i++) {
                items.add(Array.get(array, i));
            }
            return items;
        }

        static void quote(StringBuilder out, String text) {
            out.append('"');
            for (int i = 0; i < text.length(); i++) {
                char c = text.charAt(i);
                switch (c) {
                    case '"': out.append("\\\""); break;
                    case '\\': out.append("\\\\"); break;
                    case '\n': out.append("\\n"); break;
                    case '\r': out.append("\\r"); break;
                    case '\t': out.append("\\t"); break;
                    default:
                        if (c < 0x20) {
                            out.append(String.format("\\u%04x", (int) c));
                        } else {
                            out.append(c);
                        }
                }
            }
            out.append('"');
        }
    }

    // -- Groovy ------------------------------------------------------------------------------------

    /** Groovy scripts, each compiled in a class loader of its own (no class or static is shared). */
    static final class GroovyRunner {
        static final String CLASS_NAME = "RunyardScript";
        static final String FILE_NAME = CLASS_NAME + ".groovy";
        /** The bytecode of recent scripts, by source text: defined anew for each execution, in a loader
         *  of its own (a script's statics start fresh), but compiled once. */
        static final Map<String, Map<String, byte[]>> COMPILED = java.util.Collections.synchronizedMap(
                new LinkedHashMap<String, Map<String, byte[]>>(16, 0.75f, true) {
                    @Override
                    protected boolean removeEldestEntry(Map.Entry<String, Map<String, byte[]>> eldest) {
                        return size() > 256;
                    }
                });
        /** Adapter classes of the task-side APIs, by file path and modification time: platform code. */
        static final Map<String, Class<?>> ADAPTERS = new ConcurrentHashMap<>();
        static final ClassLoader PARENT = RunyardEvaluator.class.getClassLoader();
        /** Classes whose meta class a script changed (``String.metaClass.x = {...}``): put back after it. */
        static final java.util.Set<Class<?>> CHANGED = ConcurrentHashMap.newKeySet();

        static {
            groovy.lang.GroovySystem.getMetaClassRegistry().addMetaClassRegistryChangeEventListener(event -> {
                if (event.getClassToUpdate() != null && event.getInstance() == null) {
                    CHANGED.add(event.getClassToUpdate());
                }
            });
        }

        /** Meta classes as they were before the script: no method a script adds is seen by the next. */
        static void forgetMetaClassChanges() {
            groovy.lang.MetaClassRegistry registry = groovy.lang.GroovySystem.getMetaClassRegistry();
            if (registry.getMetaClassCreationHandler() instanceof groovy.lang.ExpandoMetaClassCreationHandle) {
                groovy.lang.ExpandoMetaClass.disableGlobally();
            }
            List<Class<?>> changed = new ArrayList<>(CHANGED);
            for (Class<?> type : changed) {
                registry.removeMetaClass(type);
            }
            CHANGED.clear();
        }

        static Map<String, Object> run(Execution execution, Map<String, Object> names) throws ScriptError {
            groovy.lang.Binding binding = new groovy.lang.Binding();
            names.forEach(binding::setVariable);
            for (Map.Entry<String, Object> api : execution.apis.entrySet()) {
                binding.setVariable(api.getKey(), apiObject(execution, api.getKey(), api.getValue()));
            }
            Class<?> scriptClass;
            try {
                scriptClass = scriptClass(execution.source);
            } catch (org.codehaus.groovy.control.CompilationFailedException error) {
                throw new ScriptError(execution.named(error.getMessage(), FILE_NAME).trim());
            } catch (ClassNotFoundException error) {
                throw new ScriptError("the script compiled to no class named " + CLASS_NAME);
            }
            try {
                org.codehaus.groovy.runtime.InvokerHelper.createScript(scriptClass, binding).run();
            } catch (Throwable error) {
                endedBy(error, execution, FILE_NAME);
            } finally {
                forgetMetaClassChanges();
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> set = binding.getVariables();
            return set;
        }

        /** Words without which a script declares no type and no static field: nothing its class could
         *  keep from one run to the next (each run is a new instance with new bindings). */
        static final java.util.regex.Pattern STATEFUL = java.util.regex.Pattern.compile(
                "\\b(static|class|enum|interface|trait|Field)\\b");
        /** The classes of such stateless scripts, by source text: defined once, run many times (their
         *  meta class, the dearest part of a run, is made once). */
        static final Map<String, Class<?>> STATELESS = java.util.Collections.synchronizedMap(
                new LinkedHashMap<String, Class<?>>(16, 0.75f, true) {
                    @Override
                    protected boolean removeEldestEntry(Map.Entry<String, Class<?>> eldest) {
                        return size() > 256;
                    }
                });

        /** The script's class: a stateless script's as defined before, else defined anew. */
        static Class<?> scriptClass(String source) throws ClassNotFoundException {
            boolean stateless = !STATEFUL.matcher(source).find();
            Class<?> known = stateless ? STATELESS.get(source) : null;
            if (known != null) {
                return known;
            }
            Class<?> defined = new ScriptLoader(compiled(source)).loadClass(CLASS_NAME);
            if (stateless) {
                STATELESS.put(source, defined);
            }
            return defined;
        }

        static Map<String, byte[]> compiled(String source) {
            Map<String, byte[]> classes = COMPILED.get(source);
            if (classes != null) {
                return classes;
            }
            org.codehaus.groovy.control.CompilationUnit unit = new org.codehaus.groovy.control.CompilationUnit(
                    org.codehaus.groovy.control.CompilerConfiguration.DEFAULT, null,
                    new groovy.lang.GroovyClassLoader(PARENT));
            unit.addSource(FILE_NAME, source);
            unit.compile(org.codehaus.groovy.control.Phases.CLASS_GENERATION);
            classes = new java.util.HashMap<>();
            for (Object generated : unit.getClasses()) {
                org.codehaus.groovy.tools.GroovyClass groovyClass = (org.codehaus.groovy.tools.GroovyClass) generated;
                classes.put(groovyClass.getName(), groovyClass.getBytes());
            }
            COMPILED.put(source, classes);
            return classes;
        }

        /** Defines one execution's script classes from their bytecode. */
        static final class ScriptLoader extends groovy.lang.GroovyClassLoader {
            final Map<String, byte[]> classes;

            ScriptLoader(Map<String, byte[]> classes) {
                super(PARENT);
                this.classes = classes;
            }

            @Override
            protected Class<?> findClass(String name) throws ClassNotFoundException {
                byte[] bytes = classes.get(name);
                return bytes != null ? defineClass(name, bytes, 0, bytes.length) : super.findClass(name);
            }
        }

        static Object apiObject(Execution execution, String name, Object adapter) throws ScriptError {
            GroovyApiBridge bridge = new GroovyApiBridge(execution.connection, name);
            if (!(adapter instanceof String)) {
                return bridge;
            }
            File file = new File((String) adapter);
            String key = file.getPath() + "@" + file.lastModified();
            try {
                Class<?> adapterClass = ADAPTERS.get(key);
                if (adapterClass == null) {
                    groovy.lang.GroovyClassLoader loader = new groovy.lang.GroovyClassLoader(PARENT);
                    adapterClass = loader.parseClass(file);
                    ADAPTERS.put(key, adapterClass);
                }
                return adapterClass.getConstructor(Object.class).newInstance(bridge);
            } catch (Exception | LinkageError error) {
                throw new ScriptError("the " + name + " adapter (" + file + ") failed: " + error);
            }
        }
    }

    /** The raw bridge as Groovy sees it: any method call goes to the task process. */
    public static final class GroovyApiBridge extends groovy.lang.GroovyObjectSupport {
        final ApiBridge bridge;

        GroovyApiBridge(Connection connection, String api) {
            bridge = new ApiBridge(connection, api);
        }

        @Override
        public Object invokeMethod(String name, Object args) {
            Object[] arguments = args instanceof Object[] ? (Object[]) args : new Object[] {args};
            return bridge.invoke(name, arguments);
        }

        @Override
        public String toString() {
            return bridge.toString();
        }
    }

    // -- JavaScript (Rhino) --------------------------------------------------------------------------

    static final class JavaScriptRunner {
        /** Java maps and lists usable as JS objects and arrays (``variables["K"]``). */
        static final org.mozilla.javascript.ContextFactory FACTORY = new org.mozilla.javascript.ContextFactory() {
            @Override
            protected boolean hasFeature(org.mozilla.javascript.Context cx, int feature) {
                if (feature == org.mozilla.javascript.Context.FEATURE_ENABLE_JAVA_MAP_ACCESS) {
                    return true;
                }
                return super.hasFeature(cx, feature);
            }
        };
        /** Nashorn's ``Java.type("a.b.C")``, which ProActive's JavaScript scripts use. */
        static final String PRELUDE = "var Java = {type: function (name) {"
                + " var o = Packages; name.split('.').forEach(function (p) { o = o[p]; }); return o; }};";

        static org.mozilla.javascript.Script compiledPrelude;

        /** The prelude, compiled once (interpreted code holds no scope: each execution runs it in its own). */
        static synchronized org.mozilla.javascript.Script prelude(org.mozilla.javascript.Context cx) {
            if (compiledPrelude == null) {
                compiledPrelude = cx.compileString(PRELUDE, "<prelude>", 1, null);
            }
            return compiledPrelude;
        }

        static Map<String, Object> run(Execution execution, Map<String, Object> names) throws ScriptError {
            org.mozilla.javascript.Context cx = FACTORY.enterContext();
            try {
                cx.setLanguageVersion(org.mozilla.javascript.Context.VERSION_ES6);
                cx.setOptimizationLevel(-1); // interpreted: compiling to classes costs more than a task
                cx.getWrapFactory().setJavaPrimitiveWrap(false);
                org.mozilla.javascript.ImporterTopLevel scope = new org.mozilla.javascript.ImporterTopLevel(cx);
                prelude(cx).exec(cx, scope);
                scope.put("print", scope, new Print());
                for (Map.Entry<String, Object> name : names.entrySet()) {
                    Object value = name.getValue();
                    if (value instanceof List && name.getKey().equals("results")) {
                        value = ((List<?>) value).toArray(); // results[i], results.length
                    }
                    scope.put(name.getKey(), scope, org.mozilla.javascript.Context.javaToJS(value, scope));
                }
                for (String api : execution.apis.keySet()) {
                    scope.put(api, scope, new JsApiBridge(new ApiBridge(execution.connection, api)));
                }
                try {
                    cx.evaluateString(scope, execution.source, execution.origin, 1, null);
                } catch (org.mozilla.javascript.RhinoException error) {
                    Throwable cause = error instanceof org.mozilla.javascript.WrappedException
                            ? ((org.mozilla.javascript.WrappedException) error).getWrappedException() : error;
                    if (exitOf(cause) != null) {
                        endedBy(cause, execution, execution.origin);
                    } else {
                        String message = cause == error ? error.getMessage()
                                : cause + " (" + execution.origin + "#" + error.lineNumber() + ")";
                        throw new ScriptError(message);
                    }
                } catch (RuntimeException error) {
                    endedBy(error, execution, execution.origin);
                }
                Map<String, Object> set = new LinkedHashMap<>();
                for (String output : OUTPUTS) {
                    Object value = scope.get(output, scope);
                    if (value != org.mozilla.javascript.Scriptable.NOT_FOUND) {
                        set.put(output, toJava(value));
                    }
                }
                for (String map : new String[] {"variables", "resultMap", "resultMetadata"}) {
                    Object value = names.get(map);
                    if (value instanceof Map) {
                        @SuppressWarnings("unchecked")
                        Map<String, Object> entries = (Map<String, Object>) value;
                        entries.replaceAll((k, v) -> toJava(v));
                    }
                }
                return set;
            } finally {
                org.mozilla.javascript.Context.exit();
            }
        }

        /** A JS value as a plain Java one (numbers that are whole as Long). */
        static Object toJava(Object value) {
            if (value instanceof org.mozilla.javascript.Wrapper) {
                return ((org.mozilla.javascript.Wrapper) value).unwrap();
            }
            if (value == null || value instanceof org.mozilla.javascript.Undefined) {
                return null;
            }
            if (value instanceof Number && !(value instanceof Integer || value instanceof Long)) {
                double d = ((Number) value).doubleValue();
                return d == Math.rint(d) && Math.abs(d) < 1e15 ? (Object) (long) d : value;
            }
            if (value instanceof CharSequence) {
                return value.toString();
            }
            if (value instanceof org.mozilla.javascript.NativeArray) {
                List<Object> list = new ArrayList<>();
                for (Object item : (org.mozilla.javascript.NativeArray) value) {
                    list.add(toJava(item));
                }
                return list;
            }
            if (value instanceof org.mozilla.javascript.NativeObject) {
                Map<String, Object> map = new LinkedHashMap<>();
                for (Map.Entry<Object, Object> entry : ((org.mozilla.javascript.NativeObject) value).entrySet()) {
                    map.put(String.valueOf(entry.getKey()), toJava(entry.getValue()));
                }
                return map;
            }
            if (value instanceof org.mozilla.javascript.Scriptable) {
                return org.mozilla.javascript.Context.toString(value);
            }
            return value;
        }

        /** Nashorn's and Rhino shell's ``print``: its arguments, spaced, and a new line. */
        static final class Print extends org.mozilla.javascript.BaseFunction {
            @Override
            public Object call(org.mozilla.javascript.Context cx, org.mozilla.javascript.Scriptable scope,
                    org.mozilla.javascript.Scriptable thisObj, Object[] args) {
                StringBuilder line = new StringBuilder();
                for (int i = 0; i < args.length; i++) {
                    line.append(i > 0 ? " " : "").append(org.mozilla.javascript.Context.toString(args[i]));
                }
                System.out.println(line);
                return org.mozilla.javascript.Context.getUndefinedValue();
            }
        }
    }

    /** The raw bridge as JavaScript sees it: ``N.m(a, b)`` for any ``m``. */
    static final class JsApiBridge extends org.mozilla.javascript.ScriptableObject {
        final ApiBridge bridge;

        JsApiBridge(ApiBridge bridge) {
            this.bridge = bridge;
        }

        @Override
        public String getClassName() {
            return "ApiBridge";
        }

        @Override
        public Object get(String name, org.mozilla.javascript.Scriptable start) {
            return new org.mozilla.javascript.BaseFunction() {
                @Override
                public Object call(org.mozilla.javascript.Context cx, org.mozilla.javascript.Scriptable scope,
                        org.mozilla.javascript.Scriptable thisObj, Object[] args) {
                    Object[] arguments = new Object[args.length];
                    for (int i = 0; i < args.length; i++) {
                        arguments[i] = JavaScriptRunner.toJava(args[i]);
                    }
                    return org.mozilla.javascript.Context.javaToJS(bridge.invoke(name, arguments), scope);
                }
            };
        }
    }

    private RunyardEvaluator() {
    }
}
