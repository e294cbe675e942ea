"""Mock shapes: Glue Data Catalog databases and tables."""
from __future__ import annotations

from planning.mocks import ACCOUNT_ID, ProviderMocks, autoname, shape


@shape("aws:glue/catalogDatabase:CatalogDatabase")
def _database(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    database = autoname(name, inputs)
    catalog = inputs.get("catalogId") or ACCOUNT_ID
    return f"{catalog}:{database}", {"name": database, "catalogId": catalog,
                                     "arn": m.arn("glue", f"database/{database}")}


@shape("aws:glue/catalogTable:CatalogTable")
def _table(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    table = autoname(name, inputs)
    database = inputs.get("databaseName", "")
    catalog = inputs.get("catalogId") or ACCOUNT_ID
    return f"{catalog}:{database}:{table}", {"name": table, "catalogId": catalog,
                                             "arn": m.arn("glue", f"table/{database}/{table}")}
