import pytest

from model_export.student import kept_layers


@pytest.mark.parametrize(
    ("total", "keep", "head", "expected"),
    [(30, 4, 1, [0, 27, 28, 29]), (30, 12, 3, [0, 1, 2, *range(21, 30)]), (5, 5, 2, [0, 1, 2, 3, 4]), (30, 1, 0, [29])],
)
def test_kept_layers_drop_one_contiguous_middle_block(total, keep, head, expected):
    assert kept_layers(total, keep, head) == expected


def test_kept_layers_rejects_impossible_requests():
    with pytest.raises(ValueError):
        kept_layers(30, 31, 3)
    with pytest.raises(ValueError):
        kept_layers(30, 4, 5)
