"""File uploads (API §18): ``POST /files`` with one multipart part named ``file``. The id
goes into ``attachments`` of a new ticket or a reply; files never attached are deleted after
24 hours. Downloads are served at the host root (``/files/{id}/view`` and ``/download``)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext
from ninja import File, Router, Schema
from ninja.files import UploadedFile

from saruna.api.auth import ApiError, require
from saruna.api.v3.common import audited, responses
from saruna.tickets import actions

router = Router(tags=["files"])


class StoredFileOut(Schema):
    id: str
    name: str | None = None
    type: str | None = None
    size: int | None = None


@router.post("/files", response=responses(StoredFileOut), summary="Upload a file")
def upload(request: HttpRequest, file: File[UploadedFile]) -> dict[str, Any]:
    key = require(request, "file.add")
    if not (request.content_type or "").startswith("multipart/form-data"):
        raise ApiError(400, gettext("Send the file as multipart/form-data in a part named file."))
    stored = actions.store_file(
        request.account, file.name or "file", file, actor=key.user  # type: ignore[attr-defined]
    )
    audited(request, "api.file.uploaded", stored)
    return {"id": stored.public_id, "name": stored.name, "type": stored.content_type,
            "size": stored.size}
