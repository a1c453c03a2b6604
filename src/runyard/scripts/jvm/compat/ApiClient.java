/*
 * The PSA Java client's connection (`new ApiClient().setBasePath(PA_CLOUD_AUTOMATION_REST_URL)`): JSON over
 * HTTP to runyard's /cloud-automation-service routes, the session passed in the `sessionid` header.
 */
package org.ow2.proactive.pca.service.client;

import groovy.json.JsonOutput;
import groovy.json.JsonSlurper;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.StringJoiner;

public class ApiClient {
    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    private String basePath = "http://localhost:8080/cloud-automation-service";
    private boolean debugging;
    private HttpClient http;

    public ApiClient setBasePath(String basePath) {
        this.basePath = basePath.endsWith("/") ? basePath.substring(0, basePath.length() - 1) : basePath;
        return this;
    }

    public String getBasePath() {
        return basePath;
    }

    /** Print each request and the status of its answer. */
    public ApiClient setDebugging(boolean debugging) {
        this.debugging = debugging;
        return this;
    }

    public boolean isDebugging() {
        return debugging;
    }

    /**
     * The JSON answer of `method path?query` (read as maps, lists and scalars), `body` sent as JSON when not
     * null; an {@link ApiException} with the server's status and message when it is not a success.
     */
    public Object invoke(String method, String path, Map<String, ?> query, String sessionId, Object body)
            throws ApiException {
        String url = basePath + path + queryString(query);
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url)).timeout(TIMEOUT)
                .header("Accept", "application/json");
        if (sessionId != null) {
            request.header("sessionid", sessionId);
        }
        if (body == null) {
            request.method(method, HttpRequest.BodyPublishers.noBody());
        } else {
            request.header("Content-Type", "application/json");
            request.method(method, HttpRequest.BodyPublishers.ofString(JsonOutput.toJson(body)));
        }
        HttpResponse<String> response;
        try {
            response = client().send(request.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new ApiException(0, method + " " + url + " failed: " + e, null);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ApiException(0, method + " " + url + " interrupted", null);
        }
        if (debugging) {
            System.out.println(method + " " + url + " -> " + response.statusCode());
        }
        String text = response.body();
        if (response.statusCode() / 100 != 2) {
            throw new ApiException(response.statusCode(), errorMessage(text), text);
        }
        return text == null || text.isBlank() ? null : new JsonSlurper().parseText(text);
    }

    private synchronized HttpClient client() {
        if (http == null) {
            http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(TIMEOUT).build();
        }
        return http;
    }

    private static String queryString(Map<String, ?> query) {
        StringJoiner joined = new StringJoiner("&", "?", "").setEmptyValue("");
        if (query != null) {
            query.forEach((name, value) -> {
                if (value != null) {
                    joined.add(name + "=" + URLEncoder.encode(String.valueOf(value), StandardCharsets.UTF_8));
                }
            });
        }
        return joined.toString();
    }

    /** ProActive's error JSON says why in `errorMessage`; anything else is shown as it came. */
    private static String errorMessage(String text) {
        try {
            Object parsed = new JsonSlurper().parseText(text);
            if (parsed instanceof Map && ((Map<?, ?>) parsed).get("errorMessage") != null) {
                return String.valueOf(((Map<?, ?>) parsed).get("errorMessage"));
            }
        } catch (RuntimeException e) {
            // not JSON: the text itself
        }
        return text;
    }
}
