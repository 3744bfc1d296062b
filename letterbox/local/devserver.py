"""``make dev``: the whole platform on this machine, on an embedded AWS.

moto's server on 127.0.0.1 (a child process), provisioned from infra/; the app served by
chalice local on 127.0.0.1:8000; queue pumps and schedules feeding the real handlers.
Ctrl-C stops it all.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
STATE = Path(os.environ.get("LETTERBOX_STATE_DIR", ROOT / ".letterbox"))
REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_serving(state: Path, process: subprocess.Popen[Any],
                       timeout: float = 120) -> dict[str, Any]:
    """For whoever started ``make dev``'s server in a subprocess (tests, benchmarks): its
    ``dev.json`` once the API answers."""
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the local stack exited; see the log next to {state}")
        if (state / "dev.json").exists():
            dev: dict[str, Any] = json.loads((state / "dev.json").read_text())
            try:
                requests.get(f"{dev['api_url']}/v1/openapi.json", timeout=2)
                return dev
            except requests.ConnectionError:
                pass
        time.sleep(0.2)
    raise RuntimeError("the local stack did not start in time")


def fake_aws_environment(endpoint: str) -> None:
    """Every boto3 client in this process talks to the embedded moto server, never to AWS."""
    os.environ.update({
        "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "letterbox-local",
        "AWS_SECRET_ACCESS_KEY": "letterbox-local", "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    })
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        os.environ.pop(name, None)


def curl_example(api_url: str, api_key: str, domain: str) -> str:
    return (f"curl -s -X POST {api_url}/v1/emails \\\n"
            f"  -H 'Authorization: Bearer {api_key}' \\\n"
            f"  -H 'Content-Type: application/json' \\\n"
            f"  -d '{{\"from\": \"Letterbox <hello@{domain}>\", "
            f"\"to\": \"success@simulator.amazonses.com\", "
            f"\"subject\": \"Hello from Letterbox\", \"html\": \"<p>It works.</p>\"}}'")


def report(err: BaseException) -> None:
    traceback.print_exception(err, file=sys.stderr)


class MotoProcess:
    """moto's server in its own process: its CPU then runs beside the API, the worker and
    the pumps instead of sharing their interpreter lock (measured in docs/benchmarks.md)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        # Our own interpreter, fixed arguments; its own session, so a terminal's Ctrl-C
        # reaches the devserver, which stops moto last.
        self._process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError("moto's server exited at start")
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("moto's server did not start")

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()


def main(port: int = 8000) -> None:
    moto = MotoProcess()
    try:
        serve(port, moto.endpoint)
    finally:
        moto.stop()
        print("Letterbox stopped.", flush=True)


def serve(port: int, endpoint: str) -> None:
    import boto3

    fake_aws_environment(endpoint)
    STATE.mkdir(exist_ok=True)
    (STATE / "outbox").mkdir(exist_ok=True)

    from letterbox.local.provision import provision
    session = boto3.session.Session(region_name=REGION)
    env = provision(session, "letterbox-local",
                    {"PublicBaseUrl": f"http://127.0.0.1:{port}"})
    os.environ.update(env)
    from letterbox.local.simulator import LocalSnsSigner
    signer = LocalSnsSigner(STATE / "sns-local-cert.pem")
    # Letters: printed into a folder; a short cancellation window so the sandbox carrier
    # delivers within seconds (override with LETTERBOX_LETTER_CANCEL_WINDOW_SECONDS).
    os.environ.setdefault("LETTERBOX_LETTER_CANCEL_WINDOW_SECONDS", "5")
    os.environ.update({"LETTERBOX_OUTBOX_DIR": str(STATE / "outbox"),
                       "LETTERBOX_LETTERS_DIR": str(STATE / "letters"),
                       "LETTERBOX_SNS_LOCAL_CERT_FILE": str(STATE / "sns-local-cert.pem"),
                       "LETTERBOX_DNS_ZONE_FILE": str(STATE / "zone.txt"),
                       "LETTERBOX_LOCAL_MODE": "true", "LETTERBOX_STAGE": "local"})
    (STATE / "stack.json").write_text(json.dumps(
        {"aws_endpoint_url": endpoint, "region": REGION, "env": {
            **env, "LETTERBOX_LOCAL_MODE": "true",
            "LETTERBOX_DNS_ZONE_FILE": str(STATE / "zone.txt")}}, indent=2))

    from chalicelib import wiring
    from letterbox.local.seed import seed_account
    wiring.reset()
    (STATE / "zone.txt").unlink(missing_ok=True)  # a fresh stack starts with a fresh zone
    seeded = seed_account(wiring.container())
    api_url = f"http://127.0.0.1:{port}"
    (STATE / "dev.json").write_text(json.dumps({
        "api_url": api_url, "api_key": seeded.api_key, "domain": seeded.domain,
        "account_id": seeded.account_id, "aws_endpoint_url": endpoint, "region": REGION,
    }, indent=2))

    sys.path.insert(0, str(ROOT))
    import app as app_module
    stop = threading.Event()
    threads = start_background(app_module, session, env, stop)
    from letterbox.local.simulator import SimulatingSender, WebhookPoster
    poster = WebhookPoster(f"{api_url}/webhooks/ses", stop, report)
    container = wiring.container()
    wiring.use(email_sender=SimulatingSender(container.email_sender, signer,
                                             env["LETTERBOX_SES_EVENTS_TOPIC_ARN"], poster.post))
    poster.start()
    threads.append(poster)
    server = make_server(app_module.app, port)
    print(f"\nLetterbox is running on {api_url} (embedded AWS at {endpoint}).")
    print(f"Dev account {seeded.account_id}, verified domain {seeded.domain}; "
          f"credentials in {STATE / 'dev.json'}.\nTry:\n\n"
          f"{curl_example(api_url, seeded.api_key, seeded.domain)}\n\n"
          f"Sent messages land in {STATE / 'outbox'}/<em_id>.eml, printed letters in "
          f"{STATE / 'letters'}/ (sandbox carrier). Ctrl-C stops everything.\n",
          flush=True)

    def shutdown(*_: Any) -> None:
        stop.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGINT, shutdown)
    signal.signal(signal.SIGTERM, shutdown)
    try:
        server.serve_forever()
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=5)


def start_background(app_module: Any, session: Any, env: dict[str, str],
                     stop: threading.Event) -> list[threading.Thread]:
    from letterbox.local.pump import QueuePump, Schedule
    sqs = session.client("sqs")

    def dead_letter_queue(queue_url: str) -> str:
        policy = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["RedrivePolicy"])
        arn = json.loads(policy["Attributes"]["RedrivePolicy"])["deadLetterTargetArn"]
        return str(sqs.get_queue_url(QueueName=arn.rsplit(":", 1)[1])["QueueUrl"])

    letters = env["LETTERBOX_LETTER_QUEUE_URL"]
    threads: list[threading.Thread] = [
        QueuePump(sqs, env["LETTERBOX_SEND_QUEUE_URL"], app_module.send_worker, "send_worker",
                  stop, report),
        QueuePump(sqs, dead_letter_queue(env["LETTERBOX_SEND_QUEUE_URL"]),
                  app_module.send_dead_letters, "send_dead_letters", stop, report),
        QueuePump(sqs, letters, app_module.submit_letters, "submit_letters", stop, report),
        QueuePump(sqs, dead_letter_queue(letters), app_module.letter_dead_letters,
                  "letter_dead_letters", stop, report),
        # Production polls carriers every 15 minutes; the sandbox moves a step a second.
        Schedule("poll_letter_tracking", 2, app_module.poll_letter_tracking, stop, report),
        QueuePump(sqs, env["LETTERBOX_WEBHOOK_QUEUE_URL"], app_module.deliver_webhooks,
                  "deliver_webhooks", stop, report),
        QueuePump(sqs, env["LETTERBOX_MARKETING_QUEUE_URL"], app_module.run_marketing,
                  "run_marketing", stop, report),
        # Production sweeps every 5 minutes over a 15-minute horizon; locally, every 30 s.
        Schedule("sweep_scheduled", 30, app_module.sweep_scheduled, stop, report),
        Schedule("purge_expired", 3600, app_module.purge_expired, stop, report),
    ]
    for thread in threads:
        thread.start()
    return threads


def make_server(app_obj: Any, port: int) -> Any:
    from chalice.cli.factory import CLIFactory
    from chalice.local import LocalDevServer

    from letterbox.local.gateway import LetterboxRequestHandler
    config = CLIFactory(str(ROOT)).create_config_obj(chalice_stage_name="dev")
    server = LocalDevServer(app_obj, config, "127.0.0.1", port,
                            handler_cls=LetterboxRequestHandler)
    return server


if __name__ == "__main__":
    main(int(os.environ.get("LETTERBOX_PORT", "8000")))
