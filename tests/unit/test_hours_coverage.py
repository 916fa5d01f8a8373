"""What people are told about when peers answer comes from the peers' shifts (issue 15)."""
from core import hours

WEEKDAYS = {d: [["09:00", "17:00"]] for d in hours.DAYS[:5]}


def test_coverage_is_the_union_of_the_peers_shifts_in_both_languages():
    evening = {"mon": [["16:00", "20:00"]]}
    assert hours.coverage([WEEKDAYS, evening, None]) == {
        "en": "Mon 9am-8pm; Tue-Fri 9am-5pm", "es": "lun 9am-8pm; mar-vie 9am-5pm"}


def test_no_shift_anywhere_leaves_the_supervisors_setting():
    assert hours.coverage([None, {}]) is None
