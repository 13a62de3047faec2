"""moto's server on loopback: the S3/SNS/SQS stand-in the tests and benchmarks talk to over
real HTTP. boto3 reaches it through the AWS_* variables this yields (AWS_ENDPOINT_URL)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def moto_server() -> Iterator[dict[str, str]]:
    from moto.server import ThreadedMotoServer  # a dev dependency

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield {
            "AWS_ENDPOINT_URL": f"http://{host}:{port}",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
    finally:
        server.stop()
