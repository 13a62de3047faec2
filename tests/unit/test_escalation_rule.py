from functions.runtime.escalation_rule import decide


def test_fits_the_budget_exactly_stays_local():
    d = decide(928, 96, 1024)
    assert d.route == "local" and d.needed == 1024


def test_one_token_over_escalates_with_the_count():
    d = decide(929, 96, 1024)
    assert d.route == "escalate" and (d.prompt_tokens, d.max_new_tokens, d.budget) == (929, 96, 1024)
