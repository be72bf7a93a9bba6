"""A file as a response: its media type and a Content-Disposition with the name, UTF-8 safe."""

from __future__ import annotations

from urllib.parse import quote

from fastapi.responses import Response


def download(content: bytes, media_type: str, name: str, *, inline: bool = False) -> Response:
    how = "inline" if inline else "attachment"
    return Response(
        content=content,
        media_type=media_type,
        headers={"Content-Disposition": f"{how}; filename*=UTF-8''{quote(name, safe='')}"},
    )
