"""Glue Data Catalog tables for what the patterns write to S3.

``hourly_parquet_table``: Parquet files under ``<location>year=YYYY/month=MM/day=DD/hour=HH/`` (the Hive-style
partitions Firehose writes with ``!{timestamp:…}`` prefixes). Partition projection describes the partitions
instead of listing them, so Athena reads a new hour at once, without a crawler or ``MSCK REPAIR TABLE``.
"""
from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

HOURLY_PARTITIONS = (("year", "2020,2100", 4), ("month", "1,12", 2), ("day", "1,31", 2), ("hour", "0,23", 2))
PARQUET = "org.apache.hadoop.hive.ql.io.parquet"


def hourly_parquet_table(name: str, parent: pulumi.Resource, database_name: str, table_name: str,
                         columns: Sequence[tuple[str, str]], location: pulumi.Input[str]
                         ) -> tuple[aws.glue.CatalogDatabase, aws.glue.CatalogTable]:
    """A database and its table of ``columns`` (name, Glue type) at ``location`` (``s3://bucket/prefix/``)."""
    database = aws.glue.CatalogDatabase(f"{name}-catalog", name=database_name,
                                        description=f"{name}: records delivered to S3",
                                        opts=pulumi.ResourceOptions(parent=parent))
    projection = {"projection.enabled": "true", "storage.location.template": pulumi.Output.concat(
        location, "/".join(f"{key}=${{{key}}}" for key, _, _ in HOURLY_PARTITIONS), "/")}
    for key, values, digits in HOURLY_PARTITIONS:
        projection |= {f"projection.{key}.type": "integer", f"projection.{key}.range": values,
                       f"projection.{key}.digits": str(digits)}
    table = aws.glue.CatalogTable(
        f"{name}-table", name=table_name, database_name=database.name, table_type="EXTERNAL_TABLE",
        parameters={"classification": "parquet", "EXTERNAL": "TRUE", **projection},
        partition_keys=[aws.glue.CatalogTablePartitionKeyArgs(name=key, type="string")
                        for key, _, _ in HOURLY_PARTITIONS],
        storage_descriptor=aws.glue.CatalogTableStorageDescriptorArgs(
            location=location, input_format=f"{PARQUET}.MapredParquetInputFormat",
            output_format=f"{PARQUET}.MapredParquetOutputFormat",
            ser_de_info=aws.glue.CatalogTableStorageDescriptorSerDeInfoArgs(
                serialization_library=f"{PARQUET}.serde.ParquetHiveSerDe"),
            columns=[aws.glue.CatalogTableStorageDescriptorColumnArgs(name=column, type=kind)
                     for column, kind in columns]),
        opts=pulumi.ResourceOptions(parent=parent))
    return database, table
