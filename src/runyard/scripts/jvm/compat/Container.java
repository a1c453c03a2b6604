/* The container a PSA service deployment runs in. */
package org.ow2.proactive.pca.service.client.model;

import java.util.LinkedHashMap;
import java.util.Map;
import org.ow2.proactive.pca.service.client.JSON;

public class Container {
    private String id;
    private String name;

    public String getId() { return id; }
    public void setId(String id) { this.id = id; }
    public String getName() { return name; }
    public void setName(String name) { this.name = name; }

    public static Container fromJson(Map<?, ?> json) {
        Container container = new Container();
        container.id = JSON.string(json, "id");
        container.name = JSON.string(json, "name");
        return container;
    }

    public Map<String, Object> toJson() {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("id", id);
        json.put("name", name);
        return json;
    }

    @Override
    public String toString() { return "Container" + toJson(); }
}
