"""``GET /ping`` (API §5): the key is valid and the API answers."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router

from saruna.api.v3.common import OK, OkOut, responses

router = Router(tags=["ping"])


@router.get("/ping", response=responses(OkOut), summary="Check the API key")
def ping(request: HttpRequest) -> dict[str, Any]:
    return OK
