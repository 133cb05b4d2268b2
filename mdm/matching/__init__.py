"""Entity matching for master data: standardize, block, score (Fellegi-Sunter with EM), explain, decide, cluster.

Plain Python over columnar data (numpy, rapidfuzz); no Django imports, so it runs on any CSV through
``python -m mdm.matching`` and inside the hub alike::

    from mdm.matching import Matcher, load_spec
    matcher = Matcher(load_spec("items.toml"))
    result = matcher.dedupe(records)          # pairs in the match/review band, clusters
    matches = matcher.match_one(record, candidate_records)
"""

from .blocking import BlockingConfig
from .matcher import DedupeResult, Explanation, LinkResult, Matcher, PairResult, Scores
from .model import Model
from .prepared import Prepared
from .spec import FieldSpec, MatchSpec, load_spec

__all__ = [
    "BlockingConfig",
    "DedupeResult",
    "Explanation",
    "FieldSpec",
    "LinkResult",
    "MatchSpec",
    "Matcher",
    "Model",
    "PairResult",
    "Prepared",
    "Scores",
    "load_spec",
]
