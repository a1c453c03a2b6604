/* A sort key and its order, as ProActive's listings take them (`new SortParameter(JobSortParameter.ID, SortOrder.ASC)`). */
package org.ow2.proactive.db;

import java.io.Serializable;

public class SortParameter<F extends Enum<F>> implements Serializable {
    private final F parameter;
    private final SortOrder sortOrder;

    public SortParameter(F parameter, SortOrder sortOrder) {
        this.parameter = parameter;
        this.sortOrder = sortOrder;
    }

    public F getParameter() { return parameter; }
    public SortOrder getSortOrder() { return sortOrder; }
}
