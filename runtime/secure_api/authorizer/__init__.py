"""The secure API's Lambda authorizer: Cognito access tokens, checked against the route's access rule."""
