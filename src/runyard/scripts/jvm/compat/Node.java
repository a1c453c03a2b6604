/* The node a PSA service deployment runs on. */
package org.ow2.proactive.pca.service.client.model;

import java.util.LinkedHashMap;
import java.util.Map;
import org.ow2.proactive.pca.service.client.JSON;

public class Node {
    private String name;
    private String host;
    private String nodeSourceName;
    private String url;

    public String getName() { return name; }
    public void setName(String name) { this.name = name; }
    public String getHost() { return host; }
    public void setHost(String host) { this.host = host; }
    public String getNodeSourceName() { return nodeSourceName; }
    public void setNodeSourceName(String nodeSourceName) { this.nodeSourceName = nodeSourceName; }
    public String getUrl() { return url; }
    public void setUrl(String url) { this.url = url; }

    public static Node fromJson(Map<?, ?> json) {
        Node node = new Node();
        node.name = JSON.string(json, "name");
        node.host = JSON.string(json, "host");
        node.nodeSourceName = JSON.string(json, "node_source_name");
        node.url = JSON.string(json, "url");
        return node;
    }

    public Map<String, Object> toJson() {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("name", name);
        json.put("host", host);
        json.put("node_source_name", nodeSourceName);
        json.put("url", url);
        return json;
    }

    @Override
    public String toString() { return "Node" + toJson(); }
}
