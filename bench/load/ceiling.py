"""The ceiling of the load test: a bare Starlette endpoint answering a fixed JSON body of the same size as
an institution profile query, served with the same uvicorn settings as ``fincredit serve``.

    FINCREDIT_CEILING_BYTES=3500 uvicorn bench.load.ceiling:app --workers 2 --http httptools --loop uvloop
"""

from __future__ import annotations

import json
import os

from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route


def _body(size: int) -> bytes:
    """A JSON object of exactly ``size`` bytes (at least 16)."""
    head = b'{"padding":"'
    tail = b'"}'
    return head + b"x" * max(0, size - len(head) - len(tail)) + tail


BODY = _body(int(os.environ.get("FINCREDIT_CEILING_BYTES", "3000")))
assert json.loads(BODY)


async def profile(_request) -> Response:  # type: ignore[no-untyped-def]
    return Response(BODY, media_type="application/json")


app = Starlette(routes=[Route("/api/v1/enterprises/{uscc}", profile)])
