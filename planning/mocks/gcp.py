"""Mock shapes: service accounts and keys, Cloud Storage, Cloud Functions (2nd gen)."""
from __future__ import annotations

import base64
import json

from planning.mocks import ProviderMocks, autoname, digest, shape


@shape("gcp:serviceaccount/account:Account")
def _gcp_service_account(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    project = inputs.get("project") or m.gcp_project
    email = f"{inputs.get('accountId', name)}@{project}.iam.gserviceaccount.com"
    resource = f"projects/{project}/serviceAccounts/{email}"
    return resource, {"email": email, "name": resource, "member": f"serviceAccount:{email}", "project": project,
                      "uniqueId": str(int(digest("sa", name, length=15), 16))[:21]}


@shape("gcp:serviceaccount/key:Key")
def _gcp_service_account_key(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    account = str(inputs.get("serviceAccountId") or f"projects/{m.gcp_project}/serviceAccounts/{name}")
    email = account.split("/")[-1]
    key_id = digest("sa-key", name, length=40)
    key_file = {"type": "service_account", "project_id": email.split("@")[-1].split(".")[0],
                "private_key_id": key_id, "client_email": email, "client_id": str(int(digest(email), 16))[:21],
                "private_key": "-----BEGIN PRIVATE KEY-----\nofflineplanplaceholder\n-----END PRIVATE KEY-----\n",
                "auth_uri": "https://accounts.google.com/o/oauth2/auth",
                "token_uri": "https://oauth2.googleapis.com/token",
                "universe_domain": "googleapis.com"}
    return f"{account}/keys/{key_id}", {
        "name": f"{account}/keys/{key_id}", "keyAlgorithm": "KEY_ALG_RSA_2048",
        "privateKeyType": "TYPE_GOOGLE_CREDENTIALS_FILE", "publicKeyType": "TYPE_X509_PEM_FILE",
        "privateKey": base64.b64encode(json.dumps(key_file).encode()).decode(),
        "publicKey": base64.b64encode(b"offline-plan-public-key").decode(),
        "validAfter": "2026-01-01T00:00:00Z", "validBefore": "9999-12-31T23:59:59Z"}


@shape("gcp:storage/bucket:Bucket")
def _gcs_bucket(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    bucket = autoname(name, inputs)
    return bucket, {"name": bucket, "url": f"gs://{bucket}", "project": inputs.get("project") or m.gcp_project,
                    "selfLink": f"https://www.googleapis.com/storage/v1/b/{bucket}"}


@shape("gcp:storage/bucketObject:BucketObject")
def _gcs_object(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    bucket, obj = inputs.get("bucket", ""), inputs.get("name", name)
    return f"{bucket}-{obj}", {"name": obj, "generation": int(digest("generation", obj, length=12), 16),
                               "mediaLink": f"https://storage.googleapis.com/download/storage/v1/b/{bucket}/o/{obj}",
                               "selfLink": f"https://www.googleapis.com/storage/v1/b/{bucket}/o/{obj}"}


@shape("gcp:cloudfunctionsv2/function:Function")
def _cloud_function_v2(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    function = inputs.get("name") or name
    project = inputs.get("project") or m.gcp_project
    location = inputs.get("location") or m.gcp_region
    run_uri = f"https://{function}-{digest('run', function, length=10)}-uc.a.run.app"
    service_config = {**(inputs.get("serviceConfig") or {}), "uri": run_uri,
                      "service": f"projects/{project}/locations/{location}/services/{function}"}
    return f"projects/{project}/locations/{location}/functions/{function}", {
        "name": function, "project": project, "location": location, "environment": "GEN_2", "state": "ACTIVE",
        "url": f"https://{location}-{project}.cloudfunctions.net/{function}", "serviceConfig": service_config}
