"""S3: message content that cannot ride on the queue (large, or scheduled for later).

Objects live under prefixes the retention policy gives lifecycle rules to, and are deleted
as soon as SES has the message (or it is cancelled or fails for good).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.errors import PermanentFailure, RetryableFailure


class S3ContentStore:
    def __init__(self, client: Any, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def put(self, key: str, body: bytes, content_type: str = "application/json") -> None:
        try:
            self._client.put_object(Bucket=self._bucket, Key=key, Body=body,
                                    ContentType=content_type)
        except ClientError as err:
            raise RetryableFailure("s3 put_object failed") from err

    def get(self, key: str) -> bytes:
        try:
            return bytes(self._client.get_object(Bucket=self._bucket, Key=key)["Body"].read())
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise PermanentFailure("message content is gone (cancelled or expired)") from err
            raise RetryableFailure("s3 get_object failed") from err

    def delete(self, key: str) -> None:
        try:
            self._client.delete_object(Bucket=self._bucket, Key=key)
        except ClientError as err:
            raise RetryableFailure("s3 delete_object failed") from err

    def keys(self, prefix: str) -> list[str]:
        paginator = self._client.get_paginator("list_objects_v2")
        return [obj["Key"] for page in paginator.paginate(Bucket=self._bucket, Prefix=prefix)
                for obj in page.get("Contents", [])]

    def keys_older_than(self, prefix: str, cutoff: datetime) -> list[str]:
        """Keys under ``prefix`` last written before ``cutoff`` (the purge's S3 view)."""
        paginator = self._client.get_paginator("list_objects_v2")
        return [obj["Key"] for page in paginator.paginate(Bucket=self._bucket, Prefix=prefix)
                for obj in page.get("Contents", []) if obj["LastModified"] < cutoff]

    def delete_many(self, keys: list[str]) -> int:
        """Delete up to 1,000 objects a request (S3's limit)."""
        for start in range(0, len(keys), 1000):
            chunk = [{"Key": key} for key in keys[start:start + 1000]]
            try:
                response = self._client.delete_objects(Bucket=self._bucket,
                                                       Delete={"Objects": chunk, "Quiet": True})
            except ClientError as err:
                raise RetryableFailure("s3 delete_objects failed") from err
            if response.get("Errors"):
                raise RetryableFailure("s3 left objects undeleted")
        return len(keys)
