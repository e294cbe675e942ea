"""Demo app behind the auth front: echoes the identity headers it receives."""
