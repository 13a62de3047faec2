from functions.runtime.guard import check, degenerate

ARTICLE = (
    "Queensland Premier Peter Beattie says more than 1,000 people were evacuated. "
    "The Reserve Bank cut rates to 4.25 per cent on Tuesday, Mr Beattie's office said. "
    "Energex crews worked in Brisbane's west."
)


def test_supported_numbers_match_whatever_their_commas():
    assert check("About 1000 people left as rates hit 4.25 per cent.", ARTICLE).unsupported_claims == []
    assert check("About 1,000 people left.", "Some 1000 people left.").unsupported_claims == []


def test_invented_numbers_are_listed_and_flag_the_summary():
    report = check("About 1,500 people left and rates fell to 4.5 per cent.", ARTICLE)
    assert report.unsupported_claims == ["1,500", "4.5"]
    assert report.flagged


def test_possessives_and_sentence_initial_capitals_are_not_claims():
    summary = "The Premier said Beattie's office and Brisbane's crews helped. Meanwhile Energex worked."
    assert check(summary, ARTICLE).unsupported_claims == []


def test_invented_names_are_listed_once():
    report = check("Energex thanked Prime Minister John Howard. Later John Howard visited.", ARTICLE)
    assert report.unsupported_claims == ["Prime Minister John Howard", "John Howard"]
    cited = check("He cited the Journal of Economics and Economics.", ARTICLE)
    assert cited.unsupported_claims == ["Journal", "Economics"]


def test_degenerate_outputs_are_detected():
    assert degenerate("   \n ") == "empty"
    assert degenerate("the article also highlights " * 4) == "repetition"
    assert degenerate("Rates fell. Markets rose on the news.") is None
    assert check("", ARTICLE).degenerate == "empty"
