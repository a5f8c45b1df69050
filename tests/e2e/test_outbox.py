# SPDX-License-Identifier: Apache-2.0
"""Notifications go through a durable outbox: written in the transaction of the
event they report, sent by a thread of their own with bounded retries, so a hung
or failing webhook never delays an action, a shutdown never waits for one, and
a pending notification is sent after a restart."""
import json
import time

from conftest import INTEGRATION_NFT, nft_set, notify_integration, ssh_alert, wait_for

# One engine worker: nothing but the outbox could keep the second alert away
# from a worker stuck on the first alert's notification. A ceiling of 2
# addresses makes an alert naming 3 a refusal the governor notifies.
CONFIG = "workers: 1\ngovernor:\n  notify: soc\n  action_ceilings:\n    nft.block:\n      ips: 2\n"
THREE = ["192.0.2.1", "192.0.2.2", "192.0.2.3"]


def bodies(requests):
    return [json.loads(r["body"]) for r in requests]


def test_a_hung_webhook_never_delays_a_block(make_daemon, receiver):
    receiver.gate.clear()  # the webhook hangs (its timeout is a minute)
    d = make_daemon(integrations=INTEGRATION_NFT + notify_integration(receiver, timeout_ms=60000),
                    extra=CONFIG).start()
    denied_id = d.post_alert(ssh_alert(THREE)).json()["id"]
    wait_for(lambda: receiver.arrived)  # its notification is being sent, and hangs
    d.post_alert(ssh_alert("203.0.113.9"))
    # The unrelated block lands while the webhook is still hung.
    wait_for(lambda: "203.0.113.9" in nft_set(), timeout=10)
    assert receiver.requests == [] and not receiver.gate.is_set()
    denied = d.execution_of(denied_id)
    assert denied["status"] == "denied" and not set(THREE) & nft_set()

    # The webhook recovers: the notification is delivered.
    receiver.gate.set()
    (note,) = wait_for(lambda: bodies(receiver.requests))
    assert note["params"]["event"] == "governor.denied"
    assert note["params"]["action_id"] == denied["actions"][0]["id"] and note["targets"] == THREE
    wait_for(lambda: 'bulwark_notifications_total{outcome="sent"} 1' in d.get("/metrics").text)


def test_a_failing_webhook_is_retried_and_a_pending_notification_survives_a_restart(make_daemon, receiver):
    receiver.status = 503
    d = make_daemon(integrations=INTEGRATION_NFT + notify_integration(receiver, timeout_ms=60000),
                    extra=CONFIG).start()
    denied = d.execution_of(d.post_alert(ssh_alert(THREE)).json()["id"])
    assert denied["status"] == "denied"
    # Refused, then retried after a backoff: the same notification, the same key.
    wait_for(lambda: len(receiver.requests) >= 2)
    keys = {b["idempotency_key"] for b in bodies(receiver.requests)}
    assert len(keys) == 1 and bodies(receiver.requests)[0]["params"]["event"] == "governor.denied"
    assert 'bulwark_notifications_total{outcome="retried"} 0' not in d.get("/metrics").text

    # Now it hangs: a shutdown does not wait for the attempt in flight.
    receiver.gate.clear()
    held = len(receiver.arrived)
    wait_for(lambda: len(receiver.arrived) > held)
    t0 = time.monotonic()
    d.stop()
    assert time.monotonic() - t0 < 10

    # Recovered while the daemon was down: the pending notification goes out
    # after the restart, once.
    receiver.status = 200
    receiver.epoch = 1
    receiver.gate.set()
    d.start()
    sent = wait_for(lambda: [b for r, b in zip(receiver.requests, bodies(receiver.requests))
                             if r["epoch"] == 1 and r["status"] == 200])
    assert sent[0]["idempotency_key"] in keys and sent[0]["params"]["event"] == "governor.denied"
    wait_for(lambda: 'bulwark_notifications_total{outcome="sent"} 1' in d.get("/metrics").text)
