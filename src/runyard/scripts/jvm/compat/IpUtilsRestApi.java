/*
 * PSA's "my public address": the address this node reaches the server from, the local end of a connection
 * to the server's host and port (what the server would see without NAT in between).
 */
package org.ow2.proactive.pca.service.client.api;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import org.ow2.proactive.pca.service.client.ApiClient;
import org.ow2.proactive.pca.service.client.ApiException;

public class IpUtilsRestApi {
    private static final int TIMEOUT_MILLIS = 10_000;
    private final ApiClient client;

    public IpUtilsRestApi(ApiClient client) {
        this.client = client;
    }

    public String getMyRemotePublicAddr(String sessionId) throws ApiException {
        URI server = URI.create(client.getBasePath());
        int port = server.getPort() != -1 ? server.getPort() : "https".equals(server.getScheme()) ? 443 : 80;
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(server.getHost(), port), TIMEOUT_MILLIS);
            return socket.getLocalAddress().getHostAddress();
        } catch (IOException e) {
            throw new ApiException(0, "cannot reach " + server + ": " + e, null);
        }
    }
}
