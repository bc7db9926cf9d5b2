"""Loyalty-program analytics: data contract, synthetic Sergey case, stage metrics."""

from loyalty_lib.dataset import Dataset, load_or_generate
from loyalty_lib.study import Study

__all__ = ["Dataset", "Study", "load_or_generate"]
__version__ = "0.1.0"
