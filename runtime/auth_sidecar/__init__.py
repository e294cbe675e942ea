"""Auth sidecar: validates the ALB's signed `X-Amzn-Oidc-Data` token for nginx `auth_request`."""
