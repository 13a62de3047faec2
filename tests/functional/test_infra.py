"""The deployment template: valid CloudFormation/SAM, and in step with the typed settings."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from functions.config import EndpointSettings, Settings
from tests.conftest import ROOT

TEMPLATE = ROOT / "infra" / "template.yaml"


def test_sam_template_passes_cfn_lint():
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("cfn-lint")), str(TEMPLATE)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_newsburst_variable_the_template_sets_is_a_setting():
    names = set(re.findall(r"\b(NEWSBURST_[A-Z_]+):", TEMPLATE.read_text()))
    known = {f"NEWSBURST_{f.upper()}" for f in Settings.model_fields}
    known |= {f"NEWSBURST_GPU_{f.upper()}" for f in EndpointSettings.model_fields}  # the SageMaker model's
    assert names and names <= known, names - known


def test_the_gpu_image_serves_the_settings_it_sets():
    dockerfile = (ROOT / "infra" / "gpu" / "Dockerfile").read_text()
    names = set(re.findall(r"\b(NEWSBURST_GPU_[A-Z_]+)=", dockerfile))
    assert names and names <= {f"NEWSBURST_GPU_{f.upper()}" for f in EndpointSettings.model_fields}
    assert 'CMD ["serve"]' in dockerfile and "/opt/ml/model" in dockerfile


@pytest.mark.skipif(shutil.which("sam") is None, reason="the AWS SAM CLI is not installed here")
def test_sam_validate_lint_passes_offline():
    proc = subprocess.run(
        ["sam", "validate", "--lint", "--template-file", str(TEMPLATE)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
