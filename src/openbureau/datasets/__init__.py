"""Public credit datasets as evaluate-ready tables, with shipped factor maps."""

from openbureau.datasets.adapters import ADAPTERS, Dataset, factor_map_path, load_dataset

__all__ = ["ADAPTERS", "Dataset", "factor_map_path", "load_dataset"]
