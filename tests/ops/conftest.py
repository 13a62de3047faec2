"""A service profile with round numbers, so simulated latencies and bills can be computed by hand."""

import json

import pytest

from ops.lambda_model import ServiceProfile

INIT_S = 2.0
SERVICE_S = 1.0  # one item at one thread


@pytest.fixture
def profile() -> ServiceProfile:
    return ServiceProfile(
        init_s=[INIT_S], service_s={1: [SERVICE_S], 2: [0.6]}, tokens_in=[500], batch_s_per_item={1: 1.0, 4: 0.5}
    )


@pytest.fixture
def profile_file(profile, tmp_path):
    path = tmp_path / "profile.json"
    path.write_text(json.dumps(profile.to_json()))
    return path
