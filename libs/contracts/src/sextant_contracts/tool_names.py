"""The names of the tools the tools service serves: the orchestrator plans, reads and
composes answers by these names, and the tools service registers its tools under them.

Spelled once, here: a tool renamed on one side alone would have made the other side's
plans fail as "unknown tool" at run time. (Plain strings, not an enum: they travel in
checkpointed workflow state and in JSON unchanged.) ``tests/unit/test_vocabulary.py``
fails when one is spelled anywhere else.
"""

from typing import Final

PROFILE_DATASET: Final = "profile_dataset"
QUERY: Final = "query"
DESCRIPTIVE_STATISTICS: Final = "descriptive_statistics"
CORRELATION_MATRIX: Final = "correlation_matrix"
GROUP_BY_AGGREGATE: Final = "group_by_aggregate"
TOP_CATEGORIES: Final = "top_categories"
OUTLIER_DETECTION: Final = "outlier_detection"
TIME_SERIES_TREND: Final = "time_series_trend"
WEB_FETCH: Final = "web_fetch"

ALL: Final = frozenset(
    {
        PROFILE_DATASET,
        QUERY,
        DESCRIPTIVE_STATISTICS,
        CORRELATION_MATRIX,
        GROUP_BY_AGGREGATE,
        TOP_CATEGORIES,
        OUTLIER_DETECTION,
        TIME_SERIES_TREND,
        WEB_FETCH,
    }
)

ASK_PERSON: Final = "ask_person"
"""Not a tool of the tools service: offered to a model that plans with tool calls when
the analysis may ask for clarification; calling it pauses the analysis (an interrupt)
until the person who asked answers, and the answer is the call's result."""
