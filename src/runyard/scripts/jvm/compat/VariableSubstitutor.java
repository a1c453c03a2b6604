/*
 * ProActive's variable substitution: `${NAME}` (and `$NAME`) in a text replaced by the variable's value,
 * repeatedly while a value brings other references; unknown names are left as they are.
 */
package org.ow2.proactive.scheduler.common.util;

import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

public final class VariableSubstitutor {
    private static final Pattern REFERENCE = Pattern.compile("\\$\\{([A-Za-z0-9_.]+)\\}|\\$([A-Za-z_][A-Za-z0-9_]*)");
    /** Enough for chains of references; a cycle stops here. */
    private static final int MAX_DEPTH = 20;

    private VariableSubstitutor() {
    }

    public static String filterAndUpdate(String input, Map<String, ?> variables) {
        if (input == null || variables == null) {
            return input;
        }
        String text = input;
        for (int depth = 0; depth < MAX_DEPTH; depth++) {
            String next = substitute(text, variables);
            if (next.equals(text)) {
                break;
            }
            text = next;
        }
        return text;
    }

    private static String substitute(String text, Map<String, ?> variables) {
        Matcher matcher = REFERENCE.matcher(text);
        StringBuilder out = new StringBuilder();
        while (matcher.find()) {
            String name = matcher.group(1) != null ? matcher.group(1) : matcher.group(2);
            Object value = variables.get(name);
            String replacement = value == null ? matcher.group() : String.valueOf(value);
            matcher.appendReplacement(out, Matcher.quoteReplacement(replacement));
        }
        matcher.appendTail(out);
        return out.toString();
    }
}
