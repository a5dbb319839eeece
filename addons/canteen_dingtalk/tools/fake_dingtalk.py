"""A fake DingTalk open API for tests and the benchmark: a threaded http.server on 127.0.0.1.

It speaks the documented shapes of the calls the addon makes (token, department get and
listsub, user list with cursor paging, user get, asyncsend_v2) and their error answers
(invalid or expired token, rate limiting by errcode or HTTP 429, an outage answering 503, a
stall that never answers until released), and builds
callback requests encrypted with DingTalk's scheme, written here independently of
tools/crypto.py so that the tests check one against the other.
"""

import base64
import hashlib
import json
import os
import secrets
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


class FakeDingTalk:
    def __init__(self, app_key="ding-fake-key", app_secret="fake-secret", page_limit=100):  # noqa: S107
        self.app_key = app_key
        self.app_secret = app_secret
        self.page_limit = page_limit
        self.departments = {1: {"dept_id": 1, "name": "Root", "parent_id": None}}
        self.users = {}
        self.tokens = set()
        self.token_calls = 0
        self.requests = []  # (path, body)
        self.messages = []  # asyncsend_v2 bodies accepted
        self.failures = []  # scripted failures: dicts with path, and errcode or http
        self.down = False
        self.hanging = threading.Event()  # set: calls get no answer until released (or 60 s)
        self.released = threading.Event()
        self.lock = threading.Lock()
        self.server = None
        self.thread = None

    # lifecycle -----------------------------------------------------------------------------
    def start(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            # Keep-alive, as DingTalk's servers: a client's pooled connections are reused.
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                url = urlparse(self.path)
                status, answer = fake.handle(url.path, parse_qs(url.query), raw)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    # organisation helpers ------------------------------------------------------------------
    def add_department(self, dept_id, name, parent_id=1):
        self.departments[dept_id] = {"dept_id": dept_id, "name": name, "parent_id": parent_id}

    def add_user(self, userid, name, dept_ids, mobile="", job_number=""):
        self.users[userid] = {
            "userid": userid,
            "name": name,
            "mobile": mobile,
            "job_number": job_number,
            "dept_id_list": list(dept_ids),
        }

    def expire_tokens(self):
        with self.lock:
            self.tokens.clear()

    def fail(self, path, times=1, errcode=None, http=None):
        """The next `times` calls of `path` fail with this errcode (HTTP 200) or HTTP status."""
        for _ in range(times):
            self.failures.append({"path": path, "errcode": errcode, "http": http})

    def hang(self):
        """From now on calls get no answer (a DingTalk that accepts connections and stalls)."""
        self.released.clear()
        self.hanging.set()

    def release(self):
        """Stalled calls get an HTTP 503; later calls are answered again."""
        self.hanging.clear()
        self.released.set()

    def calls(self, path):
        return [body for called, body in self.requests if called == path]

    # dispatch ------------------------------------------------------------------------------
    def handle(self, path, query, raw):  # noqa: PLR0911
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return 400, {"errcode": 40035, "errmsg": "不合法的参数"}
        if self.hanging.is_set():
            with self.lock:
                self.requests.append((path, body))
            self.released.wait(60)
            return 503, {"errcode": -1, "errmsg": "系统繁忙"}
        with self.lock:
            self.requests.append((path, body))
            if self.down:
                return 503, {"errcode": -1, "errmsg": "系统繁忙"}
            for failure in self.failures:
                if failure["path"] == path:
                    self.failures.remove(failure)
                    if failure["http"]:
                        return failure["http"], {"code": "Throttling", "message": "Too many requests"}
                    return 200, {"errcode": failure["errcode"], "errmsg": "scripted failure"}
            if path == "/v1.0/oauth2/accessToken":
                return self._token(body)
            if (query.get("access_token") or [""])[0] not in self.tokens:
                return 200, {"errcode": 40014, "errmsg": "不合法的access_token"}
            handler = {
                "/topapi/v2/department/get": self._department_get,
                "/topapi/v2/department/listsub": self._listsub,
                "/topapi/v2/user/list": self._user_list,
                "/topapi/v2/user/get": self._user_get,
                "/topapi/message/corpconversation/asyncsend_v2": self._asyncsend,
            }.get(path)
            if not handler:
                return 404, {"errcode": 404, "errmsg": "not found"}
            return handler(body)

    def _ok(self, **values):
        return 200, {"errcode": 0, "errmsg": "ok", "request_id": secrets.token_hex(8), **values}

    def _token(self, body):
        self.token_calls += 1
        if body.get("appKey") != self.app_key or body.get("appSecret") != self.app_secret:
            return 400, {"code": "invalidClientIdOrSecret", "message": "无效的clientId或者clientSecret"}
        token = secrets.token_hex(16)
        self.tokens.add(token)
        return 200, {"accessToken": token, "expireIn": 7200}

    def _department_get(self, body):
        department = self.departments.get(body.get("dept_id"))
        if not department:
            return 200, {"errcode": 60003, "errmsg": "部门不存在"}
        return self._ok(result=dict(department))

    def _listsub(self, body):
        dept_id = body.get("dept_id", 1)
        if dept_id not in self.departments:
            return 200, {"errcode": 60003, "errmsg": "部门不存在"}
        children = [
            dict(d, create_dept_group=False, auto_add_user=False)
            for d in sorted(self.departments.values(), key=lambda d: d["dept_id"])
            if d["parent_id"] == dept_id
        ]
        return self._ok(result=children)

    def _user_list(self, body):
        dept_id, cursor, size = body.get("dept_id"), int(body.get("cursor") or 0), int(body.get("size") or 0)
        if not 1 <= size <= self.page_limit:
            return 200, {"errcode": 40035, "errmsg": "size 不合法"}
        members = [
            u for u in sorted(self.users.values(), key=lambda u: u["userid"]) if dept_id in u["dept_id_list"]
        ]
        page = members[cursor : cursor + size]
        has_more = cursor + size < len(members)
        result = {"has_more": has_more, "list": [dict(u, dept_id_list=list(u["dept_id_list"])) for u in page]}
        if has_more:
            result["next_cursor"] = cursor + size
        return self._ok(result=result)

    def _user_get(self, body):
        user = self.users.get(body.get("userid"))
        if not user:
            return 200, {"errcode": 60121, "errmsg": "找不到该用户"}
        return self._ok(result=dict(user))

    def _asyncsend(self, body):
        if not body.get("agent_id") or not body.get("userid_list") or not body.get("msg"):
            return 200, {"errcode": 40035, "errmsg": "缺少参数"}
        self.messages.append(body)
        return self._ok(task_id=len(self.messages) + 1000)

    # callbacks -----------------------------------------------------------------------------
    @staticmethod
    def encrypt_event(event, token, aes_key, owner_key, *, timestamp=None, nonce=None):
        """(query parameters, JSON body) of a callback as DingTalk sends it."""
        key = base64.b64decode(aes_key + "=")
        message = json.dumps(event).encode()
        plain = os.urandom(16) + struct.pack(">I", len(message)) + message + owner_key.encode()
        pad = 32 - len(plain) % 32
        plain += bytes([pad] * pad)
        encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
        encrypt = base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()
        timestamp = str(timestamp if timestamp is not None else int(time.time() * 1000))
        nonce = nonce or secrets.token_hex(4)
        signature = hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypt])).encode()).hexdigest()  # noqa: S324
        return {"msg_signature": signature, "timestamp": timestamp, "nonce": nonce}, {"encrypt": encrypt}

    @staticmethod
    def decrypt_reply(reply, token, aes_key):
        """The plain text of the addon's encrypted reply, after checking its signature."""
        parts = sorted([token, reply["timeStamp"], reply["nonce"], reply["encrypt"]])
        assert hashlib.sha1("".join(parts).encode()).hexdigest() == reply["msg_signature"]  # noqa: S324
        key = base64.b64decode(aes_key + "=")
        decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
        plain = decryptor.update(base64.b64decode(reply["encrypt"])) + decryptor.finalize()
        plain = plain[: -plain[-1]]
        (length,) = struct.unpack(">I", plain[16:20])
        return plain[20 : 20 + length].decode()
