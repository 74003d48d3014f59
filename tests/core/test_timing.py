"""Phase timing: what a command records, and that nothing is recorded outside one."""

import time

from adcut.core.timing import phase, recording


def test_phases_add_up_in_the_order_first_seen():
    with recording() as phases:
        with phase("voice"):
            time.sleep(0.02)
        with phase("encode"):
            pass
        with phase("voice"):
            time.sleep(0.02)
    assert list(phases) == ["voice", "encode"]
    assert phases["voice"] >= 0.04 and phases["encode"] < phases["voice"]


def test_outside_a_recording_nothing_is_kept():
    with phase("voice"):
        pass
    with recording() as phases:
        pass
    assert phases == {}
