/*
 * ProActive's job variable, as scripts build them for signalapi.readyForSignal
 * (`new JobVariable(name, value, model, description, group, advanced, hidden)`).
 */
package org.ow2.proactive.scheduler.common.job;

import java.io.Serializable;

public class JobVariable implements Serializable {
    private String name;
    private String value;
    private String model;
    private String description;
    private String group;
    private boolean advanced;
    private boolean hidden;

    public JobVariable() {
    }

    public JobVariable(String name, String value) {
        this(name, value, null);
    }

    public JobVariable(String name, String value, String model) {
        this(name, value, model, null, null, false, false);
    }

    public JobVariable(String name, String value, String model, String description, String group,
            boolean advanced, boolean hidden) {
        this.name = name;
        this.value = value;
        this.model = model;
        this.description = description;
        this.group = group;
        this.advanced = advanced;
        this.hidden = hidden;
    }

    public String getName() { return name; }
    public void setName(String name) { this.name = name; }
    public String getValue() { return value; }
    public void setValue(String value) { this.value = value; }
    public String getModel() { return model; }
    public void setModel(String model) { this.model = model; }
    public String getDescription() { return description; }
    public void setDescription(String description) { this.description = description; }
    public String getGroup() { return group; }
    public void setGroup(String group) { this.group = group; }
    public boolean isAdvanced() { return advanced; }
    public void setAdvanced(boolean advanced) { this.advanced = advanced; }
    public boolean isHidden() { return hidden; }
    public void setHidden(boolean hidden) { this.hidden = hidden; }

    @Override
    public String toString() {
        return "JobVariable{name='" + name + "', value='" + value + "', model='" + model + "', description='"
                + description + "', group='" + group + "', advanced=" + advanced + ", hidden=" + hidden + "}";
    }
}
