"""Settings.from_env: every refused value names its environment variable and the allowed values."""
import pytest

from runtime.items_service.contract import MAX_POOL_SIZE, RDS_CA_BUNDLE, Settings

BASE = {"ITEMS_DB_HOST": "db.internal", "AWS_REGION": "eu-west-1"}


def test_defaults_are_aws_ones():
    settings = Settings.from_env(BASE)
    assert (settings.auth, settings.user, settings.dbname, settings.port) == ("iam", "items_app", "items", 5432)
    assert (settings.sslmode, settings.sslrootcert) == ("verify-full", RDS_CA_BUNDLE)
    assert settings.password is None and settings.master_password is None


@pytest.mark.parametrize("env, message", [
    ({"ITEMS_DB_HOST": ""}, "ITEMS_DB_HOST must be set"),
    ({"ITEMS_DB_AUTH": "kerberos"}, "ITEMS_DB_AUTH must be one of iam, password, not 'kerberos'"),
    ({"ITEMS_DB_AUTH": "password"}, "ITEMS_DB_PASSWORD must be set (ITEMS_DB_AUTH=password)"),
    ({"AWS_REGION": ""}, "AWS_REGION must be set (ITEMS_DB_AUTH=iam"),
    ({"ITEMS_POOL_SIZE": "0"}, f"ITEMS_POOL_SIZE must be a whole number from 1 to {MAX_POOL_SIZE}, not '0'"),
    ({"ITEMS_POOL_SIZE": str(MAX_POOL_SIZE + 1)}, "ITEMS_POOL_SIZE must be a whole number from 1"),
    ({"ITEMS_POOL_SIZE": "four"}, "ITEMS_POOL_SIZE must be a whole number"),
    ({"ITEMS_DB_PORT": "70000"}, "ITEMS_DB_PORT must be a whole number from 1 to 65535"),
    ({"ITEMS_DB_SSLMODE": "prefer"}, "ITEMS_DB_SSLMODE must be one of disable, require, verify-ca, verify-full"),
    ({"ITEMS_POOL_TIMEOUT_SECONDS": "nan"}, "ITEMS_POOL_TIMEOUT_SECONDS must be a number of seconds from 0.1 to 30"),
])
def test_invalid_settings_are_refused_naming_the_variable(env, message):
    with pytest.raises(ValueError) as error:
        Settings.from_env({**BASE, **env})
    assert message in str(error.value)


def test_password_mode_needs_no_region_and_keeps_secrets_out_of_repr():
    settings = Settings.from_env({"ITEMS_DB_HOST": "h", "ITEMS_DB_AUTH": "password", "ITEMS_DB_PASSWORD": "s3cret",
                                  "ITEMS_DB_MASTER_PASSWORD": "m4ster", "ITEMS_DB_SSLMODE": "disable"})
    assert settings.region is None and settings.sslrootcert is None
    assert settings.password == "s3cret" and "s3cret" not in repr(settings) and "m4ster" not in repr(settings)
