"""What an analyst does with Blangkon's transaction stream, with nothing but
confluent-kafka: spending by top-level category, and the share that went to
micro and small businesses and cooperatives (regulation asks for 40%).

    pip install confluent-kafka
    python spending_by_category.py --bootstrap 127.0.0.1:9092

Each record of blangkon.reporting.transactions.v1 is one JSON fact per order
change. The stream is read from its beginning until it falls quiet; the
latest fact of each order (highest "version") says what the order is now.
Prints the figures as JSON.
"""

import argparse
import json
import time
import uuid

from confluent_kafka import Consumer

TOPIC = "blangkon.reporting.transactions.v1"


def read_latest_facts(bootstrap, topic, idle_seconds, timeout_seconds):
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"analyst-{uuid.uuid4()}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "broker.address.family": "v4",
        }
    )
    consumer.subscribe([topic])
    latest = {}
    started = last_record = time.monotonic()
    seen_any = False
    try:
        while True:
            now = time.monotonic()
            if seen_any and now - last_record >= idle_seconds:
                break
            if now - started >= timeout_seconds:
                break
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error():
                raise SystemExit(f"kafka: {message.error()}")
            seen_any, last_record = True, time.monotonic()
            fact = json.loads(message.value())
            known = latest.get(fact["order_id"])
            if known is None or fact["version"] > known["version"]:
                latest[fact["order_id"]] = fact
    finally:
        consumer.close()
    return latest


def aggregate(latest):
    figures = {"transactions": 0, "value": 0, "micro_small_value": 0, "by_category": {}}
    for fact in latest.values():
        if not fact["is_transaction"]:
            continue
        figures["transactions"] += 1
        figures["value"] += fact["total"]
        if fact["vendor"]["micro_small_or_cooperative"]:
            figures["micro_small_value"] += fact["total"]
        for item in fact["items"]:
            category = item["top_category"]
            figures["by_category"][category] = (
                figures["by_category"].get(category, 0) + item["line_total"]
            )
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--topic-prefix", default="", help="the install's kafka.topic_prefix")
    parser.add_argument("--idle", type=float, default=3.0, help="quiet seconds that end the read")
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()
    latest = read_latest_facts(args.bootstrap, args.topic_prefix + TOPIC, args.idle, args.timeout)
    print(json.dumps(aggregate(latest), sort_keys=True))


if __name__ == "__main__":
    main()
