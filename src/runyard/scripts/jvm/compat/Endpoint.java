/* Where a PSA service deployment listens; the platform answers its own proxy URL for a proxyfied one. */
package org.ow2.proactive.pca.service.client.model;

import java.util.LinkedHashMap;
import java.util.Map;
import org.ow2.proactive.pca.service.client.JSON;

public class Endpoint {
    private String id;
    private String url;
    private Boolean proxyfied;
    private String proxyfiedUrl;

    public String getId() { return id; }
    public void setId(String id) { this.id = id; }
    public String getUrl() { return url; }
    public void setUrl(String url) { this.url = url; }
    public Boolean getProxyfied() { return proxyfied; }
    public Boolean isProxyfied() { return proxyfied; }
    public void setProxyfied(Boolean proxyfied) { this.proxyfied = proxyfied; }
    public String getProxyfiedUrl() { return proxyfiedUrl; }
    public void setProxyfiedUrl(String proxyfiedUrl) { this.proxyfiedUrl = proxyfiedUrl; }

    public static Endpoint fromJson(Map<?, ?> json) {
        Endpoint endpoint = new Endpoint();
        endpoint.id = JSON.string(json, "id");
        endpoint.url = JSON.string(json, "url");
        endpoint.proxyfied = JSON.bool(json, "proxyfied");
        endpoint.proxyfiedUrl = JSON.string(json, "proxyfiedUrl");
        return endpoint;
    }

    public Map<String, Object> toJson() {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("id", id);
        json.put("url", url);
        json.put("proxyfied", proxyfied != null && proxyfied);
        json.put("proxyfiedUrl", proxyfiedUrl);
        return json;
    }

    @Override
    public String toString() { return "Endpoint" + toJson(); }
}
