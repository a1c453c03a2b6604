/*
 * ProActive's selection script helpers, as ProActive's workflows import them
 * (`import org.ow2.proactive.scripting.helper.selection.SelectionUtils`): each answers whether the node
 * running the script has what the task needs. Compiled with RunyardEvaluator.java (launcher.py).
 */
package org.ow2.proactive.scripting.helper.selection;

import java.io.File;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.util.Collections;
import java.util.Locale;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

public final class SelectionUtils {
    private SelectionUtils() {
    }

    /** Whether the OS name (``os.name``: Linux, Mac OS X, Windows 10...) matches ``name``: contains it,
     *  or matches it as a regular expression, case ignored. */
    public static boolean checkOSName(String name) {
        return matches(System.getProperty("os.name"), name);
    }

    public static boolean checkOSArch(String arch) {
        return matches(System.getProperty("os.arch"), arch);
    }

    public static boolean checkOSVersion(String version) {
        return matches(System.getProperty("os.version"), version);
    }

    /** Whether the JVM's system property ``name`` matches ``value``. */
    public static boolean checkJavaProperty(String name, String value) {
        String actual = System.getProperty(name);
        return actual != null && matches(actual, value);
    }

    /** Whether the JVM may still use at least ``bytes`` of memory. */
    public static boolean checkFreeMemory(long bytes) {
        Runtime runtime = Runtime.getRuntime();
        return runtime.maxMemory() - (runtime.totalMemory() - runtime.freeMemory()) >= bytes;
    }

    /** Whether ``command`` is an executable on the PATH (or a path to one). */
    public static boolean checkExec(String command) {
        if (command.contains(File.separator)) {
            return new File(command).canExecute();
        }
        String path = System.getenv("PATH");
        for (String folder : (path == null ? "" : path).split(File.pathSeparator)) {
            if (!folder.isEmpty() && new File(folder, command).canExecute()) {
                return true;
            }
        }
        return false;
    }

    public static boolean checkFileExist(String path) {
        return new File(path).exists();
    }

    public static boolean checkWritableDirectory(String path) {
        File folder = new File(path);
        return folder.isDirectory() && folder.canWrite();
    }

    /** Whether the node's host name matches ``name``. */
    public static boolean checkHostName(String name) {
        try {
            return matches(InetAddress.getLocalHost().getHostName(), name);
        } catch (java.io.IOException unknown) {
            return false;
        }
    }

    /** Whether one of the node's addresses matches ``ip``. */
    public static boolean checkIp(String ip) {
        try {
            for (NetworkInterface face : Collections.list(NetworkInterface.getNetworkInterfaces())) {
                for (InetAddress address : Collections.list(face.getInetAddresses())) {
                    if (matches(address.getHostAddress(), ip)) {
                        return true;
                    }
                }
            }
        } catch (java.io.IOException unreadable) {
            return false;
        }
        return false;
    }

    static boolean matches(String actual, String wanted) {
        if (actual == null || wanted == null) {
            return false;
        }
        String text = actual.toLowerCase(Locale.ROOT);
        String pattern = wanted.toLowerCase(Locale.ROOT);
        if (text.contains(pattern)) {
            return true;
        }
        try {
            return Pattern.compile(pattern).matcher(text).matches();
        } catch (PatternSyntaxException notAPattern) {
            return false;
        }
    }
}
