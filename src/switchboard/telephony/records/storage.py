"""Where call recordings are kept: the platform's blob store (`switchboard.core.storage`), a local
folder (the default) or an S3-compatible bucket, behind the platform's own signed `recordUrl`."""

from __future__ import annotations

from switchboard.core.storage import PRESIGNED_SECONDS, FolderStore, S3Store
from switchboard.core.storage import BlobStore as RecordingStore

__all__ = ["PRESIGNED_SECONDS", "FolderStore", "RecordingStore", "S3Store"]
