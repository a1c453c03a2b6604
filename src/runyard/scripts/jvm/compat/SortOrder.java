package org.ow2.proactive.db;

public enum SortOrder {
    ASC, DESC
}
