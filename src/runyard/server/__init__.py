"""``runyard server``: the REST API, the scheduler and the local node source in one process tree."""
