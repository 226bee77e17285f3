"""Where the platform keeps files (call recordings, messenger attachments): a local folder (the
default) or an S3-compatible bucket.

A store saves a finished file under a key and later says where to get it: a path on this machine
to stream, or a short-lived presigned URL to redirect to (the bucket is never public). Domains
put their own signed links in front of it, so the way a file is stored can change without
breaking a link someone keeps.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path
from typing import Any, Protocol

from switchboard.core.http.errors import PeerUnavailable

#: A presigned URL from the bucket is valid this long: enough to start reading.
PRESIGNED_SECONDS = 300


class BlobStore(Protocol):
    name: str

    async def save(self, key: str, source: Path, content_type: str) -> None:
        """Keep the file at `source` (copied; the caller removes its own) as `key`."""
        ...

    async def locate(
        self, key: str, *, filename: str, content_type: str, disposition: str | None = None
    ) -> Path | str | None:
        """The local file of `key`, or a URL that serves it for a few minutes; None when gone.

        `disposition` is the Content-Disposition a bucket's URL answers with (default: inline
        under `filename`); a local file's caller sets its own headers."""
        ...

    async def delete(self, key: str) -> None:
        """Forget `key` (nothing happens when it is already gone)."""
        ...


class FolderStore:
    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"a storage key outside the folder: {key!r}")
        return path

    async def save(self, key: str, source: Path, content_type: str) -> None:
        await asyncio.to_thread(self._copy, source, self._path(key))

    @staticmethod
    def _copy(source: Path, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        shutil.copyfile(source, partial)
        os.replace(partial, target)  # readers never see half a file

    async def locate(
        self, key: str, *, filename: str, content_type: str, disposition: str | None = None
    ) -> Path | str | None:
        path = self._path(key)
        return path if await asyncio.to_thread(path.is_file) else None

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)


class S3Store:
    name = "s3"

    def __init__(
        self,
        *,
        bucket: str,
        endpoint_url: str | None,
        region: str,
        access_key: str,
        secret_key: str,
        target: str = "storage:s3",
    ) -> None:
        # Imported here: boto3 takes a while to load and most deployments keep a folder.
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        #: How failures name this store (`PeerUnavailable.target`), e.g. "recordings:s3".
        self.target = target
        self._client: Any = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key or None,
            aws_secret_access_key=secret_key or None,
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": "path"},
                retries={"max_attempts": 3, "mode": "standard"},
                connect_timeout=5,
                read_timeout=30,
            ),
        )

    async def save(self, key: str, source: Path, content_type: str) -> None:
        from boto3.exceptions import Boto3Error
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            await asyncio.to_thread(
                self._client.upload_file,
                str(source),
                self.bucket,
                key,
                ExtraArgs={"ContentType": content_type},
            )
        except (Boto3Error, BotoCoreError, ClientError) as error:
            raise PeerUnavailable(self.target, f"the upload failed: {error}") from None

    async def locate(
        self, key: str, *, filename: str, content_type: str, disposition: str | None = None
    ) -> Path | str | None:
        url: str = await asyncio.to_thread(
            self._client.generate_presigned_url,
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": key,
                "ResponseContentType": content_type,
                "ResponseContentDisposition": disposition or f'inline; filename="{filename}"',
            },
            ExpiresIn=PRESIGNED_SECONDS,
        )
        return url

    async def delete(self, key: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            await asyncio.to_thread(self._client.delete_object, Bucket=self.bucket, Key=key)
        except (BotoCoreError, ClientError) as error:
            raise PeerUnavailable(self.target, f"the deletion failed: {error}") from None
