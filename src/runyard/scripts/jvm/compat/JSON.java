/* Reading the PSA JSON the client received (maps from groovy.json.JsonSlurper) into typed values. */
package org.ow2.proactive.pca.service.client;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

public final class JSON {
    private JSON() {
    }

    public static Map<?, ?> object(Object json) {
        return json instanceof Map ? (Map<?, ?>) json : Collections.emptyMap();
    }

    public static String string(Map<?, ?> json, String key) {
        Object value = json.get(key);
        return value == null ? null : String.valueOf(value);
    }

    public static Long number(Map<?, ?> json, String key) {
        Object value = json.get(key);
        return value instanceof Number ? ((Number) value).longValue() : null;
    }

    public static Boolean bool(Map<?, ?> json, String key) {
        Object value = json.get(key);
        return value == null ? null : Boolean.valueOf(String.valueOf(value));
    }

    /** A JSON object of scalars as strings (variables). */
    public static Map<String, String> strings(Object json) {
        Map<String, String> strings = new LinkedHashMap<>();
        object(json).forEach((key, value) -> strings.put(String.valueOf(key), value == null ? null : String.valueOf(value)));
        return strings;
    }

    public static <T> List<T> list(Object json, Function<Map<?, ?>, T> read) {
        List<T> list = new ArrayList<>();
        if (json instanceof List) {
            for (Object item : (List<?>) json) {
                list.add(item == null ? null : read.apply(object(item)));
            }
        }
        return list;
    }

    public static <T> T nullable(Object json, Function<Map<?, ?>, T> read) {
        return json instanceof Map ? read.apply((Map<?, ?>) json) : null;
    }
}
