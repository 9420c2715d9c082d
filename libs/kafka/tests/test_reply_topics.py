"""A request/reply server answers only on the reply topics it allows."""

import re

import pytest

from sextant_contracts.catalogue import ANALYSIS_COMPLETED, TOOLS_REPLIED
from sextant_kafka.reply_topics import ReplyTopicNotAllowed, reply_topic_for

REPLIES = TOOLS_REPLIED.name
ALLOWED = re.escape(REPLIES)


def test_the_default_and_allowed_topics_are_answered_on() -> None:
    assert reply_topic_for(None, default=REPLIES, allowed=ALLOWED) == REPLIES
    assert reply_topic_for(REPLIES, default="x", allowed=ALLOWED) == REPLIES


@pytest.mark.parametrize("topic", [ANALYSIS_COMPLETED.name, f"{REPLIES}.evil", f"x{REPLIES}"])
def test_any_other_topic_is_refused(topic: str) -> None:
    with pytest.raises(ReplyTopicNotAllowed, match="not one this service answers on"):
        reply_topic_for(topic, default=REPLIES, allowed=ALLOWED)
