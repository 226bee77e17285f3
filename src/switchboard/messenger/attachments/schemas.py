"""How the APIs show an uploaded file."""

from __future__ import annotations

from pydantic import BaseModel, Field

#: The longest file name kept (longer ones are cut, keeping the extension).
NAME_LIMIT = 200


class AttachmentView(BaseModel):
    id: int
    name: str = Field(description="The name the uploader gave the file (shown, never a path)")
    content_type: str = Field(description="Found from the file's content, not from its name")
    bytes: int
    url: str | None = Field(
        description="A signed, expiring download link (works in `<img src>`, no headers needed)"
    )
    is_image: bool


#: The OpenAPI description of an upload's body (read as a stream, not by FastAPI's form parser).
def upload_body(*, with_inbox: bool) -> dict[str, object]:
    properties: dict[str, object] = {
        "file": {"type": "string", "format": "binary", "description": "The file"},
    }
    required = ["file"]
    if with_inbox:
        properties = {
            "inbox": {
                "type": "string",
                "minLength": 1,
                "maxLength": 100,
                "description": "The widget's public key (send it before the file)",
            },
            **properties,
        }
        required = ["inbox", "file"]
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": properties,
                        "required": required,
                        "additionalProperties": False,
                    }
                }
            },
        }
    }
