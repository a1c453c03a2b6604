/* What the PSA client throws when the server refuses a call: its HTTP status, message and body. */
package org.ow2.proactive.pca.service.client;

public class ApiException extends Exception {
    private final int code;
    private final String responseBody;

    public ApiException(int code, String message, String responseBody) {
        super(code == 0 ? message : "HTTP " + code + ": " + message);
        this.code = code;
        this.responseBody = responseBody;
    }

    public int getCode() { return code; }
    public String getResponseBody() { return responseBody; }
}
