"""S3: message content that cannot ride on the queue (large, or scheduled for later).

Objects live under prefixes the retention policy gives lifecycle rules to, and are deleted
as soon as SES has the message (or it is cancelled or fails for good).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from chalicelib.errors import PermanentFailure, TransientFailure


class S3ContentStore:
    def __init__(self, client: Any, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def put(self, key: str, body: bytes) -> None:
        try:
            self._client.put_object(Bucket=self._bucket, Key=key, Body=body,
                                    ContentType="application/json")
        except ClientError as err:
            raise TransientFailure("s3 put_object failed") from err

    def get(self, key: str) -> bytes:
        try:
            return bytes(self._client.get_object(Bucket=self._bucket, Key=key)["Body"].read())
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise PermanentFailure("message content is gone (cancelled or expired)") from err
            raise TransientFailure("s3 get_object failed") from err

    def delete(self, key: str) -> None:
        try:
            self._client.delete_object(Bucket=self._bucket, Key=key)
        except ClientError as err:
            raise TransientFailure("s3 delete_object failed") from err

    def keys(self, prefix: str) -> list[str]:
        paginator = self._client.get_paginator("list_objects_v2")
        return [obj["Key"] for page in paginator.paginate(Bucket=self._bucket, Prefix=prefix)
                for obj in page.get("Contents", [])]
