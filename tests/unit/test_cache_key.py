from functions.cache.key import ModelFingerprint, cache_key

FP = ModelFingerprint("v1", "tok", "summary-v1", (("max_new_tokens", 96),))


def test_key_ignores_whitespace_and_unicode_form_but_not_words():
    a = cache_key(FP, "The  council met\non Monday. Café")
    assert a == cache_key(FP, " The council met on Monday. Cafe\u0301 ")
    assert a != cache_key(FP, "The council met on Tuesday. Café")


def test_every_part_of_the_fingerprint_changes_the_key():
    base = cache_key(FP, "text")
    variants = [
        ModelFingerprint("v2", "tok", "summary-v1", (("max_new_tokens", 96),)),
        ModelFingerprint("v1", "tok2", "summary-v1", (("max_new_tokens", 96),)),
        ModelFingerprint("v1", "tok", "summary-v2", (("max_new_tokens", 96),)),
        ModelFingerprint("v1", "tok", "summary-v1", (("max_new_tokens", 64),)),
        ModelFingerprint("v1", "tok", "summary-v1", (("max_new_tokens", 96),), confidence_threshold=-1.5),
        ModelFingerprint("v1", "tok", "summary-v1", (("max_new_tokens", 96),), escalation_model="gpu@teacher-2"),
    ]
    keys = {cache_key(v, "text") for v in variants}
    assert base not in keys and len(keys) == 6


def test_the_flagged_policy_changes_the_key():
    """Under ``escalate`` the teacher may write what ``deliver`` answers with the student's summary."""
    assert cache_key(FP, "text", "spans", "escalate") != cache_key(FP, "text", "spans", "deliver")


def test_the_format_asked_for_is_part_of_the_key():
    assert cache_key(FP, "text", "spans", "deliver", "brief") != cache_key(FP, "text", "spans", "deliver", "highlights")


def test_a_new_revision_of_the_grounding_rules_changes_the_key(monkeypatch):
    import functions.cache.key as key

    before = cache_key(FP, "text")
    monkeypatch.setattr(key, "RULES_REVISION", key.RULES_REVISION + 1)
    assert cache_key(FP, "text") != before


def test_a_summary_judged_under_other_faithfulness_weights_is_another_entry(monkeypatch):
    import functions.cache.key as key

    before = cache_key(FP, "text")
    monkeypatch.setattr(key, "check_revision", lambda: "other-weights")
    assert cache_key(FP, "text") != before
