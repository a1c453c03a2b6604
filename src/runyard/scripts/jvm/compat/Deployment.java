/* One deployment of a PSA service instance: its node, container and endpoint. */
package org.ow2.proactive.pca.service.client.model;

import java.util.LinkedHashMap;
import java.util.Map;
import org.ow2.proactive.pca.service.client.JSON;

public class Deployment {
    private Node node;
    private Container container;
    private Endpoint endpoint;

    public Node getNode() { return node; }
    public void setNode(Node node) { this.node = node; }
    public Container getContainer() { return container; }
    public void setContainer(Container container) { this.container = container; }
    public Endpoint getEndpoint() { return endpoint; }
    public void setEndpoint(Endpoint endpoint) { this.endpoint = endpoint; }

    public static Deployment fromJson(Map<?, ?> json) {
        Deployment deployment = new Deployment();
        deployment.node = JSON.nullable(json.get("node"), Node::fromJson);
        deployment.container = JSON.nullable(json.get("container"), Container::fromJson);
        deployment.endpoint = JSON.nullable(json.get("endpoint"), Endpoint::fromJson);
        return deployment;
    }

    public Map<String, Object> toJson() {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("node", node == null ? null : node.toJson());
        json.put("container", container == null ? null : container.toJson());
        json.put("endpoint", endpoint == null ? null : endpoint.toJson());
        return json;
    }

    @Override
    public String toString() { return "Deployment" + toJson(); }
}
