"""The functions behind the ``machine-learning`` bucket's tasks, one module per family of the seed's
task reference (§12.2): each public function is one catalog task, called as ``f(variables, results,
userspace)`` and returning the task's artifact (see ``runyard.ml.artifacts``)."""
