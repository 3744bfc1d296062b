"""``make dev``: the whole platform on this machine, on an embedded AWS.

moto's server on 127.0.0.1 (a child process), provisioned from infra/; the app served by
chalice local on 127.0.0.1:8000; queue pumps and schedules feeding the real handlers.
Ctrl-C or SIGTERM stops it all, moto's server included, within a few seconds, whenever it
arrives (even during start-up).
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
            except (requests.ConnectionError, requests.Timeout):  # busy machine: ask again
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


CARRIER_URLS = ("LETTERBOX_USPS_BASE_URL", "LETTERBOX_FEDEX_BASE_URL", "LETTERBOX_DHL_BASE_URL",
                "LETTERBOX_DHL_TRACKING_URL")


def local_carriers() -> dict[str, str]:
    """SPEC §1: the carriers' base URLs from the environment (a carrier's test environment
    or a stand-in; http on loopback allowed here only) and their credentials from
    ``.letterbox/carriers.json`` (the deployed carrier secret's JSON). The CLI gets the same
    settings through stack.json, so ``letterbox letters poll`` reaches the same carriers."""
    chosen = {name: os.environ[name] for name in CARRIER_URLS if os.environ.get(name)}
    return {**chosen, "LETTERBOX_CARRIERS_FILE": str(STATE / "carriers.json")}


def report(err: BaseException) -> None:
    traceback.print_exception(err, file=sys.stderr)


class MotoProcess:
    """moto's server in its own process: its CPU then runs beside the API, the worker and
    the pumps instead of sharing their interpreter lock (measured in docs/benchmarks.md)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        # Our own interpreter, fixed arguments; its own session, so a terminal's Ctrl-C
        # reaches the devserver, which stops moto last. Should the devserver die without
        # stopping it (SIGKILL), Linux sends moto SIGTERM (parent-death signal).
        self._process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "letterbox.local.moto_server", "127.0.0.1",
             str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
            preexec_fn=_die_with_parent)

    def wait_ready(self) -> None:
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

    def stop(self, grace: float = 2) -> None:
        """SIGTERM, then SIGKILL after ``grace`` seconds: a supervisor waits only so long."""
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=5)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child, before exec
    if sys.platform.startswith("linux"):
        import ctypes
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


class Stopping(Exception):
    """SIGTERM or SIGINT before the server loop runs: unwind, stopping what started."""


def _stop_now(*_: Any) -> None:
    raise Stopping


def main(port: int = 8000) -> None:
    # From the first instant: a SIGTERM during provisioning must still stop moto.
    signal.signal(signal.SIGTERM, _stop_now)
    signal.signal(signal.SIGINT, _stop_now)
    moto = None
    try:
        moto = MotoProcess()
        moto.wait_ready()
        serve(port, moto.endpoint)
    except (Stopping, KeyboardInterrupt):
        pass
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second signal cannot cut cleanup
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if moto is not None:
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
    carrier_env = local_carriers()
    os.environ.update(carrier_env)
    (STATE / "stack.json").write_text(json.dumps(
        {"aws_endpoint_url": endpoint, "region": REGION, "env": {
            **env, **carrier_env, "LETTERBOX_LOCAL_MODE": "true",
            "LETTERBOX_DNS_ZONE_FILE": str(STATE / "zone.txt")}}, indent=2))

    from chalicelib import wiring
    from letterbox.local.seed import seed_account
    wiring.reset()
    (STATE / "zone.txt").unlink(missing_ok=True)  # a fresh stack starts with a fresh zone
    seeded = seed_account(wiring.container())
    # Dashboard mail (sign-in links, resets) goes out from the dev domain, into the outbox.
    os.environ.update({"LETTERBOX_DASHBOARD_MAIL_FROM": f"Letterbox <no-reply@{seeded.domain}>",
                       "LETTERBOX_DASHBOARD_MAIL_ACCOUNT": seeded.account_id})
    wiring.reset()
    from letterbox.local.seed import seed_dashboard_user
    dev_user = seed_dashboard_user(wiring.container(), seeded.account_id)
    api_url = f"http://127.0.0.1:{port}"
    (STATE / "dev.json").write_text(json.dumps({
        "api_url": api_url, "resend_api_url": f"{api_url}/resend",  # RESEND_API_URL for SDKs
        "api_key": seeded.api_key, "domain": seeded.domain,
        "account_id": seeded.account_id, "aws_endpoint_url": endpoint, "region": REGION,
        "dashboard_url": f"{api_url}/dashboard", "dashboard_email": dev_user.email,
        "dashboard_password": dev_user.password,
    }, indent=2))

    sys.path.insert(0, str(ROOT))
    import app as app_module
    stop = threading.Event()
    threads = start_background(app_module, session, "letterbox-local", stop)
    from letterbox.local.simulator import SimulatingSender, WebhookPoster
    poster = WebhookPoster(f"{api_url}/webhooks/ses", stop, report)
    container = wiring.container()
    wiring.use(email_sender=SimulatingSender(container.email_sender, signer,
                                             env["LETTERBOX_SES_EVENTS_TOPIC_ARN"], poster.post))
    poster.start()
    threads.append(poster)
    carriers = container.carriers.configured()  # checks the URLs: a bad one stops here
    server = make_server(app_module.app, port)
    print(f"\nLetterbox is running on {api_url} (embedded AWS at {endpoint}).")
    print(f"Dev account {seeded.account_id}, verified domain {seeded.domain}; "
          f"credentials in {STATE / 'dev.json'}.\nTry:\n\n"
          f"{curl_example(api_url, seeded.api_key, seeded.domain)}\n\n"
          f"Dashboard: {api_url}/dashboard (sign in as {dev_user.email} / "
          f"{dev_user.password}).\n"
          f"Sent messages land in {STATE / 'outbox'}/<em_id>.eml, printed letters in "
          f"{STATE / 'letters'}/. Carriers: {', '.join(carriers)} (credentials from "
          f"{STATE / 'carriers.json'}). Ctrl-C stops everything.\n",
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
        deadline = time.monotonic() + 3  # all threads together; they are daemons
        for thread in threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))


def start_background(app_module: Any, session: Any, stack_name: str,
                     stop: threading.Event) -> list[threading.Thread]:
    """A pump for every queue the deployed stack consumes (its SQS event sources in
    ``infra/resources.yaml``, dead-letter queues included), and the schedules."""
    from letterbox.local.pump import QueuePump, Schedule
    from letterbox.local.provision import consumed_queues
    sqs = session.client("sqs")
    threads: list[threading.Thread] = [
        QueuePump(sqs, url, getattr(app_module, handler), handler, stop, report)
        for handler, url in sorted(consumed_queues(session, stack_name).items())]
    threads += [
        # Production polls carriers every 15 minutes; the sandbox moves a step a second.
        Schedule("poll_letter_tracking", 2, app_module.poll_letter_tracking, stop, report),
        # Production sweeps every 5 minutes over a 15-minute horizon; locally, every 30 s.
        Schedule("sweep_scheduled", 30, app_module.sweep_scheduled, stop, report),
        Schedule("purge_expired", 3600, app_module.purge_expired, stop, report),
    ]
    for thread in threads:
        thread.start()
    return threads


def per_thread_requests(app_obj: Any) -> None:
    """chalice local answers each connection on its own thread, but Chalice keeps the request
    (and the Lambda context) on the one app object: two concurrent requests would read each
    other's headers and body. Give every thread its own, as every Lambda has its own."""
    state = threading.local()

    def slot(name: str) -> property:
        return property(lambda self: getattr(state, name, None),
                        lambda self, value: setattr(state, name, value))

    cls = type(app_obj)
    app_obj.__class__ = type(cls.__name__, (cls,), {"current_request": slot("request"),
                                                    "lambda_context": slot("context")})


def make_server(app_obj: Any, port: int) -> Any:
    from chalice.cli.factory import CLIFactory
    from chalice.local import LocalDevServer, ThreadedHTTPServer

    class Server(ThreadedHTTPServer):
        # socketserver's backlog of 5 resets the 6th simultaneous connection
        request_queue_size = 256
        daemon_threads = True

    from letterbox.local.gateway import LetterboxRequestHandler
    config = CLIFactory(str(ROOT)).create_config_obj(chalice_stage_name="dev")
    per_thread_requests(app_obj)
    server = LocalDevServer(app_obj, config, "127.0.0.1", port,
                            handler_cls=LetterboxRequestHandler, server_cls=Server)
    return server


if __name__ == "__main__":
    main(int(os.environ.get("LETTERBOX_PORT", "8000")))
