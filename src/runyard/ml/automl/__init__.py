"""AutoML: the tuner of ``auto-ml-optimization/Multi_Tuners_AutoML`` (docs/automl.md).

Its task runs::

    from runyard.ml.automl import tune
    result = tune(variables, resultMap)
"""

from runyard.ml.automl.driver import tune as tune

__all__ = ["tune"]
