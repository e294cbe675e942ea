"""Auth front: nginx in front of the app, asking the auth sidecar about every request (auth_request)."""
