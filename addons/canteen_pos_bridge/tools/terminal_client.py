"""A reference client of terminal protocol v1: signs requests the way devices must.

Used by the terminal simulator and the end-to-end tests; device makers can read it as the
executable form of docs/terminal-protocol.md.
"""

import hashlib
import hmac
import http.client
import json
import secrets
import socket
import time
from datetime import UTC, datetime


def signature(secret, method, path_and_query, timestamp, nonce, body):  # noqa: PLR0917 - the protocol's fields
    message = "\n".join([method, path_and_query, str(timestamp), nonce, hashlib.sha256(body).hexdigest()])
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


class TerminalClient:
    """One terminal talking to one bridge over a keep-alive HTTP connection."""

    def __init__(self, host, port, serial, secret, timeout=70):
        self.host, self.port, self.serial, self.secret, self.timeout = host, port, serial, secret, timeout
        self.connection = None
        self.seq = int(time.time() * 1000) % 1_000_000_000

    def next_seq(self):
        self.seq += 1
        return self.seq

    def headers(self, method, path, body, *, timestamp=None, nonce=None, secret=None):
        timestamp = int(time.time()) if timestamp is None else timestamp
        nonce = nonce or secrets.token_hex(12)
        return {
            "Content-Type": "application/json",
            "X-Canteen-Terminal": self.serial,
            "X-Canteen-Timestamp": str(timestamp),
            "X-Canteen-Nonce": nonce,
            "X-Canteen-Signature": signature(secret or self.secret, method, path, timestamp, nonce, body),
        }

    def request(self, method, path, payload=None, *, raw_body=None, headers=None, sign=True, **sign_options):
        """(status, decoded JSON answer); `raw_body`/`headers` let tests send anything."""
        body = (
            raw_body if raw_body is not None else (b"" if payload is None else json.dumps(payload).encode())
        )
        all_headers = self.headers(method, path, body, **sign_options) if sign else {}
        all_headers.update(headers or {})
        for attempt in range(2):
            try:
                if self.connection is None:
                    self.connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
                    self.connection.connect()
                    self.connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self.connection.request(method, path, body=body, headers=all_headers)
                response = self.connection.getresponse()
                data = response.read()
                break
            except (ConnectionError, http.client.HTTPException, OSError):
                self.close()
                if attempt:
                    raise
        try:
            answer = json.loads(data) if data else None
        except ValueError:
            answer = {"raw": data.decode(errors="replace")}
        return response.status, answer

    def close(self):
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    # protocol calls ---------------------------------------------------------------------------
    def charge(self, identity, amount=None, *, seq=None, occurred_at=None, items=None):
        payload = {
            "seq": self.next_seq() if seq is None else seq,
            "identity": identity,
            "occurred_at": occurred_at or now_iso(),
        }
        if amount is not None:
            payload["amount"] = amount
        if items is not None:
            payload["items"] = items
        return self.request("POST", "/api/v1/transactions", payload)

    def balance(self, identity):
        return self.request("POST", "/api/v1/balance", {"identity": identity})

    def commands(self, cursor=0, wait=0):
        return self.request("GET", f"/api/v1/commands?cursor={cursor}&wait={wait}")

    def ack(self, results):
        return self.request("POST", "/api/v1/commands/ack", {"results": results})

    def offline(self, records):
        return self.request("POST", "/api/v1/offline-records", {"records": records})

    def health(self):
        return self.request("GET", "/api/v1/health", sign=False)


def now_iso():
    return datetime.now(UTC).isoformat(timespec="seconds")
