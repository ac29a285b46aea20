"""The objects family's calls on `Engine`: MObjects, custom objects and their descriptions."""

from __future__ import annotations

from mktows.engine.base import EngineBase
from mktows.engine.leads.registry import field_registry
from mktows.engine.models import (
    CustomObjectPage,
    CustomObjectStatus,
    CustomRecord,
    MObject,
    MObjectPage,
    MObjectQuery,
    MObjectStatus,
    ObjectMetadata,
    Pair,
)
from mktows.engine.objects import custom as custom_objects
from mktows.engine.objects import describe as metadata
from mktows.engine.objects import mobjects
from mktows.engine.objects import opportunity_schema as opportunity_fields


class ObjectCalls(EngineBase):
    def describe(self, object_name: str) -> ObjectMetadata:
        with self.db.read() as conn:
            return metadata.describe(
                object_name, field_registry(conn), opportunity_fields.load_schemas(conn), custom_objects.all_types(conn)
            )

    def object_names(self) -> list[str]:
        return metadata.object_names()

    def get_mobjects(self, query: MObjectQuery) -> MObjectPage:
        secret = self._hmac_secret()
        with self.db.read() as conn:
            return mobjects.get_mobjects(conn, query, secret=secret)

    def sync_mobjects(self, objects: list[MObject], operation: str) -> list[MObjectStatus]:
        """Per-object statuses in input order; each object applies fully or not at all."""
        with self.db.write() as conn:
            return mobjects.sync_mobjects(conn, objects, operation, self.now())

    def delete_mobjects(self, objects: list[MObject]) -> list[MObjectStatus]:
        with self.db.write() as conn:
            return mobjects.delete_mobjects(conn, objects, self.now())

    def get_custom_objects(
        self,
        type_name: str,
        *,
        keys: list[Pair] | None = None,
        include: list[str] | None = None,
        batch_size: int | None = None,
        position: str | None = None,
    ) -> CustomObjectPage:
        """Records matching a partial key (equality on key fields), 100 per page at most."""
        secret = self._hmac_secret()
        with self.db.read() as conn:
            return custom_objects.get_records(
                conn,
                type_name,
                keys=keys or [],
                include=include or [],
                batch_size=batch_size,
                position=position,
                secret=secret,
                now=self.now(),
            )

    def sync_custom_objects(
        self, type_name: str, records: list[CustomRecord], operation: str | None = None
    ) -> list[CustomObjectStatus]:
        """Per-record statuses in input order; operation absent means UPSERT."""
        with self.db.write() as conn:
            return custom_objects.sync_records(conn, field_registry(conn), type_name, records, operation, self.now())

    def delete_custom_objects(self, type_name: str, key_lists: list[list[Pair]]) -> list[CustomObjectStatus]:
        with self.db.write() as conn:
            return custom_objects.delete_records(conn, type_name, key_lists, self.now())
