from functions.runtime.loops import before_loop, looping, one_paragraph, whole_sentences


def test_a_repeated_tail_is_a_loop_and_is_cut_off():
    start = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
    assert not looping(start)
    looped = [*start, 3, 4, 5, 6, 7, 8]  # the tail 6-gram appeared at positions 2..7
    assert looping(looped) and before_loop(looped) == start


def test_short_repeats_are_not_loops():
    assert not looping([1, 2, 9, 1, 2, 8, 1, 2, 7, 1, 2, 6])  # "of the" recurring is language, not a loop


def test_whole_sentences_drops_an_unfinished_tail_but_never_everything():
    assert whole_sentences("The council met. It approved the budget. The article also") == (
        "The council met. It approved the budget."
    )
    assert whole_sentences("No sentence end here") == "No sentence end here"


def test_a_summary_never_carries_a_line_break_inside_a_sentence():
    assert one_paragraph("The plan includes a $1.\nmillion upgrade.\n\n It passed. ") == (
        "The plan includes a $1. million upgrade. It passed."
    )
