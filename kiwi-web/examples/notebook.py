"""Book a node from a notebook through kiwi-web's HTTP API (Python standard library only).

Books NODE for 10 minutes, waits until the booking is Active (printing its planned start while
it waits in line), runs a benchmark on the node over ssh, and ends the booking, even when the
benchmark fails. Settings come from the environment:

  KIWI_URL       kiwi-web's address                 (default http://127.0.0.1:8080)
  KIWI_USER      your user                          (default $USER)
  KIWI_PASSWORD  your Kiwi etcd password            (unset on a dev cluster: login by name)
  KIWI_NODE      the node to book                   (default n-0)
  KIWI_BENCH     the command to run on it           (default a small CPU benchmark)
  KIWI_SSH_OPTS  extra ssh options, e.g. "-i ~/.ssh/id_ed25519"
"""
import json
import os
import shlex
import subprocess
import sys
import urllib.error
import urllib.request

KIWI = os.environ.get("KIWI_URL", "http://127.0.0.1:8080").rstrip("/")
USER = os.environ.get("KIWI_USER") or os.environ["USER"]
PASSWORD = os.environ.get("KIWI_PASSWORD")
NODE = os.environ.get("KIWI_NODE", "n-0")
BENCH = os.environ.get("KIWI_BENCH", "nproc; time (seq 1 2000000 | sort -n | tail -1)")
SSH_OPTS = shlex.split(os.environ.get("KIWI_SSH_OPTS", ""))
API = f"{KIWI}/apis/kiwi.dev/v1alpha1"


class KiwiError(Exception):
    """An API error: the message is the one kiwictl prints for the same problem."""


def request(method, url, body=None, token=None, content_type="application/json"):
    headers = {"Accept": "application/json"}
    if body is not None:
        headers["Content-Type"] = content_type
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        return urllib.request.urlopen(req, timeout=60)
    except urllib.error.HTTPError as e:
        raise KiwiError(f"{e.code} {json.load(e).get('message', e.reason)}") from None


def call(method, url, body=None, token=None, content_type="application/json"):
    with request(method, url, body, token, content_type) as r:
        return json.load(r)


def wait_until_active(token, name):
    """Follows the booking on a watch stream; prints where it waits until it is Active."""
    last = None
    with request("GET", f"{API}/namespaces/{USER}/bookings?watch=true", token=token) as stream:
        for line in stream:
            if not line.strip():
                continue  # keep-alive
            event = json.loads(line)
            booking = event["object"]
            if booking["metadata"].get("name") != name:
                continue
            status = booking.get("status", {})
            phase = status.get("phase")
            if phase == "Active":
                print(f"Active on {', '.join(status['nodes'])} until {status['endTime']}", flush=True)
                return booking
            if phase == "Expired":
                raise KiwiError(f"booking {name} ended before it started: {status.get('reason')}: {status.get('message')}")
            said = (status.get("startTime"), status.get("message"))
            if phase == "Pending" and said != last:
                print(f"waiting: planned start {status.get('startTime', '(not planned yet)')}: {status.get('message', '')}", flush=True)
                last = said
    raise KiwiError("the watch stream ended")


def main():
    token = call("POST", f"{KIWI}/web/login", {"user": USER, "password": PASSWORD, "token": True})["token"]
    booking = {
        "apiVersion": "kiwi.dev/v1alpha1",
        "kind": "Booking",
        "metadata": {"namespace": USER},
        "spec": {"user": USER, "nodes": [NODE], "duration": "10m"},
    }
    name = call("POST", f"{API}/namespaces/{USER}/bookings", booking, token)["metadata"]["name"]
    print(f"booked {USER}/{name} on {NODE} for 10 minutes", flush=True)
    try:
        wait_until_active(token, name)
        node = call("GET", f"{API}/nodes/{NODE}", token=token)
        host = node["spec"].get("address", NODE)
        port = str(node["spec"].get("sshPort", 22))
        done = subprocess.run(["ssh", "-p", port, *SSH_OPTS, f"{USER}@{host}", BENCH], capture_output=True, text=True)
        print(done.stdout, end="")
        print(done.stderr, end="", file=sys.stderr)
        print(f"benchmark exited with {done.returncode}", flush=True)
        return done.returncode
    finally:
        call("PATCH", f"{API}/namespaces/{USER}/bookings/{name}", {"spec": {"cancelled": True}}, token, "application/merge-patch+json")
        print(f"ended {USER}/{name}", flush=True)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KiwiError as e:
        sys.exit(f"kiwi: {e}")
