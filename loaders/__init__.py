"""Loaders: turn a directory of contract tables into graph frames.

``load_directory(data_dir)`` reads, validates and normalises every contract table and
builds the graph frames (writing nothing); ``write_quarantine(result, out_dir)`` writes the
rows that broke a rule to ``out_dir/quarantine/NAME.csv``.
"""

from ringwatch.loaders.load import LoadResult, load_directory, write_quarantine
from ringwatch.loaders.tables import TableReport

__all__ = ["LoadResult", "TableReport", "load_directory", "write_quarantine"]
