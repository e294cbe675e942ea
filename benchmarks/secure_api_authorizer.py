"""Secure API authorizer latency: the Lambda authorizer's handler on a warm container (signing keys cached),
beside two baselines measured in the same run, in interleaved rounds so the machine's noise hits all three:

- cold keys: the same handler when the container has no keys yet (the JWKS is fetched, here from moto on
  loopback; in AWS from Cognito over the internet, so expect more there);
- floor: PyJWT's ``jwt.decode`` alone with the key in hand (signature and claims, no routing, no logs).

The token is a real access token of moto's Cognito (server mode on 127.0.0.1, an ephemeral port) for a user
in USER and ADMIN, asking for ``GET /admin``; the structured log line is formatted and written (to /dev/null).

Run from the repo root:  .venv/bin/python -m benchmarks.secure_api_authorizer [--requests N] [--rounds R]
"""
from __future__ import annotations

import argparse
import logging
import os
import statistics
import time
from types import SimpleNamespace
from unittest import mock

P50_TARGET_MS = 1.0


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="warm authorizations per round")
    parser.add_argument("--cold", type=int, default=20, help="cold-key authorizations per round")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    args = parser.parse_args()

    import boto3
    import jwt

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request lines

    from runtime.secure_api import contract
    from runtime.secure_api.authorizer import handler as authorizer
    from tests.conftest import moto_server
    from tests.secure_api.conftest import REGION, first_sign_in, invite, make_pool

    with moto_server() as endpoint:
        cognito = boto3.client("cognito-idp", endpoint_url=endpoint, region_name=REGION, aws_access_key_id="bench",
                               aws_secret_access_key="bench")
        pool = make_pool(cognito, endpoint, "bench")
        tokens, _ = first_sign_in(cognito, pool.client_id, "both@example.com",
                                  invite(cognito, pool.id, "both@example.com", ["USER", "ADMIN"]))
        environment = {contract.ENV_ISSUER: pool.issuer, contract.ENV_CLIENT_IDS: pool.client_id,
                       contract.ENV_JWKS_URL: pool.jwks_url}
        event = {"version": "2.0", "type": "REQUEST", "routeKey": contract.ADMINISTRATION, "rawPath": "/admin",
                 "headers": {"authorization": f"Bearer {tokens.access_token}"},
                 "requestContext": {"requestId": "bench"}}
        devnull = open(os.devnull, "w")
        authorizer.logger.registered_handler.setStream(devnull)
        key = jwt.PyJWKClient(pool.jwks_url).get_signing_key_from_jwt(tokens.access_token).key

        def warm() -> float:
            started = time.perf_counter_ns()
            answer = authorizer.handler(event, None)
            elapsed = (time.perf_counter_ns() - started) / 1e6
            assert answer["isAuthorized"] is True
            return elapsed

        def cold() -> float:
            authorizer.access_tokens.cache_clear()
            return warm()

        def floor() -> float:
            started = time.perf_counter_ns()
            jwt.decode(tokens.access_token, key, algorithms=["RS256"], issuer=pool.issuer,
                       options={"verify_aud": False})
            return (time.perf_counter_ns() - started) / 1e6

        timings = {"warm": [], "cold": [], "floor": []}
        with mock.patch.dict(os.environ, environment):
            authorizer.access_tokens.cache_clear()
            for _ in range(200):
                warm(), floor()
            for _ in range(args.rounds):
                timings["cold"] += [cold() for _ in range(args.cold)]
                authorizer.access_tokens.cache_clear()
                warm()  # refill the cache outside the measurement
                timings["warm"] += [warm() for _ in range(args.requests)]
                timings["floor"] += [floor() for _ in range(args.requests)]
            authorizer.access_tokens.cache_clear()
        devnull.close()

    rows = SimpleNamespace(**{name: (statistics.median(v), percentile(v, 0.99), len(v)) for name, v in timings.items()})
    print(f"Authorizer, {args.rounds} interleaved rounds (ms per authorization)")
    print(f"  {'':34} {'p50':>8} {'p99':>8} {'n':>7}")
    for label, (p50, p99, n) in (("warm, keys cached (the handler)", rows.warm),
                                 ("baseline: cold, keys fetched", rows.cold),
                                 ("baseline: jwt.decode alone", rows.floor)):
        print(f"  {label:34} {p50:8.3f} {p99:8.3f} {n:7d}")
    warm_p50 = rows.warm[0]
    print(f"  warm p50 is {rows.cold[0] / warm_p50:.1f}x faster than cold keys and {warm_p50 / rows.floor[0]:.1f}x "
          f"the bare decode; target p50 < {P50_TARGET_MS} ms: {'OK' if warm_p50 < P50_TARGET_MS else 'MISSED'}")


if __name__ == "__main__":
    main()
