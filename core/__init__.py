"""ringwatch: graph-analytics fraud-ring detection for Chinese social insurance (社保).

Top-level package. Subpackages are installed from the repository's top-level folders:
``ringwatch.loaders`` (loaders/), ``ringwatch.graph`` (graph/), ``ringwatch.detectors``
(detectors/), ``ringwatch.dashboard`` (dashboard/) and ``ringwatch.synth`` (synth/).
"""

__version__ = "0.1.0"
