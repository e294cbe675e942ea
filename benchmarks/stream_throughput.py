"""Benchmark: producer records/s and transform records/s per batch size, each beside its baseline.

  producer   ``runtime.stream_producer`` sending generated demo events to moto's Firehose (in-process, writing
             to moto S3), per batch size; baseline: one PutRecord call per record, in the same run.
  transform  ``runtime.stream_transform`` on Firehose-shaped events of N records (decode, JSON, schema check,
             drop rule, compact line with a newline, the 6 MB answer reckoning); baseline: delimit only (decode
             and append a newline, what Firehose's own AppendDelimiterToRecord does, no validation).

    .venv/bin/python benchmarks/stream_throughput.py [--records N] [--repeat R]

moto answers in microseconds: producer figures measure the client's own cost (request building, signing,
batching), not Firehose's; against AWS the calls saved by batching matter more still. The machine is shared:
compare figures within one run.
"""
from __future__ import annotations

import argparse
import base64
import os
import statistics
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))  # so the script runs from any directory


def producer_rates(records: list[bytes], batch_sizes: list[int], repeat: int) -> None:
    import boto3
    from moto import mock_aws

    from runtime.stream_producer.producer import Producer

    os.environ.update(AWS_DEFAULT_REGION="us-east-1", AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench")
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket="bench")
        firehose = boto3.client("firehose")
        firehose.create_delivery_stream(DeliveryStreamName="bench", ExtendedS3DestinationConfiguration={
            "RoleARN": "arn:aws:iam::123456789012:role/bench", "BucketARN": "arn:aws:s3:::bench"})

        def one_by_one() -> float:
            started = time.perf_counter()
            for record in records:
                firehose.put_record(DeliveryStreamName="bench", Record={"Data": record})
            return len(records) / (time.perf_counter() - started)

        def batched(size: int) -> tuple[float, int]:
            report = Producer(firehose, "bench", batch_records=size).send(records)
            assert report.sent == len(records) and not report.failed
            return report.records_per_second, report.calls

        baseline = statistics.median(one_by_one() for _ in range(repeat))
        print(f"\nproducer: {len(records)} records (~{sum(map(len, records)) // len(records)} B each) to moto Firehose")
        print(f"{'batch':>6} {'calls':>6} {'records/s':>10} {'baseline PutRecord/s':>21} {'speed-up':>9}")
        for size in batch_sizes:
            runs = [batched(size) for _ in range(repeat)]
            rate = statistics.median(r for r, _ in runs)
            print(f"{size:>6} {runs[0][1]:>6} {rate:>10,.0f} {baseline:>21,.0f} {rate / baseline:>8.1f}×")


def transform_rates(records: list[bytes], batch_sizes: list[int], repeat: int) -> None:
    from runtime.stream_transform import contract, transform

    settings = contract.Settings(contract.DEFAULT_COLUMNS, contract.DEFAULT_REQUIRED, True,
                                 {"event_type": ("heartbeat",)}, 65536)

    def delimit_only(batch: list[dict]) -> list[dict]:
        return [{"recordId": r["recordId"], "result": "Ok",
                 "data": base64.b64encode(base64.b64decode(r["data"]) + b"\n").decode()} for r in batch]

    def rate(function, batch: list[dict]) -> float:
        timings = []
        for _ in range(repeat):
            started = time.perf_counter()
            function(batch)
            timings.append(time.perf_counter() - started)
        return len(batch) / statistics.median(timings)

    print(f"\ntransform: Firehose-shaped events of N records (~{sum(map(len, records)) // len(records)} B each)")
    print(f"{'records':>8} {'records/s':>10} {'MB/s':>6} {'ms per 1 MB':>12} {'baseline records/s':>19} "
          f"{'cost of checks':>15}")
    for size in batch_sizes:
        batch = [{"recordId": f"{i:056d}", "approximateArrivalTimestamp": 0,
                  "data": base64.b64encode(records[i % len(records)]).decode()} for i in range(size)]
        megabytes = sum(len(records[i % len(records)]) for i in range(size)) / 1e6
        full = rate(lambda b: transform.transform(b, settings), batch)
        base = rate(delimit_only, batch)
        print(f"{size:>8} {full:>10,.0f} {full * megabytes / size:>6.1f} {1000 * size / megabytes / full:>12.1f} "
              f"{base:>19,.0f} {base / full:>14.1f}×")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--records", type=int, default=5000, help="records the producer sends per run")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (the median is shown)")
    parser.add_argument("--producer-batches", type=int, nargs="+", default=[50, 100, 250, 500])
    parser.add_argument("--transform-batches", type=int, nargs="+", default=[100, 500, 1000, 4000])
    options = parser.parse_args()

    from runtime.stream_producer.records import generated_records

    records = list(generated_records(options.records, seed=1))
    producer_rates(records, options.producer_batches, options.repeat)
    transform_rates(records, options.transform_batches, options.repeat)


if __name__ == "__main__":
    main()
