from model_export.scoring import lead, rouge, sentences


def test_sentences_split_on_terminal_punctuation_and_quotes():
    text = 'He said "it is over." Then he left. Rates fell 1.5 per cent. U.S. data? Yes!'
    assert sentences(text) == [
        'He said "it is over."',
        "Then he left.",
        "Rates fell 1.5 per cent.",
        "U.S. data?",
        "Yes!",
    ]


def test_lead_takes_the_first_sentences():
    assert lead("One. Two. Three. Four.", 3) == "One. Two. Three."


def test_rouge_is_100_for_identical_text_including_empty_and_lower_for_different():
    assert rouge(["A cat sat.", ""], ["A cat sat.", ""]) == {"rouge1": 100.0, "rouge2": 100.0, "rougeLsum": 100.0}
    partial = rouge(["A cat sat on the mat."], ["A dog sat on the rug."])
    assert 0 < partial["rouge1"] < 100 and partial["rouge2"] < partial["rouge1"]
