"""Machine learning: the task-side ML library, AutoML, model servers and job analytics."""
